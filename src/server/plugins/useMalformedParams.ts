import { createGraphQLError, type Plugin } from "graphql-yoga";
import { ErrorCode } from "../../error-codes.ts";

/**
 * Answers a request whose `variables` or `extensions` parameter is not JSON (a GET query string,
 * a form body) with 400 `BAD_REQUEST`, as Yoga already does for a JSON body that does not parse.
 * Yoga's query-string parsers let the `SyntaxError` escape, and error masking then turns the
 * caller's typo into an `INTERNAL_SERVER_ERROR` that is also logged as one.
 */
export function useMalformedParams(): Plugin {
  return {
    onRequestParse({ request, requestParser, setRequestParser }) {
      // A JSON body's parser answers 400 for what does not parse itself: no wrapper (an async
      // function and its promise per request) for the requests nearly every client sends.
      if (!requestParser || isJsonPost(request)) return;
      const parse = requestParser;
      setRequestParser(async (req) => {
        try {
          return await parse(req);
        } catch (error) {
          if (!(error instanceof SyntaxError)) throw error;
          throw createGraphQLError("The variables or extensions parameter is not valid JSON.", {
            extensions: { code: ErrorCode.BAD_REQUEST, http: { status: 400 } },
          });
        }
      });
    },
  };
}

/** Yoga's own test for the body its JSON parser reads (`isPOSTJsonRequest`), as it words it. */
function isJsonPost(request: Request): boolean {
  if (request.method !== "POST") return false;
  const type = request.headers.get("content-type")?.split(",")[0];
  if (!type) return false;
  return ["application/json", "application/graphql+json"].some(
    (json) => type === json || type.startsWith(`${json};`),
  );
}
