import { Request as WhatwgRequest } from "@whatwg-node/fetch";
import { describe, expect, it } from "vitest";
import { requestState } from "../../src/server/request-state.ts";

describe("requestState", () => {
  it.each([
    ["Node's Request", () => new Request("http://gateway.test/graphql")],
    ["whatwg-node's Request (Yoga's)", () => new WhatwgRequest("http://gateway.test/graphql")],
    ["an operation's context", () => ({ request: undefined, params: {} })],
  ])("keeps a value on %s until it is replaced", (_, make) => {
    const owner = make();
    const ids = requestState<string>("request id");
    expect(ids.get(owner)).toBeUndefined();
    expect(ids.has(owner)).toBe(false);
    ids.set(owner, "a");
    expect(ids.get(owner)).toBe("a");
    expect(ids.has(owner)).toBe(true);
    ids.set(owner, "b");
    expect(ids.get(owner)).toBe("b");
    // Another owner of the same kind has nothing.
    expect(ids.has(make())).toBe(false);
  });

  it("gives each slot its own value, even under the same description", () => {
    const owner = {};
    const first = requestState<number>("slot");
    const second = requestState<number>("slot");
    first.set(owner, 1);
    expect(second.has(owner)).toBe(false);
    second.set(owner, 2);
    expect([first.get(owner), second.get(owner)]).toEqual([1, 2]);
  });

  it("stays out of the object's keys and its JSON", () => {
    const owner = { request: "r" };
    const counted = requestState<true>("counted");
    counted.set(owner, true);
    expect(Object.keys(owner)).toEqual(["request"]);
    expect(JSON.stringify(owner)).toBe('{"request":"r"}');
    const listed: string[] = [];
    for (const name in owner) listed.push(name);
    expect(listed).toEqual(["request"]);
  });
});
