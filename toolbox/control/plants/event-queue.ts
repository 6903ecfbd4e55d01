/**
 * Discrete-event queue: Poisson arrivals, admission control, a finite or
 * infinite buffer, c FIFO servers and a chosen service-time distribution
 * (exponential for M/M/c, deterministic for M/D/c, Pareto or lognormal for
 * heavy tails). Every served message's sojourn time is recorded so latency
 * percentiles can be computed.
 */

import { checkShape, type DistributionShape, Random, sampleWithMean } from "../random.js";
import { type SignalLike, toSignal } from "../signals.js";
import { checkKeys, checkNumber, checkObject, finite, flag, nonNegative, positive } from "../validate.js";
import { DelayLine } from "./history.js";
import {
  actuatorOf,
  emptyQueueObservation,
  type Plant,
  type PlantInput,
  type QueueObservation,
  restQueueObservation,
} from "./plant.js";

const optionKeys = [
  "capacity",
  "servers",
  "service",
  "load",
  "bufferSize",
  "initialBacklog",
  "measurementDelay",
  "seed",
  "recordSojourns",
];

/** Options of `EventQueue`. */
export interface EventQueueOptions {
  /**
   * Total service capacity μ(t), msg/s (≥ 0): a number or a signal of time.
   * Each of the `servers` serves at μ/servers; a service time is drawn when
   * the service starts, with mean servers/μ at that moment. Required.
   */
  capacity: SignalLike;
  /** Number of servers c (integer ≥ 1). Default 1. */
  servers?: number;
  /** Shape of the service-time distribution. Default `{ kind: "exponential" }`. */
  service?: DistributionShape;
  /**
   * Offered load λ(t), msg/s: Poisson arrivals at this rate; each is admitted
   * with probability min(1, actuator/λ) (random thinning), so admitted
   * arrivals are Poisson at min(actuator, λ). When not set (default) arrivals
   * are Poisson at max(actuator, 0) and none is shed.
   */
  load?: SignalLike;
  /** Most messages in the system (waiting plus in service), an integer ≥ 1; more are dropped. Default ∞. */
  bufferSize?: number;
  /** Messages present at time 0 (integer), all arrived at time 0. Default 0. */
  initialBacklog?: number;
  /**
   * Age of the measurement, seconds: the observed `measurement` (and `delay`)
   * is the number in system at the last step boundary at or before
   * `time − measurementDelay`. Default 0.
   */
  measurementDelay?: number;
  /** Seed of the random streams (arrivals, admission and service use separate streams). Default 1. */
  seed?: number;
  /** Record every served message's sojourn time (8 bytes each). Default true. */
  recordSojourns?: boolean;
}

/** Long-run statistics of an `EventQueue` run (NaN where nothing was measured yet). */
export interface EventQueueSummary {
  /** Simulated time, seconds. */
  time: number;
  /** Messages that completed service. */
  served: number;
  /** Mean sojourn (waiting + service) of served messages, seconds. */
  meanSojourn: number;
  /** Mean waiting time before service of messages that started service, seconds. */
  meanWait: number;
  /** Time-average number in system, messages (Little: meanBacklog ≈ throughput × meanSojourn). */
  meanBacklog: number;
  /** Time-average fraction of busy servers. */
  utilization: number;
}

/** Min-heap push on parallel arrays keyed by `keys` (service completion times). */
function heapPush(keys: Float64Array, data: Float64Array, size: number, key: number, value: number): void {
  let i = size;
  while (i > 0) {
    const parent = (i - 1) >> 1;
    const pk = keys[parent]!;
    if (pk <= key) break;
    keys[i] = pk;
    data[i] = data[parent]!;
    i = parent;
  }
  keys[i] = key;
  data[i] = value;
}

