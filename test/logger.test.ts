import { Writable } from "node:stream";
import { pino } from "pino";
import { describe, expect, it, vi } from "vitest";
import { createLogger, isoTime, StdoutSink } from "../src/logger.ts";

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

describe("isoTime", () => {
  it("writes what pino's isoTime writes, within a second and across seconds", () => {
    const base = Date.UTC(2026, 11, 31, 23, 59, 58);
    const instants = [0, 1, 9, 10, 99, 100, 999, 1000, 1001, 1999, 2000, 2042, 86_400_007];
    const now = vi.spyOn(Date, "now");
    try {
      for (const offset of [...instants, ...instants.reverse()]) {
        now.mockReturnValue(base + offset);
        expect(isoTime()).toBe(pino.stdTimeFunctions.isoTime());
      }
    } finally {
      now.mockRestore();
    }
  });
});

describe("StdoutSink", () => {
  it("drops what does not fit while stdout is not read, then says how many it dropped", async () => {
    const { stream, release } = stalledStream();
    const sink = new StdoutSink(stream, { maxBufferedBytes: 100 });
    const recovered = vi.fn();
    sink.onRecovered = recovered;
    for (let i = 0; i < 20; i++) sink.write(`${"x".repeat(19)}\n`);
    await new Promise((resolve) => setImmediate(resolve));
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

  it("writes the lines of one turn in one write, in order, at the end of the turn", async () => {
    const writes: string[] = [];
    const stream = new Writable({
      write(chunk, _encoding, callback) {
        writes.push(String(chunk));
        callback();
      },
    });
    const sink = new StdoutSink(stream);
    sink.write("one\n");
    sink.write("two\n");
    sink.write("three\n");
    expect(writes).toEqual([]);
    await new Promise((resolve) => setImmediate(resolve));
    expect(writes).toEqual(["one\ntwo\nthree\n"]);
    sink.write("four\n");
    // drain() hands over what the turn has so far, without waiting for the turn to end.
    await sink.drain(60_000);
    expect(writes).toEqual(["one\ntwo\nthree\n", "four\n"]);
  });

  it("writes the lines still pending when the process exits", async () => {
    const { execFileSync } = await import("node:child_process");
    const script = [
      `import { StdoutSink } from ${JSON.stringify(new URL("../src/logger.ts", import.meta.url).href)};`,
      "const sink = new StdoutSink(process.stdout);",
      'sink.write("last words\\n");',
      "process.exit(3);",
    ].join("\n");
    let output = "";
    try {
      execFileSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], {
        encoding: "utf8",
      });
    } catch (error) {
      output = (error as { stdout: string }).stdout;
    }
    expect(output).toBe("last words\n");
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

/** A logger writing to memory, as the gateway's would to stdout; `lines()` parses what it wrote. */
function memoryLogger(extraSecretKeys: string[] = []) {
  const seen: string[] = [];
  const destination = new Writable({
    write(chunk, _encoding, callback) {
      seen.push(String(chunk));
      callback();
    },
  });
  const logger = createLogger(
    { logLevel: "debug", security: { passThroughHeader: "x-my-token" } },
    { destination, extraSecretKeys },
  );
  return { logger, text: () => seen.join(""), lines: () => seen.map((l) => JSON.parse(l)) };
}

describe("redaction", () => {
  // Where the gateway's own code could put a credential: headers of a request or an upstream
  // call, a client's configuration, an error's own fields, a list of those.
  it("redacts credentials wherever a log call puts them, errors included", () => {
    const { logger, text, lines } = memoryLogger(["x-extra"]);
    const upstreamFailure = Object.assign(new Error("upstream said no"), {
      code: "UPSTREAM_AUTH_FAILED",
      request: { headers: { authorization: "Bearer in-error-headers" } },
    });
    logger.error(
      {
        Authorization: "Bearer top-level-any-case",
        headers: {
          authorization: "Bearer nested",
          "x-api-key": "nested-key",
          "x-cloudflare-api-token": "nested-token",
          "x-my-token": "renamed-pass-through",
          "x-extra": "extra-key",
          cookie: "a=b",
        },
        req: { headers: { authorization: "Bearer deeper", "set-cookie": "c=d" } },
        client: { options: { upstream: { credentials: { kind: "token", token: "deepest" } } } },
        attempts: [{ headers: { "proxy-authorization": "in-a-list" } }],
        err: upstreamFailure,
        requestId: "r-1",
      },
      "probe",
    );
    logger.info({ password: "top", secret: "s", accessToken: "a", refreshToken: "r" }, "keys");
    const all = text();
    for (const secret of [
      "top-level-any-case",
      "Bearer nested",
      "nested-key",
      "nested-token",
      "renamed-pass-through",
      "extra-key",
      "a=b",
      "deeper",
      "c=d",
      "deepest",
      "in-a-list",
      "in-error-headers",
      '"top"',
    ]) {
      expect(all).not.toContain(secret);
    }
    const [first] = lines();
    // What is not a secret stays, errors keep what their serializer makes of them.
    expect(first).toMatchObject({
      requestId: "r-1",
      Authorization: "[redacted]",
      headers: { authorization: "[redacted]", cookie: "[redacted]" },
      err: { message: "upstream said no", code: "UPSTREAM_AUTH_FAILED", type: "Error" },
    });
    expect(first.err.stack).toContain("upstream said no");
  });

  it("leaves the logged objects themselves untouched", () => {
    const { logger } = memoryLogger();
    const headers = { authorization: "Bearer keep-mine" };
    const error = Object.assign(new Error("e"), { token: "keep-this-too" });
    logger.info({ headers, err: error }, "probe");
    expect(headers.authorization).toBe("Bearer keep-mine");
    expect(error.token).toBe("keep-this-too");
  });
});
