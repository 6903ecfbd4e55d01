/**
 * A feedback loop on a live graph: every `sampleTime` seconds it reads a
 * sensor, runs a controller of `toolbox/control` through the one
 * `Controller` interface, applies the output to an actuator, logs the sample
 * and publishes it.
 *
 * - Timing: sample k is due at start + k·sampleTime (a drift-free schedule,
 *   not a chain of intervals); a sample that overruns delays the next, and
 *   due times that passed while it ran are skipped and counted (`overruns`).
 *   The controller's `dt` is the time between the readings' own timestamps
 *   (the meters' snapshot times), at most `maxDt`.
 * - Log: every sample (time, setpoint, measurement, output, applied value,
 *   the controller's components — P, I, D, feedforward —, the observation,
 *   the sensor's extra values, the mode and any error) in a bounded ring, and
 *   on the topic `loop/<name>/samples`.
 * - Service `<name>.control` (the steering convention): read the state,
 *   change the setpoint, the gains (bumpless, `setParams`), the controller
 *   kind (bumpless transfer from the output in force), the sample time, go
 *   to manual or pause and back, fetch the log.
 * - Errors: a sensor that fails or does not answer within `sensorTimeoutMs`,
 *   a controller that throws, an actuator that fails or does not answer
 *   within `actuatorTimeoutMs` are counted; the loop holds its last output
 *   (it applies nothing new), logs the sample with `mode: "hold"` and the
 *   error, and carries on at the next sample. After an outage the controller
 *   integrates over at most `maxDt`.
 */
import { EventEmitter } from "node:events";
import { ClosedError, type Node, TimeoutError } from "../../core/index.js";
import type { Controller, ControllerParams, Observation } from "../control/controller.js";
import {
  type ControllerSpec,
  checkSpec,
  controllerKinds,
  createController,
} from "../control/controller-registry.js";
import { checkKeys, checkNumber, fail, finite, flag } from "../control/validate.js";
import { between, checkMagnitudes, MAX_SAMPLE_TIME, MIN_SAMPLE_TIME } from "../limits.js";
import { controlService, serveControl } from "../steering.js";
import type { Actuator } from "./actuator.js";
import { bumplessSpec, bumplessStart, withParams } from "./controller-spec.js";
import { SampleLog } from "./sample-log.js";
import type { Reading, Sensor } from "./sensor.js";

/** The topic a loop publishes its samples on: `loop/<name>/samples`. */
export const loopTopic = (name: string): string => `loop/${name}/samples`;

/** Options of `FeedbackLoop`. */
export interface FeedbackLoopOptions {
  /** The loop's name: service `<name>.control`, topic `loop/<name>/samples`. Default: the node's name. */
  name?: string;
  /** What the loop reads. Required. */
  sensor: Sensor;
  /** What the loop moves. Required. */
  actuator: Actuator;
  /** The controller, or a spec to build one (a spec lets the loop rebuild it). Required. */
  controller: Controller | ControllerSpec;
  /** Seconds between samples. Default 0.1 (the meters update their rates every 100 ms). */
  sampleTime?: number;
  /** Setpoint of the measurement. Default: the controller's setpoint. */
  setpoint?: number;
  /**
   * The controller's setpoint for the loop's setpoint r (its own units: a
   * delay controller wants seconds); `null` never sets it. Default: r itself.
   */
  toSetpoint?: ((setpoint: number) => number) | null;
  /** What the controller reads from a reading. Default: `reading.observation`. */
  observe?: (reading: Reading) => Observation;
  /** Runs before each update: adapt the controller to the reading (an output limit that follows the load). */
  before?: (reading: Reading, controller: Controller) => void;
  /** The actuator value for a controller output. Default: the output itself. */
  toActuator?: (output: number, reading: Reading) => number;
  /**
   * The actuator's value when the loop starts, in output units: the first
   * update starts from it (bumpless start) where the controller can.
   * Default: none (the controller starts from its own initial output).
   */
  initialOutput?: number;
  /** Samples kept in memory. Default 10 000. */
  logSize?: number;
  /** Publish each sample on `loop/<name>/samples`. Default true. */
  publish?: boolean;
  /** Serve `<name>.control`. Default true. */
  serve?: boolean;
  /** Longest wait for a reading, ms. Default: one sample period. */
  sensorTimeoutMs?: number;
  /** Longest wait for the actuator, ms. Default: one sample period. */
  actuatorTimeoutMs?: number;
  /** Largest `dt` given to the controller, seconds (after an outage or a slow sample). Default 3 × sampleTime. */
  maxDt?: number;
  /** Start paused: sample, log and publish without acting. Default false. */
  paused?: boolean;
}

