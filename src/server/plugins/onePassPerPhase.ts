import type { Plugin } from "graphql-yoga";

/**
 * The phases Yoga and its HTTP server (whatwg-node) run hook by hook through
 * `@whatwg-node/promise-helpers`: every hook registered for one of them costs each request a
 * few promise-like objects and closures, even a hook that returns at once (most of ours, for
 * most requests). envelop's own phases (parse, validate, context, execute) run hooks in plain
 * loops and are left alone.
 */
const PHASES = [
  "onRequest",
  "onRequestParse",
  "onParams",
  "onExecutionResult",
  "onResultProcess",
  "onResponse",
] as const;
type Phase = (typeof PHASES)[number];

type Hook<P> = (payload: P) => unknown;
type PayloadOf<K extends Phase> = Parameters<NonNullable<Plugin[K]>>[0];

const isPromise = (value: unknown): value is PromiseLike<unknown> =>
  typeof (value as PromiseLike<unknown> | null)?.then === "function";

/**
 * Calls `hooks` in order with `payload`, as Yoga would have: the next one only once a promise
 * returned by the one before has settled (a rejection stops the rest and is the result), and
 * none after `stopped()` says a response was given. A promise only if one of them returned one.
 */
function runInOrder<P>(
  hooks: readonly Hook<P>[],
  payload: P,
  stopped: () => boolean,
  onResult?: (result: unknown) => void,
  from = 0,
): unknown {
  for (let i = from; i < hooks.length && !stopped(); i++) {
    const result = hooks[i]!(payload);
    if (isPromise(result)) {
      return Promise.resolve(result).then((settled) => {
        onResult?.(settled);
        return runInOrder(hooks, payload, stopped, onResult, i + 1);
      });
    }
    onResult?.(result);
  }
  return undefined;
}

const never = () => false;

/**
 * A URL parsed on first use, once. The `url` Yoga hands the first hook of a phase is a proxy
 * that parses `request.url` again on every property read; Yoga gives later hooks the parsed
 * URL, and a merged hook must do the same for the plugins after the first.
 */
function lazyUrl(request: Request): () => URL {
  let url: URL | undefined;
  return () => {
    url ??= new URL(request.url, "http://localhost");
    return url;
  };
}

/**
 * `plugins` as Yoga would run them, in the same order, but with one hook per phase of
 * {@link PHASES} instead of one per plugin: the merged plugin carries those hooks, the others
 * keep everything else (envelop hooks, instrumentation, init hooks) where they were. Each
 * plugin's hook still sees what Yoga would show it: the current request parser, params,
 * result or response as the ones before it set them, and none runs once a response is given.
 *
 * The plugins stay one concern per file; only their registration is shared. With the
 * gateway's ~20 plugins this takes ~20 hook calls off every request, each of which allocated
 * a chain of promise-like objects in Yoga's iteration.
 */
