/**
 * Simulated "producers → queue proxy → pool of workers", the plant of the
 * queue experiments: Poisson arrivals at the offered load, admission control
 * at the proxy, a FIFO buffer and a pool of workers that each serve one
 * message at a time.
 *
 * Why not `EventQueue` from toolbox/control: that plant has a fixed number of
 * servers and one actuator (an admission rate applied by random thinning).
 * The experiments need the actuators the live graph has:
 * a token-bucket admission rate, an admission fraction (PIE, CoDel), a credit
 * window (concurrency limits: admit only while fewer than `window` messages
 * are in the system, the zguide's credit-based flow control) and the worker
 * count (autoscaling, with a start-up delay). With a fixed pool and only a
 * fraction actuator the two agree (tested against Erlang C).
 *
 * Events are exact: arrivals are generated from a unit-rate exponential
 * budget consumed at the offered rate (held constant over each `advance`, a
 * time change of a Poisson process, as `EventQueue` does); service
 * completions sit in a binary heap. Arrivals, admission and service times
 * draw from separate seeded streams, so changing the controller does not
 * change the offered arrivals (common random numbers across controllers).
 */
import {
  checkShape,
  type DistributionShape,
  type Observation,
  type QueueDiscipline,
  Random,
  sampleWithMean,
  signals,
} from "../../toolbox/control/index.js";
import type { SignalLike } from "../../toolbox/control/signals.js";
import { checkObject, integerAtLeast, nonNegative, positive } from "../../toolbox/control/validate.js";
import { quantile } from "../metrics.js";
import type { ColumnSpec, ExperimentPlant, PlantSample, PlantStats } from "../runner.js";

/** Options of `WorkerPool`. */
export interface WorkerPoolOptions {
  /** Offered load λ(t), msg/s: Poisson arrivals, the rate held over each `advance`. Required. */
  load: SignalLike;
  /** Service rate of one worker μ₁(t), msg/s (a capacity drop halves it). Required. */
  workerRate: SignalLike;
  /** Workers at time 0, an integer in [minWorkers, maxWorkers]. Default 1. */
  workers?: number;
  /** Fewest workers the `workers` actuator leaves, integer ≥ 0. Default 1. */
  minWorkers?: number;
  /** Most workers the `workers` actuator starts, integer ≥ 1. Default 256. */
  maxWorkers?: number;
  /** Seconds a newly started worker needs before it takes work (a process start), ≥ 0. Default 0. */
  workerStartDelay?: number;
  /** Shape of the service-time distribution (mean 1/μ₁ at the start of service). Default exponential. */
  service?: DistributionShape;
  /** Most messages in the system (waiting plus in service); more are dropped. Default ∞. */
  bufferSize?: number;
  /** Messages in the system at time 0 (all arrived at 0), integer ≥ 0. Default 0. */
  initialBacklog?: number;
  /**
   * Depth of the admission token bucket as seconds of its rate: it holds
   * max(1, rate·burstTime) tokens, so short gaps in the arrivals do not waste
   * the rate. Default 0.05.
   */
  burstTime?: number;
  /**
   * Age of the reading the controller sees, seconds: the whole observation
   * (backlog, rates, latency) is the one taken that long ago, held between
   * samples — a stale reading, as a slow or lagging meter gives. The logged
   * columns stay current. Default 0.
   */
  measurementDelay?: number;
  /**
   * An active queue manager in the data path (`PieQueue`, `CodelQueue`):
   * called at every enqueue and dequeue of the waiting queue, it may drop
   * messages (counted as shed). Its actuator `aqm` only logs its state.
   * Default none.
   */
  discipline?: QueueDiscipline | null;
  /** Seed of the random streams (arrivals, admission, service). Default 1. */
  seed?: number;
}

const optionKeys = [
  "load",
  "workerRate",
  "workers",
  "minWorkers",
  "maxWorkers",
  "workerStartDelay",
  "service",
  "bufferSize",
  "initialBacklog",
  "burstTime",
  "measurementDelay",
  "discipline",
  "seed",
];

