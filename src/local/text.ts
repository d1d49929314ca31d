/**
 * Term handling shared by indexing, querying and the extractive answer, so that a word counts
 * as "the same term" everywhere in the local AI Search.
 */

// Function words carry no retrieval signal; dropping them keeps `keyword_match_mode: "and"`
// usable for natural-language questions ("how do I configure the gateway?").
const STOP_WORDS = new Set(
  (
    "a an and are as at be been but by can could do does did for from had has have how i if in " +
    "into is it its me my no not of on or our so than that the their them then there these they " +
    "this those to too us was we were what when where which while who whom why will with would " +
    "you your yours about after again all also am any because before being between both each " +
    "few further here just more most much must only other over own same should some such very"
  ).split(" "),
);

const WORD_SEPARATOR = /[^\p{L}\p{N}]+/u;

/** Lower-cased word tokens, punctuation dropped. */
export function splitWords(text: string): string[] {
  return text
    .toLowerCase()
    .split(WORD_SEPARATOR)
    .filter((token) => token.length > 0);
}

/**
 * A deliberately light stemmer: plural and a few verb endings only. Enough to make "chunks"
 * find "chunk" and "queries" find "query" without pulling in a full Porter implementation.
 */
function stem(token: string): string {
  if (token.length > 4 && token.endsWith("ies")) return `${token.slice(0, -3)}y`;
  if (token.length > 3 && token.endsWith("s") && !/(ss|us|is)$/.test(token)) {
    return token.slice(0, -1);
  }
  return token;
}

/** The index term for a token, or null when the token is a stop word. */
export function normaliseTerm(token: string): string | null {
  const lower = token.toLowerCase();
  if (lower.length === 0 || STOP_WORDS.has(lower)) return null;
  return stem(lower);
}

/** Distinct index terms of a query, in first-seen order. */
export function queryTerms(text: string): string[] {
  const seen = new Set<string>();
  for (const token of splitWords(text)) {
    const term = normaliseTerm(token);
    if (term !== null) seen.add(term);
  }
  return [...seen];
}
