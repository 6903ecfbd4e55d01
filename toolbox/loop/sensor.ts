/**
 * Sensors: what a feedback loop reads at each sample. A sensor returns a
 * `Reading`: the `Observation` controllers take (measurement, rates, delay,
 * latency), extra values to log, and the sample's own timestamp — the time
 * the source took it (a meter snapshot's `time`), not when the loop got it,
 * so `dt` between samples is the time between measurements.
 *
 * `meterSensor` reads one field of one channel meter of any node (backlog,
 * rate, latency percentiles...) through the built-in `zmp.stats` service
 * (or `node.stats()` when the source is the loop's own node).
 */
import type { ChannelStats, Node, NodeStats } from "../../core/index.js";
import type { Observation } from "../control/controller.js";
import { checkKeys, checkNumber, fail, oneOf } from "../control/validate.js";

/** One sample of what a loop observes. */
export interface Reading {
  /** When the source took the sample, ms since the epoch. */
  time: number;
  /** What controllers read: `measurement` plus whatever else the sensor knows. */
  observation: Observation;
  /** More values to log with the sample, by name (plain numbers). */
  values: Record<string, number>;
}

/** Something a loop can sample. */
export interface Sensor {
  /** What it measures, in words ("backlog of queue jobs at producer"). */
  readonly description: string;
  /** Takes one sample; rejects (a `TimeoutError`, a `RemoteError`...) when it cannot. */
  read(): Promise<Reading>;
}

/** The meter groups of `NodeStats`. */
export type MeterGroupName = "services" | "calls" | "published" | "subscribed" | "pushed" | "pulled";
const groups: readonly MeterGroupName[] = [
  "services",
  "calls",
  "published",
  "subscribed",
  "pushed",
  "pulled",
];
const fields: readonly (keyof ChannelStats)[] = [
  "messagesIn",
  "messagesOut",
  "bytesIn",
  "bytesOut",
  "drops",
  "errors",
  "inflight",
  "backlog",
  "backlogPeak",
  "rate",
  "rateIn",
  "rateOut",
  "latencyP50",
  "latencyP99",
  "serviceTimeP50",
  "serviceTimeP99",
];

/** A timeout in ms: a positive number. */
export function checkTimeout(name: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  return checkNumber(name, value, "a positive number of ms", (v) => v > 0 && Number.isFinite(v));
}

/**
 * The meters of the node `source`, as seen from `node`: `node.stats()` when
 * it is the node itself, else the built-in `zmp.stats` service of that node.
 */
export function statsOf(node: Node, source: string, timeoutMs: number): Promise<NodeStats> {
  if (source === node.name) return Promise.resolve(node.stats());
  return node.call<NodeStats>("zmp.stats", null, { node: source, timeoutMs });
}

/** Options of `meterSensor`. */
export interface MeterSensorOptions {
  /** Name of the node whose meter is read. Default: the loop's own node. */
  source?: string;
  /** Meter group: `pushed`, `pulled`, `services`, `calls`, `published`, `subscribed`. Required. */
  group: MeterGroupName;
  /** The channel in that group: a queue, service, topic or prefix name. Required. */
  channel: string;
  /** The field read as the measurement (`backlog`, `rate`, `latencyP99`...). Default `backlog`. */
  field?: keyof ChannelStats;
  /** The measurement is the field times `scale` (0.001 turns a latency in ms into seconds). Default 1. */
  scale?: number;
  /** Measurement when the node has no such meter yet (nothing went through it). Default: the read fails. */
  missing?: number;
  /** Longest wait for the stats, ms. Default 500. */
  timeoutMs?: number;
}

/**
 * Reads one field of one channel meter of a node (its `zmp.stats`), with the
 * snapshot's own timestamp. The reading's values hold every field of that
 * meter (`backlog`, `rateIn`, `latencyP99`...), the observation the chosen
 * field as `measurement`.
 */
export function meterSensor(node: Node, options: MeterSensorOptions): Sensor {
  if (options === null || typeof options !== "object") fail("options", "an object", options, true);
  checkKeys("meterSensor", options, ["source", "group", "channel", "field", "scale", "missing", "timeoutMs"]);
  const source = options.source ?? node.name;
  const group = oneOf("group", options.group, groups);
  const channel = options.channel;
  if (typeof channel !== "string") fail("channel", "a channel name", channel, true);
  const field = oneOf("field", options.field ?? "backlog", fields);
  const scale = checkNumber("scale", options.scale ?? 1, "a finite number", Number.isFinite);
  const missing = options.missing;
  if (missing !== undefined) checkNumber("missing", missing, "a finite number", Number.isFinite);
  const timeoutMs = checkTimeout("timeoutMs", options.timeoutMs, 500);
  return {
    description: `${field} of ${group} ${channel} at ${source}`,
    async read() {
      const stats = await statsOf(node, source, timeoutMs);
      const meter = stats[group][channel];
      if (meter === undefined) {
        if (missing === undefined)
          throw new RangeError(
            `node \`${source}\` has no ${group} meter \`${channel}\` (nothing went through it)`,
          );
        return { time: stats.time, observation: { measurement: missing }, values: {} };
      }
      const values: Record<string, number> = {};
      for (const f of fields) values[f] = meter[f];
      return { time: stats.time, observation: { measurement: meter[field] * scale }, values };
    },
  };
}
