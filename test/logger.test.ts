import { Writable } from "node:stream";
import { describe, expect, it, vi } from "vitest";
import { StdoutSink } from "../src/logger.ts";

/** A destination that takes writes only when `release()` is called, like a pipe nobody reads. */
function stalledStream() {
  const pending: (() => void)[] = [];
  const stream = new Writable({
    highWaterMark: 100,
    write(_chunk, _encoding, callback) {
      pending.push(callback);
    },
  });
  const release = () => {
    for (const callback of pending.splice(0)) callback();
  };
  return { stream, release };
}

describe("StdoutSink", () => {
  it("drops what does not fit while stdout is not read, then says how many it dropped", async () => {
    const { stream, release } = stalledStream();
    const sink = new StdoutSink(stream, { maxBufferedBytes: 100 });
    const recovered = vi.fn();
    sink.onRecovered = recovered;
    for (let i = 0; i < 20; i++) sink.write(`${"x".repeat(19)}\n`);
    // 100 bytes may wait: five lines, and the one that crossed the bound.
    expect(stream.writableLength).toBe(120);
    expect(recovered).not.toHaveBeenCalled();
    while (stream.writableLength > 0) release();
    await vi.waitFor(() => expect(recovered).toHaveBeenCalledWith(14));
  });

  it("writes nothing more once stdout has failed, and drain() returns at once", async () => {
    const stream = new Writable({
      write(_chunk, _encoding, callback) {
        callback(Object.assign(new Error("write EPIPE"), { code: "EPIPE" }));
      },
    });
    const write = vi.spyOn(stream, "write");
    const sink = new StdoutSink(stream);
    sink.write("first\n");
    await vi.waitFor(() => expect(stream.errored).toBeTruthy());
    sink.write("second\n");
    expect(write).toHaveBeenCalledTimes(1);
    await sink.drain(60_000);
  });

  it("drain() waits for the queue to empty, at most its timeout", async () => {
    const { stream, release } = stalledStream();
    const sink = new StdoutSink(stream);
    sink.write("a line\n");
    await sink.drain(10);
    expect(stream.writableLength).toBeGreaterThan(0);
    const drained = sink.drain(60_000);
    release();
    await drained;
    expect(stream.writableLength).toBe(0);
  });
});
