/**
 * Robustness of a PID loop on a process model: the maximum sensitivity Ms,
 * the complementary Mt, the gain and phase margins and the crossover
 * frequency, for the continuous loop L(s) = C(s)·G(s) or for the sampled
 * loop the `Pid` of this toolbox really runs.
 *
 * The sampled loop is exact, not an approximation by a half-sample delay:
 * the process is discretized with a zero-order hold (the actuator holds
 * each output over the sample), dead time included. For θ = d·h + ε
 * (0 ≤ ε < h) the pulse transfer functions are (Åström & Wittenmark,
 * *Computer-Controlled Systems*, 3rd ed., §2.3, time delays via the
 * modified z-transform):
 *
 *   integrating k·e^{−θs}/s:      G(z) = k·z^{−d}·((h − ε)·z + ε) / (z·(z − 1))
 *   FOPDT K·e^{−θs}/(τs + 1):     G(z) = K·z^{−d}·(b₁·z + b₂) / (z·(z − a)),
 *                                 a = e^{−h/τ}, b₁ = 1 − e^{−(h−ε)/τ}, b₂ = e^{−(h−ε)/τ} − a,
 *
 * and the controller is `Pid`'s discretization: backward-Euler integral and
 * backward-difference derivative,
 *
 *   C(z) = kp + ki·h·z/(z − 1) + kd·(z − 1)/(h·z),
 *
 * times the Pid's measurement filter when it has one (`measurementTau` τf,
 * y_f,k = a·y_f,k−1 + (1 − a)·y_k): F(z) = (1 − a)·z/(z − a), a = e^{−h/τf};
 * continuous, F(s) = 1/(τf·s + 1).
 *
 * Frequencies run up to the Nyquist frequency π/h, where a real-coefficient
 * L(e^{jπ}) is real: a loop whose phase reaches −180° only there (an
 * integrator under P control, L = K/(z − 1)) has its gain margin 2/K there.
 *
 * Definitions (python-control's `stability_margins` and Åström & Murray,
 * *Feedback Systems*, §9.3 and §12.2): Ms = max_ω |1/(1 + L)|, Mt =
 * max_ω |L/(1 + L)|; gain margin = 1/|L(jω₁₈₀)| at the phase crossover of
 * smallest margin (∞ when the phase never reaches −180°); phase margin =
 * 180° + ∠L(jωc) at the first gain crossover ωc, |L(jωc)| = 1 (NaN when
 * |L| never crosses 1); delay margin = PM/ωc (in radians over rad/s): the
 * extra dead time that brings the loop to the stability limit — exact for
 * a continuous loop and, sampled, for whole samples of extra delay (z^{−d}
 * is e^{−jωdh}), approximate in between. Checked against Skogestad's published SIMC figures
 * (integrating process, τc = θ: Ms 1.70, GM 2.96, PM 46.9°) and against
 * hand-computed discrete cases (test/control/margins.test.ts).
 */
import type { FopdtModel, IntegratingModel } from "./tuning.js";
import { checkKeys, checkNumber, checkObject, finite, nonNegative, positive } from "./validate.js";

/** A process model: integrating (`{ gain, theta }`) or first order plus dead time (`{ gain, tau, theta }`). */
export type ProcessModel = IntegratingModel | FopdtModel;

/** Gains of a parallel PID, as `Pid` takes them. */
export interface PidGains {
  /** Proportional gain, ≥ 0. */
  kp: number;
  /** Integral gain, 1/s, ≥ 0. */
  ki: number;
  /** Derivative gain, s, ≥ 0. Default 0. */
  kd?: number;
}

/** Options of `loopMargins`. */
export interface MarginOptions {
  /**
   * Sample period h, seconds: analyse the sampled loop (ZOH process, `Pid`'s
   * discretization); `null` for the continuous loop. Default `null`.
   */
  sampleTime?: number | null;
  /** Frequency points of the search grid (log-spaced; each extremum is then refined). Default 4000. */
  points?: number;
  /** Time constant of the Pid's measurement filter, seconds, ≥ 0 (`PidOptions.measurementTau`); 0 = none. Default 0. */
  measurementTau?: number;
}

