/**
 * Performance indices of a logged loop: integral error criteria (IAE, ISE,
 * ITAE), RMS error and control effort. The error is e = setpoint − measurement.
 * Integrals use the trapezoidal rule on the samples, so any increasing time
 * grid works (logged loops rarely tick evenly): ∫f dt ≈ Σ (t[k+1] − t[k])·(f[k] + f[k+1])/2
 * with f = |e|, e² or (t − t₀)·|e|. A sign change of e inside an interval is
 * not located, so IAE there is the trapezoid of |e|, a slight overestimate.
 * (ITAE is the criterion of Graham & Lathrop, "The synthesis of 'optimum'
 * transient response: criteria and standard forms", Trans. AIEE 72, 1953.)
 */
import { fail, finite } from "./validate.js";

/** All indices of one run (`loopPerformance`); `NaN` where an index does not exist. */
export interface LoopPerformance {
  /** Integral of absolute error ∫|e| dt, measurement units × seconds. */
  iae: number;
  /** Integral of squared error ∫e² dt, measurement units² × seconds. */
  ise: number;
  /** Integral of time-weighted absolute error ∫(t − t₀)|e| dt, t₀ the first time; units × s². */
  itae: number;
  /** Time-weighted RMS error √(ISE / (t_last − t₀)); NaN for a single sample. */
  rmse: number;
  /** Control effort Σ|u[k+1] − u[k]| (total variation of the output), output units; NaN without outputs. */
  effort: number;
}

/** A setpoint: one value for the whole run, or one per sample. */
export type Setpoint = number | readonly number[];

/** Integral of absolute error ∫|setpoint − measurement| dt (trapezoidal, see module doc). */
export function iae(times: readonly number[], setpoint: Setpoint, measurements: readonly number[]): number {
  const e = errors(times, setpoint, measurements);
  return trapezoid(times, (k) => Math.abs(e[k]!));
}

/** Integral of squared error ∫(setpoint − measurement)² dt (trapezoidal). */
export function ise(times: readonly number[], setpoint: Setpoint, measurements: readonly number[]): number {
  const e = errors(times, setpoint, measurements);
  return trapezoid(times, (k) => e[k]! * e[k]!);
}

/** Integral of time-weighted absolute error ∫(t − t₀)|e| dt, t₀ = times[0] (trapezoidal). */
export function itae(times: readonly number[], setpoint: Setpoint, measurements: readonly number[]): number {
  const e = errors(times, setpoint, measurements);
  const t0 = times[0]!;
  return trapezoid(times, (k) => (times[k]! - t0) * Math.abs(e[k]!));
}

/**
 * Time-weighted root-mean-square error √(∫e² dt / (t_last − t₀)): on an even
 * grid it is close to the sample RMS, on an uneven one it does not over-count
 * bursts of samples. A constant error e gives |e|. NaN for a single sample.
 */
export function rmse(times: readonly number[], setpoint: Setpoint, measurements: readonly number[]): number {
  const duration = times[times.length - 1]! - times[0]!;
  const total = ise(times, setpoint, measurements);
  return duration > 0 ? Math.sqrt(total / duration) : Number.NaN;
}

/** Control effort Σ|u[k+1] − u[k]|: how much the controller moved its output (total variation). */
export function effort(outputs: readonly number[]): number {
  if (!Array.isArray(outputs) || outputs.length === 0) {
    throw new TypeError("Expected `outputs` to be a non-empty array of numbers");
  }
  let sum = 0;
  for (let k = 0; k < outputs.length; k++) {
    const u = finite(`outputs[${k}]`, outputs[k]);
    if (k > 0) sum += Math.abs(u - outputs[k - 1]!);
  }
  return sum;
}

/**
 * All indices at once for a logged run: `times` (seconds, non-decreasing),
 * `setpoints` (one value or one per sample), `measurements`, and optionally
 * the controller `outputs` for the effort (NaN without them). (Not named
 * `performance`, which would shadow the global `performance.now()`.)
 */
export function loopPerformance(
  times: readonly number[],
  setpoints: Setpoint,
  measurements: readonly number[],
  outputs?: readonly number[],
): LoopPerformance {
  if (outputs !== undefined && outputs.length !== times.length) {
    throw new RangeError(
      `Expected \`outputs\` to have one value per time (${times.length}), got ${outputs.length}`,
    );
  }
  const e = errors(times, setpoints, measurements);
  const t0 = times[0]!;
  const abs = e.map(Math.abs);
  const iaeValue = trapezoid(times, (k) => abs[k]!);
  const iseValue = trapezoid(times, (k) => e[k]! * e[k]!);
  const duration = times[times.length - 1]! - t0;
  return {
    iae: iaeValue,
    ise: iseValue,
    itae: trapezoid(times, (k) => (times[k]! - t0) * abs[k]!),
    rmse: duration > 0 ? Math.sqrt(iseValue / duration) : Number.NaN,
    effort: outputs === undefined ? Number.NaN : effort(outputs),
  };
}

function errors(times: readonly number[], setpoint: Setpoint, measurements: readonly number[]): number[] {
  if (!Array.isArray(times) || times.length === 0) {
    throw new TypeError("Expected `times` to be a non-empty array of numbers");
  }
  if (!Array.isArray(measurements) || measurements.length !== times.length) {
    throw new RangeError(
      `Expected \`measurements\` to have one value per time (${times.length}), got ${Array.isArray(measurements) ? measurements.length : String(measurements)}`,
    );
  }
  const perSample = typeof setpoint !== "number";
  if (perSample && (!Array.isArray(setpoint) || setpoint.length !== times.length)) {
    throw new RangeError(
      `Expected \`setpoint\` to be a number or have one value per time (${times.length}), got ${Array.isArray(setpoint) ? setpoint.length : String(setpoint)}`,
    );
  }
  return times.map((t, k) => {
    if (!Number.isFinite(t) || (k > 0 && !(t >= times[k - 1]!))) {
      fail("times", `finite and non-decreasing (at index ${k})`, t);
    }
    const r = perSample
      ? finite(`setpoint[${k}]`, (setpoint as readonly number[])[k])
      : finite("setpoint", setpoint);
    return r - finite(`measurements[${k}]`, measurements[k]);
  });
}

function trapezoid(times: readonly number[], f: (k: number) => number): number {
  let sum = 0;
  let prev = f(0);
  for (let k = 1; k < times.length; k++) {
    const cur = f(k);
    sum += ((times[k]! - times[k - 1]!) * (prev + cur)) / 2;
    prev = cur;
  }
  return sum;
}
