import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Graph, type Node } from "../../../core/index.js";
import {
  type Actuator,
  AdmissionGate,
  cacheCapacityActuator,
  FeedbackLoop,
  hitRateSensor,
  type LoopLog,
  type LoopSample,
  type LoopState,
  localActuator,
  loopSetpointActuator,
  loopTopic,
  meterSensor,
  queueSensor,
  type Reading,
  type Sensor,
  serveAdmission,
} from "../../../toolbox/loop/index.js";
import type { QueueWorkerState } from "../../../toolbox/nodes/queue-worker.js";
import { serveControl } from "../../../toolbox/steering.js";
import { eventually } from "../../helpers.js";

const loopModule = new URL("../../../toolbox/nodes/feedback-loop.ts", import.meta.url);
const workerModule = new URL("../../../toolbox/nodes/queue-worker.ts", import.meta.url);

/** Sample period of the scripted loops, seconds. */
const H = 0.05;

/** A sensor with a measurement set by the test and timestamps H apart, so every dt is exactly H. */
function scriptedSensor(
  first = 30,
): Sensor & { measurement: number; reads: number; hang: (n: number) => boolean } {
  const start = Date.now();
  const sensor = {
    description: "scripted",
    measurement: first,
    reads: 0,
    hang: (_n: number) => false,
    read(): Promise<Reading> {
      const n = sensor.reads++;
      if (sensor.hang(n)) return new Promise(() => undefined); // never answers
      return Promise.resolve({
        time: start + 1000 * H * n,
        observation: { measurement: sensor.measurement, arrivalRate: 120 },
        values: {},
      });
    },
  };
  return sensor;
}

/** An actuator that records what it was given. */
function recordingActuator(): Actuator & { values: number[] } {
  const values: number[] = [];
  const record = (v: number): number => {
    values.push(v);
    return v;
  };
  return { ...localActuator("rate", record), values };
}

/** The next `count` samples of a loop. */
async function samplesOf(loop: FeedbackLoop, count: number): Promise<LoopSample[]> {
  const seen: LoopSample[] = [];
  await new Promise<void>((resolve) => {
    const on = (s: LoopSample): void => {
      seen.push(s);
      if (seen.length >= count) {
        loop.off("sample", on);
        resolve();
      }
    };
    loop.on("sample", on);
  });
  return seen;
}

/** Offers messages at `rate` msg/s through `gate` to queue `jobs` from `producer`, until stopped. */
function offer(producer: Node, gate: AdmissionGate, rate: number): { stop: () => Promise<void> } {
  let running = true;
  const done = (async () => {
    let last = performance.now();
    let owed = 0;
    while (running) {
      await new Promise((r) => setTimeout(r, 5));
      const now = performance.now();
      owed += ((now - last) / 1000) * rate;
      last = now;
      for (; owed >= 1; owed--) if (gate.admit()) void producer.push("jobs", 1).catch(() => undefined);
    }
  })();
  return {
    stop: async () => {
      running = false;
      await done;
    },
  };
}