/** Robustness figures of a loop (see the module comment); plain numbers. */
export interface LoopMargins {
  /** Maximum sensitivity max|1/(1 + L)| (∞ when 1 + L vanishes on the axis). */
  ms: number;
  /** Maximum complementary sensitivity max|L/(1 + L)|. */
  mt: number;
  /** Gain margin, a factor (∞ when the phase never reaches −180°). */
  gainMargin: number;
  /** Phase margin, degrees (NaN without a gain crossover). */
  phaseMargin: number;
  /** Gain crossover frequency ωc, rad/s (NaN without one). */
  crossover: number;
  /** Phase crossover frequency ω₁₈₀ of the gain margin, rad/s (NaN without one). */
  phaseCrossover: number;
  /** ωc·h, the crossover in radians per sample (NaN for a continuous loop). */
  crossoverPerSample: number;
  /** Delay margin PM/ωc, seconds: the extra dead time the loop tolerates before it goes unstable (NaN without a crossover). */
  delayMargin: number;
  /** The sample period analysed, seconds, or null (continuous). */
  sampleTime: number | null;
}

type Complex = [number, number];

const mul = (a: Complex, b: Complex): Complex => [a[0] * b[0] - a[1] * b[1], a[0] * b[1] + a[1] * b[0]];
const div = (a: Complex, b: Complex): Complex => {
  const d = b[0] * b[0] + b[1] * b[1];
  return [(a[0] * b[0] + a[1] * b[1]) / d, (a[1] * b[0] - a[0] * b[1]) / d];
};
const abs = (a: Complex): number => Math.hypot(a[0], a[1]);
const expj = (phi: number): Complex => [Math.cos(phi), Math.sin(phi)];

function checkModel(model: ProcessModel): { gain: number; theta: number; tau: number | null } {
  checkObject("model", model);
  const gain = checkNumber(
    "gain",
    model.gain,
    "a non-zero finite number",
    (v) => v !== 0 && Number.isFinite(v),
  );
  const theta = nonNegative("theta", model.theta);
  const tau = "tau" in model && model.tau !== undefined ? positive("tau", model.tau) : null;
  return { gain, theta, tau };
}

/**
 * The loop transfer function L at frequency ω (rad/s): continuous, or the
 * sampled loop at z = e^{jωh} (see the module comment).
 */
export function loopResponse(
  model: ProcessModel,
  gains: PidGains,
  omega: number,
  sampleTime: number | null = null,
  measurementTau = 0,
): Complex {
  const { gain, theta, tau } = checkModel(model);
  const kp = nonNegative("kp", gains.kp);
  const ki = nonNegative("ki", gains.ki);
  const kd = nonNegative("kd", gains.kd ?? 0);
  const tf = nonNegative("measurementTau", measurementTau);
  return evaluate(gain, theta, tau, kp, ki, kd, sampleTime, omega, tf);
}

function evaluate(
  gain: number,
  theta: number,
  tau: number | null,
  kp: number,
  ki: number,
  kd: number,
  h: number | null,
  w: number,
  tf = 0,
): Complex {
  if (h === null) {
    const s: Complex = [0, w];
    const plant = div(mul([gain, 0], expj(-w * theta)), tau === null ? s : [1, w * tau]);
    const controller: Complex = [kp, ki === 0 ? kd * w : kd * w - ki / w];
    const loop = mul(controller, plant);
    return tf > 0 ? div(loop, [1, w * tf]) : loop;
  }
  const z = expj(w * h);
  const zm1: Complex = [z[0] - 1, z[1]];
  // Whole samples of dead time and the fraction left (rounding: 0.3/0.1 is 2.9999…).
  let d = Math.floor(theta / h + 1e-9);
  let eps = theta - d * h;
  if (eps < 1e-12 * h) eps = 0;
  if (eps > h) {
    d += 1;
    eps = 0;
  }
  let numerator: Complex;
  let denominator: Complex;
  if (tau === null) {
    numerator = [(h - eps) * z[0] + eps, (h - eps) * z[1]];
    denominator = mul(z, zm1);
  } else {
    const a = Math.exp(-h / tau);
    const r = Math.exp(-(h - eps) / tau);
    numerator = [(1 - r) * z[0] + (r - a), (1 - r) * z[1]];
    denominator = mul(z, [z[0] - a, z[1]]);
  }
  const plant = mul([gain, 0], mul(div(numerator, denominator), expj(-w * h * d)));
  let controller: Complex = [kp, 0];
  if (ki > 0) {
    const integral = div(z, zm1);
    controller = [controller[0] + ki * h * integral[0], controller[1] + ki * h * integral[1]];
  }
  if (kd > 0) {
    const derivative = div(zm1, z);
    controller = [controller[0] + (kd / h) * derivative[0], controller[1] + (kd / h) * derivative[1]];
  }
  if (tf > 0) {
    const a = Math.exp(-h / tf);
    controller = mul(controller, div([(1 - a) * z[0], (1 - a) * z[1]], [z[0] - a, z[1]]));
  }
  return mul(controller, plant);
}

