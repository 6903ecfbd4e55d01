/**
 * The experiment runner: drives one plant with one controller, sample by
 * sample, and logs every sample.
 *
 * ## The plant seam: simulated now, live later
 *
 * The runner never knows whether its plant is a simulation or a live ZeroMQ
 * graph of real nodes. It talks to an `ExperimentPlant`:
 *
 * - `observe()` returns a `PlantSample`: the sample's own timestamp, the
 *   `Observation` controllers read (measurement = backlog, delay, latency,
 *   arrival and service rates...) and one value per declared column (what
 *   data.csv logs);
 * - `apply(actuator, value)` sets an actuator by name (`rate`, `fraction`,
 *   `window`, `workers` for a worker pool; `capacity` for a cache) and
 *   returns the value really applied (after the plant's own clamping);
 * - `advance(dt)` lets `dt` seconds pass: a simulated plant steps
 *   synchronously and returns `undefined`; a live plant returns a promise
 *   that resolves when the next sample is due (real time);
 * - `stats()` gives whole-run figures (goodput, shed, latency quantiles).
 *
 * Each sample: observe → controller.update → apply → log → advance (the
 * controller starts at the second sample, once rates have been measured over
 * a period: `RunOptions.warmup`). The loop
 * is one generator shared by `runLoop` (synchronous plants: simulations run
 * as fast as the CPU allows and are deterministic) and `runLoopAsync` (awaits
 * every `advance`: live plants, and simulations too).
 *
 * A live plant is registered with `registerPlant("live", model, factory)`
 * (experiments/plants/registry.ts); experiments ask the registry for the
 * model they need ("worker-pool", "cache"), so `--plant live` starts working
 * for every experiment of that model as soon as a factory is registered.
 */

import type { Node } from "../core/index.js";
import {
  type Controller,
  type ControllerParams,
  FixedRate,
  type Observation,
  type QueueDiscipline,
  signals,
} from "../toolbox/control/index.js";
import type { SignalLike } from "../toolbox/control/signals.js";
import { localActuator } from "../toolbox/loop/actuator.js";
import { FeedbackLoop, type LoopSample } from "../toolbox/loop/feedback-loop.js";

/** One value a plant reports at every sample (a data.csv column). */
export interface ColumnSpec {
  /** Column name in data.csv (camelCase, stable). */
  name: string;
  /** Unit: "msg", "msg/s", "ms", "workers", "1" (a fraction)... */
  unit: string;
  /** One line for the README and the report. */
  description: string;
}

/** The state of a plant at one sample. */
export interface PlantSample {
  /** Time of the sample, seconds since the plant started (simulated time, or the meters' own timestamps). */
  time: number;
  /** What controllers read; `measurement` is the plant's controlled variable (queues: backlog, messages). */
  observation: Observation;
  /** One value per entry of the plant's `columns`, same order (NaN where not measured). */
  values: readonly number[];
}

/** Whole-run figures of a plant; NaN where one does not apply (a cache has no latency). */
export interface PlantStats {
  /** The fraction of the capacity that did work over the run, 0…1 (worker pool: busy worker-time / ready worker-time). */
  goodput: number;
  /** Messages refused by admission control as a fraction of those offered, 0…1. */
  shed: number;
  /** Admitted messages lost to a full buffer as a fraction of those offered, 0…1. */
  dropped: number;
  /** Median latency (sojourn: wait + service) of the messages served, seconds. */
  latencyP50: number;
  /** 99th-percentile latency of the messages served, seconds. */
  latencyP99: number;
  /** Plant-specific extras (counts, means), plain numbers. */
  extra: Readonly<Record<string, number>>;
  /** Every served message: when it left (s since the start) and its sojourn (s), in completion order; plants that keep them. */
  departures?: { times: ArrayLike<number>; sojourns: ArrayLike<number> };
}

/**
 * Where a live plant runs its loops: a node of its graph and a way to take
 * a sample now. A plant with a host is driven by a `FeedbackLoop` on that
 * node — the loop users deploy, with its control service and samples topic,
 * so `zmp tune` can attach to it — instead of by the runner's own loop.
 */
