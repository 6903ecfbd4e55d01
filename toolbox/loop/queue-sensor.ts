/**
 * Sensors of a queue's charge and current: its backlog (messages accepted
 * and not yet handled), the admitted and served rates over the last sample
 * period, the queueing delay and the latency percentiles.
 *
 * - `queueSensor` reads the producers' meters (`pushed[queue]` of each
 *   producer's `zmp.stats`): the queue's charge is the sum of what each
 *   producer accepted and has not seen acknowledged (docs/nodes-and-channels.md, "Backlog,
 *   exactly").
 * - `queueProxySensor` reads a queue proxy through its steering service
 *   (`{ op: "stats", target: "queue:<name>" }` on `<proxy>.control`), where
 *   the backlog lives when a proxy fronts the queue.
 *
 * Rates are count differences over the time between two samples (exact
 * counts, so a rate over a 100 ms period is not smoothed); the first sample
 * uses the meters' moving averages instead. A reading that comes less than
 * `minRateMs` after the one the rates were last counted from (a sample right
 * after a late one) repeats those rates: a handful of messages over a few
 * milliseconds is not a rate.
 */
import type { Node } from "../../core/index.js";
import type { Observation } from "../control/controller.js";
import { checkKeys, checkNumber, fail } from "../control/validate.js";
import { callControl } from "../steering.js";
import { checkTimeout, type Reading, type Sensor, statsOf } from "./sensor.js";

/** Options of `queueSensor`. */
export interface QueueSensorOptions {
  /** The queue. Required. */
  queue: string;
  /** Names of the nodes pushing to it. Default: the loop's own node. */
  producers?: readonly string[];
  /** Longest wait for each producer's stats, ms. Default 500. */
  timeoutMs?: number;
  /** Shortest period rates are counted over, ms (see the module comment). Default 50. */
  minRateMs?: number;
}

interface Counts {
  time: number;
  accepted: number;
  served: number;
  troubles: number;
}

/** A rate from counts, or `fallback` when there is no earlier sample (or the source restarted). */
function rate(
  now: Counts,
  before: Counts | undefined,
  field: "accepted" | "served",
  fallback: number,
): number {
  if (before === undefined) return fallback;
  const dt = (now.time - before.time) / 1000;
  const dn = now[field] - before[field];
  if (!(dt > 0) || dn < 0) return fallback;
  return dn / dt;
}

function checkMinRate(value: unknown): number {
  return checkNumber(
    "minRateMs",
    value ?? 50,
    "a non-negative number of ms",
    (v) => v >= 0 && Number.isFinite(v),
  );
}

function checkNames(name: string, value: unknown): readonly string[] {
  if (!Array.isArray(value) || value.length === 0 || value.some((v) => typeof v !== "string"))
    fail(name, "a non-empty array of node names", value, true);
  return value as string[];
}

/**
 * The backlog of `queue` summed over its producers (the queue's charge),
 * with `arrivalRate` (messages accepted per second), `serviceRate`
 * (acknowledged per second), `delay` = backlog / serviceRate (s, omitted
 * while nothing is served), `latency` (the producers' push → acknowledged
 * median, s), `inflight` (= backlog) and `congested` (messages dropped or
 * refused since the previous sample). The reading's time is the first
 * producer's snapshot time; a producer that does not answer fails the read
 * (a partial sum would be a wrong charge).
 */
export function queueSensor(node: Node, options: QueueSensorOptions): Sensor {
  if (options === null || typeof options !== "object") fail("options", "an object", options, true);
  checkKeys("queueSensor", options, ["queue", "producers", "timeoutMs", "minRateMs"]);
  const queue = options.queue;
  if (typeof queue !== "string") fail("queue", "a queue name", queue, true);
  const producers = checkNames("producers", options.producers ?? [node.name]);
  const timeoutMs = checkTimeout("timeoutMs", options.timeoutMs, 500);
  const minRateMs = checkMinRate(options.minRateMs);
  /** Per producer: the counts the rates were last computed from, and those rates. */
  const previous = new Map<string, { counts: Counts; arrival: number; service: number }>();
  return {
    description: `backlog of queue ${queue} at ${producers.join(", ")}`,
    async read(): Promise<Reading> {
      const all = await Promise.all(producers.map((p) => statsOf(node, p, timeoutMs)));
      let backlog = 0;
      let arrivalRate = 0;
      let serviceRate = 0;
      let troubles = 0;
      let p50 = Number.NaN;
      let p99 = Number.NaN;
      all.forEach((stats, i) => {
        const m = stats.pushed[queue];
        const counts: Counts = {
          time: stats.time,
          accepted: m === undefined ? 0 : m.backlog + m.messagesIn + m.errors,
          served: m?.messagesIn ?? 0,
          troubles: m === undefined ? 0 : m.drops + m.errors,
        };
        const last = previous.get(producers[i]!);
        backlog += m?.backlog ?? 0;
        const since = last === undefined ? Number.NaN : counts.time - last.counts.time;
        if (last !== undefined && since >= 0 && since < minRateMs) {
          arrivalRate += last.arrival;
          serviceRate += last.service;
        } else {
          const before = last?.counts;
          const arrival = rate(counts, before, "accepted", m?.rateOut ?? 0);
          const service = rate(counts, before, "served", m?.rateIn ?? 0);
          troubles += before === undefined ? 0 : Math.max(0, counts.troubles - before.troubles);
          previous.set(producers[i]!, { counts, arrival, service });
          arrivalRate += arrival;
          serviceRate += service;
        }
        if (m !== undefined && !(m.latencyP50 <= p50)) p50 = m.latencyP50;
        if (m !== undefined && !(m.latencyP99 <= p99)) p99 = m.latencyP99;
      });
      const observation: Observation = {
        measurement: backlog,
        arrivalRate,
        serviceRate,
        inflight: backlog,
        congested: troubles > 0,
      };
      if (serviceRate > 0) observation.delay = backlog / serviceRate;
      if (Number.isFinite(p50)) observation.latency = p50 / 1000;
      return {
        time: all[0]!.time,
        observation,
        values: { backlog, arrivalRate, serviceRate, latencyP50: p50, latencyP99: p99 },
      };
    },
  };
}

