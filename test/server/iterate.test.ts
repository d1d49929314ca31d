import { describe, expect, it, vi } from "vitest";
import { onIteratorEnd } from "../../src/server/iterate.ts";

async function* three() {
  yield 1;
  yield 2;
  yield 3;
}

describe("onIteratorEnd", () => {
  it("passes every value through, then ends once", async () => {
    const onValue = vi.fn();
    const onEnd = vi.fn();
    const watched = onIteratorEnd(three(), { onValue, onEnd });
    const seen: number[] = [];
    for await (const value of watched) seen.push(value);
    await watched.return();
    expect(seen).toEqual([1, 2, 3]);
    expect(onValue.mock.calls).toEqual([[1], [2], [3]]);
    expect(onEnd.mock.calls).toEqual([[undefined]]);
  });

  it("ends with the error when the source rejects, and rejects with it", async () => {
    const onEnd = vi.fn();
    const broken = new Error("broken");
    const source: AsyncIterable<number> = {
      [Symbol.asyncIterator]: () => ({ next: () => Promise.reject(broken) }),
    };
    await expect(onIteratorEnd(source, { onEnd }).next()).rejects.toBe(broken);
    expect(onEnd.mock.calls).toEqual([[broken]]);
  });

  it("ends with the error when the source's next throws instead of rejecting", async () => {
    const onEnd = vi.fn();
    const broken = new Error("thrown");
    const source: AsyncIterable<number> = {
      [Symbol.asyncIterator]: () => ({
        next: () => {
          throw broken;
        },
      }),
    };
    await expect(onIteratorEnd(source, { onEnd }).next()).rejects.toBe(broken);
    expect(onEnd.mock.calls).toEqual([[broken]]);
  });

  it("ends when left before the first value, and reaches the source's return", async () => {
    const onEnd = vi.fn();
    const sourceReturn = vi.fn(async () => ({ done: true as const, value: undefined }));
    const source: AsyncIterable<number> = {
      [Symbol.asyncIterator]: () => ({
        next: async () => ({ done: false, value: 1 }),
        return: sourceReturn,
      }),
    };
    await onIteratorEnd(source, { onEnd }).return();
    expect(onEnd).toHaveBeenCalledTimes(1);
    expect(sourceReturn).toHaveBeenCalledTimes(1);
  });
});
