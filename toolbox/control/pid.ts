/**
 * A positional PID controller in parallel form,
 *
 *   u = kp·(b·r − y) + ki·∫(r − y) dt + kd·d/dt(c·r − y) + ff,
 *
 * that covers what Brett Beauregard's Arduino PID ("Improving the Beginner's
 * PID", 2011) and Python simple-pid do, plus the two-degree-of-freedom form,
 * derivative filter and back-calculation anti-windup of Åström & Hägglund,
 * "Advanced PID Control" (ISA 2006), ch. 3 (filtering, set-point weighting,
 * windup).
 *
 * Discretization: the integral uses backward Euler, I_k = I_{k−1} + ki·e_k·dt_k.
 * It uses the newest error (no sample of delay), it is what simple-pid and
 * Beauregard do, and it is the form whose increments are exactly the
 * velocity PID's ki·dt·e_k (see `VelocityPid`), so the two agree to rounding.
 * Trapezoidal integration would be more accurate on smooth signals but would
 * delay half of each error by one sample. The derivative uses the exact
 * solution of the first-order filter tf·ḋ + d = (c·r − y)′ for a signal that
 * is linear between samples: d_k = a·d_{k−1} + (1 − a)·Δ/dt with a = e^{−dt/tf};
 * it is stable for every dt and reduces to the backward difference Δ/dt when
 * tf = 0.
 */
import { type Controller, type ControllerParams, type Observation, observe } from "./controller.js";
import { SampleClock } from "./sample-clock.js";
import {
  bound,
  checkKeys,
  checkOrder,
  describe,
  finite,
  nonNegative,
  nullable,
  oneOf,
  picker,
  positive,
  positiveOrUnlimited,
} from "./validate.js";

/** `direct`: output rises when the measurement is below the setpoint; `reverse`: when it is above. */
export type PidDirection = "direct" | "reverse";
/** `auto`: the controller computes the output; `manual`: the output is held at `setManual`'s value. */
export type PidMode = "auto" | "manual";
/** How the integral is kept from winding up while the output is limited. */
export type AntiWindup = "clamp" | "backCalculation" | "none";
/** Numeric fields of an `Observation` that can drive the feedforward term. */
export type FeedforwardSignal = "arrivalRate" | "serviceRate" | "delay" | "latency" | "inflight";

