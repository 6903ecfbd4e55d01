/**
 * The metrics of one run, as summary.json and the report tables give them,
 * with their formulas (docs/experiments.md repeats them):
 *
 * - Error integrals of the measurement y against its setpoint r
 *   (`loopPerformance`): IAE = ∫|r − y| dt, ISE, ITAE, RMSE.
 * - Sojourn quantiles of the messages served (plant stats): p50, p99 over the
 *   run, and p99 of the messages that left after the scenario's step and of
 *   those that left before it.
 * - Delay regulation, on W̄_k, the mean sojourn of the messages that left in
 *   sample period k (held from the previous period when none left), against
 *   the delay setpoint D*(t): IADE = Σ_k |W̄_k − D*|·Δt_k (s·s); the causal
 *   1 s mean m(t) = mean of the W̄_k with t − 1 s < t_k ≤ t; delay settling
 *   = the first time after the step from which m stays within ±15 % of D*
 *   for 15 s (or to the end of the run, when at least 5 s remain); delay peak
 *   = the largest m within `stepWindow` seconds after the step; delay
 *   in-band share = the share of the samples from `stepWindow` seconds
 *   after the step to the end with m within ±15 % of D* (the settling rule
 *   needs 150 of them in a row).
 * - Backlog step response on the same causal 1 s mean of y: settling (±15 %
 *   of the setpoint, held 15 s) and overshoot — a setpoint step by
 *   `measuredStepInfo` (from the measured level before the step to a robust
 *   final value), a disturbance step as the largest excursion above the
 *   setpoint in % of it.
 * - Actuation, on the applied value u over the steady-state samples S (from
 *   `steadyAfter` seconds, leaving out `stepWindow` seconds after a step):
 *   relative total variation TV = Σ_{k,k−1∈S} |u_k − u_{k−1}| / (T·ū), per
 *   second, T = |S|·h, ū the mean of u over S — a dimensionless rate that
 *   compares a window, a rate and a fraction; the lag-1 autocorrelation of
 *   Δu over S (near −0.5: the actuator reverses every sample, chatter);
 *   the share of samples the controller sat at a limit (PID: output ≠
 *   P + I + D + ff; delay window: trim or window bounded).
 * - Limit cycles: the smallest autocorrelation of the backlog over S at
 *   lags 1…50 samples (a sustained oscillation drives it towards −1).
 * - Plant figures: goodput (busy worker-time over ready worker-time), shed,
 *   dropped.
 * - The controller's own goal (`ownGoal`), computed by its setup.
 */
import { loopPerformance, measuredStepInfo } from "../toolbox/control/index.js";
import type { RunLog } from "./runner.js";
import type { StepMark } from "./scenarios.js";

/** Metrics of one run; NaN (null in summary.json) where one does not exist. */
export interface RunMetrics {
  /** ∫|r − y| dt over the run, measurement units × s (backlog: msg·s). */
  iae: number;
  /** ∫(r − y)² dt, units² × s. */
  ise: number;
  /** ∫t·|r − y| dt, units × s². */
  itae: number;
  /** Root-mean-square error over the run, measurement units. */
  rmse: number;
  /**
   * Overshoot of the measurement on the scenario's step, %, on its causal
   * 1 s mean: a setpoint step by `measuredStepInfo`; a disturbance step as
   * the largest excursion above the setpoint within `stepWindow` seconds, in
   * % of the setpoint (0 when it never goes above). NaN without a step.
   */
  overshoot: number;
  /** Time from the step until the causal 1 s mean of the measurement stays within ±15 % of the setpoint for 15 s, s; NaN when it never does. */
  settlingTime: number;
  /** The fraction of the capacity that did work over the run, 0…1 (busy worker-time / ready worker-time). */
  goodput: number;
  /** Messages refused by admission control or dropped by an in-path AQM, as a fraction of those offered, 0…1. */
  shed: number;
  /** Messages lost to a full buffer as a fraction of those offered, 0…1. */
  dropped: number;
  /** Median sojourn of the messages served, ms. */
  latencyP50: number;
  /** 99th-percentile sojourn of the messages served, ms. */
  latencyP99: number;
  /** 99th-percentile sojourn of the messages that left after the scenario's step, ms (NaN without a step). */
  latencyP99After: number;
  /** 99th-percentile sojourn of the messages that left before the scenario's step, ms (NaN without a step). */
  latencyP99Before: number;
  /** IADE = Σ|W̄_k − D*|·Δt, s·s (NaN without a delay setpoint or a sojourn column). */
  iade: number;
  /** Time average of W̄, s. */
  meanDelay: number;
  /** Delay settling after the step (±15 % of D*, causal 1 s mean, held 15 s), s. */
  delaySettling: number;
  /** Largest causal 1 s mean of W̄ within `stepWindow` seconds after the step, s. */
  delayPeak: number;
  /** Share of the samples from `stepWindow` seconds after the step to the end whose causal 1 s mean of W̄ is within the settling band of D*, 0…1: how often the band holds once the step is over. */
  delayInBand: number;
  /** Steady-state relative total variation of the applied actuator value, 1/s. */
  tv: number;
  /** Lag-1 autocorrelation of Δu over the steady-state samples. */
  duAutocorrelation: number;
  /** Share of the controlled samples at an output limit, 0…1 (NaN when the controller does not say). */
  atLimit: number;
  /** Smallest autocorrelation of the steady-state backlog at lags 1…50. */
  backlogAutocorrelation: number;
  /** The controller's own goal, as its setup defines it (units there). */
  ownGoal: number;
  /** Σ|Δu| over the run, in the actuator's own units (NaN without a controller); does not compare across actuators — see `tv`. */
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
  "latencyP99After",
  "latencyP99Before",
  "iade",
  "meanDelay",
  "delaySettling",
  "delayPeak",
  "delayInBand",
  "tv",
  "duAutocorrelation",
  "atLimit",
  "backlogAutocorrelation",
  "ownGoal",
  "effort",
  "meanMeasurement",
]);

