/**
 * The interface every simulated plant implements, so an experiment can drive
 * any plant with any `Controller` in fixed steps:
 *
 * ```ts
 * let obs = plant.observation;
 * for (let k = 0; k < n; k++) {
 *   const u = controller.update(obs, dt); // obs is an Observation
 *   obs = plant.step(u, dt);              // apply u over [t, t + dt)
 * }
 * ```
 *
 * Queue plants model "backlog as charge": backlog' = arrivals − service, an
 * integrator, like charge on a capacitor is the integral of current.
 */

import type { Observation } from "../controller.js";

/**
 * What a plant receives for one step. `actuator` is the controller output; the
 * other fields override, for this step only, the disturbance signals given to
 * the plant's constructor (an experiment may either pass signals at
 * construction or compute disturbances itself and pass them here).
 */
export interface PlantInput {
  /** The controller output applied to the actuator (queues: admission rate, msg/s). */
  actuator: number;
  /** Offered load, msg/s (queue plants). */
  load?: number;
  /** Service capacity, msg/s (queue plants). */
  capacity?: number;
  /** Additive input (load) disturbance, in actuator units (FOPDT plant). */
  disturbance?: number;
}

/** What every plant exposes after a step: an `Observation` plus the simulated time. */
export interface PlantObservation extends Observation {
  /** Simulated time at the end of the last step, seconds. */
  time: number;
}

/**
 * Observation of a queue plant. Counters are cumulative since the start (or
 * the last `reset`), in messages (fluid plants count fractional messages).
 * Conservation: `admitted = served + dropped + backlog − initialBacklog`, and
 * `offered = admitted + shed`.
 */
export interface QueueObservation extends PlantObservation {
  /** Backlog as the controller sees it: `backlog` delayed by the plant's `measurementDelay`. */
  measurement: number;
  /** True backlog now, messages (fluid level, or messages waiting plus in service). */
  backlog: number;
  /**
   * Queueing-delay estimate from the (delayed) measured backlog, seconds, by
   * Little's law W = L/λ with the service capacity as the drain rate
   * (measurement/capacity; RFC 8033 §4.2 estimates PIE's delay the same way
   * from the departure rate). Each plant documents its exact formula.
   */
  delay: number;
  /** Latency of recent messages, seconds (each plant documents its definition). */
  latency: number;
  /** Rate admitted into the queue during the last step, msg/s. */
  arrivalRate: number;
  /** Rate served (departures) during the last step, msg/s. */
  serviceRate: number;
  /** Messages admitted and not yet finished (backlog), the concurrency. */
  inflight: number;
  /** The last step dropped messages because the buffer was full. */
  congested: boolean;
  /** Offered load during the last step, msg/s. */
  load: number;
  /** Service capacity during the last step, msg/s. */
  capacity: number;
  /** Messages offered (before admission control). */
  offered: number;
  /** Messages that passed admission control (including those later dropped). */
  admitted: number;
  /** Messages refused by admission control. */
  shed: number;
  /** Admitted messages lost to buffer overflow. */
  dropped: number;
  /** Messages that completed service. */
  served: number;
}

/**
 * A plant driven in steps. `step` applies the input held constant over
 * [time, time + dt) and returns the observation at the end of the step.
 *
 * The returned observation is the plant's one live object, updated in place
 * by every step (so the simulation loop allocates nothing): copy it
 * (`{ ...obs }`) if you keep it across steps.
 */
export interface Plant<O extends PlantObservation = PlantObservation> {
  /** Short stable name: "fluid-queue", "event-queue", "fopdt", "astrom-murray-queue". */
  readonly kind: string;
  /** Simulated time, seconds. */
  readonly time: number;
  /** The current observation (live object, see `step`). */
  readonly observation: Readonly<O>;
  /** Advance by `dt` seconds with `input` (the actuator value, or a `PlantInput`). */
  step(input: number | PlantInput, dt: number): Readonly<O>;
  /** Back to the initial state (and the initial random seed). */
  reset(): void;
}

