/**
 * PID tuning rules from process models: first-order-plus-dead-time (FOPDT)
 * K·e^{−θs}/(τs + 1), integrating-plus-dead-time k·e^{−θs}/s, and the
 * ultimate cycle (Ku, Tu) from a relay experiment.
 *
 * Every rule returns the same plain object. The published formulas give a
 * gain Kc, an integral time Ti and a derivative time Td in the *ideal* (ISA
 * standard, non-interacting) form
 *
 *   C(s) = Kc·(1 + 1/(Ti·s) + Td·s),
 *
 * or, for SIMC PID, in the *series* (interacting) form
 *
 *   C(s) = Kc·(1 + 1/(Ti·s))·(1 + Td·s).
 *
 * `form` records which one the source uses; series settings are first
 * converted to the ideal form (Åström & Hägglund, *PID Controllers: Theory,
 * Design and Tuning*, 2nd ed., ISA 1995, ch. 3: Kc' = Kc(1 + Td/Ti),
 * Ti' = Ti + Td, Td' = Ti·Td/(Ti + Td)). The result then gives the ideal
 * `ti`, `td` and the parallel gains our `Pid` uses: kp = Kc, ki = Kc/Ti,
 * kd = Kc·Td.
 */
import { checkKeys, checkNumber, checkObject, nonNegative, oneOf, positive } from "./validate.js";

/** First-order-plus-dead-time model G(s) = gain·e^{−theta·s}/(tau·s + 1). */
export interface FopdtModel {
  /** Static gain K, output units per input unit (non-zero; negative for reverse-acting plants). */
  gain: number;
  /** Time constant τ, seconds (> 0). */
  tau: number;
  /** Dead time θ, seconds (≥ 0; most rules need θ > 0). */
  theta: number;
}

/** Integrating-plus-dead-time model G(s) = gain·e^{−theta·s}/s (a queue: backlog integrates the rate). */
export interface IntegratingModel {
  /** Velocity gain k: output slope per unit input, 1/s (non-zero). */
  gain: number;
  /** Dead time θ, seconds (≥ 0). */
  theta: number;
}

/** Ultimate cycle: the proportional gain Ku that puts the loop at the stability limit, and the period Tu. */
export interface UltimateCycle {
  /** Ultimate gain Ku (> 0). */
  ku: number;
  /** Ultimate period Tu, seconds (> 0). */
  tu: number;
}

/** Controller structure a rule is asked for. */
export type ControllerType = "P" | "PI" | "PID";

/** Form in which a rule's published formula states Kc, Ti, Td. */
export type ControllerForm = "ideal" | "series";

/** Result of a tuning rule; `kp`, `ki`, `kd` plug into `Pid`. */
export interface TuningResult {
  /** Rule name: "ziegler-nichols-step", "ziegler-nichols-ultimate", "cohen-coon", "amigo", ... */
  rule: string;
  /** Controller structure the settings are for. */
  controller: ControllerType;
  /** Form of the published formula (settings below are converted to parallel/ideal). */
  form: ControllerForm;
  /** Proportional gain (= ideal Kc). */
  kp: number;
  /** Integral gain kp/ti, 1/s (0 without integral action). */
  ki: number;
  /** Derivative gain kp·td, seconds (0 without derivative action). */
  kd: number;
  /** Ideal-form integral time, seconds (∞ without integral action). */
  ti: number;
  /** Ideal-form derivative time, seconds (0 without derivative action). */
  td: number;
  /** Design closed-loop time constant τc or λ used, seconds (NaN for rules without one). */
  tauC: number;
}

/** Options of the rules that only choose the controller structure. */
export interface RuleOptions {
  /** Controller structure. Default "PID" (rules that only have PI settings default to "PI"). */
  controller?: ControllerType;
}

/** Options of `simc` and `simcIntegrating`. */
export interface SimcOptions {
  /** Desired closed-loop time constant τc, seconds (> 0 when θ = 0). Default θ (Skogestad's choice for tight control). */
  tauC?: number;
}

/** Options of `lambdaTuning`, `lambdaIntegrating` and `imc`. */
export interface LambdaOptions {
  /** Desired closed-loop time constant λ, seconds (> 0). Required: it is the design choice. */
  lambda: number;
}

