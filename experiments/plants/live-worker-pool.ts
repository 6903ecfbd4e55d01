/**
 * The worker-pool model on a live graph: producers → queue proxy → a pool of
 * worker processes. A producer node offers Poisson arrivals at the
 * scenario's load; the queue proxy (toolbox/proxy) fronts the queue, admits
 * by its token bucket and random fraction, sheds the rest (counted, and
 * published on its dead-letter topic) and forwards the others to the
 * workers (toolbox/nodes/queue-worker.ts, `graph.spawn` host "process"),
 * which serve one message at a time each, for exponential service times at
 * the scenario's per-worker rate. It has the simulated plant's columns and
 * actuators (experiments/plants/worker-pool.ts), so every worker-pool
 * experiment runs on it with `--plant live`.
 *
 * - Time is real: `advance(dt)` resolves when the next sample is due (a
 *   drift-free schedule from the start, but at least half a period after a
 *   late sample) and takes the sample then.
 * - Observation from the proxy's meters, through its steering service
 *   (toolbox/loop's `queueProxySensor`): backlog = the queue's charge at
 *   the proxy (received, not yet handled by a worker nor shed), arrival rate
 *   (admitted per second) and service rate (handled per second) over the
 *   last period, delay = backlog / service rate (backlog / capacity while
 *   nothing was served). A read that fails (5 s timeout: a starved event
 *   loop) repeats the previous reading, counted in `extra.sensorErrors`.
 * - Latency: every message is pushed with `confirm`; the proxy acknowledges
 *   an admitted message when its worker has, a shed one at once. Shed ones
 *   are recognised by their id on the dead-letter topic, so the sojourn of
 *   each served message (push → handled) is known exactly: per period (mean,
 *   p99; a message counts in the period 0.1 s after it was acknowledged, when
 *   its dead letter has surely arrived) and over the run for the quantiles.
 * - Actuators: `rate` and `fraction` are the proxy's; `window` is the credit
 *   window the proxy grants the producer (the zguide's credit-based flow
 *   control: at most `window` messages unacknowledged in the system), and
 *   the producer offers a message only while it has credit (refused ones
 *   are shed); `workers` starts and stops worker processes (a
 *   `WorkerPoolActuator`; a process takes about a second to start, at least
 *   `workerStartDelay`).
 * - Capacity steps: at each sample every worker's speed is set to
 *   workerRate(t) / workerRate(0) over its control service.
 * - Dropped: a message offered while `bufferSize` messages are
 *   unacknowledged (a full buffer) is counted and not sent.
 * - Stats: goodput = busy worker-time / ready worker-time (the workers
 *   report their busy time), shed and dropped as fractions of the offered
 *   messages.
 *
 * Nothing is deterministic here (real processes, real timers): the same
 * seed gives the same offered arrivals, admission draws and service-time
 * draws, not the same bytes. The producer and the proxy run inline in the
 * experiment's process; at most 64 worker processes are started.
 */
import type { Graph, Node, Subscription } from "../../core/index.js";
import { Random } from "../../toolbox/control/random.js";
import { positive } from "../../toolbox/control/validate.js";
import { queueProxySensor } from "../../toolbox/loop/queue-sensor.js";
import type { Reading, Sensor } from "../../toolbox/loop/sensor.js";
import { WorkerPoolActuator } from "../../toolbox/loop/worker-pool.js";
import type { QueueWorkerState } from "../../toolbox/nodes/queue-worker.js";
import { QueueProxy } from "../../toolbox/proxy/queue-proxy.js";
import { callControl } from "../../toolbox/steering.js";
import { quantile } from "../metrics.js";
import type { ExperimentPlant, LoopHost, PlantSample, PlantStats } from "../runner.js";
import { liveGraph, nextLiveRun } from "./live-graph.js";
import type { QueuePlantSpec } from "./registry.js";
import { workerPoolColumns } from "./worker-pool.js";

/** Credit each worker grants the proxy. */
const WORKER_WINDOW = 1000;
/** Seconds a served message waits before it counts in a period: its dead letter, if any, is in by then. */
const CLASSIFY_AFTER_MS = 100;
const MAX_PROCESSES = 64;
const fromSource = import.meta.url.endsWith(".ts");
const workerModule = new URL(`../../toolbox/nodes/queue-worker.${fromSource ? "ts" : "js"}`, import.meta.url);

