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
import { fail } from "../validate.js";

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

/** @internal The actuator value of a step input. */
export function actuatorOf(input: number | PlantInput): number {
  const u = typeof input === "number" ? input : input.actuator;
  if (typeof u !== "number" || Number.isNaN(u)) fail("actuator", "a number", u, typeof u !== "number");
  return u;
}

/** @internal A queue observation with every field present (zero), for a plant's one live object. */
export function emptyQueueObservation(): QueueObservation {
  return {
    time: 0,
    measurement: 0,
    backlog: 0,
    delay: 0,
    latency: 0,
    arrivalRate: 0,
    serviceRate: 0,
    inflight: 0,
    congested: false,
    load: 0,
    capacity: 0,
    offered: 0,
    admitted: 0,
    shed: 0,
    dropped: 0,
    served: 0,
  };
}

/**
 * @internal Puts `o` in the state of a queue plant at time 0: `backlog`
 * messages present and measured, no flow yet, every counter at zero.
 */
export function restQueueObservation(
  o: QueueObservation,
  backlog: number,
  load: number,
  capacity: number,
  delay: number,
  latency: number,
): void {
  o.time = 0;
  o.measurement = backlog;
  o.backlog = backlog;
  o.inflight = backlog;
  o.delay = delay;
  o.latency = latency;
  o.arrivalRate = 0;
  o.serviceRate = 0;
  o.congested = false;
  o.load = load;
  o.capacity = capacity;
  o.offered = 0;
  o.admitted = 0;
  o.shed = 0;
  o.dropped = 0;
  o.served = 0;
}
