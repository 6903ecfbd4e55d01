/**
 * Seeded randomness for simulations: a small fast PRNG, samplers for the
 * distributions queue models need (uniform, normal, exponential, and the
 * heavy-tailed Pareto and lognormal), and a counter-based generator
 * (`uniformAt`) that gives random access by index, used by noise signals so
 * they stay pure functions of time.
 *
 * Everything is deterministic: the same seed gives the same sequence on every
 * platform (only 32-bit integer arithmetic and IEEE doubles are used).
 */

import { checkNumber, fail, finite, positive } from "./validate.js";

const TWO_POW_32 = 4294967296;
const TWO_POW_53 = 9007199254740992;

/** murmur3's 32-bit finalizer: a bijective avalanche mix of a 32-bit word. */
function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Splits a finite number into two 32-bit words (low, high) for hashing. */
function seedWords(seed: number): [number, number] {
  const whole = Math.floor(seed);
  const lo = whole >>> 0;
  const hi = Math.floor(whole / TWO_POW_32) >>> 0;
  // Keep the fractional part too so 1.5 and 1 are different seeds.
  const frac = Math.floor((seed - whole) * TWO_POW_32) >>> 0;
  return [lo ^ frac, hi ^ fmix32(frac)];
}

/**
 * A seeded pseudo-random generator: sfc32 (Chris Doty-Humphrey's Small Fast
 * Counting generator, from PractRand; passes its and TestU01's BigCrush
 * batteries), seeded through murmur3's finalizer. Doubles carry 53 random
 * bits, so `-log(u)` and `u^(-1/alpha)` reach far into the tails.
 *
 * `stream` selects an independent sequence for the same seed: plants use one
 * stream for arrivals and another for service times, so changing the
 * controller (and hence the admitted arrivals) does not reshuffle the service
 * times (common random numbers when comparing controllers).
 */
export class Random {
  #a = 0;
  #b = 0;
  #c = 0;
  #d = 0;
  #spare = 0;
  #hasSpare = false;
  readonly #seed: number;
  readonly #stream: number;

  /**
   * @param seed any finite number (default 1); equal seeds give equal sequences.
   * @param stream independent sub-sequence index for the same seed (default 0).
   */
  constructor(seed = 1, stream = 0) {
    this.#seed = finite("seed", seed);
    this.#stream = finite("stream", stream);
    this.reset();
  }