describe("feedback loop", () => {
  let graph: Graph;
  const cleanups: (() => Promise<unknown> | unknown)[] = [];
  beforeEach(async () => {
    graph = await Graph.open({ heartbeatMs: 200, nodeDefaults: { drainTimeoutMs: 1000 } });
  });
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
    await graph.close();
  });

  it("feedback loop – a hosted loop holds a live queue's backlog near its setpoint by admission rate", async () => {
    // Two workers of 50 msg/s (100 msg/s) under 200 msg/s offered: without control the backlog grows by 100/s.
    for (const i of [1, 2])
      await graph.spawn(workerModule, {
        name: `w${i}`,
        host: "inline",
        args: { queue: "jobs", rate: 50, seed: i },
      });
    const producer = await graph.node("producer");
    const gate = new AdmissionGate();
    serveAdmission(producer, gate);
    await producer.synced();
    const load = offer(producer, gate, 200);
    cleanups.push(() => load.stop());
    await graph.spawn(loopModule, {
      name: "backlog",
      host: "process",
      args: {
        sensor: { kind: "queue", queue: "jobs", producers: ["producer"] },
        actuator: { kind: "admission", nodes: ["producer"] },
        controller: {
          kind: "pid",
          options: { kp: 2, ki: 1, outputMin: 0, outputMax: 400, feedforwardSignal: "serviceRate" },
        },
        setpoint: 40,
        sampleTime: 0.1,
      },
    });
    const me = await graph.node("me");
    const sub = me.subscribe<LoopSample>(loopTopic("backlog"));
    const samples: LoopSample[] = [];
    for await (const { data } of sub) {
      samples.push(data);
      if (data.time > 5) break;
    }
    // After 2.5 s to settle: the mean backlog near the setpoint (without control it grows by 100 msg/s).
    const late = samples.filter((s) => s.time > 2.5 && s.mode !== "hold"); // a held sample has no measurement
    const mean = late.reduce((a, s) => a + s.measurement, 0) / late.length;
    expect(mean).toBeGreaterThan(15);
    expect(mean).toBeLessThan(80);
    const state = await me.call<LoopState>("backlog.control", { op: "stats" });
    // A busy machine may miss a sample or two (a stats call over its period): few, and held.
    expect(state.errors.controller).toBe(0);
    expect(state.errors.sensor + state.errors.actuator).toBeLessThan(state.samples / 5);
    expect(state.controller.kind).toBe("pid");
    // What the gate refused is counted as shed, never lost: offered = admitted + shed.
    const g = gate.stats();
    expect(g.shed).toBeGreaterThan(0);
    expect(g.offered).toBe(g.admitted + g.shed);
    await load.stop();
    await eventually(() => producer.stats().pushed.jobs?.backlog === 0, "the queue to drain");
  });

  it("feedback loop – setpoint and gain changes through the service are bumpless", async () => {
    const node = await graph.node("loop");
    const sensor = scriptedSensor(30);
    const actuator = recordingActuator();
    // PI with the setpoint weight b = 0: a setpoint change moves only the integral's slope.
    const loop = new FeedbackLoop(node, {
      name: "tune",
      sensor,
      actuator,
      controller: { kind: "pid", options: { kp: 1, ki: 2, b: 0 } },
      setpoint: 50,
      sampleTime: H,
    });
    cleanups.push(() => loop.stop());
    await loop.start();
    const client = await graph.node("client");
    const before = await samplesOf(loop, 5);
    await client.call("tune.control", { op: "set", params: { kp: 3, ki: 2 } });
    const afterGain = await samplesOf(loop, 5);
    await client.call("tune.control", { op: "set", setpoint: 60 });
    const afterSetpoint = await samplesOf(loop, 5);
    // Measurement 30 throughout: each step adds ki·e·dt to the output, whatever kp is: no jump at a change.
    const all = loop.log().samples;
    expect(all.every((s) => s.mode === "auto")).toBe(true);
    for (let k = 1; k < all.length; k++) {
      const e = all[k]!.setpoint - all[k]!.measurement;
      expect(all[k]!.output - all[k - 1]!.output).toBeCloseTo(2 * e * H, 9);
    }
    expect(afterGain.at(-1)!.revision).toBeGreaterThan(before[0]!.revision);
    expect(afterSetpoint.at(-1)!.setpoint).toBe(60);
    expect(loop.controller.params().kp).toBe(3);
    expect(actuator.values.at(-1)).toBe(afterSetpoint.at(-1)!.applied);
  });

  it("feedback loop – switching controllers starts the new one from the output in force", async () => {
    const node = await graph.node("loop");
    const sensor = scriptedSensor(30);
    const loop = new FeedbackLoop(node, {
      name: "switch",
      sensor,
      actuator: recordingActuator(),
      controller: { kind: "pid", options: { kp: 1, ki: 2 } },
      setpoint: 50,
      sampleTime: H,
    });
    cleanups.push(() => loop.stop());
    await loop.start();
    const client = await graph.node("client");
    await samplesOf(loop, 3);
    const set = (controller: object) => client.call<LoopState>("switch.control", { op: "set", controller });
    await set({ kind: "velocity-pid", options: { kp: 0.5, ki: 1 } });
    await samplesOf(loop, 3);
    await set({
      kind: "cascade",
      options: {
        outer: { kind: "pid", options: { kp: 1 } },
        inner: { kind: "pid", options: { kp: 0, ki: 1 } },
      },
    });
    await samplesOf(loop, 3);
    const state = await set({ kind: "pid", options: { kp: 1, ki: 2 } });
    await samplesOf(loop, 3);
    const log = loop.log().samples;
    const firstOf = (kind: string, after = 0): number =>
      log.findIndex((s, i) => i > after && s.controller === kind);
    const velocity = firstOf("velocity-pid");
    const cascade = firstOf("cascade");
    const pid = firstOf("pid", cascade);
    // Measurement 30, setpoint 50: e = 20; the first update after a switch integrates over one period.
    // A velocity PID starts from the output in force and adds its first increment, kp·e + ki·e·dt.
    expect(log[velocity]!.output - log[velocity - 1]!.output).toBeCloseTo(0.5 * 20 + 1 * 20 * H, 9);
    // Bumpless transfer: a cascade's and a PID's first output is the output in force.
    expect(log[cascade]!.output).toBeCloseTo(log[cascade - 1]!.output, 9);
    expect(log[cascade]!.components.innerSetpoint).toBeCloseTo(120, 9); // the outer loop starts at the inner measurement
    expect(log[pid]!.output).toBeCloseTo(log[pid - 1]!.output, 9);
    expect(log[pid + 1]!.output - log[pid]!.output).toBeCloseTo(2 * 20 * H, 9);
    expect(state.kinds).toContain("cascade");
    expect(state.controller.spec).toEqual({ kind: "pid", options: { kp: 1, ki: 2 } });
  });

  it("feedback loop – samples go out on the topic and into the log; pause, manual and resume", async () => {
    const node = await graph.node("loop");
    const actuator = recordingActuator();
    const loop = new FeedbackLoop(node, {
      name: "modes",
      sensor: scriptedSensor(30),
      actuator,
      controller: { kind: "pid", options: { kp: 1, ki: 2 } },
      setpoint: 50,
      sampleTime: H,
    });
    cleanups.push(() => loop.stop());
    const client = await graph.node("client");
    const sub = client.subscribe<LoopSample>(loopTopic("modes"));
    await loop.start();
    await node.waitForSubscribers(loopTopic("modes"));
    const published: LoopSample[] = [];
    for await (const { data } of sub) {
      published.push(data);
      if (published.length === 3) break;
    }
    expect(published.map((s) => s.seq)).toEqual([
      published[0]!.seq,
      published[0]!.seq + 1,
      published[0]!.seq + 2,
    ]);
    expect(Object.keys(published[0]!.components).sort()).toEqual(["d", "ff", "i", "p"]);

    let state = await client.call<LoopState>("modes.control", { op: "pause" });
    expect(state.mode).toBe("paused");
    const applied = actuator.values.length;
    const paused = await samplesOf(loop, 3);
    expect(paused.every((s) => s.mode === "paused" && s.output === state.output)).toBe(true);
    expect(actuator.values.length).toBe(applied); // nothing applied while paused
    expect(state.output).toBe(state.last!.output);

    state = await client.call<LoopState>("modes.control", { op: "set", paused: false, manual: 7 });
    const manual = await samplesOf(loop, 2);
    expect(manual.every((s) => s.mode === "manual" && s.output === 7 && s.applied === 7)).toBe(true);
    state = await client.call<LoopState>("modes.control", { op: "set", manual: null });
    await samplesOf(loop, 2);
    const modes = loop.log().samples;
    const auto = modes.findIndex((s, i) => i > 0 && s.mode === "auto" && modes[i - 1]!.mode === "manual");
    expect(modes[auto]!.output).toBe(7); // bumpless back to automatic

    const log = await client.call<LoopLog>("modes.control", { op: "log", since: 0, limit: 5 });
    expect(log.samples.map((s) => s.seq)).toEqual([1, 2, 3, 4, 5]);
    const rest = await client.call<LoopLog>("modes.control", { op: "log", since: log.next });
    expect(rest.samples[0]!.seq).toBe(6);
    await expect(client.call("modes.control", { op: "set", sampleTime: -1 })).rejects.toThrow(/sampleTime/);
    await expect(client.call("modes.control", { op: "fly" })).rejects.toThrow(/op/);
  });

  it("feedback loop – a sensor that times out is counted and the loop holds its output", async () => {
    const node = await graph.node("loop");
    const sensor = scriptedSensor(30);
    sensor.hang = (n) => n % 3 === 2; // every third read never answers
    const actuator = recordingActuator();
    const loop = new FeedbackLoop(node, {
      name: "flaky",
      sensor,
      actuator,
      controller: { kind: "pid", options: { kp: 1, ki: 2 } },
      setpoint: 50,
      sampleTime: H,
      sensorTimeoutMs: 30,
    });
    cleanups.push(() => loop.stop());
    await loop.start();
    const samples = await samplesOf(loop, 9);
    const holds = samples.filter((s) => s.mode === "hold");
    expect(holds.length).toBeGreaterThanOrEqual(2);
    for (const hold of holds) {
      expect(hold.error).toMatch(/^sensor: TimeoutError/);
      expect(Number.isNaN(hold.measurement)).toBe(true);
      const previous = samples[samples.indexOf(hold) - 1];
      if (previous !== undefined) expect(hold.output).toBe(previous.output);
    }
    const state = loop.state();
    expect(state.errors.sensor).toBeGreaterThanOrEqual(holds.length);
    expect(state.status).toBe("running");
    expect(samples.at(-1)!.seq).toBeGreaterThan(samples[0]!.seq);

    // A remote sensor whose node does not exist: an error per sample, no crash.
    const missing = new FeedbackLoop(node, {
      name: "nowhere",
      sensor: meterSensor(node, { source: "ghost", group: "pushed", channel: "jobs", timeoutMs: 50 }),
      actuator: recordingActuator(),
      controller: { kind: "pid" },
      sampleTime: H,
    });
    cleanups.push(() => missing.stop());
    await missing.start();
    const failed = await samplesOf(missing, 3);
    expect(failed.every((s) => s.mode === "hold" && s.error?.startsWith("sensor:"))).toBe(true);
  });

  it("feedback loop – keeps to its schedule: samples plus skipped due times follow the clock", async () => {
    const node = await graph.node("loop");
    const loop = new FeedbackLoop(node, {
      sensor: scriptedSensor(30),
      actuator: recordingActuator(),
      controller: { kind: "pid" },
      sampleTime: 0.02,
    });
    cleanups.push(() => loop.stop());
    const started = performance.now();
    await loop.start();
    await samplesOf(loop, 40);
    const elapsed = (performance.now() - started) / 1000;
    const state = loop.state();
    // Sample k is due at start + k·sampleTime: no drift accumulates from timer lateness.
    expect(state.samples + state.overruns).toBeGreaterThanOrEqual(Math.floor(elapsed / 0.02) - 2);
    expect(state.samples + state.overruns).toBeLessThanOrEqual(Math.ceil(elapsed / 0.02) + 2);
    expect(state.name).toBe("loop"); // the node's name by default
  });

  it("feedback loop – feedforward from the measured arrival rate, and a cascade of two loops", async () => {
    const node = await graph.node("loops");
    // Inner loop: output follows its setpoint through feedforward of the arrival rate (kff = 0.5).
    const inner = new FeedbackLoop(node, {
      name: "inner",
      sensor: scriptedSensor(10),
      actuator: recordingActuator(),
      controller: { kind: "pid", options: { kp: 0, ki: 1, feedforwardSignal: "arrivalRate", kff: 0.5 } },
      setpoint: 10,
      sampleTime: H,
    });
    cleanups.push(() => inner.stop());
    await inner.start();
    const first = await samplesOf(inner, 2);
    expect(first[1]!.components.ff).toBe(60); // 0.5 × 120 msg/s
    // Outer loop: sets the inner loop's setpoint over its service (Janert's nested loops).
    const outer = new FeedbackLoop(node, {
      name: "outer",
      sensor: scriptedSensor(40),
      actuator: loopSetpointActuator(node, "inner"),
      controller: { kind: "pid", options: { kp: 0.5 } },
      setpoint: 50,
      sampleTime: H,
      actuatorTimeoutMs: 5000, // a service call: give a busy machine time
    });
    cleanups.push(() => outer.stop());
    await outer.start();
    const outerSamples = await samplesOf(outer, 2);
    expect(outerSamples[1]!.applied).toBe(5); // 0.5 × (50 − 40)
    await eventually(() => inner.setpoint === 5, "the inner setpoint to follow the outer output");
  });
});