/** How the output of a sample came about. */
export type LoopMode = "auto" | "manual" | "paused" | "hold";

/** One sample of a loop, as logged and published (plain data). */
export interface LoopSample {
  /** 1, 2, ... per loop start. */
  seq: number;
  /** Seconds since the loop started, from the reading's own timestamp (the loop's clock when there was none). */
  time: number;
  /** The reading's timestamp (or the attempt's), ms since the epoch. */
  timestamp: number;
  /** Seconds the controller integrated over; NaN when it was not updated. */
  dt: number;
  setpoint: number;
  /** NaN when the sensor failed. */
  measurement: number;
  /** The output in force, controller units (held unless the controller or manual mode set a new one). */
  output: number;
  /** The value in force at the actuator, as it reported it (NaN before the first apply). */
  applied: number;
  /** The controller's parts of this output (`p`, `i`, `d`, `ff` for a PID); empty when it was not updated. */
  components: Record<string, number>;
  /** What the sensor observed (null when it failed). */
  observation: Observation | null;
  /** The sensor's extra values. */
  values: Record<string, number>;
  /** `auto`: the controller acted; `manual`: the manual output was applied; `paused` / `hold`: nothing new applied. */
  mode: LoopMode;
  /** What went wrong at this sample (`sensor: TimeoutError: ...`), or null. */
  error: string | null;
  /** The controller's kind. */
  controller: string;
  /** Bumped by every change of setpoint, gains, controller, mode or sample time (clients re-read the state). */
  revision: number;
}

/** A loop's state, as `state()` and the `stats` op give it. */
export interface LoopState {
  id: string;
  kind: "loop";
  name: string;
  node: string;
  service: string;
  topic: string;
  status: "idle" | "running" | "stopped";
  /** `auto`, `manual` or `paused`. */
  mode: Exclude<LoopMode, "hold">;
  sampleTime: number;
  setpoint: number;
  /** The output held in manual mode (controller units), else null. */
  manualOutput: number | null;
  controller: { kind: string; params: ControllerParams; spec: ControllerSpec | null };
  /** Controller kinds the `set` op's `controller` accepts. */
  kinds: readonly string[];
  sensor: string;
  actuator: { name: string; description: string };
  output: number;
  applied: number;
  /** Samples taken since the start. */
  samples: number;
  errors: { sensor: number; controller: number; actuator: number; publish: number };
  /** Samples in a row that ended in an error (0 when the last one went well). */
  consecutiveErrors: number;
  lastError: string | null;
  /** Due times skipped because a sample ran past them. */
  overruns: number;
  revision: number;
  last: LoopSample | null;
  /** ms since the epoch. */
  time: number;
}

/** What `set` (and the `set` op) can change, all at once. */
export interface LoopChanges {
  /** New setpoint (measurement units). */
  setpoint?: number;
  /** Controller parameters (gains, limits), applied with `setParams`: bumpless. */
  params?: Record<string, number | boolean | string | null>;
  /** A new controller, started from the output in force (bumpless where the kind allows). */
  controller?: ControllerSpec;
  /** A number: hold the output there (manual mode); null: back to automatic, bumpless from it. */
  manual?: number | null;
  /** true: hold the output, apply nothing (keep sampling and publishing); false: carry on. */
  paused?: boolean;
  /** New sample period, seconds; the schedule restarts from now. */
  sampleTime?: number;
}

