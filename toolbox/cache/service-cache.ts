/**
 * A service cache: a node fronts a service and answers repeated requests from
 * memory. Requests are keyed by their canonical text (see key.ts: the same
 * plain data gives the same key whatever its objects' key order), held in an
 * LRU store bounded in entries and bytes, each for at most `ttlMs`.
 *
 * - Coalescing: concurrent identical misses make one backend call; the
 *   others wait for it and share its reply.
 * - Invalidation: by key, by key prefix, by request, or everything — from
 *   code, from the steering service (`{ op: "invalidate", … }`), or from
 *   messages on an invalidation topic. A backend call in flight when a
 *   matching invalidation arrives still answers its callers, but its reply is
 *   not stored (it may predate the change).
 * - Errors are not cached unless `cacheErrors`: then a provider's own error
 *   (a `RemoteError`, never a timeout or a lost provider) is kept like a reply.
 * - Meters: hits, misses, coalesced lookups, hit rate over a window
 *   (`hitRateWindowMs`, default 10 s; see hit-window.ts), entries, bytes,
 *   evictions, expirations, backend latency, and the backend latency the hits
 *   saved (each hit counts the latency of the call that filled its entry).
 * - `capacity`, `maxBytes` and `ttlMs` change while running (a feedback
 *   loop holding a target hit rate uses `capacity` as its actuator).
 *
 * Pausing bypasses the cache: every call goes to the backend, nothing is
 * looked up or stored. `close()` lets go of the service without a failed call.
 */
import { encode } from "../../core/codec.js";
import { BusyError, type ErrorData, errorToData, RemoteError } from "../../core/errors.js";
import type { Node } from "../../core/node.js";
import { checkName } from "../../core/record.js";
import type { Subscription } from "../../core/topic.js";
import { checkNumber, checkOptions, fail, flag, positive } from "../control/validate.js";
import { MAX_BYTES, MAX_COUNT, MAX_TTL_MS, upToOrUnlimited } from "../limits.js";
import { forwardedError } from "../proxy/errors.js";
import { leave } from "../proxy/service-proxy.js";
import { register, type Steerable } from "../steering.js";
import { HitWindow } from "./hit-window.js";
import { cacheKey } from "./key.js";
import { LruStore } from "./lru.js";

export interface ServiceCacheOptions {
  /** The service to cache. Required. */
  service: string;
  /** Most entries held (rounded down); `Infinity` for no limit. Default 1 000. */
  capacity?: number;
  /** Most bytes of replies held (encoded size); `Infinity` for no limit. Default Infinity. */
  maxBytes?: number;
  /** How long a reply is served from memory, ms; `Infinity`: until evicted or invalidated. Default Infinity. */
  ttlMs?: number;
  /** Also cache a provider's own errors (RemoteError), like replies. Default false. */
  cacheErrors?: boolean;
  /**
   * Topic whose messages invalidate entries: a string is a key prefix;
   * an object is `{ key }`, `{ prefix }`, `{ request }` or `{ all: true }`.
   * Default: none.
   */
  invalidationTopic?: string;
  /** Window of the hit rate, ms (10 slots). Default 10 000. */
  hitRateWindowMs?: number;
  /** Timeout of each backend call, ms. Default: the node's `callTimeoutMs`. */
  timeoutMs?: number;
  /** Serve steering on `<node name>.control`. Default true. */
  steering?: boolean;
  /** Clock for TTL and the hit-rate window, ms. Default `performance.now`. */
  now?: () => number;
}

export interface ServiceCacheStats {
  kind: "cache";
  id: string;
  node: string;
  /** When the stats were read, ms since the epoch (the sample's own timestamp). */
  time: number;
  service: string;
  paused: boolean;
  closed: boolean;
  capacity: number | null;
  maxBytes: number | null;
  ttlMs: number | null;
  cacheErrors: boolean;
  entries: number;
  bytes: number;
  /** Calls answered from memory. */
  hits: number;
  /** Calls that made a backend call. */
  misses: number;
  /** Calls that waited for an identical call's backend call (coalesced). */
  coalesced: number;
  /** Calls sent straight to the backend while paused, or whose request could not be keyed. */
  bypassed: number;
  /** Lookups: hits + misses + coalesced. */
  lookups: number;
  /** Hits / lookups over the last `hitRateWindowMs` (NaN: no lookup in the window). */
  hitRate: number;
  hitRateWindowMs: number;
  /** Backend calls made (misses and bypassed calls). */
  backendCalls: number;
  /** Backend calls that failed. */
  backendErrors: number;
  /** Mean backend latency, ms (NaN before the first call). */
  backendLatencyMs: number;
  /** Backend latency the hits saved: the sum, over hits, of the latency of the call that filled the entry, ms. */
  savedMs: number;
  evictions: number;
  expirations: number;
  /** Entries removed by invalidation. */
  invalidated: number;
  /** Replies not stored because an invalidation arrived while their call was in flight. */
  discarded: number;
  invalidationTopic: string | null;
}