/** @internal Validation helpers shared by the plants (not exported from the barrel). */
export function fail(name: string, what: string, value: unknown, type = false): never {
  const message = `Expected \`${name}\` to be ${what}, got \`${String(value)}\``;
  throw type ? new TypeError(message) : new RangeError(message);
}

/** @internal */
export function checkNumber(name: string, value: unknown, what: string, ok: (v: number) => boolean): number {
  if (typeof value !== "number") fail(name, what, value, true);
  if (!ok(value)) fail(name, what, value);
  return value;
}

/** @internal */
export function checkNonNegative(name: string, value: unknown): number {
  return checkNumber(name, value, "a non-negative number", (v) => v >= 0 && Number.isFinite(v));
}

/** @internal */
export function checkPositive(name: string, value: unknown): number {
  return checkNumber(name, value, "a positive number", (v) => v > 0 && Number.isFinite(v));
}

/** @internal `dt` of a step: positive and finite. */
export function checkDt(dt: unknown): number {
  return checkNumber("dt", dt, "a positive number", (v) => v > 0 && Number.isFinite(v));
}

/** @internal The actuator value of a step input. */
export function actuatorOf(input: number | PlantInput): number {
  const u = typeof input === "number" ? input : input.actuator;
  if (typeof u !== "number" || Number.isNaN(u)) fail("actuator", "a number", u, typeof u !== "number");
  return u;
}

/**
 * @internal A delay line over step-boundary samples, read at monotonically
 * increasing times: `read(t)` returns the value at time t, by linear
 * interpolation between samples (`interpolate`) or the last sample at or
 * before t (sample-and-hold). Before the first sample it returns the initial
 * value. Storage grows by doubling only when the delay spans more samples
 * than fit, so steady operation allocates nothing.
 */
export class DelayLine {
  #times = new Float64Array(16);
  #values = new Float64Array(16);
  #head = 0;
  #size = 0;
  readonly #interpolate: boolean;

  constructor(interpolate: boolean) {
    this.#interpolate = interpolate;
  }

  /** Forget everything and start with `value` at `time`. */
  clear(time: number, value: number): void {
    this.#head = 0;
    this.#size = 0;
    this.push(time, value);
  }

  /** Append the sample (time, value); times must not decrease. */
  push(time: number, value: number): void {
    let cap = this.#times.length;
    if (this.#size === cap) {
      const times = new Float64Array(cap * 2);
      const values = new Float64Array(cap * 2);
      for (let i = 0; i < this.#size; i++) {
        times[i] = this.#times[(this.#head + i) % cap]!;
        values[i] = this.#values[(this.#head + i) % cap]!;
      }
      this.#times = times;
      this.#values = values;
      this.#head = 0;
      cap *= 2;
    }
    const j = (this.#head + this.#size) % cap;
    this.#times[j] = time;
    this.#values[j] = value;
    this.#size++;
  }

  /** Value at `time` (not earlier than the previous read). */
  read(time: number): number {
    const cap = this.#times.length;
    // Tolerate rounding in t − delay (sums of dt) so a delay that is a
    // multiple of dt reads exactly the sample it names.
    const limit = time + 1e-9 * Math.max(1, Math.abs(time));
    // Drop samples that no later read can need.
    while (this.#size >= 2 && this.#times[(this.#head + 1) % cap]! <= limit) {
      this.#head = (this.#head + 1) % cap;
      this.#size--;
    }
    const t0 = this.#times[this.#head]!;
    const v0 = this.#values[this.#head]!;
    if (this.#size < 2 || time <= t0 || !this.#interpolate) return v0;
    // (time > t0 here, and time < t1 up to rounding.)
    const j = (this.#head + 1) % cap;
    const t1 = this.#times[j]!;
    const v1 = this.#values[j]!;
    return v0 + ((v1 - v0) * (time - t0)) / (t1 - t0);
  }
}
