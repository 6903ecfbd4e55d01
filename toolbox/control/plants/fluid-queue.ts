/**
 * Fluid queue: the backlog is a continuous quantity ("charge") that
 * integrates the admitted rate minus the service rate ("current"),
 * backlog' = admitted − capacity while the backlog is positive, kept in
 * [0, bufferSize]; what overflows the buffer is dropped.
 */

import { type SignalLike, toSignal } from "../signals.js";
import { checkKeys, checkNumber, checkObject, nonNegative, positive } from "../validate.js";
import { DelayLine } from "./history.js";
import {
  actuatorOf,
  emptyQueueObservation,
  type Plant,
  type PlantInput,
  type QueueObservation,
  restQueueObservation,
} from "./plant.js";

const optionKeys = ["capacity", "load", "bufferSize", "initialBacklog", "measurementDelay"];

/** Options of `FluidQueue`. */
export interface FluidQueueOptions {
  /** Service capacity μ(t), msg/s (≥ 0): a number or a signal of time. Required. */
  capacity: SignalLike;
  /**
   * Offered load λ(t), msg/s. When set, the actuator is an admission-rate
   * limit: admitted = min(max(actuator, 0), load), the rest is shed. When not
   * set (default), the actuator is the arrival rate itself (max(actuator, 0))
   * and nothing is shed.
   */
  load?: SignalLike;
  /** Buffer size, messages (> 0); backlog above it is dropped. Default ∞. */
  bufferSize?: number;
  /** Backlog at time 0, messages. Default 0. */
  initialBacklog?: number;
  /**
   * Age of the measurement, seconds: the observed `measurement` (and `delay`)
   * is the backlog as it was `measurementDelay` s ago (linear interpolation
   * between step boundaries; exact when it is a multiple of `dt`). Before
   * time `measurementDelay` the initial backlog is seen. Default 0.
   */
  measurementDelay?: number;
}

/**
 * Fluid-flow queue plant. Each step integrates exactly (the rates are held
 * constant over the step, evaluated at its start): the backlog moves at
 * admitted − capacity, stops at 0 (the server then serves only what arrives)
 * and at `bufferSize` (the excess is dropped).
 *
 * Observation: `delay` = measurement / capacity (time to drain the measured
 * backlog at the current capacity; 0 when empty, ∞ when capacity is 0);
 * `latency` equals `delay` (a fluid has no service time of its own).
 */
export class FluidQueue implements Plant<QueueObservation> {
  readonly kind = "fluid-queue";
  readonly #capacity: (t: number) => number;
  readonly #load: ((t: number) => number) | undefined;
  readonly #bufferSize: number;
  readonly #initialBacklog: number;
  readonly #measured: DelayLine;
  #time = 0;
  #backlog = 0;
  readonly #obs = emptyQueueObservation();

  constructor(options: FluidQueueOptions) {
    checkObject("options", options);
    checkKeys("FluidQueue", options, optionKeys);
    this.#capacity = toSignal(options.capacity, "capacity");
    this.#load = options.load === undefined ? undefined : toSignal(options.load, "load");
    this.#bufferSize = checkNumber(
      "bufferSize",
      options.bufferSize ?? Number.POSITIVE_INFINITY,
      "a positive number",
      (v) => v > 0,
    );
    this.#initialBacklog = nonNegative("initialBacklog", options.initialBacklog ?? 0);
    if (this.#initialBacklog > this.#bufferSize) {
      throw new RangeError(
        `Expected \`initialBacklog\` to be at most \`bufferSize\` (${this.#bufferSize}), got \`${this.#initialBacklog}\``,
      );
    }
    this.#measured = new DelayLine(nonNegative("measurementDelay", options.measurementDelay ?? 0), true);
    this.reset();
  }

  get time(): number {
    return this.#time;
  }

  get observation(): Readonly<QueueObservation> {
    return this.#obs;
  }

  reset(): void {
    this.#time = 0;
    this.#backlog = this.#initialBacklog;
    this.#measured.clear(0, this.#backlog);
    const capacity = this.#capacity(0);
    const delay = this.#delayOf(this.#backlog, capacity);
    const load = this.#load === undefined ? 0 : this.#load(0);
    restQueueObservation(this.#obs, this.#backlog, load, capacity, delay, delay);
  }

  #delayOf(backlog: number, capacity: number): number {
    if (backlog <= 0) return 0;
    return capacity > 0 ? backlog / capacity : Number.POSITIVE_INFINITY;
  }

  step(input: number | PlantInput, dt: number): Readonly<QueueObservation> {
    positive("dt", dt);
    const u = actuatorOf(input);
    const t = this.#time;
    const given = typeof input === "number" ? undefined : input;
    const mu = Math.max(0, given?.capacity ?? this.#capacity(t));
    // Without a load signal the actuator is the arrival rate itself.
    const load = Math.max(0, given?.load ?? this.#load?.(t) ?? u);
    const a = Math.min(Math.max(0, u), load);

    // Exact integration with constant rates over the step.
    const x0 = this.#backlog;
    const net = a - mu;
    let x1: number;
    let served: number;
    let dropped = 0;
    if (net >= 0) {
      // Non-decreasing backlog: the server is busy (or exactly matched) all step.
      served = mu * dt;
      x1 = x0 + net * dt;
      if (x1 > this.#bufferSize) {
        dropped = x1 - this.#bufferSize;
        x1 = this.#bufferSize;
      }
    } else if (x0 + net * dt > 0) {
      served = mu * dt;
      x1 = x0 + net * dt;
    } else {
      // Empties within the step: serves the initial backlog and everything that arrives.
      served = x0 + a * dt;
      x1 = 0;
    }
    this.#backlog = x1;
    this.#time = t + dt;

    const o = this.#obs;
    o.time = this.#time;
    o.backlog = x1;
    o.inflight = x1;
    o.measurement = this.#measured.push(this.#time, x1);
    o.load = load;
    o.capacity = mu;
    o.arrivalRate = a;
    o.serviceRate = served / dt;
    o.congested = dropped > 0;
    o.delay = this.#delayOf(o.measurement, mu);
    o.latency = o.delay;
    o.offered += load * dt;
    o.admitted += a * dt;
    o.shed += (load - a) * dt;
    o.dropped += dropped;
    o.served += served;
    return o;
  }
}