export interface LoopHost {
  /** The node the loop runs on. */
  readonly node: Node;
  /** Takes a sample now (the meters and the period's counts since the previous one). */
  sample(): Promise<{ sample: PlantSample; timestamp: number }>;
}

/** A plant an experiment can drive: simulated (synchronous) or live (asynchronous). See the module comment. */
export interface ExperimentPlant {
  /** The model the plant implements: "worker-pool", "cache". */
  readonly model: string;
  /** `sim` for a simulation, `live` for real nodes. */
  readonly mode: "sim" | "live";
  /** What `observe().values` holds, in order. */
  readonly columns: readonly ColumnSpec[];
  /** The actuators `apply` accepts. */
  readonly actuators: readonly string[];
  /** The state now (a fresh object the caller may keep). */
  observe(): PlantSample;
  /** Sets an actuator; returns the value applied (after rounding/clamping by the plant). */
  apply(actuator: string, value: number): number;
  /** Lets `dt` seconds pass: synchronous for simulations, a promise for live plants. */
  advance(dt: number): void | Promise<void>;
  /** Whole-run figures since the start. */
  stats(): PlantStats;
  /** Releases what the plant holds (processes, sockets); optional for simulations. */
  close?(): void | Promise<void>;
  /** Live plants: the node and sampler a `FeedbackLoop` runs on (see `LoopHost`). */
  readonly loopHost?: LoopHost;
}

/** How one controller is wired to a plant: what it reads, what it moves. */
export interface ControlSetup {
  /** Run label in data.csv and the report: "pid", "pie", "none"... */
  label: string;
  /** The controller, or `null` for an uncontrolled run (nothing is applied). */
  controller: Controller | null;
  /** The actuator the output goes to (one of the plant's `actuators`); `null` with no controller. */
  actuator: string | null;
  /** What the controller reads from a sample; default `sample.observation`. */
  observe?: (sample: PlantSample) => Observation;
  /**
   * Called before each update: adapts the controller to the sample, e.g.
   * its output limit to the actuator range measured now (an admission rate
   * cannot admit more than is offered; limiting the output there stops the
   * integral from winding up).
   */
  before?: (sample: PlantSample, controller: Controller) => void;
  /** The actuator value for an output; default the output itself. */
  toActuator?: (output: number, sample: PlantSample) => number;
  /**
   * The controller's setpoint for the experiment's setpoint r (its own
   * units: PIE wants a delay in seconds); `null` leaves the controller's
   * setpoint alone (controllers without one). Default: r itself.
   */
  toSetpoint?: ((setpoint: number) => number) | null;
  /** One line saying how this setup maps its output to the actuator (for the report). */
  note?: string;
  /**
   * A queue discipline that acts in the plant's data path (PIE, CoDel in
   * their native form); the plant that runs the setup is built with it.
   * Plants without a data path of their own (a live graph) refuse it.
   */
  discipline?: QueueDiscipline;
}

/** Options of `runLoop` / `runLoopAsync`. */
export interface RunOptions {
  /** Setpoint of the measurement over time (a number or a signal of seconds). */
  setpoint: SignalLike;
  /** Run length, seconds (> 0): ⌈duration/sampleTime⌉ samples are taken. */
  duration: number;
  /** Sample period, seconds (> 0). */
  sampleTime: number;
  /**
   * Samples at the start during which the controller is not updated and
   * nothing is applied, so it first sees rates measured over a whole period
   * (at the first sample no period has passed: arrival and service rates
   * read 0). Default 1.
   */
  warmup?: number;
  /** End early after the sample for which this returns true (e.g. a relay test that converged). */
  stop?: (sample: PlantSample, index: number) => boolean;
  /** Called after every sample with (samples done, samples planned): progress bars. */
  onSample?: (done: number, total: number) => void;
}

