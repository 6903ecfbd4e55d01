/**
 * The steering services as a hostile caller in the graph uses them: any node
 * that reaches `<name>.control` may send `set`. It must not make a proxy
 * open a file (a tap file is an append to any path, as the proxy's user),
 * and no number it sends may be NaN, infinite, negative or absurd: each is
 * refused with an error naming the setting, and nothing changes.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Graph, type Node, RemoteError } from "../../core/index.js";
import { LastValueCache, ServiceCache } from "../../toolbox/cache/index.js";
import { AdmissionGate, FeedbackLoop, localActuator, serveAdmission } from "../../toolbox/loop/index.js";
import { QueueProxy, ServiceProxy, TopicProxy } from "../../toolbox/proxy/index.js";
import { controlService } from "../../toolbox/steering.js";
import { eventually, rejection, tempDir } from "../helpers.js";

const workerModule = new URL("../../toolbox/nodes/queue-worker.ts", import.meta.url);

describe("security – steering", () => {
  let graph: Graph;
  let temp: ReturnType<typeof tempDir>;
  let attacker: Node;
  let proxies: { service: ServiceProxy; queue: QueueProxy; topic: TopicProxy };
  let caches: { service: ServiceCache; lvc: LastValueCache };
  let loop: FeedbackLoop;
  let gate: AdmissionGate;

  beforeAll(async () => {
    temp = tempDir();
    graph = await Graph.open({ heartbeatMs: 200 });
    const provider = await graph.node("provider");
    provider.provide("add", ([a, b]: [number, number]) => a + b);
    provider.provide("lookup", (key: string) => key.length);
    const proxyNode = await graph.node("proxies");
    proxies = {
      service: await ServiceProxy.start(proxyNode, { service: "add" }),
      queue: await QueueProxy.start(proxyNode, { queue: "jobs" }),
      topic: await TopicProxy.start(proxyNode, { prefix: "sensor/" }),
    };
    const cacheNode = await graph.node("caches");
    caches = {
      service: await ServiceCache.start(cacheNode, { service: "lookup" }),
      lvc: await LastValueCache.start(cacheNode, { prefix: "temp/" }),
    };
    const gateNode = await graph.node("gate");
    gate = new AdmissionGate({ rate: 100 });
    serveAdmission(gateNode, gate);
    await graph.spawn(workerModule, { name: "worker", host: "inline", args: { queue: "work" } });
    const loopNode = await graph.node("loop-node");
    loop = new FeedbackLoop(loopNode, {
      name: "loop",
      sensor: {
        description: "constant",
        read: async () => ({ time: Date.now(), observation: { measurement: 10 }, values: {} }),
      },
      actuator: localActuator("rate", (v) => v),
      controller: { kind: "pid", options: { kp: 1, ki: 0.5 } },
      setpoint: 20,
      sampleTime: 0.1,
      publish: false,
    });
    await loop.start();
    attacker = await graph.node("attacker");
    for (const service of ["proxies", "caches", "gate", "worker", "loop"])
      await attacker.waitFor(controlService(service));
  });

  afterAll(async () => {
    await loop?.stop();
    await graph?.close();
    temp?.remove();
  });

  const set = (node: string, settings: Record<string, unknown>) =>
    attacker.call(controlService(node), { op: "set", ...settings }, { timeoutMs: 5000 });

  it("steering – a remote set cannot make a proxy open a file, for any proxy", async () => {
    for (const target of ["service:add", "queue:jobs", "topic:sensor/"]) {
      const file = join(temp.dir, `${target.replace(/[:/]/g, "-")}.jsonl`);
      const error = await rejection(set("proxies", { target, tap: { file } }));
      expect(error, target).toBeInstanceOf(RemoteError);
      expect((error as RemoteError).remoteName).toBe("ForbiddenError");
      expect((error as RemoteError).remoteCode).toBe("FORBIDDEN");
      expect(error.message).toMatch(/tap file/);
      // Also beside a topic, and with the key spelt out as null-ish values would not pass either.
      await expect(set("proxies", { target, tap: { topic: true, file } })).rejects.toThrow(/tap file/);
      expect(existsSync(file), file).toBe(false);
    }
    // Traffic through the service proxy writes nothing anywhere either.
    expect(await attacker.call("add", [2, 3])).toBe(5);
    expect(proxies.service.stats().tap).toBeNull();
    // What stays open to a remote caller: a tap on a topic.
    await set("proxies", { target: "service:add", tap: { topic: true } });
    expect(proxies.service.stats().tap).toMatchObject({ topic: "tap/proxies/add", file: null });
    await set("proxies", { target: "service:add", tap: null });
    // Local code still taps to a file.
    const local = join(temp.dir, "local.jsonl");
    proxies.service.set({ tap: { file: local } });
    expect(await attacker.call("add", [4, 5])).toBe(9);
    await eventually(
      () => existsSync(local) && readFileSync(local, "utf8").includes('"reply":9'),
      "the local file tap",
    );
    proxies.service.set({ tap: null });
  });

  it("steering – every number a remote set can change is range-checked, naming the setting", async () => {
    const cases: [string, Record<string, unknown>, string][] = [];
    const bad = (node: string, target: string | undefined, setting: string, values: unknown[]) => {
      for (const value of values) {
        const path = setting.split(".");
        const settings: Record<string, unknown> =
          path.length === 1 ? { [setting]: value } : { [path[0]!]: { [path[1]!]: value } };
        cases.push([node, target === undefined ? settings : { target, ...settings }, setting]);
      }
    };
    const absurd = [Number.NaN, Number.NEGATIVE_INFINITY, -1, 1e308];
    bad("proxies", "service:add", "retries", [...absurd, 1.5, 1e6]);
    bad("proxies", "service:add", "timeoutMs", [...absurd, 0, Number.POSITIVE_INFINITY, 2 ** 31]);
    bad("proxies", "queue:jobs", "rate", [...absurd, 1e10]);
    bad("proxies", "queue:jobs", "burst", [...absurd, 0, Number.POSITIVE_INFINITY]);
    bad("proxies", "queue:jobs", "fraction", [...absurd, 1.5]);
    bad("proxies", "queue:jobs", "window", [...absurd, 0, 2.5, 1e9]);
    bad("proxies", "queue:jobs", "tap.sample", [...absurd, 0, 1e12]);
    bad("caches", "cache:lookup", "capacity", [...absurd, 1e10]);
    bad("caches", "cache:lookup", "maxBytes", [...absurd, 2 ** 60]);
    bad("caches", "cache:lookup", "ttlMs", [...absurd, 1e13]);
    bad("caches", "lvc:temp/", "maxTopics", [...absurd, 0, 1e10]);
    bad("gate", undefined, "rate", [...absurd, 1e10]);
    bad("gate", undefined, "burst", [...absurd, 0.5]);
    bad("gate", undefined, "fraction", [...absurd, 2]);
    bad("worker", undefined, "speed", [...absurd, 0, 1e-300, 1e4]);
    bad("worker", undefined, "rate", [...absurd, 0, 1e-300, 1e7]);
    bad("worker", undefined, "serviceTimeMs", [...absurd, 0, 1e300]);
    bad("worker", undefined, "window", [...absurd, 0, 1e9]);
    bad("loop", undefined, "setpoint", [...absurd.filter((v) => v !== -1), -1e13, 1e13]);
    bad("loop", undefined, "manual", [Number.NaN, Number.POSITIVE_INFINITY, -1e300]);
    bad("loop", undefined, "sampleTime", [...absurd, 0, 1e-9, 1e6]);
    bad("loop", undefined, "params.kp", [Number.NaN, Number.POSITIVE_INFINITY, 1e300]);
    cases.push([
      "loop",
      { controller: { kind: "pid", options: { kp: 1, ki: 1e200 } } },
      "controller.options.ki",
    ]);

    const settings = async () => ({
      queue: proxies.queue.stats(),
      cache: caches.service.stats(),
      lvc: caches.lvc.stats(),
      gate: gate.stats(),
      worker: await attacker.call<Record<string, unknown>>(controlService("worker"), { op: "stats" }),
      loop: loop.state(),
    });
    const before = await settings();
    const accepted: string[] = [];
    for (const [node, request, setting] of cases) {
      try {
        await set(node, request);
        accepted.push(`${node} ${JSON.stringify(request)}`);
      } catch (error) {
        expect(error, `${node} ${setting}`).toBeInstanceOf(RemoteError);
        expect((error as RemoteError).remoteName, `${node} ${setting}`).toMatch(/^(Range|Type)Error$/);
        expect((error as Error).message, `${node} ${setting}`).toContain(`\`${setting}\``);
      }
    }
    // NaN and Infinity read as null in JSON: the list says which request got through.
    expect(accepted).toEqual([]);
    const after = await settings();
    for (const key of ["rate", "burst", "fraction", "window"] as const)
      expect(after.queue[key], `queue ${key}`).toEqual(before.queue[key]);
    for (const key of ["capacity", "maxBytes", "ttlMs"] as const)
      expect(after.cache[key], `cache ${key}`).toEqual(before.cache[key]);
    expect(after.lvc.maxTopics).toBe(before.lvc.maxTopics);
    for (const key of ["rate", "burst", "fraction"] as const)
      expect(after.gate[key]).toEqual(before.gate[key]);
    for (const key of ["speed", "rate", "serviceTimeMs", "window"])
      expect(after.worker[key], `worker ${key}`).toEqual(before.worker[key]);
    expect(after.loop.setpoint).toBe(20);
    expect(after.loop.sampleTime).toBe(0.1);
    expect(after.loop.manualOutput).toBeNull();
    expect(after.loop.controller.params).toEqual(before.loop.controller.params);

    // The ranges are wide: ordinary values still pass.
    await set("proxies", { target: "queue:jobs", rate: 5000, burst: 50, window: 2000, fraction: 0.5 });
    await set("proxies", { target: "queue:jobs", rate: null });
    await set("worker", { speed: 0.5 });
    await set("loop", { setpoint: 30, sampleTime: 0.2, params: { kp: 2 } });
    expect(loop.state()).toMatchObject({ setpoint: 30, sampleTime: 0.2 });
  });
});
