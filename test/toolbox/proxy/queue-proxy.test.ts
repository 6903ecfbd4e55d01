import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Graph, type Node } from "../../../core/index.js";
import { controlService, QueueProxy, TokenBucket } from "../../../toolbox/index.js";
import { load } from "../../fixtures/toolbox-loops.js";
import { eventually } from "../../helpers.js";

describe("token bucket", () => {
  it("token bucket – admits the burst at once, then `rate` per second", () => {
    let t = 0;
    const bucket = new TokenBucket({ rate: 10, burst: 3, now: () => t });
    expect([1, 2, 3, 4].map(() => bucket.take())).toEqual([true, true, true, false]);
    t = 100; // 0.1 s at 10/s: one token
    expect(bucket.take()).toBe(true);
    expect(bucket.take()).toBe(false);
    t = 10_000; // long quiet: capped at the burst
    expect(bucket.tokens).toBe(3);
  });

  it("token bucket – a rate change credits the tokens earned at the old rate first", () => {
    let t = 0;
    const bucket = new TokenBucket({ rate: 10, burst: 100, now: () => t });
    while (bucket.take()) {} // empty it
    t = 500; // 5 tokens earned at 10/s
    bucket.rate = 1000;
    expect(bucket.tokens).toBeCloseTo(5, 9);
    t = 510; // 10 ms at 1000/s: 10 more
    expect(bucket.tokens).toBeCloseTo(15, 9);
  });

  it("token bucket – Infinity admits everything; 0 admits only what is left; the default burst follows the rate", () => {
    let t = 0;
    const bucket = new TokenBucket({ now: () => t });
    for (let i = 0; i < 1000; i++) expect(bucket.take()).toBe(true);
    bucket.rate = 200;
    expect(bucket.burst).toBe(10); // 200 msg/s × 0.05 s
    bucket.rate = 0;
    let admitted = 0;
    while (bucket.take()) admitted++;
    expect(admitted).toBeLessThanOrEqual(10);
    t = 60_000;
    expect(bucket.take()).toBe(false);
    expect(() => new TokenBucket({ rate: -1 })).toThrow(
      "Expected `rate` to be a non-negative number or Infinity, got `-1`",
    );
    expect(() => new TokenBucket({ burst: 0 })).toThrow(RangeError);
  });
});