/** Everything a run logged, one array entry per sample. */
export interface RunLog {
  /** The setup's label. */
  label: string;
  /** The controller's `kind`, or "none". */
  controller: string;
  /** The actuator driven, or null. */
  actuator: string | null;
  /** The controller's parameters at the end of the run (null without a controller). */
  params: ControllerParams | null;
  /** The plant's columns (`values` holds one array per column, same order). */
  columns: readonly ColumnSpec[];
  /** Sample times, seconds. */
  times: number[];
  /** Setpoint at each sample (the experiment's units, e.g. messages of backlog). */
  setpoint: number[];
  /** Measurement the controller read. */
  measurement: number[];
  /** Raw controller output (its own units; NaN without a controller). */
  output: number[];
  /** Value applied to the actuator (NaN without a controller). */
  applied: number[];
  /** One array per plant column. */
  values: number[][];
  /** The controller's components by name (NaN at samples where a name was missing). */
  components: Record<string, number[]>;
  /** The plant's whole-run figures, taken when the run ended. */
  stats: PlantStats;
}

function checkPositive(name: string, value: unknown): number {
  if (typeof value !== "number")
    throw new TypeError(`Expected \`${name}\` to be a positive number, got \`${String(value)}\``);
  if (!(value > 0) || !Number.isFinite(value)) {
    throw new RangeError(`Expected \`${name}\` to be a positive number, got \`${value}\``);
  }
  return value;
}

/**
 * The loop itself, as a generator that yields each `dt` the plant must
 * advance by and returns the log: `runLoop` and `runLoopAsync` only differ in
 * how they advance the plant.
 */
function* loop(
  plant: ExperimentPlant,
  setup: ControlSetup,
  options: RunOptions,
): Generator<number, RunLog, void> {
  const sampleTime = checkPositive("sampleTime", options.sampleTime);
  const duration = checkPositive("duration", options.duration);
  const setpointOf = signals.toSignal(options.setpoint, "setpoint");
  const { controller, actuator } = setup;
  if (controller !== null && (actuator === null || !plant.actuators.includes(actuator))) {
    throw new RangeError(
      `Expected \`actuator\` of setup \`${setup.label}\` to be one of ${plant.actuators.join(", ")}, got \`${String(actuator)}\``,
    );
  }
  const total = Math.max(1, Math.round(duration / sampleTime));
  const warmup = options.warmup ?? 1;
  if (!Number.isInteger(warmup) || warmup < 0) {
    throw new RangeError(`Expected \`warmup\` to be a non-negative integer, got \`${String(warmup)}\``);
  }
  const log = {
    times: [] as number[],
    setpoint: [] as number[],
    measurement: [] as number[],
    output: [] as number[],
    applied: [] as number[],
    values: plant.columns.map((): number[] => []),
    components: {} as Record<string, number[]>,
  };
  const toSetpoint = setup.toSetpoint === undefined ? (r: number) => r : setup.toSetpoint;
  let lastSetpoint = Number.NaN;
  let lastTime = Number.NaN;
  for (let k = 0; k < total; k++) {
    const sample = plant.observe();
    const r = setpointOf(sample.time);
    let u = Number.NaN;
    let applied = Number.NaN;
    if (controller !== null && k >= warmup) {
      if (r !== lastSetpoint && toSetpoint !== null) controller.setpoint = toSetpoint(r);
      lastSetpoint = r;
      // dt: the time since the previous sample as the plant stamped it (a live
      // plant's samples are not exactly sampleTime apart); sampleTime first.
      const elapsed = sample.time - lastTime;
      const dt = k === warmup || !(elapsed > 0) ? sampleTime : elapsed;
      setup.before?.(sample, controller);
      const observation = setup.observe ? setup.observe(sample) : sample.observation;
      u = controller.update(observation, dt);
      const value = setup.toActuator ? setup.toActuator(u, sample) : u;
      applied = plant.apply(actuator as string, value);
    }
    lastTime = sample.time;
    log.times.push(sample.time);
    log.setpoint.push(r);
    log.measurement.push(sample.observation.measurement);
    log.output.push(u);
    log.applied.push(applied);
    for (let c = 0; c < log.values.length; c++) log.values[c]!.push(sample.values[c] ?? Number.NaN);
    if (controller !== null && k >= warmup) recordComponents(log.components, controller.components, k);
    options.onSample?.(k + 1, total);
    yield sampleTime;
    if (options.stop?.(sample, k)) break;
  }
  // Components that appeared late get NaN for the samples before; all arrays end equally long.
  const n = log.times.length;
  for (const values of Object.values(log.components)) while (values.length < n) values.push(Number.NaN);
  return {
    label: setup.label,
    controller: controller?.kind ?? "none",
    actuator: controller === null ? null : actuator,
    params: controller === null ? null : controller.params(),
    columns: plant.columns,
    ...log,
    stats: plant.stats(),
  };
}