export interface PidOptions {
  /** Proportional gain, output units per measurement unit, ≥ 0. Default 1 (as simple-pid). */
  kp?: number;
  /** Integral gain, output units per (measurement unit · s), ≥ 0. Default 0. */
  ki?: number;
  /** Derivative gain, output units · s per measurement unit, ≥ 0. Default 0. */
  kd?: number;
  /** Initial setpoint, in measurement units. Default 0. */
  setpoint?: number;
  /**
   * Fixed sample period in seconds, or `null`. Without a clock, `update(x)`
   * uses it as `dt`. With an injected `now`, an `update(x)` that comes less
   * than `sampleTime` after the previous computed one returns the last output
   * unchanged (simple-pid's behaviour). An explicit `dt` argument bypasses
   * both. Default `null`.
   */
  sampleTime?: number | null;
  /**
   * Clock in seconds, used by `update(x)` without `dt`: dt is the time since
   * the previous computed update (or since construction/`reset`). When it is
   * not given and `sampleTime` is `null`, `performance.now() / 1000` is used.
   * Default `null`.
   */
  now?: (() => number) | null;
  /** Derivative filter time constant, seconds, ≥ 0; 0 = no filter. Exclusive with `n`. Default 0. */
  tf?: number | null;
  /**
   * Derivative filter as the coefficient N: tf = kd / (kp·N) (Åström–Hägglund
   * ch. 3 suggest N = 8…20). Needs kp > 0 when kd > 0. Exclusive with `tf`.
   * Default `null`.
   */
  n?: number | null;
  /** Setpoint weight of the P term (Åström–Hägglund 2DOF PID), ≥ 0. Default 1. */
  b?: number;
  /**
   * Setpoint weight of the D term, ≥ 0: 0 = derivative on measurement (no
   * derivative kick on setpoint steps), 1 = derivative on error. Default 0.
   */
  c?: number;
  /** Shorthand for `c`: `"measurement"` is c = 0, `"error"` is c = 1. Default `"measurement"`. */
  derivativeOn?: "measurement" | "error";
  /**
   * `"error"`: P = kp·(b·r − y). `"measurement"`: Beauregard's "proportional
   * on measurement", P = −kp·(y − y₀) with y₀ the first measurement after
   * `reset`; P then only resists change and the integral brings the
   * measurement to the setpoint, without overshoot on setpoint steps
   * (`b` is ignored). Default `"error"`.
   */
  proportionalOn?: "error" | "measurement";
  /** Lower output limit, output units; `null` = none. Default `null`. */
  outputMin?: number | null;
  /** Upper output limit, output units; `null` = none. Default `null`. */
  outputMax?: number | null;
  /**
   * While the output is limited (by `outputMin`/`outputMax` or `rateLimit`):
   * `"clamp"` stops integrating when the error would drive the output further
   * into the limit (conditional integration, Åström–Hägglund ch. 3);
   * `"backCalculation"` bleeds the integral toward the limit with time
   * constant `tt`; `"none"` lets it wind up. Default `"clamp"`.
   */
  antiWindup?: AntiWindup;
  /**
   * Tracking time constant of back-calculation, seconds, ≥ 0; `null` uses
   * Åström–Hägglund's rule tt = √(Ti·Td) = √(kd/ki), or tt = Ti = kp/ki
   * without D (and immediate tracking, tt = 0, when that is 0). Default `null`.
   */
  tt?: number | null;
  /** Largest output change per second, output units/s, > 0; `null` = none. Default `null`. */
  rateLimit?: number | null;
  /**
   * `"direct"` for a plant whose measurement rises with the output, such as
   * a backlog fed by an admission rate (the rate then falls when the backlog
   * is above its setpoint). `"reverse"` flips the sign of every term (not of
   * the feedforward) without negative gains, for a plant whose measurement
   * falls when the output rises, such as a backlog drained by a worker count
   * or a service rate. Default `"direct"`.
   */
  direction?: PidDirection;
  /**
   * Deadband of the P and I terms, measurement units, ≥ 0: errors with
   * |r − y| ≤ deadband count as zero and larger ones are shrunk by it,
   * e − sign(e)·deadband, so the output is continuous at the band's edge
   * (a plain cut-off would jump by kp·deadband there). Default 0.
   */
  deadband?: number;
  /** Initial feedforward value added to the output, output units. Default 0. */
  feedforward?: number;
  /**
   * Observation field that sets the feedforward on every update:
   * feedforward = kff · observation[field]; `null` keeps the `feedforward`
   * property as set. Default `null`.
   */
  feedforwardSignal?: FeedforwardSignal | null;
  /** Gain applied to `feedforwardSignal`. Default 1. */
  kff?: number;
  /**
   * Time constant of a first-order low-pass filter on the feedforward
   * signal, seconds, ≥ 0: ff_k = a·ff_{k−1} + (1 − a)·kff·signal_k with
   * a = e^{−dt/τ} (exact for a signal held over the sample; the first update
   * starts the filter at the signal). A measured rate counted over one short
   * period is noisy (a Poisson count of 20 has σ ≈ 22 %); feeding it raw
   * passes that noise straight to the actuator. 0 = no filter. Default 0.
   */
  feedforwardTau?: number;
  /**
   * Time constant of a first-order low-pass filter on the measurement,
   * seconds, ≥ 0: every term (P, I and D) reads y_f,k = a·y_f,k−1 + (1 − a)·y_k
   * with a = e^{−dt/τ} (the first update starts it at y). It keeps the
   * measurement's sample-to-sample noise (a queue's Poisson arrivals) off
   * the actuator; it is a lag inside the loop, so a design must count it
   * (`loopMargins` and `simcSampled` take it as `measurementTau`). 0 = no
   * filter. Default 0.
   */
  measurementTau?: number;
}

/** The terms of the last PID output, output units (`Pid.components`). */
export type PidComponents = { p: number; i: number; d: number; ff: number };