/** The columns a worker pool logs per sample (docs/experiments.md: data.csv). */
export const workerPoolColumns: readonly ColumnSpec[] = Object.freeze([
  {
    name: "backlog",
    unit: "msg",
    description: "messages in the system (waiting plus in service) at the sample",
  },
  { name: "load", unit: "msg/s", description: "offered load λ at the sample (the scenario's signal)" },
  { name: "capacity", unit: "msg/s", description: "service capacity: ready workers × per-worker rate" },
  { name: "workers", unit: "workers", description: "workers ready to take work" },
  {
    name: "offeredRate",
    unit: "msg/s",
    description: "messages offered during the last sample period, per second",
  },
  {
    name: "arrivalRate",
    unit: "msg/s",
    description: "messages admitted during the last sample period, per second",
  },
  {
    name: "serviceRate",
    unit: "msg/s",
    description: "messages served during the last sample period, per second",
  },
  {
    name: "shed",
    unit: "msg",
    description: "messages refused by admission control during the last sample period",
  },
  {
    name: "dropped",
    unit: "msg",
    description: "admitted messages lost to a full buffer during the last sample period",
  },
  {
    name: "latency",
    unit: "ms",
    description: "mean sojourn (wait + service) of messages served in the last sample period",
  },
  {
    name: "latencyP99",
    unit: "ms",
    description: "99th percentile sojourn of messages served in the last sample period",
  },
  {
    name: "rateLimit",
    unit: "msg/s",
    description: "admission token-bucket rate in force (empty: unlimited)",
  },
  { name: "fraction", unit: "1", description: "admission fraction in force (1: admit all)" },
  { name: "window", unit: "msg", description: "credit window in force (empty: unlimited)" },
]);

/** Min-heap push on parallel arrays keyed by completion time. */
function heapPush(keys: Float64Array, data: Float64Array, size: number, key: number, value: number): void {
  let i = size;
  while (i > 0) {
    const parent = (i - 1) >> 1;
    if (keys[parent]! <= key) break;
    keys[i] = keys[parent]!;
    data[i] = data[parent]!;
    i = parent;
  }
  keys[i] = key;
  data[i] = value;
}

/** Removes the heap minimum; `size` is the size before removal. */
function heapPop(keys: Float64Array, data: Float64Array, size: number): void {
  const last = size - 1;
  const key = keys[last]!;
  const value = data[last]!;
  let i = 0;
  for (;;) {
    const left = 2 * i + 1;
    if (left >= last) break;
    const right = left + 1;
    const child = right < last && keys[right]! < keys[left]! ? right : left;
    if (keys[child]! >= key) break;
    keys[i] = keys[child]!;
    data[i] = data[child]!;
    i = child;
  }
  keys[i] = key;
  data[i] = value;
}

/**
 * The simulated worker pool. Actuators: `rate` (token-bucket admission rate,
 * msg/s; ∞ = unlimited), `fraction` (each offered message is admitted with
 * this probability, 0…1), `window` (credit window: admit only while fewer
 * than `window` messages are in the system; ∞ = none) and `workers` (pool
 * size, rounded to an integer in [minWorkers, maxWorkers]; a removed worker
 * finishes its message first, a new one is ready after `workerStartDelay`).
 * An offered message must pass all admission actuators; one refused is
 * counted as shed, never silently lost.
 *
 * Observation (all of it aged by `measurementDelay`): `measurement` =
 * backlog, `serviceRate` = served per second over the last period, `delay`
 * = backlog / serviceRate (the departure-rate estimate of the delay, s; NaN
 * when nothing was served), `latency` = mean sojourn of the messages served
 * during the last period (held when none; NaN before the first),
 * `arrivalRate` = admitted per second, `inflight` = the backlog,
 * `congested` = the last period dropped messages at the full buffer.
 *
 * With a `discipline` (PIE, CoDel in the data path) the plant also has the
 * actuator `aqm`: it changes nothing (the discipline acts at each message)
 * and returns the value given, so a run logs the discipline's state.
 */
export class WorkerPool implements ExperimentPlant {
  readonly model = "worker-pool";
  readonly mode = "sim";
  readonly columns = workerPoolColumns;
  readonly actuators: readonly string[];