  /** Restart the sequence from the seed. */
  reset(): void {
    const [lo, hi] = seedWords(this.#seed);
    const [slo, shi] = seedWords(this.#stream);
    this.#a = fmix32(lo ^ 0x9e3779b9);
    this.#b = fmix32(hi ^ 0x243f6a88 ^ Math.imul(slo, 0x85ebca6b));
    this.#c = fmix32(shi ^ 0xb7e15162 ^ fmix32(slo + 1));
    this.#d = 1;
    this.#hasSpare = false;
    // Discard the first outputs so nearby seeds decorrelate (sfc32 practice).
    for (let i = 0; i < 15; i++) this.nextUint32();
  }

  /** Next raw 32-bit unsigned integer. */
  nextUint32(): number {
    const a = this.#a;
    const b = this.#b;
    const c = this.#c;
    const d = this.#d;
    const d1 = (d + 1) | 0;
    const t = (((a + b) | 0) + d1) | 0;
    this.#d = d1;
    this.#a = b ^ (b >>> 9);
    this.#b = (c + (c << 3)) | 0;
    const r = (c << 21) | (c >>> 11);
    this.#c = (r + t) | 0;
    return t >>> 0;
  }

  /** Uniform double in [0, 1) with 53 random bits. */
  next(): number {
    const hi = this.nextUint32() >>> 5;
    const lo = this.nextUint32() >>> 6;
    return (hi * 67108864 + lo) / TWO_POW_53;
  }

  /** Uniform double in [min, max). */
  uniform(min = 0, max = 1): number {
    return min + (max - min) * this.next();
  }

  /** Uniform integer in [min, max] (both inclusive, integers). */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  /** Normal (Gaussian) variate, Marsaglia's polar method with the spare cached. */
  normal(mean = 0, sd = 1): number {
    if (this.#hasSpare) {
      this.#hasSpare = false;
      return mean + sd * this.#spare;
    }
    let u: number;
    let v: number;
    let s: number;
    do {
      u = 2 * this.next() - 1;
      v = 2 * this.next() - 1;
      s = u * u + v * v;
    } while (s >= 1 || s === 0);
    const f = Math.sqrt((-2 * Math.log(s)) / s);
    this.#spare = v * f;
    this.#hasSpare = true;
    return mean + sd * u * f;
  }

  /** Exponential variate with `rate` λ (1/s): mean 1/λ. Inverse transform −ln(1−u)/λ. */
  exponential(rate = 1): number {
    return -Math.log(1 - this.next()) / rate;
  }

  /**
   * Pareto (type I) variate with minimum `scale` x_m and tail index `shape` α:
   * P(X > x) = (x_m/x)^α for x ≥ x_m. Mean α·x_m/(α−1) for α > 1; infinite
   * variance for α ≤ 2 (the heavy tail of service times in real systems).
   */
  pareto(scale: number, shape: number): number {
    return scale * (1 - this.next()) ** (-1 / shape);
  }

  /** Lognormal variate exp(N(mu, sigma²)): mean exp(mu + sigma²/2). */
  lognormal(mu: number, sigma: number): number {
    return Math.exp(mu + sigma * this.normal());
  }

  /** A new generator seeded from this one (independent child stream). */
  fork(): Random {
    return new Random(this.nextUint32() * TWO_POW_32 + this.nextUint32(), this.#stream);
  }
}

/**
 * Counter-based uniform in [0, 1): a hash of (`seed`, `index`), so the value
 * for any index is available without generating the ones before it. Used by
 * noise signals to be pure functions of time. `index` is any integer-valued
 * number (negative allowed).
 */
export function uniformAt(seed: number, index: number): number {
  const [slo, shi] = seedWords(seed);
  const [ilo, ihi] = seedWords(index);
  const h1 = fmix32(ilo ^ fmix32(slo ^ 0x9e3779b9));
  const h2 = fmix32(ihi ^ fmix32(shi ^ 0x7f4a7c15) ^ h1);
  const h3 = fmix32(h1 ^ Math.imul(h2, 0x27d4eb2f));
  return ((h3 >>> 5) * 67108864 + (h2 >>> 6)) / TWO_POW_53;
}

/**
 * The shape of a positive random variable whose mean is set elsewhere (for
 * service times the mean is 1/service rate, which can change over time):
 * - `deterministic`: always the mean (M/D/c);
 * - `exponential`: memoryless, coefficient of variation 1 (M/M/c);
 * - `pareto`: heavy tail with index `shape` α > 1 (finite mean; infinite
 *   variance when α ≤ 2);
 * - `lognormal`: log-standard-deviation `sigma` > 0 (squared coefficient of
 *   variation e^{σ²} − 1).
 */
export type DistributionShape =
  | { kind: "deterministic" }
  | { kind: "exponential" }
  | { kind: "pareto"; shape: number }
  | { kind: "lognormal"; sigma: number };

/** Throws a RangeError/TypeError naming `name` unless `shape` is a valid `DistributionShape`. */
export function checkShape(name: string, shape: DistributionShape): DistributionShape {
  if (shape === null || typeof shape !== "object") fail(name, "a distribution shape object", shape, true);
  switch (shape.kind) {
    case "deterministic":
    case "exponential":
      return shape;
    case "pareto":
      checkNumber(
        `${name}.shape`,
        shape.shape,
        "a number greater than 1",
        (v) => Number.isFinite(v) && v > 1,
      );
      return shape;
    case "lognormal":
      positive(`${name}.sigma`, shape.sigma);
      return shape;
    default:
      return fail(
        `${name}.kind`,
        "one of deterministic, exponential, pareto, lognormal",
        (shape as { kind: unknown }).kind,
      );
  }
}

/**
 * Draws one variate of the given shape scaled to `mean`. Pareto: x_m = mean·(α−1)/α.
 * Lognormal: mu = ln(mean) − σ²/2.
 */
export function sampleWithMean(random: Random, shape: DistributionShape, mean: number): number {
  switch (shape.kind) {
    case "deterministic":
      return mean;
    case "exponential":
      return mean * random.exponential(1);
    case "pareto":
      return random.pareto((mean * (shape.shape - 1)) / shape.shape, shape.shape);
    case "lognormal":
      return mean * random.lognormal(-0.5 * shape.sigma * shape.sigma, shape.sigma);
  }
}

/**
 * Second moment E[X²] of a shape with mean `mean` (∞ for Pareto with α ≤ 2);
 * used by the Pollaczek–Khinchine formula for M/G/1 waiting times.
 */
export function secondMoment(shape: DistributionShape, mean: number): number {
  switch (shape.kind) {
    case "deterministic":
      return mean * mean;
    case "exponential":
      return 2 * mean * mean;
    case "pareto": {
      const a = shape.shape;
      if (a <= 2) return Number.POSITIVE_INFINITY;
      const xm = (mean * (a - 1)) / a;
      return (a * xm * xm) / (a - 2);
    }
    case "lognormal":
      return mean * mean * Math.exp(shape.sigma * shape.sigma);
  }
}
