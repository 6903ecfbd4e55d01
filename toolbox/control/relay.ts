/**
 * Relay-feedback autotuning (Åström & Hägglund, "Automatic tuning of simple
 * regulators with specifications on phase and amplitude margins",
 * Automatica 20(5) (1984) 645–651). A relay with output bias ± d closes the
 * loop; most plants then settle into a limit cycle whose period approximates
 * the ultimate period Tu (where the plant's phase is −180°) and whose
 * amplitude a gives the ultimate gain by the describing function of the
 * relay: Ku ≈ 4d/(πa).
 *
 * With hysteresis ε (the relay switches only when the error leaves ±ε, to
 * reject measurement noise) the describing function is
 * N(a) = (4d/(πa))·(√(1 − ε²/a²) − iε/a), so the oscillation satisfies
 * G(iω) = −1/N(a) = −(π/(4d))·(√(a² − ε²) + iε); the point found has real
 * part −π√(a² − ε²)/(4d), hence Ku ≈ 4d/(π√(a² − ε²)) (Åström & Hägglund
 * 1984; *PID Controllers: Theory, Design and Tuning*, ISA 1995). Note that
 * this point has phase −180° + arcsin(ε/a), not −180°: hysteresis moves the
 * cycle to a lower frequency, so Tu comes out longer and Ku lower than the
 * true ultimate values unless ε ≪ a (`phase` in the result says which point
 * was measured). Use the smallest ε the noise allows.
 *
 * The describing function neglects harmonics: for plants that filter them well
 * (several lags) Ku and Tu come out within a few percent; for an integrator
 * with dead time (a queue with a delayed measurement) the cycle is a triangle
 * wave with period exactly 4θ but Ku is underestimated by the factor 8/π².
 */

import { type Controller, type ControllerParams, type Observation, observe } from "./controller.js";
import type { Plant, PlantObservation } from "./plants/plant.js";
import {
  checkKeys,
  checkNumber,
  checkObject,
  fail,
  finite,
  flag,
  nonNegative,
  oneOf,
  positive,
} from "./validate.js";

/** Options of `RelayTuner`. */
export interface RelayOptions {
  /** Level the measurement oscillates around, measurement units. Default 0. */
  setpoint?: number;
  /** Relay amplitude d (> 0), output units: the output switches between bias − d and bias + d. Default 1. */
  amplitude?: number;
  /** Output at the operating point, output units (a queue: the admission rate that balances service). Default 0. */
  bias?: number;
  /** Hysteresis ε (≥ 0), measurement units: switch only when the error leaves [−ε, ε]. Default 0. */
  hysteresis?: number;
  /**
   * `direct` (default): output goes high while the measurement is below the
   * setpoint (plant gain > 0); `reverse` for plants whose output falls when
   * the input rises.
   */
  direction?: "direct" | "reverse";
  /** Consecutive full cycles that must agree, and are averaged for the result (≥ 2). Default 3. */
  cycles?: number;
  /** Largest relative spread (max − min)/mean of their periods and amplitudes. Default 0.02. */
  tolerance?: number;
  /** Give up (unconverged) after this many full cycles. Default 50. */
  maxCycles?: number;
  /** Give up (unconverged) after this much time, seconds. Default ∞. */
  timeout?: number;
  /** Step length used when `update` gets no `dt`, seconds; `null` = `dt` is required. Default null. */
  sampleTime?: number | null;
  /** Keep the trace (times, measurement, output) of every update. Default true. */
  recordTrace?: boolean;
}

/** Options of `relayAutotune`: the relay's options plus the run's. */
export interface RelayAutotuneOptions extends RelayOptions {
  /** Step length of the loop, seconds (> 0). Required. */
  dt: number;
  /** Longest experiment, seconds of plant time (> 0). Required. */
  duration: number;
}

/** Recorded relay experiment. */
export interface RelayTrace {
  /** Sample times, seconds (the tuner's clock: 0 at the first update). */
  times: number[];
  /** Measurement at each sample. */
  measurement: number[];
  /** Relay output decided at each sample. */
  output: number[];
}

