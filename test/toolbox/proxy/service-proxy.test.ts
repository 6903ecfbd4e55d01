import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Graph, RemoteError } from "../../../core/index.js";
import { controlService, ServiceProxy } from "../../../toolbox/index.js";
import { load } from "../../fixtures/toolbox-loops.js";
import { eventually, rejection } from "../../helpers.js";

const worker = new URL("../../fixtures/toolbox-worker.ts", import.meta.url);

describe("service proxy", () => {
  let graph: Graph;
  beforeEach(async () => {
    graph = await Graph.open({ heartbeatMs: 200 });
  });
  afterEach(async () => {
    await graph.close();
  });

  it("service proxy – dropped into a running graph and removed again: no failed call, every call handled once", async () => {
    const provider = await graph.node("provider");
    const handled = new Map<number, number>();
    provider.provide("add", ([a, b]: [number, number]) => {
      handled.set(a, (handled.get(a) ?? 0) + 1);
      return a + b;
    });
    await provider.synced();
    const caller = await graph.node("caller");
    await caller.waitFor("add");
    const calls = load(async (i) => expect(await caller.call("add", [i, 1])).toBe(i + 1), 4);
    const node = await graph.node("proxy");
    const proxy = await ServiceProxy.start(node, { service: "add" });
    await eventually(() => proxy.stats().replied > 100, "calls to flow through the proxy");
    await proxy.close();
    const through = proxy.stats().replied;
    const mark = calls.finished();
    await eventually(
      () => calls.finished() > mark + 100 || calls.errors.length > 0,
      "calls to go direct again",
    );
    await calls.stop();
    expect(calls.errors).toEqual([]);
    expect(proxy.stats().replied).toBe(through); // nothing went through it after close
    expect(handled.size).toBe(calls.started());
    expect([...handled.values()].every((n) => n === 1)).toBe(true);
    expect(proxy.stats()).toMatchObject({ failed: 0, retried: 0, inflight: 0, closed: true });
  });

  it("service proxy – a SIGKILLed worker behind the proxy costs no idempotent call", async () => {
    const [doomed] = await Promise.all([
      graph.spawn(worker, { name: "doomed", host: "process", args: { service: "work", ms: 10 } }),
      graph.spawn(worker, { name: "survivor", host: "process", args: { service: "work", ms: 10 } }),
    ]);
    const node = await graph.node("proxy");
    const proxy = await ServiceProxy.start(node, { service: "work", idempotent: true });
    const caller = await graph.node("caller");
    await caller.waitFor("work");
    const by = new Map<string, number>();
    const calls = load(async (i) => {
      const reply = await caller.call<{ by: string; request: number }>("work", i, { timeoutMs: 10_000 });
      expect(reply.request).toBe(i);
      by.set(reply.by, (by.get(reply.by) ?? 0) + 1);
    }, 8);
    await eventually(() => (by.get("doomed") ?? 0) > 20, "the doomed worker to take calls");
    // Least outstanding keeps the two workers within one call of each other: with 6 in flight, 3 are at each.
    await eventually(() => (node.stats().calls.work?.inflight ?? 0) >= 6, "calls in flight at both workers", {
      intervalMs: 0,
    });
    doomed.kill();
    const mark = calls.finished();
    await eventually(() => calls.finished() > mark + 200 || calls.errors.length > 0, "calls to continue");
    await calls.stop();
    expect(calls.errors).toEqual([]);
    const stats = proxy.stats();
    expect(stats.failed).toBe(0);
    expect(stats.retried).toBeGreaterThan(0); // calls were in flight at the killed worker and went elsewhere
    expect(stats.replied).toBe(calls.started());
    expect(stats.providers).toEqual(["survivor"]);
  });

  it("service proxy – without idempotent, a call whose worker dies fails (at-most-once)", async () => {
    const slow = await graph.spawn(worker, {
      name: "slow",
      host: "process",
      args: { service: "work", ms: 5000 },
    });
    const node = await graph.node("proxy");
    await ServiceProxy.start(node, { service: "work" });
    const caller = await graph.node("caller");
    await caller.waitFor("work");
    const call = caller.call("work", 1);
    await eventually(() => node.stats().calls.work?.inflight === 1, "the proxy to forward the call");
    slow.kill();
    const error = await rejection(call);
    expect(error).toBeInstanceOf(RemoteError);
    expect((error as RemoteError).remoteCode).toBe("PEER_LOST");
  });

  it("service proxy – a provider that stops heartbeating is evicted from the proxy's view; its calls retried", async () => {
    const [frozen] = await Promise.all([
      graph.spawn(worker, { name: "frozen", host: "process", args: { service: "work", ms: 2 } }),
      graph.spawn(worker, { name: "awake", host: "process", args: { service: "work", ms: 2 } }),
    ]);
    const proxy = await ServiceProxy.start(await graph.node("proxy"), {
      service: "work",
      idempotent: true,
      timeoutMs: 20_000,
    });
    const caller = await graph.node("caller");
    await caller.waitFor("work");
    await eventually(() => proxy.providers().length === 2, "both providers in the proxy's view");
    const calls = load((i) => caller.call("work", i, { timeoutMs: 20_000 }), 4);
    try {
      await eventually(() => calls.finished() > 50, "calls to flow");
      process.kill(frozen.pid, "SIGSTOP"); // alive but silent: no disconnect, only missed heartbeats
      await eventually(
        () => proxy.providers().length === 1,
        "the silent provider evicted from the proxy's view",
        {
          timeoutMs: 5000,
        },
      );
      expect(proxy.providers()).toEqual(["awake"]);
      const mark = calls.finished();
      await eventually(() => calls.finished() > mark + 50, "calls to continue on the live provider");
    } finally {
      await calls.stop();
      frozen.kill();
    }
    expect(calls.errors).toEqual([]);
    expect(proxy.stats().failed).toBe(0);
    expect(proxy.stats().retried).toBeGreaterThan(0);
  });

  it("service proxy – a provider's own error reaches the caller with its name and message", async () => {
    const provider = await graph.node("provider");
    provider.provide("fail", () => {
      throw new TypeError("bad input");
    });
    await ServiceProxy.start(await graph.node("proxy"), { service: "fail" });
    const caller = await graph.node("caller");
    await caller.waitFor("fail");
    await eventually(async () => {
      const e = await rejection(caller.call("fail"));
      return (e as RemoteError).node === "proxy" && e;
    }, "the call to go through the proxy");
    const error = (await rejection(caller.call("fail"))) as RemoteError;
    expect(error).toBeInstanceOf(RemoteError);
    expect(error.remoteName).toBe("TypeError");
    expect(error.message).toContain("bad input");
    expect(error.message).toContain("provider");
  });

  it("service proxy – steering over <node>.control: pause holds calls, resume releases them, stats and set", async () => {
    const provider = await graph.node("provider");
    provider.provide("echo", (x: unknown) => x);
    const node = await graph.node("proxy");
    const proxy = await ServiceProxy.start(node, { service: "echo" });
    const caller = await graph.node("caller");
    await caller.waitFor(controlService("proxy"));
    expect(await caller.call(controlService("proxy"), { op: "list" })).toEqual([
      { id: "service:echo", kind: "service", name: "echo" },
    ]);
    await eventually(
      async () => (await caller.call("echo", 0)) === 0 && proxy.stats().replied > 0,
      "via proxy",
    );
    expect(await caller.call(controlService("proxy"), { op: "pause" })).toEqual({
      ok: true,
      targets: ["service:echo"],
    });
    let answered = false;
    const held = caller.call("echo", 42).then((r) => {
      answered = true;
      return r;
    });
    await eventually(() => proxy.stats().held === 1, "the call to be held");
    expect(answered).toBe(false);
    await caller.call(controlService("proxy"), { op: "resume", target: "echo" });
    expect(await held).toBe(42);
    const stats = (await caller.call(controlService("proxy"), { op: "stats", target: "service:echo" })) as {
      forward: { messages: number; bytes: number };
      backward: { messages: number; bytes: number };
    };
    expect(stats.forward.messages).toBeGreaterThan(0);
    expect(stats.forward.bytes).toBeGreaterThan(0);
    expect(stats.backward.messages).toBeGreaterThan(0);
    await caller.call(controlService("proxy"), { op: "set", idempotent: true, retries: 5 });
    expect(proxy.idempotent).toBe(true);
    const bad = (await rejection(
      caller.call(controlService("proxy"), { op: "set", retrys: 5 }),
    )) as RemoteError;
    expect(bad.message).toContain("Unknown option `retrys`");
    const unknownOp = await rejection(caller.call(controlService("proxy"), { op: "explode" }));
    expect(unknownOp.message).toContain("Expected `op` to be one of");
    await caller.call(controlService("proxy"), { op: "stop" });
    await eventually(() => proxy.closed && !node.services.includes("echo"), "the proxy to stop");
    expect(await caller.call("echo", 7)).toBe(7); // direct again
  });

  it("service proxy – options are checked at the boundary", async () => {
    const node = await graph.node("proxy");
    await expect(ServiceProxy.start(node, { service: "bad name!" })).rejects.toThrow(/Expected `service`/);
    await expect(ServiceProxy.start(node, { service: "x", retries: -1 })).rejects.toThrow(/`retries`/);
    await expect(
      ServiceProxy.start(node, { service: "x", idempotant: true } as unknown as { service: string }),
    ).rejects.toThrow(/Unknown option `idempotant`/);
  });
});
