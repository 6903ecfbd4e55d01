import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Graph } from "../../core/index.js";
import { eventually } from "../helpers.js";

describe("queue consumer", () => {
  let graph: Graph;
  beforeEach(async () => {
    graph = await Graph.open({ transport: "inproc" });
  });
  afterEach(async () => {
    await graph.close();
  });

  it("queue – a synchronous handler takes frames of thousands of messages (no recursion per message)", async () => {
    const worker = await graph.node("worker");
    let handled = 0;
    let failures = 0;
    worker.consume(
      "jobs",
      () => {
        handled++;
      },
      { window: 20_000, onError: () => failures++ },
    );
    await worker.synced();
    const producer = await graph.node("producer", { pushBuffer: 20_000 });
    // One turn: the messages leave in frames of up to 4096 (the outbox's limit).
    for (let i = 0; i < 12_000; i++) await producer.push("jobs", i);
    await eventually(() => handled === 12_000, "12 000 messages handled");
    expect(failures).toBe(0);
    expect(worker.rejects.malformed).toBe(0);
  });
});
