import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Graph, type NodeStats } from "../../core/index.js";
import { ChannelMeter, Histogram, RATE_TAU_S } from "../../core/meter.js";
import { eventually } from "../helpers.js";

describe("meter maths", () => {
  it("meters – the rate estimate is an EWMA with τ = 1 s: 63 % of a step after τ, exact in steady state", () => {
    const meter = new ChannelMeter();
    const dt = 0.1;
    let t = 0;
    // A step from 0 to 1000 msg/s: 100 messages per 0.1 s tick.
    for (let k = 1; k <= 10; k++) {
      meter.messagesIn += 100;
      t += dt * 1000;
      meter.tick(dt, t);
    }
    // After τ = 1 s the estimate is 1 − e^{−1} of the step (discrete ticks: exactly (1 − e^{−0.1})·Σ…).
    expect(meter.snapshot().rateIn).toBeCloseTo(1000 * (1 - Math.exp(-1 / RATE_TAU_S)), 6);
    for (let k = 0; k < 200; k++) {
      meter.messagesIn += 100;
      t += dt * 1000;
      meter.tick(dt, t);
    }
    // 21 time constants in: within 1000·e^{−21} ≈ 1e-6 of the true rate.
    expect(meter.snapshot().rateIn).toBeCloseTo(1000, 4);
    expect(meter.snapshot().rate).toBeCloseTo(1000, 4);
  });

  it("meters – the backlog peak follows the largest backlog set", () => {
    const meter = new ChannelMeter();
    for (const b of [3, 9, 4, 0]) meter.backlog = b;
    expect(meter.snapshot()).toMatchObject({ backlog: 0, backlogPeak: 9 });
  });

  it("meters – histogram percentiles are within 2.5 % of the true quantiles", () => {
    const h = new Histogram(0);
    // 1..10000 ms uniformly: p50 = 5000, p99 = 9900.
    for (let v = 1; v <= 10_000; v++) h.record(v);
    expect(Math.abs(h.quantile(0.5) / 5000 - 1)).toBeLessThan(0.025);
    expect(Math.abs(h.quantile(0.99) / 9900 - 1)).toBeLessThan(0.025);
    expect(Number.isNaN(new Histogram(0).quantile(0.5))).toBe(true);
  });

  it("meters – the percentile window slides: old samples leave after two half-windows", () => {
    const h = new Histogram(0);
    h.record(100);
    h.rotate(5_000); // half a window: the sample moves to the previous half
    expect(h.count).toBe(1);
    h.rotate(10_000); // a full window later it is gone
    expect(h.count).toBe(0);
  });
});

