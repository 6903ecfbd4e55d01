/**
 * Meters: what each channel endpoint measures about the messages through it.
 * In zmp's vocabulary a channel's **backlog is its charge** (messages
 * accepted but not yet handled) and its **rate is its current** (messages per
 * second through it). Every feedback loop reads them, so they are cheap
 * (plain counters; a histogram bucket per timed message) and exact (counts,
 * not samples).
 *
 * - Counts (messages and bytes in/out, drops, errors) are exact totals.
 * - `backlog` is a gauge kept by the channel; `backlogPeak` its maximum since start.
 * - `rate` is an exponentially weighted moving average of the message rate
 *   with time constant {@link RATE_TAU_S} (1 s): updated every
 *   {@link TICK_MS} from count differences, α = 1 − e^(−Δt/τ), so a step in
 *   the true rate shows 63 % after 1 s and 95 % after 3 s.
 * - Latency and service-time percentiles come from a log-bucketed histogram
 *   (buckets 5 % wide: relative error ≤ 2.5 %) over a sliding window of
 *   {@link WINDOW_MS} (two half-windows, so the window holds 5–10 s of data).
 *   A queue puller times one message in 16 for its service-time percentiles
 *   (each sample weighing 16): timing every message would cost more than the
 *   rest of its metering.
 */

/** Time constant of the rate estimate, seconds. */
export const RATE_TAU_S = 1;
/** How often rates are updated, ms. */
export const TICK_MS = 100;
/** Percentile window, ms (data from the last 5–10 s). */
export const WINDOW_MS = 10_000;

const GROWTH = 1.05;
const LOG_GROWTH = Math.log(GROWTH);
/** Smallest resolved duration: 1 µs, in ms. */
const MIN_MS = 0.001;
const BUCKETS = Math.ceil(Math.log(1e6 / MIN_MS) / LOG_GROWTH) + 1; // up to ~1000 s

/** A duration histogram with 5 %-wide log buckets over a sliding window. */
export class Histogram {
  #current = new Float64Array(BUCKETS);
  #previous = new Float64Array(BUCKETS);
  #countCurrent = 0;
  #countPrevious = 0;
  #rotatedAt: number;

  constructor(now = Date.now()) {
    this.#rotatedAt = now;
  }

  /** Records a duration in ms, `n` times (messages that took the same time). */
  record(ms: number, n = 1): void {
    const i = ms <= MIN_MS ? 0 : Math.min(BUCKETS - 1, Math.ceil(Math.log(ms / MIN_MS) / LOG_GROWTH));
    this.#current[i]! += n;
    this.#countCurrent += n;
  }

