/**
 * How a subscriber went away decides what becomes of its stream: a client that asked to stop
 * (graphql-ws `complete`) wants the upstream aborted at once, while a connection that merely
 * broke (a closed or dropped socket, any end of an SSE response) may come back and resume, so
 * its stream runs on through a grace period. Only the transport knows which it was; it says so
 * with the abort reason of the operation's request signal, and the stream reads that reason.
 */

const explicit = new WeakSet<object>();

/**
 * The abort reason for a client's own stop. An `AbortError`, like any abort, so whatever else
 * the signal reaches (an upstream call of a query) reads it as a plain cancellation.
 */
export function explicitStop(): DOMException {
  const reason = new DOMException("The client stopped this operation.", "AbortError");
  explicit.add(reason);
  return reason;
}

/** Whether `signal` was aborted by {@link explicitStop}; anything else is an abrupt end. */
export function stoppedExplicitly(signal: AbortSignal | undefined): boolean {
  const reason: unknown = signal?.aborted ? signal.reason : undefined;
  return typeof reason === "object" && reason !== null && explicit.has(reason);
}
