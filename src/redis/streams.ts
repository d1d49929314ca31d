/**
 * Resumable streams across replicas. The replica holding a stream's upstream read (its
 * holder) writes each event to a Redis Stream, `<prefix>stream:<id>`, under the entry id
 * `0-<sequence + 1>`, so "the events after sequence n" is one `XRANGE (0-<n+1> +`; it also
 * publishes each event on `<prefix>events:<id>`, so followers on other replicas get live
 * events pushed, without a blocking read (or a connection) per follower. A hash beside it
 * (`…:meta`) names the owner, the holder and whether it is live.
 *
 * A follower on another replica subscribes to the events channel (one subscription per stream
 * and replica, shared by its followers, on the one Pub/Sub connection), then reads the log
 * after its sequence, then takes live events, dropping those it has and reading the log again
 * when one is missing (Pub/Sub delivers at most once). It tells the holder it follows and how
 * it left (`<prefix>replica:<holder>`), which is how a resume elsewhere ends a grace period,
 * and how a cancellation on any replica reaches the upstream read.
 *
 * Keys live for the lease while the stream runs (renewed by the holder's heartbeat, so a
 * holder that dies leaves nothing behind for long), then for `STREAM_RESUME_TTL_MS`.
 *
 * Redis down or slow: live streams keep streaming from memory (their log stops being written,
 * and is deleted when Redis answers again, so nobody replays half of it: `stream_log`
 * fallback); resuming or cancelling a stream this replica does not hold fails with
 * `RESUME_UNAVAILABLE` (`resume` fallback); a follower that cannot hear from Redis for a lease
 * ends with a `RESUME_UNAVAILABLE` failure that repeats its last sequence, since it is no event
 * of the stream's, so resuming after it misses nothing.
 */
import { GraphQLError } from "graphql";
import { ErrorCode } from "../error-codes.ts";
import type { RelayedEvent } from "../streams/relay.ts";
import type { Following, FollowRequest, StreamControl, StreamSharing } from "../streams/sharing.ts";
import type { SharedRedis } from "./connection.ts";
import { type ControlMessage, type FollowedLog, RemoteFollower } from "./remote-follower.ts";

/** Published on a stream's events channel when it is discarded: its followers cannot go on. */
const GONE = '{"gone":true}';

/** A done event as the log keeps it: its completion without the chunks (see `logAfter`). */
function withoutChunks(event: Extract<RelayedEvent, { kind: "done" }>) {
  const { chunks: _chunks, errors: _errors, ...response } = event.completion.response;
  return { ...event, completion: { ...event.completion, response } };
}

function resumeUnavailable(): GraphQLError {
  return new GraphQLError("Streams held by other replicas cannot be reached right now; retry.", {
    extensions: { code: ErrorCode.RESUME_UNAVAILABLE, retryable: true },
  });
}

const logKey = (id: string) => `stream:${id}`;
const metaKey = (id: string) => `stream:${id}:meta`;

interface Channel {
  followers: Set<RemoteFollower>;
  /** Settles once SUBSCRIBE was answered; a follower reads the log only after it. */
  ready: Promise<unknown>;
}

export class RedisStreamSharing implements StreamSharing, FollowedLog {
  readonly redis: SharedRedis;
  readonly #control: string;
  #handlers: StreamControl | undefined;
  /** Streams held here, live: their keys' leases are renewed. */
  readonly #live = new Set<string>();
  /** Streams held here whose log could not be written: no more writes; deleted later. */
  readonly #broken = new Set<string>();
  readonly #channels = new Map<string, Channel>();
  /** When Redis last stopped answering the heartbeat's check; unset while it answers. */
  #downSince: number | undefined;

