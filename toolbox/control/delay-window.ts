/**
 * Delay regulation by a credit window: hold the sojourn delay of a queue
 * (wait plus service) at a setpoint D* in seconds, by Little's law.
 *
 * With the backlog as charge and the service rate as current, the delay a
 * message sees is charge / current: W ≈ N/μ. A credit window caps N (admit
 * only while fewer than `window` messages are in the system), so the window
 * that gives delay D* is D*·μ. The controller therefore sets
 *
 *   window = (D* + trim)·μ̂,
 *
 * - μ̂: the service rate of the workers, from a `ServiceRateEstimator`
 *   (rate-estimator.ts): learnt only while the workers are busy (backlog ≥
 *   `busyBacklog` at both ends of the sample — an idle pool serves the
 *   arrivals, not its capacity), filtered over `rateTau` between changes,
 *   a change detected by a CUSUM on the Poisson likelihood of the departures
 *   (`changeRatio`, `changeThreshold`), and a drop acted on as its evidence
 *   builds (`graded`, `releaseTau`); never below `rateFloor` (a window of
 *   zero would admit nothing and never measure the rate again). This is
 *   the feedforward: it follows a capacity change within a few samples,
 *   before the delay error has built up.
 * - trim: a PI on the delay error e = D* − d, seconds of delay (kp is
 *   dimensionless, ki in 1/s), which removes what Little's law with a
 *   filtered rate leaves over (a window that is not always full, a biased
 *   rate estimate). d is the measured sojourn of the messages that left in
 *   the last sample (`observation.latency`) when `delaySignal` is
 *   "latency" and it is finite, else the estimate backlog/μ̂ (RFC 8033's
 *   departure-rate estimate). The trim is bounded to ±`trimLimit`·D* and
 *   integrates conditionally: not while it sits at a bound and the error
 *   pushes further, and not upward while the window is not full (backlog
 *   below window − 1: raising a window nobody fills does nothing, and the
 *   integral would wind up while the load is below capacity).
 *
 * Backlog regulation (a `Pid` on the backlog with an admission-rate
 * actuator) is the other mode: it holds a number of messages, which is the
 * right target for a buffer or a batch size, while this holds the time a
 * message waits, which is what a caller with a deadline sees — when the
 * capacity halves, a held backlog doubles the delay.
 */
import { type Controller, type ControllerParams, type Observation, observe } from "./controller.js";
import { ServiceRateEstimator } from "./rate-estimator.js";
import { bound, checkKeys, checkOrder, describe, finite, nonNegative, oneOf, positive } from "./validate.js";

/** Options of `DelayWindow`; every field has the default shown. */
export interface DelayWindowOptions {
  /** Delay setpoint D*: sojourn (wait + service) of a message, seconds, > 0. Default 0.1. */
  setpoint?: number;
  /** Time constant of the service-rate filter μ̂ between detected changes, seconds, > 0. Default 2. */
  rateTau?: number;
  /** The capacity change the detector is tuned for: a drop to ρ·μ̂ or a rise to μ̂/ρ, 0 < ρ < 1. Default 0.5. */
  changeRatio?: number;
  /**
   * Alarm threshold of the CUSUMs on the departures' Poisson log-likelihood
   * ratio, nats, > 0; at an alarm μ̂ jumps to the mean of the samples since
   * the change began. `Infinity` turns detection off. Default 6 (a false
   * alarm about every 2 000 samples at 20 departures per sample).
   */
  changeThreshold?: number;
  /** Whether the window acts on partial evidence of a drop, before the alarm. Default true. */
  graded?: boolean;
  /** Time constant with which the rate the window uses comes back up after a dip, seconds, ≥ 0. Default 0.5. */
  releaseTau?: number;
  /** Lowest μ̂, msg/s, ≥ 0. Default 1. */
  rateFloor?: number;
  /** Backlog at or above which the workers count as busy (μ̂ learns only then), messages, ≥ 0. Default 1. */
  busyBacklog?: number;
  /** μ̂ before the first busy sample, msg/s; `null` = the first measured service rate. Default `null`. */
  initialRate?: number | null;
  /** Proportional gain of the trim, seconds of trim per second of delay error, ≥ 0. Default 0. */
  kp?: number;
  /** Integral gain of the trim, 1/s, ≥ 0. Default 0.2. */
  ki?: number;
  /** Bound of the trim as a fraction of D*, > 0. Default 0.5. */
  trimLimit?: number;
  /** Which delay the trim reads: the measured sojourn (`latency`) or backlog/μ̂ (`estimate`). Default "latency". */
  delaySignal?: "latency" | "estimate";
  /**
   * Smallest window, messages, ≥ 0. The window never goes below
   * `busyBacklog` either: under it the workers could never show busy and
   * μ̂ would stop learning. Default 1.
   */
  windowMin?: number;
  /** Largest window, messages; `null` = none. Default `null`. */
  windowMax?: number | null;
  /** dt used by `update(x)` without `dt`, seconds, > 0. Default 0.1. */
  sampleTime?: number;
}

