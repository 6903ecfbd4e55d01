/**
 * A message rate from a growing count: an exponentially weighted moving
 * average with the core meters' time constant (τ = 1 s), updated every
 * 100 ms from the count's differences, α = 1 − e^(−Δt/τ). For counters the
 * core does not meter (a topic forwarder's messages).
 */
const TICK_MS = 100;
const TAU_S = 1;

export class RateMeter {
  #rate = 0;
  #last: number;
  #at: number;
  readonly #count: () => number;
  readonly #timer: ReturnType<typeof setInterval>;

  constructor(count: () => number) {
    this.#count = count;
    this.#last = count();
    this.#at = performance.now();
    this.#timer = setInterval(() => this.#tick(), TICK_MS);
    this.#timer.unref();
  }

  /** Messages per second (EWMA, τ = 1 s). */
  get rate(): number {
    return this.#rate;
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  #tick(): void {
    const now = performance.now();
    const dt = (now - this.#at) / 1000;
    if (dt <= 0) return;
    const count = this.#count();
    const alpha = 1 - Math.exp(-dt / TAU_S);
    this.#rate += alpha * ((count - this.#last) / dt - this.#rate);
    this.#last = count;
    this.#at = now;
  }
}
