/**
 * The metrics of one run, as summary.json and the report table give them:
 * integral error criteria of the measurement against its setpoint
 * (`loopPerformance` of toolbox/control), step-response figures of the
 * scenario's step (`stepInfo`), and the plant's whole-run figures (goodput,
 * shed, latency quantiles).
 */
import { loopPerformance, movingAverage, stepInfo } from "../toolbox/control/index.js";
import type { RunLog } from "./runner.js";
import type { StepMark } from "./scenarios.js";

/** Metrics of one run; NaN (null in summary.json) where one does not exist. */
export interface RunMetrics {
  /** Integral of |setpoint − measurement| over the run, measurement units × s (backlog: msg·s). */
  iae: number;
  /** Integral of the squared error, units² × s. */
  ise: number;
  /** Integral of time-weighted absolute error, units × s². */
  itae: number;
  /** Root-mean-square error over the run, measurement units. */
  rmse: number;
  /**
   * Overshoot on the scenario's step, %: for a setpoint step, the largest
   * excursion past the new setpoint as % of the step (stepInfo's overshoot);
   * for a disturbance step (capacity, load), the largest excursion of the
   * measurement above the setpoint after the step as % of the setpoint
   * (stepInfo of the response read as a step from 0 to the setpoint).
   * Measured on the measurement smoothed over `smoothing` seconds, within
   * `stepWindow` seconds of the step. NaN without a step.
   */
  overshoot: number;
  /**
   * Time from the step until the smoothed measurement stays within
   * `settlingThreshold` of the step size (setpoint steps) or of the setpoint
   * (disturbance steps), seconds. NaN without a step or when it has not
   * settled within `stepWindow` seconds.
   */
  settlingTime: number;
  /** The fraction of the capacity that did work over the run, 0…1 (busy worker-time / ready worker-time). */
  goodput: number;
  /** Messages refused by admission control as a fraction of those offered, 0…1. */
  shed: number;
  /** Messages lost to a full buffer as a fraction of those offered, 0…1. */
  dropped: number;
  /** Median latency of the messages served, ms. */
  latencyP50: number;
  /** 99th-percentile latency of the messages served, ms. */
  latencyP99: number;
  /** Control effort: total variation of the applied actuator value (NaN without a controller). */
  effort: number;
  /** Time average of the measurement over the run (backlog: messages; cache: hit rate). */
  meanMeasurement: number;
}

/** The keys of `RunMetrics` in table order. */
export const metricKeys: readonly (keyof RunMetrics)[] = Object.freeze([
  "iae",
  "ise",
  "itae",
  "rmse",
  "overshoot",
  "settlingTime",
  "goodput",
  "shed",
  "dropped",
  "latencyP50",
  "latencyP99",
  "effort",
  "meanMeasurement",
]);

/** Options of `computeMetrics`. */
export interface MetricOptions {
  /** The scenario's step (null: no step metrics). */
  step: StepMark | null;
  /** Settling band as a fraction of the step (or setpoint). Default 0.2: a stochastic queue never stays within 2 %. */
  settlingThreshold?: number;
  /** Width of the centered moving average applied before the step metrics, seconds (0 = none). Default 1. */
  smoothing?: number;
  /**
   * The step metrics look at this many seconds from the step (the response
   * to it; later peaks are noise or other events). Default 10.
   */
  stepWindow?: number;
}

/** Metrics of a run log (see `RunMetrics` for each definition). */
export function computeMetrics(log: RunLog, options: MetricOptions): RunMetrics {
  const threshold = options.settlingThreshold ?? 0.2;
  const smoothing = options.smoothing ?? 1;
  const stepWindow = options.stepWindow ?? 10;
  const times = log.times;
  const perf = loopPerformance(times, log.setpoint, log.measurement);
  let overshoot = Number.NaN;
  let settlingTime = Number.NaN;
  const step = options.step;
  if (step !== null && times.length > 2 && step.at < times[times.length - 1]!) {
    const dt = (times[times.length - 1]! - times[0]!) / (times.length - 1);
    // An odd count of samples, centered: (2h + 1)·dt averages h samples on each side.
    const smoothed = movingAverage(times, log.measurement, (Math.round(smoothing / dt) | 1) * dt);
    const index = times.findIndex((t) => t >= step.at);
    const after = log.setpoint[index]!;
    const before = index > 0 ? log.setpoint[index - 1]! : after;
    // A setpoint step is a step response; a disturbance step is read as the
    // response from 0 to the setpoint, so overshoot is the excursion above
    // the setpoint in % of the setpoint.
    const initialValue = step.signal === "setpoint" && before !== after ? before : 0;
    if (after !== initialValue) {
      const end = times.findIndex((t) => t > step.at + stepWindow + 1e-9);
      const last = end < 0 ? times.length : end;
      const info = stepInfo(times.slice(0, last), smoothed.slice(0, last), {
        stepTime: step.at,
        initialValue,
        finalValue: after,
        settlingThreshold: threshold,
      });
      overshoot = info.overshoot;
      // Sample times are sums of dt: round away the 1e-14 residue (0 means it never left the band).
      settlingTime = Math.round(info.settlingTime * 1e9) / 1e9;
    }
  }
  let effort = Number.NaN;
  if (log.controller !== "none") {
    effort = 0;
    for (let k = 1; k < log.applied.length; k++) {
      const change = Math.abs(log.applied[k]! - log.applied[k - 1]!);
      if (Number.isFinite(change)) effort += change;
    }
  }
  const s = log.stats;
  return {
    iae: perf.iae,
    ise: perf.ise,
    itae: perf.itae,
    rmse: perf.rmse,
    overshoot,
    settlingTime,
    goodput: s.goodput,
    shed: s.shed,
    dropped: s.dropped,
    latencyP50: s.latencyP50 * 1000,
    latencyP99: s.latencyP99 * 1000,
    effort,
    meanMeasurement: timeAverage(times, log.measurement),
  };
}

/** Trapezoidal time average of `values` over `times` (the value itself for one sample). */
export function timeAverage(times: readonly number[], values: readonly number[]): number {
  const n = times.length;
  if (n === 0) return Number.NaN;
  if (n === 1) return values[0]!;
  let area = 0;
  for (let k = 1; k < n; k++) area += ((times[k]! - times[k - 1]!) * (values[k]! + values[k - 1]!)) / 2;
  const span = times[n - 1]! - times[0]!;
  return span > 0 ? area / span : values[0]!;
}

/** Mean of each metric over several runs (NaN when any run has NaN for it). */
export function meanMetrics(runs: readonly RunMetrics[]): RunMetrics {
  const out = {} as Record<keyof RunMetrics, number>;
  for (const key of metricKeys) {
    let sum = 0;
    for (const m of runs) sum += m[key];
    out[key] = runs.length > 0 ? sum / runs.length : Number.NaN;
  }
  return out;
}

/**
 * Quantile `q` of ascending `sorted` values by linear interpolation between
 * order statistics (Hyndman & Fan type 7, numpy's default); NaN when empty.
 */
export function quantile(sorted: ArrayLike<number>, q: number): number {
  const n = sorted.length;
  if (n === 0) return Number.NaN;
  const h = (n - 1) * q;
  const lo = Math.floor(h);
  const hi = Math.min(n - 1, lo + 1);
  return sorted[lo]! + (h - lo) * (sorted[hi]! - sorted[lo]!);
}
