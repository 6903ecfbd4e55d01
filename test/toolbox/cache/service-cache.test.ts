import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Graph, type Node, type RemoteError } from "../../../core/index.js";
import {
  cacheKey,
  canonical,
  controlService,
  HitWindow,
  LruStore,
  ServiceCache,
} from "../../../toolbox/index.js";
import { load } from "../../fixtures/toolbox-loops.js";
import { eventually, rejection } from "../../helpers.js";

describe("cache keys and stores", () => {
  it("cache key – canonical: object keys sorted at every depth, extra forms for what JSON lacks", () => {
    expect(canonical({ b: 1, a: [1, { d: true, c: null }] })).toBe('{"a":[1,{"c":null,"d":true}],"b":1}');
    expect(canonical({ a: 1, b: undefined })).toBe(canonical({ a: 1 }));
    expect(canonical([Number.NaN, Number.POSITIVE_INFINITY, -0, 12n])).toBe("[NaN,Infinity,0,12n]");
    expect(canonical(Buffer.from([0, 1]))).toBe('b64"AAE="');
    expect(canonical(new Date(0))).toBe('date"1970-01-01T00:00:00.000Z"');
    expect(canonical({ date: "x" })).not.toBe(canonical(new Date(0)));
    expect(cacheKey("users.get", { id: "u1" })).toBe('users.get {"id":"u1"}');
    expect(() => canonical(new Map())).toThrow(TypeError);
  });

  it("lru – evicts the least recently used beyond capacity and bytes; counts evictions", () => {
    const lru = new LruStore<number>({ capacity: 3 });
    for (const k of ["a", "b", "c"]) lru.set(k, 1);
    lru.get("a"); // a is now the most recent
    lru.set("d", 1);
    expect(lru.keys()).toEqual(["c", "a", "d"]);
    expect(lru.evictions).toBe(1);
    lru.capacity = 1; // an actuator: lowering it evicts at once
    expect(lru.keys()).toEqual(["d"]);
    expect(lru.evictions).toBe(3);
    lru.capacity = 2.7; // a controller's output: rounded down
    expect(lru.capacity).toBe(2);
    const sized = new LruStore<string>({ capacity: Number.POSITIVE_INFINITY, maxBytes: 10 });
    sized.set("x", "x", 6);
    sized.set("y", "y", 6);
    expect(sized.keys()).toEqual(["y"]);
    expect(sized.bytes).toBe(6);
    expect(sized.set("big", "big", 11)).toBe(false);
  });

  it("lru – entries expire `ttlMs` after they were stored (injected clock); a new ttl applies to all", () => {
    let t = 0;
    const lru = new LruStore<number>({ ttlMs: 100, now: () => t });
    lru.set("a", 1);
    t = 99;
    expect(lru.get("a")?.value).toBe(1);
    t = 100;
    expect(lru.get("a")).toBeUndefined();
    expect(lru.expirations).toBe(1);
    lru.set("b", 2);
    lru.ttlMs = 10;
    t = 110;
    expect(lru.sweep()).toBe(1);
    expect(lru.size).toBe(0);
  });

  it("hit window – the hit rate covers the last 9–10 s (10 slots); NaN with no lookup", () => {
    let t = 0;
    const window = new HitWindow(10_000, 10, () => t);
    expect(window.rate).toBeNaN();
    window.hit();
    window.miss();
    expect(window.rate).toBe(0.5);
    t = 5000;
    window.hit();
    window.hit();
    expect(window.rate).toBe(0.75);
    t = 10_500; // the slot of t = 0 has left the window
    expect(window.rate).toBe(1);
    t = 30_000;
    expect(window.rate).toBeNaN();
  });
});

