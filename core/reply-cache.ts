/**
 * The reply cache of a service served with `dedupe`: calls made with retries
 * carry a request id, and a repeat is answered from here (or joins the run in
 * progress) instead of running again.
 */

/** A service's reply cache for deduplicated calls (by caller + request id), LRU-bounded with a TTL. */
export class ReplyCache {
  readonly #entries = new Map<
    string,
    { done: boolean; status: number; value: unknown; expires: number; waiting: [string, number][] }
  >();
  readonly #ttlMs: number;
  readonly #max: number;

  constructor(ttlMs = 60_000, maxEntries = 10_000) {
    if (!(ttlMs > 0))
      throw new RangeError(`Expected \`dedupe.ttlMs\` to be a positive number, got \`${ttlMs}\``);
    if (!Number.isInteger(maxEntries) || maxEntries < 1)
      throw new RangeError(`Expected \`dedupe.maxEntries\` to be a positive integer, got \`${maxEntries}\``);
    this.#ttlMs = ttlMs;
    this.#max = maxEntries;
  }

  get(
    id: string,
  ): { done: boolean; status: number; value: unknown; waiting: [string, number][] } | undefined {
    const entry = this.#entries.get(id);
    if (entry?.done && entry.expires < Date.now()) {
      this.#entries.delete(id);
      return undefined;
    }
    return entry;
  }

  start(id: string): void {
    this.#entries.set(id, { done: false, status: 0, value: undefined, expires: 0, waiting: [] });
    while (this.#entries.size > this.#max) {
      const oldest = this.#entries.keys().next().value as string;
      this.#entries.delete(oldest);
    }
  }

  /** Records the reply and answers the repeats that arrived while it ran. */
  finish(id: string, status: number, value: unknown, answer: (caller: string, corr: number) => void): void {
    const entry = this.#entries.get(id);
    if (entry === undefined) return;
    entry.done = true;
    entry.status = status;
    entry.value = value;
    entry.expires = Date.now() + this.#ttlMs;
    for (const [caller, corr] of entry.waiting) answer(caller, corr);
    entry.waiting = [];
  }

  get size(): number {
    return this.#entries.size;
  }
}