/** Options of the live plant besides the spec. */
export interface LiveWorkerPoolOptions {
  /** Where the workers run. Default `"process"`. */
  host?: "inline" | "thread" | "process";
  /** The graph to run on. Default: the experiment's shared, advertised live graph (`liveGraph`). */
  graph?: Graph;
}

interface Period {
  offered: number;
  refused: number;
  dropped: number;
  shed: number;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));

/** The live worker pool (see the module comment). Build it with `LiveWorkerPool.start(spec)`. */
export class LiveWorkerPool implements ExperimentPlant {
  readonly model = "worker-pool";
  readonly mode = "live";
  readonly columns = workerPoolColumns;
  readonly actuators: readonly string[] = Object.freeze(["rate", "fraction", "window", "workers"]);

  readonly #graph: Graph;
  /** The queue of this run (`work-<run>`) and where its proxy publishes what it sheds. */
  readonly #queue: string;
  readonly #deadLetterTopic: string;
  readonly #producer: Node;
  readonly #proxy: QueueProxy;
  readonly #pool: WorkerPoolActuator;
  readonly #sensor: Sensor;
  readonly #deadLetters: Subscription<{ message: unknown }>;
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
  #generator: ReturnType<typeof setTimeout> | undefined;
  #closed = false;
  #speed = 1;
  /** The credit window set by the `window` actuator; `undefined`: none (the producer offers everything). */
  #window: number | undefined;
  /** Messages pushed and not yet acknowledged (the buffer the scenario's `bufferSize` bounds). */
  #inQueue = 0;
  #nextId = 0;
  /** Messages acknowledged, not yet known to be served or shed: [id, sojourn s, acknowledged at ms]. */
  #acknowledged: [number, number, number][] = [];
  /** Ids the proxy shed (from its dead letters), until their acknowledgement is classified. */
  readonly #shedIds = new Set<number>();
  #period: Period = { offered: 0, refused: 0, dropped: 0, shed: 0 };
  #periodSojourns: number[] = [];
  /** The proxy's shed count at the previous sample. */
  #shedMark = 0;
  #sample: PlantSample | undefined;
  /** When the last sample was taken, performance.now() ms. */
  #sampledAt = 0;
  #lastTime = 0;
  #latency = Number.NaN;
  #history: { times: number[]; values: number[] } = { times: [], values: [] };
  readonly #pending = new Set<Promise<unknown>>();
  readonly #busy = new Map<string, number>();
  #counts = { offered: 0, refused: 0, dropped: 0, actuatorErrors: 0, sensorErrors: 0, lateSamples: 0 };
  #lastReading: Reading | undefined;
  #areas = { worker: 0, backlog: 0, capacity: 0, time: 0 };
  #sojourns: number[] = [];
  /** When each served message was acknowledged, seconds since the start (same order as #sojourns). */
  #departures: number[] = [];

