/**
 * Topics: publish/subscribe over ZeroMQ PUB/SUB (XPUB on the publishing
 * node, so it sees subscriptions). Frame 1 of every message is the topic, so
 * ZeroMQ filters by prefix at the publisher; frame 2 is a batch: every
 * message one node published on one topic in one event-loop turn,
 * `[publisherId, firstSeq, message, ...]`.
 *
 * Slow subscribers: ZeroMQ drops at the high-water mark (per subscriber
 * connection, `topicHighWaterMark` frames) and each subscription buffers at
 * most `highWaterMark` messages in JavaScript, dropping the newest beyond
 * that. Neither blocks the publisher. Drops are counted exactly: each
 * publisher numbers its messages per topic, and a subscriber counts the
 * gaps (and its own overflow). The same numbers let a subscriber skip a
 * message it already has (received both directly and through a topic proxy
 * while it switches paths).
 */
import { BusyError, ProtocolError } from "./errors.js";
import type { ChannelMeter, MeterGroup } from "./meter.js";
import type { Outbox } from "./outbox.js";

/** A message received on a topic. */
export interface TopicMessage<T = unknown> {
  topic: string;
  data: T;
}

export interface SubscribeOptions {
  /**
   * Messages this subscription buffers for its consumer; newer messages are
   * dropped (and counted) beyond it. Default 10 000.
   */
  highWaterMark?: number;
}

// ------------------------------------------------------------------ publishing

export class TopicPublisher {
  #outbox: Outbox | undefined;
  readonly #seq = new Map<string, number>();
  /** Topics this node has published on (advertised in the directory). */
  readonly topics = new Set<string>();
  /** Subscriptions seen on the XPUB socket: prefix → number of subscribing connections. */
  readonly #subscribers = new Map<string, number>();
  #waiters: (() => void)[] = [];
  meters: MeterGroup | undefined;
  #lastTopic = "";
  #lastMeter: ChannelMeter | undefined;
  /** Largest message, encoded bytes. */
  maxMessageSize = Number.POSITIVE_INFINITY;

  constructor(
    readonly publisherId: () => string,
    readonly advertise: () => void,
  ) {}

  attach(outbox: Outbox | undefined): void {
    this.#outbox = outbox;
    this.#seq.clear();
    this.#subscribers.clear();
  }

  /** Publishes one message; it leaves at the end of the turn with the others of its topic. */
  publish(topic: string, message: unknown): void {
    const outbox = this.#outbox;
    if (outbox === undefined) return;
    if (!this.topics.has(topic)) {
      this.topics.add(topic);
      this.advertise();
    }
    const batch = outbox.batch(topic, topic, (b) => {
      b.writer.append(this.publisherId());
      b.writer.append(this.#seq.get(topic) ?? 0);
    });
    const mark = batch.writer.mark();
    const size = batch.writer.append(message);
    if (size > this.maxMessageSize) {
      batch.writer.rollback(mark);
      throw new ProtocolError(`message of ${size} bytes exceeds maxMessageSize ${this.maxMessageSize}`);
    }
    batch.items++;
    this.#seq.set(topic, (this.#seq.get(topic) ?? 0) + 1);
    const meters = this.meters;
    if (meters !== undefined) {
      let meter = this.#lastMeter;
      if (this.#lastTopic !== topic || meter === undefined) {
        meter = meters.get(topic);
        this.#lastMeter = meter;
        this.#lastTopic = topic;
      }
      meter.messagesOut++;
      meter.bytesOut += size;
    }
    outbox.added(batch);
  }

  /** Reads one XPUB subscription message (`\x01prefix` or `\x00prefix`); false when it is not one. */
  onSubscription(frame: Buffer): boolean {
    // Anything but \x01prefix / \x00prefix is not a subscription: refuse it (the caller counts it).
    if (frame.length === 0 || (frame[0] !== 0 && frame[0] !== 1)) return false;
    const prefix = frame.toString("utf8", 1);
    const delta = frame[0] === 1 ? 1 : -1;
    const known = this.#subscribers.get(prefix) ?? 0;
    if (delta < 0 && known === 0) return false; // unsubscribing what was never subscribed
    const count = known + delta;
    if (count > 0) this.#subscribers.set(prefix, count);
    else this.#subscribers.delete(prefix);
    this.onChange?.(prefix, delta);
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const wake of waiters) wake();
    return true;
  }