describe("meters on a live graph", () => {
  let graph: Graph;
  beforeEach(async () => {
    graph = await Graph.open({ heartbeatMs: 200 });
  });
  afterEach(async () => {
    await graph.close();
  });

  it("meters – counts and bytes match known traffic on services, topics and queues", async () => {
    const a = await graph.node("a");
    const b = await graph.node("b");
    a.provide("echo", (x: unknown) => x);
    a.provide("fail", () => {
      throw new Error("no");
    });
    await a.synced();
    for (let i = 0; i < 40; i++) await b.call("echo", "0123456789"); // 11 bytes as MessagePack
    await b.call("fail").catch(() => undefined);
    const sub = a.subscribe("t");
    await b.waitForSubscribers("t");
    for (let i = 0; i < 25; i++) b.publish("t", i);
    a.consume("q", () => undefined);
    await a.synced();
    for (let i = 0; i < 30; i++) await b.push("q", i);

    const stats = await eventually(() => {
      const s = a.stats();
      return s.subscribed.t?.messagesIn === 25 && s.pulled.q?.messagesOut === 30 ? s : undefined;
    }, "the traffic to arrive");
    expect(stats.services.echo).toMatchObject({
      messagesIn: 40,
      messagesOut: 40,
      bytesOut: 40 * 11,
      errors: 0,
      inflight: 0,
    });
    expect(stats.services.fail).toMatchObject({ messagesIn: 1, messagesOut: 1, errors: 1 });
    expect(stats.services.echo!.serviceTimeP50).toBeGreaterThan(0);
    const calls = b.stats().calls;
    expect(calls.echo).toMatchObject({
      messagesOut: 40,
      messagesIn: 40,
      bytesOut: 40 * 11,
      errors: 0,
      backlog: 0,
    });
    expect(calls.fail).toMatchObject({ messagesOut: 1, errors: 1 });
    expect(calls.echo!.latencyP50).toBeGreaterThan(0);
    expect(calls.echo!.latencyP99).toBeGreaterThanOrEqual(calls.echo!.latencyP50);
    expect(b.stats().published.t).toMatchObject({ messagesOut: 25, bytesOut: 25 });
    expect(stats.subscribed.t).toMatchObject({ messagesIn: 25, drops: 0, backlog: 25 });
    expect(stats.pulled.q).toMatchObject({ messagesIn: 30, messagesOut: 30, backlog: 0, errors: 0 });
    await eventually(() => b.stats().pushed.q?.messagesIn === 30, "the acknowledgements");
    const pushed = b.stats().pushed.q!;
    expect(pushed).toMatchObject({ messagesOut: 30, messagesIn: 30, backlog: 0 });
    expect(pushed.backlogPeak).toBeGreaterThanOrEqual(1);
    expect(pushed.backlogPeak).toBeLessThanOrEqual(30);
    sub.close();
  });

  it("meters – readable remotely through the zmp.stats service and as a stream on zmp/meters/<name>", async () => {
    const a = await graph.node("a");
    a.provide("echo", (x: unknown) => x);
    const b = await graph.node("b");
    await b.call("echo", 1);
    const remote = await b.call<NodeStats>("zmp.stats", null, { node: "a" });
    expect(remote.name).toBe("a");
    expect(remote.services.echo?.messagesIn).toBe(1);
    expect(remote.time).toBeGreaterThan(Date.now() - 10_000);
    const stop = a.streamMeters(50);
    const meters = b.subscribe<NodeStats>("zmp/meters/a");
    const it = meters[Symbol.asyncIterator]();
    const first = await it.next();
    expect(first.value?.data.name).toBe("a");
    expect(first.value?.data.services.echo?.messagesIn).toBe(1);
    stop();
    await it.return?.();
  });

  it("meters – the rate tracks a steady stream of calls", async () => {
    const a = await graph.node("a");
    a.provide("tick", () => 1);
    const b = await graph.node("b");
    await b.waitFor("tick");
    // 200 calls/s for 3 s (τ = 1 s: the estimate is within 5 % of the step after 3τ).
    const started = performance.now();
    const replies: number[] = [];
    for (let k = 0; k < 600; k++) {
      await b.call("tick");
      replies.push(performance.now());
      const due = started + (k + 1) * 5;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    }
    // The meter updates every 100 ms: read it once an update has counted every call.
    const before = b.stats().calls.tick!.rate;
    await eventually(() => b.stats().calls.tick!.rate !== before, "the meter's next update", {
      intervalMs: 1,
    });
    const rate = b.stats().calls.tick!.rate;
    const now = performance.now();
    // What the estimate should read: the same average of the calls really made, Σ e^(−age/τ)/τ
    // (on a loaded machine they fall behind the 200/s pace, and the meter must follow them).
    const made = replies.reduce((sum, t) => sum + Math.exp(-(now - t) / 1000 / RATE_TAU_S), 0) / RATE_TAU_S;
    expect(rate / made).toBeGreaterThan(0.9);
    expect(rate / made).toBeLessThan(1.1);
  });

  it("meters – a node started with metering off reports no meters", async () => {
    const a = await graph.node("quiet", { metering: false });
    a.provide("echo", (x: unknown) => x);
    const b = await graph.node("b");
    await b.call("echo", 1);
    expect(a.stats().services).toEqual({});
  });
});
