/**
 * Every error leaving the gateway is masked: a stable code, a fixed message, nothing of the
 * failure's own text. It replaces Yoga's `maskedErrors`, which does the same through envelop's
 * `useMaskedErrors` but wraps every subscription's stream in two iterator layers of its own (one
 * per event for `onNext`, one for `onSubscribeError`), each costing every event a chain of
 * `@whatwg-node/promise-helpers` promises: about a third of what a relayed event allocated.
 * Here a stream's events and its failure are masked in the iterator the operation observer has
 * put around it already (see `onIteratorEnd`), so a stream costs no extra layer at all.
 *
 * It covers each place Yoga's masking did: execution results, the context factory, a stream's
 * events and its failure, and what Yoga's own error handling answers for a throw anywhere else
 * in the request (parsing the body, a parameter check, parsing the document).
 */
import type { ExecutionResult, GraphQLError } from "graphql";
import { isAsyncIterable, type Plugin } from "graphql-yoga";
import { isGraphQLError } from "../../graphql-errors.ts";
import { maskError as gatewayMaskError } from "../errors.ts";
import { type IterationHooks, onIteratorEnd } from "../iterate.ts";

export interface ErrorMaskingOptions {
  /**
   * What a client sees for each error.
   * @default the gateway's `maskError` (src/server/errors.ts)
   */
  maskError?: (error: unknown) => Error;
}

/**
 * Yoga's own masking leaves aborts alone (an aborted stream ends, it does not report an error);
 * the same test as Yoga's: a `DOMException` named `AbortError` or `TimeoutError`.
 */
function isAbortError(error: unknown): boolean {
  return (
    typeof error === "object" &&
    error?.constructor?.name === "DOMException" &&
    ((error as DOMException).name === "AbortError" ||
      (error as DOMException).name === "TimeoutError")
  );
}

/**
 * What was thrown, as far as Yoga's error handling kept it. Without `maskedErrors` Yoga turns a
 * throw into a GraphQL error itself: a plain `Error` wrapped with its own message (unwrapped
 * here, so it is masked exactly as the `Error`), any other value with its text as the message
 * and `extensions.unexpected` (that text may be the secret: it stands for a non-`Error` throw).
 */
function raised(error: GraphQLError): unknown {
  if (error.extensions?.unexpected === true) return error.message;
  const original = error.originalError;
  if (
    original &&
    !isGraphQLError(original) &&
    error.path === undefined &&
    error.nodes === undefined &&
    error.message === original.message
  ) {
    return original;
  }
  return error;
}

/** A Yoga plugin masking every error a client could see; see the module comment. */
export function useErrorMasking(options: ErrorMaskingOptions = {}): Plugin {
  const maskError = options.maskError ?? gatewayMaskError;
  // Yoga's rule: an error masked once is final. Results pass several of the hooks below (an
  // execution result reaches `onExecutionResult`, then `onResultProcess`), and masking a masked
  // error again could change it: its code already decided, its message already fixed.
  const masked = new WeakSet<object>();
  const mask = (error: unknown): Error => {
    if (typeof error === "object" && error !== null && masked.has(error)) return error as Error;
    const result = maskError(isGraphQLError(error) ? raised(error) : error);
    masked.add(result);
    return result;
  };
  const maskResult = <R>(result: R): R => {
    const { errors } = result as ExecutionResult;
    if (!errors || errors.every((error) => masked.has(error))) return result;
    return { ...result, errors: errors.map(mask) };
  };
  // A stream's failure is masked before Yoga's handling turns it into its last event; an abort
  // passes, as Yoga's masking let it.
  const maskThrown = (error: unknown) => (isAbortError(error) ? error : mask(error));
  const streamHooks: IterationHooks<ExecutionResult> = { map: maskResult, mapError: maskThrown };

  return {
    onPluginInit({ registerContextErrorHandler }) {
      // The context factory's throw, masked where Yoga's masking did: before Yoga's handling,
      // which would otherwise answer an abort there with no error at all.
      registerContextErrorHandler(({ error, setError }) => setError(mask(error)));
    },
    onSubscribe() {
      return {
        onSubscribeResult({ result, setResult }) {
          // Inside Yoga's own stream handling, where a stream's failure is still a throw; the
          // observer's iterator is there already, and these hooks join it.
          if (isAsyncIterable(result))
            setResult(onIteratorEnd(result as AsyncIterable<ExecutionResult>, streamHooks));
        },
      };
    },
    // Queries, mutations, a subscription that failed before its stream, and what Yoga's error
    // handling made of a throw while the operation was prepared (parse, hooks, execution).
    onExecutionResult({ result, setResult }) {
      if (!result || isAsyncIterable(result)) return;
      const own = maskResult(result);
      if (own !== result) setResult(own);
    },
    // What never reached an operation: Yoga answers a throw while the request was parsed or its
    // parameters checked (a batch: each operation's) straight to the result processor.
    onResultProcess({ result, setResult }) {
      if (isAsyncIterable(result)) return;
      const own = Array.isArray(result)
        ? result.map((each) => (each && !isAsyncIterable(each) ? maskResult(each) : each))
        : maskResult(result);
      if (own !== result) setResult(own as never);
    },
  };
}