  readonly #load: (t: number) => number;
  readonly #workerRate: (t: number) => number;
  readonly #minWorkers: number;
  readonly #maxWorkers: number;
  readonly #startDelay: number;
  readonly #service: DistributionShape;
  readonly #bufferSize: number;
  readonly #burstTime: number;
  readonly #measurementDelay: number;
  readonly #arrivals: Random;
  readonly #admission: Random;
  readonly #serviceRandom: Random;
  readonly #discipline: QueueDiscipline | null;
  readonly #draw = () => this.#admission.next();
  #advancing = false;

  #time = 0;
  #budget: number;
  #inSystem = 0;
  #busy = 0;
  #ready: number;
  /** Times at which started workers become ready (non-decreasing). */
  #pending: number[] = [];
  #heapTimes: Float64Array;
  #heapArrivals: Float64Array;
  #fifo = new Float64Array(1024);
  #fifoHead = 0;
  #fifoSize = 0;
  #sojourns = new Float64Array(4096);
  #departureTimes = new Float64Array(4096);
  #sojournCount = 0;

  // Actuators.
  #rate = Number.POSITIVE_INFINITY;
  #tokens = 1;
  #tokenTime = 0;
  #fraction = 1;
  #window = Number.POSITIVE_INFINITY;

  // Cumulative counters and integrals.
  #offered = 0;
  #admitted = 0;
  #shed = 0;
  #dropped = 0;
  #served = 0;
  #capacityArea = 0;
  #backlogArea = 0;
  #workerArea = 0;
  #busyArea = 0;

  // The last advance, for the rates and the per-period latency.
  #period = { dt: 0, offered: 0, admitted: 0, served: 0, shed: 0, dropped: 0, firstSojourn: 0 };
  #latency = Number.NaN;
  /** Observations at the end of each advance, for a stale reading (`measurementDelay`). */
  #history: { times: number[]; values: Observation[]; head: number } = { times: [], values: [], head: 0 };

  constructor(options: WorkerPoolOptions) {
    checkObject("options", options);
    for (const key of Object.keys(options)) {
      if (!optionKeys.includes(key)) {
        throw new RangeError(
          `Unknown WorkerPool option \`${key}\`; expected one of ${optionKeys.join(", ")}`,
        );
      }
    }
    this.#load = signals.toSignal(options.load, "load");
    this.#workerRate = signals.toSignal(options.workerRate, "workerRate");
    this.#minWorkers = integerAtLeast("minWorkers", options.minWorkers ?? 1, 0);
    this.#maxWorkers = integerAtLeast("maxWorkers", options.maxWorkers ?? 256, Math.max(1, this.#minWorkers));
    const workers = integerAtLeast("workers", options.workers ?? 1, this.#minWorkers);
    if (workers > this.#maxWorkers) {
      throw new RangeError(
        `Expected \`workers\` to be at most \`maxWorkers\` (${this.#maxWorkers}), got \`${workers}\``,
      );
    }
    this.#ready = workers;
    this.#startDelay = nonNegative("workerStartDelay", options.workerStartDelay ?? 0);
    this.#service = checkShape("service", options.service ?? { kind: "exponential" });
    const buffer = options.bufferSize ?? Number.POSITIVE_INFINITY;
    this.#bufferSize = buffer === Number.POSITIVE_INFINITY ? buffer : integerAtLeast("bufferSize", buffer, 1);
    this.#burstTime = positive("burstTime", options.burstTime ?? 0.05);
    this.#measurementDelay = nonNegative("measurementDelay", options.measurementDelay ?? 0);
    const discipline = options.discipline ?? null;
    if (
      discipline !== null &&
      (typeof discipline !== "object" || typeof discipline.onDequeue !== "function")
    ) {
      throw new TypeError(`Expected \`discipline\` to be a QueueDiscipline, got \`${String(discipline)}\``);
    }
    this.#discipline = discipline;
    this.actuators = Object.freeze(
      discipline === null
        ? ["rate", "fraction", "window", "workers"]
        : ["rate", "fraction", "window", "workers", "aqm"],
    );
    const seed = options.seed ?? 1;
    if (typeof seed !== "number" || !Number.isFinite(seed)) {
      throw new RangeError(`Expected \`seed\` to be a finite number, got \`${String(seed)}\``);
    }
    this.#arrivals = new Random(seed, 1);
    this.#admission = new Random(seed, 2);
    this.#serviceRandom = new Random(seed, 3);
    this.#budget = this.#arrivals.exponential(1);
    this.#heapTimes = new Float64Array(this.#maxWorkers);
    this.#heapArrivals = new Float64Array(this.#maxWorkers);
    const initial = integerAtLeast("initialBacklog", options.initialBacklog ?? 0, 0);
    if (initial > this.#bufferSize) {
      throw new RangeError(
        `Expected \`initialBacklog\` to be at most \`bufferSize\` (${this.#bufferSize}), got \`${initial}\``,
      );
    }
    for (let i = 0; i < initial; i++) {
      this.#inSystem++;
      this.#fifoPush(0);
    }
    this.#startWaiting();
    this.#history.times.push(0);
    this.#history.values.push(this.#current());
  }

  /** Simulated time, seconds. */
  get time(): number {
    return this.#time;
  }

  /** What the meters read now (the observation before any ageing). */
  #current(): Observation {
    const p = this.#period;
    const dt = p.dt;
    const serviceRate = dt > 0 ? p.served / dt : 0;
    return {
      measurement: this.#inSystem,
      delay: serviceRate > 0 ? this.#inSystem / serviceRate : Number.NaN,
      latency: this.#latency,
      arrivalRate: dt > 0 ? p.admitted / dt : 0,
      serviceRate,
      inflight: this.#inSystem,
      congested: p.dropped > 0,
    };
  }

