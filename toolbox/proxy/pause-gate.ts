/**
 * The pause switch the queue and service proxies share: while paused,
 * {@link wait} holds its caller (counted in {@link held}) until
 * {@link resume}. Whether a proxy may pause (not once closed) is its own rule.
 */
export class PauseGate {
  /** Settles on resume; set only while paused. */
  #resumed: Promise<void> | undefined;
  #release: (() => void) | undefined;
  /** Callers held by the pause right now. */
  held = 0;

  get paused(): boolean {
    return this.#resumed !== undefined;
  }

  pause(): void {
    if (this.#resumed !== undefined) return;
    this.#resumed = new Promise((resolve) => {
      this.#release = resolve;
    });
  }

  /** Lets every held caller go on. */
  resume(): void {
    const release = this.#release;
    this.#resumed = undefined;
    this.#release = undefined;
    release?.();
  }

  /**
   * Waits until resumed, counted in `held`; resolves at once when not paused
   * (a hot path checks `paused` first and skips the await).
   */
  async wait(): Promise<void> {
    const resumed = this.#resumed;
    if (resumed === undefined) return;
    this.held++;
    try {
      await resumed;
    } finally {
      this.held--;
    }
  }
}