  /** Called at each subscription (+1) or unsubscription (−1) seen on the XPUB socket (topic forwarders). */
  onChange: ((prefix: string, delta: number) => void) | undefined;

  /** Subscribing connections whose prefix matches `topic`. */
  subscribers(topic: string): number {
    let n = 0;
    for (const [prefix, count] of this.#subscribers) if (topic.startsWith(prefix)) n += count;
    return n;
  }

  /** Resolves at the next subscription change. */
  changed(): Promise<void> {
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  /**
   * Resolves when at least `want` connections subscribe to a prefix of
   * `topic`; throws `error` (made at the caller's site) after `timeoutMs`,
   * or as soon as `running()` turns false.
   */
  async waitForSubscribers(
    topic: string,
    want: number,
    timeoutMs: number,
    error: Error,
    running: () => boolean,
  ): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.subscribers(topic) < want) {
      const left = deadline - Date.now();
      if (left <= 0 || !running()) throw error;
      await Promise.race([this.changed(), new Promise((r) => setTimeout(r, Math.min(left, 100)))]);
    }
  }

  /** Reads the XPUB socket's subscription messages until it closes; counts what is not one. */
  async readSubscriptions(
    pub: AsyncIterable<Buffer[]> & { readonly closed: boolean },
    malformed: () => void,
  ): Promise<void> {
    try {
      for await (const frames of pub) {
        if (frames.length !== 1 || !this.onSubscription(frames[0]!)) malformed();
      }
    } catch (error) {
      if (!pub.closed) throw error;
    }
  }
}

// ------------------------------------------------------------------ subscribing

/**
 * One subscription: an `AsyncIterable` of the messages on topics starting
 * with `prefix`. One consumer at a time (a second concurrent `for await`
 * gets a `BusyError`); `close()`, the node's `stop()` or `break` end it.
 */
export class Subscription<T = unknown> implements AsyncIterable<TopicMessage<T>> {
  readonly prefix: string;
  readonly #highWaterMark: number;
  #buffer: TopicMessage<T>[] = [];
  #head = 0;
  #wake: ((value: IteratorResult<TopicMessage<T>>) => void) | undefined;
  #closed = false;
  #iterating = false;
  readonly #onClose: (s: Subscription<T>) => void;
  /** Meters of this subscription (received, drops, backlog). */
  readonly meter: ChannelMeter | undefined;

  constructor(
    prefix: string,
    options: SubscribeOptions,
    meter: ChannelMeter | undefined,
    onClose: (s: Subscription<T>) => void,
  ) {
    this.prefix = prefix;
    const hwm = options.highWaterMark ?? 10_000;
    if (!Number.isInteger(hwm) || hwm < 1)
      throw new RangeError(
        `Expected \`highWaterMark\` to be a positive integer, got \`${String(options.highWaterMark)}\``,
      );
    this.#highWaterMark = hwm;
    this.meter = meter;
    this.#onClose = onClose;
  }

  /** Whether the subscription has ended. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Messages waiting for the consumer (this subscription's backlog). */
  get buffered(): number {
    return this.#buffer.length - this.#head;
  }

