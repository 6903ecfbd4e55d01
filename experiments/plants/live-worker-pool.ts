/**
 * The worker-pool model on a live graph: a producer node offers Poisson
 * arrivals at the scenario's load, an admission gate (token bucket and
 * random fraction, toolbox/loop) decides what enters the queue, and a pool
 * of worker processes (toolbox/nodes/queue-worker.ts, `graph.spawn` host
 * "process") serves it, one message at a time each, for exponential service
 * times at the scenario's per-worker rate. It has the simulated plant's
 * columns and actuators (experiments/plants/worker-pool.ts), so every
 * worker-pool experiment runs on it with `--plant live`.
 *
 * - Time is real: `advance(dt)` resolves when the next sample is due (a
 *   drift-free schedule from the start) and takes the sample then; a sample's
 *   time is the producer's meter snapshot time.
 * - Observation from the meters (toolbox/loop's `queueSensor` on the
 *   producer): backlog = the queue's charge (accepted, not acknowledged),
 *   arrival rate (accepted per second) and service rate (acknowledged per
 *   second) over the last period, delay = backlog / service rate (backlog /
 *   capacity while nothing was served).
 * - Latency: each message is pushed with `confirm`, so its sojourn (push →
 *   acknowledged by its worker) is known exactly: per period (mean, p99) for
 *   the columns, over the run for the quantiles.
 * - Actuators: `rate` and `fraction` set the gate; `window` is the credit
 *   window (the zguide's credit-based flow control): every worker grants
 *   max(1, round(window / workers)) credit and the producer admits a message
 *   only while a worker has free credit (refused ones are shed); `workers`
 *   starts and stops worker processes (a `WorkerPoolActuator`; a process
 *   takes about a second to start, at least `workerStartDelay`).
 * - Capacity steps: at each sample every worker's speed is set to
 *   workerRate(t) / workerRate(0) over its control service.
 * - Stats: goodput = busy worker-time / ready worker-time (the workers
 *   report their busy time), shed and dropped as fractions of the offered
 *   messages (dropped: admitted while the backlog was at `bufferSize`).
 *
 * Nothing is deterministic here (real processes, real timers): the same
 * seed gives the same offered arrivals and service-time draws, not the same
 * bytes. The producer runs inline in the experiment's process; at most 64
 * worker processes are started.
 */
import { Graph, type Node } from "../../core/index.js";
import { Random } from "../../toolbox/control/random.js";
import { AdmissionGate } from "../../toolbox/loop/admission.js";
import { queueSensor } from "../../toolbox/loop/queue-sensor.js";
import type { Sensor } from "../../toolbox/loop/sensor.js";
import { callControl } from "../../toolbox/loop/steering.js";
import { WorkerPoolActuator } from "../../toolbox/loop/worker-pool.js";
import type { QueueWorkerState } from "../../toolbox/nodes/queue-worker.js";
import { checkPositive, quantile } from "../check.js";
import type { ExperimentPlant, PlantSample, PlantStats } from "../runner.js";
import type { QueuePlantSpec } from "./registry.js";
import { workerPoolColumns } from "./worker-pool.js";

const QUEUE = "work";
const DEFAULT_WINDOW = 1000;
const MAX_PROCESSES = 64;
const fromSource = import.meta.url.endsWith(".ts");
const workerModule = new URL(`../../toolbox/nodes/queue-worker.${fromSource ? "ts" : "js"}`, import.meta.url);

/** Options of the live plant besides the spec. */
export interface LiveWorkerPoolOptions {
  /** Where the workers run. Default `"process"`. */
  host?: "inline" | "thread" | "process";
}

interface Period {
  offered: number;
  shed: number;
  dropped: number;
  sojourns: number[];
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));

/** The live worker pool (see the module comment). Build it with `LiveWorkerPool.start(spec)`. */
export class LiveWorkerPool implements ExperimentPlant {
  readonly model = "worker-pool";
  readonly mode = "live";
  readonly columns = workerPoolColumns;
  readonly actuators: readonly string[] = Object.freeze(["rate", "fraction", "window", "workers"]);

