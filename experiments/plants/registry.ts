/**
 * Where experiments get their plants: one factory per (mode, model). The
 * simulated plants are registered here; a live implementation registers
 * itself with `registerPlant("live", "worker-pool", factory)` and every
 * experiment of that model accepts `--plant live` from then on.
 */
import type { QueueDiscipline } from "../../toolbox/control/index.js";
import type { ExperimentPlant } from "../runner.js";
import type { CacheScenario, CacheSignals, QueueScenario, QueueSignals } from "../scenarios.js";
import { CachePlant } from "./cache.js";
import { WorkerPool } from "./worker-pool.js";

/** `sim`: simulated in-process, synchronous; `live`: real nodes, real time. */
export type PlantMode = "sim" | "live";

/** What a worker-pool factory gets: the scenario as data, its signals for the run's seed, and run options. */
export interface QueuePlantSpec {
  scenario: QueueScenario;
  signals: QueueSignals;
  seed: number;
  /** Messages in the system at the start (a warm queue for step tests). Default 0. */
  initialBacklog?: number;
  /** Age of the backlog measurement, seconds. Default 0. */
  measurementDelay?: number;
  /** Seconds before a newly started worker takes work. Default 0. */
  workerStartDelay?: number;
  /** Bounds of the `workers` actuator. Defaults 1 and 256. */
  minWorkers?: number;
  maxWorkers?: number;
  /** A queue discipline in the data path (simulated plants only). */
  discipline?: QueueDiscipline;
}

/** What a cache factory gets. */
export interface CachePlantSpec {
  scenario: CacheScenario;
  signals: CacheSignals;
  seed: number;
}

/** The spec each plant model's factory takes. */
export interface PlantSpecs {
  "worker-pool": QueuePlantSpec;
  cache: CachePlantSpec;
}

/** A plant model name. */
export type PlantModel = keyof PlantSpecs;

/** Builds a plant for a run: synchronously for simulations, or a promise (live plants start processes). */
export type PlantFactory<M extends PlantModel> = (
  spec: PlantSpecs[M],
) => ExperimentPlant | Promise<ExperimentPlant>;

const factories = new Map<string, PlantFactory<PlantModel>>();

/** Registers (or replaces) the factory of `model` plants in `mode`. */
export function registerPlant<M extends PlantModel>(
  mode: PlantMode,
  model: M,
  factory: PlantFactory<M>,
): void {
  if (mode !== "sim" && mode !== "live") {
    throw new RangeError(`Expected \`mode\` to be one of sim, live, got \`${String(mode)}\``);
  }
  if (typeof factory !== "function") {
    throw new TypeError(`Expected \`factory\` to be a function, got \`${String(factory)}\``);
  }
  factories.set(`${mode}:${model}`, factory as PlantFactory<PlantModel>);
}

/** Whether a factory for `model` plants in `mode` is registered. */
export function hasPlant(mode: PlantMode, model: PlantModel): boolean {
  return factories.has(`${mode}:${model}`);
}

/** Builds a `model` plant in `mode`; a RangeError says when none is registered ("not yet available"). */
export async function createPlant<M extends PlantModel>(
  mode: PlantMode,
  model: M,
  spec: PlantSpecs[M],
): Promise<ExperimentPlant> {
  const factory = factories.get(`${mode}:${model}`);
  if (factory === undefined) {
    throw new RangeError(`The ${mode} ${model} plant is not yet available (no factory registered for it)`);
  }
  return factory(spec);
}

registerPlant("sim", "worker-pool", (spec) => {
  const s = spec.scenario;
  return new WorkerPool({
    load: spec.signals.load,
    workerRate: spec.signals.workerRate,
    workers: s.workers,
    bufferSize: s.bufferSize ?? Number.POSITIVE_INFINITY,
    initialBacklog: spec.initialBacklog ?? 0,
    measurementDelay: spec.measurementDelay ?? 0,
    workerStartDelay: spec.workerStartDelay ?? 0,
    minWorkers: spec.minWorkers ?? 1,
    maxWorkers: Math.max(spec.maxWorkers ?? 256, s.workers),
    discipline: spec.discipline ?? null,
    seed: spec.seed,
  });
});

registerPlant("sim", "cache", (spec) => {
  const s = spec.scenario;
  return new CachePlant({
    requestRate: spec.signals.requestRate,
    keys: s.keys,
    zipf: spec.signals.zipf,
    shift: spec.signals.shift,
    capacity: s.initialCapacity,
    seed: spec.seed,
  });
});

// Loaded on first use: the live plant starts processes and sockets, which sim runs never need.
registerPlant("live", "worker-pool", async (spec) =>
  (await import("./live-worker-pool.js")).createLiveWorkerPool(spec),
);
