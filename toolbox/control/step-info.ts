/**
 * Step-response characteristics (rise time, settling time, overshoot, ...)
 * with the definitions and names of python-control's `step_info`
 * (control/timeresp.py), which follows MATLAB's `stepinfo`.
 */
import { stepResponse } from "./response.js";
import { dcGain, poles, type TransferFunction } from "./tf.js";
import { checkKeys, checkNumber, finite } from "./validate.js";

/**
 * Step-response characteristics. Times are in seconds from the step
 * (`stepTime`), amplitudes in the response's units; `NaN` where a metric
 * does not exist (no finite final value, never reached a level, never settled).
 */
export interface StepInfo {
  /** Time from the first sample at or past the lower rise limit (10 %) to the first at or past the upper (90 %) of the step. */
  riseTime: number;
  /** Time from the step to the first sample after which the response stays within the band (2 % of the step size) around the final value. */
  settlingTime: number;
  /** Minimum of the response once it has risen (from the 90 % sample on; the final value counts). */
  settlingMin: number;
  /** Maximum of the response once it has risen (from the 90 % sample on; the final value counts). */
  settlingMax: number;
  /** Largest excursion past the final value, % of the step size (0 if none). */
  overshoot: number;
  /** Largest excursion in the direction opposite to the step, % of the step size (0 if none). */
  undershoot: number;
  /**
   * The absolute value of the response where it deviates most from the
   * initial value, |y| at max |y − initialValue|: on the scale of
   * `steadyStateValue`, so a step from 40 to 80 that overshoots to 85
   * reports 85 (python-control's "peak absolute value" max |y| when the
   * initial value is 0).
   */
  peak: number;
  /** Time of `peak` from the step (first occurrence). */
  peakTime: number;
  /** The final value the metrics are measured against. */
  steadyStateValue: number;
}

/** Options of `stepInfo`. */
export interface StepInfoOptions {
  /** Settling band as a fraction of the step size |finalValue − initialValue|; default 0.02 (2 %). */
  settlingThreshold?: number;
  /** Rise-time limits as fractions of the step; default [0.1, 0.9]. The upper one also starts settlingMin/Max. */
  riseTimeLimits?: readonly [number, number];
  /** Final (steady-state) value; default the last sample (`stepInfoOf`: the DC gain). */
  finalValue?: number;
  /** Value before the step, so a setpoint step from y₀ is measured from y₀; default 0 (python-control). */
  initialValue?: number;
  /**
   * Time the step is applied, seconds; samples before it are ignored and all
   * times are reported from it. Default: the first time (python-control
   * reports times from t = 0, which is the same for responses starting at 0).
   */
  stepTime?: number;
}

const stepInfoKeys = ["settlingThreshold", "riseTimeLimits", "finalValue", "initialValue", "stepTime"];

/**
 * Step-response characteristics of a sampled response, python-control's
 * `step_info` algorithm applied to the deviation y − initialValue from the
 * step size Δ = finalValue − initialValue (so negative-going steps and steps
 * from a nonzero level read like a unit step):
 * - rise time: between the first samples with sign(Δ)·(y − y₀ − lᵢ·Δ) ≥ 0 for the two limits lᵢ;
 * - settling time: the sample after the last one with |(y − y₀)/Δ − 1| ≥ threshold (NaN if that is the last sample);
 * - overshoot: 100·(max sign(Δ)·(y − y₀) − |Δ|)/|Δ| if positive, else 0;
 * - undershoot: 100·max(0, −min sign(Δ)·(y − y₀))/|Δ|;
 * - peak: |y| at max |y − y₀| (on the response's own scale) and its time.
 * Metrics are read at the samples (no interpolation), so times are accurate to
 * one sample. Differences from python-control: NaN (not Inf) for peak and
 * peakTime without a final value, NaN instead of an IndexError when a rise
 * level is never reached, and overshoot from max sign(Δ)·y (not its absolute value).
 */