describe("service cache", () => {
  let graph: Graph;
  beforeEach(async () => {
    graph = await Graph.open({ heartbeatMs: 200 });
  });
  afterEach(async () => {
    await graph.close();
  });

  /** A backend providing `lookup` ({ id } → { id, n: call number }) after `ms`; counts its calls. */
  async function backend(ms = 0): Promise<{ node: Node; calls: () => number; release?: () => void }> {
    const node = await graph.node("backend");
    let calls = 0;
    node.provide("lookup", async (request: { id: string }) => {
      calls++;
      if (ms > 0) await new Promise((resolve) => setTimeout(resolve, ms));
      if (request?.id === "boom") throw new TypeError(`no such id ${request.id}`);
      return { id: request.id, n: calls };
    });
    await node.synced();
    return { node, calls: () => calls };
  }

  async function cached(options: Partial<Parameters<typeof ServiceCache.start>[1]> = {}) {
    const node = await graph.node("cache");
    const cache = await ServiceCache.start(node, { service: "lookup", ...options });
    const caller = await graph.node("caller");
    await eventually(() => caller.nodes().some((n) => n.fronts.length > 0), "the cache's front to be known");
    return { node, cache, caller };
  }

  it("service cache – N concurrent identical misses make 1 backend call", async () => {
    const b = await backend(50);
    const { cache, caller } = await cached();
    const n = 20;
    const replies = await Promise.all(Array.from({ length: n }, () => caller.call("lookup", { id: "a" })));
    expect(b.calls()).toBe(1);
    expect(replies.every((r) => JSON.stringify(r) === JSON.stringify({ id: "a", n: 1 }))).toBe(true);
    expect(cache.stats()).toMatchObject({
      misses: 1,
      coalesced: n - 1,
      hits: 0,
      backendCalls: 1,
      entries: 1,
    });
    expect(await caller.call("lookup", { id: "a" })).toEqual({ id: "a", n: 1 });
    const stats = cache.stats();
    expect(stats).toMatchObject({ hits: 1, lookups: n + 1 });
    expect(stats.hitRate).toBeCloseTo(1 / (n + 1), 9);
    expect(stats.savedMs).toBeGreaterThan(40); // the hit saved the 50 ms backend call
    expect(stats.bytes).toBeGreaterThan(0);
  });

  it("service cache – requests are keyed canonically: key order does not matter", async () => {
    const b = await backend();
    const { cache, caller } = await cached();
    await caller.call("lookup", { id: "a", extra: { y: 1, x: 2 } });
    await caller.call("lookup", { extra: { x: 2, y: 1 }, id: "a" });
    expect(b.calls()).toBe(1);
    expect(cache.keys()).toEqual(['lookup {"extra":{"x":2,"y":1},"id":"a"}']);
  });

  it("service cache – TTL (injected clock) and capacity changed while running", async () => {
    const b = await backend();
    let t = 0;
    const { cache, caller } = await cached({ ttlMs: 1000, capacity: 10, now: () => t });
    for (let i = 0; i < 10; i++) await caller.call("lookup", { id: `k${i}` });
    await caller.call("lookup", { id: "k0" });
    expect(cache.stats()).toMatchObject({ hits: 1, misses: 10, entries: 10 });
    cache.capacity = 4; // the actuator of a hit-rate loop
    expect(cache.stats()).toMatchObject({ entries: 4, evictions: 6, capacity: 4 });
    expect(cache.keys().at(-1)).toBe('lookup {"id":"k0"}'); // the most recently used stayed
    t = 1000;
    await caller.call("lookup", { id: "k0" });
    expect(cache.stats()).toMatchObject({ misses: 11, expirations: 1 });
    expect(b.calls()).toBe(11);
    await caller.call(controlService("cache"), { op: "set", capacity: 100, ttlMs: null });
    expect(cache.stats()).toMatchObject({ capacity: 100, ttlMs: null });
  });

  it("service cache – invalidation by key, prefix, request, topic and the steering service", async () => {
    const b = await backend();
    const { node, cache, caller } = await cached({ invalidationTopic: "lookup/changed" });
    const ids = ["u1", "u17", "u2", "v1"];
    const fill = () => Promise.all(ids.map((id) => caller.call("lookup", { id })));
    await fill();
    expect(cache.stats().entries).toBe(4);
    expect(cache.invalidate({ key: cacheKey("lookup", { id: "u2" }) })).toBe(1);
    expect(cache.invalidate({ prefix: 'lookup {"id":"u1' })).toBe(2); // u1 and u17
    expect(cache.invalidate({ request: { id: "v1" } })).toBe(1);
    expect(cache.stats().entries).toBe(0);
    await fill();
    expect(b.calls()).toBe(8);
    // On messages from the invalidation topic: an object, or a bare string (a key prefix).
    const publisher = await graph.node("publisher");
    await publisher.waitForSubscribers("lookup/changed");
    publisher.publish("lookup/changed", { request: { id: "u1" } });
    await eventually(() => cache.stats().entries === 3, "the topic invalidation");
    publisher.publish("lookup/changed", "lookup ");
    await eventually(() => cache.stats().entries === 0, "the prefix invalidation from the topic");
    await fill();
    const reply = await caller.call(controlService("cache"), { op: "invalidate", all: true });
    expect(reply).toEqual({ removed: 4 });
    expect(cache.stats().invalidated).toBe(12);
    expect(node.services).toContain(controlService("cache"));
  });

  it("service cache – an invalidation during a backend call: the reply answers its callers but is not stored", async () => {
    const b = await backend(100);
    const { cache, caller } = await cached();
    const call = caller.call("lookup", { id: "a" });
    await eventually(() => cache.stats().misses === 1, "the miss");
    cache.invalidate({ all: true });
    expect(await call).toEqual({ id: "a", n: 1 });
    expect(cache.stats()).toMatchObject({ entries: 0, discarded: 1 });
    await caller.call("lookup", { id: "a" });
    expect(b.calls()).toBe(2);
  });

  it("service cache – errors are not cached unless asked", async () => {
    const b = await backend();
    const { cache, caller } = await cached();
    const first = (await rejection(caller.call("lookup", { id: "boom" }))) as RemoteError;
    expect(first.remoteName).toBe("TypeError");
    expect(first.message).toContain("no such id boom");
    await rejection(caller.call("lookup", { id: "boom" }));
    expect(b.calls()).toBe(2);
    cache.set({ cacheErrors: true });
    await rejection(caller.call("lookup", { id: "boom" }));
    const again = (await rejection(caller.call("lookup", { id: "boom" }))) as RemoteError;
    expect(again.remoteName).toBe("TypeError");
    expect(b.calls()).toBe(3);
    expect(cache.stats()).toMatchObject({ hits: 1, backendErrors: 3 });
  });

  it("service cache – pause bypasses the cache; dropped in and removed under load with no failed call", async () => {
    const b = await backend();
    const caller = await graph.node("caller");
    await caller.waitFor("lookup");
    const calls = load((i) => caller.call("lookup", { id: `k${i % 20}` }), 4);
    const node = await graph.node("cache");
    const cache = await ServiceCache.start(node, { service: "lookup" });
    await eventually(() => cache.stats().hits > 200, "hits from the cache");
    cache.pause();
    const bypassedFrom = cache.stats().bypassed;
    await eventually(() => cache.stats().bypassed > bypassedFrom + 20, "calls to bypass the paused cache");
    cache.resume();
    await cache.close();
    const mark = calls.finished();
    await eventually(() => calls.finished() > mark + 100 || calls.errors.length > 0, "calls to go direct");
    await calls.stop();
    expect(calls.errors).toEqual([]);
    const s = cache.stats();
    // Every call was answered exactly once: by the backend, from memory, or by joining a backend call.
    expect(b.calls() + s.hits + s.coalesced).toBe(calls.started());
    expect(s.closed).toBe(true);
  });
});