/** What the `log` op replies. */
export interface LoopLog {
  samples: LoopSample[];
  /** The seq to ask `since` next time. */
  next: number;
  /** Oldest seq still kept (earlier ones were overwritten). */
  first: number;
}

const optionKeys = [
  "name",
  "sensor",
  "actuator",
  "controller",
  "sampleTime",
  "setpoint",
  "toSetpoint",
  "observe",
  "before",
  "toActuator",
  "initialOutput",
  "logSize",
  "publish",
  "serve",
  "sensorTimeoutMs",
  "actuatorTimeoutMs",
  "maxDt",
  "paused",
];
const changeKeys = ["setpoint", "params", "controller", "manual", "paused", "sampleTime"];

function positiveSeconds(name: string, value: unknown): number {
  return checkNumber(name, value, "a positive number of seconds", (v) => v > 0 && Number.isFinite(v));
}

/**
 * The bounds on a change sent over `<name>.control` (toolbox/limits.ts):
 * every number in it finite and of magnitude ≤ 1e12, the sample time from
 * 1 ms to a day. `set` itself then checks each change as for local code.
 */
function checkRemoteChanges(changes: Record<string, unknown>): void {
  for (const key of ["setpoint", "manual", "params", "controller"])
    if (changes[key] !== undefined) checkMagnitudes(key, changes[key]);
  if (changes.sampleTime !== undefined)
    between("sampleTime", changes.sampleTime, MIN_SAMPLE_TIME, MAX_SAMPLE_TIME, " s");
}

function positiveMs(name: string, value: unknown): number {
  return checkNumber(name, value, "a positive number of ms", (v) => v > 0 && Number.isFinite(v));
}

function describeError(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

/** Awaits `value` for at most `ms`; the TimeoutError is made here, so its stack points at the loop. */
function within<T>(value: T | Promise<T>, ms: number, what: string): Promise<T> {
  if (!(value instanceof Promise)) return Promise.resolve(value);
  const error = new TimeoutError(`${what} did not answer within ${ms} ms`, ms);
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(error), ms);
    value.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(timer);
        reject(e);
      },
    );
  });
}

function isController(value: unknown): value is Controller {
  return (
    value !== null &&
    typeof value === "object" &&
    typeof (value as Controller).update === "function" &&
    typeof (value as Controller).setParams === "function"
  );
}

/** A feedback loop on a node (see the module comment). */
export class FeedbackLoop extends EventEmitter<{ sample: [LoopSample] }> {
  readonly node: Node;
  readonly name: string;
  readonly sensor: Sensor;
  readonly actuator: Actuator;
  readonly service: string;
  readonly topic: string;
  readonly #log: SampleLog<LoopSample>;
  readonly #toSetpoint: ((setpoint: number) => number) | null;
  readonly #observe: ((reading: Reading) => Observation) | undefined;
  readonly #before: ((reading: Reading, controller: Controller) => void) | undefined;
  readonly #toActuator: ((output: number, reading: Reading) => number) | undefined;
  readonly #publish: boolean;
  readonly #serve: boolean;
  readonly #sensorTimeoutMs: number | undefined;
  readonly #actuatorTimeoutMs: number | undefined;
  readonly #maxDt: number | undefined;
  #controller: Controller;
  #spec: ControllerSpec | null;
  #sampleTime: number;
  #setpoint: number;
  #paused: boolean;
  /** The manual output, NaN in automatic mode. */
  #manualOutput = Number.NaN;
  #output: number;
  #applied = Number.NaN;
  #status: LoopState["status"] = "idle";
  #revision = 0;
  #seq = 0;
  #startWall = Date.now();
  #origin = 0;
  #tick = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #inflight: Promise<unknown> = Promise.resolve();
  #lastUpdate = Number.NaN;
  #lastObservation: Observation | undefined;
  #errors = { sensor: 0, controller: 0, actuator: 0, publish: 0 };
  #consecutive = 0;
  #lastError: string | null = null;
  #overruns = 0;
  #unserve: (() => void) | undefined;

