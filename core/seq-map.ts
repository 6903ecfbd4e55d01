/**
 * A stream's unacknowledged messages by sequence number. Sequence numbers are
 * handed out in order and mostly acknowledged in order, so this is a window
 * over an array (no hashing, no entry objects): `set` appends at the end,
 * `delete` clears a slot and moves the start past cleared slots.
 */
export class SeqMap<V> {
  #items: (V | undefined)[] = [];
  /** Index in #items of sequence number #base. */
  #head = 0;
  #base = 1;
  #size = 0;

  get size(): number {
    return this.#size;
  }

  get(seq: number): V | undefined {
    const i = seq - this.#base + this.#head;
    return i >= this.#head && i < this.#items.length ? this.#items[i] : undefined;
  }

  has(seq: number): boolean {
    return this.get(seq) !== undefined;
  }

  set(seq: number, value: V): void {
    if (this.#size === 0) {
      this.#items = [];
      this.#head = 0;
      this.#base = seq;
    } else if (seq < this.#base) {
      // Before the window (not done by the producer, which numbers in order): widen it.
      const gap = this.#base - seq;
      this.#items = [...new Array<V | undefined>(gap), ...this.#items.slice(this.#head)];
      this.#head = 0;
      this.#base = seq;
    }
    const i = seq - this.#base + this.#head;
    while (this.#items.length < i) this.#items.push(undefined);
    if (i === this.#items.length) this.#items.push(value);
    else {
      if (this.#items[i] === undefined) this.#size++;
      this.#items[i] = value;
      return;
    }
    this.#size++;
  }

  delete(seq: number): boolean {
    const i = seq - this.#base + this.#head;
    if (i < this.#head || i >= this.#items.length || this.#items[i] === undefined) return false;
    this.#items[i] = undefined;
    this.#size--;
    const items = this.#items;
    while (this.#head < items.length && items[this.#head] === undefined) {
      this.#head++;
      this.#base++;
    }
    if (this.#head > 1024 && this.#head * 2 > items.length) {
      this.#items = items.slice(this.#head);
      this.#head = 0;
    }
    return true;
  }

  clear(): void {
    this.#items = [];
    this.#head = 0;
    this.#size = 0;
  }

  /** Entries in sequence order. */
  *entries(): IterableIterator<[number, V]> {
    const items = this.#items;
    for (let i = this.#head; i < items.length; i++) {
      const value = items[i];
      if (value !== undefined) yield [this.#base + i - this.#head, value];
    }
  }

  *values(): IterableIterator<V> {
    for (const [, value] of this.entries()) yield value;
  }
}
