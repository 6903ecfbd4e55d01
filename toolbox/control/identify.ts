/**
 * Process identification from step-test (or any open-loop) data: fit a
 * first-order-plus-dead-time model K·e^{−θs}/(τs + 1) or an
 * integrating-plus-dead-time model k·e^{−θs}/s, ready for the rules in
 * `tuning.ts` (a fit is a valid `FopdtModel` / `IntegratingModel`).
 *
 * Method (output-error least squares with variable projection): for fixed
 * nonlinear parameters (τ, θ) — or θ alone for the integrator — the model
 * output is linear in the gain and the output offset, y ≈ offset + gain·g(t),
 * where g is the exact response of the unit-gain model to the recorded input;
 * those two are solved by linear least squares (normal equations, solved with
 * mathjs `lusolve`). The remaining residual is minimised over a grid of
 * (τ, θ) and then refined by Nelder–Mead (Nelder & Mead, Computer Journal 7,
 * 1965) — or golden-section search over θ. Because g is computed exactly for a
 * zero-order-hold input, θ need not be a multiple of the sample time and
 * noise-free data from such a plant is fitted to rounding accuracy.
 */

import { lusolve } from "mathjs";
import { checkKeys, checkNumber, checkObject, fail, positive } from "./validate.js";

/** Open-loop test data: the plant input and its measured output at the same times. */
export interface StepTestData {
  /** Sample times, seconds, strictly increasing. */
  times: ArrayLike<number>;
  /**
   * Plant input (the actuator value) at each time, held until the next time
   * (zero-order hold, as a sampled controller applies it). The plant is
   * assumed at rest at `input[0]` before the first time.
   */
  input: ArrayLike<number>;
  /** Measured plant output at each time (the measurement a controller would see). */
  measurement: ArrayLike<number>;
}

/** Options of `identifyFopdt`. */
export interface IdentifyFopdtOptions {
  /** Largest dead time searched, seconds. Default: half the time from the first input change to the end. */
  thetaMax?: number;
  /** Largest time constant searched, seconds. Default: 10 × the record length. */
  tauMax?: number;
  /** Grid points per axis of the initial (τ, θ) search (≥ 5). Default 40. */
  grid?: number;
}

/** Options of `identifyIntegrating`. */
export interface IdentifyIntegratingOptions {
  /** Largest dead time searched, seconds. Default: half the time from the first input change to the end. */
  thetaMax?: number;
  /** Grid points of the initial θ search (≥ 5). Default 200. */
  grid?: number;
}

/** Goodness of fit, shared by both fits. */
export interface FitQuality {
  /** Measurement at rest at `inputOffset` (the fitted output offset), output units. */
  offset: number;
  /** Input the plant rests at before the test (`input[0]`). */
  inputOffset: number;
  /** Root-mean-square residual, output units. */
  rmse: number;
  /**
   * Normalized fit, percent: 100·(1 − ‖y − ŷ‖/‖y − mean(y)‖), the measure of
   * MATLAB's System Identification Toolbox `compare`; 100 is a perfect fit,
   * 0 no better than the mean.
   */
  fit: number;
  /** Model output at the sample times. */
  fitted: Float64Array;
}

/** A fitted FOPDT model: y = offset + gain·(response of e^{−θs}/(τs + 1) to input − inputOffset). */
export interface FopdtFit extends FitQuality {
  model: "fopdt";
  /** Static gain K, output units per input unit. */
  gain: number;
  /** Time constant τ, seconds. */
  tau: number;
  /** Dead time θ, seconds. */
  theta: number;
}

/** A fitted integrating model: y = offset + gain·∫(input − inputOffset)(t − θ) dt. */
export interface IntegratingFit extends FitQuality {
  model: "integrating";
  /** Velocity gain k: output slope per unit input, 1/s. */
  gain: number;
  /** Dead time θ, seconds. */
  theta: number;
}

interface Prepared {
  times: Float64Array;
  du: Float64Array;
  y: Float64Array;
  u0: number;
  /** Time of the first input change. */
  start: number;
}

