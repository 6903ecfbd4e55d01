/**
 * A node's meters: one group per kind of channel endpoint (services served
 * and called, topics published and subscribed, queues pushed and pulled), the
 * clock that updates their rates, and the plain-data snapshot `stats()`, the
 * built-in `zmp.stats` service and the meters topic hand out.
 */
import { type ChannelStats, MeterGroup, TICK_MS } from "./meter.js";
import type { HostKind } from "./record.js";

/** A node's meters, as plain data (what `stats()`, the `zmp.stats` service and the meters topic give). */
export interface NodeStats {
  name: string;
  id: string;
  host: HostKind;
  pid: number;
  /** When the snapshot was taken, ms since the epoch (the sample's own timestamp). */
  time: number;
  uptimeMs: number;
  /** Services this node serves, by name. */
  services: Record<string, ChannelStats>;
  /** Services this node calls, by name. */
  calls: Record<string, ChannelStats>;
  /** Topics this node publishes, by topic. */
  published: Record<string, ChannelStats>;
  /** This node's subscriptions, by prefix. */
  subscribed: Record<string, ChannelStats>;
  /** Queues this node pushes to, by name. */
  pushed: Record<string, ChannelStats>;
  /** Queues this node pulls from, by name. */
  pulled: Record<string, ChannelStats>;
  rejects: RejectCounts;
}

/** Counters of frames this node refused. */
export interface RejectCounts {
  /** Frames that could not be decoded or had the wrong shape. */
  malformed: number;
  /** Frames larger than `maxMessageSize` plus one batch. */
  oversized: number;
  /** Replies from a peer other than the one the call went to (refused, never delivered). */
  forged: number;
  /** Steering calls (`*.control`, `zmp.faults`) refused: no key, or one that may not steer. */
  forbidden: number;
}

/** The meters topic of a node: `zmp/meters/<node name>`. */
export const metersTopic = (node: string): string => `zmp/meters/${node}`;

/** The channel parts of {@link NodeStats}. */
export type ChannelSnapshot = Pick<
  NodeStats,
  "services" | "calls" | "published" | "subscribed" | "pushed" | "pulled"
>;

/** The meter groups of one node, ticked every {@link TICK_MS} while it runs. */
export class NodeMeters {
  readonly services = new MeterGroup();
  readonly calls = new MeterGroup();
  readonly published = new MeterGroup();
  readonly subscribed = new MeterGroup();
  readonly pushed = new MeterGroup();
  readonly pulled = new MeterGroup();
  #timer: ReturnType<typeof setInterval> | undefined;
  #lastTick = 0;

  /** Starts updating rates (the timer does not keep the process alive). */
  start(): void {
    this.#lastTick = performance.now();
    clearInterval(this.#timer);
    this.#timer = setInterval(() => this.#tick(), TICK_MS);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  snapshot(): ChannelSnapshot {
    return {
      services: this.services.snapshot(),
      calls: this.calls.snapshot(),
      published: this.published.snapshot(),
      subscribed: this.subscribed.snapshot(),
      pushed: this.pushed.snapshot(),
      pulled: this.pulled.snapshot(),
    };
  }

  #tick(): void {
    const now = performance.now();
    const dt = (now - this.#lastTick) / 1000;
    this.#lastTick = now;
    if (dt <= 0) return;
    const wall = Date.now();
    for (const group of [
      this.services,
      this.calls,
      this.published,
      this.subscribed,
      this.pushed,
      this.pulled,
    ])
      group.tick(dt, wall);
  }
}

/** A snapshot of a node without meters (`metering: false`). */
export function emptySnapshot(): ChannelSnapshot {
  return { services: {}, calls: {}, published: {}, subscribed: {}, pushed: {}, pulled: {} };
}