/** Result of a relay experiment (NaN where not measured). */
export interface RelayResult {
  /** A stable limit cycle was found (periods and amplitudes agreed within `tolerance`). */
  converged: boolean;
  /** Ultimate gain estimate with the hysteresis correction 4d/(π√(a² − ε²)). */
  ku: number;
  /** Ideal-relay describing-function estimate 4d/(πa) (equal to `ku` when ε = 0). */
  kuIdeal: number;
  /** Ultimate period estimate Tu: the mean limit-cycle period, seconds. */
  tu: number;
  /**
   * Phase of the plant at the measured frequency 2π/tu by the describing
   * function, radians: −π + arcsin(ε/a) (−π without hysteresis).
   */
  phase: number;
  /** Limit-cycle amplitude a: half the measurement's peak-to-peak, measurement units. */
  amplitude: number;
  /** Relay amplitude d used. */
  relayAmplitude: number;
  /** Hysteresis ε used. */
  hysteresis: number;
  /** Full cycles observed. */
  cycles: number;
  /** The recorded experiment (empty arrays when `recordTrace` is false). */
  trace: RelayTrace;
}

const PARAM_KEYS = [
  "setpoint",
  "amplitude",
  "bias",
  "hysteresis",
  "direction",
  "cycles",
  "tolerance",
  "maxCycles",
  "timeout",
  "sampleTime",
  "recordTrace",
] as const;

interface Settings {
  amplitude: number;
  bias: number;
  hysteresis: number;
  direction: "direct" | "reverse";
  cycles: number;
  tolerance: number;
  maxCycles: number;
  timeout: number;
  sampleTime: number | null;
  recordTrace: boolean;
}

function integerFrom(name: string, value: unknown, least: number): number {
  return checkNumber(name, value, `an integer ≥ ${least}`, (v) => Number.isInteger(v) && v >= least);
}

function settingsOf(o: RelayOptions, base?: Settings): Settings {
  const s: Settings = base
    ? { ...base }
    : {
        amplitude: 1,
        bias: 0,
        hysteresis: 0,
        direction: "direct",
        cycles: 3,
        tolerance: 0.02,
        maxCycles: 50,
        timeout: Number.POSITIVE_INFINITY,
        sampleTime: null,
        recordTrace: true,
      };
  if (o.amplitude !== undefined) s.amplitude = positive("amplitude", o.amplitude);
  if (o.bias !== undefined) s.bias = finite("bias", o.bias);
  if (o.hysteresis !== undefined) s.hysteresis = nonNegative("hysteresis", o.hysteresis);
  if (o.direction !== undefined) s.direction = oneOf("direction", o.direction, ["direct", "reverse"]);
  if (o.cycles !== undefined) s.cycles = integerFrom("cycles", o.cycles, 2);
  if (o.tolerance !== undefined) {
    s.tolerance = checkNumber("tolerance", o.tolerance, "a positive number", (v) => v > 0);
  }
  if (o.maxCycles !== undefined) s.maxCycles = integerFrom("maxCycles", o.maxCycles, 2);
  if (s.maxCycles < s.cycles) fail("maxCycles", `an integer ≥ \`cycles\` (${s.cycles})`, s.maxCycles);
  // Infinity is allowed: it is the default, "no timeout".
  if (o.timeout !== undefined)
    s.timeout = checkNumber("timeout", o.timeout, "a positive number", (v) => v > 0);
  if (o.sampleTime !== undefined) {
    s.sampleTime =
      o.sampleTime === null
        ? null
        : checkNumber(
            "sampleTime",
            o.sampleTime,
            "a positive number or null",
            (v) => v > 0 && Number.isFinite(v),
          );
  }
  if (o.recordTrace !== undefined) s.recordTrace = flag("recordTrace", o.recordTrace);
  return s;
}

/**
 * The relay experiment as a controller: feed it one measurement per sample
 * (`update(measurement, dt)`) and apply its output; it detects the limit
 * cycle and sets `done`, after which its output returns to `bias` and
 * `result()` holds the estimates. It implements `Controller`, so a live loop
 * or an experiment runner drives it like any other controller.
 */
