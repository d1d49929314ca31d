/**
 * Every root field's scope is a decision: this table names each one, and fails when the schema
 * gains a root field it does not list (for a mutation, the default `admin` may well be wrong, as
 * it was for cancelling one's own stream).
 */
import { describe, expect, it } from "vitest";
import { schema } from "../../../src/schema/index.ts";
import { requiredScope, type Scope } from "../../../src/server/policy/scopes.ts";

const EXPECTED: Record<"mutation" | "subscription", Record<string, Scope>> = {
  mutation: {
    chatCompletion: "chat",
    cancelChatCompletionStream: "chat",
    createNamespace: "admin",
    updateNamespace: "admin",
    deleteNamespace: "admin",
    createInstance: "admin",
    updateInstance: "admin",
    deleteInstance: "admin",
    moveInstance: "admin",
    uploadItem: "admin",
    deleteItem: "admin",
    syncItem: "admin",
    startInstanceSync: "admin",
  },
  subscription: {
    chatCompletionStream: "chat",
    resumeChatCompletionStream: "chat",
    instanceIndexingProgress: "read",
  },
};

describe("root field scopes", () => {
  it.each([
    ["mutation", schema.getMutationType()],
    ["subscription", schema.getSubscriptionType()],
  ] as const)("lists every %s field of the schema", (kind, type) => {
    expect(Object.keys(type!.getFields()).sort()).toEqual(Object.keys(EXPECTED[kind]).sort());
  });

  it.each(
    Object.entries(EXPECTED).flatMap(([kind, fields]) =>
      Object.entries(fields).map(
        ([field, scope]) => [kind as "mutation" | "subscription", field, scope] as const,
      ),
    ),
  )("%s %s needs %s", (kind, field, scope) => {
    expect(requiredScope(kind, field)).toBe(scope);
  });

  it("gives every query field read", () => {
    for (const field of Object.keys(schema.getQueryType()!.getFields())) {
      expect(requiredScope("query", field)).toBe("read");
    }
  });
});