/** The angle of b relative to a, in (−π, π]: keeps an unwrapped phase continuous between close points. */
function phaseStep(a: Complex, b: Complex): number {
  return Math.atan2(a[0] * b[1] - a[1] * b[0], a[0] * b[0] + a[1] * b[1]);
}

/**
 * Ms, Mt, gain and phase margins and crossover of the loop `gains` × `model`
 * (see the module comment for the definitions and the sampled loop).
 */
export function loopMargins(model: ProcessModel, gains: PidGains, options: MarginOptions = {}): LoopMargins {
  checkObject("gains", gains);
  checkKeys("MarginOptions", options, ["sampleTime", "points", "measurementTau"]);
  const { gain, theta, tau } = checkModel(model);
  const kp = nonNegative("kp", gains.kp);
  const ki = nonNegative("ki", gains.ki);
  const kd = nonNegative("kd", gains.kd ?? 0);
  if (kp === 0 && ki === 0 && kd === 0)
    throw new RangeError("Expected at least one of kp, ki, kd to be positive");
  const h =
    options.sampleTime === undefined || options.sampleTime === null
      ? null
      : positive("sampleTime", options.sampleTime);
  const points = checkNumber(
    "points",
    options.points ?? 4000,
    "an integer ≥ 100",
    (v) => Number.isInteger(v) && v >= 100,
  );
  const tf = nonNegative("measurementTau", options.measurementTau ?? 0);
  const L = (w: number) => evaluate(gain, theta, tau, kp, ki, kd, h, w, tf);

  // The grid spans four decades below the loop's fastest time scale up to
  // Nyquist (sampled) or three decades past it (continuous).
  const scales = [theta, tau ?? 0, h ?? 0, tf].filter((v) => v > 0);
  const fast = scales.length > 0 ? Math.min(...scales) : 1 / Math.max(1e-9, Math.abs(gain) * (kp + ki + kd));
  const slow = Math.max(...scales, ki > 0 ? kp / ki : 0, fast);
  const top = h === null ? 1000 / fast : Math.PI / h;
  const bottom = Math.min(1e-4 / slow, top * 1e-6);
  const ws: number[] = [];
  const ratio = Math.log(top / bottom) / (points - 1);
  for (let i = 0; i < points; i++) ws.push(bottom * Math.exp(i * ratio));
  ws[points - 1] = top;

  const values = ws.map(L);
  // Unwrapped phase along the grid.
  const phases = new Array<number>(points);
  phases[0] = Math.atan2(values[0]![1], values[0]![0]);
  for (let i = 1; i < points; i++) phases[i] = phases[i - 1]! + phaseStep(values[i - 1]!, values[i]!);

  const sens = (w: number) => 1 / abs(addOne(L(w)));
  const comp = (w: number) => {
    const l = L(w);
    return abs(l) / abs(addOne(l));
  };
  const ms = refineMax(sens, ws, ws.map(sens));
  const mt = refineMax(comp, ws, ws.map(comp));

  // First gain crossover: |L| goes from ≥ 1 to < 1.
  let crossover = Number.NaN;
  let phaseMargin = Number.NaN;
  for (let i = 1; i < points; i++) {
    const a = abs(values[i - 1]!) - 1;
    const b = abs(values[i]!) - 1;
    if (a >= 0 && b < 0) {
      crossover = bisect((w) => abs(L(w)) - 1, ws[i - 1]!, ws[i]!);
      const phase = phases[i - 1]! + phaseStep(values[i - 1]!, L(crossover));
      phaseMargin = 180 + (phase * 180) / Math.PI;
      break;
    }
  }

  // Phase crossovers: the unwrapped phase passes an odd multiple of −π.
  let gainMargin = Number.POSITIVE_INFINITY;
  let phaseCrossover = Number.NaN;
  const consider = (w: number) => {
    const margin = 1 / abs(L(w));
    if (margin < gainMargin) {
      gainMargin = margin;
      phaseCrossover = w;
    }
  };
  const level = (phase: number) => Math.floor((phase + Math.PI) / (2 * Math.PI));
  for (let i = 1; i < points; i++) {
    const a = phases[i - 1]!;
    const b = phases[i]!;
    if (level(a) === level(b)) continue;
    const target = 2 * Math.PI * Math.max(level(a), level(b)) - Math.PI;
    const at = (w: number) => a + phaseStep(values[i - 1]!, L(w)) - target;
    consider(bisect(at, ws[i - 1]!, ws[i]!));
  }
  if (h !== null) {
    // At Nyquist L is real: a negative value is a phase crossover the grid's end may touch without passing.
    const end = values[points - 1]!;
    if (end[0] < 0 && Math.abs(end[1]) <= 1e-9 * Math.abs(end[0])) consider(top);
  }
  return {
    ms,
    mt,
    gainMargin,
    phaseMargin,
    crossover,
    phaseCrossover,
    crossoverPerSample: h === null ? Number.NaN : crossover * h,
    delayMargin: (phaseMargin * Math.PI) / 180 / crossover,
    sampleTime: h,
  };
}

