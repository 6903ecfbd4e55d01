/**
 * A token bucket: admits on average `rate` messages per second with bursts
 * of up to `burst` messages (RFC 2697's committed rate and burst size, one
 * bucket). Tokens accrue continuously at `rate` up to `burst`; a message
 * takes one token or is refused. Pure arithmetic with an injected clock, so
 * it runs in tests and simulations without sockets or timers.
 *
 * It is the queue proxy's admission actuator: a feedback loop sets `rate`
 * while messages flow; changing it first credits the tokens earned at the
 * old rate, so a change never creates or loses tokens retroactively.
 */
import { checkOptions, nonNegativeOrUnlimited, positive } from "../control/validate.js";

export interface TokenBucketOptions {
  /** Tokens (messages) added per second; `Infinity` (or `null`) admits everything. Default Infinity. */
  rate?: number | null;
  /**
   * Bucket depth: the most messages admitted back to back after a quiet spell.
   * Default: max(1, rate × 0.05 s), re-derived when `rate` changes unless set.
   */
  burst?: number;
  /** Clock in ms (monotonic). Default `performance.now`. */
  now?: () => number;
}

/** How deep the bucket is by default: this many seconds of `rate` (and at least one token). */
export const BURST_TIME_S = 0.05;

export class TokenBucket {
  #rate: number;
  #burst: number;
  #burstSet: boolean;
  #tokens: number;
  #last: number;
  readonly #now: () => number;

  constructor(options: TokenBucketOptions = {}) {
    const o = checkOptions(options, ["rate", "burst", "now"], "token bucket options");
    this.#now = o.now ?? (() => performance.now());
    if (typeof this.#now !== "function")
      throw new TypeError(`Expected \`now\` to be a function, got \`${String(o.now)}\``);
    this.#rate = nonNegativeOrUnlimited("rate", o.rate, Number.POSITIVE_INFINITY);
    this.#burstSet = o.burst !== undefined;
    this.#burst = this.#burstSet ? positive("burst", o.burst, 1) : defaultBurst(this.#rate);
    this.#tokens = this.#burst;
    this.#last = this.#now();
  }

  /** Messages per second admitted on average (Infinity: unlimited). */
  get rate(): number {
    return this.#rate;
  }

  set rate(value: number) {
    const rate = nonNegativeOrUnlimited("rate", value, Number.POSITIVE_INFINITY);
    this.#refill();
    this.#rate = rate;
    if (!this.#burstSet) this.#burst = defaultBurst(rate);
    this.#tokens = Math.min(this.#tokens, this.#burst);
  }

  /** Depth of the bucket, messages. */
  get burst(): number {
    return this.#burst;
  }

  set burst(value: number) {
    const burst = positive("burst", value, 1);
    this.#refill();
    this.#burst = burst;
    this.#burstSet = true;
    this.#tokens = Math.min(this.#tokens, burst);
  }

  /** Tokens available now (fractional). */
  get tokens(): number {
    this.#refill();
    return this.#rate === Number.POSITIVE_INFINITY ? Number.POSITIVE_INFINITY : this.#tokens;
  }

  /** Takes `n` tokens (default 1) if there are that many; returns whether the message is admitted. */
  take(n = 1): boolean {
    if (this.#rate === Number.POSITIVE_INFINITY) return true;
    this.#refill();
    if (this.#tokens < n) return false;
    this.#tokens -= n;
    return true;
  }

  #refill(): void {
    const now = this.#now();
    const dt = (now - this.#last) / 1000;
    this.#last = now;
    if (dt > 0 && this.#rate !== Number.POSITIVE_INFINITY)
      this.#tokens = Math.min(this.#burst, this.#tokens + dt * this.#rate);
    else if (this.#rate === Number.POSITIVE_INFINITY) this.#tokens = this.#burst;
  }
}

function defaultBurst(rate: number): number {
  return rate === Number.POSITIVE_INFINITY ? 1 : Math.max(1, rate * BURST_TIME_S);
}
