/**
 * First-order-plus-dead-time plant G(s) = K·e^{−θs}/(τs + 1), the standard
 * process model behind most PID tuning rules.
 */

import { type SignalLike, toSignal } from "../signals.js";
import { checkKeys, checkObject, finite, nonNegative, positive } from "../validate.js";
import { SampleHistory } from "./history.js";
import { actuatorOf, type Plant, type PlantInput, type PlantObservation } from "./plant.js";

const optionKeys = ["gain", "tau", "theta", "initialInput", "disturbance", "outputDisturbance"];

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
  /** Input history: each input from the start of its step until the next one. */
  readonly #inputs = new SampleHistory();
  #time = 0;
  #state = 0;
  readonly #obs: FopdtObservation = { time: 0, measurement: 0, response: 0, input: 0 };

  constructor(options: FopdtOptions = {}) {
    checkObject("options", options);
    checkKeys("Fopdt", options, optionKeys);
    this.gain = finite("gain", options.gain ?? 1);
    this.tau = nonNegative("tau", options.tau ?? 1);
    this.theta = nonNegative("theta", options.theta ?? 0);
    this.#initialInput = finite("initialInput", options.initialInput ?? 0);
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
    this.#inputs.clear();
    this.#inputs.push(Number.NEGATIVE_INFINITY, this.#initialInput);
    this.#state = this.gain * this.#initialInput;
    const o = this.#obs;
    o.time = 0;
    o.response = this.#state;
    o.measurement = this.#state + this.#outputDisturbance(0);
    o.input = this.#initialInput;
  }

  step(input: number | PlantInput, dt: number): Readonly<FopdtObservation> {
    positive("dt", dt);
    const t = this.#time;
    const d = typeof input === "number" ? undefined : input.disturbance;
    const u = actuatorOf(input) + (d ?? this.#disturbance(t));
    const inputs = this.#inputs;
    inputs.push(t, u);

    // The plant sees the input delayed by θ: integrate over [t − θ, t + dt − θ).
    const from = t - this.theta;
    const to = t + dt - this.theta;
    // Drop segments that end at or before `from`.
    inputs.dropBefore(from);
    const k = this.gain;
    let x = this.#state;
    let a = from;
    const size = inputs.size;
    for (let i = 0; i < size && a < to; i++) {
      const next = i + 1 < size ? inputs.time(i + 1) : Number.POSITIVE_INFINITY;
      const b = Math.min(next, to);
      if (b > a) {
        const target = k * inputs.value(i);
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
