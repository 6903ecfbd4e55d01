/**
 * The counting end of a throughput case, the same code in raw and zmp
 * consumers: `hit()` per message received or handled; the time of the last
 * message is stamped once per event-loop turn (a `setImmediate` armed by the
 * first message of the turn), so counting costs a few nanoseconds per message
 * and the stamp is exact to the end of the turn that handled the last one.
 */
import { wallNow } from "./clock.js";

/** What a consumer reports at the end of a repetition. */
export interface SinkReport {
  /** Messages counted since the last reset. */
  count: number;
  /** When the last of them was handled (epoch ms, see clock.ts); 0 when none. */
  last: number;
}

export class Sink {
  count = 0;
  #last = 0;
  #armed = false;
  readonly #stamp = (): void => {
    this.#armed = false;
    this.#last = wallNow();
  };

  hit(): void {
    this.count++;
    if (!this.#armed) {
      this.#armed = true;
      setImmediate(this.#stamp);
    }
  }

  reset(): void {
    this.count = 0;
    this.#last = 0;
  }

  /**
   * Reports once `expected` messages were counted (queues: every message sent
   * must arrive; gives up after `timeoutMs`), or, without `expected`, once no
   * message came for `quietMs` (topics, where some may be dropped).
   */
  async collect(quietMs: number, expected?: number, timeoutMs = 60_000): Promise<SinkReport> {
    const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
    if (expected !== undefined) {
      const deadline = Date.now() + timeoutMs;
      while ((this.count < expected || this.#armed) && Date.now() < deadline) await sleep(2);
    } else {
      let seen = -1;
      while (seen !== this.count || this.#armed) {
        seen = this.count;
        await sleep(quietMs);
      }
    }
    return { count: this.count, last: this.#last };
  }
}
