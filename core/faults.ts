/**
 * Fault injection at a node's receiving end, for tests and experiments: drop
 * a share of the frames the node is sent (calls, queue and topic messages; a
 * frame is a batch) and delay the rest, in order. Replies, acknowledgements
 * and directory traffic coming back to the node are not touched. Enabled per node with `NodeOptions.faultInjection` (then
 * also remotely through the built-in `zmp.faults` service); never on by
 * default, since it lets a caller degrade the node.
 */

export interface Faults {
  /** Share of incoming frames to drop, 0…1. Default 0. */
  dropShare?: number;
  /** Delay added to every incoming frame, ms (order kept). Default 0. */
  delayMs?: number;
  /** Seed of the drop decisions (deterministic runs). Default 1. */
  seed?: number;
}

/** What the injector did so far. */
export interface FaultCounts {
  dropped: number;
  delayed: number;
}

/** Validates fault settings; throws naming the field. */
export function checkFaults(faults: Faults): Required<Faults> {
  const dropShare = faults.dropShare ?? 0;
  const delayMs = faults.delayMs ?? 0;
  const seed = faults.seed ?? 1;
  if (!(dropShare >= 0 && dropShare <= 1))
    throw new RangeError(`Expected \`dropShare\` to be in [0, 1], got \`${String(faults.dropShare)}\``);
  if (!(delayMs >= 0) || !Number.isFinite(delayMs))
    throw new RangeError(
      `Expected \`delayMs\` to be a non-negative number, got \`${String(faults.delayMs)}\``,
    );
  if (!Number.isInteger(seed))
    throw new RangeError(`Expected \`seed\` to be an integer, got \`${String(faults.seed)}\``);
  return { dropShare, delayMs, seed };
}

/** Applies faults to a stream of received frames before they are handled. */
export class FaultInjector {
  #faults: Required<Faults> = { dropShare: 0, delayMs: 0, seed: 1 };
  #state = 1;
  #queue: { at: number; run: () => void }[] = [];
  #timer: ReturnType<typeof setTimeout> | undefined;
  readonly counts: FaultCounts = { dropped: 0, delayed: 0 };

  /** Whether any fault is active. */
  get active(): boolean {
    return this.#faults.dropShare > 0 || this.#faults.delayMs > 0 || this.#queue.length > 0;
  }

  set(faults: Faults): void {
    this.#faults = checkFaults(faults);
    this.#state = this.#faults.seed >>> 0 || 1;
  }

  get(): Required<Faults> {
    return { ...this.#faults };
  }

  /** Runs `handle` now, later, or never, as the faults say. */
  apply(handle: () => void): void {
    if (this.#faults.dropShare > 0 && this.#random() < this.#faults.dropShare) {
      this.counts.dropped++;
      return;
    }
    if (this.#faults.delayMs <= 0 && this.#queue.length === 0) {
      handle();
      return;
    }
    this.counts.delayed++;
    this.#queue.push({ at: Date.now() + this.#faults.delayMs, run: handle });
    this.#schedule();
  }

  /** Drops what is waiting (the node stops). */
  clear(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#queue = [];
  }

  #schedule(): void {
    if (this.#timer !== undefined || this.#queue.length === 0) return;
    this.#timer = setTimeout(
      () => {
        this.#timer = undefined;
        const now = Date.now();
        while (this.#queue.length > 0 && this.#queue[0]!.at <= now) this.#queue.shift()!.run();
        this.#schedule();
      },
      Math.max(0, this.#queue[0]!.at - Date.now()),
    );
  }

  /** xorshift32: cheap, seeded, good enough to pick drops. */
  #random(): number {
    let x = this.#state;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.#state = x >>> 0;
    return this.#state / 0x100000000;
  }
}