export class RelayTuner implements Controller {
  readonly kind = "relay";
  #setpoint: number;
  #s: Settings;
  #time = 0;
  #started = false;
  #high = true;
  #output: number;
  #error = 0;
  #done = false;
  #converged = false;
  #lastRise = Number.NaN;
  #max = Number.NEGATIVE_INFINITY;
  #min = Number.POSITIVE_INFINITY;
  #periods: number[] = [];
  #amplitudes: number[] = [];
  #trace: RelayTrace = { times: [], measurement: [], output: [] };

  constructor(options: RelayOptions = {}) {
    checkObject("options", options);
    checkKeys("RelayTuner", options, PARAM_KEYS);
    this.#s = settingsOf(options);
    this.#setpoint = finite("setpoint", options.setpoint ?? 0);
    this.#output = this.#s.bias;
  }

  get setpoint(): number {
    return this.#setpoint;
  }

  /** Changing the setpoint restarts the cycle detection (earlier cycles were around another level). */
  set setpoint(value: number) {
    this.#setpoint = finite("setpoint", value);
    this.#restartDetection();
  }

  get output(): number {
    return this.#output;
  }

  /** The experiment has ended (converged, or gave up after `maxCycles`/`timeout`). */
  get done(): boolean {
    return this.#done;
  }

  get components(): Readonly<Record<string, number>> {
    return {
      error: this.#error,
      relay: this.#done ? 0 : this.#high ? 1 : -1,
      cycles: this.#periods.length,
      period: this.#periods.length > 0 ? this.#periods[this.#periods.length - 1]! : Number.NaN,
      amplitude: this.#amplitudes.length > 0 ? this.#amplitudes[this.#amplitudes.length - 1]! : Number.NaN,
    };
  }

  params(): ControllerParams {
    return {
      setpoint: this.#setpoint,
      amplitude: this.#s.amplitude,
      bias: this.#s.bias,
      hysteresis: this.#s.hysteresis,
      direction: this.#s.direction,
      cycles: this.#s.cycles,
      tolerance: this.#s.tolerance,
      maxCycles: this.#s.maxCycles,
      timeout: this.#s.timeout,
      sampleTime: this.#s.sampleTime,
      recordTrace: this.#s.recordTrace,
    };
  }

  /** Changes options; relay parameters (amplitude, bias, hysteresis, direction) restart the cycle detection. */
  setParams(params: Partial<Record<string, number | boolean | string | null>>): void {
    checkKeys("RelayTuner", params, PARAM_KEYS);
    const { setpoint, ...rest } = params;
    this.#s = settingsOf(rest as RelayOptions, this.#s);
    if (setpoint !== undefined && setpoint !== null) this.setpoint = setpoint as number;
    else if ("amplitude" in rest || "bias" in rest || "hysteresis" in rest || "direction" in rest) {
      this.#restartDetection();
    }
  }

  reset(): void {
    this.#time = 0;
    this.#started = false;
    this.#high = true;
    this.#output = this.#s.bias;
    this.#error = 0;
    this.#done = false;
    this.#converged = false;
    this.#trace = { times: [], measurement: [], output: [] };
    this.#restartDetection();
  }

