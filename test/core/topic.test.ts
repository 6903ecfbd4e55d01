import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { BusyError, Graph, type Transport } from "../../core/index.js";
import { TopicSubscriber } from "../../core/topic.js";
import { eventually } from "../helpers.js";

const transports: Transport[] = ["inproc", "ipc", "tcp"];

async function take<T>(iterable: AsyncIterable<T>, n: number): Promise<T[]> {
  const out: T[] = [];
  if (n === 0) return out;
  for await (const item of iterable) {
    out.push(item);
    if (out.length === n) break;
  }
  return out;
}

describe.each(transports)("topic over %s", (transport) => {
  let graph: Graph;
  beforeEach(async () => {
    graph = await Graph.open({ transport, heartbeatMs: 200 });
  });
  afterEach(async () => {
    await graph.close();
  });

  it("topic – a subscriber that starts before the publisher gets its messages once both are up", async () => {
    const listener = await graph.node("listener");
    const sub = listener.subscribe<number>("sensor/");
    const talker = await graph.node("talker");
    await talker.waitForSubscribers("sensor/temp");
    for (let i = 0; i < 100; i++) talker.publish("sensor/temp", i);
    const got = await take(sub, 100);
    expect(got.map((m) => m.data)).toEqual(Array.from({ length: 100 }, (_, i) => i));
    expect(got.every((m) => m.topic === "sensor/temp")).toBe(true);
  });

  it("topic – a subscriber that starts after the publisher gets its messages once both are up", async () => {
    const talker = await graph.node("talker");
    talker.advertise("sensor/temp");
    await talker.synced();
    const listener = await graph.node("listener");
    const sub = listener.subscribe<number>("sensor/");
    await talker.waitForSubscribers("sensor/temp");
    for (let i = 0; i < 10; i++) talker.publish("sensor/temp", i);
    expect((await take(sub, 10)).map((m) => m.data)).toEqual([...Array(10).keys()]);
  });

  it("topic – prefixes filter: sensor/ gets sensor/a and sensor/b, not other/x", async () => {
    const talker = await graph.node("talker");
    const listener = await graph.node("listener");
    const sub = listener.subscribe<string>("sensor/");
    await talker.waitForSubscribers("sensor/a");
    talker.publish("other/x", "no");
    talker.publish("sensor/a", "a1");
    talker.publish("other/x", "no");
    talker.publish("sensor/b", "b1");
    talker.publish("sensor/a", "a2");
    const got = await take(sub, 3);
    expect(got.map((m) => `${m.topic}=${m.data}`).sort()).toEqual([
      "sensor/a=a1",
      "sensor/a=a2",
      "sensor/b=b1",
    ]);
  });

  it("topic – many publishers and subscribers of one topic across nodes", async () => {
    const pubs = [await graph.node("p1"), await graph.node("p2")];
    const subs = [await graph.node("s1"), await graph.node("s2")].map((n) => n.subscribe<string>("news"));
    for (const p of pubs) await p.waitForSubscribers("news", { subscribers: 2 });
    for (const p of pubs) for (let i = 0; i < 50; i++) p.publish("news", `${p.name}:${i}`);
    for (const s of subs) {
      const got = (await take(s, 100)).map((m) => m.data);
      for (const p of pubs) {
        const mine = got.filter((d) => d.startsWith(`${p.name}:`));
        expect(mine).toEqual(Array.from({ length: 50 }, (_, i) => `${p.name}:${i}`));
      }
    }
  });

  it("topic – close, break and the node's stop end a for await loop cleanly", async () => {
    const talker = await graph.node("talker");
    const listener = await graph.node("listener");
    const a = listener.subscribe("t");
    const b = listener.subscribe("t");
    const aDone = (async () => {
      for await (const _ of a) {
        // nothing arrives
      }
      return "a ended";
    })();
    a.close();
    expect(await aDone).toBe("a ended");
    await talker.waitForSubscribers("t");
    talker.publish("t", 1);
    expect((await take(b, 1))[0]!.data).toBe(1); // take() breaks: the subscription closes
    expect(b.closed).toBe(true);
    const c = listener.subscribe("t");
    const cDone = (async () => {
      for await (const _ of c) {
        // until the node stops
      }
      return "c ended";
    })();
    await listener.stop();
    expect(await cDone).toBe("c ended");
  });

  it("topic – a second concurrent consumer of one subscription gets BusyError", async () => {
    const listener = await graph.node("listener");
    const sub = listener.subscribe("t");
    const first = sub[Symbol.asyncIterator]();
    expect(() => sub[Symbol.asyncIterator]()).toThrow(BusyError);
    await first.return?.();
  });

  it("topic – a slow subscriber drops beyond its high-water mark and counts every drop", async () => {
    const talker = await graph.node("talker");
    const listener = await graph.node("listener");
    const sub = listener.subscribe<number>("flood", { highWaterMark: 10 });
    await talker.waitForSubscribers("flood");
    for (let i = 0; i < 100; i++) talker.publish("flood", i);
    const stats = await eventually(() => {
      const s = listener.stats().subscribed.flood;
      return s && s.messagesIn === 100 ? s : undefined;
    }, "all 100 messages to arrive");
    expect(stats.drops).toBe(90);
    expect(stats.backlog).toBe(10);
    expect((await take(sub, 10)).map((m) => m.data)).toEqual([...Array(10).keys()]);
    expect(talker.stats().published.flood?.messagesOut).toBe(100);
  });
});

describe("topic sequence numbers", () => {
  it("topic – gaps in a publisher's sequence are counted as drops, per publisher and topic", () => {
    const subscriber = new TopicSubscriber();
    const lost: number[] = [];
    const delivered: unknown[] = [];
    const fake = {
      prefix: "t",
      meter: undefined,
      _lost: (n: number) => lost.push(n),
      _deliver: (_t: string, d: unknown) => delivered.push(d),
    };
    subscriber.subscriptions.add(fake as never);
    subscriber.onBatch("t/a", ["pub1", 0, "m0", "m1"], 10); // first batch sets the baseline
    subscriber.onBatch("t/a", ["pub1", 2, "m2"], 10); // no gap
    subscriber.onBatch("t/a", ["pub1", 6, "m6", "m7"], 10); // 3, 4, 5 lost
    subscriber.onBatch("t/b", ["pub1", 40, "x"], 10); // another topic: its own baseline
    subscriber.onBatch("t/a", ["pub2", 9, "y"], 10); // another publisher: its own baseline
    subscriber.onBatch("t/b", ["pub1", 42, "z"], 10); // 41 lost
    expect(lost).toEqual([3, 1]);
    expect(delivered).toEqual(["m0", "m1", "m2", "m6", "m7", "x", "y", "z"]);
  });
});
