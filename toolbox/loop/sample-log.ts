/**
 * A bounded log of a loop's samples: a ring that keeps the last `capacity`
 * entries, numbered by consecutive `seq` (1, 2, ...), so a reader can ask for what came
 * after the last entry it has and learn whether it missed some.
 */

export class SampleLog<T extends { seq: number }> {
  readonly capacity: number;
  readonly #items: (T | undefined)[];
  #next = 0;
  #size = 0;

  constructor(capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1)
      throw new RangeError(`Expected \`logSize\` to be a positive integer, got \`${String(capacity)}\``);
    this.capacity = capacity;
    this.#items = new Array(capacity);
  }

  /** Entries kept. */
  get size(): number {
    return this.#size;
  }

  /** The newest entry. */
  get last(): T | undefined {
    return this.#size === 0 ? undefined : this.#items[(this.#next - 1 + this.capacity) % this.capacity];
  }

  push(item: T): void {
    this.#items[this.#next] = item;
    this.#next = (this.#next + 1) % this.capacity;
    if (this.#size < this.capacity) this.#size++;
  }

  /** Entries with `seq > since`, oldest first, at most `limit` of them (the oldest such ones). */
  since(since: number, limit: number): T[] {
    const out: T[] = [];
    if (this.#size === 0) return out;
    const start = (this.#next - this.#size + this.capacity) % this.capacity;
    // Sequence numbers are consecutive: the entry after `since` is found by offset.
    const first = this.#items[start]!.seq;
    const skip = Math.max(0, Math.floor(since) + 1 - first);
    for (let i = skip; i < this.#size && out.length < limit; i++)
      out.push(this.#items[(start + i) % this.capacity]!);
    return out;
  }

  /** The newest `n` entries, oldest first. */
  tail(n: number): T[] {
    const count = Math.min(n, this.#size);
    const out: T[] = [];
    for (let i = count; i >= 1; i--) out.push(this.#items[(this.#next - i + this.capacity) % this.capacity]!);
    return out;
  }
}