  observe(): PlantSample {
    const t = this.#time;
    const capacity = this.#ready * Math.max(0, this.#workerRate(t));
    const p = this.#period;
    const dt = p.dt;
    const observation = this.#measured();
    const periodSojourns = this.#sojourns.subarray(p.firstSojourn, this.#sojournCount);
    let mean = Number.NaN;
    if (periodSojourns.length > 0) {
      let sum = 0;
      for (let i = 0; i < periodSojourns.length; i++) sum += periodSojourns[i]!;
      mean = sum / periodSojourns.length;
    }
    const values = [
      this.#inSystem,
      Math.max(0, this.#load(t)),
      capacity,
      this.#ready,
      dt > 0 ? p.offered / dt : 0,
      dt > 0 ? p.admitted / dt : 0,
      dt > 0 ? p.served / dt : 0,
      p.shed,
      p.dropped,
      mean * 1000,
      quantile(periodSojourns.slice().sort(), 0.99) * 1000,
      Number.isFinite(this.#rate) ? this.#rate : Number.NaN,
      this.#fraction,
      Number.isFinite(this.#window) ? this.#window : Number.NaN,
    ];
    return { time: t, observation, values };
  }

  apply(actuator: string, value: number): number {
    if (typeof value !== "number" || Number.isNaN(value)) {
      throw new TypeError(`Expected the \`${actuator}\` value to be a number, got \`${String(value)}\``);
    }
    switch (actuator) {
      case "rate": {
        this.#refill(this.#time);
        this.#rate = Math.max(0, value);
        // A lower rate shrinks the bucket at once; the tokens already in it stay up to the new depth.
        this.#tokens = Math.min(this.#tokens, this.#depth());
        return this.#rate;
      }
      case "fraction":
        this.#fraction = Math.min(1, Math.max(0, value));
        return this.#fraction;
      case "window":
        this.#window = Math.max(0, value);
        return this.#window;
      case "workers":
        return this.#setWorkers(value);
      case "aqm":
        if (this.#discipline !== null) return value;
        throw new RangeError("Actuator `aqm` needs a `discipline` in the data path");
      default:
        throw new RangeError(
          `Unknown actuator \`${actuator}\`; expected one of ${this.actuators.join(", ")}`,
        );
    }
  }

  advance(dt: number): void {
    positive("dt", dt);
    const t0 = this.#time;
    const end = t0 + dt;
    const rate = Math.max(0, this.#load(t0));
    const mean = 1 / Math.max(0, this.#workerRate(t0));
    const period = {
      dt,
      offered: 0,
      admitted: 0,
      served: 0,
      shed: 0,
      dropped: 0,
      firstSojourn: this.#sojournCount,
    };
    const perWorker = mean === Number.POSITIVE_INFINITY ? 0 : 1 / mean;
    let t = t0;
    let nextArrival = rate > 0 ? t + this.#budget / rate : Number.POSITIVE_INFINITY;
    this.#period = period;
    this.#advancing = true;
    const discipline = this.#discipline;
    for (;;) {
      const nextDeparture = this.#busy > 0 ? this.#heapTimes[0]! : Number.POSITIVE_INFINITY;
      const nextReady = this.#pending.length > 0 ? this.#pending[0]! : Number.POSITIVE_INFINITY;
      const next = Math.min(nextArrival, nextDeparture, nextReady);
      if (next > end) break;
      this.#integrate(next - t, perWorker);
      t = next;
      // The discipline's timers that fell due ran on the queue as it stood until now.
      discipline?.advance(t, this.#fifoSize);
      if (next === nextReady) {
        this.#pending.shift();
        this.#ready++;
        this.#startWaiting(t, mean);
      } else if (next === nextDeparture) {
        const sojourn = t - this.#heapArrivals[0]!;
        heapPop(this.#heapTimes, this.#heapArrivals, this.#busy);
        this.#busy--;
        this.#inSystem--;
        period.served++;
        this.#recordSojourn(sojourn, t);
        this.#startWaiting(t, mean);
      } else {
        nextArrival = t - Math.log(1 - this.#arrivals.next()) / rate;
        period.offered++;
        if (!this.#admit(t)) {
          period.shed++;
          continue;
        }
        period.admitted++;
        if (this.#inSystem >= this.#bufferSize) {
          period.dropped++;
          continue;
        }
        if (discipline?.onEnqueue(t, this.#fifoSize, this.#draw)) {
          period.shed++;
          continue;
        }
        this.#inSystem++;
        this.#fifoPush(t);
        this.#startWaiting(t, mean);
      }
    }
    if (rate > 0) this.#budget = rate * (nextArrival - end);
    this.#integrate(end - t, perWorker);
    discipline?.advance(end, this.#fifoSize);
    this.#advancing = false;
    this.#time = end;
    this.#offered += period.offered;
    this.#admitted += period.admitted;
    this.#served += period.served;
    this.#shed += period.shed;
    this.#dropped += period.dropped;
    if (period.served > 0) {
      let sum = 0;
      for (let i = period.firstSojourn; i < this.#sojournCount; i++) sum += this.#sojourns[i]!;
      this.#latency = sum / period.served;
    }
    if (this.#measurementDelay > 0) {
      this.#history.times.push(end);
      this.#history.values.push(this.#current());
    }
  }

  stats(): PlantStats {
    const sorted = this.#sojourns.slice(0, this.#sojournCount).sort();
    const time = this.#time;
    return {
      // Busy worker-time over available worker-time: the fraction of the
      // capacity that did work. served/∫capacity dt has the same mean but is
      // a random count that can exceed 1.
      goodput: this.#workerArea > 0 ? this.#busyArea / this.#workerArea : Number.NaN,
      shed: this.#offered > 0 ? this.#shed / this.#offered : Number.NaN,
      dropped: this.#offered > 0 ? this.#dropped / this.#offered : Number.NaN,
      latencyP50: quantile(sorted, 0.5),
      latencyP99: quantile(sorted, 0.99),
      extra: {
        offered: this.#offered,
        admitted: this.#admitted,
        served: this.#served,
        shedCount: this.#shed,
        droppedCount: this.#dropped,
        meanBacklog: time > 0 ? this.#backlogArea / time : Number.NaN,
        meanWorkers: time > 0 ? this.#workerArea / time : Number.NaN,
        servedPerCapacity: this.#capacityArea > 0 ? this.#served / this.#capacityArea : Number.NaN,
      },
      departures: {
        times: this.#departureTimes.slice(0, this.#sojournCount),
        sojourns: this.#sojourns.slice(0, this.#sojournCount),
      },
    };
  }

  /** All sojourn times so far, seconds, in completion order. */
  sojournTimes(): Float64Array {
    return this.#sojourns.slice(0, this.#sojournCount);
  }

  #integrate(span: number, perWorker: number): void {
    if (span <= 0) return;
    this.#capacityArea += this.#ready * perWorker * span;
    this.#backlogArea += this.#inSystem * span;
    this.#workerArea += this.#ready * span;
    this.#busyArea += Math.min(this.#busy, this.#ready) * span;
  }

  #depth(): number {
    return Math.max(1, this.#rate * this.#burstTime);
  }

  #refill(t: number): void {
    if (Number.isFinite(this.#rate)) {
      this.#tokens = Math.min(this.#depth(), this.#tokens + this.#rate * (t - this.#tokenTime));
    }
    this.#tokenTime = t;
  }

  /** Admission at the proxy: fraction, then credit window, then token bucket. */
  #admit(t: number): boolean {
    if (this.#fraction < 1 && this.#admission.next() >= this.#fraction) return false;
    if (this.#inSystem >= this.#window) return false;
    if (Number.isFinite(this.#rate)) {
      this.#refill(t);
      if (this.#tokens < 1) return false;
      this.#tokens -= 1;
    }
    return true;
  }

  #setWorkers(value: number): number {
    const target = Math.min(this.#maxWorkers, Math.max(this.#minWorkers, Math.round(value)));
    const total = this.#ready + this.#pending.length;
    if (target > total) {
      if (this.#startDelay === 0) {
        this.#ready += target - total;
        this.#startWaiting(this.#time, 1 / Math.max(0, this.#workerRate(this.#time)));
      } else {
        for (let i = total; i < target; i++) this.#pending.push(this.#time + this.#startDelay);
      }
    } else if (target < total) {
      // Cancel workers still starting first, then stop ready ones (each finishes its message).
      let remove = total - target;
      const cancel = Math.min(remove, this.#pending.length);
      this.#pending.length -= cancel;
      remove -= cancel;
      this.#ready -= remove;
    }
    return target;
  }

  /** Starts waiting messages on idle ready workers (the discipline may drop heads on the way). */
  #startWaiting(t = this.#time, mean = 1 / Math.max(0, this.#workerRate(this.#time))): void {
    while (this.#fifoSize > 0 && this.#busy < this.#ready) {
      const arrival = this.#fifoShift();
      if (this.#discipline?.onDequeue(t, t - arrival, this.#fifoSize)) {
        this.#inSystem--;
        this.#period.shed++;
        // Outside `advance` (a worker added by the actuator) the period's counts are already in the totals.
        if (!this.#advancing) this.#shed++;
        continue;
      }
      const service =
        mean === Number.POSITIVE_INFINITY ? mean : sampleWithMean(this.#serviceRandom, this.#service, mean);
      heapPush(this.#heapTimes, this.#heapArrivals, this.#busy, t + service, arrival);
      this.#busy++;
    }
  }

  /** The observation `measurementDelay` seconds old (the newest one at least that old). */
  #measured(): Observation {
    const delay = this.#measurementDelay;
    if (delay === 0) return this.#current();
    const h = this.#history;
    const limit = this.#time - delay + 1e-9 * Math.max(1, this.#time);
    while (h.head + 1 < h.times.length && h.times[h.head + 1]! <= limit) h.head++;
    // Drop what no later read can need, now and then.
    if (h.head > 4096) {
      h.times.splice(0, h.head);
      h.values.splice(0, h.head);
      h.head = 0;
    }
    return { ...h.values[h.head]! };
  }

  #fifoPush(arrival: number): void {
    let cap = this.#fifo.length;
    if (this.#fifoSize === cap) {
      const grown = new Float64Array(cap * 2);
      for (let i = 0; i < this.#fifoSize; i++) grown[i] = this.#fifo[(this.#fifoHead + i) % cap]!;
      this.#fifo = grown;
      this.#fifoHead = 0;
      cap *= 2;
    }
    this.#fifo[(this.#fifoHead + this.#fifoSize) % cap] = arrival;
    this.#fifoSize++;
  }

  #fifoShift(): number {
    const value = this.#fifo[this.#fifoHead]!;
    this.#fifoHead = (this.#fifoHead + 1) % this.#fifo.length;
    this.#fifoSize--;
    return value;
  }

  #recordSojourn(value: number, time: number): void {
    if (this.#sojournCount === this.#sojourns.length) {
      const grown = new Float64Array(this.#sojourns.length * 2);
      grown.set(this.#sojourns);
      this.#sojourns = grown;
      const times = new Float64Array(this.#departureTimes.length * 2);
      times.set(this.#departureTimes);
      this.#departureTimes = times;
    }
    this.#departureTimes[this.#sojournCount] = time;
    this.#sojourns[this.#sojournCount++] = value;
  }
}
