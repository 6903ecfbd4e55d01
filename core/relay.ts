/**
 * A topic relay: the XSUB/XPUB forwarder of a topic proxy, as part of a node.
 * It fronts a topic prefix, so subscribers of topics under it connect to this
 * node instead of the publishers; it subscribes upstream to what its
 * subscribers ask for (subscriptions forwarded, as XSUB/XPUB do), and passes
 * each batch through unchanged — the publisher's id and sequence numbers
 * stay, so subscribers still count drops exactly and can switch between the
 * relay and direct paths without losses or duplicates.
 *
 * zeromq.js's built-in `Proxy` has no steering beyond pause/resume, no
 * statistics and no capture; a relay has pause/resume, per-direction
 * statistics and a tap.
 */

/** Counters of a relay, per direction. */
export interface RelayStats {
  /** Batches (frames) and messages passed downstream, and their bytes. */
  framesDown: number;
  messagesDown: number;
  bytesDown: number;
  /** Messages not passed on because the relay was paused. */
  dropped: number;
  /** Subscription changes forwarded upstream (subscribe and unsubscribe). */
  subscriptionsUp: number;
  /** Prefixes currently subscribed upstream, with how many subscribers asked for each. */
  upstream: Record<string, number>;
}

/** Receives a copy of what a relay passes on: the topic and the batch's messages. */
export type Tap = (topic: string, messages: unknown[]) => void;

export class TopicRelay {
  readonly prefix: string;
  #paused = false;
  #closed = false;
  readonly #upstream = new Map<string, number>();
  readonly #stats = { framesDown: 0, messagesDown: 0, bytesDown: 0, dropped: 0, subscriptionsUp: 0 };
  /** A copy of every batch passed on (set it to inspect traffic; undefined costs nothing). */
  tap: Tap | undefined;
  readonly #link: RelayLink;

  /** @internal Made by `Node.relay()`. */
  constructor(prefix: string, link: RelayLink) {
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

  stats(): RelayStats {
    return { ...this.#stats, upstream: Object.fromEntries(this.#upstream) };
  }

  /** Stops relaying: unfronts the prefix and drops the upstream subscriptions. */
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
    // Forward the part of the subscription that falls under this relay's prefix.
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
  }

  /** @internal Whether a batch on `topic` is this relay's to pass on. */
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

/** What a relay needs from its node. */
export interface RelayLink {
  subscribe(prefix: string): void;
  unsubscribe(prefix: string): void;
  closed(relay: TopicRelay): void;
}