  /** Moves the window on (called by the meter tick). */
  rotate(now: number): void {
    if (now - this.#rotatedAt < WINDOW_MS / 2) return;
    const old = this.#previous;
    this.#previous = this.#current;
    this.#countPrevious = this.#countCurrent;
    old.fill(0);
    this.#current = old;
    this.#countCurrent = 0;
    this.#rotatedAt = now;
  }

  /** The q-quantile (0..1) in ms over the window, NaN when empty. */
  quantile(q: number): number {
    const total = this.#countCurrent + this.#countPrevious;
    if (total === 0) return Number.NaN;
    const rank = Math.max(1, Math.ceil(q * total));
    let seen = 0;
    for (let i = 0; i < BUCKETS; i++) {
      seen += this.#current[i]! + this.#previous[i]!;
      if (seen >= rank) return i === 0 ? MIN_MS : MIN_MS * GROWTH ** (i - 0.5);
    }
    return Number.NaN;
  }

  /** Samples in the window. */
  get count(): number {
    return this.#countCurrent + this.#countPrevious;
  }
}

/** Plain-data view of one channel endpoint's meters (NaN where a metric does not apply). */
export interface ChannelStats {
  /**
   * Messages received: calls served, replies received, messages pulled or
   * received on a topic, acknowledgements received by a producer.
   */
  messagesIn: number;
  /** Messages sent: calls made, replies sent, messages pushed or published, messages a puller handled. */
  messagesOut: number;
  bytesIn: number;
  bytesOut: number;
  /** Messages lost: dropped at a high-water mark (detected by sequence gaps) or a full buffer. */
  drops: number;
  /** Failed calls, handler errors, refused messages. */
  errors: number;
  /** Calls or messages in progress right now (in a handler, or awaiting a reply). */
  inflight: number;
  /** Charge: messages accepted but not yet handled. */
  backlog: number;
  /** Largest backlog seen. */
  backlogPeak: number;
  /**
   * Current: messages per second through this endpoint (EWMA, τ = 1 s) — the
   * larger of `rateIn` and `rateOut` (a service's calls per second, a
   * publisher's messages per second, a puller's handled messages per second).
   */
  rate: number;
  /** Rate of messages in and out separately, msg/s (EWMA, τ = 1 s). */
  rateIn: number;
  rateOut: number;
  /** End-to-end latency percentiles in ms: call → reply, push → acknowledged. */
  latencyP50: number;
  latencyP99: number;
  /** Handler time percentiles in ms: a service call, a queue message from delivery to acknowledgement. */
  serviceTimeP50: number;
  serviceTimeP99: number;
}

/** The meters of one channel endpoint. Fields are public for speed: channels bump them directly. */
export class ChannelMeter {
  messagesIn = 0;
  messagesOut = 0;
  bytesIn = 0;
  bytesOut = 0;
  drops = 0;
  errors = 0;
  inflight = 0;
  backlogPeak = 0;
  rateIn = 0;
  rateOut = 0;
  readonly latency = new Histogram();
  readonly serviceTime = new Histogram();
  #backlog = 0;
  #lastIn = 0;
  #lastOut = 0;

  /** Charge: messages accepted but not yet handled. */
  get backlog(): number {
    return this.#backlog;
  }

  set backlog(value: number) {
    this.#backlog = value;
    if (value > this.backlogPeak) this.backlogPeak = value;
  }

  /** Updates the rate estimates from the counts since the last tick, `dt` seconds ago. */
  tick(dt: number, now: number): void {
    const alpha = 1 - Math.exp(-dt / RATE_TAU_S);
    const dIn = this.messagesIn - this.#lastIn;
    const dOut = this.messagesOut - this.#lastOut;
    this.#lastIn = this.messagesIn;
    this.#lastOut = this.messagesOut;
    this.rateIn += alpha * (dIn / dt - this.rateIn);
    this.rateOut += alpha * (dOut / dt - this.rateOut);
    this.latency.rotate(now);
    this.serviceTime.rotate(now);
  }

  snapshot(): ChannelStats {
    return {
      messagesIn: this.messagesIn,
      messagesOut: this.messagesOut,
      bytesIn: this.bytesIn,
      bytesOut: this.bytesOut,
      drops: this.drops,
      errors: this.errors,
      inflight: this.inflight,
      backlog: this.#backlog,
      backlogPeak: this.backlogPeak,
      rate: Math.max(this.rateIn, this.rateOut),
      rateIn: this.rateIn,
      rateOut: this.rateOut,
      latencyP50: this.latency.quantile(0.5),
      latencyP99: this.latency.quantile(0.99),
      serviceTimeP50: this.serviceTime.quantile(0.5),
      serviceTimeP99: this.serviceTime.quantile(0.99),
    };
  }
}

/**
 * A named set of channel meters (one per service, topic, queue...), created
 * on first use and ticked together.
 */
export class MeterGroup {
  readonly #meters = new Map<string, ChannelMeter>();

  get(name: string): ChannelMeter {
    let meter = this.#meters.get(name);
    if (meter === undefined) {
      meter = new ChannelMeter();
      this.#meters.set(name, meter);
    }
    return meter;
  }

  tick(dt: number, now: number): void {
    for (const meter of this.#meters.values()) meter.tick(dt, now);
  }

  snapshot(): Record<string, ChannelStats> {
    const result: Record<string, ChannelStats> = {};
    for (const [name, meter] of this.#meters) result[name] = meter.snapshot();
    return result;
  }
}