  readonly #graph: Graph;
  readonly #producer: Node;
  readonly #gate: AdmissionGate;
  readonly #pool: WorkerPoolActuator;
  readonly #sensor: Sensor;
  readonly #load: (t: number) => number;
  readonly #workerRate: (t: number) => number;
  readonly #baseRate: number;
  readonly #bufferSize: number;
  readonly #measurementDelay: number;
  readonly #arrivals: Random;
  #origin = 0;
  #startWall = 0;
  #due = 0;
  /** Budget left to the next arrival, in rate × seconds (an Exp(1) draw spent at the load's rate). */
  #nextArrival = 0;
  #lastArrivalTime = 0;
  /** Messages pushed and not yet acknowledged (the buffer the scenario's `bufferSize` bounds). */
  #inQueue = 0;
  #generator: ReturnType<typeof setTimeout> | undefined;
  #closed = false;
  #speed = 1;
  /** Credit each worker grants; `undefined`: no window set (no admission check on credit). */
  #window: number | undefined;
  #period: Period = { offered: 0, shed: 0, dropped: 0, sojourns: [] };
  #sample: PlantSample | undefined;
  #lastTime = 0;
  #latency = Number.NaN;
  #history: { times: number[]; values: number[] } = { times: [], values: [] };
  #pending = new Set<Promise<unknown>>();
  readonly #busy = new Map<string, number>();
  #counts = { offered: 0, dropped: 0, served: 0, actuatorErrors: 0, lateSamples: 0 };
  #areas = { worker: 0, backlog: 0, capacity: 0, time: 0 };
  #sojourns: number[] = [];