  constructor(redis: SharedRedis) {
    this.redis = redis;
    this.#control = redis.channel(`replica:${redis.replicaId}`);
    redis.subscriber.on("message", (channel: string, message: string) =>
      this.#onMessage(channel, message),
    );
    // Pub/Sub said nothing while the connection was down: every follower reads the log again.
    redis.subscriber.on("ready", () => {
      for (const { followers } of this.#channels.values()) {
        for (const follower of followers) follower.catchUp();
      }
    });
    redis.every(() => this.#beat());
  }

  /** Starts taking other replicas' messages about the streams held here. */
  async serve(handlers: StreamControl): Promise<void> {
    this.#handlers = handlers;
    // ioredis subscribes again by itself after a reconnect.
    await this.redis.subscriber.subscribe(this.#control).catch(() => {});
  }

  open(streamId: string, owner: string): void {
    this.#live.add(streamId);
    const commands = this.redis.commands;
    const meta = metaKey(streamId);
    const fail = () => this.#break(streamId);
    commands.hset(meta, { owner, holder: this.redis.replicaId, state: "live" }).catch(fail);
    commands.pexpire(meta, this.redis.leaseMs).catch(fail);
  }

  append(event: RelayedEvent): void {
    const id = event.streamId;
    if (this.#broken.has(id)) return;
    const json = JSON.stringify(event);
    const commands = this.redis.commands;
    const fail = () => this.#break(id);
    // The done event's completion repeats the chunks event's chunks: the log keeps them once.
    const stored = event.kind === "done" ? JSON.stringify(withoutChunks(event)) : json;
    commands.xadd(logKey(id), `0-${event.sequence + 1}`, "e", stored).catch(fail);
    if (event.sequence === 0) commands.pexpire(logKey(id), this.redis.leaseMs).catch(fail);
    // A lost notice is repaired by the follower, which reads the log on a gap.
    commands.publish(this.#eventsChannel(id), json).catch(() => {});
  }

  finish(streamId: string, ttlMs: number): void {
    this.#live.delete(streamId);
    if (this.#broken.has(streamId)) return;
    const commands = this.redis.commands;
    const fail = () => this.#break(streamId);
    commands.hset(metaKey(streamId), "state", "ended").catch(fail);
    commands.pexpire(metaKey(streamId), ttlMs).catch(fail);
    commands.pexpire(logKey(streamId), ttlMs).catch(fail);
  }

  discard(streamId: string): void {
    this.#live.delete(streamId);
    this.#forget(streamId);
  }

  async follow(request: FollowRequest): Promise<Following | undefined> {
    let meta: (string | null)[];
    try {
      meta = await this.#readMeta(request.streamId);
    } catch {
      throw this.#resumeUnavailable();
    }
    const [owner, holder, state] = meta;
    // Unknown, expired and another client's streams look the same from outside.
    if (owner === null || owner !== request.owner || !holder) return undefined;
    const follower = new RemoteFollower(this, request, holder, state === "live");
    try {
      await follower.begin();
    } catch {
      await follower.return();
      throw this.#resumeUnavailable();
    }
    return follower;
  }

  async cancel(streamId: string, owner: string): Promise<boolean> {
    try {
      const [streamOwner, holder, state] = await this.#readMeta(streamId);
      if (streamOwner !== owner || state !== "live" || !holder) return false;
      return (await this.tell(holder, { t: "cancel", id: streamId })) > 0;
    } catch {
      throw this.#resumeUnavailable();
    }
  }

  /** A stream's owner, holder and state, each `null` when unset. */
  #readMeta(streamId: string): Promise<(string | null)[]> {
    return this.redis.commands.hmget(metaKey(streamId), "owner", "holder", "state");
  }

  /** Counts the fallback and makes the error a client retries on. */
  #resumeUnavailable(): GraphQLError {
    this.redis.fellBack("resume");
    return resumeUnavailable();
  }

  /** The Pub/Sub channel a stream's events are announced on. */
  #eventsChannel(streamId: string): string {
    return this.redis.channel(`events:${streamId}`);
  }

  /** Sends a control message to the replica holding a stream; resolves to its listeners. */
  tell(holder: string, message: ControlMessage): Promise<number> {
    return this.redis.commands.publish(
      this.redis.channel(`replica:${holder}`),
      JSON.stringify(message),
    );
  }

  /** The stream's log after `afterSequence`, in order, the done event whole again. */
  async logAfter(streamId: string, afterSequence: number): Promise<RelayedEvent[]> {
    const commands = this.redis.commands;
    const entries = await commands.xrange(logKey(streamId), `(0-${afterSequence + 1}`, "+");
    const events = entries.map(([, fields]) => JSON.parse(fields[1]!) as RelayedEvent);
    const done = events.at(-1);
    if (done?.kind === "done") {
      let chunks: RelayedEvent | undefined = events[0];
      if (chunks?.kind !== "chunks") {
        const [first] = await commands.xrange(logKey(streamId), "0-1", "0-1");
        chunks = first ? (JSON.parse(first[1][1]!) as RelayedEvent) : undefined;
      }
      if (chunks?.kind === "chunks") {
        done.completion.response.chunks = chunks.chunks;
        done.completion.response.errors = chunks.errors;
      }
    }
    return events;
  }

  /** Subscribes `follower` to its stream's events, sharing one subscription per stream. */
  async join(streamId: string, follower: RemoteFollower): Promise<void> {
    const name = this.#eventsChannel(streamId);
    let channel = this.#channels.get(name);
    if (!channel) {
      const ready = this.redis.subscriber.subscribe(name);
      channel = { followers: new Set(), ready };
      this.#channels.set(name, channel);
      ready.catch(() => {
        if (this.#channels.get(name) === channel) this.#channels.delete(name);
      });
    }
    channel.followers.add(follower);
    await channel.ready;
  }

  part(streamId: string, follower: RemoteFollower): void {
    const name = this.#eventsChannel(streamId);
    const channel = this.#channels.get(name);
    if (!channel?.followers.delete(follower) || channel.followers.size > 0) return;
    this.#channels.delete(name);
    this.redis.subscriber.unsubscribe(name).catch(() => {});
  }

  #onMessage(channel: string, message: string): void {
    if (channel === this.#control) {
      this.#onControl(message);
      return;
    }
    const followers = this.#channels.get(channel)?.followers;
    if (!followers || followers.size === 0) return;
    if (message === GONE) {
      for (const follower of [...followers]) follower.fail();
      return;
    }
    // Parsed once per replica, whatever the number of followers here.
    const event = JSON.parse(message) as RelayedEvent;
    for (const follower of [...followers]) follower.take(event);
  }

  #onControl(message: string): void {
    let parsed: ControlMessage;
    try {
      parsed = JSON.parse(message) as ControlMessage;
    } catch {
      return;
    }
    const handlers = this.#handlers;
    if (!handlers || typeof parsed.id !== "string") return;
    if (parsed.t === "attach") handlers.attach(parsed.id);
    else if (parsed.t === "detach") handlers.detach(parsed.id, parsed.explicit === true);
    else if (parsed.t === "cancel") handlers.cancel(parsed.id);
  }

  /** The log can no longer be trusted whole: stop writing it, and delete it. */
  #break(streamId: string): void {
    if (this.#broken.has(streamId)) return;
    this.#broken.add(streamId);
    this.redis.fellBack("stream_log");
    this.#forget(streamId);
  }

  #forget(streamId: string): void {
    const commands = this.redis.commands;
    commands
      .del(metaKey(streamId), logKey(streamId))
      .then(() => {
        this.#broken.delete(streamId);
        return commands.publish(this.#eventsChannel(streamId), GONE);
      })
      .catch(() => {});
  }

  /** Renews the leases of the streams held here; checks the holders of those followed here. */
  #beat(): void {
    const commands = this.redis.commands;
    const lease = this.redis.leaseMs;
    for (const id of this.#live) {
      if (this.#broken.has(id)) continue;
      commands.pexpire(metaKey(id), lease).catch(() => {});
      commands.pexpire(logKey(id), lease).catch(() => {});
    }
    // Broken logs still in Redis: deleted as soon as it answers again.
    for (const id of this.#broken) this.#forget(id);
    const followed = [...this.#channels.values()].flatMap(({ followers }) => [...followers]);
    if (followed.length === 0) {
      this.#downSince = undefined;
      return;
    }
    const checks = followed.map((follower) =>
      commands.exists(metaKey(follower.streamId)).then((exists) => {
        // The holder died, or discarded the stream: nothing more will come.
        if (exists === 0) follower.fail();
      }),
    );
    Promise.all(checks).then(
      () => {
        this.#downSince = undefined;
      },
      () => {
        this.#downSince ??= Date.now();
        if (Date.now() - this.#downSince < lease) return;
        for (const follower of followed) follower.fail();
      },
    );
  }
}
