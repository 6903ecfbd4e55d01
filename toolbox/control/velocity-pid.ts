/**
 * PID in velocity (incremental) form: each update computes the change of the
 * output instead of the output itself,
 *
 *   Δu_k = kp·(e_k − e_{k−1}) + ki·dt_k·e_k + kd·(δ_k − δ_{k−1}),  δ_k = (e_k − e_{k−1})/dt_k,
 *
 * which for a constant dt is the textbook kd/dt·(e_k − 2e_{k−1} + e_{k−2})
 * (Åström & Wittenmark, "Computer-Controlled Systems", 3rd ed., ch. 8). Summed
 * over k it telescopes to the positional PID with backward-Euler integral and
 * backward-difference derivative, so for the same gains and no limits it
 * gives the same outputs as `Pid` with `tf = 0`.
 *
 * Anti-windup is natural here: the only state is the output that was really
 * applied (after limits), so nothing accumulates while the output sits at a
 * limit, and the output leaves the limit on the first increment that points
 * back. That makes this form fit actuators that take increments, like a
 * token-bucket rate.
 */
import { type Controller, type ControllerParams, type Observation, observe } from "./controller.js";
import type { PidDirection, PidOptions } from "./pid.js";
import { SampleClock } from "./sample-clock.js";
import {
  bound,
  checkKeys,
  checkOrder,
  finite,
  nonNegative,
  nullable,
  oneOf,
  picker,
  positive,
  positiveOrUnlimited,
} from "./validate.js";

/**
 * Options of `VelocityPid`. The gains, the setpoint, the timing (`sampleTime`,
 * `now`) and the output limits mean what they mean for `Pid`, with the same
 * units and defaults (see `PidOptions`).
 */
export interface VelocityPidOptions
  extends Pick<
    PidOptions,
    "kp" | "ki" | "kd" | "setpoint" | "sampleTime" | "now" | "outputMin" | "outputMax" | "rateLimit"
  > {
  /**
   * `"measurement"` (default): the D increment uses −y instead of e, so a
   * setpoint step gives no derivative kick. `"error"`: uses e.
   */
  derivativeOn?: "measurement" | "error";
  /** `"reverse"`: output rises when the measurement is above the setpoint. Default `"direct"`. */
  direction?: PidDirection;
  /**
   * Output before the first update (the actuator's current value), output
   * units. It plays the role of the positional PID's initial integral: the
   * first update adds kp·e₀ + ki·dt·e₀ to it. Default 0.
   */
  initialOutput?: number;
}

/** Increments of the last update, output units (`VelocityPid.components`). */
export type VelocityPidComponents = { p: number; i: number; d: number; increment: number };

const paramKeys = [
  "kp",
  "ki",
  "kd",
  "sampleTime",
  "derivativeOn",
  "direction",
  "outputMin",
  "outputMax",
  "rateLimit",
] as const;
const optionKeys: readonly string[] = [...paramKeys, "setpoint", "now", "initialOutput"];

interface VelocitySettings {
  kp: number;
  ki: number;
  kd: number;
  sampleTime: number | null;
  derivativeOn: "measurement" | "error";
  direction: PidDirection;
  outputMin: number;
  outputMax: number;
  rateLimit: number;
}

const defaults: VelocitySettings = {
  kp: 1,
  ki: 0,
  kd: 0,
  sampleTime: null,
  derivativeOn: "measurement",
  direction: "direct",
  outputMin: Number.NEGATIVE_INFINITY,
  outputMax: Number.POSITIVE_INFINITY,
  rateLimit: Number.POSITIVE_INFINITY,
};

/**
 * Velocity-form PID. `components` gives the increments of the last update,
 * `{ p, i, d }` (before limits), and `increment`, the change actually applied.
 */
export class VelocityPid implements Controller {
  readonly kind = "velocity-pid";
  /** Target for the measurement, measurement units. */
  setpoint: number;

  #s: VelocitySettings;
  #clock: SampleClock;
  #initialOutput: number;
  #output: number;
  #increment = 0;
  #dp = 0;
  #di = 0;
  #dd = 0;
  /** Previous error; 0 before the first update so the first P increment is kp·e₀. */
  #lastE = 0;
  /** Previous derivative signal (e or −y); NaN before the first update. */
  #lastDs = Number.NaN;
  #lastY = Number.NaN;
  /** Previous difference quotient δ_{k−1}; 0 before the first two updates. */
  #lastSlope = 0;