export function stepInfo(
  times: readonly number[],
  values: readonly number[],
  options: StepInfoOptions = {},
): StepInfo {
  checkKeys("stepInfo", options, stepInfoKeys);
  if (!Array.isArray(times) || !Array.isArray(values) || times.length === 0) {
    throw new TypeError("Expected `times` and `values` to be non-empty arrays of numbers");
  }
  if (times.length !== values.length) {
    throw new RangeError(
      `Expected \`times\` and \`values\` of the same length, got ${times.length} and ${values.length}`,
    );
  }
  for (let k = 0; k < times.length; k++) {
    if (!Number.isFinite(times[k]) || (k > 0 && !(times[k]! >= times[k - 1]!))) {
      throw new RangeError(
        `Expected \`times\` to be finite and non-decreasing, got \`${times[k]}\` at index ${k}`,
      );
    }
    finite(`values[${k}]`, values[k]);
  }
  const threshold = checkNumber(
    "settlingThreshold",
    options.settlingThreshold ?? 0.02,
    "a number in (0, 1)",
    (v) => v > 0 && v < 1,
  );
  const limits = options.riseTimeLimits ?? [0.1, 0.9];
  const [lo, hi] = limits;
  if (!(lo >= 0 && hi <= 1 && lo < hi)) {
    throw new RangeError(
      `Expected \`riseTimeLimits\` [low, high] with 0 ≤ low < high ≤ 1, got \`[${limits}]\``,
    );
  }
  const y0 = finite("initialValue", options.initialValue ?? 0);
  const stepTime = finite("stepTime", options.stepTime ?? times[0]!);
  const start = times.findIndex((t) => t >= stepTime);
  if (start < 0) {
    throw new RangeError(
      `Expected samples at or after \`stepTime\` = ${stepTime}, got times up to ${times.at(-1)}`,
    );
  }
  const t = times.slice(start).map((x) => x - stepTime);
  const dev = values.slice(start).map((v) => v - y0);
  const yFinal = options.finalValue ?? values.at(-1)!;
  const delta = yFinal - y0;
  if (!Number.isFinite(delta) || delta === 0)
    return noStepInfo(Number.isFinite(yFinal) ? yFinal : Number.NaN);

  const sgn = Math.sign(delta);
  const size = Math.abs(delta);
  const n = t.length;
  const lowIndex = dev.findIndex((d) => sgn * (d - lo * delta) >= 0);
  const highIndex = dev.findIndex((d) => sgn * (d - hi * delta) >= 0);
  const riseTime = lowIndex >= 0 && highIndex >= 0 ? t[highIndex]! - t[lowIndex]! : Number.NaN;

  let lastOutside = -1;
  for (let k = n - 1; k >= 0; k--) {
    if (Math.abs(dev[k]! / delta - 1) >= threshold) {
      lastOutside = k;
      break;
    }
  }
  const settlingTime = lastOutside + 1 < n ? t[lastOutside + 1]! : Number.NaN;

  let settlingMin = Number.NaN;
  let settlingMax = Number.NaN;
  if (highIndex >= 0) {
    settlingMin = delta;
    settlingMax = delta;
    for (let k = highIndex; k < n; k++) {
      settlingMin = Math.min(settlingMin, dev[k]!);
      settlingMax = Math.max(settlingMax, dev[k]!);
    }
    settlingMin += y0;
    settlingMax += y0;
  }

  let most = -Infinity;
  let least = Infinity;
  let peakIndex = 0;
  for (let k = 0; k < n; k++) {
    const s = sgn * dev[k]!;
    if (s > most) most = s;
    if (s < least) least = s;
    if (Math.abs(dev[k]!) > Math.abs(dev[peakIndex]!)) peakIndex = k;
  }
  const overshoot = most > size ? (100 * (most - size)) / size : 0;
  const undershoot = least < 0 ? (-100 * least) / size : 0;

  return {
    riseTime,
    settlingTime,
    settlingMin,
    settlingMax,
    overshoot,
    undershoot,
    peak: Math.abs(dev[peakIndex]! + y0),
    peakTime: t[peakIndex]!,
    steadyStateValue: yFinal,
  };
}

function noStepInfo(steadyStateValue: number): StepInfo {
  return {
    riseTime: Number.NaN,
    settlingTime: Number.NaN,
    settlingMin: Number.NaN,
    settlingMax: Number.NaN,
    overshoot: Number.NaN,
    undershoot: Number.NaN,
    peak: Number.NaN,
    peakTime: Number.NaN,
    steadyStateValue,
  };
}

