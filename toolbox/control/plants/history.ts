/**
 * Sample histories for the plants: a growable ring buffer of (time, value)
 * samples and the measurement delay line built on it. Internal to
 * `toolbox/control` (not exported from the barrel).
 */

/**
 * (time, value) samples in time order, oldest first, in a ring buffer that
 * grows by doubling only when full, so a steady simulation allocates nothing.
 * Sample i holds from `time(i)` until `time(i + 1)`.
 */
export class SampleHistory {
  #times = new Float64Array(16);
  #values = new Float64Array(16);
  /** Capacity − 1; the capacity is a power of two, so `& mask` wraps an index. */
  #mask = 15;
  #head = 0;
  #size = 0;

  /** Number of samples kept. */
  get size(): number {
    return this.#size;
  }

  /** Forget every sample. */
  clear(): void {
    this.#head = 0;
    this.#size = 0;
  }

  /** Append the sample (time, value); times must not decrease. */
  push(time: number, value: number): void {
    if (this.#size === this.#mask + 1) this.#grow();
    const j = (this.#head + this.#size) & this.#mask;
    this.#times[j] = time;
    this.#values[j] = value;
    this.#size++;
  }

  /** Time of the i-th oldest sample. */
  time(i: number): number {
    return this.#times[(this.#head + i) & this.#mask]!;
  }

  /** Value of the i-th oldest sample. */
  value(i: number): number {
    return this.#values[(this.#head + i) & this.#mask]!;
  }

  /** Drop the oldest samples while the next one starts at or before `time`: the sample in force at `time` becomes the oldest. */
  dropBefore(time: number): void {
    const mask = this.#mask;
    while (this.#size >= 2 && this.#times[(this.#head + 1) & mask]! <= time) {
      this.#head = (this.#head + 1) & mask;
      this.#size--;
    }
  }

  #grow(): void {
    const cap = this.#mask + 1;
    const times = new Float64Array(cap * 2);
    const values = new Float64Array(cap * 2);
    for (let i = 0; i < this.#size; i++) {
      times[i] = this.#times[(this.#head + i) & this.#mask]!;
      values[i] = this.#values[(this.#head + i) & this.#mask]!;
    }
    this.#times = times;
    this.#values = values;
    this.#mask = cap * 2 - 1;
    this.#head = 0;
  }
}

/**
 * A measurement delay line over step-boundary samples, read at increasing
 * times: `push(time, value)` records the value and returns the one `delay`
 * seconds earlier, by linear interpolation between samples (`interpolate`) or
 * the last sample at or before that time (sample-and-hold). Before the first
 * sample it returns the value given to `clear`. With `delay` 0 it returns
 * `value` and stores nothing.
 */
export class DelayLine {
  readonly #history = new SampleHistory();
  readonly #delay: number;
  readonly #interpolate: boolean;

  constructor(delay: number, interpolate: boolean) {
    this.#delay = delay;
    this.#interpolate = interpolate;
  }

  /** Forget everything and start with `value` at `time`. */
  clear(time: number, value: number): void {
    this.#history.clear();
    this.#history.push(time, value);
  }

  /** Record `value` at `time`; returns the value at `time − delay`. */
  push(time: number, value: number): number {
    if (this.#delay === 0) return value;
    this.#history.push(time, value);
    return this.#read(time - this.#delay);
  }

  #read(time: number): number {
    const h = this.#history;
    // Tolerate rounding in t − delay (sums of dt) so a delay that is a
    // multiple of dt reads exactly the sample it names.
    h.dropBefore(time + 1e-9 * Math.max(1, Math.abs(time)));
    const t0 = h.time(0);
    const v0 = h.value(0);
    if (h.size < 2 || time <= t0 || !this.#interpolate) return v0;
    // (time > t0 here, and time < t1 up to rounding.)
    const t1 = h.time(1);
    return v0 + ((h.value(1) - v0) * (time - t0)) / (t1 - t0);
  }
}
