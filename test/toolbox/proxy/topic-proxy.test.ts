import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Graph } from "../../../core/index.js";
import { controlService, TopicProxy, tapTopic } from "../../../toolbox/index.js";
import { eventually, tempDir } from "../../helpers.js";

describe("topic proxy", () => {
  let graph: Graph;
  const cleanups: (() => unknown)[] = [];
  beforeEach(async () => {
    graph = await Graph.open({ heartbeatMs: 200 });
  });
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
    await graph.close();
  });

  /** A publisher sending `burst` messages every 2 ms on `topic`, numbered from 0. */
  function ticking(publish: (n: number) => void, burst = 5) {
    let seq = 0;
    const timer = setInterval(() => {
      for (let k = 0; k < burst; k++) publish(seq++);
    }, 2);
    cleanups.push(() => clearInterval(timer));
    return { sent: () => seq, stop: () => clearInterval(timer) };
  }

  it("topic proxy – dropped in and removed under load: no lost or repeated message; the tap copies each one", async () => {
    const talker = await graph.node("talker");
    const listener = await graph.node("listener");
    const sub = listener.subscribe<number>("sensor/");
    await talker.waitForSubscribers("sensor/temp");
    const received: number[] = [];
    const reading = (async () => {
      for await (const m of sub) received.push(m.data);
    })();
    const ticker = ticking((n) => talker.publish("sensor/temp", n));
    const node = await graph.node("proxy");
    const proxy = await TopicProxy.start(node, { prefix: "sensor/", tap: { topic: true } });
    // Watch the tap the way `zmp echo tap/proxy/sensor/` would.
    const inspector = await graph.node("inspector");
    const tapped: number[] = [];
    const tapSub = inspector.subscribe<{ topic: string; data: number }>(tapTopic("proxy", "sensor/"));
    const tapping = (async () => {
      for await (const m of tapSub) tapped.push(m.data.data);
    })();
    await eventually(
      () => proxy.stats().forward.messages > 200 && tapped.length > 50,
      "messages through the proxy",
    );
    await proxy.close();
    const mark = ticker.sent();
    await eventually(() => received.length > mark + 200, "messages to flow directly again");
    ticker.stop();
    const last = ticker.sent();
    await eventually(() => received.length === last, "the tail to arrive");
    sub.close();
    tapSub.close();
    await Promise.all([reading, tapping]);
    expect(received).toEqual(Array.from({ length: last }, (_, i) => i));
    expect(listener.stats().subscribed["sensor/"]?.drops).toBe(0);
    const stats = proxy.stats();
    expect(stats.forward.messages).toBeGreaterThan(200);
    expect(stats.forward.bytes).toBeGreaterThan(0);
    expect(stats.backward.messages).toBeGreaterThan(0); // the subscription forwarded upstream
    expect(stats.closed).toBe(true);
    // The tap saw a contiguous run of what the proxy passed on.
    expect(tapped.length).toBeGreaterThan(50);
    for (let i = 1; i < tapped.length; i++) expect(tapped[i]).toBe(tapped[i - 1]! + 1);
  });

  it("topic proxy – fan-in of two publishers, fan-out to three subscribers: each subscriber gets every message once", async () => {
    const proxy = await TopicProxy.start(await graph.node("proxy"), { prefix: "metrics/" });
    const publishers = [await graph.node("pub-a"), await graph.node("pub-b")];
    const subscribers = await Promise.all(["s1", "s2", "s3"].map((n) => graph.node(n)));
    const got = subscribers.map(() => [] as string[]);
    const subs = subscribers.map((node, k) => {
      const sub = node.subscribe<number>("metrics/");
      const reading = (async () => {
        for await (const m of sub) got[k]!.push(`${m.topic}=${m.data}`);
      })();
      return { sub, reading };
    });
    await publishers[0]!.waitForSubscribers("metrics/a");
    await publishers[1]!.waitForSubscribers("metrics/b");
    await eventually(
      () => proxy.stats().upstream["metrics/"] === 3,
      "three subscriptions forwarded upstream",
    );
    for (let i = 0; i < 100; i++) {
      publishers[0]!.publish("metrics/a", i);
      publishers[1]!.publish("metrics/b", i);
    }
    await eventually(() => got.every((g) => g.length === 200), "every message at every subscriber");
    for (const g of got) {
      expect(g.filter((x) => x.startsWith("metrics/a=")).map((x) => Number(x.slice(10)))).toEqual([
        ...Array(100).keys(),
      ]);
      expect(g.filter((x) => x.startsWith("metrics/b=")).map((x) => Number(x.slice(10)))).toEqual([
        ...Array(100).keys(),
      ]);
    }
    expect(proxy.stats().forward.messages).toBe(200); // once through the proxy, fanned out by ZeroMQ
    expect(proxy.stats().publishers).toEqual(["pub-a", "pub-b"]);
    for (const { sub, reading } of subs) {
      sub.close();
      await reading;
    }
  });

  it("topic proxy – pause drops and counts, resume passes on again; subscribers count the gap exactly", async () => {
    const talker = await graph.node("talker");
    const node = await graph.node("proxy");
    const proxy = await TopicProxy.start(node, { prefix: "sensor/" });
    const listener = await graph.node("listener");
    const sub = listener.subscribe<number>("sensor/");
    await talker.waitForSubscribers("sensor/temp");
    await eventually(() => Object.keys(proxy.stats().upstream).length > 0, "the subscription forwarded");
    const received: number[] = [];
    const reading = (async () => {
      for await (const m of sub) received.push(m.data);
    })();
    talker.publish("sensor/temp", 0);
    await eventually(() => received.length === 1, "the first message");
    await listener.call(controlService("proxy"), { op: "pause" });
    for (let i = 1; i <= 10; i++) talker.publish("sensor/temp", i);
    await eventually(() => proxy.stats().dropped === 10, "the paused proxy to drop 10");
    await listener.call(controlService("proxy"), { op: "resume" });
    talker.publish("sensor/temp", 11);
    await eventually(() => received.length === 2, "the message after resume");
    sub.close();
    await reading;
    expect(received).toEqual([0, 11]);
    expect(listener.stats().subscribed["sensor/"]?.drops).toBe(10);
  });

  it("topic proxy – tap to a file as JSON lines, one message in `sample`", async () => {
    const { dir, remove } = tempDir();
    cleanups.push(remove);
    const file = join(dir, "tap.jsonl");
    const talker = await graph.node("talker");
    const node = await graph.node("proxy");
    const proxy = await TopicProxy.start(node, { prefix: "sensor/", tap: { file, sample: 10 } });
    const listener = await graph.node("listener");
    const sub = listener.subscribe<number>("sensor/");
    await talker.waitForSubscribers("sensor/temp");
    let count = 0;
    const reading = (async () => {
      for await (const _ of sub) count++;
    })();
    for (let i = 0; i < 100; i++) talker.publish("sensor/temp", { i, buf: Buffer.from([i]) });
    await eventually(() => count === 100, "all 100 delivered");
    await proxy.close();
    sub.close();
    await reading;
    const lines = readFileSync(file, "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(lines.map((l) => l.data.i)).toEqual([0, 10, 20, 30, 40, 50, 60, 70, 80, 90]);
    expect(lines[1]).toMatchObject({ topic: "sensor/temp", data: { i: 10, buf: { base64: "Cg==" } } });
    expect(typeof lines[0].time).toBe("number");
    expect(proxy.stats().tap).toMatchObject({ seen: 100, written: 10, sample: 10, file });
  });

  it("topic proxy – a tap topic under the proxied prefix is refused", async () => {
    const node = await graph.node("proxy");
    await expect(TopicProxy.start(node, { prefix: "sensor/", tap: { topic: "sensor/tap" } })).rejects.toThrow(
      /outside the proxied prefix/,
    );
  });
});