  #restartDetection(): void {
    this.#lastRise = Number.NaN;
    this.#max = Number.NEGATIVE_INFINITY;
    this.#min = Number.POSITIVE_INFINITY;
    this.#periods = [];
    this.#amplitudes = [];
  }

  update(input: number | Observation, dt?: number): number {
    const y = observe(input).measurement;
    if (typeof y !== "number" || Number.isNaN(y)) fail("measurement", "a number", y, typeof y !== "number");
    const step = dt ?? this.#s.sampleTime;
    if (step === null || step === undefined) fail("dt", "given (or a `sampleTime` option)", dt);
    positive("dt", step);
    const first = !this.#started;
    if (!first) this.#time += step;
    this.#started = true;
    const t = this.#time;
    const s = this.#s;
    const e = s.direction === "direct" ? this.#setpoint - y : y - this.#setpoint;
    this.#error = e;

    if (!this.#done) {
      // Start on the side that pushes the measurement towards the setpoint.
      if (first) this.#high = e >= 0;
      this.#max = Math.max(this.#max, y);
      this.#min = Math.min(this.#min, y);
      if (this.#high && e < -s.hysteresis) {
        this.#high = false;
      } else if (!this.#high && e > s.hysteresis) {
        this.#high = true;
        this.#onRise(t);
      }
      if (!this.#done && t >= s.timeout) this.#done = true;
      this.#output = this.#done ? s.bias : s.bias + (this.#high ? s.amplitude : -s.amplitude);
    }
    if (s.recordTrace) {
      this.#trace.times.push(t);
      this.#trace.measurement.push(y);
      this.#trace.output.push(this.#output);
    }
    return this.#output;
  }

  /** A rising switch closes a full cycle (from the previous rising switch). */
  #onRise(t: number): void {
    if (!Number.isNaN(this.#lastRise)) {
      this.#periods.push(t - this.#lastRise);
      this.#amplitudes.push((this.#max - this.#min) / 2);
      const n = this.#s.cycles;
      if (this.#periods.length >= n) {
        const ok =
          spread(this.#periods.slice(-n)) <= this.#s.tolerance &&
          spread(this.#amplitudes.slice(-n)) <= this.#s.tolerance;
        if (ok) {
          this.#converged = true;
          this.#done = true;
        } else if (this.#periods.length >= this.#s.maxCycles) {
          this.#done = true;
        }
      }
    }
    this.#lastRise = t;
    this.#max = Number.NEGATIVE_INFINITY;
    this.#min = Number.POSITIVE_INFINITY;
  }

  /** The estimates so far (final once `done`), from the last `cycles` full cycles. */
  result(): RelayResult {
    const n = Math.min(this.#s.cycles, this.#periods.length);
    const enough = n === this.#s.cycles;
    const tu = enough ? mean(this.#periods.slice(-n)) : Number.NaN;
    const a = enough ? mean(this.#amplitudes.slice(-n)) : Number.NaN;
    const d = this.#s.amplitude;
    const eps = this.#s.hysteresis;
    const kuIdeal = a > 0 ? (4 * d) / (Math.PI * a) : Number.NaN;
    const ku = a > eps ? (4 * d) / (Math.PI * Math.sqrt(a * a - eps * eps)) : Number.NaN;
    return {
      converged: this.#converged,
      ku,
      kuIdeal,
      tu,
      phase: a >= eps ? -Math.PI + Math.asin(eps / a) : Number.NaN,
      amplitude: a,
      relayAmplitude: d,
      hysteresis: eps,
      cycles: this.#periods.length,
      trace: {
        times: this.#trace.times.slice(),
        measurement: this.#trace.measurement.slice(),
        output: this.#trace.output.slice(),
      },
    };
  }
}

function mean(xs: number[]): number {
  let s = 0;
  for (const x of xs) s += x;
  return s / xs.length;
}

/** Relative spread (max − min)/|mean| of positive values. */
function spread(xs: number[]): number {
  let lo = Number.POSITIVE_INFINITY;
  let hi = Number.NEGATIVE_INFINITY;
  for (const x of xs) {
    lo = Math.min(lo, x);
    hi = Math.max(hi, x);
  }
  const m = Math.abs(mean(xs));
  return m > 0 ? (hi - lo) / m : Number.POSITIVE_INFINITY;
}

/**
 * Runs a relay experiment on `plant` from its current state: each step the
 * relay reads the plant's observation and its output is applied for `dt`,
 * until the limit cycle is found or `duration` seconds of plant time pass.
 */
export function relayAutotune(plant: Plant<PlantObservation>, options: RelayAutotuneOptions): RelayResult {
  checkObject("options", options);
  const { dt: step, duration: span, ...relay } = options;
  const dt = positive("dt", step);
  const duration = positive("duration", span);
  const tuner = new RelayTuner(relay);
  let obs: Readonly<PlantObservation> = plant.observation;
  const end = plant.time + duration;
  while (!tuner.done && plant.time < end - 1e-9 * dt) {
    obs = plant.step(tuner.update(obs, dt), dt);
  }
  return tuner.result();
}
