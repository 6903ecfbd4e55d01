import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Graph } from "../../../core/index.js";
import { controlService } from "../../../toolbox/index.js";
import { load } from "../../fixtures/toolbox-loops.js";
import { eventually } from "../../helpers.js";

const nodes = (file: string): URL => new URL(`../../../toolbox/nodes/${file}`, import.meta.url);

/** The proxy and cache node modules, hosted in a child process, a worker thread and inline. */
describe("hostable proxy and cache nodes", () => {
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

  it("nodes – a queue proxy in a child process: steered over its control service, stopped with no lost message", async () => {
    const worker = await graph.node("worker");
    const handled = new Map<number, number>();
    worker.consume<number>("jobs", (m) => {
      handled.set(m, (handled.get(m) ?? 0) + 1);
    });
    await worker.synced();
    const producer = await graph.node("producer");
    const pushes = load((i) => producer.push("jobs", i, { confirm: true }), 8);
    const broker = await graph.spawn(nodes("queue-proxy.ts"), {
      name: "broker",
      host: "process",
      args: { queue: "jobs", window: 100 },
    });
    type Stats = Record<string, { handled: number; window: number }>;
    const stats = () => producer.call<Stats>(controlService("broker"), { op: "stats" });
    await eventually(async () => (await stats())["queue:jobs"]!.handled > 200, "messages through the broker");
    expect((await stats())["queue:jobs"]!.window).toBe(100);
    await broker.stop();
    const mark = pushes.finished();
    await eventually(() => pushes.finished() > mark + 200 || pushes.errors.length > 0, "pushes to go direct");
    await pushes.stop();
    expect(pushes.errors).toEqual([]);
    expect(handled.size).toBe(pushes.started());
    expect([...handled.values()].every((n) => n === 1)).toBe(true);
  });

  it("nodes – a queue proxy SIGKILLed under load: producers send what it held again, every message handled", async () => {
    const worker = await graph.node("worker");
    const handled = new Map<number, number>();
    worker.consume<number>(
      "jobs",
      async (m) => {
        await new Promise((resolve) => setTimeout(resolve, 1));
        handled.set(m, (handled.get(m) ?? 0) + 1);
      },
      { concurrency: 50 },
    );
    await worker.synced();
    const broker = await graph.spawn(nodes("queue-proxy.ts"), {
      name: "broker",
      host: "process",
      args: { queue: "jobs" },
    });
    const producer = await graph.node("producer");
    await eventually(() => producer.nodes().some((n) => n.fronts.length > 0), "the front to be known");
    const total = 2000;
    const confirmed = Promise.all(
      Array.from({ length: total }, (_, i) => producer.push("jobs", i, { confirm: true })),
    );
    await eventually(() => handled.size > 200, "messages through the broker");
    broker.kill();
    await confirmed; // every push acknowledged by a worker in the end
    expect([...Array(total).keys()].every((i) => handled.has(i))).toBe(true);
    // At-least-once: a message the broker had forwarded but not yet acknowledged upstream may run twice.
    const twice = [...handled.values()].filter((n) => n > 1).length;
    expect(twice).toBeLessThan(total);
  });

  it("nodes – a service cache in a worker thread and a last-value cache inline", async () => {
    const backend = await graph.node("backend");
    let calls = 0;
    backend.provide("square", (x: number) => {
      calls++;
      return x * x;
    });
    await backend.synced();
    await graph.spawn(nodes("service-cache.ts"), {
      name: "memo",
      host: "thread",
      args: { service: "square", capacity: 10 },
    });
    await graph.spawn(nodes("last-value-cache.ts"), {
      name: "latch",
      host: "inline",
      args: { prefix: "status/" },
    });
    const caller = await graph.node("caller");
    await eventually(
      () => caller.nodes().filter((n) => n.fronts.length > 0).length === 2,
      "both fronts known",
    );
    for (let i = 0; i < 5; i++) expect(await caller.call("square", 3)).toBe(9);
    expect(calls).toBe(1);
    const publisher = await graph.node("publisher");
    await publisher.waitForSubscribers("status/door");
    publisher.publish("status/door", "open");
    await eventually(
      async () =>
        ((await caller.call(controlService("latch"), { op: "stats" })) as Record<string, { topics: number }>)[
          "lvc:status/"
        ]!.topics === 1,
      "the latch to hold the value",
    );
    const sub = caller.subscribe<string>("status/");
    for await (const m of sub) {
      expect(m).toEqual({ topic: "status/door", data: "open" });
      break;
    }
  });
});