function nonZero(name: string, value: unknown): number {
  return checkNumber(name, value, "a non-zero finite number", (v) => v !== 0 && Number.isFinite(v));
}

/** SIMC's τc: the option, or θ by default (then θ must be positive). */
function tauCOf(options: SimcOptions | undefined, theta: number): number {
  if (options !== undefined) checkKeys("SIMC", options, ["tauC"]);
  const tauC = options?.tauC ?? theta;
  return checkNumber(
    "tauC",
    tauC,
    "a positive number (needed when theta is 0)",
    (v) => Number.isFinite(v) && v > 0,
  );
}

function fopdt(model: FopdtModel, needTheta: boolean): { K: number; T: number; L: number } {
  checkObject("model", model);
  return {
    K: nonZero("gain", model.gain),
    T: positive("tau", model.tau),
    L: needTheta ? positive("theta", model.theta) : nonNegative("theta", model.theta),
  };
}

function integrating(model: IntegratingModel, needTheta: boolean): { k: number; L: number } {
  checkObject("model", model);
  return {
    k: nonZero("gain", model.gain),
    L: needTheta ? positive("theta", model.theta) : nonNegative("theta", model.theta),
  };
}

/** The λ of lambda tuning and IMC: required, positive. */
function lambdaOf(options: LambdaOptions): number {
  checkObject("options", options);
  checkKeys("lambda tuning", options, ["lambda"]);
  return positive("lambda", options.lambda);
}

function controllerOf(options: RuleOptions | undefined, allowed: readonly ControllerType[]): ControllerType {
  if (options !== undefined) checkKeys("tuning rule", options, ["controller"]);
  return oneOf("controller", options?.controller ?? allowed[allowed.length - 1]!, allowed);
}

/** Builds the result from ideal-form settings (ti = ∞ / td = 0 when absent). */
function result(
  rule: string,
  controller: ControllerType,
  form: ControllerForm,
  kc: number,
  ti: number,
  td: number,
  tauC = Number.NaN,
): TuningResult {
  return {
    rule,
    controller,
    form,
    kp: kc,
    ki: Number.isFinite(ti) ? kc / ti : 0,
    kd: kc * td,
    ti,
    td,
    tauC,
  };
}

/**
 * Converts series (interacting) settings Kc·(1 + 1/(Ti s))·(1 + Td s) to the
 * ideal form (Åström & Hägglund 1995, ch. 3).
 */
export function seriesToIdeal(kc: number, ti: number, td: number): { kc: number; ti: number; td: number } {
  if (!Number.isFinite(ti)) return { kc, ti, td };
  return { kc: kc * (1 + td / ti), ti: ti + td, td: (ti * td) / (ti + td) };
}

/**
 * Ziegler–Nichols step-response (reaction-curve) rule, Ziegler & Nichols,
 * "Optimum settings for automatic controllers", Trans. ASME 64 (1942)
 * 759–768, with the FOPDT model's tangent: a = K·θ/τ.
 * P: Kc = 1/a. PI: Kc = 0.9/a, Ti = θ/0.3 (≈ 3.33θ). PID: Kc = 1.2/a,
 * Ti = 2θ, Td = θ/2. Ideal form, as Åström & Hägglund (1995) apply them (their
 * PI table rounds Ti to 3θ; we keep the original θ/0.3).
 */
export function zieglerNicholsStep(model: FopdtModel, options?: RuleOptions): TuningResult {
  const { K, T, L } = fopdt(model, true);
  const c = controllerOf(options, ["P", "PI", "PID"]);
  const a = (K * L) / T;
  const rule = "ziegler-nichols-step";
  if (c === "P") return result(rule, c, "ideal", 1 / a, Number.POSITIVE_INFINITY, 0);
  if (c === "PI") return result(rule, c, "ideal", 0.9 / a, L / 0.3, 0);
  return result(rule, c, "ideal", 1.2 / a, 2 * L, L / 2);
}

/**
 * Ziegler–Nichols ultimate-cycle (frequency-response) rule, Ziegler &
 * Nichols (1942): P: Kc = 0.5Ku. PI: Kc = 0.45Ku, Ti = Tu/1.2. PID:
 * Kc = 0.6Ku, Ti = Tu/2, Td = Tu/8. Ideal form.
 */
