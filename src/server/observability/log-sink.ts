import { ErrorCode } from "../../error-codes.ts";
import { innermostError } from "../../graphql-errors.ts";
import type { Logger } from "../../logger.ts";
import type { ClientIdentity } from "../policy/client-auth.ts";
import { codeOf, type OperationSink } from "./operation-observer.ts";

/** Codes that say the upstream, not the caller, is in trouble: worth a warning. */
const UPSTREAM_TROUBLE = new Set<string>([
  ErrorCode.UPSTREAM_AUTH_FAILED,
  ErrorCode.UPSTREAM_TIMEOUT,
  ErrorCode.UPSTREAM_UNAVAILABLE,
  ErrorCode.UPSTREAM_BAD_RESPONSE,
  ErrorCode.UPSTREAM_ERROR,
]);

const round = (ms: number) => Math.round(ms * 10) / 10;

/**
 * One JSON line per GraphQL operation: request id, transport, operation name and type, client,
 * duration, outcome and error codes. Variables and documents are never logged: they carry the
 * callers' questions. Unexpected errors, which clients only see as `INTERNAL_SERVER_ERROR`, are
 * logged with their stack so they can be fixed.
 */
export function logSink(logger: Logger): OperationSink {
  return {
    onEnd(operation, end) {
      // Successful lines are info; with info off (e.g. LOG_LEVEL=warn) they cost nothing.
      if (end.outcome === "ok" && !logger.isLevelEnabled("info")) return;
      const client = (operation.context.client as ClientIdentity | undefined)?.id;
      const line = {
        requestId: operation.requestId,
        transport: operation.transport,
        operationName: operation.name,
        operationType: operation.type,
        client,
        durationMs: round(end.durationMs),
        outcome: end.outcome,
        ...(end.codes.length > 0 ? { errorCodes: end.codes } : {}),
        ...(operation.type === "subscription" ? { events: end.events } : {}),
      };
      const unexpected = end.errors.find(
        (error) => codeOf(error) === ErrorCode.INTERNAL_SERVER_ERROR,
      );
      if (unexpected !== undefined) {
        logger.error({ ...line, err: innermostError(unexpected) }, "graphql operation failed");
      } else if (end.codes.some((code) => UPSTREAM_TROUBLE.has(code))) {
        logger.warn(line, "graphql operation");
      } else {
        logger.info(line, "graphql operation");
      }
    },
    onRefused(request, response, requestId) {
      logger.info(
        { requestId, transport: "http", method: request.method, status: response.status },
        "graphql request refused",
      );
    },
  };
}