function addOne(a: Complex): Complex {
  return [1 + a[0], a[1]];
}

/** Bisection for a sign change of f on [lo, hi] (f(lo) and f(hi) of opposite signs or zero). */
function bisect(f: (w: number) => number, lo: number, hi: number): number {
  let flo = f(lo);
  if (flo === 0) return lo;
  for (let k = 0; k < 80; k++) {
    const mid = Math.sqrt(lo * hi);
    const fm = f(mid);
    if (fm === 0) return mid;
    if (fm > 0 === flo > 0) {
      lo = mid;
      flo = fm;
    } else hi = mid;
    if (hi / lo - 1 < 1e-13) break;
  }
  return Math.sqrt(lo * hi);
}

/** The largest value of f, from the grid's best point refined by golden-section search on its neighbours. */
function refineMax(f: (w: number) => number, ws: readonly number[], values: readonly number[]): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i]! > values[best]!) best = i;
  if (!Number.isFinite(values[best]!)) return Number.POSITIVE_INFINITY;
  let lo = Math.log(ws[Math.max(0, best - 1)]!);
  let hi = Math.log(ws[Math.min(ws.length - 1, best + 1)]!);
  const g = (Math.sqrt(5) - 1) / 2;
  let x1 = hi - g * (hi - lo);
  let x2 = lo + g * (hi - lo);
  let f1 = f(Math.exp(x1));
  let f2 = f(Math.exp(x2));
  for (let k = 0; k < 60 && hi - lo > 1e-12; k++) {
    if (f1 > f2) {
      hi = x2;
      x2 = x1;
      f2 = f1;
      x1 = hi - g * (hi - lo);
      f1 = f(Math.exp(x1));
    } else {
      lo = x1;
      x1 = x2;
      f1 = f2;
      x2 = lo + g * (hi - lo);
      f2 = f(Math.exp(x2));
    }
  }
  return Math.max(values[best]!, f1, f2);
}

/** Limits a sampled design must meet (`simcSampled`). */
export interface SampledLimits {
  /** Largest discrete Ms. Default 1.6. */
  maxMs?: number;
  /** Largest ωc·h, radians per sample. Default 0.5. */
  maxCrossoverPerSample?: number;
}

/** Checks the limits object and fills its defaults. */
export function sampledLimits(limits: SampledLimits = {}): Required<SampledLimits> {
  checkKeys("SampledLimits", limits, ["maxMs", "maxCrossoverPerSample"]);
  return {
    maxMs: checkNumber("maxMs", limits.maxMs ?? 1.6, "a number > 1", (v) => v > 1 && Number.isFinite(v)),
    maxCrossoverPerSample: positive(
      "maxCrossoverPerSample",
      finite("maxCrossoverPerSample", limits.maxCrossoverPerSample ?? 0.5),
    ),
  };
}

/** What a sampled SIMC design counts besides the process model (`simcSampled`). */
export interface SampledDesignOptions extends SampledLimits {
  /** Closed-loop time constant, seconds: used as given instead of searched for. */
  tauC?: number;
  /**
   * Time constant of the Pid's measurement filter, seconds, ≥ 0: a lag
   * inside the loop, counted whole in θ_eff and exactly in the margins.
   * Default 0.
   */
  measurementTau?: number;
  /**
   * Staleness budget, seconds, ≥ 0: how much older than the model says the
   * reading may be (a lagging meter). The loop must meet `maxMs` with that
   * much more dead time too, so its delay margin covers the budget with
   * Ms to spare. Default 0.
   */
  staleness?: number;
}

