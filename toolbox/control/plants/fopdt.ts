/**
 * First-order-plus-dead-time plant G(s) = K·e^{−θs}/(τs + 1), the standard
 * process model behind most PID tuning rules.
 */

import { type SignalLike, toSignal } from "../signals.js";
import {
  actuatorOf,
  checkDt,
  checkNonNegative,
  checkNumber,
  type Plant,
  type PlantInput,
  type PlantObservation,
} from "./plant.js";

/** Options of `Fopdt`. */
export interface FopdtOptions {
  /** Static gain K (output units per input unit). Default 1. */
  gain?: number;
  /** Time constant τ, seconds (≥ 0; 0 is a pure gain with delay). Default 1. */
  tau?: number;
  /** Dead time θ, seconds (≥ 0). Default 0. */
  theta?: number;
  /** Input the plant rests at before time 0 (the output starts at K·initialInput). Default 0. */
  initialInput?: number;
  /** Additive input (load) disturbance, in input units: a number or a signal of time. Default 0. */
  disturbance?: SignalLike;
  /** Additive output disturbance or measurement noise, in output units. Default 0. */
  outputDisturbance?: SignalLike;
}

/** Observation of the FOPDT plant. */
export interface FopdtObservation extends PlantObservation {
  /** Plant response plus the output disturbance, what a controller sees. */
  measurement: number;
  /** Plant response without the output disturbance. */
  response: number;
  /** Input applied during the last step (actuator plus input disturbance). */
  input: number;
}

/**
 * FOPDT plant, simulated exactly for inputs held constant over each step (the
 * zero-order-hold discretization x ← K·u + (x − K·u)·e^{−h/τ}), with the dead
 * time handled by a delay line of input segments, so θ need not be a multiple
 * of `dt` and `dt` may vary between steps: the response at step boundaries
 * equals the continuous-time response to sample-and-hold input.
 */
export class Fopdt implements Plant<FopdtObservation> {
  readonly kind = "fopdt";
  readonly gain: number;
  readonly tau: number;
  readonly theta: number;
  readonly #initialInput: number;
  readonly #disturbance: (t: number) => number;
  readonly #outputDisturbance: (t: number) => number;
  /** Input history: value `#values[i]` from time `#starts[i]` until the next start (ring buffer). */
  #starts = new Float64Array(64);
  #values = new Float64Array(64);
  #head = 0;
  #size = 0;
  #time = 0;
  #state = 0;
  readonly #obs: FopdtObservation = { time: 0, measurement: 0, response: 0, input: 0 };

  constructor(options: FopdtOptions = {}) {
    if (options === null || typeof options !== "object") {
      throw new TypeError(`Expected \`options\` to be an object, got \`${String(options)}\``);
    }
    this.gain = checkNumber("gain", options.gain ?? 1, "a finite number", Number.isFinite);
    this.tau = checkNonNegative("tau", options.tau ?? 1);
    this.theta = checkNonNegative("theta", options.theta ?? 0);
    this.#initialInput = checkNumber(
      "initialInput",
      options.initialInput ?? 0,
      "a finite number",
      Number.isFinite,
    );
    this.#disturbance = toSignal(options.disturbance ?? 0, "disturbance");
    this.#outputDisturbance = toSignal(options.outputDisturbance ?? 0, "outputDisturbance");
    this.reset();
  }

  get time(): number {
    return this.#time;
  }

  get observation(): Readonly<FopdtObservation> {
    return this.#obs;
  }

  reset(): void {
    this.#time = 0;
    this.#head = 0;
    this.#size = 1;
    this.#starts[0] = Number.NEGATIVE_INFINITY;
    this.#values[0] = this.#initialInput;
    this.#state = this.gain * this.#initialInput;
    const o = this.#obs;
    o.time = 0;
    o.response = this.#state;
    o.measurement = this.#state + this.#outputDisturbance(0);
    o.input = this.#initialInput;
  }

  #push(start: number, value: number): void {
    let cap = this.#starts.length;
    if (this.#size === cap) {
      const starts = new Float64Array(cap * 2);
      const values = new Float64Array(cap * 2);
      for (let i = 0; i < this.#size; i++) {
        starts[i] = this.#starts[(this.#head + i) % cap]!;
        values[i] = this.#values[(this.#head + i) % cap]!;
      }
      this.#starts = starts;
      this.#values = values;
      this.#head = 0;
      cap *= 2;
    }
    const j = (this.#head + this.#size) % cap;
    this.#starts[j] = start;
    this.#values[j] = value;
    this.#size++;
  }

  step(input: number | PlantInput, dt: number): Readonly<FopdtObservation> {
    checkDt(dt);
    const t = this.#time;
    const d = typeof input === "number" ? undefined : input.disturbance;
    const u = actuatorOf(input) + (d ?? this.#disturbance(t));
    this.#push(t, u);

    // The plant sees the input delayed by θ: integrate over [t − θ, t + dt − θ).
    const from = t - this.theta;
    const to = t + dt - this.theta;
    const cap = this.#starts.length;
    // Drop segments that end at or before `from`.
    while (this.#size >= 2 && this.#starts[(this.#head + 1) % cap]! <= from) {
      this.#head = (this.#head + 1) % cap;
      this.#size--;
    }
    const k = this.gain;
    let x = this.#state;
    let a = from;
    for (let i = 0; i < this.#size && a < to; i++) {
      const j = (this.#head + i) % cap;
      const next = i + 1 < this.#size ? this.#starts[(this.#head + i + 1) % cap]! : Number.POSITIVE_INFINITY;
      const b = Math.min(next, to);
      if (b > a) {
        const target = k * this.#values[j]!;
        x = this.tau > 0 ? target + (x - target) * Math.exp(-(b - a) / this.tau) : target;
        a = b;
      }
    }
    this.#state = x;
    this.#time = t + dt;

    const o = this.#obs;
    o.time = this.#time;
    o.response = x;
    o.measurement = x + this.#outputDisturbance(this.#time);
    o.input = u;
    return o;
  }
}
