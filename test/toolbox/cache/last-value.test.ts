import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Graph, type Node, type TopicMessage } from "../../../core/index.js";
import { LastValueCache } from "../../../toolbox/index.js";
import { eventually } from "../../helpers.js";

describe("last-value cache", () => {
  let graph: Graph;
  beforeEach(async () => {
    graph = await Graph.open({ heartbeatMs: 200 });
  });
  afterEach(async () => {
    await graph.close();
  });

  /** Subscribes `node` to `prefix` and collects `topic=value` strings. */
  function listen(node: Node, prefix: string) {
    const sub = node.subscribe<number>(prefix);
    const got: string[] = [];
    const reading = (async () => {
      for await (const m of sub as AsyncIterable<TopicMessage<number>>) got.push(`${m.topic}=${m.data}`);
    })();
    return {
      got,
      close: async () => {
        sub.close();
        await reading;
      },
    };
  }

  it("last-value cache – a late subscriber gets the last value of each topic once; nobody else gets a repeat", async () => {
    const node = await graph.node("lvc");
    const lvc = await LastValueCache.start(node, { prefix: "sensor/" });
    const talker = await graph.node("talker");
    const early = listen(await graph.node("early"), "sensor/");
    await talker.waitForSubscribers("sensor/a"); // the cache subscribes upstream to its whole prefix
    await eventually(() => lvc.stats().subscriptions >= 1, "the early subscription to reach the cache");
    for (let i = 0; i < 10; i++) talker.publish("sensor/a", i);
    for (let i = 0; i < 5; i++) talker.publish("sensor/b", 100 + i);
    await eventually(() => early.got.length === 15, "the early subscriber to get the stream");
    expect(lvc.get("sensor/a")).toBe(9);
    expect(lvc.topics().sort()).toEqual(["sensor/a", "sensor/b"]);

    const late = listen(await graph.node("late"), "sensor/");
    await eventually(() => late.got.length === 2, "the late subscriber's last values");
    expect([...late.got].sort()).toEqual(["sensor/a=9", "sensor/b=104"]);
    // A marker after the replay: whatever was sent before it has arrived when it does.
    talker.publish("sensor/a", 10);
    await eventually(() => late.got.length === 3 && early.got.length === 16, "the next value at both");
    expect(late.got[2]).toBe("sensor/a=10");
    expect(early.got).toEqual([
      ...Array.from({ length: 10 }, (_, i) => `sensor/a=${i}`),
      ...Array.from({ length: 5 }, (_, i) => `sensor/b=${100 + i}`),
      "sensor/a=10",
    ]);
    expect(lvc.stats()).toMatchObject({ topics: 2, replayed: 2 });
    await Promise.all([early.close(), late.close()]);
  });

  it("last-value cache – a subscriber joining after the publisher left still gets the last value", async () => {
    const lvc = await LastValueCache.start(await graph.node("lvc"), { prefix: "config/" });
    const publisher = await graph.node("publisher");
    await publisher.waitForSubscribers("config/limits");
    publisher.publish("config/limits", { max: 7 });
    await eventually(() => lvc.get("config/limits") !== undefined, "the cache to hold the value");
    await publisher.stop();
    const late = await graph.node("late");
    const sub = late.subscribe<{ max: number }>("config/");
    const first = await (async () => {
      for await (const m of sub) return m;
    })();
    expect(first).toEqual({ topic: "config/limits", data: { max: 7 } });
  });

  it("last-value cache – a subscription to one topic gets only that topic's last value; maxTopics bounds memory", async () => {
    const lvc = await LastValueCache.start(await graph.node("lvc"), { prefix: "s/", maxTopics: 2 });
    const talker = await graph.node("talker");
    await talker.waitForSubscribers("s/a");
    talker.publish("s/a", 1);
    talker.publish("s/b", 2);
    talker.publish("s/c", 3);
    await eventually(() => lvc.get("s/c") === 3, "the values");
    expect(lvc.topics()).toEqual(["s/b", "s/c"]); // s/a, published least recently, forgotten
    const one = listen(await graph.node("one"), "s/c");
    await eventually(() => one.got.length === 1, "the last value of s/c");
    expect(one.got).toEqual(["s/c=3"]);
    expect(lvc.invalidate({ prefix: "s/" })).toBe(2);
    await one.close();
  });
});