/** Removes the heap minimum (the caller read it first); `size` is the size before removal. */
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
 * Discrete-event queue plant (M/M/c, M/D/c, M/G/c with heavy tails, with
 * admission control and a finite buffer). Arrivals are generated from a
 * unit-rate exponential budget consumed at the current offered rate, which is
 * exact for rates that are piecewise constant over steps (time change of a
 * Poisson process); service completions sit in a binary heap. The event loop
 * works on typed arrays and allocates only when a buffer must grow.
 *
 * Observation: `measurement`/`backlog`/`inflight` count messages waiting plus
 * in service; `delay` = measurement/capacity (Little's-law estimate, seconds);
 * `latency` = mean sojourn of the messages that completed during the last
 * step (the previous value is held when none did; NaN before the first).
 */
export class EventQueue implements Plant<QueueObservation> {
  readonly kind = "event-queue";
  readonly #capacity: (t: number) => number;
  readonly #load: ((t: number) => number) | undefined;
  readonly #servers: number;
  readonly #service: DistributionShape;
  readonly #bufferSize: number;
  readonly #initialBacklog: number;
  readonly #measured: DelayLine;
  readonly #seed: number;
  readonly #record: boolean;
  readonly #arrivals: Random;
  readonly #admission: Random;
  readonly #serviceRandom: Random;

  #time = 0;
  /** Remaining unit-rate exponential budget until the next offered arrival. */
  #budget = 0;
  #inSystem = 0;
  #busy = 0;
  readonly #heapTimes: Float64Array;
  readonly #heapArrivals: Float64Array;
  #fifo = new Float64Array(1024);
  #fifoHead = 0;
  #fifoSize = 0;
  #sojourns = new Float64Array(1024);
  #sojournCount = 0;
  #area = 0;
  #busyArea = 0;
  #started = 0;
  #sumWait = 0;
  #sumSojourn = 0;
  readonly #obs = emptyQueueObservation();

  constructor(options: EventQueueOptions) {
    checkObject("options", options);
    checkKeys("EventQueue", options, optionKeys);
    this.#capacity = toSignal(options.capacity, "capacity");
    this.#load = options.load === undefined ? undefined : toSignal(options.load, "load");
    this.#servers = checkNumber(
      "servers",
      options.servers ?? 1,
      "a positive integer",
      (v) => Number.isInteger(v) && v >= 1,
    );
    this.#service = { ...checkShape("service", options.service ?? { kind: "exponential" }) };
    this.#bufferSize = checkNumber(
      "bufferSize",
      options.bufferSize ?? Number.POSITIVE_INFINITY,
      "a positive integer or Infinity",
      (v) => v === Number.POSITIVE_INFINITY || (Number.isInteger(v) && v >= 1),
    );
    this.#initialBacklog = checkNumber(
      "initialBacklog",
      options.initialBacklog ?? 0,
      "a non-negative integer",
      (v) => Number.isInteger(v) && v >= 0,
    );
    if (this.#initialBacklog > this.#bufferSize) {
      throw new RangeError(
        `Expected \`initialBacklog\` to be at most \`bufferSize\` (${this.#bufferSize}), got \`${this.#initialBacklog}\``,
      );
    }
    this.#measured = new DelayLine(nonNegative("measurementDelay", options.measurementDelay ?? 0), false);
    this.#seed = finite("seed", options.seed ?? 1);
    this.#record = flag("recordSojourns", options.recordSojourns ?? true);
    this.#arrivals = new Random(this.#seed, 1);
    this.#admission = new Random(this.#seed, 2);
    this.#serviceRandom = new Random(this.#seed, 3);
    this.#heapTimes = new Float64Array(this.#servers);
    this.#heapArrivals = new Float64Array(this.#servers);
    this.reset();
  }

  get time(): number {
    return this.#time;
  }

  get observation(): Readonly<QueueObservation> {
    return this.#obs;
  }

  reset(): void {
    this.#arrivals.reset();
    this.#admission.reset();
    this.#serviceRandom.reset();
    this.#time = 0;
    this.#budget = this.#arrivals.exponential(1);
    this.#inSystem = 0;
    this.#busy = 0;
    this.#fifoHead = 0;
    this.#fifoSize = 0;
    this.#sojournCount = 0;
    this.#area = 0;
    this.#busyArea = 0;
    this.#started = 0;
    this.#sumWait = 0;
    this.#sumSojourn = 0;
    const mu = Math.max(0, this.#capacity(0));
    const meanService = mu > 0 ? this.#servers / mu : Number.POSITIVE_INFINITY;
    for (let i = 0; i < this.#initialBacklog; i++) {
      this.#inSystem++;
      if (this.#busy < this.#servers) {
        heapPush(this.#heapTimes, this.#heapArrivals, this.#busy, this.#serviceTime(meanService), 0);
        this.#busy++;
        this.#started++;
      } else {
        this.#fifoPush(0);
      }
    }
    this.#measured.clear(0, this.#inSystem);
    const load = this.#load === undefined ? 0 : this.#load(0);
    const delay = this.#delayOf(this.#inSystem, mu);
    restQueueObservation(this.#obs, this.#inSystem, load, mu, delay, Number.NaN);
  }

  #delayOf(n: number, mu: number): number {
    if (n <= 0) return 0;
    return mu > 0 ? n / mu : Number.POSITIVE_INFINITY;
  }

  /** One service time with the given mean (∞ when the capacity is 0). */
  #serviceTime(mean: number): number {
    if (mean === Number.POSITIVE_INFINITY) return mean;
    return sampleWithMean(this.#serviceRandom, this.#service, mean);
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

  #recordSojourn(value: number): void {
    if (this.#sojournCount === this.#sojourns.length) {
      const grown = new Float64Array(this.#sojourns.length * 2);
      grown.set(this.#sojourns);
      this.#sojourns = grown;
    }
    this.#sojourns[this.#sojournCount++] = value;
  }

  step(input: number | PlantInput, dt: number): Readonly<QueueObservation> {
    positive("dt", dt);
    const u = actuatorOf(input);
    const given = typeof input === "number" ? undefined : input;
    const t0 = this.#time;
    const end = t0 + dt;
    const mu = Math.max(0, given?.capacity ?? this.#capacity(t0));
    const offeredLoad = given?.load ?? this.#load?.(t0);
    let load: number;
    let rate: number;
    let p: number;
    if (offeredLoad === undefined) {
      rate = Math.max(0, u);
      load = rate;
      p = 1;
    } else {
      load = Math.max(0, offeredLoad);
      rate = load;
      p = load > 0 ? Math.min(1, Math.max(0, u) / load) : 0;
    }
    const servers = this.#servers;
    const buffer = this.#bufferSize;
    const meanService = mu > 0 ? servers / mu : Number.POSITIVE_INFINITY;
    const keys = this.#heapTimes;
    const data = this.#heapArrivals;
    const arrivals = this.#arrivals;
    const admission = this.#admission;
    const record = this.#record;

    let t = t0;
    let budget = this.#budget;
    let n = this.#inSystem;
    let busy = this.#busy;
    let area = this.#area;
    let busyArea = this.#busyArea;
    let offered = 0;
    let admitted = 0;
    let shed = 0;
    let dropped = 0;
    let served = 0;
    let sojournSum = 0;

    // Absolute time of the next offered arrival; the budget left over at the
    // end of the step carries to the next step (whose rate may differ).
    let nextArrival = rate > 0 ? t + budget / rate : Number.POSITIVE_INFINITY;
    for (;;) {
      const nextDeparture = busy > 0 ? keys[0]! : Number.POSITIVE_INFINITY;
      if (nextArrival <= nextDeparture) {
        if (nextArrival > end) break;
        area += n * (nextArrival - t);
        busyArea += busy * (nextArrival - t);
        t = nextArrival;
        nextArrival = t - Math.log(1 - arrivals.next()) / rate;
        offered++;
        if (p < 1 && admission.next() >= p) {
          shed++;
          continue;
        }
        admitted++;
        if (n >= buffer) {
          dropped++;
          continue;
        }
        n++;
        if (busy < servers) {
          heapPush(keys, data, busy, t + this.#serviceTime(meanService), t);
          busy++;
          this.#started++;
        } else {
          this.#fifoPush(t);
        }
      } else {
        if (nextDeparture > end) break;
        area += n * (nextDeparture - t);
        busyArea += busy * (nextDeparture - t);
        t = nextDeparture;
        const sojourn = t - data[0]!;
        heapPop(keys, data, busy);
        busy--;
        n--;
        served++;
        sojournSum += sojourn;
        if (record) this.#recordSojourn(sojourn);
        if (this.#fifoSize > 0) {
          const arrival = this.#fifoShift();
          this.#sumWait += t - arrival;
          heapPush(keys, data, busy, t + this.#serviceTime(meanService), arrival);
          busy++;
          this.#started++;
        }
      }
    }
    if (rate > 0) budget = rate * (nextArrival - end);
    area += n * (end - t);
    busyArea += busy * (end - t);

    this.#time = end;
    this.#budget = budget;
    this.#inSystem = n;
    this.#busy = busy;
    this.#area = area;
    this.#busyArea = busyArea;
    this.#sumSojourn += sojournSum;

    const o = this.#obs;
    o.time = end;
    o.backlog = n;
    o.inflight = n;
    o.measurement = this.#measured.push(end, n);
    o.load = load;
    o.capacity = mu;
    o.delay = this.#delayOf(o.measurement, mu);
    if (served > 0) o.latency = sojournSum / served;
    o.arrivalRate = admitted / dt;
    o.serviceRate = served / dt;
    o.congested = dropped > 0;
    o.offered += offered;
    o.admitted += admitted;
    o.shed += shed;
    o.dropped += dropped;
    o.served += served;
    return o;
  }

  /** Long-run statistics since the start (or the last reset). */
  summary(): EventQueueSummary {
    const time = this.#time;
    const served = this.#obs.served;
    return {
      time,
      served,
      meanSojourn: served > 0 ? this.#sumSojourn / served : Number.NaN,
      meanWait: this.#started > 0 ? this.#sumWait / this.#started : Number.NaN,
      meanBacklog: time > 0 ? this.#area / time : Number.NaN,
      utilization: time > 0 ? this.#busyArea / (this.#servers * time) : Number.NaN,
    };
  }

  /** A copy of the recorded sojourn times, seconds, in completion order (empty when not recording). */
  sojournTimes(): Float64Array {
    return this.#sojourns.slice(0, this.#sojournCount);
  }

  /**
   * Quantile `q` ∈ [0, 1] of the recorded sojourn times, seconds (linear
   * interpolation between order statistics, Hyndman & Fan type 7 — numpy's
   * default). NaN when nothing was recorded.
   */
  sojournQuantile(q: number): number {
    checkNumber("q", q, "a number in [0, 1]", (v) => v >= 0 && v <= 1);
    const n = this.#sojournCount;
    if (n === 0) return Number.NaN;
    const sorted = this.sojournTimes().sort();
    const h = (n - 1) * q;
    const lo = Math.floor(h);
    const hi = Math.min(n - 1, lo + 1);
    return sorted[lo]! + (h - lo) * (sorted[hi]! - sorted[lo]!);
  }
}
