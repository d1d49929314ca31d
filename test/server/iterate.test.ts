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

describe("onIteratorEnd's mapping hooks", () => {
  it("maps each value after the watchers of the source's value have seen it", async () => {
    const onValue = vi.fn();
    const watched = onIteratorEnd<number>(three(), { onValue, map: (value) => value * 10 });
    const seen: number[] = [];
    for await (const value of watched) seen.push(value);
    expect(seen).toEqual([10, 20, 30]);
    expect(onValue.mock.calls).toEqual([[1], [2], [3]]);
  });

  it("throws the mapped error, while `onEnd` hears the one the source threw", async () => {
    const onEnd = vi.fn();
    const broken = new Error("broken");
    const shown = new Error("shown");
    const source: AsyncIterable<number> = {
      [Symbol.asyncIterator]: () => ({ next: () => Promise.reject(broken) }),
    };
    const watched = onIteratorEnd(source, { onEnd, mapError: () => shown });
    await expect(watched.next()).rejects.toBe(shown);
    expect(onEnd.mock.calls).toEqual([[broken]]);
  });

  it("joins a second watcher to an unread one instead of wrapping it again", async () => {
    const first = vi.fn();
    const second = vi.fn();
    const inner = onIteratorEnd<number>(three(), { onValue: first, onEnd: first });
    const outer = onIteratorEnd(inner, { map: (value) => -value, onEnd: second });
    expect(outer).toBe(inner);
    const seen: number[] = [];
    for await (const value of outer) seen.push(value);
    expect(seen).toEqual([-1, -2, -3]);
    expect(first.mock.calls).toEqual([[1], [2], [3], [undefined]]);
    expect(second.mock.calls).toEqual([[undefined]]);
  });

  it("wraps a watched stream already being read, leaving its reader's values alone", async () => {
    const inner = onIteratorEnd<number>(three(), {});
    await inner.next();
    const outer = onIteratorEnd(inner, { map: (value) => -value });
    expect(outer).not.toBe(inner);
    expect((await outer.next()).value).toBe(-2);
  });
});
