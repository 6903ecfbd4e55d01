/**
 * A windowed hit rate: hits and lookups counted in `slots` time slots of
 * `windowMs / slots` each; the rate is hits / lookups over the current slot
 * and the `slots − 1` before it, so it covers the last 90–100 % of the
 * window (9–10 s with the default 10 s and 10 slots). A feedback loop
 * holding a target hit rate reads it; one that wants the rate over exactly
 * its own sample period differences the cumulative `hits` and `lookups`
 * instead.
 */
import { positive, positiveInteger } from "../control/validate.js";

export class HitWindow {
  readonly windowMs: number;
  readonly #slotMs: number;
  readonly #hits: Float64Array;
  readonly #lookups: Float64Array;
  #slot: number;
  readonly #now: () => number;

  constructor(windowMs = 10_000, slots = 10, now: () => number = () => performance.now()) {
    this.windowMs = positive("hitRateWindowMs", windowMs, 10_000);
    const n = positiveInteger("slots", slots, 10);
    this.#slotMs = this.windowMs / n;
    this.#hits = new Float64Array(n);
    this.#lookups = new Float64Array(n);
    this.#now = now;
    this.#slot = Math.floor(now() / this.#slotMs);
  }

  /** Counts one lookup answered from memory. */
  hit(): void {
    const i = this.#advance();
    this.#hits[i]!++;
    this.#lookups[i]!++;
  }

  /** Counts one lookup that was not (a miss, or one that waited for another's backend call). */
  miss(): void {
    this.#lookups[this.#advance()]!++;
  }

  /** Hits / lookups over the window; NaN when there was no lookup. */
  get rate(): number {
    this.#advance();
    let hits = 0;
    let lookups = 0;
    for (let i = 0; i < this.#hits.length; i++) {
      hits += this.#hits[i]!;
      lookups += this.#lookups[i]!;
    }
    return lookups === 0 ? Number.NaN : hits / lookups;
  }

  /** Index of the current slot, clearing the slots time moved past. */
  #advance(): number {
    const n = this.#hits.length;
    const slot = Math.floor(this.#now() / this.#slotMs);
    const steps = Math.min(slot - this.#slot, n);
    for (let k = 1; k <= steps; k++) {
      const i = (((this.#slot + k) % n) + n) % n;
      this.#hits[i] = 0;
      this.#lookups[i] = 0;
    }
    if (slot > this.#slot) this.#slot = slot;
    return ((this.#slot % n) + n) % n;
  }
}