  constructor(node: Node, options: FeedbackLoopOptions) {
    super();
    if (options === null || typeof options !== "object") fail("options", "an object", options, true);
    checkKeys("FeedbackLoop", options, optionKeys);
    this.node = node;
    this.name = options.name ?? node.name;
    if (typeof this.name !== "string" || this.name.length === 0) fail("name", "a loop name", this.name, true);
    this.service = controlService(this.name);
    this.topic = loopTopic(this.name);
    const { sensor, actuator } = options;
    if (sensor === null || typeof sensor !== "object" || typeof sensor.read !== "function")
      fail("sensor", "a Sensor (with `read()`)", sensor, true);
    if (actuator === null || typeof actuator !== "object" || typeof actuator.apply !== "function")
      fail("actuator", "an Actuator (with `apply(value)`)", actuator, true);
    this.sensor = sensor;
    this.actuator = actuator;
    this.#sampleTime = positiveSeconds("sampleTime", options.sampleTime ?? 0.1);
    this.#sensorTimeoutMs =
      options.sensorTimeoutMs === undefined
        ? undefined
        : positiveMs("sensorTimeoutMs", options.sensorTimeoutMs);
    this.#actuatorTimeoutMs =
      options.actuatorTimeoutMs === undefined
        ? undefined
        : positiveMs("actuatorTimeoutMs", options.actuatorTimeoutMs);
    this.#maxDt = options.maxDt === undefined ? undefined : positiveSeconds("maxDt", options.maxDt);
    for (const hook of ["toSetpoint", "observe", "before", "toActuator"] as const) {
      const value = options[hook];
      if (value !== undefined && value !== null && typeof value !== "function")
        fail(hook, "a function", value, true);
    }
    this.#toSetpoint = options.toSetpoint === undefined ? (r) => r : options.toSetpoint;
    this.#observe = options.observe;
    this.#before = options.before;
    this.#toActuator = options.toActuator;
    this.#publish = flag("publish", options.publish ?? true);
    this.#serve = flag("serve", options.serve ?? true);
    this.#paused = flag("paused", options.paused ?? false);
    this.#log = new SampleLog(options.logSize ?? 10_000);
    const initial =
      options.initialOutput === undefined ? undefined : finite("initialOutput", options.initialOutput);
    if (isController(options.controller)) {
      this.#controller = options.controller;
      this.#spec = null;
    } else {
      this.#spec = checkSpec(options.controller);
      this.#controller = createController(bumplessSpec(this.#spec, initial));
    }
    if (initial !== undefined) bumplessStart(this.#controller, initial);
    this.#output = initial ?? this.#controller.output;
    this.#setpoint = finite("setpoint", options.setpoint ?? this.#controller.setpoint);
    this.#applySetpoint(this.#controller);
  }

  /** The controller running now. */
  get controller(): Controller {
    return this.#controller;
  }

  /** Sample period, seconds. */
  get sampleTime(): number {
    return this.#sampleTime;
  }

  get setpoint(): number {
    return this.#setpoint;
  }

  /** The output in force (controller units). */
  get output(): number {
    return this.#output;
  }

  /**
   * Serves `<name>.control`, advertises the topic and starts sampling (the
   * first sample at once). Resolves when the directory lists the service.
   * Throws a `BusyError` when the node already serves that name.
   */
  async start(): Promise<void> {
    if (this.#status === "running") return;
    if (this.#status === "stopped") throw new ClosedError(`loop \`${this.name}\` was stopped`);
    if (this.node.state !== "running")
      throw new ClosedError(
        `cannot start loop \`${this.name}\`: node \`${this.node.name}\` is ${this.node.state}`,
      );
    if (this.#serve)
      this.#unserve = serveControl(this.node, this.name, `loop:${this.name}`, this.#handlers());
    if (this.#publish) this.node.advertise(this.topic);
    this.#status = "running";
    this.#startWall = Date.now();
    this.#restartSchedule();
    await this.node.synced();
  }

  /** Stops sampling (waits for a sample in progress) and stops serving. The actuator keeps its value. Twice is a no-op. */
  async stop(): Promise<void> {
    if (this.#status === "stopped") return;
    this.#status = "stopped";
    clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#inflight;
    this.#unserve?.();
    this.#unserve = undefined;
  }

  /** Takes one sample now (between scheduled ones; they never overlap). */
  sample(): Promise<LoopSample> {
    const run = this.#inflight.then(() => this.#sample());
    this.#inflight = run.catch(() => undefined);
    return run;
  }

  /** Holds the output: samples are still taken, logged and published, nothing is applied. */
  pause(): void {
    this.set({ paused: true });
  }

  /** Back to what the loop did before `pause()`. */
  resume(): void {
    this.set({ paused: false });
  }

  /**
   * Changes the setpoint, gains, controller, manual output, pause or sample
   * time while the loop runs (see `LoopChanges`). Everything is checked (a
   * new controller built, the gains set on it) before anything changes; a
   * rejected change throws and leaves the loop as it was.
   */
  set(changes: LoopChanges): void {
    if (changes === null || typeof changes !== "object") fail("changes", "an object", changes, true);
    checkKeys("loop change", changes, changeKeys);
    const setpoint = changes.setpoint === undefined ? undefined : finite("setpoint", changes.setpoint);
    const sampleTime =
      changes.sampleTime === undefined ? undefined : positiveSeconds("sampleTime", changes.sampleTime);
    const paused = changes.paused === undefined ? undefined : flag("paused", changes.paused);
    const manual =
      changes.manual === undefined || changes.manual === null
        ? changes.manual
        : finite("manual", changes.manual);
    const params = changes.params;
    if (params !== undefined && (params === null || typeof params !== "object" || Array.isArray(params)))
      fail("params", "an object of parameters", JSON.stringify(params), true);
    // Build and tune a new controller before touching the running one.
    const spec = changes.controller === undefined ? undefined : checkSpec(changes.controller);
    const next = spec === undefined ? undefined : createController(bumplessSpec(spec, this.#output));
    if (params !== undefined) (next ?? this.#controller).setParams(params);

    if (next !== undefined) {
      bumplessStart(next, this.#output, this.#lastObservation);
      this.#controller = next;
      this.#spec = spec!;
      this.#lastUpdate = Number.NaN;
    }
    if (params !== undefined && this.#spec !== null) this.#spec = withParams(this.#spec, params);
    if (setpoint !== undefined) this.#setpoint = setpoint;
    if (setpoint !== undefined || next !== undefined) this.#applySetpoint(this.#controller);
    if (manual === null && !Number.isNaN(this.#manualOutput)) this.#toAuto(this.#manualOutput);
    else if (typeof manual === "number") this.#manualOutput = manual;
    if (paused !== undefined && paused !== this.#paused) {
      this.#paused = paused;
      // The first update after a pause integrates over one period, not over the pause.
      this.#lastUpdate = Number.NaN;
    }
    if (sampleTime !== undefined && sampleTime !== this.#sampleTime) {
      this.#sampleTime = sampleTime;
      if (this.#status === "running") this.#restartSchedule();
    }
    this.#revision++;
  }

  /** The loop's state as plain data. */
  state(): LoopState {
    return {
      id: `loop:${this.name}`,
      kind: "loop",
      name: this.name,
      node: this.node.name,
      service: this.service,
      topic: this.topic,
      status: this.#status,
      mode: this.#mode(),
      sampleTime: this.#sampleTime,
      setpoint: this.#setpoint,
      manualOutput: Number.isNaN(this.#manualOutput) ? null : this.#manualOutput,
      controller: { kind: this.#controller.kind, params: this.#controller.params(), spec: this.#spec },
      kinds: controllerKinds,
      sensor: this.sensor.description,
      actuator: { name: this.actuator.name, description: this.actuator.description },
      output: this.#output,
      applied: this.#applied,
      samples: this.#seq,
      errors: { ...this.#errors },
      consecutiveErrors: this.#consecutive,
      lastError: this.#lastError,
      overruns: this.#overruns,
      revision: this.#revision,
      last: this.#log.last ?? null,
      time: Date.now(),
    };
  }

  /** Samples after `since` (a seq; default 0: from the oldest kept), oldest first, at most `limit` (default 1 000). */
  log(since = 0, limit = 1000): LoopLog {
    finite("since", since);
    checkNumber("limit", limit, "a positive integer", (v) => Number.isInteger(v) && v >= 1);
    const samples = this.#log.since(since, limit);
    const first = this.#log.since(0, 1)[0]?.seq ?? this.#seq + 1;
    return { samples, next: samples.length > 0 ? samples[samples.length - 1]!.seq : since, first };
  }

  /** The newest `n` samples, oldest first. */
  recent(n = 100): LoopSample[] {
    return this.#log.tail(n);
  }

  #handlers(): Record<string, (request: Record<string, unknown>) => unknown> {
    return {
      stats: () => this.state(),
      set: (request) => {
        checkRemoteChanges(request);
        this.set(request as LoopChanges);
        return this.state();
      },
      pause: () => {
        this.pause();
        return this.state();
      },
      resume: () => {
        this.resume();
        return this.state();
      },
      log: (request) => {
        checkKeys("log request", request, ["since", "limit"]);
        return this.log(
          (request.since as number | undefined) ?? 0,
          (request.limit as number | undefined) ?? 1000,
        );
      },
      stop: () => {
        // Reply first: stopping unprovides this very service.
        setImmediate(() => void this.stop());
        return { ok: true, targets: [`loop:${this.name}`] };
      },
    };
  }

  #mode(): Exclude<LoopMode, "hold"> {
    if (this.#paused) return "paused";
    return Number.isNaN(this.#manualOutput) ? "auto" : "manual";
  }

  /** Manual → automatic: the controller takes over from `output` (bumpless where it can). */
  #toAuto(output: number): void {
    this.#manualOutput = Number.NaN;
    this.#lastUpdate = Number.NaN;
    if (bumplessStart(this.#controller, output, this.#lastObservation)) return;
    // Kinds that start from an option: rebuild from the spec at the manual output.
    if (this.#spec !== null) {
      try {
        const rebuilt = createController(bumplessSpec(this.#spec, output));
        this.#controller = rebuilt;
        this.#applySetpoint(rebuilt);
      } catch {
        // keep the running controller
      }
    }
  }

  #applySetpoint(controller: Controller): void {
    if (this.#toSetpoint !== null) controller.setpoint = this.#toSetpoint(this.#setpoint);
  }

  #restartSchedule(): void {
    clearTimeout(this.#timer);
    this.#origin = performance.now();
    this.#tick = 0;
    this.#timer = setTimeout(() => this.#due(), 0);
  }

  #due(): void {
    this.#timer = undefined;
    if (this.#status !== "running") return;
    this.sample()
      .catch(() => undefined)
      .finally(() => this.#scheduleNext());
  }

  #scheduleNext(): void {
    if (this.#status !== "running" || this.#timer !== undefined) return;
    const period = this.#sampleTime * 1000;
    const now = performance.now();
    let next = this.#tick + 1;
    const due = this.#origin + next * period;
    // More than one due time passed while the sample ran: run once now, count the rest as skipped.
    if (now > due + period) {
      const skipped = Math.floor((now - due) / period);
      this.#overruns += skipped;
      next += skipped;
    }
    this.#tick = next;
    this.#timer = setTimeout(() => this.#due(), Math.max(0, this.#origin + next * period - now));
  }

  async #sample(): Promise<LoopSample> {
    const attempt = Date.now();
    const periodMs = this.#sampleTime * 1000;
    let reading: Reading | undefined;
    let error: string | null = null;
    try {
      reading = await within(
        this.sensor.read(),
        this.#sensorTimeoutMs ?? periodMs,
        `sensor (${this.sensor.description})`,
      );
      if (
        reading === null ||
        typeof reading !== "object" ||
        typeof reading.observation?.measurement !== "number"
      )
        throw new TypeError(
          "Expected the sensor to return a reading `{ time, observation: { measurement }, values }`",
        );
    } catch (e) {
      reading = undefined;
      this.#errors.sensor++;
      error = `sensor: ${describeError(e)}`;
    }
    const controller = this.#controller;
    let mode: LoopMode = reading === undefined ? "hold" : this.#mode();
    let output = this.#output;
    let dt = Number.NaN;
    let components: Record<string, number> = {};
    let value: number | undefined;
    if (reading !== undefined && mode !== "paused") {
      try {
        if (mode === "auto") {
          const elapsed = (reading.time - this.#lastUpdate) / 1000;
          const maxDt = this.#maxDt ?? 3 * this.#sampleTime;
          dt = elapsed > 0 ? Math.min(elapsed, maxDt) : this.#sampleTime;
          this.#before?.(reading, controller);
          const observation = this.#observe ? this.#observe(reading) : reading.observation;
          output = controller.update(observation, dt);
          components = { ...controller.components };
          this.#lastUpdate = reading.time;
        } else output = this.#manualOutput;
        value = this.#toActuator ? this.#toActuator(output, reading) : output;
        if (typeof value !== "number" || Number.isNaN(value))
          throw new TypeError(`Expected an actuator value, got \`${String(value)}\` for output ${output}`);
      } catch (e) {
        this.#errors.controller++;
        error = `controller: ${describeError(e)}`;
        mode = "hold";
        output = this.#output;
        dt = Number.NaN;
        components = {};
        value = undefined;
      }
    }
    if (value !== undefined) {
      // The controller moved on to `output` even if the actuator fails: it is its output in force.
      this.#output = output;
      try {
        const applied = await within(
          this.actuator.apply(value),
          this.#actuatorTimeoutMs ?? periodMs,
          `actuator (${this.actuator.description})`,
        );
        this.#applied = applied;
      } catch (e) {
        this.#errors.actuator++;
        error = `actuator: ${describeError(e)}`;
        mode = "hold";
      }
    }
    if (reading !== undefined) this.#lastObservation = reading.observation;
    if (error === null) this.#consecutive = 0;
    else {
      this.#consecutive++;
      this.#lastError = error;
    }
    const timestamp = reading?.time ?? attempt;
    const sample: LoopSample = {
      seq: ++this.#seq,
      time: (timestamp - this.#startWall) / 1000,
      timestamp,
      dt,
      setpoint: this.#setpoint,
      measurement: reading?.observation.measurement ?? Number.NaN,
      output,
      applied: this.#applied,
      components,
      observation: reading?.observation ?? null,
      values: reading?.values ?? {},
      mode,
      error,
      controller: controller.kind,
      revision: this.#revision,
    };
    this.#log.push(sample);
    if (this.#publish && (this.node.state === "running" || this.node.state === "stopping")) {
      try {
        this.node.publish(this.topic, sample);
      } catch {
        this.#errors.publish++;
      }
    }
    this.emit("sample", sample);
    return sample;
  }
}