/** Options of `computeMetrics`. */
export interface MetricOptions {
  /** The scenario's step (null: no step metrics). */
  step: StepMark | null;
  /** The delay setpoint D*(t), seconds (for IADE and delay settling); default none (NaN). */
  delaySetpoint?: (t: number) => number;
  /** Settling band as a fraction of the setpoint (or D*). Default 0.15. */
  settlingBand?: number;
  /** Seconds the causal mean must stay in the band. Default 15. */
  settlingHold?: number;
  /** Width of the causal mean, seconds. Default 1. */
  meanWindow?: number;
  /** Seconds after the step that belong to its response (peaks, overshoot; left out of the steady state). Default 10. */
  stepWindow?: number;
  /** Steady state starts this many seconds into the run (start-up left out); at most half the time before the step. Default 5. */
  steadyAfter?: number;
  /** The controller's own goal, computed from the log (NaN when not given). */
  ownGoal?: (log: RunLog) => number;
}

/** Causal mean over `window` seconds: each value the mean of the finite values with t − window < t_k ≤ t. */
export function causalMean(times: readonly number[], values: readonly number[], window: number): number[] {
  const out = new Array<number>(values.length);
  let lo = 0;
  let sum = 0;
  let count = 0;
  for (let k = 0; k < values.length; k++) {
    if (Number.isFinite(values[k]!)) {
      sum += values[k]!;
      count++;
    }
    while (times[lo]! <= times[k]! - window + 1e-9) {
      if (Number.isFinite(values[lo]!)) {
        sum -= values[lo]!;
        count--;
      }
      lo++;
    }
    out[k] = count > 0 ? sum / count : Number.NaN;
  }
  return out;
}

/**
 * The first time t ≥ `from` (as an offset from `from`) from which `values`
 * stay within `band` of `target(t)` (a fraction of it) for `hold` seconds,
 * or to the end when fewer remain but at least hold/3; NaN when never.
 */
export function settlingAfter(
  times: readonly number[],
  values: readonly number[],
  target: (t: number) => number,
  from: number,
  band: number,
  hold: number,
): number {
  const end = times[times.length - 1]!;
  let candidate = -1;
  for (let k = 0; k < times.length; k++) {
    const t = times[k]!;
    if (t < from - 1e-9) continue;
    const r = target(t);
    const inside = Number.isFinite(values[k]!) && Math.abs(values[k]! - r) <= band * Math.abs(r);
    if (!inside) {
      candidate = -1;
      continue;
    }
    if (candidate < 0) candidate = k;
    const start = times[candidate]!;
    if (t - start >= hold - 1e-9) return Math.round((start - from) * 1e9) / 1e9;
  }
  if (candidate >= 0 && end - times[candidate]! >= hold / 3)
    return Math.round((times[candidate]! - from) * 1e9) / 1e9;
  return Number.NaN;
}