/** What the last output was made of (`DelayWindow.components`). */
export type DelayWindowComponents = {
  /** Service rate the window uses (after the floor), msg/s. */
  rate: number;
  /** The estimator's level μ̂, msg/s. */
  level: number;
  /** Evidence of a capacity drop so far, nats. */
  evidence: number;
  /** Delay the trim read, seconds. */
  delay: number;
  /** Feedforward part of the window, D*·μ̂, messages. */
  ff: number;
  /** Trim, seconds of delay: its P and I parts and the bounded sum. */
  p: number;
  i: number;
  trim: number;
  /** The window, messages. */
  window: number;
};

const paramKeys = [
  "rateTau",
  "changeRatio",
  "changeThreshold",
  "graded",
  "releaseTau",
  "rateFloor",
  "busyBacklog",
  "kp",
  "ki",
  "trimLimit",
  "delaySignal",
  "windowMin",
  "windowMax",
  "sampleTime",
] as const;

interface Settings {
  rateFloor: number;
  busyBacklog: number;
  kp: number;
  ki: number;
  trimLimit: number;
  delaySignal: "latency" | "estimate";
  windowMin: number;
  windowMax: number;
  sampleTime: number;
}

function resolve(base: Settings, options: Record<string, unknown>): Settings {
  const pick = <K extends keyof Settings>(key: K): unknown =>
    options[key] === undefined ? base[key] : options[key];
  const s: Settings = {
    rateFloor: nonNegative("rateFloor", pick("rateFloor")),
    busyBacklog: nonNegative("busyBacklog", pick("busyBacklog")),
    kp: nonNegative("kp", pick("kp")),
    ki: nonNegative("ki", pick("ki")),
    trimLimit: positive("trimLimit", pick("trimLimit")),
    delaySignal: oneOf("delaySignal", pick("delaySignal"), ["latency", "estimate"] as const),
    windowMin: nonNegative("windowMin", pick("windowMin")),
    windowMax: bound("windowMax", pick("windowMax"), Number.POSITIVE_INFINITY),
    sampleTime: positive("sampleTime", pick("sampleTime")),
  };
  checkOrder("windowMin", s.windowMin, "windowMax", s.windowMax);
  return s;
}

const defaults: Settings = {
  rateFloor: 1,
  busyBacklog: 1,
  kp: 0,
  ki: 0.2,
  trimLimit: 0.5,
  delaySignal: "latency",
  windowMin: 1,
  windowMax: Number.POSITIVE_INFINITY,
  sampleTime: 0.1,
};

/**
 * Credit window that holds a sojourn delay (see the module comment).
 * Reads `measurement` (backlog, messages), `serviceRate` (msg/s, required)
 * and `latency` (measured sojourn, s, optional); outputs the window in
 * messages.
 *
 * @example
 * // Hold 250 ms per message on a pool of 8 workers, sampled every 0.1 s.
 * const loop = new DelayWindow({ setpoint: 0.25, busyBacklog: 8 });
 * const window = loop.update({ measurement: backlog, serviceRate, latency }, 0.1);
 */
export class DelayWindow implements Controller {
  readonly kind = "delay-window";
  #setpoint: number;
  #s: Settings;
  #mu: ServiceRateEstimator;
  #integral = 0;
  #output: number;
  #c: DelayWindowComponents;

  constructor(options: DelayWindowOptions = {}) {
    checkKeys("DelayWindow", options, [...paramKeys, "setpoint", "initialRate"]);
    const { estimator, own } = split(options as Record<string, unknown>);
    this.#s = resolve(defaults, own);
    this.#mu = new ServiceRateEstimator({ ...estimator, busyBacklog: this.#s.busyBacklog });
    this.#setpoint = positive("setpoint", options.setpoint ?? 0.1);
    this.#output = this.#s.windowMin;
    this.#c = this.#initialComponents();
  }

