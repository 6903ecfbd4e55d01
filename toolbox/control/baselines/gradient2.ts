/**
 * Netflix concurrency-limits' Gradient2Limit (concurrency-limits-core,
 * com/netflix/concurrency/limits/limit/Gradient2Limit.java, with
 * measurement/ExpAvgMeasurement.java), one update per sample.
 *
 * Per sample with round-trip time rtt:
 *   shortRtt = rtt;  longRtt = EMA of rtt (plain mean over the first 10
 *   samples, then factor 2/(longWindow + 1));
 *   if longRtt / shortRtt > 2, the stored longRtt decays by 0.9 (recovery
 *   after long overload; this sample still uses the value before the decay);
 *   if inflight < limit/2 the limit is kept (the application is not using it);
 *   gradient = clamp(longRtt / shortRtt, 0.5, 1);
 *   newLimit = limit·gradient + queueSize;
 *   limit ← clamp(limit·(1 − smoothing) + newLimit·smoothing, minLimit, maxConcurrency).
 *
 * Output: the concurrency limit — how many requests may be in flight at once
 * — truncated to an integer as the Java `getLimit()` reports it (the
 * unrounded estimate is `components.limit`). It is not a rate: an experiment
 * maps it to an actuator (a credit window, a worker count, or a rate via
 * Little's law, rate ≈ limit / latency).
 */
import type { Controller, ControllerParams, Observation } from "../controller.js";
import { observe } from "../controller.js";
import { checkKeys, checkNumber, finite, nonNegative, picker, positive } from "../validate.js";

export interface Gradient2Options {
  /** Limit before the first sample, requests. Default 20. */
  initialLimit?: number;
  /** Lowest limit, requests, ≥ 0. Default 20. */
  minLimit?: number;
  /** Highest limit, requests. Default 200. */
  maxConcurrency?: number;
  /** Weight of the new estimate, in (0, 1]. Default 0.2. */
  smoothing?: number;
  /** Head room the limit may grow by per sample while latency is steady, requests, ≥ 0. Default 4. */
  queueSize?: number;
  /** Samples in the long-term RTT average (EMA factor 2/(longWindow + 1)), ≥ 1. Default 600. */
  longWindow?: number;
  /** Kept for the `Controller` interface; Gradient2 has no setpoint. Default 0. */
  setpoint?: number;
}

/** The state behind the last output (`Gradient2.components`). */
export type Gradient2Components = {
  /** Unrounded limit estimate, requests. */
  limit: number;
  /** RTT of the last sample, seconds. */
  shortRtt: number;
  /** Long-term average RTT, seconds. */
  longRtt: number;
  /** longRtt / shortRtt clamped to [0.5, 1] (NaN when the update kept the limit). */
  gradient: number;
};

/** Samples averaged plainly before the EMA takes over (ExpAvgMeasurement's warmup window). */
const warmupWindow = 10;
const paramKeys = ["minLimit", "maxConcurrency", "smoothing", "queueSize", "longWindow"] as const;

interface Gradient2Settings {
  minLimit: number;
  maxConcurrency: number;
  smoothing: number;
  queueSize: number;
  longWindow: number;
}

/**
 * Gradient2 concurrency limit. Needs `observation.latency` (RTT, s, > 0);
 * uses `observation.inflight` when given (without it the "application
 * limited" check is skipped).
 */
export class Gradient2 implements Controller {
  readonly kind = "gradient2";
  /** Unused: Gradient2 steers on the latency gradient, not toward a setpoint. */
  setpoint: number;
  #s: Gradient2Settings;
  #initialLimit: number;
  #limit: number;
  #shortRtt = Number.NaN;
  #longRtt = 0;
  #longSum = 0;
  #longCount = 0;
  #gradient = Number.NaN;

