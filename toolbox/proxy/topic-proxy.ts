/**
 * A topic proxy (XSUB/XPUB forwarder): a node fronts every topic under a
 * prefix, so subscribers connect to it instead of the publishers (fan-in of
 * many publishers, fan-out to many subscribers), and it subscribes upstream
 * to what its subscribers ask for. Batches pass through unchanged, with the
 * publisher's id and sequence numbers, so subscribers still count drops
 * exactly and switch between the proxy and the direct path without a lost or
 * repeated message. Built on the core's topic forwarder (`node.forward(prefix)`), adding
 * steering, a tap and a steering service.
 *
 * Pausing drops what arrives (topics are best-effort; the drops are counted
 * here, and subscribers see them as sequence gaps).
 */

import type { TopicForwarder } from "../../core/forwarder.js";
import type { Node } from "../../core/node.js";
import { checkName } from "../../core/record.js";
import { checkOptions, flag } from "../control/validate.js";
import { register, type Steerable } from "../steering.js";
import { RateMeter } from "./rate.js";
import type { DirectionStats } from "./service-proxy.js";
import { replaceTap, type TapOptions, type TapSink, type TapStats } from "./tap.js";

export interface TopicProxyOptions {
  /** Topics to front: every topic starting with `prefix` (`""`: all). Required. */
  prefix: string;
  /** Copy each message passed on (`{ topic, data }`) to a topic or file. Default: no tap. */
  tap?: TapOptions;
  /** Serve steering on `<node name>.control`. Default true. */
  steering?: boolean;
}

export interface TopicProxyStats {
  kind: "topic";
  id: string;
  node: string;
  /** When the stats were read, ms since the epoch (the sample's own timestamp). */
  time: number;
  prefix: string;
  paused: boolean;
  closed: boolean;
  /** Messages passed downstream (bytes: whole batches as received). */
  forward: DirectionStats;
  /** Subscription changes forwarded upstream (bytes not metered: 0). */
  backward: DirectionStats;
  /** Batches (frames) passed downstream. */
  frames: number;
  /** Messages dropped because the proxy was paused. */
  dropped: number;
  /** Prefixes subscribed upstream, with how many subscriptions asked for each. */
  upstream: Record<string, number>;
  /** Nodes publishing topics under the prefix, by name (the proxy's replica's view). */
  publishers: string[];
  tap: TapStats | null;
}

export class TopicProxy implements Steerable {
  readonly node: Node;
  readonly prefix: string;
  readonly id: string;
  #forwarder: TopicForwarder | undefined;
  #tap: TapSink | undefined;
  #unregister: (() => void) | undefined;
  #closing: Promise<void> | undefined;
  readonly #rate: RateMeter;

  private constructor(node: Node, options: TopicProxyOptions) {
    const o = checkOptions(options, ["prefix", "tap", "steering"], "topic proxy options");
    this.node = node;
    this.prefix = o.prefix === "" ? "" : checkName(o.prefix, "prefix");
    this.id = `topic:${this.prefix}`;
    if (o.tap !== undefined) this.#tap = replaceTap(node, undefined, o.tap, this.prefix, this.prefix);
    this.#rate = new RateMeter(() => this.#forwarder?.stats().messagesDown ?? 0);
  }

  /** Fronts the topics under `options.prefix` on `node`; resolves once the directory lists the front. */
  static async start(node: Node, options: TopicProxyOptions): Promise<TopicProxy> {
    const proxy = new TopicProxy(node, options);
    const steering = flag("steering", options.steering, true);
    try {
      proxy.#forwarder = await node.forward(proxy.prefix);
    } catch (error) {
      await proxy.#tap?.close();
      proxy.#rate.stop();
      throw error;
    }
    proxy.#installTap();
    if (steering) proxy.#unregister = register(node, proxy);
    return proxy;
  }

  get paused(): boolean {
    return this.#forwarder?.paused ?? false;
  }

  get closed(): boolean {
    return this.#forwarder?.closed ?? true;
  }

  /** Drops (and counts) what arrives until `resume()`. */
  pause(): void {
    this.#forwarder?.pause();
  }

  resume(): void {
    this.#forwarder?.resume();
  }

  /** Changes `tap` (an options object, or null to remove it). */
  set(values: Record<string, unknown>): void {
    checkOptions(values, ["tap"], "topic proxy settings");
    if (values.tap !== undefined) {
      this.#tap = replaceTap(this.node, this.#tap, values.tap, this.prefix, this.prefix);
      this.#installTap();
    }
  }

  /** Nodes publishing topics under the prefix (the proxy's replica's view), by name. */
  publishers(): string[] {
    return this.node
      .nodes()
      .filter((n) => n.id !== this.node.id && n.topics.some((t) => t.startsWith(this.prefix)))
      .map((n) => n.name)
      .sort();
  }

  stats(): TopicProxyStats {
    const s = this.#forwarder?.stats();
    return {
      kind: "topic",
      id: this.id,
      node: this.node.name,
      time: Date.now(),
      prefix: this.prefix,
      paused: this.paused,
      closed: this.closed,
      forward: { messages: s?.messagesDown ?? 0, bytes: s?.bytesDown ?? 0, rate: this.#rate.rate },
      backward: { messages: s?.subscriptionsUp ?? 0, bytes: 0, rate: Number.NaN },
      frames: s?.framesDown ?? 0,
      dropped: s?.dropped ?? 0,
      upstream: s?.upstream ?? {},
      publishers: this.publishers(),
      tap: this.#tap?.stats() ?? null,
    };
  }

  /**
   * Stops forwarding: unfronts the prefix (subscribers go back to the
   * publishers, overlapping both paths for a grace period so nothing is lost
   * or repeated). Safe to call twice.
   */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#forwarder?.close();
      this.#rate.stop();
      if (this.node.state === "running") await this.node.synced();
      this.#unregister?.();
      await this.#tap?.close();
    })();
    return this.#closing;
  }

  #installTap(): void {
    const forwarder = this.#forwarder;
    if (forwarder === undefined) return;
    const tap = this.#tap;
    forwarder.tap =
      tap === undefined
        ? undefined
        : (topic, messages) => {
            if (forwarder.paused) return;
            for (const data of messages) tap.offer(() => ({ topic, data }));
          };
  }
}