function prepare(data: StepTestData): Prepared {
  checkObject("data", data);
  const n = data.times?.length;
  if (typeof n !== "number" || n < 3) fail("times", "an array of at least 3 samples", n);
  if (data.input?.length !== n) fail("input", `an array as long as \`times\` (${n})`, data.input?.length);
  if (data.measurement?.length !== n) {
    fail("measurement", `an array as long as \`times\` (${n})`, data.measurement?.length);
  }
  const times = Float64Array.from(data.times);
  const u = Float64Array.from(data.input);
  const y = Float64Array.from(data.measurement);
  for (let i = 0; i < n; i++) {
    if (!Number.isFinite(times[i]!)) fail(`times[${i}]`, "a finite number", times[i]);
    if (!Number.isFinite(u[i]!)) fail(`input[${i}]`, "a finite number", u[i]);
    if (!Number.isFinite(y[i]!)) fail(`measurement[${i}]`, "a finite number", y[i]);
    if (i > 0 && !(times[i]! > times[i - 1]!))
      fail(`times[${i}]`, `greater than \`times[${i - 1}]\``, times[i]);
  }
  const u0 = u[0]!;
  const du = new Float64Array(n);
  let first = -1;
  for (let i = 0; i < n; i++) {
    du[i] = u[i]! - u0;
    if (first < 0 && du[i] !== 0) first = i;
  }
  // The last input sample is never applied (nothing follows it).
  if (first < 0 || first === n - 1) fail("input", "changing during the test", "a constant input");
  return { times, du, y, u0, start: times[first]! };
}

/** The unit-gain integrator 1/s, as the `tau` of `simulateUnit`. */
const INTEGRATOR = Number.POSITIVE_INFINITY;

/**
 * Unit-gain model response at the sample times to the zero-order-hold input
 * `du` delayed by `theta`, integrated exactly piece by piece: the lag
 * 1/(τs + 1), x ← v + (x − v)·e^{−h/τ} (`tau` = 0 is a pure delay), or with
 * `tau` = `INTEGRATOR` the integrator 1/s, x ← x + v·h.
 */
function simulateUnit(
  times: Float64Array,
  du: Float64Array,
  tau: number,
  theta: number,
  out: Float64Array,
): void {
  const n = times.length;
  let x = 0;
  let j = -1; // input sample active at the delayed time (−1: before the record, value 0)
  out[0] = 0;
  for (let i = 0; i + 1 < n; i++) {
    let a = times[i]!;
    const b = times[i + 1]!;
    while (a < b) {
      while (j + 1 < n && times[j + 1]! + theta <= a) j++;
      const v = j >= 0 ? du[j]! : 0;
      const next = j + 1 < n ? Math.min(b, times[j + 1]! + theta) : b;
      const h = next - a;
      if (tau === INTEGRATOR) x += v * h;
      else x = tau > 0 ? v + (x - v) * Math.exp(-h / tau) : v;
      a = next;
    }
    out[i + 1] = x;
  }
}

/**
 * Least squares y ≈ offset + gain·g by the 2×2 normal equations (mathjs
 * `lusolve`); returns the residual sum of squares, or ∞ when g carries no
 * information (e.g. the dead time hides the whole response).
 */
function solveGainOffset(g: Float64Array, y: Float64Array): { gain: number; offset: number; sse: number } {
  const n = g.length;
  let sg = 0;
  let sgg = 0;
  let sy = 0;
  let sgy = 0;
  for (let i = 0; i < n; i++) {
    const gi = g[i]!;
    sg += gi;
    sgg += gi * gi;
    sy += y[i]!;
    sgy += gi * y[i]!;
  }
  const det = sgg * n - sg * sg;
  if (!(det > 1e-12 * sgg * n))
    return { gain: Number.NaN, offset: Number.NaN, sse: Number.POSITIVE_INFINITY };
  const solution = lusolve(
    [
      [sgg, sg],
      [sg, n],
    ],
    [sgy, sy],
  ) as number[][];
  const gain = solution[0]![0]!;
  const offset = solution[1]![0]!;
  let sse = 0;
  for (let i = 0; i < n; i++) {
    const r = y[i]! - offset - gain * g[i]!;
    sse += r * r;
  }
  return { gain, offset, sse };
}