  constructor(options: Gradient2Options = {}) {
    checkKeys("Gradient2", options, [...paramKeys, "initialLimit", "setpoint"]);
    this.#s = resolve(
      { minLimit: 20, maxConcurrency: 200, smoothing: 0.2, queueSize: 4, longWindow: 600 },
      options,
    );
    this.#initialLimit = positive("initialLimit", options.initialLimit ?? 20);
    this.#limit = this.#initialLimit;
    this.setpoint = finite("setpoint", options.setpoint ?? 0);
  }

  /** The concurrency limit, an integer number of requests. */
  get output(): number {
    return Math.trunc(this.#limit);
  }

  get components(): Readonly<Gradient2Components> {
    return { limit: this.#limit, shortRtt: this.#shortRtt, longRtt: this.#longRtt, gradient: this.#gradient };
  }

  /** One sample; `dt` is not used (the algorithm counts samples, not seconds). */
  update(input: number | Observation, _dt?: number): number {
    const observation = observe(input);
    finite("measurement", observation.measurement);
    if (observation.latency === undefined) {
      throw new RangeError("Expected observation field `latency` (round-trip time, s) for Gradient2");
    }
    const rtt = positive("latency", observation.latency);
    const s = this.#s;
    const queueSize = s.queueSize;
    this.#shortRtt = rtt;
    const longRtt = this.#addLongSample(rtt);
    if (longRtt / rtt > 2) this.#longRtt = longRtt * 0.9;
    this.#gradient = Number.NaN;
    const inflight = observation.inflight;
    if (inflight !== undefined && finite("inflight", inflight) < this.#limit / 2) return this.output;
    const gradient = Math.max(0.5, Math.min(1, longRtt / rtt));
    this.#gradient = gradient;
    let limit = this.#limit * gradient + queueSize;
    limit = this.#limit * (1 - s.smoothing) + limit * s.smoothing;
    this.#limit = Math.max(s.minLimit, Math.min(s.maxConcurrency, limit));
    return this.output;
  }

  params(): ControllerParams {
    return { ...this.#s };
  }

  setParams(params: Partial<Record<string, number | boolean | string | null>>): void {
    checkKeys("Gradient2", params, paramKeys);
    this.#s = resolve(this.#s, params as Gradient2Options);
  }

  reset(): void {
    this.#limit = this.#initialLimit;
    this.#shortRtt = Number.NaN;
    this.#longRtt = 0;
    this.#longSum = 0;
    this.#longCount = 0;
    this.#gradient = Number.NaN;
  }

  /** ExpAvgMeasurement.add: plain mean during warmup, then EMA with factor 2/(n + 1). */
  #addLongSample(rtt: number): number {
    if (this.#longCount < warmupWindow) {
      this.#longCount++;
      this.#longSum += rtt;
      this.#longRtt = this.#longSum / this.#longCount;
    } else {
      const f = 2 / (this.#s.longWindow + 1);
      this.#longRtt = this.#longRtt * (1 - f) + rtt * f;
    }
    return this.#longRtt;
  }
}

function resolve(base: Gradient2Settings, options: Gradient2Options): Gradient2Settings {
  const pick = picker(base, options);
  const s: Gradient2Settings = {
    minLimit: finite("minLimit", pick("minLimit")),
    maxConcurrency: positive("maxConcurrency", pick("maxConcurrency")),
    smoothing: checkNumber("smoothing", pick("smoothing"), "a number in (0, 1]", (v) => v > 0 && v <= 1),
    queueSize: nonNegative("queueSize", pick("queueSize")),
    longWindow: checkNumber(
      "longWindow",
      pick("longWindow"),
      "a number ≥ 1",
      (v) => Number.isFinite(v) && v >= 1,
    ),
  };
  if (s.minLimit < 0 || s.minLimit > s.maxConcurrency) {
    throw new RangeError(
      `Expected 0 ≤ \`minLimit\` ≤ \`maxConcurrency\`, got minLimit = ${s.minLimit} and maxConcurrency = ${s.maxConcurrency}`,
    );
  }
  return s;
}
