/**
 * A last-value cache for topics (ROS "latched" topics, the zguide's LVC): a
 * topic proxy that remembers the last message of each topic under its prefix
 * and gives it at once to a subscriber that joins late — only to the
 * newcomer.
 *
 * How only the newcomer gets it: the cache forwards batches unchanged (the
 * publisher's id and sequence numbers stay). When a subscription reaches it,
 * it re-sends, for each matching topic, the last message as a batch
 * `[publisherId, lastSeq, lastMessage]`. ZeroMQ sends it to every subscriber
 * of that topic, but a subscriber that already has that sequence number from
 * that publisher skips it (the core's duplicate check); only one that never
 * saw it — the newcomer — delivers it. The newcomer then expects the next
 * sequence number, so it misses nothing after it either.
 *
 * The cache subscribes upstream to its whole prefix at all times (it must see
 * every value, whether or not someone listens) and lists the topics it holds
 * in the directory (`advertise`), so a subscriber joining after the publisher
 * left still finds it.
 *
 * Granularity: the last value goes to each newly subscribing node. A node
 * that already subscribed to a matching prefix and opens a second
 * subscription does not get it again (its node has seen that value).
 */

import type { TopicForwarder } from "../../core/forwarder.js";
import type { Node } from "../../core/node.js";
import { checkName } from "../../core/record.js";
import { checkOptions, fail, flag, positiveInteger } from "../control/validate.js";
import { integerBetween, MAX_COUNT } from "../limits.js";
import type { DirectionStats } from "../proxy/service-proxy.js";
import { register, type Steerable } from "../steering.js";

export interface LastValueCacheOptions {
  /** Topics cached: every topic starting with `prefix` (`""`: all). Required. */
  prefix: string;
  /** Most topics remembered; the one published least recently is forgotten first. Default 10 000. */
  maxTopics?: number;
  /** List the topics held in the directory, so late subscribers find the cache after the publisher left. Default true. */
  advertise?: boolean;
  /** Serve steering on `<node name>.control`. Default true. */
  steering?: boolean;
}

export interface LastValueCacheStats {
  kind: "lvc";
  id: string;
  node: string;
  /** When the stats were read, ms since the epoch (the sample's own timestamp). */
  time: number;
  prefix: string;
  paused: boolean;
  closed: boolean;
  /** Topics with a last value held. */
  topics: number;
  maxTopics: number;
  /** Last values sent to newly subscribing nodes (one per topic and subscription). */
  replayed: number;
  /** Subscriptions that reached the cache from downstream. */
  subscriptions: number;
  /** Messages passed downstream (bytes: whole batches as received). */
  forward: DirectionStats;
  /** Subscription changes forwarded upstream. */
  backward: DirectionStats;
  /** Messages not passed on while paused. */
  dropped: number;
}

interface Last {
  publisher: string;
  seq: number;
  value: unknown;
}

export class LastValueCache implements Steerable {
  readonly node: Node;
  readonly prefix: string;
  readonly id: string;
  readonly #advertise: boolean;
  #maxTopics: number;
  readonly #last = new Map<string, Last>();
  #forwarder: TopicForwarder | undefined;
  #replayed = 0;
  #subscriptions = 0;
  #unregister: (() => void) | undefined;
  #closing: Promise<void> | undefined;

  private constructor(node: Node, options: LastValueCacheOptions) {
    const o = checkOptions(
      options,
      ["prefix", "maxTopics", "advertise", "steering"],
      "last-value cache options",
    );
    this.node = node;
    this.prefix = o.prefix === "" ? "" : checkName(o.prefix, "prefix");
    this.id = `lvc:${this.prefix}`;
    this.#maxTopics = positiveInteger("maxTopics", o.maxTopics, 10_000);
    this.#advertise = flag("advertise", o.advertise, true);
  }

  /** Fronts the topics under `options.prefix` on `node`; resolves once the directory lists the front. */
  static async start(node: Node, options: LastValueCacheOptions): Promise<LastValueCache> {
    const cache = new LastValueCache(node, options);
    const steering = flag("steering", options.steering, true);
    const forwarder = await node.forward(cache.prefix);
    cache.#forwarder = forwarder;
    forwarder.onBatch = (topic, batch) => cache.#remember(topic, batch);
    forwarder.onSubscription = (prefix, delta) => {
      if (delta > 0) cache.#replay(prefix);
    };
    forwarder.pin();
    if (steering) cache.#unregister = register(node, cache);
    return cache;
  }