/** Nelder–Mead minimisation in 2-D (standard coefficients 1, 2, 0.5, 0.5). */
function nelderMead2(
  f: (a: number, b: number) => number,
  start: [number, number],
  step: [number, number],
  iterations: number,
): [number, number] {
  const pts: [number, number][] = [
    [start[0], start[1]],
    [start[0] + step[0], start[1]],
    [start[0], start[1] + step[1]],
  ];
  const val = pts.map(([a, b]) => f(a, b));
  for (let k = 0; k < iterations; k++) {
    // Order best (0) to worst (2).
    const order = [0, 1, 2].sort((i, j) => val[i]! - val[j]!);
    const p = order.map((i) => pts[i]!);
    const v = order.map((i) => val[i]!);
    for (let i = 0; i < 3; i++) {
      pts[i] = p[i]!;
      val[i] = v[i]!;
    }
    const spread = Math.abs(val[2]! - val[0]!);
    const size = Math.max(
      Math.abs(pts[1]![0] - pts[0]![0]) + Math.abs(pts[2]![0] - pts[0]![0]),
      Math.abs(pts[1]![1] - pts[0]![1]) + Math.abs(pts[2]![1] - pts[0]![1]),
    );
    if (spread <= 1e-15 * (Math.abs(val[0]!) + 1e-300) || size < 1e-12) break;
    const cx = (pts[0]![0] + pts[1]![0]) / 2;
    const cy = (pts[0]![1] + pts[1]![1]) / 2;
    const w = pts[2]!;
    const reflect: [number, number] = [cx + (cx - w[0]), cy + (cy - w[1])];
    const fr = f(reflect[0], reflect[1]);
    if (fr < val[0]!) {
      const expand: [number, number] = [cx + 2 * (cx - w[0]), cy + 2 * (cy - w[1])];
      const fe = f(expand[0], expand[1]);
      if (fe < fr) {
        pts[2] = expand;
        val[2] = fe;
      } else {
        pts[2] = reflect;
        val[2] = fr;
      }
    } else if (fr < val[1]!) {
      pts[2] = reflect;
      val[2] = fr;
    } else {
      const outside = fr < val[2]!;
      const contract: [number, number] = outside
        ? [cx + 0.5 * (reflect[0] - cx), cy + 0.5 * (reflect[1] - cy)]
        : [cx + 0.5 * (w[0] - cx), cy + 0.5 * (w[1] - cy)];
      const fc = f(contract[0], contract[1]);
      if (fc < Math.min(fr, val[2]!)) {
        pts[2] = contract;
        val[2] = fc;
      } else {
        // Shrink towards the best point.
        for (let i = 1; i < 3; i++) {
          pts[i] = [
            pts[0]![0] + 0.5 * (pts[i]![0] - pts[0]![0]),
            pts[0]![1] + 0.5 * (pts[i]![1] - pts[0]![1]),
          ];
          val[i] = f(pts[i]![0], pts[i]![1]);
        }
      }
    }
  }
  let best = 0;
  for (let i = 1; i < 3; i++) if (val[i]! < val[best]!) best = i;
  return pts[best]!;
}

function quality(
  y: Float64Array,
  g: Float64Array,
  gain: number,
  offset: number,
): { rmse: number; fit: number; fitted: Float64Array } {
  const n = y.length;
  const fitted = new Float64Array(n);
  let mean = 0;
  for (let i = 0; i < n; i++) mean += y[i]!;
  mean /= n;
  let sse = 0;
  let sst = 0;
  for (let i = 0; i < n; i++) {
    fitted[i] = offset + gain * g[i]!;
    sse += (y[i]! - fitted[i]!) ** 2;
    sst += (y[i]! - mean) ** 2;
  }
  return { rmse: Math.sqrt(sse / n), fit: sst > 0 ? 100 * (1 - Math.sqrt(sse / sst)) : Number.NaN, fitted };
}

function thetaLimit(p: Prepared, given: number | undefined): number {
  const end = p.times[p.times.length - 1]!;
  return positive("thetaMax", given ?? 0.5 * (end - p.start));
}

function gridSize(given: number | undefined, fallback: number): number {
  return checkNumber("grid", given ?? fallback, "an integer ≥ 5", (v) => Number.isInteger(v) && v >= 5);
}

/**
 * Fits K·e^{−θs}/(τs + 1) to open-loop data (a step test, or any input that
 * moves the plant from rest). Returns the model with its fit quality.
 */
