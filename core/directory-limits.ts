/**
 * What a directory holds at most, and how fast one connection may change it.
 * Every list a peer can grow is capped, so a registration flood costs the
 * directory a bounded amount of memory and the nodes already listed keep
 * their place (NATS bounds payloads, connections and subscriptions the same
 * way). The defaults sit well above real graphs: a node listing 1 000
 * services is unusual; 10 000 nodes of 64 KiB would be 640 MiB, so the total
 * is bounded on its own (16 MiB: 16 000 records of a kilobyte, a large graph).
 */
import { LimitError } from "./errors.js";

export interface DirectoryLimits {
  /** Live nodes at most. Default 10 000. */
  maxNodes?: number;
  /** Largest record (encoded: MessagePack), bytes. Default 65 536. */
  maxRecordBytes?: number;
  /** Longest list in a record (services, topics, queues, fronts), entries. Default 1 000. */
  maxListLength?: number;
  /** All records together (encoded), bytes. Default 16 MiB (the directory keeps each record parsed and encoded: about 2.5 times this in memory). */
  maxBytes?: number;
  /** Registrations and updates one connection may make per second, sustained. Default 20. */
  updatesPerSecond?: number;
  /** …and in a burst. Default 40. */
  updateBurst?: number;
  /** Largest page of a snapshot or of the change log sent in one reply, bytes. Default 64 KiB (at least `maxRecordBytes`). */
  pageBytes?: number;
  /** Changes kept for nodes catching up (`since` a version), bytes of their records. Default 4 MiB. */
  changeLogBytes?: number;
}

export type ResolvedLimits = Required<DirectoryLimits>;

export const DEFAULT_LIMITS: ResolvedLimits = {
  maxNodes: 10_000,
  maxRecordBytes: 64 * 1024,
  maxListLength: 1000,
  maxBytes: 16 * 1024 * 1024,
  updatesPerSecond: 20,
  updateBurst: 40,
  pageBytes: 64 * 1024,
  changeLogBytes: 4 * 1024 * 1024,
};

/** Applies the defaults and checks each limit, naming it when it is not a positive integer. */
export function resolveLimits(limits: DirectoryLimits | undefined): ResolvedLimits {
  if (limits !== undefined && (limits === null || typeof limits !== "object"))
    throw new TypeError("Expected `limits` to be an object");
  const resolved = { ...DEFAULT_LIMITS };
  for (const key of Object.keys(DEFAULT_LIMITS) as (keyof ResolvedLimits)[]) {
    const value = limits?.[key];
    if (value === undefined) continue;
    if (!Number.isInteger(value) || value < 1)
      throw new RangeError(`Expected \`limits.${key}\` to be a positive integer, got \`${String(value)}\``);
    resolved[key] = value;
  }
  if (resolved.pageBytes < resolved.maxRecordBytes)
    throw new RangeError(
      `Expected \`limits.pageBytes\` (${resolved.pageBytes}) to be at least \`limits.maxRecordBytes\` (${resolved.maxRecordBytes}): one record must fit a page`,
    );
  return resolved;
}

/**
 * Token buckets per connection: `rate` per second, `burst` at once. Idle
 * buckets (full again) are forgotten, and at most `maxTracked` are kept (the
 * oldest go first), so a client opening connection after connection cannot
 * grow the table.
 */
export class RateLimiter {
  readonly #buckets = new Map<string, { tokens: number; at: number }>();
  readonly #rate: number;
  readonly #burst: number;
  readonly #maxTracked: number;

  constructor(rate: number, burst: number, maxTracked: number) {
    this.#rate = rate;
    this.#burst = burst;
    this.#maxTracked = maxTracked;
  }

  /** Takes one token for `key`; false when its bucket is empty. */
  take(key: string, now = Date.now()): boolean {
    let bucket = this.#buckets.get(key);
    if (bucket === undefined) {
      if (this.#buckets.size >= this.#maxTracked) this.#buckets.delete(this.#buckets.keys().next().value!);
      bucket = { tokens: this.#burst, at: now };
      this.#buckets.set(key, bucket);
    } else {
      bucket.tokens = Math.min(this.#burst, bucket.tokens + ((now - bucket.at) / 1000) * this.#rate);
      bucket.at = now;
    }
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    return true;
  }

  /** Forgets buckets that have refilled (their connections went quiet). */
  sweep(now = Date.now()): void {
    const full = (this.#burst / this.#rate) * 1000;
    for (const [key, bucket] of this.#buckets) if (now - bucket.at >= full) this.#buckets.delete(key);
  }

  /** Buckets kept now (for tests and meters). */
  get size(): number {
    return this.#buckets.size;
  }
}

/** A limit refusal: a typed error naming the limit, its value and what was asked. */
export function limitError(limit: keyof ResolvedLimits, value: number, what: string): LimitError {
  return new LimitError(`${what}: over the directory's \`limits.${limit}\` (${value})`, limit);
}
