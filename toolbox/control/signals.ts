/**
 * Time-varying inputs for simulations: offered load, capacity and
 * disturbances as pure functions of time (seconds). Building blocks (step,
 * ramp, burst, sinusoid, noise, piecewise) compose with `sum`, `product`,
 * `clamp` and `delayed`, e.g. a load of 80 msg/s with a 5 s burst of +60 at
 * t = 10 and some noise:
 *
 * ```ts
 * const load = sum(80, burst({ start: 10, duration: 5, height: 60 }), noise({ sd: 4, seed: 7 }));
 * ```
 *
 * Noise is seeded and counter-based, so `load(t)` gives the same value for the
 * same `t` however often and in whatever order it is called.
 */

import { uniformAt } from "./random.js";
import { checkKeys, fail, finite, nonNegative, oneOf, positive } from "./validate.js";

/** A signal: value as a function of time `t` in seconds. Must be pure. */
export type Signal = (t: number) => number;

/** A constant value or a signal; options that accept either take this. */
export type SignalLike = number | Signal;

/**
 * Turns a number or a signal into a signal (numbers become constants).
 * `name` is used in the error message when `value` is neither.
 */
export function toSignal(value: SignalLike, name = "signal"): Signal {
  if (typeof value === "function") return value;
  return constant(finite(name, value));
}

/** The constant signal `value`. */
export function constant(value: number): Signal {
  finite("value", value);
  return () => value;
}

/** Options of `step`. */
export interface StepOptions {
  /** Time of the step, seconds. Default 0. */
  at?: number;
  /** Value before `at`. Default 0. */
  from?: number;
  /** Value from `at` on (inclusive). Required. */
  to: number;
}

/** A step from `from` to `to` at time `at` (value `to` at `t = at`). */
export function step(options: StepOptions): Signal {
  checkKeys("step", options, ["at", "from", "to"]);
  const at = finite("at", options.at ?? 0);
  const from = finite("from", options.from ?? 0);
  const to = finite("to", options.to);
  return (t) => (t < at ? from : to);
}

/** Options of `ramp`. */
export interface RampOptions {
  /** Time the ramp starts, seconds. Default 0. */
  start?: number;
  /** Time the ramp ends and the value is held, seconds. Default ∞ (never ends). */
  end?: number;
  /** Value up to `start`. Default 0. */
  from?: number;
  /** Slope, units per second. Default 1. Ignored when `to` is given. */
  slope?: number;
  /** Value reached at `end` (needs a finite `end`); sets the slope. */
  to?: number;
}

/** Holds `from` until `start`, rises linearly (slope or to `to` at `end`), then holds. */
export function ramp(options: RampOptions = {}): Signal {
  checkKeys("ramp", options, ["start", "end", "from", "slope", "to"]);
  const start = finite("start", options.start ?? 0);
  const end = options.end === undefined ? Number.POSITIVE_INFINITY : options.end;
  if (typeof end !== "number" || Number.isNaN(end) || !(end > start)) {
    fail("end", `a number greater than \`start\` (${start})`, options.end);
  }
  const from = finite("from", options.from ?? 0);
  let slope: number;
  if (options.to !== undefined) {
    const to = finite("to", options.to);
    if (!Number.isFinite(end)) fail("end", "a finite number when `to` is given", options.end);
    slope = (to - from) / (end - start);
  } else {
    slope = finite("slope", options.slope ?? 1);
  }
  return (t) => (t <= start ? from : from + slope * (Math.min(t, end) - start));
}

/** Options of `burst`. */
export interface BurstOptions {
  /** Time the (first) burst starts, seconds. Default 0. */
  start?: number;
  /** Length of each burst, seconds. Required, > 0. */
  duration: number;
  /** Value added during a burst. Required. */
  height: number;
  /** Value outside bursts. Default 0. */
  base?: number;
  /** Repeat the burst every `period` seconds (≥ `duration`). Default ∞ (a single burst). */
  period?: number;
}

/** A rectangular pulse (or pulse train when `period` is set) of `height` on `base`. */
export function burst(options: BurstOptions): Signal {
  checkKeys("burst", options, ["start", "duration", "height", "base", "period"]);
  const start = finite("start", options.start ?? 0);
  const duration = positive("duration", options.duration);
  const height = finite("height", options.height);
  const base = finite("base", options.base ?? 0);
  const period = options.period ?? Number.POSITIVE_INFINITY;
  if (typeof period !== "number" || !(period >= duration)) {
    fail("period", `a number not less than \`duration\` (${duration})`, options.period);
  }
  if (!Number.isFinite(period)) {
    return (t) => (t >= start && t < start + duration ? base + height : base);
  }
  return (t) => {
    if (t < start) return base;
    const phase = (t - start) % period;
    return phase < duration ? base + height : base;
  };
}

/** Options of `sinusoid`. */
export interface SinusoidOptions {
  /** Peak deviation from `offset`. Default 1. */
  amplitude?: number;
  /** Period, seconds. Required, > 0. */
  period: number;
  /** Phase at t = 0, radians. Default 0. */
  phase?: number;
  /** Mean value. Default 0. */
  offset?: number;
}

