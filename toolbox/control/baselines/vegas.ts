/**
 * Netflix concurrency-limits' VegasLimit (concurrency-limits-core,
 * com/netflix/concurrency/limits/limit/VegasLimit.java), after TCP Vegas
 * (Brakmo & Peterson, IEEE JSAC 1995), one update per sample.
 *
 * The no-load RTT is the smallest RTT seen (re-probed every
 * jitter·probeMultiplier·limit samples, jitter uniform in [0.5, 1) from a
 * seeded generator). Per sample, with L(x) = max(1, ⌊log10 x⌋) (the
 * library's Log10RootFunction), the estimated queue is
 * queue = ⌈limit·(1 − rttNoLoad/rtt)⌉, and
 *   congested (a drop or timeout)  → limit − L(limit);
 *   inflight·2 < limit             → unchanged (the application does not use the limit);
 *   queue ≤ L(limit)               → limit + beta  (fast growth, no queueing);
 *   queue < alpha                  → limit + L(limit);
 *   queue > beta                   → limit − L(limit);
 *   otherwise                      → unchanged,
 * with alpha = 3·L(limit) and beta = 6·L(limit) unless fixed by options; the
 * result is bounded to [1, maxConcurrency] and smoothed:
 * limit ← (1 − smoothing)·limit + smoothing·new.
 *
 * Output: the concurrency limit in requests, truncated to an integer as the
 * Java `getLimit()` reports it (the unrounded estimate is `components.limit`);
 * not a rate — an experiment maps it to an actuator.
 */
import type { Controller, ControllerParams, Observation } from "../controller.js";
import { observe } from "../controller.js";
import { Random } from "../random.js";
import { checkKeys, checkNumber, finite, nullable, picker, positive } from "../validate.js";

export interface VegasOptions {
  /** Limit before the first sample, requests, > 0. Default 20. */
  initialLimit?: number;
  /** Highest limit, requests, > 0. Default 1000. */
  maxConcurrency?: number;
  /** Weight of the new limit, in (0, 1]. Default 1 (no smoothing). */
  smoothing?: number;
  /** Queue size under which the limit grows, requests; `null` = 3·L(limit). Default `null`. */
  alpha?: number | null;
  /** Queue size over which the limit shrinks, requests; `null` = 6·L(limit). Default `null`. */
  beta?: number | null;
  /** The no-load RTT is re-probed about every probeMultiplier·limit samples, > 0. Default 30. */
  probeMultiplier?: number;
  /** Seed of the probe jitter generator (`Random`, any finite number). Default 1. */
  seed?: number;
  /** Kept for the `Controller` interface; Vegas has no setpoint. Default 0. */
  setpoint?: number;
}

/** The state behind the last output (`Vegas.components`). */
export type VegasComponents = {
  /** Unrounded limit estimate, requests. */
  limit: number;
  /** No-load (minimum) RTT, seconds (0 before the first sample). */
  rttNoLoad: number;
  /** Estimated queue of the last sample, requests (NaN when not computed). */
  queueSize: number;
};

const paramKeys = ["maxConcurrency", "smoothing", "alpha", "beta", "probeMultiplier"] as const;

interface VegasSettings {
  maxConcurrency: number;
  smoothing: number;
  alpha: number | null;
  beta: number | null;
  probeMultiplier: number;
}

/** max(1, ⌊log10 x⌋), the library's Log10RootFunction with baseline 0. */
export function vegasLog10(x: number): number {
  return x < 1 ? 1 : Math.max(1, Math.floor(Math.log10(x)));
}

/**
 * Vegas concurrency limit. Needs `observation.latency` (RTT, s, > 0); uses
 * `observation.congested` as the drop signal and `observation.inflight` when
 * given (without it the "application limited" check is skipped).
 */
export class Vegas implements Controller {
  readonly kind = "vegas";
  /** Unused: Vegas steers on the estimated queue, not toward a setpoint. */
  setpoint: number;
  #s: VegasSettings;
  #initialLimit: number;
  #random: Random;
  #limit: number;
  #rttNoLoad = 0;
  #queueSize = Number.NaN;
  #probeCount = 0;
  #probeJitter = 0;

