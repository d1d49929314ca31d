/**
 * Runs operations through graphql-jit, which compiles an operation once into a function instead
 * of walking its document on every request (about 30% of an operation's CPU) or, for a
 * subscription, on every event of its stream.
 *
 * A subscription's source stream is still opened by graphql-js (`createSourceEventStream`: the
 * root field's `subscribe` called, its failures located) and only its events run compiled
 * (`compiled-events.ts`): jit's own `subscribe` hands its already coerced variables to every
 * event, which coerces them again and refuses enum values (`got invalid value "user"; Expected
 * type ChatRole`). When nothing below the root field reads a variable (the usual case), the
 * stream opens against a copy of the schema whose root fields take no arguments, its arguments
 * coerced once and handed over in the root value, and events coerce no variables at all; other
 * subscriptions open and run events with the request's variables. Unions reached by events need
 * their own `resolveType`: graphql-js' default resolver fails under jit.
 *
 * Compiled operations are kept per parsed document, which Yoga's parse cache reuses for the same
 * query text, so they live exactly as long as that cache keeps the document; the operation name
 * is part of the key, since one document may hold several. A document jit cannot compile runs
 * through graphql-js, which reports what is wrong with it as usual.
 */
import { type DocumentNode, type ExecutionArgs, getOperationAST } from "graphql";
import { type CompiledQuery, compileQuery } from "graphql-jit";
import type { Plugin } from "graphql-yoga";
import { compiledSubscribe, type EventPlan, planEvents } from "./compiled-events.ts";
import {
  COMPILE_OPTIONS,
  type Compile,
  compiledOrNone,
  withOrdinaryErrors,
} from "./jit-results.ts";

/** A document's compiled operations, by operation name ("" for the only one). */
type Compiled<T> = Map<string, T | undefined>;

export interface CompiledExecutionOptions {
  /**
   * The compiler; a test wraps it to count compilations.
   * @default graphql-jit's `compileQuery`
   */
  compile?: Compile;
}

/** `build()` for `args`' document and operation, once per parsed document and operation. */
function cacheBy<T>(
  cache: WeakMap<DocumentNode, Compiled<T>>,
  args: ExecutionArgs,
  build: () => T | undefined,
) {
  const name = args.operationName ?? "";
  let compiled = cache.get(args.document);
  if (compiled?.has(name)) return compiled.get(name);
  const built = build();
  if (!compiled) {
    compiled = new Map();
    cache.set(args.document, compiled);
  }
  compiled.set(name, built);
  return built;
}

export function useCompiledExecution(options: CompiledExecutionOptions = {}): Plugin {
  const compile = options.compile ?? compileQuery;
  const operations = new WeakMap<DocumentNode, Compiled<CompiledQuery>>();
  const subscriptions = new WeakMap<DocumentNode, Compiled<EventPlan>>();
  const compiledFor = (args: ExecutionArgs): CompiledQuery | undefined =>
    cacheBy(operations, args, () =>
      compiledOrNone(
        compile(args.schema, args.document, args.operationName ?? undefined, COMPILE_OPTIONS),
      ),
    );
  return {
    onSubscribe({ args, subscribeFn, setSubscribeFn }) {
      const operation = getOperationAST(args.document, args.operationName);
      if (operation?.operation !== "subscription") return;
      const plan = cacheBy(subscriptions, args, () => planEvents(args, operation, compile));
      if (!plan) return;
      setSubscribeFn((call: ExecutionArgs) =>
        compiledSubscribe(call, operation, plan, subscribeFn),
      );
    },
    onExecute({ args, executeFn, setExecuteFn }) {
      const operation = getOperationAST(args.document, args.operationName);
      if (operation?.operation !== "query" && operation?.operation !== "mutation") return;
      const query = compiledFor(args);
      if (!query) return;
      setExecuteFn(async (call: ExecutionArgs) => {
        const result = await query.query(call.rootValue, call.contextValue, call.variableValues);
        // No `data` at all: the variables did not coerce, and nothing ran. jit words that
        // without the scalar's own reason and without the error's HTTP status (400), so let
        // graphql-js refuse the request exactly as it would without jit; only refusals pay.
        if (!("data" in result)) return executeFn(call);
        return withOrdinaryErrors(result, call.document);
      });
    },
  };
}
