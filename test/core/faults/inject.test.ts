import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type FaultCounts, Graph, TimeoutError, UnknownServiceError } from "../../../core/index.js";
import { eventually, rejection } from "../../helpers.js";

describe("fault injection", () => {
  let graph: Graph;
  beforeEach(async () => {
    graph = await Graph.open({ heartbeatMs: 200 });
  });
  afterEach(async () => {
    await graph.close();
  });

  it("faults – dropping every incoming frame makes calls time out; clearing the faults heals it", async () => {
    const target = await graph.node("target", { faultInjection: true });
    target.provide("echo", (x: unknown) => x);
    const caller = await graph.node("caller");
    expect(await caller.call("echo", 1)).toBe(1);
    target.injectFaults({ dropShare: 1 });
    expect(await rejection(caller.call("echo", 2, { timeoutMs: 200 }))).toBeInstanceOf(TimeoutError);
    const counts = target.injectFaults({});
    expect(counts.dropped).toBeGreaterThanOrEqual(1);
    expect(await caller.call("echo", 3)).toBe(3);
  });

  it("faults – a delay holds every incoming message that long, in order", async () => {
    const target = await graph.node("target", { faultInjection: true });
    target.provide("echo", (x: unknown) => x);
    const caller = await graph.node("caller");
    await caller.call("echo", 0);
    target.injectFaults({ delayMs: 150 });
    const started = Date.now();
    const replies = await Promise.all([1, 2, 3].map((i) => caller.call<number>("echo", i)));
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
    expect(replies).toEqual([1, 2, 3]);
  });

  it("faults – a seeded drop share drops queue frames; what was dropped stays in the producer's backlog", async () => {
    const worker = await graph.node("worker", { faultInjection: true });
    const handled = new Set<number>();
    worker.consume<number>("jobs", (n) => {
      handled.add(n);
    });
    await worker.synced();
    const producer = await graph.node("producer");
    worker.injectFaults({ dropShare: 0.5, seed: 42 });
    for (let i = 0; i < 20; i++) {
      await producer.push("jobs", i);
      await new Promise((r) => setImmediate(r)); // one frame per message
    }
    // Each frame (one message each) is dropped or received; the dropped ones stay in the
    // producer's backlog, unacknowledged. (At 0.5 the chance of no drop in 20 is 1e-6.)
    await eventually(() => {
      const received = worker.stats().pulled.jobs?.messagesIn ?? 0;
      const pushed = producer.stats().pushed.jobs;
      return (
        received + worker.faultCounts().dropped === 20 &&
        pushed?.messagesIn === handled.size &&
        handled.size === received
      );
    }, "every frame dropped or handled and acknowledged");
    const dropped = worker.faultCounts().dropped;
    expect(dropped).toBeGreaterThan(0);
    expect(producer.stats().pushed.jobs?.backlog).toBe(dropped);
  });

  it("faults – remotely through zmp.faults, and refused on a node that does not allow it", async () => {
    const target = await graph.node("target", { faultInjection: true });
    await graph.node("plain");
    const ops = await graph.node("ops");
    const counts = await ops.call<FaultCounts>("zmp.faults", { delayMs: 10 }, { node: "target" });
    expect(counts).toEqual({ dropped: 0, delayed: 0 });
    expect(target.injectFaults({})).toEqual({ dropped: 0, delayed: 0 });
    const refused = await rejection(ops.call("zmp.faults", { dropShare: 1 }, { node: "plain" }));
    expect(refused).toBeInstanceOf(UnknownServiceError);
    expect(() => target.injectFaults({ dropShare: 2 })).toThrow(/dropShare/);
  });
});