export function zieglerNicholsUltimate(cycle: UltimateCycle, options?: RuleOptions): TuningResult {
  checkObject("cycle", cycle);
  const ku = positive("ku", cycle.ku);
  const tu = positive("tu", cycle.tu);
  const c = controllerOf(options, ["P", "PI", "PID"]);
  const rule = "ziegler-nichols-ultimate";
  if (c === "P") return result(rule, c, "ideal", 0.5 * ku, Number.POSITIVE_INFINITY, 0);
  if (c === "PI") return result(rule, c, "ideal", 0.45 * ku, tu / 1.2, 0);
  return result(rule, c, "ideal", 0.6 * ku, tu / 2, tu / 8);
}

/**
 * Cohen–Coon rule, Cohen & Coon, "Theoretical consideration of retarded
 * control", Trans. ASME 75 (1953) 827–834, with r = θ/τ:
 * P: Kc = (τ/(Kθ))(1 + r/3).
 * PI: Kc = (τ/(Kθ))(0.9 + r/12), Ti = θ(30 + 3r)/(9 + 20r).
 * PID: Kc = (τ/(Kθ))(4/3 + r/4), Ti = θ(32 + 6r)/(13 + 8r), Td = 4θ/(11 + 2r).
 * Ideal form.
 */
export function cohenCoon(model: FopdtModel, options?: RuleOptions): TuningResult {
  const { K, T, L } = fopdt(model, true);
  const c = controllerOf(options, ["P", "PI", "PID"]);
  const r = L / T;
  const base = T / (K * L);
  const rule = "cohen-coon";
  if (c === "P") return result(rule, c, "ideal", base * (1 + r / 3), Number.POSITIVE_INFINITY, 0);
  if (c === "PI")
    return result(rule, c, "ideal", base * (0.9 + r / 12), (L * (30 + 3 * r)) / (9 + 20 * r), 0);
  return result(
    rule,
    c,
    "ideal",
    base * (4 / 3 + r / 4),
    (L * (32 + 6 * r)) / (13 + 8 * r),
    (4 * L) / (11 + 2 * r),
  );
}

/**
 * AMIGO step-response rules (Åström & Hägglund, "Revisiting the
 * Ziegler–Nichols step response method for PID control", J. Process Control
 * 14 (2004) 635–650; *Advanced PID Control*, ISA 2006), robust
 * (Ms ≈ 1.4) settings for FOPDT models, with T = τ, L = θ:
 * PI: Kc = 0.15/K + (0.35 − LT/(L + T)²)·T/(K·L),
 *     Ti = 0.35L + 13LT²/(T² + 12LT + 7L²).
 * PID: Kc = (0.2 + 0.45T/L)/K, Ti = L(0.4L + 0.8T)/(L + 0.1T),
 *      Td = 0.5LT/(0.3L + T).
 * Ideal form. (The sources also recommend set-point weighting, not included.)
 */
export function amigo(model: FopdtModel, options?: RuleOptions): TuningResult {
  const { K, T, L } = fopdt(model, true);
  const c = controllerOf(options, ["PI", "PID"]);
  if (c === "PI") {
    const kc = 0.15 / K + ((0.35 - (L * T) / ((L + T) * (L + T))) * T) / (K * L);
    const ti = 0.35 * L + (13 * L * T * T) / (T * T + 12 * L * T + 7 * L * L);
    return result("amigo", c, "ideal", kc, ti, 0);
  }
  const kc = (0.2 + (0.45 * T) / L) / K;
  const ti = (L * (0.4 * L + 0.8 * T)) / (L + 0.1 * T);
  const td = (0.5 * L * T) / (0.3 * L + T);
  return result("amigo", c, "ideal", kc, ti, td);
}

/**
 * AMIGO rules for integrating processes k·e^{−θs}/s (the T → ∞ limits of
 * `amigo` with K/T = k, as given by Åström & Hägglund 2006):
 * PI: Kc = 0.35/(kθ), Ti = 13.4θ. PID: Kc = 0.45/(kθ), Ti = 8θ, Td = 0.5θ.
 * Ideal form.
 */
export function amigoIntegrating(model: IntegratingModel, options?: RuleOptions): TuningResult {
  const { k, L } = integrating(model, true);
  const c = controllerOf(options, ["PI", "PID"]);
  if (c === "PI") return result("amigo-integrating", c, "ideal", 0.35 / (k * L), 13.4 * L, 0);
  return result("amigo-integrating", c, "ideal", 0.45 / (k * L), 8 * L, 0.5 * L);
}

