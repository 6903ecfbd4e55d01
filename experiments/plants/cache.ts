/**
 * Simulated cache plant for the cache-hit-rate experiment: an LRU cache of
 * `capacity` entries in front of a stream of requests whose keys follow a
 * Zipf law (rank r requested with probability ∝ 1/r^s) under shifting
 * popularity. The actuator is the capacity; the measurement is the hit rate.
 *
 * It lives in experiments/ rather than toolbox/control: it is a data
 * structure simulation (a Map used as an LRU list), not control maths, and no
 * loop outside the experiments needs it.
 *
 * The hit rate of an LRU cache under independent Zipf requests rises with the
 * capacity roughly like the probability mass of the most popular keys (Che's
 * approximation, Che, Tung & Wang, IEEE JSAC 20(7), 2002), a concave static
 * gain, and after a change it approaches its new level as the cache refills
 * at the miss rate: a first-order lag, the model `identifyFopdt` fits.
 */
import { type Observation, Random, signals } from "../../toolbox/control/index.js";
import type { SignalLike } from "../../toolbox/control/signals.js";
import { checkObject, integerAtLeast, positive } from "../../toolbox/control/validate.js";
import type { ColumnSpec, ExperimentPlant, PlantSample, PlantStats } from "../runner.js";

/** Options of `CachePlant`. */
export interface CachePlantOptions {
  /** Requests per second (the count per step carries its fraction to the next). Required. */
  requestRate: SignalLike;
  /** Distinct keys, integer ≥ 2. Required. */
  keys: number;
  /** Zipf exponent s(t) ≥ 0 of key popularity (0: uniform). Default 1. */
  zipf?: SignalLike;
  /** Popularity shift: the key of rank r is (r + ⌊shift⌋) mod keys. Default 0. */
  shift?: SignalLike;
  /** Capacity at the start, entries (integer in [1, maxCapacity]). Default 1. */
  capacity?: number;
  /** Largest capacity the actuator sets, entries. Default `keys`. */
  maxCapacity?: number;
  /** Seed of the key stream. Default 1. */
  seed?: number;
}

const optionKeys = ["requestRate", "keys", "zipf", "shift", "capacity", "maxCapacity", "seed"];

/** The columns a cache plant logs per sample. */
export const cacheColumns: readonly ColumnSpec[] = Object.freeze([
  { name: "hitRate", unit: "1", description: "hits / requests during the last sample period" },
  { name: "capacity", unit: "entries", description: "cache capacity in force (the actuator)" },
  { name: "size", unit: "entries", description: "entries held at the sample" },
  { name: "requests", unit: "req", description: "requests during the last sample period" },
  { name: "hits", unit: "req", description: "hits during the last sample period" },
  { name: "evictions", unit: "entries", description: "entries evicted during the last sample period" },
  { name: "zipf", unit: "1", description: "Zipf exponent of the demand at the sample" },
  { name: "shift", unit: "keys", description: "popularity shift of the demand at the sample" },
]);

/** Cumulative distribution of Zipf(s) over `n` ranks. */
function zipfCdf(n: number, s: number): Float64Array {
  const cdf = new Float64Array(n);
  let total = 0;
  for (let r = 0; r < n; r++) {
    total += (r + 1) ** -s;
    cdf[r] = total;
  }
  for (let r = 0; r < n; r++) cdf[r]! /= total;
  cdf[n - 1] = 1;
  return cdf;
}

/**
 * LRU cache under a Zipf key stream. Actuator `capacity` (entries, rounded,
 * in [1, maxCapacity]; shrinking evicts the least recently used entries at
 * once). Observation: `measurement` = hit rate of the last period (0 before
 * any request), `arrivalRate` = requests per second.
 */
export class CachePlant implements ExperimentPlant {
  readonly model = "cache";
  readonly mode = "sim";
  readonly columns = cacheColumns;
  readonly actuators: readonly string[] = Object.freeze(["capacity"]);

  readonly #requestRate: (t: number) => number;
  readonly #keys: number;
  readonly #zipf: (t: number) => number;
  readonly #shift: (t: number) => number;
  readonly #maxCapacity: number;
  readonly #random: Random;
  readonly #cdfs = new Map<number, Float64Array>();
  /** Insertion order is recency order: the first key is the least recently used. */
  readonly #lru = new Map<number, true>();
  #capacity: number;
  #time = 0;
  #carry = 0;
  #period = { dt: 0, requests: 0, hits: 0, evictions: 0 };
  #requests = 0;
  #hits = 0;
  #evictions = 0;
  #pendingEvictions = 0;
  #capacityArea = 0;

