/**
 * The latest step of a running loop, measured with `stepInfo` from the
 * samples the loop published: a setpoint step (the setpoint changed between
 * two samples) or a capacity step (the workers' speed was changed from the
 * tuning page at a known time), whichever came last.
 *
 * Live samples are noisy (a queue's backlog moves by a few messages from one
 * sample to the next, a rate measured over 0.1 s by tens of percent), so the
 * signal is first averaged over `smoothing` seconds — a centered moving
 * average that never reaches across the step, so it adds no lag and leaks
 * nothing from before the step — and then measured.
 *
 * - Setpoint step r₀ → r₁: `stepInfo` of the measurement from the first
 *   sample with r₁, with `initialValue` r₀ and `finalValue` r₁ — the
 *   tracking view (overshoot and settling against the commanded step, as if
 *   the loop held r₀ before it).
 * - Capacity step: a load disturbance, after which the measurement comes
 *   back to the same setpoint (no step to measure there: Δ = 0), while the
 *   controller's output has to find a new level. So `stepInfo` measures the
 *   output, from its mean over `smoothing` seconds before the step to its
 *   mean over the last quarter of the samples since (where it is settling);
 *   and `disturbance` says how far the measurement went off the setpoint,
 *   when, how long until it came back within the band, and the IAE.
 */
import { movingAverage } from "../control/smoothing.js";
import { type StepInfo, stepInfo } from "../control/step-info.js";
import type { LoopSample } from "../loop/feedback-loop.js";

/** A capacity step made from the page: when, and the workers' speed before and after. */
export interface CapacityStep {
  /** When the speed was set, ms since the epoch. */
  timestamp: number;
  from: number;
  to: number;
}

/** How the measurement rode out a capacity step (smoothed as the step's signal). */
export interface DisturbanceInfo {
  /** Largest |measurement − setpoint| since the step. */
  peakDeviation: number;
  /** Seconds from the step to `peakDeviation`. */
  peakTime: number;
  /** Seconds from the step until the measurement stays within the band around the setpoint (0: it never left; NaN: not back yet). */
  recoveryTime: number;
  /** ∫|measurement − setpoint| dt since the step (raw samples), measurement units × s. */
  iae: number;
}

/** The latest step and its characteristics (plain data; `NaN` where a metric does not exist). */
export interface StepReport {
  kind: "setpoint" | "capacity";
  /** Loop time of the first sample after the step, seconds (the samples' `time`). */
  time: number;
  /** The setpoint before and after (setpoint steps), or the workers' speed (capacity steps). */
  from: number;
  to: number;
  /** The signal `info` measures: the measurement (setpoint steps) or the controller output (capacity steps). */
  signal: "measurement" | "output";
  /** Seconds of samples since the step. */
  elapsed: number;
  /** Samples since the step (with a finite value of the signal). */
  samples: number;
  /** `stepInfo` of the smoothed signal since the step (times from the step, seconds). */
  info: StepInfo;
  /** Capacity steps: the measurement's excursion from the setpoint; null for setpoint steps. */
  disturbance: DisturbanceInfo | null;
  /** The band used, a fraction of the step (of the setpoint for `disturbance.recoveryTime`). */
  settlingThreshold: number;
  /** The moving average used, seconds (0: raw samples). */
  smoothing: number;
}

/** Options of `latestStep`. */
export interface StepOptions {
  /** Settling band as a fraction of the step (`stepInfo`'s `settlingThreshold`), in (0, 1). Default 0.05. */
  settlingThreshold?: number;
  /** Width of the centered moving average, seconds, at most 300 (the longest chart window); 0 measures the raw samples. Default 1. */
  smoothing?: number;
}

/** Widest smoothing, seconds: the page's longest window. */
const MAX_SMOOTHING_S = 300;

/** Checks step options and applies the defaults. */
export function stepOptions(options: StepOptions = {}): Required<StepOptions> {
  const settlingThreshold = options.settlingThreshold ?? 0.05;
  if (!(typeof settlingThreshold === "number" && settlingThreshold > 0 && settlingThreshold < 1))
    throw new RangeError(
      `Expected \`settlingThreshold\` to be a number in (0, 1), got \`${String(settlingThreshold)}\``,
    );
  const smoothing = options.smoothing ?? 1;
  if (!(typeof smoothing === "number" && smoothing >= 0 && smoothing <= MAX_SMOOTHING_S))
    throw new RangeError(
      `Expected \`smoothing\` to be a number of seconds from 0 to ${MAX_SMOOTHING_S}, got \`${String(smoothing)}\``,
    );
  return { settlingThreshold, smoothing };
}

/**
 * The latest setpoint or capacity step within `samples` (oldest first, one
 * loop run), measured up to the newest sample; null when there is none or
 * no sample with a finite value follows it. Only the newest capacity step
 * counts.
 */
