/**
 * A cumulative latency histogram that crosses processes as plain data: log
 * buckets 5 % wide from 1 ms (the resolution of the `Date.now()` stamps the
 * soak's messages carry), so a quantile is within 2.5 % of the true value
 * above 1 ms. Unlike the core meters (a 5–10 s sliding window), it keeps
 * everything since its start, so workers' histograms add up to the whole
 * run's distribution.
 */

const GROWTH = 1.05;
const LOG_GROWTH = Math.log(GROWTH);
/** Bucket 0 holds everything up to 1 ms; bucket i > 0 holds (1.05^(i−1), 1.05^i] ms. */
const BUCKETS = Math.ceil(Math.log(1e6) / LOG_GROWTH) + 2; // up to 1 000 s

/** Sparse form of a histogram: `[bucket, count]` pairs, for a service reply. */
export type HistogramData = [number, number][];

export class LatencyHistogram {
  readonly #counts = new Float64Array(BUCKETS);
  #total = 0;

  /** Records `n` samples of `ms` milliseconds. */
  record(ms: number, n = 1): void {
    const i = ms <= 1 ? 0 : Math.min(BUCKETS - 1, Math.ceil(Math.log(ms) / LOG_GROWTH));
    this.#counts[i]! += n;
    this.#total += n;
  }

  /** Samples recorded. */
  get count(): number {
    return this.#total;
  }

  /** Adds another histogram's counts (its sparse form). */
  add(data: HistogramData): void {
    for (const [i, n] of data) {
      if (!Number.isInteger(i) || i < 0 || i >= BUCKETS || !(n >= 0)) continue;
      this.#counts[i]! += n;
      this.#total += n;
    }
  }

  /** The counts as `[bucket, count]` pairs, empty buckets left out. */
  data(): HistogramData {
    const out: HistogramData = [];
    for (let i = 0; i < BUCKETS; i++) if (this.#counts[i]! > 0) out.push([i, this.#counts[i]!]);
    return out;
  }

  /** The q-quantile (0…1) in ms, at its bucket's geometric middle (1 ms for bucket 0); NaN when empty. */
  quantile(q: number): number {
    if (this.#total === 0) return Number.NaN;
    const rank = Math.max(1, Math.ceil(q * this.#total));
    let seen = 0;
    for (let i = 0; i < BUCKETS; i++) {
      seen += this.#counts[i]!;
      if (seen >= rank) return i === 0 ? 1 : GROWTH ** (i - 0.5);
    }
    return Number.NaN;
  }

  /** The largest bucket's upper bound, ms; NaN when empty. */
  max(): number {
    for (let i = BUCKETS - 1; i >= 0; i--) if (this.#counts[i]! > 0) return i === 0 ? 1 : GROWTH ** i;
    return Number.NaN;
  }

  /** A histogram from sparse data. */
  static from(data: HistogramData): LatencyHistogram {
    const h = new LatencyHistogram();
    h.add(data);
    return h;
  }
}
