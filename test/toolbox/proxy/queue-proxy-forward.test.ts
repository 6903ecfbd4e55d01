import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Graph, type Node } from "../../../core/index.js";
import { QueueProxy, tapTopic } from "../../../toolbox/index.js";
import { eventually, tempDir } from "../../helpers.js";

/**
 * The queue proxy forwards messages as the bytes they arrived in (checked,
 * not decoded or re-encoded): what workers, the tap and the dead-letter topic
 * see must be what producers pushed, for every type the codec carries.
 */
const kinds: unknown[] = [
  null,
  false,
  7,
  -(2 ** 40),
  0.25,
  "",
  "héllo ✓",
  "x".repeat(300),
  Buffer.from([0, 1, 255]),
  Buffer.alloc(70_000, 3),
  new Date(1_700_000_000_123),
  [1, [2, [3]]],
  { id: 9, tags: ["a", "b"], nested: { when: new Date(5), bin: Buffer.from("hi") } },
];

describe("queue proxy forwarding", () => {
  let graph: Graph;
  let temp: ReturnType<typeof tempDir>;
  beforeEach(async () => {
    graph = await Graph.open({ heartbeatMs: 200 });
    temp = tempDir();
  });
  afterEach(async () => {
    await graph.close();
    temp.remove();
  });

  async function worker(): Promise<{ node: Node; received: unknown[] }> {
    const node = await graph.node("worker");
    const received: unknown[] = [];
    node.consume("jobs", (m) => {
      received.push(m);
    });
    await node.synced();
    return { node, received };
  }

  it("queue proxy – every type of message passes through unchanged; the tap sees it decoded", async () => {
    const { received } = await worker();
    const file = join(temp.dir, "tap.jsonl");
    const broker = await graph.node("broker");
    const proxy = await QueueProxy.start(broker, { queue: "jobs", tap: { topic: true, file } });
    const watcher = await graph.node("watcher");
    const tapped: unknown[] = [];
    const sub = watcher.subscribe<{ message: unknown; admitted: boolean }>(tapTopic("broker", "jobs"));
    const reading = (async () => {
      for await (const { data } of sub) tapped.push(data.message);
    })();
    await broker.waitForSubscribers(tapTopic("broker", "jobs"));
    const producer = await graph.node("producer");
    await eventually(() => producer.nodes().some((n) => n.fronts.length > 0), "the front to be known");
    for (const m of kinds) await producer.push("jobs", m, { confirm: true });
    expect(received).toEqual(kinds);
    await eventually(() => tapped.length === kinds.length, "every message on the tap");
    expect(tapped).toEqual(kinds);
    const stats = proxy.stats();
    expect(stats).toMatchObject({ offered: kinds.length, handled: kinds.length, backlog: 0, failed: 0 });
    // Forwarded byte for byte: the proxy sent on exactly what the producer sent it.
    expect(stats.forward.bytes).toBe(producer.stats().pushed.jobs?.bytesOut);
    await proxy.close();
    const lines = readFileSync(file, "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(lines.map((l) => l.message)).toEqual(
      JSON.parse(
        JSON.stringify(kinds, (_k, v) =>
          v?.type === "Buffer" ? { base64: Buffer.from(v.data).toString("base64") } : v,
        ),
      ),
    );
    sub.close();
    await reading;
  });

  it("queue proxy – a shed message reaches the dead-letter topic decoded, while admitted ones pass through", async () => {
    const { received } = await worker();
    const proxy = await QueueProxy.start(await graph.node("broker"), {
      queue: "jobs",
      deadLetter: "dead/jobs",
      fraction: 0.5,
      random: (() => {
        let k = 0;
        return () => (k++ % 2 === 0 ? 0.25 : 0.75); // admit, shed, admit, shed…
      })(),
    });
    const watcher = await graph.node("watcher");
    const dead: unknown[] = [];
    const sub = watcher.subscribe<{ queue: string; reason: string; message: unknown }>("dead/jobs");
    const reading = (async () => {
      for await (const { data } of sub) dead.push(data);
    })();
    await proxy.node.waitForSubscribers("dead/jobs");
    const producer = await graph.node("producer");
    await eventually(() => producer.nodes().some((n) => n.fronts.length > 0), "the front to be known");
    for (const m of kinds) await producer.push("jobs", m, { confirm: true });
    const admitted = kinds.filter((_, i) => i % 2 === 0);
    const shed = kinds.filter((_, i) => i % 2 === 1);
    expect(received).toEqual(admitted);
    await eventually(() => dead.length === shed.length, "every shed message dead-lettered");
    expect(dead).toEqual(
      shed.map((message) => ({ queue: "jobs", reason: "fraction", message, time: expect.any(Number) })),
    );
    expect(proxy.stats()).toMatchObject({
      offered: kinds.length,
      admitted: admitted.length,
      shed: shed.length,
    });
    sub.close();
    await reading;
  });
});
