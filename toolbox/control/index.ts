/**
 * `zmp/control`: the control-theory half of zmp. Pure TypeScript maths: no
 * I/O, no zeromq, deterministic; runs in Node, a browser page or a notebook.
 */
export type { Controller, ControllerParams, Observation } from "./controller.js";
export { observe } from "./controller.js";
export { AstromMurrayQueue, type AstromMurrayQueueOptions } from "./plants/astrom-murray-queue.js";
export { EventQueue, type EventQueueOptions, type EventQueueSummary } from "./plants/event-queue.js";
export { FluidQueue, type FluidQueueOptions } from "./plants/fluid-queue.js";
export { Fopdt, type FopdtObservation, type FopdtOptions } from "./plants/fopdt.js";
export type { Plant, PlantInput, PlantObservation, QueueObservation } from "./plants/plant.js";
export {
  checkShape,
  type DistributionShape,
  Random,
  sampleWithMean,
  secondMoment,
  uniformAt,
} from "./random.js";
export type { Signal, SignalLike } from "./signals.js";
/** Time-varying inputs: `signals.step({ at: 5, from: 100, to: 60 })`, `signals.sum(...)`. */
export * as signals from "./signals.js";