/** A SIMC design for a sampled loop and the margins it has there (`simcSampled`). */
export interface SampledDesign {
  /** Proportional gain. */
  kp: number;
  /** Integral gain, 1/s. */
  ki: number;
  /** Closed-loop time constant chosen, seconds. */
  tauC: number;
  /** Dead time the rule used: θ + h/2 (Skogestad's half rule for the hold) + the measurement filter's τf. */
  thetaEffective: number;
  /** The measurement filter designed for, seconds (0: none). */
  measurementTau: number;
  /** The staleness budget designed for, seconds (0: none). */
  staleness: number;
  /** The sampled loop's robustness with these gains on the model (and the filter). */
  margins: LoopMargins;
  /** The same loop with `staleness` more dead time (equal to `margins` without a budget). */
  staleMargins: LoopMargins;
  /** Whether the limits hold, nominally and with the budget (false only when `tauC` was given and is too tight). */
  withinLimits: boolean;
}

/**
 * SIMC PI (Skogestad 2003: integrating Kc = 1/(k(τc + θ)), Ti = 4(τc + θ);
 * FOPDT Kc = τ/(K(τc + θ)), Ti = min(τ, 4(τc + θ))) with θ_eff = θ + h/2
 * + τf (the hold's half sample, and the measurement filter as dead time),
 * and a τc that respects the sample time and the staleness budget Δ: the
 * smallest τc ≥ θ_eff for which the sampled loop (exact ZOH model and the
 * Pid's filter, `loopMargins`) has ωc·h ≤ `maxCrossoverPerSample` and
 * Ms ≤ `maxMs` both on the model and with Δ more dead time. Put the delays
 * you know of (the meter's age, the actuator's own lag) into the model's θ.
 * Skogestad's τc = θ alone collapses to h/2 when the fitted dead time is
 * ~0 and gives kp·h ≈ 1 on an integrator — close to deadbeat, ωc·h ≈ 1.2
 * and Ms ≈ 2.2 once sampled. A given `tauC` is used as is (`withinLimits`
 * says whether it meets the limits).
 */
export function simcSampled(
  model: ProcessModel,
  sampleTime: number,
  options: SampledDesignOptions = {},
): SampledDesign {
  checkKeys("simcSampled", options, [
    "maxMs",
    "maxCrossoverPerSample",
    "tauC",
    "measurementTau",
    "staleness",
  ]);
  const { tauC: given, measurementTau, staleness: budget, ...rest } = options;
  const limits = sampledLimits(rest);
  const h = positive("sampleTime", sampleTime);
  const tf = nonNegative("measurementTau", measurementTau ?? 0);
  const staleness = nonNegative("staleness", budget ?? 0);
  const { gain, theta, tau } = checkModel(model);
  const thetaEffective = theta + h / 2 + tf;
  const stale: ProcessModel =
    tau === null ? { gain, theta: theta + staleness } : { gain, tau, theta: theta + staleness };
  const gainsFor = (tc: number): PidGains => {
    if (tau === null)
      return {
        kp: 1 / (gain * (tc + thetaEffective)),
        ki: 1 / (gain * (tc + thetaEffective) * 4 * (tc + thetaEffective)),
      };
    const kc = tau / (gain * (tc + thetaEffective));
    return { kp: kc, ki: kc / Math.min(tau, 4 * (tc + thetaEffective)) };
  };
  const design = (tc: number): SampledDesign => {
    const g = gainsFor(tc);
    const margins = loopMargins(model, g, { sampleTime: h, measurementTau: tf });
    const staleMargins =
      staleness > 0 ? loopMargins(stale, g, { sampleTime: h, measurementTau: tf }) : margins;
    const withinLimits =
      margins.ms <= limits.maxMs &&
      staleMargins.ms <= limits.maxMs &&
      !(margins.crossoverPerSample > limits.maxCrossoverPerSample);
    return {
      kp: g.kp,
      ki: g.ki,
      tauC: tc,
      thetaEffective,
      measurementTau: tf,
      staleness,
      margins,
      staleMargins,
      withinLimits,
    };
  };
  if (given !== undefined) return design(positive("tauC", given));
  let low = thetaEffective;
  let best = design(low);
  if (best.withinLimits) return best;
  let high = 2 * low;
  let probe = design(high);
  for (let k = 0; k < 60 && !probe.withinLimits; k++) {
    low = high;
    high *= 2;
    probe = design(high);
  }
  best = probe;
  // The smallest τc that meets the limits, to 0.1 %.
  while (high / low - 1 > 1e-3) {
    const mid = Math.sqrt(low * high);
    const at = design(mid);
    if (at.withinLimits) {
      high = mid;
      best = at;
    } else low = mid;
  }
  return best;
}