describe("actuators and sensors on a live graph", () => {
  let graph: Graph;
  beforeEach(async () => {
    graph = await Graph.open({ heartbeatMs: 200, nodeDefaults: { drainTimeoutMs: 1000 } });
  });
  afterEach(async () => {
    await graph.close();
  });

  it("queue worker – service time and speed from its args, changed at runtime over its service", async () => {
    await graph.spawn(workerModule, {
      name: "w1",
      host: "inline",
      args: { queue: "jobs", serviceTimeMs: 5, service: { kind: "deterministic" } },
    });
    const producer = await graph.node("producer");
    const control = (request: object) =>
      producer.call<QueueWorkerState>("w1.control", { op: "set", ...request }, { timeoutMs: 5000 });
    const stats = () => producer.call<QueueWorkerState>("w1.control", { op: "stats" }, { timeoutMs: 5000 });
    await Promise.all(Array.from({ length: 20 }, (_, i) => producer.push("jobs", i, { confirm: true })));
    let state = await stats();
    expect(state).toMatchObject({ queue: "jobs", rate: 200, serviceTimeMs: 5, speed: 1, handled: 20 });
    expect(state.busyMs).toBeCloseTo(100, 9); // 20 × 5 ms, as drawn
    state = await control({ speed: 0.5 }); // capacity halves: each message takes 10 ms
    expect(state.speed).toBe(0.5);
    await Promise.all(Array.from({ length: 20 }, (_, i) => producer.push("jobs", i, { confirm: true })));
    state = await stats();
    expect(state.busyMs).toBeCloseTo(300, 9);
    state = await control({ rate: 50, window: 3 });
    expect(state).toMatchObject({ rate: 50, serviceTimeMs: 20, window: 3 });
    await expect(control({ speed: 0 })).rejects.toThrow(/`speed`/);
    await expect(control({ turbo: true })).rejects.toThrow(/turbo/);
  });

  it("admission – the gate's bucket and fraction, on an injected clock", () => {
    let now = 0;
    const gate = new AdmissionGate({ rate: 10, now: () => now });
    expect(gate.burst).toBe(1); // max(1, 10 × 0.05)
    expect([gate.admit(), gate.admit()]).toEqual([true, false]);
    now = 100; // one token per 100 ms
    expect([gate.admit(), gate.admit()]).toEqual([true, false]);
    gate.set({ rate: null, fraction: 0.5 });
    for (let i = 0; i < 1000; i++) gate.admit();
    const s = gate.stats();
    expect(s.rate).toBeNull();
    expect(s.shedByRate).toBe(2);
    expect(s.shedByFraction).toBeGreaterThan(400);
    expect(s.shedByFraction).toBeLessThan(600);
    expect(s.offered).toBe(s.admitted + s.shed);
    expect(() => new AdmissionGate({ rate: -1 })).toThrow(/`rate`/);
    expect(() => gate.set({ fraction: 2 })).toThrow(/`fraction`/);
  });

  it("admission – the gate sheds beyond its rate and counts every refusal", async () => {
    let received = 0;
    const worker = await graph.node("worker");
    worker.consume("jobs", () => {
      received++;
    });
    await worker.synced();
    const producer = await graph.node("producer");
    const gate = new AdmissionGate({ rate: 100 });
    serveAdmission(producer, gate);
    await producer.synced();
    const loopNode = await graph.node("loop");
    const { remoteAdmissionActuator } = await import("../../../toolbox/loop/index.js");
    const actuator = remoteAdmissionActuator(loopNode, { nodes: ["producer"] });
    expect(await actuator.apply(20)).toBe(20);
    expect(gate.rate).toBe(20);
    const load = offer(producer, gate, 400);
    await new Promise((r) => setTimeout(r, 500));
    await load.stop();
    const s = gate.stats();
    expect(s.offered).toBe(s.admitted + s.shed);
    expect(s.shedByRate).toBe(s.shed);
    // About 20 msg/s × 0.5 s plus the burst: far below the ~200 offered.
    expect(s.admitted).toBeLessThan(30);
    expect(s.shed).toBeGreaterThan(100);
    await eventually(() => received === s.admitted, "every admitted message to arrive");
    expect(await actuator.apply(Number.POSITIVE_INFINITY)).toBe(Number.POSITIVE_INFINITY);
    expect(gate.stats().rate).toBeNull();
  });

  it("credit window – setting a puller's window changes the producer's credit", async () => {
    await graph.spawn(workerModule, {
      name: "w1",
      host: "inline",
      args: { queue: "jobs", rate: 1000, window: 50 },
    });
    const producer = await graph.node("producer");
    await producer.push("jobs", 0, { confirm: true });
    expect(producer.credit("jobs")[0]!.window).toBe(50);
    const loopNode = await graph.node("loop");
    const { remoteCreditWindowActuator, creditWindowActuator } = await import(
      "../../../toolbox/loop/index.js"
    );
    const actuator = remoteCreditWindowActuator(loopNode, { pullers: ["w1"] });
    expect(await actuator.apply(7.4)).toBe(7);
    await producer.push("jobs", 1, { confirm: true }); // the next acknowledgement carries the new window
    await eventually(() => producer.credit("jobs")[0]!.window === 7, "the producer to see window 7");
    // A local puller: the actuator sets its reader's window directly.
    const puller = await graph.node("puller");
    const consumer = puller.consume("local", () => undefined, { window: 10 });
    const local = creditWindowActuator(consumer);
    expect(local.apply(0)).toBe(1);
    expect(consumer.window).toBe(1);
  });

  it("worker pool – spawns and stops worker processes to follow the output", async () => {
    const { WorkerPoolActuator } = await import("../../../toolbox/loop/index.js");
    const stopped: string[] = [];
    const pool = new WorkerPoolActuator(graph, {
      module: workerModule,
      args: (n: number) => ({ queue: "jobs", rate: 100, seed: n }),
      min: 0,
      max: 3,
      beforeStop: (name) => stopped.push(name),
    });
    try {
      expect(pool.apply(2.4)).toBe(2);
      await pool.settled();
      expect(pool.ready).toEqual(["worker-1", "worker-2"]);
      const hosted = graph.hosted().filter((h) => h.name.startsWith("worker-"));
      expect(hosted.map((h) => h.host)).toEqual(["process", "process"]);
      const pids = hosted.map((h) => h.pid);
      expect(new Set(pids).size).toBe(2);
      expect(pids).not.toContain(process.pid);
      expect(pool.apply(9)).toBe(3); // clamped to max
      expect(pool.apply(1)).toBe(1);
      await pool.settled();
      await eventually(
        () => graph.hosted().filter((h) => h.name.startsWith("worker-")).length === 1,
        "one worker left",
      );
      expect(pool.ready).toEqual(["worker-1"]);
      expect(stopped).toContain("worker-2");
    } finally {
      await pool.close();
    }
    expect(graph.hosted().filter((h) => h.name.startsWith("worker-"))).toEqual([]);
    expect(() => pool.apply(1)).toThrow(/closed/);
  });

  it("cache – capacity actuator and hit-rate sensor speak the caches' steering protocol", async () => {
    // A stand-in for a service cache node: `<node>.control` with stats and set capacity.
    const cache = await graph.node("cache");
    let capacity = 100;
    let hits = 0;
    let lookups = 0;
    serveControl(cache, "cache", "cache:users.get", {
      stats: () => ({ hits, lookups, hitRate: Number.NaN, capacity, time: Date.now() }),
      set: (r) => {
        capacity = r.capacity as number;
        return { hits, lookups, hitRate: Number.NaN, capacity };
      },
    });
    await cache.synced();
    const loopNode = await graph.node("loop");
    const actuator = cacheCapacityActuator(loopNode, { cache: "cache", service: "users.get", min: 10 });
    expect(await actuator.apply(3.2)).toBe(10);
    expect(await actuator.apply(250.6)).toBe(251);
    expect(capacity).toBe(251);
    const sensor = hitRateSensor(loopNode, { cache: "cache", service: "users.get" });
    hits = 10;
    lookups = 20;
    await expect(sensor.read()).rejects.toThrow(/no lookup/); // first read: no period yet, no windowed rate
    hits = 40;
    lookups = 60;
    const reading = await sensor.read();
    expect(reading.observation.measurement).toBeCloseTo(30 / 40, 12);
    expect(reading.values.capacity).toBe(251);
  });

  it("queue sensor – backlog, rates and delay from the producers' meters", async () => {
    const worker = await graph.node("worker");
    const reader = worker.pull("jobs", { window: 5 }); // nobody reads: the backlog stays
    await worker.synced();
    const producer = await graph.node("producer");
    for (let i = 0; i < 12; i++) await producer.push("jobs", i);
    const loopNode = await graph.node("loop");
    const sensor = queueSensor(loopNode, { queue: "jobs", producers: ["producer"] });
    const reading = await sensor.read();
    expect(reading.observation.measurement).toBe(12);
    expect(reading.time).toBeLessThanOrEqual(Date.now());
    expect(reading.time).toBeGreaterThan(Date.now() - 5000);
    const it = reader[Symbol.asyncIterator]();
    for (let i = 0; i < 4; i++) await it.next(); // handles three
    await eventually(
      async () => (await sensor.read()).observation.measurement === 9,
      "the backlog to fall to 9",
    );
    const local = queueSensor(producer, { queue: "jobs", minRateMs: 60_000 }); // the node itself: no call
    const first = await local.read();
    expect(first.observation.measurement).toBe(9);
    // Within minRateMs of the reading the rates were counted from, a reading repeats them.
    expect((await local.read()).observation.serviceRate).toBe(first.observation.serviceRate);
    for (let i = 4; i < 12; i++) await it.next(); // read the rest: nothing left behind at close
    await it.return?.();
    await eventually(() => producer.stats().pushed.jobs?.backlog === 0, "the queue to drain");
  });
});
