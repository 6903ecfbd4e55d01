/**
 * The flow model of a queue from Åström & Murray, *Feedback Systems: An
 * Introduction for Scientists and Engineers*, 2nd ed. (Princeton, 2021),
 * Example 3.15 "Queuing systems", eq. (3.33):
 *
 *   ẋ = λ − μmax · x/(x + 1)
 *
 * x is the mean queue length, λ the arrival rate and μmax the maximum service
 * rate. The service rate μmax·x/(x+1) is the M/M/1 throughput at mean queue
 * length x, so the equilibrium x* = λ/(μmax − λ) (for λ < μmax) matches the
 * M/M/1 mean number in system ρ/(1 − ρ).
 */

import { type SignalLike, toSignal } from "../signals.js";
import { checkKeys, checkObject, nonNegative, positive } from "../validate.js";
import { DelayLine } from "./history.js";
import {
  actuatorOf,
  emptyQueueObservation,
  type Plant,
  type PlantInput,
  type QueueObservation,
  restQueueObservation,
} from "./plant.js";

const optionKeys = ["capacity", "load", "initialBacklog", "measurementDelay"];

/** ẋ of the model at queue length `q`. */
function flow(q: number, lambda: number, mu: number): number {
  return lambda - (mu * q) / (1 + q);
}

/** Options of `AstromMurrayQueue`. */
export interface AstromMurrayQueueOptions {
  /** Maximum service rate μmax(t), msg/s (≥ 0): a number or a signal. Required. */
  capacity: SignalLike;
  /**
   * Offered load, msg/s. When set, the actuator is an admission-rate limit
   * (λ = min(max(actuator, 0), load), the rest is shed); when not set
   * (default) the actuator is λ itself.
   */
  load?: SignalLike;
  /** Queue length x at time 0, messages. Default 0. */
  initialBacklog?: number;
  /** Age of the measurement, seconds (linear interpolation between step boundaries). Default 0. */
  measurementDelay?: number;
}

/**
 * Åström–Murray queue plant. Each step integrates the ODE with classical
 * fourth-order Runge–Kutta in substeps no longer than 0.2·(1 + x)²/μmax (a
 * fifth of the local time constant, so the nonlinear decay is resolved at
 * every load). The served count is what the conservation law implies,
 * x(t0) + admitted − x(t1), so the counters balance exactly. Nothing is
 * dropped (the model has no buffer limit).
 *
 * Observation: `delay` = (1 + measurement)/μmax, the mean time in system of
 * the M/M/1 queue whose mean length is the measurement (Little's law,
 * W = x/(μmax·x/(1+x))); at equilibrium it equals 1/(μmax − λ). `latency`
 * equals `delay`.
 */
export class AstromMurrayQueue implements Plant<QueueObservation> {
  readonly kind = "astrom-murray-queue";
  readonly #capacity: (t: number) => number;
  readonly #load: ((t: number) => number) | undefined;
  readonly #initialBacklog: number;
  readonly #measured: DelayLine;
  #time = 0;
  #x = 0;
  readonly #obs = emptyQueueObservation();

  constructor(options: AstromMurrayQueueOptions) {
    checkObject("options", options);
    checkKeys("AstromMurrayQueue", options, optionKeys);
    this.#capacity = toSignal(options.capacity, "capacity");
    this.#load = options.load === undefined ? undefined : toSignal(options.load, "load");
    this.#initialBacklog = nonNegative("initialBacklog", options.initialBacklog ?? 0);
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
    this.#x = this.#initialBacklog;
    this.#measured.clear(0, this.#x);
    const mu = Math.max(0, this.#capacity(0));
    const delay = this.#delayOf(this.#x, mu);
    const load = this.#load === undefined ? 0 : this.#load(0);
    restQueueObservation(this.#obs, this.#x, load, mu, delay, delay);
  }

  #delayOf(x: number, mu: number): number {
    return mu > 0 ? (1 + x) / mu : Number.POSITIVE_INFINITY;
  }

  step(input: number | PlantInput, dt: number): Readonly<QueueObservation> {
    positive("dt", dt);
    const u = actuatorOf(input);
    const given = typeof input === "number" ? undefined : input;
    const t = this.#time;
    const mu = Math.max(0, given?.capacity ?? this.#capacity(t));
    // Without a load signal the actuator is λ itself.
    const load = Math.max(0, given?.load ?? this.#load?.(t) ?? u);
    const lambda = Math.min(Math.max(0, u), load);

    const x0 = this.#x;
    let x = x0;
    let remaining = dt;
    while (remaining > 0) {
      const h = mu > 0 ? Math.min(remaining, (0.2 * (1 + x) * (1 + x)) / mu) : remaining;
      const k1 = flow(x, lambda, mu);
      const k2 = flow(Math.max(0, x + 0.5 * h * k1), lambda, mu);
      const k3 = flow(Math.max(0, x + 0.5 * h * k2), lambda, mu);
      const k4 = flow(Math.max(0, x + h * k3), lambda, mu);
      x = Math.max(0, x + (h / 6) * (k1 + 2 * k2 + 2 * k3 + k4));
      remaining -= h;
      if (remaining < 1e-12 * dt) remaining = 0;
    }
    this.#x = x;
    this.#time = t + dt;
    const admitted = lambda * dt;
    const served = Math.max(0, x0 + admitted - x);

    const o = this.#obs;
    o.time = this.#time;
    o.backlog = x;
    o.inflight = x;
    o.measurement = this.#measured.push(this.#time, x);
    o.load = load;
    o.capacity = mu;
    o.delay = this.#delayOf(o.measurement, mu);
    o.latency = o.delay;
    o.arrivalRate = lambda;
    o.serviceRate = served / dt;
    o.congested = false;
    o.offered += load * dt;
    o.admitted += admitted;
    o.shed += (load - lambda) * dt;
    o.served += served;
    return o;
  }
}