/** What to invalidate: one of `key`, `prefix`, `request` (with an optional `service`), `all`. */
export interface Invalidation {
  /** A canonical key (`<service> <canonical request>`). */
  key?: string;
  /** A prefix of canonical keys (`""` or `all` for everything). */
  prefix?: string;
  /** A request of this cache's service (keyed as a call would be). */
  request?: unknown;
  /** Everything. */
  all?: boolean;
}

interface Cached {
  value: unknown;
  error?: ErrorData;
}

interface Flight {
  promise: Promise<unknown>;
  /** An invalidation matched it while in flight: answer the waiters, do not store. */
  stale: boolean;
}

const OPTION_KEYS = [
  "service",
  "capacity",
  "maxBytes",
  "ttlMs",
  "cacheErrors",
  "invalidationTopic",
  "hitRateWindowMs",
  "timeoutMs",
  "steering",
  "now",
];
const SETTINGS = ["capacity", "maxBytes", "ttlMs", "cacheErrors"];
/** Call options of a forwarded call: no stack capture (see `CallOptions.trace`). */
const UNTRACED = { trace: false } as const;

export class ServiceCache implements Steerable {
  readonly node: Node;
  readonly service: string;
  readonly id: string;
  readonly #store: LruStore<Cached>;
  readonly #window: HitWindow;
  readonly #flights = new Map<string, Flight>();
  readonly #timeoutMs: number | undefined;
  readonly #invalidationTopic: string | undefined;
  #cacheErrors: boolean;
  #subscription: Subscription | undefined;
  #reading: Promise<void> | undefined;
  #sweeper: ReturnType<typeof setInterval> | undefined;
  #paused = false;
  #closed = false;
  #inflight = 0;
  #idle: (() => void)[] = [];
  #unregister: (() => void) | undefined;
  #closing: Promise<void> | undefined;
  #c = {
    hits: 0,
    misses: 0,
    coalesced: 0,
    bypassed: 0,
    backendCalls: 0,
    backendErrors: 0,
    backendMs: 0,
    savedMs: 0,
    invalidated: 0,
    discarded: 0,
  };

  private constructor(node: Node, options: ServiceCacheOptions) {
    const o = checkOptions(options, OPTION_KEYS, "service cache options");
    this.node = node;
    this.service = checkName(o.service, "service");
    if (this.service.startsWith("zmp."))
      fail("service", "a service outside the reserved zmp. prefix", o.service);
    this.id = `cache:${this.service}`;
    if (o.now !== undefined && typeof o.now !== "function") fail("now", "a function", o.now, true);
    const now = o.now ?? (() => performance.now());
    this.#store = new LruStore<Cached>({
      ...(o.capacity !== undefined ? { capacity: o.capacity } : {}),
      ...(o.maxBytes !== undefined ? { maxBytes: o.maxBytes } : {}),
      ...(o.ttlMs !== undefined ? { ttlMs: o.ttlMs } : {}),
      now,
    });
    this.#window = new HitWindow(positive("hitRateWindowMs", o.hitRateWindowMs, 10_000), 10, now);
    this.#cacheErrors = flag("cacheErrors", o.cacheErrors, false);
    this.#timeoutMs =
      o.timeoutMs === undefined
        ? undefined
        : checkNumber("timeoutMs", o.timeoutMs, "a positive number", (v) => v > 0);
    this.#invalidationTopic =
      o.invalidationTopic === undefined ? undefined : checkName(o.invalidationTopic, "invalidationTopic");
  }

  /** Fronts `options.service` on `node`; resolves once the directory lists the front. */
  static async start(node: Node, options: ServiceCacheOptions): Promise<ServiceCache> {
    const cache = new ServiceCache(node, options);
    const steering = flag("steering", options.steering, true);
    if (node.services.includes(cache.service))
      throw new BusyError(`node \`${node.name}\` already serves \`${cache.service}\``);
    node.provide(cache.service, (request) => cache.#answer(request));
    if (steering) cache.#unregister = register(node, cache);
    if (cache.#invalidationTopic !== undefined) cache.#listen(cache.#invalidationTopic);
    cache.#sweeper = setInterval(() => cache.#store.sweep(), 1000);
    cache.#sweeper.unref();
    try {
      await node.front("service", cache.service);
    } catch (error) {
      await cache.close();
      throw error;
    }
    return cache;
  }

  get paused(): boolean {
    return this.#paused;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Most entries held (rounded down); lowering it evicts the least recently used at once. */
  get capacity(): number {
    return this.#store.capacity;
  }

  set capacity(value: number) {
    this.#store.capacity = value;
  }

  /** Most bytes held; lowering it evicts at once. */
  get maxBytes(): number {
    return this.#store.maxBytes;
  }

  set maxBytes(value: number) {
    this.#store.maxBytes = value;
  }

  /** Time to live of an entry, ms (applies to entries already held). */
  get ttlMs(): number {
    return this.#store.ttlMs;
  }

  set ttlMs(value: number) {
    this.#store.ttlMs = value;
  }

  /** Hits / lookups over the last `hitRateWindowMs`; NaN when there was none. */
  get hitRate(): number {
    return this.#window.rate;
  }

  /** Sends every call to the backend (no lookups, no fills) until `resume()`. */
  pause(): void {
    if (!this.#closed) this.#paused = true;
  }

  resume(): void {
    this.#paused = false;
  }

  /** Changes `capacity`, `maxBytes`, `ttlMs` (null: no limit) or `cacheErrors`; checks all before applying. */
  set(values: Record<string, unknown>): void {
    checkOptions(values, SETTINGS, "service cache settings");
    const limit = (name: string, v: unknown, current: number, max: number, unit: string): number =>
      v === undefined ? current : upToOrUnlimited(name, v, 0, max, unit);
    const capacity = limit("capacity", values.capacity, this.capacity, MAX_COUNT, " entries");
    const maxBytes = limit("maxBytes", values.maxBytes, this.maxBytes, MAX_BYTES, " bytes");
    const ttlMs = limit("ttlMs", values.ttlMs, this.ttlMs, MAX_TTL_MS, " ms");
    const cacheErrors = flag("cacheErrors", values.cacheErrors, this.#cacheErrors);
    this.capacity = capacity;
    this.maxBytes = maxBytes;
    this.ttlMs = ttlMs;
    this.#cacheErrors = cacheErrors;
  }

  /** The canonical key a request to this cache's service has. */
  keyOf(request: unknown): string {
    return cacheKey(this.service, request);
  }

  /** Keys held, from least to most recently used. */
  keys(): string[] {
    return this.#store.keys();
  }

  /**
   * Drops entries: `{ key }`, `{ prefix }` (a prefix of canonical keys),
   * `{ request }` or `{ all: true }`; returns how many were held. Matching
   * backend calls in flight will not store their replies.
   */
  invalidate(what: Invalidation | Record<string, unknown>): number {
    const w = checkOptions(
      what as Invalidation,
      ["key", "prefix", "request", "service", "all"],
      "invalidation",
    );
    const given = ["key", "prefix", "request", "all"].filter(
      (k) => (w as Record<string, unknown>)[k] !== undefined,
    );
    if (given.length !== 1)
      throw new TypeError(
        `Expected an invalidation with exactly one of key, prefix, request, all, got \`${JSON.stringify(what)}\``,
      );
    let removed: number;
    if (w.all !== undefined) {
      if (w.all !== true) fail("all", "true", w.all);
      removed = this.#store.deletePrefix("");
      for (const flight of this.#flights.values()) flight.stale = true;
    } else if (w.prefix !== undefined) {
      if (typeof w.prefix !== "string") fail("prefix", "a string", w.prefix, true);
      const prefix = w.prefix;
      removed = this.#store.deletePrefix(prefix);
      for (const [key, flight] of this.#flights) if (key.startsWith(prefix)) flight.stale = true;
    } else {
      let key: string;
      if (w.key !== undefined) {
        if (typeof w.key !== "string") fail("key", "a string", w.key, true);
        key = w.key;
      } else {
        const service =
          (w as { service?: unknown }).service === undefined
            ? this.service
            : checkName((w as { service?: unknown }).service, "service");
        key = cacheKey(service, w.request);
      }
      removed = this.#store.delete(key) ? 1 : 0;
      const flight = this.#flights.get(key);
      if (flight !== undefined) flight.stale = true;
    }
    this.#c.invalidated += removed;
    return removed;
  }

  stats(): ServiceCacheStats {
    const c = this.#c;
    const finite = (v: number): number | null => (Number.isFinite(v) ? v : null);
    const called = c.misses + c.bypassed;
    return {
      kind: "cache",
      id: this.id,
      node: this.node.name,
      time: Date.now(),
      service: this.service,
      paused: this.#paused,
      closed: this.#closed,
      capacity: finite(this.capacity),
      maxBytes: finite(this.maxBytes),
      ttlMs: finite(this.ttlMs),
      cacheErrors: this.#cacheErrors,
      entries: this.#store.size,
      bytes: this.#store.bytes,
      hits: c.hits,
      misses: c.misses,
      coalesced: c.coalesced,
      bypassed: c.bypassed,
      lookups: c.hits + c.misses + c.coalesced,
      hitRate: this.#window.rate,
      hitRateWindowMs: this.#window.windowMs,
      backendCalls: c.backendCalls,
      backendErrors: c.backendErrors,
      backendLatencyMs: called === 0 ? Number.NaN : c.backendMs / called,
      savedMs: c.savedMs,
      evictions: this.#store.evictions,
      expirations: this.#store.expirations,
      invalidated: c.invalidated,
      discarded: c.discarded,
      invalidationTopic: this.#invalidationTopic ?? null,
    };
  }

  /**
   * Lets go of the service: unfronts it (callers go to the providers again),
   * finishes the calls already here, stops serving the name and drops the
   * entries. No call fails. Safe to call twice.
   */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#closed = true;
      this.#paused = false;
      clearInterval(this.#sweeper);
      this.#subscription?.close();
      await this.#reading;
      await leave(this.node, this.service);
      if (this.#inflight > 0) await new Promise<void>((resolve) => this.#idle.push(resolve));
      this.#unregister?.();
      this.#store.deletePrefix("");
    })();
    return this.#closing;
  }

  async #answer(request: unknown): Promise<unknown> {
    this.#inflight++;
    try {
      return await this.#lookup(request);
    } finally {
      if (--this.#inflight === 0 && this.#idle.length > 0) {
        const idle = this.#idle;
        this.#idle = [];
        for (const resolve of idle) resolve();
      }
    }
  }

  #lookup(request: unknown): Promise<unknown> | unknown {
    const c = this.#c;
    let key: string | undefined;
    if (!this.#paused) {
      try {
        key = cacheKey(this.service, request);
      } catch {
        key = undefined; // not keyable (too deep): forwarded, never cached
      }
    }
    if (key === undefined) {
      c.bypassed++;
      return this.#backend(request);
    }
    const entry = this.#store.get(key);
    if (entry !== undefined) {
      c.hits++;
      c.savedMs += entry.cost;
      this.#window.hit();
      const cached = entry.value;
      if (cached.error !== undefined) throw rebuild(cached.error);
      return cached.value;
    }
    this.#window.miss();
    const flight = this.#flights.get(key);
    if (flight !== undefined) {
      c.coalesced++;
      return flight.promise;
    }
    c.misses++;
    const t0 = performance.now();
    const started: Flight = { promise: this.#backend(request), stale: false };
    this.#flights.set(key, started);
    const k = key;
    started.promise.then(
      (value) => {
        this.#flights.delete(k);
        if (started.stale || this.#closed) {
          if (started.stale) c.discarded++;
          return;
        }
        this.#store.set(k, { value }, byteSize(value), performance.now() - t0);
      },
      (error: unknown) => {
        this.#flights.delete(k);
        if (!this.#cacheErrors || started.stale || this.#closed) return;
        const data = cacheableError(error);
        if (data !== undefined)
          this.#store.set(k, { value: undefined, error: data }, data.message.length, performance.now() - t0);
      },
    );
    return started.promise;
  }

  async #backend(request: unknown): Promise<unknown> {
    const c = this.#c;
    c.backendCalls++;
    const t0 = performance.now();
    try {
      // No stack capture per backend call: the cache's own stack says nothing to its callers.
      return await this.node.call(
        this.service,
        request,
        this.#timeoutMs === undefined ? UNTRACED : { timeoutMs: this.#timeoutMs, trace: false },
      );
    } catch (error) {
      c.backendErrors++;
      const out = forwardedError(error, this.service);
      if (error instanceof RemoteError) providerErrors.add(out as object);
      throw out;
    } finally {
      c.backendMs += performance.now() - t0;
    }
  }

  #listen(topic: string): void {
    const subscription = this.node.subscribe(topic);
    this.#subscription = subscription;
    this.#reading = (async () => {
      for await (const { data } of subscription) {
        try {
          if (typeof data === "string") this.invalidate({ prefix: data });
          else this.invalidate(data as Invalidation);
        } catch (error) {
          process.emitWarning(
            `zmp: cache of \`${this.service}\` ignored an invalidation on \`${topic}\`: ${(error as Error).message}`,
          );
        }
      }
    })();
  }
}

/** Encoded size of a reply, bytes (what it costs on the wire and, roughly, in memory). */
function byteSize(value: unknown): number {
  try {
    return encode(value).length;
  } catch {
    return 0;
  }
}

/** Errors a provider raised itself (as forwarded to callers): the only kind `cacheErrors` keeps. */
const providerErrors = new WeakSet<object>();

/** A provider's own error as data; undefined for a timeout, a lost provider, no provider... */
function cacheableError(error: unknown): ErrorData | undefined {
  return typeof error === "object" && error !== null && providerErrors.has(error)
    ? errorToData(error)
    : undefined;
}

function rebuild(data: ErrorData): Error {
  const error = new Error(data.message);
  error.name = data.name;
  if (data.stack !== undefined) error.stack = data.stack;
  if (data.code !== undefined) (error as { code?: string }).code = data.code;
  return error;
}