  /** Delay setpoint D*, seconds. */
  get setpoint(): number {
    return this.#setpoint;
  }

  set setpoint(value: number) {
    this.#setpoint = positive("setpoint", value);
  }

  /** The last window, messages. */
  get output(): number {
    return this.#output;
  }

  get components(): Readonly<DelayWindowComponents> {
    return { ...this.#c };
  }

  update(input: number | Observation, dt?: number): number {
    const observation = observe(input);
    const backlog = finite("measurement", observation.measurement);
    const served = observation.serviceRate;
    if (typeof served !== "number" || !Number.isFinite(served) || served < 0) {
      throw new RangeError(
        `Expected observation field \`serviceRate\` (msg/s) to be a non-negative number for the delay window, got \`${describe(served)}\``,
      );
    }
    const step = dt === undefined ? this.#s.sampleTime : positive("dt", dt);
    const s = this.#s;
    const estimate = this.#mu.update(backlog, served, step);
    const previousWindow = this.#output;
    const rate = Math.max(s.rateFloor, Number.isNaN(estimate) ? 0 : estimate);
    const r = this.#setpoint;
    const latency = observation.latency;
    const delay =
      s.delaySignal === "latency" && typeof latency === "number" && Number.isFinite(latency)
        ? latency
        : rate > 0
          ? backlog / rate
          : 0;
    const e = r - delay;
    const limit = s.trimLimit * r;
    const p = s.kp * e;
    const full = backlog >= previousWindow - 1;
    let i = this.#integral + s.ki * e * step;
    const raw = p + i;
    // Conditional integration: hold the integral when it would push the trim
    // further into its bound, or raise a window the load does not fill.
    if ((raw > limit && e > 0) || (raw < -limit && e < 0) || (e > 0 && !full)) i = this.#integral;
    this.#integral = i;
    const bounded = Math.min(limit, Math.max(-limit, p + i));
    const ff = r * rate;
    // Never below busyBacklog: a smaller window keeps the workers from ever being busy, so μ̂ could
    // not be learnt again and the loop would stay shut (window → floor → idle workers → no update).
    const floor = Math.max(s.windowMin, s.busyBacklog);
    const window = Math.min(s.windowMax, Math.max(floor, (r + bounded) * rate));
    this.#output = window;
    this.#c = {
      rate,
      level: this.#mu.level,
      evidence: this.#mu.evidence,
      delay,
      ff,
      p,
      i,
      trim: bounded,
      window,
    };
    return window;
  }

  params(): ControllerParams {
    const s = this.#s;
    return {
      ...this.#mu.params(),
      ...s,
      windowMax: Number.isFinite(s.windowMax) ? s.windowMax : null,
    };
  }

  /** Changes parameters while running; the rate estimate and the integral are kept (no bump). */
  setParams(params: Partial<Record<string, number | boolean | string | null>>): void {
    checkKeys("DelayWindow", params, [...paramKeys, "initialRate"]);
    const { estimator, own } = split(params);
    const next = resolve(this.#s, own);
    this.#mu.setParams({ ...estimator, busyBacklog: next.busyBacklog });
    this.#s = next;
  }

  reset(): void {
    this.#mu.reset();
    this.#integral = 0;
    this.#output = this.#s.windowMin;
    this.#c = this.#initialComponents();
  }

  #initialComponents(): DelayWindowComponents {
    return {
      rate: Number.NaN,
      level: Number.NaN,
      evidence: 0,
      delay: Number.NaN,
      ff: Number.NaN,
      p: 0,
      i: 0,
      trim: 0,
      window: this.#output,
    };
  }
}

/** The options the estimator takes, apart from the window's own. */
const estimatorKeys = ["rateTau", "changeRatio", "changeThreshold", "graded", "releaseTau", "initialRate"];

function split(options: Record<string, unknown>): {
  estimator: Record<string, unknown>;
  own: Record<string, unknown>;
} {
  const estimator: Record<string, unknown> = {};
  const own: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(options)) {
    if (value === undefined) continue;
    if (estimatorKeys.includes(key)) estimator[key] = value;
    else if (key !== "setpoint") own[key] = value;
  }
  return { estimator, own };
}
