/**
 * A least-recently-used store with a capacity in entries and in bytes and a
 * time to live, on an injected clock. A JavaScript `Map` keeps insertion
 * order, so moving an entry to the back on each use makes the front the
 * least recently used: lookups, inserts and evictions are O(1).
 *
 * TTL counts from when an entry was stored and is read at lookup, so a new
 * `ttlMs` applies to the entries already held too. Expired entries are
 * dropped when looked up or by `sweep()`; they are counted as expirations,
 * not evictions (an eviction makes room under a capacity).
 */
import { checkOptions, nonNegativeOrUnlimited } from "../control/validate.js";

export interface LruOptions {
  /** Most entries held (rounded down to an integer); `Infinity` for no limit. Default 1 000. */
  capacity?: number;
  /** Most bytes held (the sum of the sizes given to `set`); `Infinity` for no limit. Default Infinity. */
  maxBytes?: number;
  /** Time to live of an entry, ms; `Infinity`: until evicted. Default Infinity. */
  ttlMs?: number;
  /** Clock, ms. Default `performance.now`. */
  now?: () => number;
}

export interface LruEntry<V> {
  readonly value: V;
  /** Size given at `set`, bytes. */
  readonly bytes: number;
  /** When it was stored (clock ms). */
  readonly storedAt: number;
  /** What the caller wants to remember with it (the cache: the backend latency it cost, ms). */
  readonly cost: number;
}

export class LruStore<V> {
  readonly #entries = new Map<string, LruEntry<V>>();
  #capacity: number;
  #maxBytes: number;
  #ttlMs: number;
  #bytes = 0;
  readonly #now: () => number;
  /** Entries removed to stay within capacity or maxBytes. */
  evictions = 0;
  /** Entries removed because their TTL ran out. */
  expirations = 0;

  constructor(options: LruOptions = {}) {
    const o = checkOptions(options, ["capacity", "maxBytes", "ttlMs", "now"], "LRU options");
    this.#capacity = capacityOption(o.capacity, 1000);
    this.#maxBytes = nonNegativeOrUnlimited("maxBytes", o.maxBytes, Number.POSITIVE_INFINITY);
    this.#ttlMs = nonNegativeOrUnlimited("ttlMs", o.ttlMs, Number.POSITIVE_INFINITY);
    if (o.now !== undefined && typeof o.now !== "function")
      throw new TypeError(`Expected \`now\` to be a function, got \`${String(o.now)}\``);
    this.#now = o.now ?? (() => performance.now());
  }

  /** Entries held now. */
  get size(): number {
    return this.#entries.size;
  }

  /** Bytes held now (sum of the sizes given to `set`). */
  get bytes(): number {
    return this.#bytes;
  }

  /** Most entries held; lowering it evicts the least recently used at once. */
  get capacity(): number {
    return this.#capacity;
  }

  set capacity(value: number) {
    this.#capacity = capacityOption(value, this.#capacity);
    this.#fit();
  }

  /** Most bytes held; lowering it evicts at once. */
  get maxBytes(): number {
    return this.#maxBytes;
  }

  set maxBytes(value: number) {
    this.#maxBytes = nonNegativeOrUnlimited("maxBytes", value, this.#maxBytes);
    this.#fit();
  }

  /** Time to live, ms (applies to entries already held). */
  get ttlMs(): number {
    return this.#ttlMs;
  }

  set ttlMs(value: number) {
    this.#ttlMs = nonNegativeOrUnlimited("ttlMs", value, this.#ttlMs);
  }

  /** The live entry for `key` (now the most recently used), or undefined (an expired one is dropped). */
  get(key: string): LruEntry<V> | undefined {
    const entry = this.#entries.get(key);
    if (entry === undefined) return undefined;
    this.#entries.delete(key);
    if (this.#expired(entry)) {
      this.#bytes -= entry.bytes;
      this.expirations++;
      return undefined;
    }
    this.#entries.set(key, entry);
    return entry;
  }

  /** Whether `key` is held and live, without touching its recency. */
  has(key: string): boolean {
    const entry = this.#entries.get(key);
    return entry !== undefined && !this.#expired(entry);
  }

  /**
   * Stores `value` as the most recently used entry, then evicts the least
   * recently used until within capacity and maxBytes (an entry larger than
   * maxBytes on its own is not stored). Returns whether it was stored.
   */
  set(key: string, value: V, bytes = 0, cost = 0): boolean {
    this.delete(key);
    if (this.#capacity === 0 || bytes > this.#maxBytes) return false;
    this.#entries.set(key, { value, bytes, storedAt: this.#now(), cost });
    this.#bytes += bytes;
    this.#fit();
    return true;
  }

  /** Removes `key`; returns whether it was held. */
  delete(key: string): boolean {
    const entry = this.#entries.get(key);
    if (entry === undefined) return false;
    this.#entries.delete(key);
    this.#bytes -= entry.bytes;
    return true;
  }

  /** Removes every key starting with `prefix` (`""`: all); returns how many. */
  deletePrefix(prefix: string): number {
    let n = 0;
    for (const key of [...this.#entries.keys()]) if (key.startsWith(prefix) && this.delete(key)) n++;
    return n;
  }

  /** Removes expired entries; returns how many. */
  sweep(): number {
    if (this.#ttlMs === Number.POSITIVE_INFINITY) return 0;
    let n = 0;
    for (const [key, entry] of this.#entries) {
      if (!this.#expired(entry)) continue;
      this.delete(key);
      this.expirations++;
      n++;
    }
    return n;
  }

  /** Keys from least to most recently used. */
  keys(): string[] {
    return [...this.#entries.keys()];
  }

  #expired(entry: LruEntry<V>): boolean {
    return this.#now() - entry.storedAt >= this.#ttlMs;
  }

  #fit(): void {
    while (this.#entries.size > this.#capacity || this.#bytes > this.#maxBytes) {
      const oldest = this.#entries.keys().next();
      if (oldest.done) break;
      this.delete(oldest.value);
      this.evictions++;
    }
  }
}

/** A capacity: a number ≥ 0 rounded down (a controller's output may be fractional), or Infinity. */
function capacityOption(value: unknown, fallback: number): number {
  return Math.floor(nonNegativeOrUnlimited("capacity", value, fallback));
}