/**
 * SIMC rule (Skogestad, "Simple analytic rules for model reduction and PID
 * controller tuning", J. Process Control 13 (2003) 291–309):
 * Kc = τ1/(K(τc + θ)), Ti = min(τ1, 4(τc + θ)), default τc = θ. A FOPDT model
 * gives a PI controller; a second-order model (pass `tau2`, the smaller time
 * constant τ2 of K·e^{−θs}/((τ1 s + 1)(τ2 s + 1))) adds Td = τ2 in the series
 * form, converted here to the ideal form.
 */
export function simc(model: FopdtModel & { tau2?: number }, options?: SimcOptions): TuningResult {
  const { K, T, L } = fopdt(model, false);
  const tauC = tauCOf(options, L);
  const kc = T / (K * (tauC + L));
  const ti = Math.min(T, 4 * (tauC + L));
  if (model.tau2 === undefined) return result("simc", "PI", "ideal", kc, ti, 0, tauC);
  const tau2 = nonNegative("tau2", model.tau2);
  const ideal = seriesToIdeal(kc, ti, tau2);
  return result("simc", "PID", "series", ideal.kc, ideal.ti, ideal.td, tauC);
}

/**
 * SIMC rule for integrating processes k·e^{−θs}/s (Skogestad 2003):
 * Kc = 1/(k(τc + θ)), Ti = 4(τc + θ), default τc = θ. PI, ideal form.
 */
export function simcIntegrating(model: IntegratingModel, options?: SimcOptions): TuningResult {
  const { k, L } = integrating(model, false);
  const tauC = tauCOf(options, L);
  return result("simc-integrating", "PI", "ideal", 1 / (k * (tauC + L)), 4 * (tauC + L), 0, tauC);
}

/**
 * Lambda tuning (Dahlin 1968; IMC with e^{−θs} ≈ 1 − θs, see Åström &
 * Hägglund 2006): the closed loop responds like e^{−θs}/(λs + 1).
 * PI: Kc = τ/(K(λ + θ)), Ti = τ. Ideal form.
 */
export function lambdaTuning(model: FopdtModel, options: LambdaOptions): TuningResult {
  const { K, T, L } = fopdt(model, false);
  const lambda = lambdaOf(options);
  return result("lambda", "PI", "ideal", T / (K * (lambda + L)), T, 0, lambda);
}

/**
 * Lambda tuning for integrating processes k·e^{−θs}/s: IMC with the filter
 * ((2λ + θ)s + 1)/(λs + 1)² and e^{−θs} ≈ 1 − θs gives exactly a PI
 * controller, Kc = (2λ + θ)/(k(λ + θ)²), Ti = 2λ + θ. Ideal form.
 */
export function lambdaIntegrating(model: IntegratingModel, options: LambdaOptions): TuningResult {
  const { k, L } = integrating(model, false);
  const lambda = lambdaOf(options);
  return result(
    "lambda-integrating",
    "PI",
    "ideal",
    (2 * lambda + L) / (k * (lambda + L) * (lambda + L)),
    2 * lambda + L,
    0,
    lambda,
  );
}

/**
 * IMC-PID for FOPDT (Rivera, Morari & Skogestad, "Internal model control. 4.
 * PID controller design", Ind. Eng. Chem. Process Des. Dev. 25 (1986)
 * 252–265): with the first-order Padé e^{−θs} ≈ (1 − θs/2)/(1 + θs/2) and the
 * filter 1/(λs + 1), the IMC controller is exactly an ideal PID,
 * Kc = (2τ + θ)/(K(2λ + θ)), Ti = τ + θ/2, Td = τθ/(2τ + θ). The authors
 * recommend λ > 0.8θ.
 */
export function imc(model: FopdtModel, options: LambdaOptions): TuningResult {
  const { K, T, L } = fopdt(model, false);
  const lambda = lambdaOf(options);
  return result(
    "imc",
    "PID",
    "ideal",
    (2 * T + L) / (K * (2 * lambda + L)),
    T + L / 2,
    (T * L) / (2 * T + L),
    lambda,
  );
}