/** The option keys `setParams` accepts (besides these, `params()` reports the same names without `derivativeOn`). */
const paramKeys = [
  "kp",
  "ki",
  "kd",
  "tf",
  "n",
  "b",
  "c",
  "derivativeOn",
  "proportionalOn",
  "outputMin",
  "outputMax",
  "antiWindup",
  "tt",
  "rateLimit",
  "direction",
  "deadband",
  "sampleTime",
  "feedforwardSignal",
  "kff",
  "feedforwardTau",
  "measurementTau",
] as const;
const optionKeys: readonly string[] = [...paramKeys, "setpoint", "now", "feedforward"];
const feedforwardSignals: readonly FeedforwardSignal[] = [
  "arrivalRate",
  "serviceRate",
  "delay",
  "latency",
  "inflight",
];

interface PidSettings {
  kp: number;
  ki: number;
  kd: number;
  tf: number | null;
  n: number | null;
  b: number;
  c: number;
  proportionalOn: "error" | "measurement";
  outputMin: number;
  outputMax: number;
  antiWindup: AntiWindup;
  tt: number | null;
  rateLimit: number;
  direction: PidDirection;
  deadband: number;
  sampleTime: number | null;
  feedforwardSignal: FeedforwardSignal | null;
  kff: number;
  feedforwardTau: number;
  measurementTau: number;
}

const defaults: PidSettings = {
  kp: 1,
  ki: 0,
  kd: 0,
  tf: null,
  n: null,
  b: 1,
  c: 0,
  proportionalOn: "error",
  outputMin: Number.NEGATIVE_INFINITY,
  outputMax: Number.POSITIVE_INFINITY,
  antiWindup: "clamp",
  tt: null,
  rateLimit: Number.POSITIVE_INFINITY,
  direction: "direct",
  deadband: 0,
  sampleTime: null,
  feedforwardSignal: null,
  kff: 1,
  feedforwardTau: 0,
  measurementTau: 0,
};

/**
 * Positional PID controller (parallel form, see the module comment for the
 * discretization). Implements `Controller`; `components` gives `{ p, i, d, ff }`.
 *
 * @example
 * // Admission rate (msg/s) that holds a backlog of 100 messages, sampled every 0.1 s.
 * const pid = new Pid({ kp: 2, ki: 0.5, setpoint: 100, outputMin: 0 });
 * const rate = pid.update(backlog, 0.1);
 */
export class Pid implements Controller {
  readonly kind = "pid";
  /**
   * Target for the measurement, measurement units. A step in it gives no
   * derivative kick with c = 0 (the default) and a P step of kp·b·Δr.
   */
  setpoint: number;
  /** Feedforward added to the output, output units (overwritten each update when `feedforwardSignal` is set). */
  feedforward: number;

  #s: PidSettings;
  #clock: SampleClock;
  #output = 0;
  #p = 0;
  #i = 0;
  #d = 0;
  #ff = 0;
  /** Filtered derivative of c·r − y, measurement units/s. */
  #derivative = 0;
  #lastY = Number.NaN;
  #lastR = Number.NaN;
  #lastDs = Number.NaN;
  #y0 = Number.NaN;
  #mode: PidMode = "auto";
  #manualOutput = 0;
  #transfer = false;
  #feedforwardStarted = false;
  /** The filtered measurement (`measurementTau`); NaN before the first update. */
  #filtered = Number.NaN;

  constructor(options: PidOptions = {}) {
    checkKeys("Pid", options, optionKeys);
    this.#s = resolveSettings(defaults, options);
    this.setpoint = finite("setpoint", options.setpoint ?? 0);
    this.feedforward = finite("feedforward", options.feedforward ?? 0);
    this.#clock = new SampleClock(options.now ?? null, this.#s.sampleTime);
  }

  /** The last output (0 before the first update, or the manual output in manual mode). */
  get output(): number {
    return this.#output;
  }