export function onePassPerPhase(plugins: readonly Plugin[]): Plugin[] {
  const hooks = Object.fromEntries(
    PHASES.map((phase) => [phase, plugins.flatMap((plugin) => plugin[phase] ?? [])]),
  ) as { [K in Phase]: Hook<PayloadOf<K>>[] };
  const rest = plugins.map((plugin) => {
    const kept: Plugin = { ...plugin };
    for (const phase of PHASES) delete kept[phase];
    return kept;
  });
  const merged: Plugin = {};

  if (hooks.onRequest.length > 0) {
    const list = hooks.onRequest;
    merged.onRequest = (payload) => {
      let ended = false;
      const url = lazyUrl(payload.request);
      const own: PayloadOf<"onRequest"> = {
        ...payload,
        get url() {
          return url();
        },
        setRequest(request) {
          payload.setRequest(request);
          own.request = request;
        },
        setRequestHandler(handler) {
          payload.setRequestHandler(handler);
          own.requestHandler = handler;
        },
        endResponse(response) {
          payload.endResponse(response);
          if (response) ended = true;
        },
      };
      return runInOrder(list, own, () => ended) as ReturnType<NonNullable<Plugin["onRequest"]>>;
    };
  }

  if (hooks.onRequestParse.length > 0) {
    const list = hooks.onRequestParse;
    type Done = (payload: {
      requestParserResult: unknown;
      setRequestParserResult(result: unknown): void;
    }) => unknown;
    merged.onRequestParse = (payload) => {
      let ended = false;
      const done: Done[] = [];
      const url = lazyUrl(payload.request);
      const own: PayloadOf<"onRequestParse"> = {
        ...payload,
        get url() {
          return url();
        },
        setRequestParser(parser) {
          payload.setRequestParser(parser);
          own.requestParser = parser;
        },
        endResponse(response) {
          payload.endResponse(response);
          ended = true;
        },
      };
      const collect = (result: unknown) => {
        const after = (result as { onRequestParseDone?: Done } | undefined)?.onRequestParseDone;
        if (after) done.push(after);
      };
      // What runs once the chosen parser has read the body: each plugin's, in order, each seeing
      // the result as the ones before it left it.
      const finish = () => {
        if (done.length === 0) return undefined;
        return {
          onRequestParseDone(donePayload: Parameters<Done>[0]) {
            const ownDone = {
              ...donePayload,
              setRequestParserResult(result: unknown) {
                donePayload.setRequestParserResult(result);
                ownDone.requestParserResult = result;
              },
            };
            return runInOrder(done, ownDone, never);
          },
        };
      };
      const ran = runInOrder(list, own, () => ended, collect);
      return (isPromise(ran) ? ran.then(finish) : finish()) as ReturnType<
        NonNullable<Plugin["onRequestParse"]>
      >;
    };
  }

  if (hooks.onParams.length > 0) {
    const list = hooks.onParams;
    merged.onParams = (payload) => {
      const own: PayloadOf<"onParams"> = {
        ...payload,
        setParams(params) {
          payload.setParams(params);
          own.params = params;
        },
        setParamsHandler(handler) {
          payload.setParamsHandler(handler);
          own.paramsHandler = handler;
        },
      };
      return runInOrder(list, own, never) as ReturnType<NonNullable<Plugin["onParams"]>>;
    };
  }

  if (hooks.onExecutionResult.length > 0) {
    const list = hooks.onExecutionResult;
    merged.onExecutionResult = (payload) => {
      const own: PayloadOf<"onExecutionResult"> = {
        ...payload,
        setResult(result) {
          payload.setResult(result);
          own.result = result;
        },
      };
      return runInOrder(list, own, never) as ReturnType<NonNullable<Plugin["onExecutionResult"]>>;
    };
  }

  if (hooks.onResultProcess.length > 0) {
    const list = hooks.onResultProcess;
    // Yoga hands each hook the result and processor as the hooks before it left them, and so
    // does this one payload: each setter updates it as well as Yoga's state.
    merged.onResultProcess = (payload) => {
      const own: PayloadOf<"onResultProcess"> = {
        ...payload,
        setResult(result) {
          payload.setResult(result);
          own.result = result;
        },
        setResultProcessor(processor, acceptedMediaType) {
          payload.setResultProcessor(processor, acceptedMediaType);
          own.resultProcessor = processor;
        },
      };
      return runInOrder(list, own, never) as ReturnType<NonNullable<Plugin["onResultProcess"]>>;
    };
  }

  if (hooks.onResponse.length > 0) {
    const list = hooks.onResponse;
    merged.onResponse = (payload) => {
      const own: PayloadOf<"onResponse"> = {
        ...payload,
        setResponse(response) {
          payload.setResponse(response);
          own.response = response;
        },
      };
      return runInOrder(list, own, never) as ReturnType<NonNullable<Plugin["onResponse"]>>;
    };
  }

  return [merged, ...rest];
}