describe("queue proxy", () => {
  let graph: Graph;
  beforeEach(async () => {
    // The default heartbeat (1 s): at 200 ms a node of this busy process was once taken for dead
    // (524 ms of silence at load ~25), and a worker so evicted gets its unacknowledged messages
    // sent again (at-least-once), which the exactly-once counts below would see as duplicates.
    graph = await Graph.open();
  });
  afterEach(async () => {
    await graph.close();
  });

  async function worker(name = "worker"): Promise<{ node: Node; handled: Map<number, number> }> {
    const node = await graph.node(name);
    const handled = new Map<number, number>();
    node.consume<number>("jobs", (m) => {
      handled.set(m, (handled.get(m) ?? 0) + 1);
    });
    await node.synced();
    return { node, handled };
  }

  it("queue proxy – inserted and removed under load: every message handled exactly once (exact counts)", async () => {
    const { handled } = await worker();
    const producer = await graph.node("producer");
    // 16 producers' worth of pushes, each resolving when a worker handled it (end to end through the proxy).
    const pushes = load((i) => producer.push("jobs", i, { confirm: true }), 16);
    const proxy = await QueueProxy.start(await graph.node("broker"), { queue: "jobs" });
    await eventually(() => proxy.stats().handled > 500, "messages to flow through the proxy");
    await proxy.close();
    const through = proxy.stats();
    const mark = pushes.finished();
    await eventually(() => pushes.finished() > mark + 500 || pushes.errors.length > 0, "pushes to go direct");
    await pushes.stop();
    const total = pushes.started();
    await eventually(() => handled.size === total, "every pushed message handled");
    expect(pushes.errors).toEqual([]);
    expect([...handled.values()].every((n) => n === 1)).toBe(true);
    expect(through.offered).toBe(through.admitted);
    expect(through.handled).toBe(through.admitted);
    expect(through).toMatchObject({ shed: 0, failed: 0, backlog: 0, closed: true });
    expect(proxy.stats().handled).toBe(through.handled); // nothing after close
  });

  it("queue proxy – admission sheds what the token bucket refuses: counted, dead-lettered, acknowledged; none lost", async () => {
    const { handled } = await worker();
    const t = 0; // a frozen clock: exactly `burst` messages get a token
    const broker = await graph.node("broker");
    const proxy = await QueueProxy.start(broker, {
      queue: "jobs",
      rate: 1,
      burst: 10,
      deadLetter: "dead/jobs",
      now: () => t,
    });
    const watcher = await graph.node("watcher");
    const dead = watcher.subscribe<{ queue: string; reason: string; message: number }>("dead/jobs");
    const deadLettered: number[] = [];
    const reading = (async () => {
      for await (const { data } of dead) deadLettered.push(data.message);
    })();
    await broker.waitForSubscribers("dead/jobs");
    const producer = await graph.node("producer");
    await eventually(() => producer.nodes().some((n) => n.fronts.length > 0), "the front to be known");
    const total = 300;
    await Promise.all(Array.from({ length: total }, (_, i) => producer.push("jobs", i, { confirm: true })));
    // Every push was acknowledged: handled downstream or shed.
    const stats = proxy.stats();
    expect(stats).toMatchObject({ offered: total, admitted: 10, shed: total - 10, shedByRate: total - 10 });
    await eventually(
      () => handled.size === 10 && deadLettered.length === total - 10,
      "handled + dead letters",
    );
    const all = [...handled.keys(), ...deadLettered].sort((a, b) => a - b);
    expect(all).toEqual([...Array(total).keys()]);
    expect(producer.stats().pushed.jobs?.backlog).toBe(0);
    // The actuator: lift the limit while running, over the steering service.
    await producer.call(controlService("broker"), { op: "set", rate: null });
    await Promise.all(
      Array.from({ length: 50 }, (_, i) => producer.push("jobs", total + i, { confirm: true })),
    );
    expect(proxy.stats()).toMatchObject({ offered: total + 50, admitted: 60, shed: total - 10, rate: null });
    dead.close();
    await reading;
  });

  it("queue proxy – fraction admits a share at random (injected random numbers)", async () => {
    const { handled } = await worker();
    let k = 0;
    const proxy = await QueueProxy.start(await graph.node("broker"), {
      queue: "jobs",
      fraction: 0.5,
      random: () => (k++ % 2 === 0 ? 0.25 : 0.75), // admit, refuse, admit, refuse…
    });
    const producer = await graph.node("producer");
    await eventually(() => producer.nodes().some((n) => n.fronts.length > 0), "the front to be known");
    await Promise.all(Array.from({ length: 100 }, (_, i) => producer.push("jobs", i, { confirm: true })));
    expect(proxy.stats()).toMatchObject({ offered: 100, admitted: 50, shedByFraction: 50, handled: 50 });
    expect(handled.size).toBe(50);
  });

  it("queue proxy – the backlog lives at the proxy: pause holds messages (measured), resume delivers them all", async () => {
    const { handled } = await worker();
    const proxy = await QueueProxy.start(await graph.node("broker"), { queue: "jobs" });
    const producer = await graph.node("producer");
    await eventually(() => producer.nodes().some((n) => n.fronts.length > 0), "the front to be known");
    await producer.call(controlService("broker"), { op: "pause" });
    for (let i = 0; i < 50; i++) await producer.push("jobs", i);
    await eventually(
      () => proxy.backlog === 50 && proxy.stats().held === 50,
      "the backlog to build at the proxy",
    );
    expect(handled.size).toBe(0);
    expect(proxy.stats().paused).toBe(true);
    proxy.resume();
    await eventually(() => handled.size === 50, "every held message handled");
    await eventually(() => proxy.backlog === 0, "the backlog to drain");
    const stats = proxy.stats();
    expect(stats).toMatchObject({ offered: 50, admitted: 50, handled: 50, held: 0, paused: false });
    expect(stats.forward.messages).toBe(50);
    expect(stats.forward.bytes).toBeGreaterThan(0);
    expect(stats.backward.messages).toBe(50);
    expect(stats.workers).toEqual(["worker"]);
  });

  it("queue proxy – a worker killed behind the proxy: its messages go to another worker, none lost", async () => {
    const sink = await graph.node("sink");
    const seen = new Set<number>();
    sink.provide("handled", ({ message }: { message: number }) => {
      seen.add(message);
    });
    await sink.synced();
    const puller = new URL("../../fixtures/puller.ts", import.meta.url);
    const doomed = await graph.spawn(puller, {
      host: "process",
      name: "doomed",
      args: { queue: "jobs", sink: "sink", ms: 20, window: 10 },
    });
    const proxy = await QueueProxy.start(await graph.node("broker"), { queue: "jobs" });
    const producer = await graph.node("producer");
    await eventually(() => producer.nodes().some((n) => n.fronts.length > 0), "the front to be known");
    const total = 200;
    for (let i = 0; i < total; i++) await producer.push("jobs", i);
    await eventually(() => seen.size >= 5, "the doomed worker to handle some");
    doomed.kill();
    await graph.spawn(puller, {
      host: "process",
      name: "survivor",
      args: { queue: "jobs", sink: "sink", ms: 0, window: 50 },
    });
    await eventually(() => seen.size === total, "every message handled", { timeoutMs: 20_000 });
    await eventually(
      () => proxy.backlog === 0 && producer.stats().pushed.jobs?.backlog === 0,
      "backlogs drained",
    );
    expect(proxy.stats()).toMatchObject({ offered: total, handled: total, failed: 0 });
  });

  it("queue proxy – on a node without meters it keeps its own exact counts", async () => {
    const { handled } = await worker();
    const proxy = await QueueProxy.start(await graph.node("broker", { metering: false }), { queue: "jobs" });
    const producer = await graph.node("producer");
    await eventually(() => producer.nodes().some((n) => n.fronts.length > 0), "the front to be known");
    await Promise.all(Array.from({ length: 100 }, (_, i) => producer.push("jobs", i, { confirm: true })));
    expect(proxy.stats()).toMatchObject({ offered: 100, admitted: 100, handled: 100, backlog: 0, failed: 0 });
    expect(proxy.stats().latencyP50).toBeNaN();
    expect(handled.size).toBe(100);
  });

  it("queue proxy – options and settings are checked at the boundary", async () => {
    const node = await graph.node("broker");
    await expect(QueueProxy.start(node, { queue: "jobs", rate: -5 })).rejects.toThrow(
      "Expected `rate` to be a non-negative number or Infinity, got `-5`",
    );
    await expect(QueueProxy.start(node, { queue: "jobs", fraction: 2 })).rejects.toThrow(/`fraction`/);
    await expect(QueueProxy.start(node, { queue: "jobs", window: 0 })).rejects.toThrow(/`window`/);
    const proxy = await QueueProxy.start(node, { queue: "jobs" });
    expect(() => proxy.set({ rate: "fast" })).toThrow(TypeError);
    expect(() => proxy.set({ speed: 1 })).toThrow(/Unknown option `speed`/);
    proxy.set({ rate: 100, burst: 20, fraction: 0.9, window: 50 });
    expect(proxy.stats()).toMatchObject({ rate: 100, burst: 20, fraction: 0.9, window: 50 });
    await proxy.close();
  });
});