/** Options of `stepInfoOf`: those of `stepInfo` plus the simulation grid. */
export interface StepInfoOfOptions extends StepInfoOptions {
  /** Sample times (seconds) or a final time for `stepResponse`; default its automatic grid. */
  times?: number | readonly number[];
}

/**
 * Step-response characteristics of a system: simulates `stepResponse(sys,
 * options.times)` and measures it against the DC gain (python-control's
 * `step_info(sys)`). An unstable or integrating system has no steady state:
 * every metric is NaN unless `finalValue` is given.
 */
export function stepInfoOf(sys: TransferFunction, options: StepInfoOfOptions = {}): StepInfo {
  checkKeys("stepInfoOf", options, [...stepInfoKeys, "times"]);
  const { times, ...rest } = options;
  const response = stepResponse(sys, times);
  const finalValue = options.finalValue ?? (isStable(sys) ? dcGain(sys) : Number.NaN);
  return stepInfo(response.times, response.values, { ...rest, finalValue });
}

function isStable(sys: TransferFunction): boolean {
  return poles(sys).every((p) => (sys.isDiscrete ? Math.hypot(p.re, p.im) < 1 : p.re < 0));
}

/** Options of `measuredStepInfo`. */
export interface MeasuredStepOptions {
  /** Time of the step, seconds. Required. */
  stepTime: number;
  /** The initial value is the mean of the samples this many seconds before the step, > 0. Default 2. */
  before?: number;
  /** The final value is the median of the samples in the last `finalWindow` seconds, > 0. Default 5. */
  finalWindow?: number;
  /** As `stepInfo`'s (fraction of the measured step). Default 0.02. */
  settlingThreshold?: number;
  /** As `stepInfo`'s. Default [0.1, 0.9]. */
  riseTimeLimits?: readonly [number, number];
}

/**
 * `stepInfo` of a measured, noisy response to a step at `stepTime`: the
 * initial value is the mean of the samples in the `before` seconds before
 * the step (where the response really started, not a nominal level), and the
 * final value is the median of the samples in the last `finalWindow`
 * seconds (robust to the noise and the odd outlier a last sample carries).
 * Overshoot, settling band and rise levels are then fractions of that
 * measured step, and `peak` is on the response's scale. NaN metrics when
 * either window holds no sample.
 */
export function measuredStepInfo(
  times: readonly number[],
  values: readonly number[],
  options: MeasuredStepOptions,
): StepInfo & { initialValue: number } {
  checkKeys("measuredStepInfo", options, [
    "stepTime",
    "before",
    "finalWindow",
    "settlingThreshold",
    "riseTimeLimits",
  ]);
  const stepTime = finite("stepTime", options.stepTime);
  const before = checkNumber("before", options.before ?? 2, "a positive number", (v) => v > 0);
  const window = checkNumber("finalWindow", options.finalWindow ?? 5, "a positive number", (v) => v > 0);
  const end = times.at(-1) ?? Number.NaN;
  const head: number[] = [];
  const tail: number[] = [];
  for (let k = 0; k < times.length; k++) {
    const t = times[k]!;
    if (t >= stepTime - before && t < stepTime) head.push(values[k]!);
    if (t > end - window && t >= stepTime) tail.push(values[k]!);
  }
  if (head.length === 0 || tail.length === 0) return { ...noStepInfo(Number.NaN), initialValue: Number.NaN };
  const initialValue = head.reduce((a, b) => a + b, 0) / head.length;
  tail.sort((a, b) => a - b);
  const mid = tail.length >> 1;
  const finalValue = tail.length % 2 === 1 ? tail[mid]! : (tail[mid - 1]! + tail[mid]!) / 2;
  const info = stepInfo(times, values, {
    stepTime,
    initialValue,
    finalValue,
    ...(options.settlingThreshold === undefined ? {} : { settlingThreshold: options.settlingThreshold }),
    ...(options.riseTimeLimits === undefined ? {} : { riseTimeLimits: options.riseTimeLimits }),
  });
  return { ...info, initialValue };
}
