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
    onRequestParse({ requestParser, setRequestParser }) {
      if (!requestParser) return;
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