/** Sample autocorrelation of `x` at `lag` (NaN when it has no variance or too few samples). */
export function autocorrelation(x: readonly number[], lag: number): number {
  const n = x.length;
  if (n <= lag + 1) return Number.NaN;
  let mean = 0;
  for (const v of x) mean += v;
  mean /= n;
  let c0 = 0;
  let c = 0;
  for (let i = 0; i < n; i++) {
    c0 += (x[i]! - mean) ** 2;
    if (i >= lag) c += (x[i]! - mean) * (x[i - lag]! - mean);
  }
  return c0 > 0 ? c / c0 : Number.NaN;
}

/** Share of samples at which a controller that reports its parts sat at an output limit (NaN for others). */
function atLimitShare(log: RunLog): number {
  const c = log.components;
  let limited: ((k: number) => boolean) | null = null;
  if (log.controller === "pid" && c.p && c.i && c.d && c.ff) {
    limited = (k) => {
      const sum = c.p![k]! + c.i![k]! + c.d![k]! + c.ff![k]!;
      return Math.abs(log.output[k]! - sum) > 1e-9 * Math.max(1, Math.abs(log.output[k]!));
    };
  } else if (log.controller === "delay-window" && c.p && c.i && c.trim && c.ff && c.rate) {
    limited = (k) =>
      Math.abs(c.trim![k]! - (c.p![k]! + c.i![k]!)) > 1e-12 ||
      Math.abs(log.output[k]! - (c.ff![k]! + c.trim![k]! * c.rate![k]!)) > 1e-9 * Math.max(1, log.output[k]!);
  }
  if (limited === null) return Number.NaN;
  let n = 0;
  let at = 0;
  for (let k = 0; k < log.times.length; k++) {
    if (!Number.isFinite(log.output[k]!)) continue;
    n++;
    if (limited(k)) at++;
  }
  return n > 0 ? at / n : Number.NaN;
}

