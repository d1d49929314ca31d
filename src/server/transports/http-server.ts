import { createServer, type RequestListener, type Server } from "node:http";
import { ErrorCode } from "../../error-codes.ts";
import { graphqlErrorBody, JSON_CONTENT_TYPE } from "../responses.ts";

export interface HeaderLimits {
  /**
   * Largest request head (request line and headers) in bytes; Node answers 431 beyond it,
   * before any of our code runs.
   * @default 16_384
   */
  maxHeaderBytes?: number;
  /**
   * Most request headers accepted; more are answered 431.
   * @default 100
   */
  maxHeaders?: number;
}

const TOO_MANY_HEADERS = JSON.stringify(
  graphqlErrorBody(ErrorCode.REQUEST_HEADER_FIELDS_TOO_LARGE, "Too many request headers."),
);

/**
 * The gateway's HTTP server with header caps. Node's `maxHeadersCount` does not refuse extra
 * headers: it leaves them out of `request.headers` (and a `Host` left out makes Node answer a
 * bare 400). So the count is checked here on `rawHeaders`, which keeps every header, and an
 * excess is refused with 431 instead of being served with some headers silently missing. Node's
 * HTTP/1.1 `Host` check moves here too, after the count, for the same reason.
 */
export function createLimitedServer(handler: RequestListener, limits: HeaderLimits = {}): Server {
  const maxHeaders = limits.maxHeaders ?? 100;
  const server = createServer(
    { maxHeaderSize: limits.maxHeaderBytes ?? 16_384, requireHostHeader: false },
    (request, response) => {
      if (request.rawHeaders.length / 2 > maxHeaders) {
        response.writeHead(431, { "content-type": JSON_CONTENT_TYPE, connection: "close" });
        response.end(TOO_MANY_HEADERS);
        return;
      }
      if (request.httpVersion === "1.1" && request.headers.host === undefined) {
        response.writeHead(400, { connection: "close" });
        response.end();
        return;
      }
      handler(request, response);
    },
  );
  server.maxHeadersCount = maxHeaders;
  return server;
}