/** Options of `queueProxySensor`. */
export interface QueueProxySensorOptions {
  /** Name of the node running the queue proxy. Required. */
  proxy: string;
  /** The queue it fronts. Required. */
  queue: string;
  /** Longest wait for the proxy's stats, ms. Default 500. */
  timeoutMs?: number;
  /** Shortest period rates are counted over, ms (see the module comment). Default 50. */
  minRateMs?: number;
}

/** The fields of a queue proxy's stats this sensor reads (toolbox/proxy's `QueueProxyStats`). */
interface ProxyStats {
  backlog: number;
  offered: number;
  admitted: number;
  shed: number;
  handled: number;
  failed: number;
  latencyP50: number;
  latencyP99: number;
  time?: number;
}

/**
 * The backlog of `queue` at the queue proxy fronting it, read from the
 * proxy's steering service: `measurement` = backlog, `arrivalRate` =
 * admitted per second, `serviceRate` = handled per second, `delay` =
 * backlog / serviceRate, `latency` = push → acknowledged median (s),
 * `congested` = messages shed or failed since the previous sample; values
 * add `offeredRate` and `shedRate`. The timestamp is the stats' own `time`
 * when the proxy gives one, else the middle of the call.
 */
export function queueProxySensor(node: Node, options: QueueProxySensorOptions): Sensor {
  if (options === null || typeof options !== "object") fail("options", "an object", options, true);
  checkKeys("queueProxySensor", options, ["proxy", "queue", "timeoutMs", "minRateMs"]);
  const { proxy, queue } = options;
  if (typeof proxy !== "string") fail("proxy", "a node name", proxy, true);
  if (typeof queue !== "string") fail("queue", "a queue name", queue, true);
  const timeoutMs = checkTimeout("timeoutMs", options.timeoutMs, 500);
  const minRateMs = checkMinRate(options.minRateMs);
  /** The stats the rates were last computed from, and those rates. */
  let before: (ProxyStats & { at: number }) | undefined;
  let rates = { offered: 0, admitted: 0, handled: 0, shed: 0 };
  return {
    description: `backlog of queue ${queue} at proxy ${proxy}`,
    async read(): Promise<Reading> {
      const sent = Date.now();
      const s = await callControl<ProxyStats>(
        node,
        proxy,
        { op: "stats", target: `queue:${queue}` },
        timeoutMs,
      );
      const at = typeof s.time === "number" ? s.time : (sent + Date.now()) / 2;
      let congested = false;
      if (before === undefined || !(at - before.at >= 0 && at - before.at < minRateMs)) {
        const dt = before === undefined ? 0 : (at - before.at) / 1000;
        const per = (field: "offered" | "admitted" | "handled" | "shed"): number =>
          before !== undefined && dt > 0 && s[field] >= before[field] ? (s[field] - before[field]) / dt : 0;
        rates = {
          offered: per("offered"),
          admitted: per("admitted"),
          handled: per("handled"),
          shed: per("shed"),
        };
        congested = before !== undefined && s.shed + s.failed > before.shed + before.failed;
        before = { ...s, at };
      }
      const arrivalRate = rates.admitted;
      const serviceRate = rates.handled;
      const values = {
        backlog: s.backlog,
        offeredRate: rates.offered,
        arrivalRate,
        serviceRate,
        shedRate: rates.shed,
        latencyP50: s.latencyP50,
        latencyP99: s.latencyP99,
      };
      const observation: Observation = {
        measurement: s.backlog,
        arrivalRate,
        serviceRate,
        inflight: s.backlog,
        congested,
      };
      if (serviceRate > 0) observation.delay = s.backlog / serviceRate;
      if (Number.isFinite(s.latencyP50)) observation.latency = s.latencyP50 / 1000;
      return { time: at, observation, values };
    },
  };
}