/** Metrics of a run log (see `RunMetrics` and the module comment for each definition). */
export function computeMetrics(log: RunLog, options: MetricOptions): RunMetrics {
  const band = options.settlingBand ?? 0.15;
  const hold = options.settlingHold ?? 15;
  const window = options.meanWindow ?? 1;
  const stepWindow = options.stepWindow ?? 10;
  const firstStep = options.step?.at ?? Number.POSITIVE_INFINITY;
  const steadyAfter = Math.min(options.steadyAfter ?? 5, firstStep / 2);
  const times = log.times;
  const n = times.length;
  const perf = loopPerformance(times, log.setpoint, log.measurement);
  const step = options.step !== null && n > 2 && options.step.at < times[n - 1]! ? options.step : null;
  const setpointAt = (t: number): number => {
    let k = 0;
    while (k + 1 < n && times[k + 1]! <= t + 1e-9) k++;
    return log.setpoint[k]!;
  };

  // Backlog step response on its causal 1 s mean.
  let overshoot = Number.NaN;
  let settlingTime = Number.NaN;
  if (step !== null) {
    const smooth = causalMean(times, log.measurement, window);
    const index = times.findIndex((t) => t >= step.at);
    const after = log.setpoint[index]!;
    const before = index > 0 ? log.setpoint[index - 1]! : after;
    const last = times.findIndex((t) => t > step.at + stepWindow + 1e-9);
    const end = last < 0 ? n : last;
    if (step.signal === "setpoint" && before !== after) {
      overshoot = measuredStepInfo(times.slice(0, end), smooth.slice(0, end), {
        stepTime: step.at,
        finalWindow: Math.min(5, stepWindow / 2),
      }).overshoot;
    } else if (after !== 0) {
      let most = Number.NEGATIVE_INFINITY;
      for (let k = index; k < end; k++) most = Math.max(most, smooth[k]!);
      overshoot = Math.max(0, (100 * (most - after)) / Math.abs(after));
    }
    settlingTime = settlingAfter(times, smooth, setpointAt, step.at, band, hold);
  }

  // Delay regulation on W̄ (the plant's per-period mean sojourn, held when nothing left).
  let iade = Number.NaN;
  let meanDelay = Number.NaN;
  let delaySettling = Number.NaN;
  let delayPeak = Number.NaN;
  let delayInBand = Number.NaN;
  const latencyColumn = log.columns.findIndex((c) => c.name === "latency");
  if (latencyColumn >= 0 && n > 1) {
    const raw = log.values[latencyColumn]!;
    const w = new Array<number>(n);
    let held = Number.NaN;
    for (let k = 0; k < n; k++) {
      if (Number.isFinite(raw[k]!)) held = raw[k]! / 1000;
      w[k] = held;
    }
    let area = 0;
    let span = 0;
    let error = 0;
    const target = options.delaySetpoint;
    for (let k = 1; k < n; k++) {
      if (!Number.isFinite(w[k]!)) continue;
      const dt = times[k]! - times[k - 1]!;
      area += w[k]! * dt;
      span += dt;
      if (target) error += Math.abs(w[k]! - target(times[k]!)) * dt;
    }
    meanDelay = span > 0 ? area / span : Number.NaN;
    if (target) iade = error;
    if (step !== null) {
      const m = causalMean(times, w, window);
      const index = times.findIndex((t) => t >= step.at);
      let peak = Number.NEGATIVE_INFINITY;
      for (let k = index; k < n && times[k]! <= step.at + stepWindow + 1e-9; k++)
        if (Number.isFinite(m[k]!)) peak = Math.max(peak, m[k]!);
      delayPeak = Number.isFinite(peak) ? peak : Number.NaN;
      if (target) {
        delaySettling = settlingAfter(times, m, target, step.at, band, hold);
        let inside = 0;
        let counted = 0;
        for (let k = index; k < n; k++) {
          if (times[k]! < step.at + stepWindow - 1e-9 || !Number.isFinite(m[k]!)) continue;
          counted++;
          if (Math.abs(m[k]! - target(times[k]!)) <= band * Math.abs(target(times[k]!))) inside++;
        }
        delayInBand = counted > 0 ? inside / counted : Number.NaN;
      }
    }
  }

  // p99 of the messages that left after the step, and of those that left before it.
  let latencyP99After = Number.NaN;
  let latencyP99Before = Number.NaN;
  const departures = log.stats.departures;
  if (step !== null && departures !== undefined) {
    const after: number[] = [];
    const before: number[] = [];
    for (let i = 0; i < departures.times.length; i++)
      (departures.times[i]! >= step.at ? after : before).push(departures.sojourns[i]!);
    after.sort((a, b) => a - b);
    before.sort((a, b) => a - b);
    latencyP99After = quantile(after, 0.99) * 1000;
    latencyP99Before = quantile(before, 0.99) * 1000;
  }

  // Actuation over the steady state.
  const steady: number[] = [];
  for (let k = 0; k < n; k++) {
    const t = times[k]!;
    if (t < steadyAfter - 1e-9) continue;
    if (step !== null && t >= step.at - 1e-9 && t < step.at + stepWindow - 1e-9) continue;
    steady.push(k);
  }
  let tv = Number.NaN;
  let duAutocorrelation = Number.NaN;
  let effort = Number.NaN;
  if (log.controller !== "none") {
    effort = 0;
    for (let k = 1; k < n; k++) {
      const change = Math.abs(log.applied[k]! - log.applied[k - 1]!);
      if (Number.isFinite(change)) effort += change;
    }
    let sum = 0;
    let count = 0;
    let variation = 0;
    const du: number[] = [];
    for (let j = 0; j < steady.length; j++) {
      const k = steady[j]!;
      const u = log.applied[k]!;
      if (!Number.isFinite(u)) continue;
      sum += u;
      count++;
      if (j > 0 && steady[j - 1] === k - 1 && Number.isFinite(log.applied[k - 1]!)) {
        const d = u - log.applied[k - 1]!;
        variation += Math.abs(d);
        du.push(d);
      }
    }
    const h = n > 1 ? (times[n - 1]! - times[0]!) / (n - 1) : Number.NaN;
    const mean = count > 0 ? sum / count : Number.NaN;
    tv = count > 0 && mean !== 0 ? variation / (count * h * Math.abs(mean)) : Number.NaN;
    duAutocorrelation = autocorrelation(du, 1);
  }
  const backlog = steady.map((k) => log.measurement[k]!).filter(Number.isFinite);
  let backlogAutocorrelation = Number.NaN;
  for (let lag = 1; lag <= 50; lag++) {
    const r = autocorrelation(backlog, lag);
    if (Number.isFinite(r))
      backlogAutocorrelation = Number.isNaN(backlogAutocorrelation) ? r : Math.min(backlogAutocorrelation, r);
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
    latencyP99After,
    latencyP99Before,
    iade,
    meanDelay,
    delaySettling,
    delayPeak,
    delayInBand,
    tv,
    duAutocorrelation,
    atLimit: log.controller === "none" ? Number.NaN : atLimitShare(log),
    backlogAutocorrelation,
    ownGoal: options.ownGoal ? options.ownGoal(log) : Number.NaN,
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