  /** The P, I, D and feedforward terms of the last update, output units. */
  get components(): Readonly<PidComponents> {
    return { p: this.#p, i: this.#i, d: this.#d, ff: this.#ff };
  }

  /** `"auto"` or `"manual"`. Switching to `"auto"` is bumpless: the next output equals the last one. */
  get mode(): PidMode {
    return this.#mode;
  }

  set mode(mode: PidMode) {
    oneOf("mode", mode, ["auto", "manual"] as const);
    if (mode === this.#mode) return;
    if (mode === "manual") {
      this.#manualOutput = this.#output;
    } else {
      // Bumpless transfer (Beauregard, "Initialization"): the next update sets
      // the integral so that P + I + D + ff equals the output held in manual.
      this.#transfer = true;
    }
    this.#mode = mode;
  }

  /** Switch to manual mode and hold the output at `output` (clamped to the output limits). */
  setManual(output: number): void {
    finite("output", output);
    this.#mode = "manual";
    this.#transfer = false;
    this.#manualOutput = Math.min(this.#s.outputMax, Math.max(this.#s.outputMin, output));
    this.#output = this.#manualOutput;
  }

  /**
   * Compute the next output from the measurement (or an observation, for
   * `feedforwardSignal`). dt: the explicit `dt` (seconds, > 0) when given;
   * otherwise the clock's elapsed time (returning the last output unchanged
   * when `sampleTime` has not passed yet); otherwise `sampleTime`.
   */
  update(input: number | Observation, dt?: number): number {
    const observation = observe(input);
    const measured = finite("measurement", observation.measurement);
    const step = this.#clock.step(dt);
    if (step === null) return this.#output;
    const s = this.#s;
    const tauY = s.measurementTau;
    // The filter starts at the first measurement (no ramp up from 0).
    if (tauY === 0 || Number.isNaN(this.#filtered)) this.#filtered = measured;
    else {
      const a = Math.exp(-step / tauY);
      this.#filtered = a * this.#filtered + (1 - a) * measured;
    }
    const y = this.#filtered;
    if (s.feedforwardSignal !== null) {
      const value = observation[s.feedforwardSignal];
      if (typeof value !== "number" || !Number.isFinite(value)) {
        throw new RangeError(
          `Expected observation field \`${s.feedforwardSignal}\` (the feedforward signal) to be a finite number, got \`${describe(value)}\``,
        );
      }
      const target = s.kff * value;
      const tau = s.feedforwardTau;
      // The filter starts at the signal (no ramp up from 0 at the first update).
      if (tau === 0 || !this.#feedforwardStarted) this.feedforward = target;
      else {
        const a = Math.exp(-step / tau);
        this.feedforward = a * this.feedforward + (1 - a) * target;
      }
      this.#feedforwardStarted = true;
    }
    const r = this.setpoint;
    const first = Number.isNaN(this.#lastY);
    if (first) this.#y0 = y;
    const ds = s.c * r - y;
    if (first) {
      this.#derivative = 0;
    } else if (step > 0) {
      const tf = this.#filterTime();
      const a = tf > 0 ? Math.exp(-step / tf) : 0;
      this.#derivative = a * this.#derivative + ((1 - a) * (ds - this.#lastDs)) / step;
    }
    this.#lastY = y;
    this.#lastR = r;
    this.#lastDs = ds;
    const e = this.#deadbanded(r - y);
    const p = this.#proportional(r, y, e);
    const d = this.#derivativeTerm();
    const ff = this.feedforward;
    this.#p = p;
    this.#d = d;
    this.#ff = ff;

    if (this.#mode === "manual") {
      this.#output = this.#manualOutput;
      return this.#output;
    }
    if (this.#transfer) {
      // Back from manual: start from the held output, clamped to the limits
      // in force now (they may have changed while the output was held).
      this.#transfer = false;
      const held = Math.min(s.outputMax, Math.max(s.outputMin, this.#output));
      this.#i = held - (p + d + ff);
      this.#output = held;
      return held;
    }

    // The output may move within [lo, hi]: the output limits, narrowed by the
    // rate limit around the previous output (the rate limit wins when both
    // cannot hold, so the output walks back into range at the allowed rate).
    const previous = this.#output;
    const most = s.rateLimit === Number.POSITIVE_INFINITY ? s.rateLimit : s.rateLimit * step;
    const lo = Math.min(previous + most, Math.max(previous - most, s.outputMin));
    const hi = Math.max(previous - most, Math.min(previous + most, s.outputMax));
    const sign = s.direction === "direct" ? 1 : -1;
    const di = sign * s.ki * e * step;
    const rest = p + d + ff;
    let i = this.#i + di;
    let v = rest + i;
    let u = Math.min(hi, Math.max(lo, v));
    if (u !== v) {
      if (s.antiWindup === "clamp") {
        // Conditional integration: integrate up to where the output meets the
        // limit and no further in that direction (the integral neither winds
        // past it nor is thrown back); the other way integrates freely. An
        // increment that crosses the limit in one sample is cut there rather
        // than dropped whole, which would leave the output short of it.
        if (u < v && di > 0) i = Math.max(this.#i, Math.min(i, u - rest));
        else if (u > v && di < 0) i = Math.min(this.#i, Math.max(i, u - rest));
        v = rest + i;
        u = Math.min(hi, Math.max(lo, v));
      } else if (s.antiWindup === "backCalculation" && s.ki > 0) {
        // dI/dt = ki·e + (u − v)/tt (Åström–Hägglund ch. 3), backward Euler
        // and implicit in v, so it is stable for any dt/tt:
        // I_k = (I_{k−1} + ki·e·dt + (dt/tt)·(u − rest)) / (1 + dt/tt).
        const tt = this.#trackingTime();
        i = tt > 0 ? (i + (step / tt) * (u - rest)) / (1 + step / tt) : u - rest;
        v = rest + i;
        u = Math.min(hi, Math.max(lo, v));
      }
    }
    this.#i = i;
    this.#output = u;
    return u;
  }

  params(): ControllerParams {
    const s = this.#s;
    return {
      kp: s.kp,
      ki: s.ki,
      kd: s.kd,
      tf: s.tf,
      n: s.n,
      b: s.b,
      c: s.c,
      proportionalOn: s.proportionalOn,
      outputMin: Number.isFinite(s.outputMin) ? s.outputMin : null,
      outputMax: Number.isFinite(s.outputMax) ? s.outputMax : null,
      antiWindup: s.antiWindup,
      tt: s.tt,
      rateLimit: Number.isFinite(s.rateLimit) ? s.rateLimit : null,
      direction: s.direction,
      deadband: s.deadband,
      sampleTime: s.sampleTime,
      feedforwardSignal: s.feedforwardSignal,
      kff: s.kff,
      feedforwardTau: s.feedforwardTau,
      measurementTau: s.measurementTau,
    };
  }

  /**
   * Change parameters while running. Bumpless: the integral absorbs the jump
   * that new `kp`, `kd`, `b`, `proportionalOn` or `direction` would make in
   * P + D, so the next output differs from the last only by what the new
   * sample brings. A new `ki` needs no correction because the integral is
   * stored as the accumulated ki·e·dt (Beauregard, "Tuning Changes").
   * Without integral action (ki = 0 after the change) there is nothing to
   * absorb the jump: the output moves to what the new gains give. Putting
   * the difference into the frozen integral would leave it there for good,
   * a permanent bias of the P or PD controller.
   */
  setParams(params: Partial<Record<string, number | boolean | string | null>>): void {
    checkKeys("Pid", params, paramKeys);
    const before = this.#p + this.#d;
    const patch: Record<string, unknown> = { ...params };
    // `tf` and `n` are two spellings of one filter: setting one clears the other.
    if (patch.n !== undefined && patch.n !== null && patch.tf === undefined) patch.tf = null;
    if (patch.tf !== undefined && patch.tf !== null && patch.n === undefined) patch.n = null;
    this.#s = resolveSettings(this.#s, patch as PidOptions);
    this.#clock.sampleTime = this.#s.sampleTime;
    if (Number.isNaN(this.#lastY)) return;
    // Keep the D signal continuous when `c` changes (no kick from the new weight).
    this.#lastDs = this.#s.c * this.#lastR - this.#lastY;
    const p = this.#proportional(this.#lastR, this.#lastY, this.#deadbanded(this.#lastR - this.#lastY));
    const d = this.#derivativeTerm();
    if (this.#s.ki > 0) this.#i += before - (p + d);
    this.#p = p;
    this.#d = d;
  }

  reset(): void {
    this.#p = 0;
    this.#i = 0;
    this.#d = 0;
    this.#ff = 0;
    this.#derivative = 0;
    this.#lastY = Number.NaN;
    this.#lastR = Number.NaN;
    this.#lastDs = Number.NaN;
    this.#y0 = Number.NaN;
    this.#transfer = false;
    this.#feedforwardStarted = false;
    this.#filtered = Number.NaN;
    this.#output = this.#mode === "manual" ? this.#manualOutput : 0;
    this.#clock.restart();
  }

  #proportional(r: number, y: number, e: number): number {
    const s = this.#s;
    const sign = s.direction === "direct" ? 1 : -1;
    if (s.proportionalOn === "measurement") return -sign * s.kp * (y - this.#y0);
    // Weighted error b·r − y, with the deadband applied to the error part.
    return sign * s.kp * (e - (1 - s.b) * r);
  }

  #derivativeTerm(): number {
    const s = this.#s;
    return (s.direction === "direct" ? 1 : -1) * s.kd * this.#derivative;
  }

  #deadbanded(e: number): number {
    const band = this.#s.deadband;
    if (Math.abs(e) <= band) return 0;
    return e > 0 ? e - band : e + band;
  }

  #filterTime(): number {
    const s = this.#s;
    if (s.n !== null) return s.kd === 0 ? 0 : s.kd / (s.kp * s.n);
    return s.tf ?? 0;
  }

  #trackingTime(): number {
    const s = this.#s;
    if (s.tt !== null) return s.tt;
    return s.kd > 0 ? Math.sqrt(s.kd / s.ki) : s.kp / s.ki;
  }
}

function resolveSettings(base: PidSettings, options: PidOptions): PidSettings {
  const pick = picker(base, options);
  const s: PidSettings = {
    kp: nonNegative("kp", pick("kp")),
    ki: nonNegative("ki", pick("ki")),
    kd: nonNegative("kd", pick("kd")),
    tf: nullable(pick("tf"), (v) => nonNegative("tf", v)),
    n: nullable(pick("n"), (v) => positive("n", v)),
    b: nonNegative("b", pick("b")),
    c: nonNegative("c", pick("c")),
    proportionalOn: oneOf("proportionalOn", pick("proportionalOn"), ["error", "measurement"] as const),
    outputMin: bound("outputMin", pick("outputMin"), Number.NEGATIVE_INFINITY),
    outputMax: bound("outputMax", pick("outputMax"), Number.POSITIVE_INFINITY),
    antiWindup: oneOf("antiWindup", pick("antiWindup"), ["clamp", "backCalculation", "none"] as const),
    tt: nullable(pick("tt"), (v) => nonNegative("tt", v)),
    rateLimit: positiveOrUnlimited("rateLimit", pick("rateLimit")),
    direction: oneOf("direction", pick("direction"), ["direct", "reverse"] as const),
    deadband: nonNegative("deadband", pick("deadband")),
    sampleTime: nullable(pick("sampleTime"), (v) => positive("sampleTime", v)),
    feedforwardSignal: nullable(pick("feedforwardSignal"), (v) =>
      oneOf("feedforwardSignal", v, feedforwardSignals),
    ),
    kff: finite("kff", pick("kff")),
    feedforwardTau: nonNegative("feedforwardTau", pick("feedforwardTau")),
    measurementTau: nonNegative("measurementTau", pick("measurementTau")),
  };
  if (options.derivativeOn !== undefined) {
    const c =
      oneOf("derivativeOn", options.derivativeOn, ["measurement", "error"] as const) === "error" ? 1 : 0;
    if (options.c !== undefined && options.c !== c) {
      throw new RangeError(
        `Expected \`c\` and \`derivativeOn\` to agree, got c = ${options.c} and derivativeOn = "${options.derivativeOn}"`,
      );
    }
    s.c = c;
  }
  if (s.tf !== null && s.n !== null) {
    throw new RangeError(`Expected only one of \`tf\` and \`n\`, got tf = ${s.tf} and n = ${s.n}`);
  }
  if (s.n !== null && s.kd > 0 && s.kp === 0) {
    throw new RangeError(
      `Expected \`kp\` > 0 when the filter is given as \`n\` (tf = kd/(kp·n)), got kp = 0`,
    );
  }
  checkOrder("outputMin", s.outputMin, "outputMax", s.outputMax);
  return s;
}
