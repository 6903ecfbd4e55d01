import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { BusyError, Graph, type Node, TimeoutError, type Transport } from "../../core/index.js";
import { eventually, rejection } from "../helpers.js";

const transports: Transport[] = ["inproc", "ipc", "tcp"];
const fixture = (name: string): URL => new URL(`../fixtures/${name}`, import.meta.url);

describe.each(transports)("queue over %s", (transport) => {
  let graph: Graph;
  beforeEach(async () => {
    // Stalled pullers never acknowledge: bound how long closing waits for them.
    graph = await Graph.open({ transport, heartbeatMs: 200, nodeDefaults: { drainTimeoutMs: 300 } });
  });
  afterEach(async () => {
    await graph.close();
  });

  it("queue – work is shared among all pullers, each message handled once", async () => {
    const seen = new Map<number, string>();
    const workers: Node[] = [];
    for (const name of ["w1", "w2", "w3"]) {
      const w = await graph.node(name);
      w.consume<number>(
        "jobs",
        async (m) => {
          expect(seen.has(m)).toBe(false);
          seen.set(m, name);
          await new Promise((r) => setTimeout(r, 0));
        },
        { window: 20 },
      );
      await w.synced();
      workers.push(w);
    }
    const producer = await graph.node("producer");
    for (let i = 0; i < 600; i++) await producer.push("jobs", i);
    await eventually(() => seen.size === 600, "all 600 messages handled");
    for (const w of workers) expect([...seen.values()].filter((n) => n === w.name).length).toBeGreaterThan(0);
    await eventually(() => producer.stats().pushed.jobs?.backlog === 0, "the producer's backlog to drain");
  });

  it("queue – the backlog is exact against a stalled puller", async () => {
    const worker = await graph.node("stalled");
    worker.pull("jobs", { window: 30 }); // nobody reads it
    await worker.synced();
    const producer = await graph.node("producer", { pushBuffer: 100 });
    for (let i = 0; i < 80; i++) await producer.push("jobs", i);
    // 30 under the puller's credit, 50 kept by the producer.
    expect(producer.stats().pushed.jobs?.backlog).toBe(80);
    await eventually(() => worker.stats().pulled.jobs?.backlog === 30, "30 messages at the puller");
    expect(producer.stats().pushed.jobs?.backlog).toBe(80);
  });

  it("queue – push waits when the queue is full, and resumes when a message is handled", async () => {
    const worker = await graph.node("slow");
    const reader = worker.pull<number>("jobs", { window: 5 });
    await worker.synced();
    const producer = await graph.node("producer", { pushBuffer: 5 });
    for (let i = 0; i < 10; i++) await producer.push("jobs", i);
    let accepted = false;
    const eleventh = producer.push("jobs", 10).then(() => (accepted = true));
    expect(await rejection(producer.push("jobs", 11, { timeoutMs: 50 }))).toBeInstanceOf(TimeoutError);
    expect(accepted).toBe(false);
    const it = reader[Symbol.asyncIterator]();
    expect((await it.next()).value).toBe(0);
    expect((await it.next()).value).toBe(1); // asking for #1 acknowledges #0: credit comes back
    await eleventh;
    expect(accepted).toBe(true);
    await it.return?.();
  });

  it("queue – thousands of waiting pushes are accepted in order; one that times out leaves the line", async () => {
    const worker = await graph.node("worker");
    const reader = worker.pull<number>("jobs", { window: 10 });
    await worker.synced();
    const producer = await graph.node("producer", { pushBuffer: 10 });
    for (let i = 0; i < 20; i++) await producer.push("jobs", i); // credit and buffer full
    const order: number[] = [];
    const waiting: Promise<unknown>[] = [];
    for (let i = 20; i < 3020; i++) {
      if (i === 1500) {
        // In the middle of the line: its timeout takes it out without disturbing the rest.
        waiting.push(
          producer.push("jobs", -1, { timeoutMs: 30 }).then(
            () => order.push(-1),
            (error: unknown) => expect(error).toBeInstanceOf(TimeoutError),
          ),
        );
      }
      waiting.push(producer.push("jobs", i).then(() => order.push(i)));
    }
    await new Promise((resolve) => setTimeout(resolve, 60)); // past the one timeout: nothing moves meanwhile
    expect(order).toEqual([]);
    const received: number[] = [];
    for await (const m of reader) {
      received.push(m);
      if (received.length === 3020) break;
    }
    await Promise.all(waiting);
    expect(order).toEqual(Array.from({ length: 3000 }, (_, i) => i + 20));
    expect(received).toEqual(Array.from({ length: 3020 }, (_, i) => i));
    await eventually(() => producer.stats().pushed.jobs?.backlog === 0, "every message acknowledged");
  });

  it("queue – push with force is accepted at once past a full buffer, and delivered", async () => {
    const worker = await graph.node("worker");
    const reader = worker.pull<number>("jobs", { window: 5 });
    await worker.synced();
    const producer = await graph.node("producer", { pushBuffer: 5 });
    for (let i = 0; i < 10; i++) await producer.push("jobs", i); // credit and buffer full
    let waited = false;
    const waiting = producer.push("jobs", 100).then(() => (waited = true));
    for (let i = 10; i < 50; i++) await producer.push("jobs", i, { force: true }); // never waits
    expect(waited).toBe(false);
    expect(producer.stats().pushed.jobs?.backlog).toBe(50);
    const received: number[] = [];
    for await (const m of reader) {
      received.push(m);
      if (received.length === 51) break;
    }
    await waiting;
    // Forced pushes go ahead of the one that waited for room.
    expect(received).toEqual([...Array.from({ length: 50 }, (_, i) => i), 100]);
  });

  it("queue – a message counts as handled only when the loop asks for the next one", async () => {
    const worker = await graph.node("worker");
    const reader = worker.pull<string>("jobs");
    await worker.synced();
    const producer = await graph.node("producer");
    await producer.push("jobs", "a");
    await producer.push("jobs", "b");
    const it = reader[Symbol.asyncIterator]();
    expect((await it.next()).value).toBe("a");
    await new Promise((r) => setTimeout(r, 50));
    expect(producer.stats().pushed.jobs?.backlog).toBe(2); // "a" is being handled
    expect((await it.next()).value).toBe("b");
    await eventually(() => producer.stats().pushed.jobs?.backlog === 1, "the ack of a");
    await it.return?.();
    await eventually(() => producer.stats().pushed.jobs?.backlog === 0, "the ack of b on return()");
  });

  it("queue – consume acknowledges when the handler settles and keeps to its concurrency", async () => {
    const worker = await graph.node("worker");
    let running = 0;
    let most = 0;
    const gates: (() => void)[] = [];
    worker.consume(
      "jobs",
      () => {
        running++;
        most = Math.max(most, running);
        return new Promise<void>((r) =>
          gates.push(() => {
            running--;
            r();
          }),
        );
      },
      { concurrency: 3 },
    );
    await worker.synced();
    const producer = await graph.node("producer");
    for (let i = 0; i < 10; i++) await producer.push("jobs", i);
    await eventually(() => gates.length === 3, "three handlers running");
    expect(producer.stats().pushed.jobs?.backlog).toBe(10);
    for (let done = 0; done < 10; done++) {
      await eventually(() => gates.length > 0, "a running handler");
      gates.shift()!();
    }
    await eventually(() => producer.stats().pushed.jobs?.backlog === 0, "all acknowledged");
    expect(most).toBe(3);
  });

  it("queue – a second pull of one queue on one node is refused", async () => {
    const worker = await graph.node("worker");
    worker.pull("jobs");
    expect(() => worker.pull("jobs")).toThrow(BusyError);
  });

  it("queue – changing the credit window takes effect while running", async () => {
    const worker = await graph.node("worker");
    const reader = worker.pull("jobs", { window: 50 });
    await worker.synced();
    const producer = await graph.node("producer", { pushBuffer: 1000 });
    for (let i = 0; i < 5; i++) await producer.push("jobs", i);
    await eventually(() => worker.stats().pulled.jobs?.backlog === 5, "5 at the puller");
    reader.window = 8;
    const it = reader[Symbol.asyncIterator]();
    await eventually(() => producer.credit("jobs")[0]?.window === 8, "the producer to learn the new window");
    await it.next();
    for (let i = 5; i < 100; i++) await producer.push("jobs", i);
    await eventually(() => producer.credit("jobs")[0]?.inflight === 8, "the producer to fill the new window");
    // At most 8 unacknowledged at the puller (1 being handled + buffered).
    await eventually(() => worker.stats().pulled.jobs?.backlog === 8, "8 at the puller");
    expect(producer.stats().pushed.jobs?.backlog).toBe(100);
    await it.return?.();
  });
});