  get paused(): boolean {
    return this.#forwarder?.paused ?? false;
  }

  get closed(): boolean {
    return this.#forwarder?.closed ?? true;
  }

  /** The last message on `topic`, or undefined. */
  get(topic: string): unknown {
    return this.#last.get(topic)?.value;
  }

  /** Topics with a last value, least recently published first. */
  topics(): string[] {
    return [...this.#last.keys()];
  }

  /** Stops passing messages on and replaying last values (it still records them) until `resume()`. */
  pause(): void {
    this.#forwarder?.pause();
  }

  resume(): void {
    this.#forwarder?.resume();
  }

  /** Changes `maxTopics` (forgetting the least recently published topics beyond it). */
  set(values: Record<string, unknown>): void {
    checkOptions(values, ["maxTopics"], "last-value cache settings");
    if (values.maxTopics !== undefined)
      this.#maxTopics = integerBetween("maxTopics", values.maxTopics, 1, MAX_COUNT);
    this.#trim();
  }

  /** Forgets last values: `{ topic }`, `{ prefix }` or `{ all: true }`; returns how many. */
  invalidate(what: Record<string, unknown>): number {
    const w = checkOptions(what, ["topic", "prefix", "all"], "invalidation");
    const given = Object.keys(w).filter((k) => w[k] !== undefined);
    if (given.length !== 1)
      throw new TypeError(
        `Expected an invalidation with exactly one of topic, prefix, all, got \`${JSON.stringify(what)}\``,
      );
    if (w.topic !== undefined) return this.#last.delete(String(w.topic)) ? 1 : 0;
    if (w.all !== undefined && w.all !== true) fail("all", "true", w.all);
    const prefix = w.all === true ? "" : w.prefix;
    if (typeof prefix !== "string") fail("prefix", "a string", prefix, true);
    let n = 0;
    for (const topic of [...this.#last.keys()]) if (topic.startsWith(prefix) && this.#last.delete(topic)) n++;
    return n;
  }

  stats(): LastValueCacheStats {
    const s = this.#forwarder?.stats();
    return {
      kind: "lvc",
      id: this.id,
      node: this.node.name,
      time: Date.now(),
      prefix: this.prefix,
      paused: this.paused,
      closed: this.closed,
      topics: this.#last.size,
      maxTopics: this.#maxTopics,
      replayed: this.#replayed,
      subscriptions: this.#subscriptions,
      forward: { messages: s?.messagesDown ?? 0, bytes: s?.bytesDown ?? 0, rate: Number.NaN },
      backward: { messages: s?.subscriptionsUp ?? 0, bytes: 0, rate: Number.NaN },
      dropped: s?.dropped ?? 0,
    };
  }

  /** Stops caching: unfronts the prefix (subscribers go back to the publishers) and forgets the values. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#forwarder?.close();
      if (this.node.state === "running") await this.node.synced();
      this.#unregister?.();
      this.#last.clear();
    })();
    return this.#closing;
  }

  #remember(topic: string, batch: readonly unknown[]): void {
    const publisher = batch[0];
    const first = batch[1];
    const count = batch.length - 2;
    if (typeof publisher !== "string" || typeof first !== "number" || count < 1) return;
    const known = this.#last.delete(topic);
    this.#last.set(topic, { publisher, seq: first + count - 1, value: batch[batch.length - 1] });
    if (!known) {
      this.#trim();
      if (this.#advertise) {
        try {
          this.node.advertise(topic);
        } catch {
          // a topic name the directory would refuse: cached, not listed
        }
      }
    }
  }

  #replay(prefix: string): void {
    this.#subscriptions++;
    const forwarder = this.#forwarder;
    if (forwarder === undefined || forwarder.paused || forwarder.closed) return;
    for (const [topic, last] of this.#last) {
      if (!topic.startsWith(prefix)) continue;
      forwarder.send(topic, [last.publisher, last.seq, last.value]);
      this.#replayed++;
    }
  }

  #trim(): void {
    while (this.#last.size > this.#maxTopics) {
      const oldest = this.#last.keys().next();
      if (oldest.done) break;
      this.#last.delete(oldest.value);
    }
  }
}