/** offset + amplitude·sin(2πt/period + phase). */
export function sinusoid(options: SinusoidOptions): Signal {
  checkKeys("sinusoid", options, ["amplitude", "period", "phase", "offset"]);
  const amplitude = finite("amplitude", options.amplitude ?? 1);
  const period = positive("period", options.period);
  const phase = finite("phase", options.phase ?? 0);
  const offset = finite("offset", options.offset ?? 0);
  const w = (2 * Math.PI) / period;
  return (t) => offset + amplitude * Math.sin(w * t + phase);
}

/** Options of `noise`. */
export interface NoiseOptions {
  /** Standard deviation of each value. Required, ≥ 0. */
  sd: number;
  /** Mean. Default 0. */
  mean?: number;
  /** Seed; equal seeds give equal noise. Default 1. */
  seed?: number;
  /**
   * Hold time, seconds: the noise is a new independent value every
   * `sampleTime` (zero-order-held white noise, samples on the grid k·sampleTime).
   * Default 0.1.
   */
  sampleTime?: number;
  /** `normal` (default) or `uniform` (same sd: half-width sd·√3). */
  distribution?: "normal" | "uniform";
}

/**
 * Seeded white noise held over `sampleTime` intervals: value for interval
 * k = floor(t/sampleTime) is a hash of (seed, k), so the signal is a pure
 * function of time. Normal values use the Box–Muller transform.
 */
export function noise(options: NoiseOptions): Signal {
  checkKeys("noise", options, ["sd", "mean", "seed", "sampleTime", "distribution"]);
  const sd = nonNegative("sd", options.sd);
  const mean = finite("mean", options.mean ?? 0);
  const seed = finite("seed", options.seed ?? 1);
  const sampleTime = positive("sampleTime", options.sampleTime ?? 0.1);
  const distribution = oneOf("distribution", options.distribution ?? "normal", ["normal", "uniform"]);
  if (distribution === "uniform") {
    const halfWidth = sd * Math.sqrt(3);
    return (t) => mean + halfWidth * (2 * uniformAt(seed, Math.floor(t / sampleTime)) - 1);
  }
  return (t) => {
    const k = Math.floor(t / sampleTime);
    const u1 = 1 - uniformAt(seed, 2 * k);
    const u2 = uniformAt(seed, 2 * k + 1);
    return mean + sd * Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
  };
}

/**
 * Zero-order hold through the points (times[i], values[i]): `values[i]` from
 * `times[i]` until the next time; `values[0]` before `times[0]`. `times`
 * must be strictly increasing.
 */
export function piecewise(times: ArrayLike<number>, values: ArrayLike<number>): Signal {
  if (times.length === 0 || times.length !== values.length) {
    fail("times", `a non-empty array as long as \`values\` (${values.length})`, times.length);
  }
  const ts = Float64Array.from(times);
  const vs = Float64Array.from(values);
  for (let i = 0; i < ts.length; i++) {
    finite(`times[${i}]`, ts[i]);
    finite(`values[${i}]`, vs[i]);
    if (i > 0 && !(ts[i]! > ts[i - 1]!)) fail(`times[${i}]`, `greater than \`times[${i - 1}]\``, ts[i]);
  }
  return (t) => {
    // Binary search for the last time ≤ t.
    let lo = 0;
    let hi = ts.length - 1;
    if (t < ts[0]!) return vs[0]!;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (ts[mid]! <= t) lo = mid;
      else hi = mid - 1;
    }
    return vs[lo]!;
  };
}

/** Sum of signals and constants: `sum(100, step({ at: 5, to: -40 }))`. */
export function sum(...signals: SignalLike[]): Signal {
  const fs = signals.map((s, i) => toSignal(s, `signals[${i}]`));
  return (t) => {
    let total = 0;
    for (let i = 0; i < fs.length; i++) total += fs[i]!(t);
    return total;
  };
}

/** Product of signals and constants (e.g. a load pattern times a ramped gain). */
export function product(...signals: SignalLike[]): Signal {
  const fs = signals.map((s, i) => toSignal(s, `signals[${i}]`));
  return (t) => {
    let total = 1;
    for (let i = 0; i < fs.length; i++) total *= fs[i]!(t);
    return total;
  };
}

/** `signal` limited to [min, max] (defaults −∞, ∞): keeps noisy rates non-negative. */
export function clamp(
  signal: SignalLike,
  min = Number.NEGATIVE_INFINITY,
  max = Number.POSITIVE_INFINITY,
): Signal {
  const f = toSignal(signal);
  if (!(min <= max)) fail("max", `not less than \`min\` (${min})`, max);
  return (t) => Math.min(max, Math.max(min, f(t)));
}

/** `signal` delayed by `delay` seconds: value at t is signal(t − delay). */
export function delayed(signal: SignalLike, delay: number): Signal {
  const f = toSignal(signal);
  const d = nonNegative("delay", delay);
  return (t) => f(t - d);
}

/** Evaluates `signal` at each of `times`. */
export function sample(signal: SignalLike, times: ArrayLike<number>): Float64Array {
  const f = toSignal(signal);
  const out = new Float64Array(times.length);
  for (let i = 0; i < times.length; i++) out[i] = f(times[i]!);
  return out;
}
