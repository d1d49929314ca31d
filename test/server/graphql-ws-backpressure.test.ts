/**
 * A graphql-ws client that stops reading must pause its stream, all the way to the upstream
 * read: messages are handed to the socket without waiting only while it keeps up.
 */
import type { Socket } from "node:net";
import { print } from "graphql";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { AskStreamDocument } from "../../operations/generated/graphql.ts";
import { type GatewayHarness, startGateway } from "../helpers/gateway.ts";
import { closeAfterEach, openAcknowledged } from "../helpers/raw-ws.ts";

const track = closeAfterEach();

describe("a graphql-ws client that stops reading", () => {
  let harness: GatewayHarness;
  beforeAll(async () => {
    // No size limit: the endless answer must stop for want of a reader, not at the limit.
    harness = await startGateway({ streamDelayMs: 0 }, { STREAM_MAX_CHARS: "1000000000" });
  });
  afterAll(() => harness.close());

  /** Deltas the gateway has read from upstream streams so far. */
  const relayed = async () => {
    const { values } = await harness.app.metrics!.streamDeltas.get();
    return values.reduce((n, v) => n + v.value, 0);
  };

  it("pauses its stream's upstream read until it reads again", async () => {
    harness.local.setFaults({ endlessStream: true, match: "/chat/completions" });
    try {
      const raw = track(await openAcknowledged(harness.gateway.graphqlUrl));
      const tcp = (raw.socket as unknown as { _socket: Socket })._socket;
      raw.send({
        id: "1",
        type: "subscribe",
        payload: {
          query: print(AskStreamDocument),
          variables: {
            input: {
              instanceIds: ["gateway-docs"],
              messages: [{ role: "USER", content: "How does streaming of answers work?" }],
            },
          },
        },
      });
      expect((await raw.nextFor("1")).type).toBe("next");
      tcp.pause();
      // The endless answer would be read forever; a paused client stops it once the kernel's
      // buffers and the socket's own mark are full.
      let last = -1;
      await vi.waitFor(
        async () => {
          const now = await relayed();
          const steady = now === last;
          last = now;
          expect(steady).toBe(true);
        },
        { timeout: 30_000, interval: 250 },
      );
      const paused = last;
      tcp.resume();
      await vi.waitFor(async () => expect(await relayed()).toBeGreaterThan(paused), {
        timeout: 10_000,
      });
    } finally {
      harness.local.setFaults(undefined);
    }
  }, 60_000);
});