  constructor(options: VegasOptions = {}) {
    checkKeys("Vegas", options, [...paramKeys, "initialLimit", "seed", "setpoint"]);
    this.#s = resolve(
      { maxConcurrency: 1000, smoothing: 1, alpha: null, beta: null, probeMultiplier: 30 },
      options,
    );
    this.#initialLimit = positive("initialLimit", options.initialLimit ?? 20);
    this.#random = new Random(finite("seed", options.seed ?? 1));
    this.setpoint = finite("setpoint", options.setpoint ?? 0);
    this.#limit = this.#initialLimit;
    this.#resetProbeJitter();
  }

  /** The concurrency limit, an integer number of requests. */
  get output(): number {
    return Math.trunc(this.#limit);
  }

  get components(): Readonly<VegasComponents> {
    return { limit: this.#limit, rttNoLoad: this.#rttNoLoad, queueSize: this.#queueSize };
  }

  /** One sample; `dt` is not used (the algorithm counts samples, not seconds). */
  update(input: number | Observation, _dt?: number): number {
    const observation = observe(input);
    finite("measurement", observation.measurement);
    if (observation.latency === undefined) {
      throw new RangeError("Expected observation field `latency` (round-trip time, s) for Vegas");
    }
    const rtt = positive("latency", observation.latency);
    this.#queueSize = Number.NaN;
    this.#probeCount++;
    if (this.#probeJitter * this.#s.probeMultiplier * this.#limit <= this.#probeCount) {
      this.#resetProbeJitter();
      this.#probeCount = 0;
      this.#rttNoLoad = rtt;
      return this.output;
    }
    if (this.#rttNoLoad === 0 || rtt < this.#rttNoLoad) {
      this.#rttNoLoad = rtt;
      return this.output;
    }
    this.#updateLimit(rtt, observation);
    return this.output;
  }

  params(): ControllerParams {
    return { ...this.#s };
  }

  setParams(params: Partial<Record<string, number | boolean | string | null>>): void {
    checkKeys("Vegas", params, paramKeys);
    this.#s = resolve(this.#s, params as VegasOptions);
  }

  /** Back to the initial limit, the no-load RTT forgotten and the jitter generator re-seeded. */
  reset(): void {
    this.#limit = this.#initialLimit;
    this.#rttNoLoad = 0;
    this.#queueSize = Number.NaN;
    this.#probeCount = 0;
    this.#random.reset();
    this.#resetProbeJitter();
  }

  #updateLimit(rtt: number, observation: Observation): void {
    const s = this.#s;
    const estimate = this.#limit;
    const queueSize = Math.ceil(estimate * (1 - this.#rttNoLoad / rtt));
    this.#queueSize = queueSize;
    const whole = Math.trunc(estimate);
    const log = vegasLog10(whole);
    let next: number;
    if (observation.congested === true) {
      next = estimate - log;
    } else if (
      observation.inflight !== undefined &&
      finite("inflight", observation.inflight) * 2 < estimate
    ) {
      return;
    } else {
      const alpha = s.alpha ?? 3 * log;
      const beta = s.beta ?? 6 * log;
      if (queueSize <= log) next = estimate + beta;
      else if (queueSize < alpha) next = estimate + log;
      else if (queueSize > beta) next = estimate - log;
      else return;
    }
    next = Math.max(1, Math.min(s.maxConcurrency, next));
    this.#limit = (1 - s.smoothing) * estimate + s.smoothing * next;
  }

  #resetProbeJitter(): void {
    this.#probeJitter = this.#random.uniform(0.5, 1);
  }
}

function resolve(base: VegasSettings, options: VegasOptions): VegasSettings {
  const pick = picker(base, options);
  return {
    maxConcurrency: positive("maxConcurrency", pick("maxConcurrency")),
    smoothing: checkNumber("smoothing", pick("smoothing"), "a number in (0, 1]", (v) => v > 0 && v <= 1),
    alpha: nullable(pick("alpha"), (v) => positive("alpha", v)),
    beta: nullable(pick("beta"), (v) => positive("beta", v)),
    probeMultiplier: positive("probeMultiplier", pick("probeMultiplier")),
  };
}
