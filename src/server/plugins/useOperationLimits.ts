import { EnvelopArmorPlugin } from "@escape.tech/graphql-armor";
import type { GraphQLError, ValidationContext } from "graphql";
import { isAsyncIterable, type Plugin } from "graphql-yoga";
import { ErrorCode } from "../../error-codes.ts";
import { refusal, repinRefusals } from "../refusals.ts";

export type OperationLimit = "depth" | "aliases" | "directives" | "tokens" | "cost";

export interface OperationLimitsOptions {
  /**
   * Deepest field nesting. Fragments are expanded, so a fragment neither hides nor adds depth:
   * the number matches the nesting of the response.
   * @default 6
   */
  depth?: number;
  /**
   * Aliased fields per operation, counted through fragments (`__typename` aliases are free).
   * Aliases are how one request asks for the same expensive field many times.
   * @default 15
   */
  aliases?: number;
  /**
   * Directives per operation, counted through fragments.
   * @default 50
   */
  directives?: number;
  /**
   * Lexical tokens per document. Checked while parsing, so a huge document is refused before it
   * is ever turned into an AST or validated.
   * @default 1000
   */
  tokens?: number;
  /**
   * GraphQL Armor's cost estimate (objects 2, scalars 1, ×1.5 per level, × literal `first`/`last`).
   * @default 5000
   */
  cost?: number;
  /**
   * Remove "Did you mean …?" hints from error messages. They spell out field, argument, type and
   * enum names, which is the schema that disabled introspection is meant to keep private.
   * @default true
   */
  blockFieldSuggestions?: boolean;
}

const LABELS: Record<OperationLimit, string> = {
  depth: "depth",
  aliases: "number of aliases",
  directives: "number of directives",
  tokens: "number of tokens",
  cost: "estimated cost",
};

function limitExceeded(limit: OperationLimit, max: number): GraphQLError {
  return refusal(
    ErrorCode.OPERATION_LIMIT_EXCEEDED,
    `The operation's ${LABELS[limit]} exceeds the limit of ${max}.`,
    400,
    { limit, max },
  );
}

/**
 * Armor's own hint filter only knows the `Did you mean "x"?` form; enum values read
 * `Did you mean the enum value "X"?`, and variable coercion reports them during execution.
 */
const SUGGESTION = /\s*Did you mean [^?]*\?/g;

function hideSuggestions(errors: readonly Error[] | undefined): void {
  for (const error of errors ?? []) error.message = error.message.replace(SUGGESTION, "");
}

/**
 * Depth, alias, directive, token and cost limits (GraphQL Armor), enforced while parsing and
 * validating, so an oversized operation is refused before any resolver or upstream call runs.
 * Every refusal carries `extensions.code: "OPERATION_LIMIT_EXCEEDED"`, `extensions.limit` (which
 * one) and `extensions.max`, with status 400. The graphql-ws transport parses and validates
 * through the same envelop, so the limits apply there too. Fragment cycles are refused by
 * graphql-js' own `NoFragmentCyclesRule`; Armor's visitors remember visited fragments, so a cycle
 * cannot make them recurse forever first.
 */
export function useOperationLimits(options: OperationLimitsOptions = {}): Plugin {
  const max = {
    depth: options.depth ?? 6,
    aliases: options.aliases ?? 15,
    directives: options.directives ?? 50,
    tokens: options.tokens ?? 1000,
    cost: options.cost ?? 5000,
  } satisfies Record<OperationLimit, number>;
  const blockSuggestions = options.blockFieldSuggestions ?? true;

  // Validation rules report into the validation context, which keeps the document's other errors
  // and lets Yoga answer with one result; the token limit has no context and must throw.
  const report = (limit: OperationLimit) => (context: ValidationContext | null) =>
    context?.reportError(limitExceeded(limit, max[limit]));
  const onValidation = (limit: OperationLimit) => ({
    propagateOnRejection: false,
    onReject: [report(limit)],
  });

  const armor = EnvelopArmorPlugin({
    maxDepth: { n: max.depth, flattenFragments: true, ...onValidation("depth") },
    maxAliases: { n: max.aliases, ...onValidation("aliases") },
    maxDirectives: { n: max.directives, ...onValidation("directives") },
    costLimit: { maxCost: max.cost, ...onValidation("cost") },
    maxTokens: {
      n: max.tokens,
      onReject: [
        () => {
          throw limitExceeded("tokens", max.tokens);
        },
      ],
    },
    blockFieldSuggestion: { enabled: blockSuggestions, mask: "" },
  });

  return {
    onPluginInit({ addPlugin }) {
      // Armor types its plugin for a bare envelop; Yoga runs envelop plugins unchanged.
      addPlugin(armor as Plugin);
    },
    onValidate() {
      if (!blockSuggestions) return;
      return ({ valid, result }) => {
        if (!valid) hideSuggestions(result);
      };
    },
    onExecute() {
      if (!blockSuggestions) return;
      return {
        onExecuteDone({ result }) {
          if (!isAsyncIterable(result)) hideSuggestions(result.errors);
        },
      };
    },
    onSubscribe() {
      if (!blockSuggestions) return;
      return {
        onSubscribeResult({ result }) {
          if (!isAsyncIterable(result)) hideSuggestions(result.errors);
        },
      };
    },
    onExecutionResult({ result }) {
      if (result && !isAsyncIterable(result)) repinRefusals(result.errors);
    },
  };
}
