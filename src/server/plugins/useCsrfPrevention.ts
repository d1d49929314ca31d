import type { Plugin } from "graphql-yoga";
import { ErrorCode } from "../../error-codes.ts";
import { refusal } from "../refusals.ts";

export interface CsrfPreventionOptions {
  /**
   * Headers whose presence lets a POST with a "simple" content type through. A page can only add
   * a custom header to a cross-origin request after a CORS preflight, which a foreign origin fails.
   * @default ["graphql-require-preflight"]
   */
  requestHeaders?: readonly string[];
}

/** The content types a browser sends cross-origin without a preflight (Fetch's CORS safelist). */
const SIMPLE_CONTENT_TYPES = new Set([
  "application/x-www-form-urlencoded",
  "multipart/form-data",
  "text/plain",
]);

/**
 * CSRF prevention. A page on any site can make a browser POST a form or a `text/plain` body to
 * the gateway without a preflight, so cookies, network position (a gateway on localhost or an
 * intranet) or client certificates would be used on its behalf. Such a POST is refused with 403
 * and `CSRF_PREVENTED` unless it carries one of `requestHeaders`; JSON POSTs (the normal case)
 * already needed a preflight. GET is left alone: Yoga refuses mutations over GET with 405, and
 * queries do not change anything.
 */
export function useCsrfPrevention(options: CsrfPreventionOptions = {}): Plugin {
  const requestHeaders = options.requestHeaders ?? ["graphql-require-preflight"];
  const hint = requestHeaders.map((name) => `a "${name}" header`).join(" or ");
  const message = `This request could have been sent by another site: send it as application/json${hint ? ` or with ${hint}` : ""}.`;
  return {
    onRequestParse({ request }) {
      if (request.method !== "POST") return;
      // Browsers skip the preflight only for a value that parses as one of the three types, so
      // comparing the essence is enough; a missing content type (a Blob body) is simple too.
      const essence = request.headers.get("content-type")?.split(";")[0]?.trim().toLowerCase();
      if (essence && !SIMPLE_CONTENT_TYPES.has(essence)) return;
      if (requestHeaders.some((name) => request.headers.has(name))) return;
      throw refusal(ErrorCode.CSRF_PREVENTED, message, 403);
    },
  };
}
