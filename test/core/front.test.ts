import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Graph, type Node } from "../../core/index.js";
import { eventually } from "../helpers.js";

/**
 * Fronts: a node takes over a service, a queue or a topic prefix in a running
 * graph, and later lets go of it, with no failed or lost call or message.
 */
describe("fronting a running graph", () => {
  let graph: Graph;
  beforeEach(async () => {
    // The default heartbeat: nobody is killed here, and at 200 ms a loaded machine evicts live
    // nodes (a false eviction drops a subscriber's link and loses messages, counted). Topic
    // buffers large enough for what a test publishes, so a slow turn drops nothing either:
    // what is measured is the switch.
    graph = await Graph.open({ nodeDefaults: { topicHighWaterMark: 1_000_000 } });
  });
  afterEach(async () => {
    await graph.close();
  });

  /** Runs `work` in a loop until stopped; collects results and errors. */
  function loop(work: (i: number) => Promise<unknown>) {
    let running = true;
    let i = 0;
    const errors: unknown[] = [];
    const done = (async () => {
      while (running) {
        try {
          await work(i++);
        } catch (error) {
          errors.push(error);
          break;
        }
      }
    })();
    return {
      errors,
      count: () => i,
      stop: async () => {
        running = false;
        await done;
      },
    };
  }

  it("front – callers move to a service front and back without a failed call", async () => {
    const provider = await graph.node("provider");
    provider.provide("add", ([a, b]: [number, number]) => a + b);
    await provider.synced();
    const caller = await graph.node("caller");
    await caller.waitFor("add");
    const calls = loop(async (i) => expect(await caller.call("add", [i, 1])).toBe(i + 1));
    const proxy = await graph.node("proxy");
    let forwarded = 0;
    proxy.provide("add", (request: unknown) => {
      forwarded++;
      return proxy.call("add", request); // the front itself reaches the real provider
    });
    await proxy.front("service", "add");
    await eventually(() => forwarded > 20, "calls to flow through the front");
    await proxy.stop();
    const after = forwarded;
    const before = calls.count();
    await eventually(
      () => calls.count() > before + 20 || calls.errors.length > 0,
      "calls to continue without the front",
    );
    await calls.stop();
    expect(calls.errors).toEqual([]);
    expect(forwarded).toBe(after);
  });

  it("front – producers move to a queue front and back; every message handled exactly once", async () => {
    const handled = new Map<number, number>();
    const worker = await graph.node("worker");
    worker.consume<number>("jobs", (m) => {
      handled.set(m, (handled.get(m) ?? 0) + 1);
    });
    await worker.synced();
    const producer = await graph.node("producer");
    const pushes = loop((i) => producer.push("jobs", i));
    const broker = await graph.node("broker");
    let brokered = 0;
    broker.consume(
      "jobs",
      (m: unknown) => {
        brokered++;
        return broker.push("jobs", m, { confirm: true }); // acknowledged upstream when handled downstream
      },
      { concurrency: 100 },
    );
    await broker.front("queue", "jobs");
    await eventually(() => brokered > 50, "messages to flow through the broker");
    await broker.stop();
    const before = pushes.count();
    await eventually(
      () => pushes.count() > before + 50 || pushes.errors.length > 0,
      "pushes to continue without the broker",
    );
    await pushes.stop();
    const total = pushes.count();
    await eventually(() => handled.size === total, "every pushed message handled");
    expect(pushes.errors).toEqual([]);
    expect([...handled.values()].every((n) => n === 1)).toBe(true);
  });

  it("front – subscribers move to a topic forwarder and back without a lost or repeated message", async () => {
    const talker = await graph.node("talker");
    const listener = await graph.node("listener");
    const sub = listener.subscribe<number>("sensor/");
    await talker.waitForSubscribers("sensor/temp");
    const received: number[] = [];
    const reading = (async () => {
      for await (const m of sub) received.push(m.data);
    })();
    let seq = 0;
    const ticker = setInterval(() => {
      for (let k = 0; k < 5; k++) talker.publish("sensor/temp", seq++);
    }, 2);
    let proxy: Node | undefined;
    try {
      proxy = await graph.node("proxy");
      const forwarder = await proxy.forward("sensor/");
      await eventually(() => forwarder.stats().messagesDown > 100, "messages to flow through the forwarder");
      await proxy.stop();
      const mark = seq;
      await eventually(() => received.length > mark + 100, "messages to flow directly again");
    } finally {
      clearInterval(ticker);
    }
    const last = seq;
    await eventually(() => received.length === last, "the tail to arrive");
    sub.close();
    await reading;
    expect(received).toEqual(Array.from({ length: last }, (_, i) => i));
    expect(listener.stats().subscribed["sensor/"]?.drops).toBe(0);
  });
});