export function latestStep(
  samples: readonly LoopSample[],
  capacitySteps: readonly CapacityStep[] = [],
  options: StepOptions = {},
): StepReport | null {
  const { settlingThreshold, smoothing } = stepOptions(options);
  let setpointAt = -1;
  for (let k = samples.length - 1; k > 0; k--) {
    if (samples[k]!.setpoint !== samples[k - 1]!.setpoint) {
      setpointAt = k;
      break;
    }
  }
  const capacity = capacitySteps.at(-1);
  let capacityAt = -1;
  if (capacity !== undefined) {
    const k = samples.findIndex((s) => s.timestamp >= capacity.timestamp);
    // A step before the oldest sample kept is out of the window.
    if (k > 0 || (k === 0 && samples[0]!.timestamp === capacity.timestamp)) capacityAt = k;
  }
  if (setpointAt < 0 && capacityAt < 0) return null;
  const common = { settlingThreshold, smoothing };

  if (setpointAt >= capacityAt) {
    const stepTime = samples[setpointAt]!.time;
    const before = samples[setpointAt - 1]!.setpoint;
    const after = samples[setpointAt]!.setpoint;
    const series = seriesOf(samples, setpointAt, samples.length, (s) => s.measurement);
    if (series.times.length === 0) return null;
    const values = movingAverage(series.times, series.values, smoothing);
    return {
      kind: "setpoint",
      time: stepTime,
      from: before,
      to: after,
      signal: "measurement",
      elapsed: series.times.at(-1)! - stepTime,
      samples: series.times.length,
      info: stepInfo(series.times, values, {
        stepTime,
        initialValue: before,
        finalValue: after,
        settlingThreshold,
      }),
      disturbance: null,
      ...common,
    };
  }

  const stepTime = samples[capacityAt]!.time;
  const series = seriesOf(samples, capacityAt, samples.length, (s) => s.output);
  if (series.times.length === 0) return null;
  const values = movingAverage(series.times, series.values, smoothing);
  const previous = seriesOf(samples, 0, capacityAt, (s) => s.output);
  const lead = previous.values.filter((_, k) => previous.times[k]! >= stepTime - Math.max(smoothing, 1e-9));
  const initialValue = lead.length > 0 ? mean(lead) : (previous.values.at(-1) ?? values[0]!);
  const finalValue = mean(values.slice(Math.floor((3 * values.length) / 4)));
  return {
    kind: "capacity",
    time: stepTime,
    from: capacity!.from,
    to: capacity!.to,
    signal: "output",
    elapsed: series.times.at(-1)! - stepTime,
    samples: series.times.length,
    info: stepInfo(series.times, values, { stepTime, initialValue, finalValue, settlingThreshold }),
    disturbance: disturbanceOf(samples.slice(capacityAt), stepTime, settlingThreshold, smoothing),
    ...common,
  };
}

function disturbanceOf(
  samples: readonly LoopSample[],
  stepTime: number,
  threshold: number,
  smoothing: number,
): DisturbanceInfo {
  const times: number[] = [];
  const errors: number[] = [];
  const bands: number[] = [];
  for (const s of samples) {
    const e = s.measurement - s.setpoint;
    if (!Number.isFinite(e) || (times.length > 0 && s.time < times.at(-1)!)) continue;
    times.push(s.time);
    errors.push(e);
    bands.push(threshold * Math.abs(s.setpoint));
  }
  const deviation = movingAverage(times, errors, smoothing);
  let peakDeviation = Number.NaN;
  let peakTime = Number.NaN;
  let lastOutside = -1;
  let iae = 0;
  for (let k = 0; k < deviation.length; k++) {
    const d = Math.abs(deviation[k]!);
    if (!(d <= peakDeviation)) {
      peakDeviation = d;
      peakTime = times[k]! - stepTime;
    }
    if (d > bands[k]!) lastOutside = k;
    if (k > 0) iae += Math.abs(errors[k - 1]!) * (times[k]! - times[k - 1]!);
  }
  const n = deviation.length;
  const recoveryTime =
    lastOutside < 0 ? 0 : lastOutside + 1 < n ? times[lastOutside + 1]! - stepTime : Number.NaN;
  return { peakDeviation, peakTime, recoveryTime, iae };
}

function mean(values: readonly number[]): number {
  return values.reduce((a, b) => a + b, 0) / values.length;
}

/**
 * The samples of index `from` to `to` (exclusive) where `pick` is finite, as
 * times and values (a sample whose time goes back is left out).
 */
function seriesOf(
  samples: readonly LoopSample[],
  from: number,
  to: number,
  pick: (s: LoopSample) => number,
): { times: number[]; values: number[] } {
  const times: number[] = [];
  const values: number[] = [];
  for (let k = from; k < to; k++) {
    const v = pick(samples[k]!);
    if (!Number.isFinite(v)) continue;
    if (times.length > 0 && samples[k]!.time < times.at(-1)!) continue;
    times.push(samples[k]!.time);
    values.push(v);
  }
  return { times, values };
}