  private constructor(
    graph: Graph,
    producer: Node,
    spec: QueuePlantSpec,
    host: "inline" | "thread" | "process",
  ) {
    const s = spec.scenario;
    this.#graph = graph;
    this.#producer = producer;
    this.#load = spec.signals.load;
    this.#workerRate = spec.signals.workerRate;
    this.#baseRate = checkPositive("workerRate(0)", spec.signals.workerRate(0));
    this.#bufferSize = s.bufferSize ?? Number.POSITIVE_INFINITY;
    this.#measurementDelay = spec.measurementDelay ?? 0;
    this.#arrivals = new Random(spec.seed, 1);
    this.#gate = new AdmissionGate({ seed: spec.seed * 7919 + 2 });
    this.#sensor = queueSensor(producer, { queue: QUEUE });
    const startDelayMs = 1000 * (spec.workerStartDelay ?? 0);
    const min = spec.minWorkers ?? 1;
    const max = Math.min(MAX_PROCESSES, Math.max(spec.maxWorkers ?? 256, s.workers));
    this.#pool = new WorkerPoolActuator(graph, {
      module: workerModule,
      host,
      min,
      max,
      // Each worker starts at the speed and credit in force, with a service-time stream of its own.
      args: (n: number) => ({
        queue: QUEUE,
        rate: this.#baseRate,
        speed: this.#speed,
        window: this.#window ?? DEFAULT_WINDOW,
        seed: spec.seed * 1009 + n,
        startDelayMs,
      }),
      spawn: { node: { drainTimeoutMs: 2000 } },
      beforeStop: (name) => this.#poll(name),
    });
  }

  /** Starts the graph, the producer and the workers (resolves when they are ready), then the clock. */
  static async start(spec: QueuePlantSpec, options: LiveWorkerPoolOptions = {}): Promise<LiveWorkerPool> {
    const graph = await Graph.open({ advertise: false, heartbeatMs: 500 });
    let plant: LiveWorkerPool | undefined;
    try {
      const bufferSize = spec.scenario.bufferSize ?? Number.POSITIVE_INFINITY;
      const producer = await graph.node("producer", {
        // Room for every message the buffer admits: push() never waits, the admission decides.
        pushBuffer: Number.isFinite(bufferSize) ? bufferSize + 1 : 1e9,
        drainTimeoutMs: 2000,
      });
      plant = new LiveWorkerPool(graph, producer, spec, options.host ?? "process");
      await plant.#begin(spec);
      return plant;
    } catch (error) {
      await plant?.close().catch(() => undefined);
      await graph.close();
      throw error;
    }
  }

  async #begin(spec: QueuePlantSpec): Promise<void> {
    const workers = spec.scenario.workers;
    this.#pool.apply(workers);
    await this.#pool.settled();
    const deadline = Date.now() + 10_000;
    while (this.#workersKnown() < this.#pool.ready.length) {
      if (Date.now() > deadline) throw new Error("the producer did not learn of its workers within 10 s");
      await sleep(20);
    }
    this.#origin = performance.now();
    this.#startWall = Date.now();
    for (let i = 0; i < (spec.initialBacklog ?? 0); i++) this.#push();
    this.#sample = await this.#take(0);
    this.#due = this.#origin;
    this.#nextArrival = this.#arrivals.exponential(1);
    this.#generate();
  }

  /** Workers the producer's replica lists as pullers of the queue. */
  #workersKnown(): number {
    return this.#producer
      .nodes()
      .filter((n) => n.queues.some((q) => q.name === QUEUE) && this.#pool.ready.includes(n.name)).length;
  }

  /** Seconds since the start. */
  #now(): number {
    return (performance.now() - this.#origin) / 1000;
  }

  /**
   * Offers the arrivals due by now: a Poisson process whose rate follows the
   * load signal (each gap is an Exp(1) budget spent at the rate at its start).
   * `#nextArrival` holds the budget left, in units of rate × seconds.
   */
  #generate(): void {
    if (this.#closed) return;
    const now = this.#now();
    let t = this.#lastArrivalTime;
    for (;;) {
      const rate = Math.max(0, this.#load(t));
      if (rate === 0) {
        t = now;
        break;
      }
      const at = t + this.#nextArrival / rate;
      if (at > now) {
        this.#nextArrival -= (now - t) * rate;
        t = now;
        break;
      }
      t = at;
      this.#nextArrival = this.#arrivals.exponential(1);
      this.#offer();
    }
    this.#lastArrivalTime = t;
    this.#generator = setTimeout(() => this.#generate(), 2);
  }

  /** One offered message: credit, gate, buffer, push. */
  #offer(): void {
    this.#counts.offered++;
    this.#period.offered++;
    if (this.#window !== undefined && !this.#hasCredit()) {
      this.#gate.refuse();
      this.#period.shed++;
      return;
    }
    if (!this.#gate.admit()) {
      this.#period.shed++;
      return;
    }
    if (this.#inQueue >= this.#bufferSize) {
      this.#counts.dropped++;
      this.#period.dropped++;
      return;
    }
    this.#push();
  }

  #hasCredit(): boolean {
    for (const c of this.#producer.credit(QUEUE)) if (c.window > c.inflight) return true;
    return false;
  }

  #push(): void {
    const pushed = performance.now();
    this.#inQueue++;
    this.#producer.push(QUEUE, pushed, { confirm: true }).then(
      () => {
        this.#inQueue--;
        const sojourn = (performance.now() - pushed) / 1000;
        this.#counts.served++;
        this.#sojourns.push(sojourn);
        this.#period.sojourns.push(sojourn);
      },
      () => {
        this.#inQueue--; // the plant closed first
      },
    );
  }

  observe(): PlantSample {
    const s = this.#sample!;
    return { time: s.time, observation: { ...s.observation }, values: s.values.slice() };
  }

  apply(actuator: string, value: number): number {
    if (typeof value !== "number" || Number.isNaN(value)) {
      throw new TypeError(`Expected the \`${actuator}\` value to be a number, got \`${String(value)}\``);
    }
    switch (actuator) {
      case "rate":
        this.#gate.rate = Math.max(0, value);
        return this.#gate.rate;
      case "fraction":
        this.#gate.fraction = Math.min(1, Math.max(0, value));
        return this.#gate.fraction;
      case "window":
        return this.#setWindow(value);
      case "workers":
        return this.#pool.apply(value);
      default:
        throw new RangeError(
          `Unknown actuator \`${actuator}\`; expected one of ${this.actuators.join(", ")}`,
        );
    }
  }

  /** Lets `dt` seconds pass: waits until the next sample is due and takes it. */
  async advance(dt: number): Promise<void> {
    checkPositive("dt", dt);
    const t = this.#now();
    this.#setSpeed(this.#workerRate(t) / this.#baseRate);
    this.#due += dt * 1000;
    const wait = this.#due - performance.now();
    if (wait < -dt * 500) this.#counts.lateSamples++;
    await sleep(wait);
    this.#sample = await this.#take(dt);
  }

  stats(): PlantStats {
    const sorted = Float64Array.from(this.#sojourns).sort();
    const g = this.#gate.stats();
    const c = this.#counts;
    let busy = 0;
    for (const ms of this.#busy.values()) busy += ms / 1000;
    const a = this.#areas;
    return {
      goodput: a.worker > 0 ? Math.min(1, busy / a.worker) : Number.NaN,
      shed: c.offered > 0 ? g.shed / c.offered : Number.NaN,
      dropped: c.offered > 0 ? c.dropped / c.offered : Number.NaN,
      latencyP50: quantile(sorted, 0.5),
      latencyP99: quantile(sorted, 0.99),
      extra: {
        offered: c.offered,
        admitted: g.admitted,
        served: c.served,
        shedCount: g.shed,
        droppedCount: c.dropped,
        meanBacklog: a.time > 0 ? a.backlog / a.time : Number.NaN,
        meanWorkers: a.time > 0 ? a.worker / a.time : Number.NaN,
        servedPerCapacity: a.capacity > 0 ? c.served / a.capacity : Number.NaN,
        busyWorkerTime: busy,
        lateSamples: c.lateSamples,
        actuatorErrors: c.actuatorErrors,
      },
    };
  }

  /**
   * Stops offering, lets the workers drain the queue at full speed (so no
   * accepted message is left unacknowledged), then stops the workers and the
   * graph. Twice is a no-op.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#generator);
    this.#setSpeed(1000);
    await Promise.allSettled([...this.#pending]);
    const deadline = Date.now() + 5000;
    while ((this.#producer.stats().pushed[QUEUE]?.backlog ?? 0) > 0 && Date.now() < deadline) await sleep(20);
    await this.#pool.close();
    await this.#graph.close();
  }

  /** Takes a sample at the end of a period of `dt` seconds (0 for the first). */
  async #take(dt: number): Promise<PlantSample> {
    const reading = await this.#sensor.read();
    // Busy times for the goodput, read in the background: a slow worker must not delay the sample.
    for (const name of this.#pool.ready) this.#track(this.#poll(name));
    const time = (reading.time - this.#startWall) / 1000;
    const span = Math.max(0, time - this.#lastTime);
    this.#lastTime = time;
    const ready = this.#pool.ready.length;
    const rate = Math.max(0, this.#workerRate(time));
    const capacity = ready * rate;
    const backlog = reading.observation.measurement;
    const a = this.#areas;
    a.worker += ready * span;
    a.capacity += capacity * span;
    a.backlog += backlog * span;
    a.time += span;
    const p = this.#period;
    this.#period = { offered: 0, shed: 0, dropped: 0, sojourns: [] };
    const sojourns = Float64Array.from(p.sojourns).sort();
    let mean = Number.NaN;
    if (sojourns.length > 0) {
      mean = sojourns.reduce((x, y) => x + y, 0) / sojourns.length;
      this.#latency = mean;
    }
    const measured = this.#aged(time, backlog);
    const serviceRate = reading.observation.serviceRate ?? 0;
    const arrivalRate = reading.observation.arrivalRate ?? 0;
    const observation = {
      measurement: measured,
      delay: serviceRate > 0 ? measured / serviceRate : capacity > 0 ? measured / capacity : Number.NaN,
      latency: this.#latency,
      arrivalRate,
      serviceRate,
      inflight: backlog,
      congested: p.dropped > 0,
    };
    const period = dt > 0 ? dt : 1;
    const g = this.#gate;
    const values = [
      backlog,
      Math.max(0, this.#load(time)),
      capacity,
      ready,
      dt > 0 ? p.offered / period : 0,
      arrivalRate,
      serviceRate,
      p.shed,
      p.dropped,
      mean * 1000,
      quantile(sojourns, 0.99) * 1000,
      Number.isFinite(g.rate) ? g.rate : Number.NaN,
      g.fraction,
      this.#window === undefined ? Number.NaN : this.#window * Math.max(1, ready),
    ];
    return { time, observation, values };
  }

  /** The backlog `measurementDelay` seconds ago (sample-and-hold at sample times). */
  #aged(time: number, backlog: number): number {
    if (this.#measurementDelay === 0) return backlog;
    const h = this.#history;
    h.times.push(time);
    h.values.push(backlog);
    let i = h.times.length - 1;
    while (i > 0 && h.times[i]! > time - this.#measurementDelay + 1e-9) i--;
    if (i > 1024) {
      h.times.splice(0, i);
      h.values.splice(0, i);
      i = 0;
    }
    return h.values[i]!;
  }

  /** Reads a worker's busy time (kept when the worker is gone). */
  async #poll(name: string): Promise<void> {
    try {
      const state = await callControl<QueueWorkerState>(this.#producer, name, { op: "stats" }, 500);
      this.#busy.set(name, state.busyMs);
    } catch {
      // a worker stopping or busy: its last reading stands
    }
  }

  #setSpeed(speed: number): void {
    if (!(speed > 0) || speed === this.#speed) return;
    this.#speed = speed;
    this.#tell({ speed });
  }

  #setWindow(value: number): number {
    const ready = Math.max(1, this.#pool.ready.length);
    if (value === Number.POSITIVE_INFINITY) {
      if (this.#window !== undefined) {
        this.#window = undefined;
        this.#tell({ window: DEFAULT_WINDOW });
      }
      return Number.POSITIVE_INFINITY;
    }
    const each = Math.max(1, Math.round(Math.max(0, value) / ready));
    if (each !== this.#window) {
      this.#window = each;
      this.#tell({ window: each });
    }
    return each * ready;
  }

  /** Sends a setting to every ready worker (in the background; failures counted). */
  #tell(settings: Record<string, number>): void {
    for (const name of this.#pool.ready) {
      this.#track(
        callControl(this.#producer, name, { op: "set", ...settings }, 1000).catch(() => {
          this.#counts.actuatorErrors++;
        }),
      );
    }
  }

  #track(promise: Promise<unknown>): void {
    const p: Promise<unknown> = promise.finally(() => this.#pending.delete(p));
    this.#pending.add(p);
  }
}

/** The live worker-pool factory the registry uses (`--plant live`). */
export function createLiveWorkerPool(spec: QueuePlantSpec): Promise<LiveWorkerPool> {
  return LiveWorkerPool.start(spec);
}