  constructor(options: CachePlantOptions) {
    checkObject("options", options);
    for (const key of Object.keys(options)) {
      if (!optionKeys.includes(key)) {
        throw new RangeError(
          `Unknown CachePlant option \`${key}\`; expected one of ${optionKeys.join(", ")}`,
        );
      }
    }
    this.#requestRate = signals.toSignal(options.requestRate, "requestRate");
    this.#keys = integerAtLeast("keys", options.keys, 2);
    this.#zipf = signals.toSignal(options.zipf ?? 1, "zipf");
    this.#shift = signals.toSignal(options.shift ?? 0, "shift");
    this.#maxCapacity = integerAtLeast("maxCapacity", options.maxCapacity ?? this.#keys, 1);
    this.#capacity = integerAtLeast("capacity", options.capacity ?? 1, 1);
    if (this.#capacity > this.#maxCapacity) {
      throw new RangeError(
        `Expected \`capacity\` to be at most \`maxCapacity\` (${this.#maxCapacity}), got \`${this.#capacity}\``,
      );
    }
    const seed = options.seed ?? 1;
    if (typeof seed !== "number" || !Number.isFinite(seed)) {
      throw new RangeError(`Expected \`seed\` to be a finite number, got \`${String(seed)}\``);
    }
    this.#random = new Random(seed, 11);
  }

  /** Simulated time, seconds. */
  get time(): number {
    return this.#time;
  }

  observe(): PlantSample {
    const p = this.#period;
    const t = this.#time;
    const hitRate = p.requests > 0 ? p.hits / p.requests : 0;
    const observation: Observation = {
      measurement: hitRate,
      arrivalRate: p.dt > 0 ? p.requests / p.dt : 0,
    };
    const values = [
      hitRate,
      this.#capacity,
      this.#lru.size,
      p.requests,
      p.hits,
      p.evictions,
      this.#zipf(t),
      this.#shiftAt(t),
    ];
    return { time: t, observation, values };
  }

  apply(actuator: string, value: number): number {
    if (actuator !== "capacity") {
      throw new RangeError(`Unknown actuator \`${actuator}\`; expected one of capacity`);
    }
    if (typeof value !== "number" || Number.isNaN(value)) {
      throw new TypeError(`Expected the \`capacity\` value to be a number, got \`${String(value)}\``);
    }
    this.#capacity = Math.min(this.#maxCapacity, Math.max(1, Math.round(value)));
    // Counted in the coming period, the one the new capacity applies to.
    this.#pendingEvictions += this.#evict();
    return this.#capacity;
  }

  advance(dt: number): void {
    positive("dt", dt);
    const t = this.#time;
    const wanted = this.#carry + Math.max(0, this.#requestRate(t)) * dt;
    const count = Math.floor(wanted);
    this.#carry = wanted - count;
    const cdf = this.#cdf(this.#zipf(t));
    const shift = this.#shiftAt(t);
    const n = this.#keys;
    const lru = this.#lru;
    let hits = 0;
    let evictions = this.#pendingEvictions;
    this.#pendingEvictions = 0;
    for (let i = 0; i < count; i++) {
      const key = (this.#rank(cdf) + shift) % n;
      if (lru.delete(key)) hits++;
      lru.set(key, true);
      if (lru.size > this.#capacity) {
        lru.delete(lru.keys().next().value as number);
        evictions++;
      }
    }
    this.#capacityArea += this.#capacity * dt;
    this.#time = t + dt;
    this.#requests += count;
    this.#hits += hits;
    this.#evictions += evictions;
    this.#period = { dt, requests: count, hits, evictions };
  }

  stats(): PlantStats {
    return {
      goodput: Number.NaN,
      shed: Number.NaN,
      dropped: Number.NaN,
      latencyP50: Number.NaN,
      latencyP99: Number.NaN,
      extra: {
        hitRate: this.#requests > 0 ? this.#hits / this.#requests : Number.NaN,
        meanCapacity: this.#time > 0 ? this.#capacityArea / this.#time : Number.NaN,
        requests: this.#requests,
        hits: this.#hits,
        evictions: this.#evictions,
      },
    };
  }

  #shiftAt(t: number): number {
    const n = this.#keys;
    return ((Math.floor(this.#shift(t)) % n) + n) % n;
  }

  /** Zipf CDF for exponent s (cached per s rounded to 0.001). */
  #cdf(s: number): Float64Array {
    const key = Math.round(Math.max(0, s) * 1000) / 1000;
    let cdf = this.#cdfs.get(key);
    if (cdf === undefined) {
      cdf = zipfCdf(this.#keys, key);
      this.#cdfs.set(key, cdf);
    }
    return cdf;
  }

  /** A rank drawn from `cdf` by inversion (binary search for the first cdf value above u). */
  #rank(cdf: Float64Array): number {
    const u = this.#random.next();
    let lo = 0;
    let hi = cdf.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cdf[mid]! > u) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }

  #evict(): number {
    let evicted = 0;
    const lru = this.#lru;
    while (lru.size > this.#capacity) {
      lru.delete(lru.keys().next().value as number);
      evicted++;
    }
    return evicted;
  }
}