function recordComponents(
  into: Record<string, number[]>,
  components: Readonly<Record<string, number>>,
  index: number,
): void {
  for (const [name, value] of Object.entries(components)) {
    let values = into[name];
    if (values === undefined) {
      values = [];
      into[name] = values;
    }
    while (values.length < index) values.push(Number.NaN);
    values.push(typeof value === "number" ? value : Number.NaN);
  }
  for (const values of Object.values(into)) while (values.length < index + 1) values.push(Number.NaN);
}

/**
 * Runs `setup` on a synchronous (simulated) plant: no awaits, deterministic,
 * as fast as the plant steps. Throws a TypeError when `plant.advance` returns
 * a promise (use `runLoopAsync` for live plants).
 */
export function runLoop(plant: ExperimentPlant, setup: ControlSetup, options: RunOptions): RunLog {
  const steps = loop(plant, setup, options);
  for (let next = steps.next(); ; next = steps.next()) {
    if (next.done) return next.value;
    const pending = plant.advance(next.value);
    if (pending !== undefined) {
      throw new TypeError(
        `Expected a synchronous plant for runLoop, got a ${plant.mode} plant whose advance returns a promise; use runLoopAsync`,
      );
    }
  }
}

/** Runs `setup` on any plant, awaiting each `advance` (live plants resolve in real time). */
export async function runLoopAsync(
  plant: ExperimentPlant,
  setup: ControlSetup,
  options: RunOptions,
): Promise<RunLog> {
  const steps = loop(plant, setup, options);
  for (let next = steps.next(); ; next = steps.next()) {
    if (next.done) return next.value;
    await plant.advance(next.value);
  }
}

/** Values of a plant column in a run log (throws a RangeError naming the column when the plant has none). */
export function column(log: RunLog, name: string): number[] {
  const index = log.columns.findIndex((c) => c.name === name);
  if (index < 0) {
    throw new RangeError(
      `Unknown column \`${name}\`; expected one of ${log.columns.map((c) => c.name).join(", ")}`,
    );
  }
  return log.values[index]!;
}

/**
 * Runs `setup` on `plant`: the synchronous loop for simulations, a
 * `FeedbackLoop` on the plant's graph for plants that host one (the live
 * worker pool), the awaiting loop otherwise.
 */
export async function runOn(
  plant: ExperimentPlant,
  setup: ControlSetup,
  options: RunOptions & { loopName?: string },
): Promise<RunLog> {
  if (plant.mode === "sim") return runLoop(plant, setup, options);
  if (plant.loopHost !== undefined) return runFeedbackLoop(plant, plant.loopHost, setup, options);
  return runLoopAsync(plant, setup, options);
}

/** A loop name from a run label: `delay delay=0.25` → `delay-delay-0.25`. */
export function loopNameOf(label: string): string {
  const name = label.replace(/[^A-Za-z0-9_.:@+-]+/g, "-").replace(/^-+|-+$/g, "");
  return name.length > 0 ? name.slice(0, 100) : "loop";
}

/**
 * Runs `setup` as a `FeedbackLoop` on the plant's loop node (see
 * `LoopHost`): the loop samples every `sampleTime` on its own drift-free
 * schedule, reads the plant through a sensor, applies through an actuator,
 * serves `<name>.control` and publishes `loop/<name>/samples` (its name:
 * `loopName`, default from the setup's label). The setpoint follows the
 * scenario's signal. A run without a controller runs the loop paused: it
 * samples and publishes, and applies nothing. Resolves with the log once
 * `duration` seconds of samples are in, after stopping the loop.
 */