  private constructor(
    graph: Graph,
    producer: Node,
    proxy: QueueProxy,
    spec: QueuePlantSpec,
    host: "inline" | "thread" | "process",
    names: { queue: string; deadLetters: string; workers: string },
  ) {
    const s = spec.scenario;
    this.#graph = graph;
    this.#queue = names.queue;
    this.#deadLetterTopic = names.deadLetters;
    this.#producer = producer;
    this.#proxy = proxy;
    this.#load = spec.signals.load;
    this.#workerRate = spec.signals.workerRate;
    this.#baseRate = positive("workerRate(0)", spec.signals.workerRate(0));
    this.#bufferSize = s.bufferSize ?? Number.POSITIVE_INFINITY;
    this.#measurementDelay = spec.measurementDelay ?? 0;
    this.#arrivals = new Random(spec.seed, 1);
    // A generous timeout: on a busy machine a stats call can wait for the event loop.
    this.#sensor = queueProxySensor(producer, {
      proxy: proxy.node.name,
      queue: this.#queue,
      timeoutMs: 5000,
    });
    this.#deadLetters = producer.subscribe(this.#deadLetterTopic);
    void this.#collectDeadLetters();
    const startDelayMs = 1000 * (spec.workerStartDelay ?? 0);
    this.#pool = new WorkerPoolActuator(graph, {
      module: workerModule,
      host,
      min: spec.minWorkers ?? 1,
      max: Math.min(MAX_PROCESSES, Math.max(spec.maxWorkers ?? 256, s.workers)),
      // Each worker starts at the speed in force, with a service-time stream of its own.
      args: (n: number) => ({
        queue: this.#queue,
        rate: this.#baseRate,
        speed: this.#speed,
        window: WORKER_WINDOW,
        seed: spec.seed * 1009 + n,
        startDelayMs,
      }),
      prefix: names.workers,
      spawn: { node: { drainTimeoutMs: 2000 } },
      beforeStop: (name) => this.#poll(name),
    });
  }

  /**
   * Starts the proxy, the producer and the workers on the experiment's
   * shared live graph (`liveGraph`; its own graph with `options.graph`),
   * resolves when all are ready, then starts the clock. Node, queue and
   * worker names carry the run's number (`proxy-3`, `work-3`, `worker-3-1`).
   */
  static async start(spec: QueuePlantSpec, options: LiveWorkerPoolOptions = {}): Promise<LiveWorkerPool> {
    if (spec.discipline !== undefined)
      throw new RangeError(
        "A queue discipline in the data path runs on the simulated plant only (the live proxy has none)",
      );
    const graph = options.graph ?? (await liveGraph());
    const run = nextLiveRun();
    const names = { queue: `work-${run}`, deadLetters: `dead/work-${run}`, workers: `worker-${run}` };
    let plant: LiveWorkerPool | undefined;
    const nodes: Node[] = [];
    try {
      const bufferSize = spec.scenario.bufferSize ?? Number.POSITIVE_INFINITY;
      const room = Number.isFinite(bufferSize) ? bufferSize + 1 : 1e9;
      const proxyNode = await graph.node(`proxy-${run}`, { drainTimeoutMs: 2000 });
      nodes.push(proxyNode);
      const admission = new Random(spec.seed, 2);
      const proxy = await QueueProxy.start(proxyNode, {
        queue: names.queue,
        deadLetter: names.deadLetters,
        // Credit for the whole buffer: the proxy holds what the producer sends, the admission decides.
        window: Math.min(room, 1_000_000),
        random: () => admission.next(),
      });
      // Room for the whole buffer: push() never waits, the admission and the buffer check decide.
      const producer = await graph.node(`producer-${run}`, { pushBuffer: room, drainTimeoutMs: 2000 });
      nodes.push(producer);
      plant = new LiveWorkerPool(graph, producer, proxy, spec, options.host ?? "process", names);
      await plant.#begin(spec);
      return plant;
    } catch (error) {
      if (plant) await plant.close().catch(() => undefined);
      else for (const node of nodes) await node.stop().catch(() => undefined);
      throw error;
    }
  }

  async #begin(spec: QueuePlantSpec): Promise<void> {
    this.#pool.apply(spec.scenario.workers);
    await this.#pool.settled();
    await this.#proxy.node.waitForSubscribers(this.#deadLetterTopic);
    const deadline = Date.now() + 10_000;
    // The producer must push to the proxy, and the proxy know every worker, before the clock starts.
    while (!this.#ready()) {
      if (Date.now() > deadline)
        throw new Error("the proxy and its workers did not find each other within 10 s");
      await sleep(20);
    }
    this.#origin = performance.now();
    this.#startWall = Date.now();
    for (let i = 0; i < (spec.initialBacklog ?? 0); i++) this.#push();
    this.#sample = await this.#take();
    this.#due = this.#origin;
    this.#nextArrival = this.#arrivals.exponential(1);
    this.#generate();
  }

  #ready(): boolean {
    const proxy = this.#proxy.node.name;
    const fronted = this.#producer
      .nodes()
      .some((n) => n.name === proxy && n.fronts.some((f) => f.kind === "queue" && f.name === this.#queue));
    const workers = this.#proxy.workers();
    return fronted && this.#pool.ready.every((w) => workers.includes(w));
  }

  async #collectDeadLetters(): Promise<void> {
    for await (const { data } of this.#deadLetters) {
      if (typeof data?.message === "number") this.#shedIds.add(data.message);
    }
  }

  /** Seconds since the start. */
  #now(): number {
    return (performance.now() - this.#origin) / 1000;
  }

  /**
   * Offers the arrivals due by now: a Poisson process whose rate follows the
   * load signal (each gap an Exp(1) budget spent at the load's rate).
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

  /** One offered message: credit (when a window is set), buffer, then the proxy admits or sheds it. */
  #offer(): void {
    this.#counts.offered++;
    this.#period.offered++;
    if (this.#window !== undefined && !this.#hasCredit()) {
      this.#counts.refused++;
      this.#period.refused++;
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
    for (const c of this.#producer.credit(this.#queue)) if (c.window > c.inflight) return true;
    return false;
  }

  #push(): void {
    const id = this.#nextId++;
    const pushed = performance.now();
    this.#inQueue++;
    this.#producer.push(this.#queue, id, { confirm: true }).then(
      () => {
        this.#inQueue--;
        const now = performance.now();
        this.#acknowledged.push([id, (now - pushed) / 1000, now]);
      },
      () => {
        this.#inQueue--; // the plant closed first
      },
    );
  }

  /** Served sojourns: acknowledgements old enough that a dead letter would have come, and none did. */
  #classify(now: number): void {
    let k = 0;
    for (; k < this.#acknowledged.length; k++) {
      const [id, sojourn, at] = this.#acknowledged[k]!;
      if (now - at < CLASSIFY_AFTER_MS) break;
      if (this.#shedIds.delete(id)) continue;
      this.#sojourns.push(sojourn);
      this.#departures.push((at - this.#origin) / 1000);
      this.#periodSojourns.push(sojourn);
    }
    if (k > 0) this.#acknowledged.splice(0, k);
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
        this.#proxy.rate = Math.max(0, value);
        return this.#proxy.rate;
      case "fraction":
        this.#proxy.fraction = Math.min(1, Math.max(0, value));
        return this.#proxy.fraction;
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

  /**
   * The loops of a run are `FeedbackLoop`s on the producer node (see
   * `LoopHost`); each of their samples takes a fresh sample of the plant,
   * after moving the workers' speed to the scenario's capacity.
   */
  get loopHost(): LoopHost {
    return {
      node: this.#producer,
      sample: async () => {
        this.#setSpeed(this.#workerRate(this.#now()) / this.#baseRate);
        this.#sample = await this.#take();
        return { sample: this.observe(), timestamp: this.#startWall + this.#sample.time * 1000 };
      },
    };
  }

  /** Lets `dt` seconds pass: waits until the next sample is due and takes it. */
  async advance(dt: number): Promise<void> {
    positive("dt", dt);
    this.#setSpeed(this.#workerRate(this.#now()) / this.#baseRate);
    this.#due += dt * 1000;
    const now = performance.now();
    if (now - this.#due > dt * 500) this.#counts.lateSamples++;
    // On the schedule, but never sooner than half a period after a late sample: a few
    // milliseconds' counts make no rate.
    await sleep(Math.max(this.#due, this.#sampledAt + dt * 500) - now);
    this.#sample = await this.#take();
  }

  stats(): PlantStats {
    const sorted = Float64Array.from(this.#sojourns).sort();
    const p = this.#proxy.stats();
    const c = this.#counts;
    const shed = p.shed + c.refused;
    let busy = 0;
    for (const ms of this.#busy.values()) busy += ms / 1000;
    const a = this.#areas;
    return {
      goodput: a.worker > 0 ? Math.min(1, busy / a.worker) : Number.NaN,
      shed: c.offered > 0 ? shed / c.offered : Number.NaN,
      dropped: c.offered > 0 ? c.dropped / c.offered : Number.NaN,
      latencyP50: quantile(sorted, 0.5),
      latencyP99: quantile(sorted, 0.99),
      extra: {
        offered: c.offered,
        admitted: p.admitted,
        served: p.handled,
        shedCount: shed,
        shedByProducerCredit: c.refused,
        droppedCount: c.dropped,
        meanBacklog: a.time > 0 ? a.backlog / a.time : Number.NaN,
        meanWorkers: a.time > 0 ? a.worker / a.time : Number.NaN,
        servedPerCapacity: a.capacity > 0 ? p.handled / a.capacity : Number.NaN,
        busyWorkerTime: busy,
        lateSamples: c.lateSamples,
        actuatorErrors: c.actuatorErrors,
        sensorErrors: c.sensorErrors,
      },
      departures: { times: this.#departures.slice(), sojourns: this.#sojourns.slice() },
    };
  }

  /**
   * Stops offering, lets the workers drain the queue at full speed (so no
   * accepted message is left unacknowledged), then stops the workers, the
   * proxy and the producer (the shared graph stays open for the next run).
   * Twice is a no-op.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#generator);
    this.#setSpeed(1000);
    const deadline = Date.now() + 5000;
    while (this.#inQueue > 0 && Date.now() < deadline) await sleep(20);
    while (this.#pending.size > 0) await Promise.allSettled([...this.#pending]);
    this.#deadLetters.close();
    await this.#pool.close();
    await this.#proxy.close();
    await this.#proxy.node.stop();
    await this.#producer.stop();
  }

  /** Takes a sample: the proxy's meters, the period's counts and sojourns since the previous sample. */
  async #take(): Promise<PlantSample> {
    this.#sampledAt = performance.now();
    let reading: Reading;
    try {
      reading = await this.#sensor.read();
      this.#lastReading = reading;
    } catch (error) {
      // No reading: hold the last one (counted), as a loop holds its output; the run goes on.
      if (this.#lastReading === undefined) throw error;
      this.#counts.sensorErrors++;
      reading = { ...this.#lastReading, time: Date.now() };
    }
    // Busy times for the goodput, read in the background: a slow worker must not delay the sample.
    for (const name of this.#pool.ready) this.#track(this.#poll(name));
    const time = (reading.time - this.#startWall) / 1000;
    const span = Math.max(0, time - this.#lastTime);
    this.#lastTime = time;
    const ready = this.#pool.ready.length;
    const capacity = ready * Math.max(0, this.#workerRate(time));
    const backlog = reading.observation.measurement;
    const a = this.#areas;
    a.worker += ready * span;
    a.capacity += capacity * span;
    a.backlog += backlog * span;
    a.time += span;
    this.#classify(performance.now());
    const p = this.#period;
    const shed = this.#proxy.shed;
    p.shed = shed - this.#shedMark + p.refused;
    this.#shedMark = shed;
    this.#period = { offered: 0, refused: 0, dropped: 0, shed: 0 };
    const sojourns = Float64Array.from(this.#periodSojourns).sort();
    this.#periodSojourns = [];
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
    const proxy = this.#proxy;
    const values = [
      backlog,
      Math.max(0, this.#load(time)),
      capacity,
      ready,
      span > 0 ? p.offered / span : 0,
      arrivalRate,
      serviceRate,
      p.shed,
      p.dropped,
      mean * 1000,
      quantile(sojourns, 0.99) * 1000,
      Number.isFinite(proxy.rate) ? proxy.rate : Number.NaN,
      proxy.fraction,
      this.#window ?? Number.NaN,
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
    for (const name of this.#pool.ready) {
      this.#track(
        callControl(this.#producer, name, { op: "set", speed }, 1000).catch(() => {
          this.#counts.actuatorErrors++;
        }),
      );
    }
  }

  /** The credit the proxy grants the producer: at most `window` messages unacknowledged in the system. */
  #setWindow(value: number): number {
    if (value === Number.POSITIVE_INFINITY) {
      this.#window = undefined;
      this.#proxy.window = Math.min(
        1_000_000,
        Number.isFinite(this.#bufferSize) ? this.#bufferSize + 1 : 1_000_000,
      );
      return Number.POSITIVE_INFINITY;
    }
    this.#window = Math.min(1_000_000, Math.max(1, Math.round(value)));
    this.#proxy.window = this.#window;
    return this.#window;
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
