/**
 * A topic forwarder: the XSUB/XPUB forwarder of a topic proxy, as part of a node.
 * It fronts a topic prefix, so subscribers of topics under it connect to this
 * node instead of the publishers; it subscribes upstream to what its
 * subscribers ask for (subscriptions forwarded, as XSUB/XPUB do), and passes
 * each batch through unchanged — the publisher's id and sequence numbers
 * stay, so subscribers still count drops exactly and can switch between the
 * forwarder and direct paths without losses or duplicates.
 *
 * zeromq.js's built-in `Proxy` has no steering beyond pause/resume, no
 * statistics and no capture; a forwarder has pause/resume, per-direction
 * statistics and a tap.
 */
import { encode } from "./codec.js";

/** Counters of a forwarder, per direction. */
export interface ForwarderStats {
  /** Batches (frames) and messages passed downstream, and their bytes. */
  framesDown: number;
  messagesDown: number;
  bytesDown: number;
  /** Messages not passed on because the forwarder was paused. */
  dropped: number;
  /** Subscription changes forwarded upstream (subscribe and unsubscribe). */
  subscriptionsUp: number;
  /** Prefixes currently subscribed upstream, with how many subscribers asked for each. */
  upstream: Record<string, number>;
}

/** Receives a copy of what a forwarder passes on: the topic and the batch's messages. */
export type Tap = (topic: string, messages: unknown[]) => void;

/**
 * Sees every batch a forwarder receives on a topic it covers, as decoded and
 * whether paused or not: `[publisherId, firstSeq, ...messages]` (a last-value
 * cache keeps the last message with its publisher and sequence number).
 */
export type BatchHook = (topic: string, batch: readonly unknown[]) => void;

/** Sees each subscription (+1) or unsubscription (−1) of `prefix` that reaches a forwarder from downstream. */
export type SubscriptionHook = (prefix: string, delta: number) => void;

export class TopicForwarder {
  readonly prefix: string;
  #paused = false;
  #closed = false;
  readonly #upstream = new Map<string, number>();
  readonly #stats = { framesDown: 0, messagesDown: 0, bytesDown: 0, dropped: 0, subscriptionsUp: 0 };
  /** A copy of every batch passed on (set it to inspect traffic; undefined costs nothing). */
  tap: Tap | undefined;
  /** Every batch received on a covered topic, head included, paused or not (undefined costs nothing). */
  onBatch: BatchHook | undefined;
  /** Each downstream subscription change overlapping this forwarder's prefix, after it is forwarded upstream. */
  onSubscription: SubscriptionHook | undefined;
  readonly #link: ForwarderLink;

  /** @internal Made by `Node.forward()`. */
  constructor(prefix: string, link: ForwarderLink) {
    this.prefix = prefix;
    this.#link = link;
  }

  get paused(): boolean {
    return this.#paused;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Stops passing messages on (they are dropped and counted) until `resume()`. */
  pause(): void {
    this.#paused = true;
  }

  resume(): void {
    this.#paused = false;
  }

  stats(): ForwarderStats {
    return { ...this.#stats, upstream: Object.fromEntries(this.#upstream) };
  }

  /**
   * Keeps an upstream subscription to `prefix` (default: the forwarder's prefix)
   * whether or not a subscriber asks for it, so every batch under it reaches
   * the forwarder (a last-value cache must see each value). Undone by `close()`.
   */
  pin(prefix: string = this.prefix): void {
    if (this.#closed) return;
    if (!prefix.startsWith(this.prefix))
      throw new RangeError(
        `Expected \`prefix\` to start with the forwarder's prefix \`${this.prefix}\`, got \`${prefix}\``,
      );
    this.#upstream.set(prefix, (this.#upstream.get(prefix) ?? 0) + 1);
    this.#link.subscribe(prefix);
  }

  /**
   * Sends `batch` — `[publisherId, firstSeq, ...messages]`, the wire shape of
   * a topic batch — to this node's subscribers of `topic`, after what the
   * forwarder already passed on. A subscriber that already has those sequence
   * numbers from that publisher skips them, so re-sending a publisher's last
   * batch reaches only subscribers that never saw it (a newcomer).
   */
  send(topic: string, batch: readonly unknown[]): void {
    if (this.#closed) return;
    if (!topic.startsWith(this.prefix))
      throw new RangeError(
        `Expected \`topic\` under the forwarder's prefix \`${this.prefix}\`, got \`${topic}\``,
      );
    if (typeof batch[0] !== "string" || typeof batch[1] !== "number" || batch.length < 3)
      throw new TypeError(
        "Expected a batch `[publisherId, firstSeq, ...messages]` with at least one message",
      );
    this.#link.send(topic, encode(batch));
  }

  /** Stops forwarding: unfronts the prefix and drops the upstream subscriptions. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const [prefix, count] of this.#upstream)
      for (let i = 0; i < count; i++) this.#link.unsubscribe(prefix);
    this.#upstream.clear();
    this.#link.closed(this);
  }

  /** @internal A subscriber subscribed (+1) or unsubscribed (−1) `prefix` on this node. */
  _downstream(prefix: string, delta: number): void {
    if (this.#closed) return;
    // Forward the part of the subscription that falls under this forwarder's prefix.
    let upstream: string;
    if (prefix.startsWith(this.prefix)) upstream = prefix;
    else if (this.prefix.startsWith(prefix)) upstream = this.prefix;
    else return;
    const count = (this.#upstream.get(upstream) ?? 0) + delta;
    if (count < 0) return;
    if (count === 0) this.#upstream.delete(upstream);
    else this.#upstream.set(upstream, count);
    this.#stats.subscriptionsUp++;
    if (delta > 0) this.#link.subscribe(upstream);
    else this.#link.unsubscribe(upstream);
    this.onSubscription?.(prefix, delta);
  }

  /** @internal Whether a batch on `topic` is this forwarder's to pass on. */
  _covers(topic: string): boolean {
    return !this.#closed && topic.startsWith(this.prefix);
  }

  /** @internal Counts a batch passed on (or dropped while paused); returns whether to send it. */
  _pass(count: number, bytes: number): boolean {
    if (this.#paused) {
      this.#stats.dropped += count;
      return false;
    }
    this.#stats.framesDown++;
    this.#stats.messagesDown += count;
    this.#stats.bytesDown += bytes;
    return true;
  }
}

/** What a forwarder needs from its node. */
export interface ForwarderLink {
  subscribe(prefix: string): void;
  unsubscribe(prefix: string): void;
  closed(forwarder: TopicForwarder): void;
  /** Queues an encoded batch on the node's XPUB socket for `topic`, in order with what was forwarded. */
  send(topic: string, body: Buffer): void;
}