export async function runFeedbackLoop(
  plant: ExperimentPlant,
  host: LoopHost,
  setup: ControlSetup,
  options: RunOptions & { loopName?: string },
): Promise<RunLog> {
  const sampleTime = checkPositive("sampleTime", options.sampleTime);
  const duration = checkPositive("duration", options.duration);
  const setpointOf = signals.toSignal(options.setpoint, "setpoint");
  const { controller, actuator } = setup;
  if (controller !== null && (actuator === null || !plant.actuators.includes(actuator))) {
    throw new RangeError(
      `Expected \`actuator\` of setup \`${setup.label}\` to be one of ${plant.actuators.join(", ")}, got \`${String(actuator)}\``,
    );
  }
  const total = Math.max(1, Math.round(duration / sampleTime));
  let latest = plant.observe();
  const sensor = {
    description: `${plant.model} meters (${setup.label})`,
    read: async () => {
      const { sample, timestamp } = await host.sample();
      latest = sample;
      const values: Record<string, number> = {};
      plant.columns.forEach((c, i) => {
        values[c.name] = sample.values[i] ?? Number.NaN;
      });
      return { time: timestamp, observation: sample.observation, values };
    },
  };
  const name = actuator ?? "none";
  const loop = new FeedbackLoop(host.node, {
    name: options.loopName ?? loopNameOf(setup.label),
    sensor,
    actuator: localActuator(name, (value) => plant.apply(name, value), `${name} of the ${plant.model}`),
    // A run without control still samples and publishes (paused), with a controller that never acts.
    controller: controller ?? new FixedRate({ share: 0 }),
    paused: controller === null,
    sampleTime,
    setpoint: setpointOf(0),
    toSetpoint: setup.toSetpoint === undefined ? (r) => r : setup.toSetpoint,
    ...(setup.observe ? { observe: () => setup.observe!(latest) } : {}),
    ...(setup.before ? { before: (_reading, c) => setup.before!(latest, c) } : {}),
    ...(setup.toActuator ? { toActuator: (output) => setup.toActuator!(output, latest) } : {}),
    // A slow meter read is a late sample, not a failed one (the plant holds its last reading).
    sensorTimeoutMs: Math.max(1000, 5 * sampleTime * 1000),
    actuatorTimeoutMs: Math.max(1000, 5 * sampleTime * 1000),
  });
  const log = {
    times: [] as number[],
    setpoint: [] as number[],
    measurement: [] as number[],
    output: [] as number[],
    applied: [] as number[],
    values: plant.columns.map((): number[] => []),
    components: {} as Record<string, number[]>,
  };
  let done: () => void = () => undefined;
  const finished = new Promise<void>((resolve) => {
    done = resolve;
  });
  let k = 0;
  const onSample = (s: LoopSample) => {
    if (k >= total) return;
    const sample = latest;
    const r = setpointOf(sample.time);
    log.times.push(sample.time);
    log.setpoint.push(r);
    log.measurement.push(sample.observation.measurement);
    log.output.push(controller === null ? Number.NaN : s.output);
    log.applied.push(controller === null ? Number.NaN : s.applied);
    for (let c = 0; c < log.values.length; c++) log.values[c]!.push(sample.values[c] ?? Number.NaN);
    if (controller !== null) recordComponents(log.components, s.components, k);
    k++;
    options.onSample?.(k, total);
    // The scenario's setpoint signal reaches the loop as an operator's change would.
    if (r !== loop.setpoint) loop.set({ setpoint: r });
    if (k >= total || options.stop?.(sample, k - 1)) done();
  };
  loop.on("sample", onSample);
  try {
    await loop.start();
    await finished;
  } finally {
    loop.off("sample", onSample);
    await loop.stop();
  }
  const n = log.times.length;
  for (const values of Object.values(log.components)) while (values.length < n) values.push(Number.NaN);
  return {
    label: setup.label,
    controller: controller?.kind ?? "none",
    actuator: controller === null ? null : actuator,
    params: controller === null ? null : controller.params(),
    columns: plant.columns,
    ...log,
    stats: plant.stats(),
  };
}