export function identifyFopdt(data: StepTestData, options: IdentifyFopdtOptions = {}): FopdtFit {
  checkKeys("identifyFopdt", options, ["thetaMax", "tauMax", "grid"]);
  const p = prepare(data);
  const n = p.times.length;
  const span = p.times[n - 1]! - p.times[0]!;
  const thetaMax = thetaLimit(p, options.thetaMax);
  const tauMax = positive("tauMax", options.tauMax ?? 10 * span);
  const grid = gridSize(options.grid, 40);
  let minDt = Number.POSITIVE_INFINITY;
  for (let i = 1; i < n; i++) minDt = Math.min(minDt, p.times[i]! - p.times[i - 1]!);
  const tauMin = Math.min(minDt / 10, tauMax / 1e3);

  const g = new Float64Array(n);
  // Objective over (ln τ, θ), θ kept in [0, thetaMax] and τ in [tauMin, tauMax].
  const objective = (logTau: number, theta: number): number => {
    const tau = Math.exp(Math.min(Math.log(tauMax), Math.max(Math.log(tauMin), logTau)));
    const th = Math.min(thetaMax, Math.max(0, theta));
    simulateUnit(p.times, p.du, tau, th, g);
    // Penalise leaving the box so the simplex returns inside it.
    const outside = Math.abs(th - theta) + Math.abs(Math.log(tau) - logTau);
    return solveGainOffset(g, p.y).sse * (1 + outside);
  };

  const logMin = Math.log(tauMin);
  const logMax = Math.log(tauMax);
  let bestL = logMin;
  let bestT = 0;
  let bestF = Number.POSITIVE_INFINITY;
  for (let a = 0; a < grid; a++) {
    const logTau = logMin + ((logMax - logMin) * a) / (grid - 1);
    for (let b = 0; b < grid; b++) {
      const theta = (thetaMax * b) / (grid - 1);
      const f = objective(logTau, theta);
      if (f < bestF) {
        bestF = f;
        bestL = logTau;
        bestT = theta;
      }
    }
  }
  const [logTau, theta] = nelderMead2(
    objective,
    [bestL, bestT],
    [(logMax - logMin) / (grid - 1), thetaMax / (grid - 1)],
    400,
  );
  const tau = Math.exp(Math.min(logMax, Math.max(logMin, logTau)));
  const th = Math.min(thetaMax, Math.max(0, theta));
  simulateUnit(p.times, p.du, tau, th, g);
  const { gain, offset } = solveGainOffset(g, p.y);
  return {
    model: "fopdt",
    gain,
    tau,
    theta: th,
    offset,
    inputOffset: p.u0,
    ...quality(p.y, g, gain, offset),
  };
}

/**
 * Fits k·e^{−θs}/s to open-loop data: the output's slope follows the input's
 * deviation from `input[0]` after the dead time (so `input[0]` must be the
 * balance input at which the output is steady — for a queue, the admission
 * rate equal to the service rate).
 */
export function identifyIntegrating(
  data: StepTestData,
  options: IdentifyIntegratingOptions = {},
): IntegratingFit {
  checkKeys("identifyIntegrating", options, ["thetaMax", "grid"]);
  const p = prepare(data);
  const n = p.times.length;
  const thetaMax = thetaLimit(p, options.thetaMax);
  const grid = gridSize(options.grid, 200);
  const h = new Float64Array(n);
  const objective = (theta: number): number => {
    simulateUnit(p.times, p.du, INTEGRATOR, theta, h);
    return solveGainOffset(h, p.y).sse;
  };
  let best = 0;
  let bestF = Number.POSITIVE_INFINITY;
  for (let b = 0; b < grid; b++) {
    const f = objective((thetaMax * b) / (grid - 1));
    if (f < bestF) {
      bestF = f;
      best = b;
    }
  }
  // Golden-section search in the bracket around the best grid point.
  const stepSize = thetaMax / (grid - 1);
  let lo = Math.max(0, (best - 1) * stepSize);
  let hi = Math.min(thetaMax, (best + 1) * stepSize);
  const r = (Math.sqrt(5) - 1) / 2;
  let c = hi - r * (hi - lo);
  let d = lo + r * (hi - lo);
  let fc = objective(c);
  let fd = objective(d);
  for (let k = 0; k < 100 && hi - lo > 1e-12 * (1 + thetaMax); k++) {
    if (fc < fd) {
      hi = d;
      d = c;
      fd = fc;
      c = hi - r * (hi - lo);
      fc = objective(c);
    } else {
      lo = c;
      c = d;
      fc = fd;
      d = lo + r * (hi - lo);
      fd = objective(d);
    }
  }
  let theta = (lo + hi) / 2;
  if (objective(theta) > bestF) theta = best * stepSize;
  simulateUnit(p.times, p.du, INTEGRATOR, theta, h);
  const { gain, offset } = solveGainOffset(h, p.y);
  return { model: "integrating", gain, theta, offset, inputOffset: p.u0, ...quality(p.y, h, gain, offset) };
}