describe("queue faults", () => {
  let graph: Graph;
  beforeEach(async () => {
    graph = await Graph.open({ heartbeatMs: 200 });
  });
  afterEach(async () => {
    await graph.close();
  });

  async function sink(): Promise<{ node: Node; handled: Map<number, string[]> }> {
    const node = await graph.node("sink");
    const handled = new Map<number, string[]>();
    node.provide("handled", ({ by, message }: { by: string; message: number }) => {
      handled.set(message, [...(handled.get(message) ?? []), by]);
    });
    await node.synced();
    return { node, handled };
  }

  it("queue – messages a killed puller had not acknowledged are redelivered: none lost", async () => {
    const { handled } = await sink();
    const doomed = await graph.spawn(fixture("puller.ts"), {
      host: "process",
      name: "doomed",
      args: { queue: "jobs", sink: "sink", ms: 20, window: 10 },
    });
    const producer = await graph.node("producer");
    const total = 200;
    for (let i = 0; i < total; i++) await producer.push("jobs", i);
    await eventually(() => handled.size >= 5, "the doomed puller to handle some");
    doomed.kill();
    await graph.spawn(fixture("puller.ts"), {
      host: "process",
      name: "survivor",
      args: { queue: "jobs", sink: "sink", ms: 0, window: 50 },
    });
    await eventually(() => handled.size === total, "every message handled", { timeoutMs: 20_000 });
    await eventually(() => producer.stats().pushed.jobs?.backlog === 0, "the backlog to drain");
    // At-least-once: some handled by the doomed puller may come again; none is missing.
    expect([...handled.keys()].sort((a, b) => a - b)).toEqual([...Array(total).keys()]);
  });

  it("queue – a puller that stops gracefully finishes what it took and hands back the rest", async () => {
    const { handled } = await sink();
    const leaving = await graph.spawn(fixture("puller.ts"), {
      host: "thread",
      name: "leaving",
      args: { queue: "jobs", sink: "sink", ms: 10, window: 20 },
    });
    const producer = await graph.node("producer");
    const total = 100;
    for (let i = 0; i < total; i++) await producer.push("jobs", i);
    await eventually(() => handled.size >= 3, "some handled");
    await leaving.stop();
    await graph.spawn(fixture("puller.ts"), {
      host: "thread",
      name: "staying",
      args: { queue: "jobs", sink: "sink", ms: 0, window: 20 },
    });
    await eventually(() => handled.size === total, "every message handled", { timeoutMs: 20_000 });
    // Graceful: no message handled twice.
    expect([...handled.values()].every((by) => by.length === 1)).toBe(true);
  });
});