  constructor(options: VelocityPidOptions = {}) {
    checkKeys("VelocityPid", options, optionKeys);
    this.#s = resolveSettings(defaults, options);
    this.setpoint = finite("setpoint", options.setpoint ?? 0);
    this.#initialOutput = finite("initialOutput", options.initialOutput ?? 0);
    this.#output = this.#initialOutput;
    this.#clock = new SampleClock(options.now ?? null, this.#s.sampleTime);
  }

  get output(): number {
    return this.#output;
  }

  /** The change of the output applied by the last update (after limits), output units. */
  get increment(): number {
    return this.#increment;
  }

  /** Increments of the last update: `p`, `i`, `d` (before limits) and `increment` (applied). */
  get components(): Readonly<VelocityPidComponents> {
    return { p: this.#dp, i: this.#di, d: this.#dd, increment: this.#increment };
  }

  update(input: number | Observation, dt?: number): number {
    const y = finite("measurement", observe(input).measurement);
    const step = this.#clock.step(dt);
    if (step === null) return this.#output;
    const s = this.#s;
    const sign = s.direction === "direct" ? 1 : -1;
    const e = this.setpoint - y;
    const ds = s.derivativeOn === "error" ? e : -y;
    let slope = this.#lastSlope;
    if (Number.isNaN(this.#lastDs)) slope = 0;
    else if (step > 0) slope = (ds - this.#lastDs) / step;
    this.#dp = sign * s.kp * (e - this.#lastE);
    this.#di = sign * s.ki * step * e;
    this.#dd = sign * s.kd * (slope - this.#lastSlope);
    this.#lastE = e;
    this.#lastY = y;
    this.#lastDs = ds;
    this.#lastSlope = slope;

    let delta = this.#dp + this.#di + this.#dd;
    if (s.rateLimit !== Number.POSITIVE_INFINITY) {
      const most = s.rateLimit * step;
      delta = Math.min(most, Math.max(-most, delta));
    }
    const previous = this.#output;
    const u = Math.min(s.outputMax, Math.max(s.outputMin, previous + delta));
    this.#increment = u - previous;
    this.#output = u;
    return u;
  }

  params(): ControllerParams {
    const s = this.#s;
    return {
      kp: s.kp,
      ki: s.ki,
      kd: s.kd,
      sampleTime: s.sampleTime,
      derivativeOn: s.derivativeOn,
      direction: s.direction,
      outputMin: Number.isFinite(s.outputMin) ? s.outputMin : null,
      outputMax: Number.isFinite(s.outputMax) ? s.outputMax : null,
      rateLimit: Number.isFinite(s.rateLimit) ? s.rateLimit : null,
    };
  }

  /**
   * Change parameters while running. Bumpless by construction: the output
   * is the state, and new gains only change the increments from now on.
   */
  setParams(params: Partial<Record<string, number | boolean | string | null>>): void {
    checkKeys("VelocityPid", params, paramKeys);
    const before = this.#s.derivativeOn;
    this.#s = resolveSettings(this.#s, params as VelocityPidOptions);
    this.#clock.sampleTime = this.#s.sampleTime;
    // A new derivative signal starts from the last sample, so it brings no kick.
    if (this.#s.derivativeOn !== before && !Number.isNaN(this.#lastDs)) {
      this.#lastDs = this.#s.derivativeOn === "error" ? this.#lastE : -this.#lastY;
    }
  }

  /** Forget the history; the output returns to `initialOutput`. */
  reset(): void {
    this.#output = this.#initialOutput;
    this.#increment = 0;
    this.#dp = 0;
    this.#di = 0;
    this.#dd = 0;
    this.#lastE = 0;
    this.#lastDs = Number.NaN;
    this.#lastY = Number.NaN;
    this.#lastSlope = 0;
    this.#clock.restart();
  }
}

function resolveSettings(base: VelocitySettings, options: VelocityPidOptions): VelocitySettings {
  const pick = picker(base, options);
  const s: VelocitySettings = {
    kp: nonNegative("kp", pick("kp")),
    ki: nonNegative("ki", pick("ki")),
    kd: nonNegative("kd", pick("kd")),
    sampleTime: nullable(pick("sampleTime"), (v) => positive("sampleTime", v)),
    derivativeOn: oneOf("derivativeOn", pick("derivativeOn"), ["measurement", "error"] as const),
    direction: oneOf("direction", pick("direction"), ["direct", "reverse"] as const),
    outputMin: bound("outputMin", pick("outputMin"), Number.NEGATIVE_INFINITY),
    outputMax: bound("outputMax", pick("outputMax"), Number.POSITIVE_INFINITY),
    rateLimit: positiveOrUnlimited("rateLimit", pick("rateLimit")),
  };
  checkOrder("outputMin", s.outputMin, "outputMax", s.outputMax);
  return s;
}