  /** @internal Delivers one message (from the node's SUB loop). */
  _deliver(topic: string, data: T): void {
    if (this.#closed) return;
    const meter = this.meter;
    if (meter !== undefined) meter.messagesIn++;
    const wake = this.#wake;
    if (wake !== undefined) {
      this.#wake = undefined;
      wake({ value: { topic, data }, done: false });
      return;
    }
    if (this.buffered >= this.#highWaterMark) {
      if (meter !== undefined) meter.drops++;
      return;
    }
    this.#buffer.push({ topic, data });
    if (meter !== undefined) meter.backlog = this.buffered;
  }

  /** @internal Counts messages lost before they reached this node (sequence gap). */
  _lost(n: number): void {
    if (this.meter !== undefined) this.meter.drops += n;
  }

  /** Ends the subscription: a waiting `for await` finishes; buffered messages are discarded. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#buffer = [];
    this.#head = 0;
    if (this.meter !== undefined) this.meter.backlog = 0;
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.({ value: undefined, done: true });
    this.#onClose(this);
  }

  [Symbol.asyncIterator](): AsyncIterator<TopicMessage<T>> {
    if (this.#iterating) throw new BusyError(`subscription to \`${this.prefix}\` already has a consumer`);
    this.#iterating = true;
    return {
      next: () => this.#next(),
      return: () => {
        this.#iterating = false;
        this.close();
        return Promise.resolve({ value: undefined, done: true });
      },
    };
  }

  #next(): Promise<IteratorResult<TopicMessage<T>>> {
    if (this.#head < this.#buffer.length) {
      const value = this.#buffer[this.#head++]!;
      if (this.#head > 1024 && this.#head * 2 > this.#buffer.length) {
        this.#buffer = this.#buffer.slice(this.#head);
        this.#head = 0;
      }
      if (this.meter !== undefined) this.meter.backlog = this.buffered;
      return Promise.resolve({ value, done: false });
    }
    if (this.#closed) {
      this.#iterating = false;
      return Promise.resolve({ value: undefined, done: true });
    }
    return new Promise((resolve) => {
      this.#wake = resolve;
    });
  }
}

/**
 * (publisher, topic) streams a subscriber keeps sequence numbers of, at
 * most. A publisher a subscriber is connected to may name any publisher id
 * and any topic under the subscriber's prefixes in its batches; a graph of
 * 65 536 live streams to one subscriber is far beyond real use.
 */
export const MAX_STREAMS = 65_536;

/**
 * The receiving side of a node: routes decoded topic batches to the
 * subscriptions whose prefix matches, and counts sequence gaps.
 */
export class TopicSubscriber {
  readonly subscriptions = new Set<Subscription<unknown>>();
  /** Next expected sequence number per (publisher, topic). */
  readonly #expected = new Map<string, number>();
  /** Streams forgotten to stay within {@link MAX_STREAMS}. */
  forgotten = 0;

  /** (publisher, topic) streams whose sequence numbers are kept now. */
  get streams(): number {
    return this.#expected.size;
  }

  /** Prefixes with at least one open subscription, and how many. */
  prefixes(): Map<string, number> {
    const counts = new Map<string, number>();
    for (const s of this.subscriptions) counts.set(s.prefix, (counts.get(s.prefix) ?? 0) + 1);
    return counts;
  }

  /** Handles one topic frame pair: `topic`, and the batch `[publisherId, firstSeq, ...messages]`. */
  onBatch(topic: string, batch: unknown[], bytes: number): void {
    const publisher = batch[0];
    const first = batch[1];
    if (typeof publisher !== "string" || typeof first !== "number")
      throw new TypeError("malformed topic batch");
    const count = batch.length - 2;
    const key = `${publisher}\u0000${topic}`;
    const expected = this.#expected.get(key);
    if (expected === undefined && this.#expected.size >= MAX_STREAMS) {
      // A batch names its publisher and topic itself: past the bound, forget every stream (each
      // one's next batch starts afresh, as after a reconnect) instead of growing without end.
      // All at once: dropping the oldest one by one costs V8's Map a scan over its holes.
      this.forgotten += this.#expected.size;
      this.#expected.clear();
    }
    const gap = expected !== undefined && first > expected ? first - expected : 0;
    // Messages already delivered (the same batch reached us through a proxy and directly
    // while a subscriber switched paths) are skipped: delivery stays exactly-once per path switch.
    const skip = expected !== undefined && first < expected ? Math.min(expected - first, count) : 0;
    if (skip === count) return;
    this.#expected.set(key, first + count);
    for (const sub of this.subscriptions) {
      if (!topic.startsWith(sub.prefix)) continue;
      if (gap > 0) sub._lost(gap);
      if (sub.meter !== undefined) sub.meter.bytesIn += bytes;
      for (let i = 2 + skip; i < batch.length; i++) sub._deliver(topic, batch[i]);
    }
  }

  /** Forgets sequence state of topics no open subscription matches (so a later one starts afresh). */
  prune(): void {
    for (const key of this.#expected.keys()) {
      const topic = key.slice(key.indexOf("\u0000") + 1);
      let matched = false;
      for (const sub of this.subscriptions) if (topic.startsWith(sub.prefix)) matched = true;
      if (!matched) this.#expected.delete(key);
    }
  }

  /** Ends every subscription (the node stops). */
  closeAll(): void {
    for (const s of [...this.subscriptions]) s.close();
    this.#expected.clear();
  }
}
