import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  ClosedError,
  CodecError,
  Graph,
  type Node,
  RemoteError,
  TimeoutError,
  type Transport,
  UnknownServiceError,
} from "../../core/index.js";
import { rejection } from "../helpers.js";

const transports: Transport[] = ["inproc", "ipc", "tcp"];

describe.each(transports)("service over %s", (transport) => {
  let graph: Graph;
  let provider: Node;
  let caller: Node;

  beforeEach(async () => {
    graph = await Graph.open({ transport, heartbeatMs: 200 });
    provider = await graph.node("provider", { drainTimeoutMs: 300 });
    provider.provide("add", ([a, b]: [number, number]) => a + b);
    provider.provide("echo", (x: unknown) => x);
    provider.provide("later", async (x: number) => {
      await new Promise((r) => setTimeout(r, 5));
      return x * 2;
    });
    provider.provide("throws", () => {
      throw new TypeError("bad input");
    });
    provider.provide("unencodable", () => ({ f: () => 1 }));
    provider.provide("never", () => new Promise(() => undefined));
    await provider.synced();
    caller = await graph.node("caller");
  });

  afterEach(async () => {
    await graph.close();
  });

  it("service – call returns the handler's value", async () => {
    expect(await caller.call("add", [1, 2], { timeoutMs: 2000 })).toBe(3);
    const data = { s: "ü", n: [1, 2.5], b: Buffer.from([1, 2]), d: new Date(5), nil: null };
    expect(await caller.call("echo", data)).toEqual(data);
  });

  it("service – many calls outstanding at once from one node keep their own replies", async () => {
    const n = 2000;
    const replies = await Promise.all(Array.from({ length: n }, (_, i) => caller.call<number>("later", i)));
    expect(replies).toEqual(Array.from({ length: n }, (_, i) => i * 2));
    expect(caller.inflight.calls).toBe(0);
  });

  it("service – a throwing handler gives RemoteError with the remote name, message and (not on tcp) stack; the provider keeps serving", async () => {
    const error = await rejection(caller.call("throws", null));
    expect(error).toBeInstanceOf(RemoteError);
    const remote = error as RemoteError;
    expect(remote.remoteName).toBe("TypeError");
    expect(remote.message).toContain("bad input");
    expect(remote.node).toBe("provider");
    // On tcp the stack stays with the provider (`remoteStacks`, test/security/errors.test.ts).
    if (transport === "tcp") expect(remote.remoteStack).toBeUndefined();
    else expect(remote.remoteStack).toContain("service.test.ts");
    expect(await caller.call("add", [2, 2])).toBe(4);
  });

  it("service – a reply that cannot be encoded gives RemoteError (CodecError) and the provider keeps serving", async () => {
    const error = (await rejection(caller.call("unencodable", null))) as RemoteError;
    expect(error).toBeInstanceOf(RemoteError);
    expect(error.remoteName).toBe("CodecError");
    expect(error.message).toMatch(/function/);
    expect(await caller.call("add", [5, 5])).toBe(10);
  });

  it("service – a request that cannot be encoded rejects with CodecError before leaving", async () => {
    const error = await rejection(caller.call("echo", { f: () => 1 }));
    expect(error).toBeInstanceOf(CodecError);
    expect(await caller.call("echo", 1)).toBe(1);
  });

  it("service – an unknown service gives UnknownServiceError", async () => {
    const error = await rejection(caller.call("nope", null, { timeoutMs: 2000 }));
    expect(error).toBeInstanceOf(UnknownServiceError);
    expect((error as UnknownServiceError).service).toBe("nope");
  });

  it("service – call times out with TimeoutError whose stack points at the caller", async () => {
    const started = Date.now();
    const error = await rejection(caller.call("never", null, { timeoutMs: 100 }));
    expect(error).toBeInstanceOf(TimeoutError);
    expect(Date.now() - started).toBeGreaterThanOrEqual(95);
    expect(error.stack).toContain("service.test.ts");
  });

  it("service – call with trace: false skips the caller's stack; a non-boolean trace is refused", async () => {
    const error = await rejection(caller.call("never", null, { timeoutMs: 50, trace: false }));
    expect(error).toBeInstanceOf(TimeoutError);
    expect(error.stack).not.toContain("service.test.ts");
    const bad = await rejection(caller.call("never", null, { trace: "yes" as unknown as boolean }));
    expect(bad).toBeInstanceOf(TypeError);
    expect(bad.message).toMatch(/`trace`/);
  });

  it("service – traceCalls: a failed call's stack names the awaiting functions (async), or the whole call site (true)", async () => {
    // Default "async": taken where the call is awaited, at no cost for calls that succeed.
    async function askTheNeverService(node: Node): Promise<unknown> {
      return await node.call("never", null, { timeoutMs: 50 });
    }
    const awaited = await rejection(askTheNeverService(caller));
    expect(awaited).toBeInstanceOf(TimeoutError);
    expect(awaited.stack).toMatch(/at (async )?askTheNeverService \(.*service\.test\.ts:\d+/);
    // A .then() chain has no awaiting functions: the error keeps its own stack.
    const chained = await new Promise<Error>((resolve) => {
      caller.call("never", null, { timeoutMs: 50 }).then(undefined, resolve);
    });
    expect(chained).toBeInstanceOf(TimeoutError);
    expect(chained.stack).toMatch(/\n\s+at /);
    expect(chained.stack).not.toContain("service.test.ts");
    // true: the synchronous call site is recorded at the call, .then() or not.
    const eager = await new Promise<Error>((resolve) => {
      caller.call("never", null, { timeoutMs: 50, trace: true }).then(undefined, resolve);
    });
    expect(eager.stack).toContain("service.test.ts");
    const node = graph.node("bad-trace", { traceCalls: "yes" as unknown as boolean });
    expect(await rejection(node)).toBeInstanceOf(TypeError);
  });

  it("service – a call can target one named node", async () => {
    const other = await graph.node("other");
    other.provide("whoami", () => "other");
    provider.provide("whoami", () => "provider");
    await Promise.all([other.synced(), provider.synced()]);
    await caller.waitFor("whoami", { providers: 2 });
    for (let i = 0; i < 5; i++) expect(await caller.call("whoami", null, { node: "other" })).toBe("other");
    const error = await rejection(caller.call("whoami", null, { node: "ghost" }));
    expect(error).toBeInstanceOf(UnknownServiceError);
  });

  it("service – providers are load-balanced by outstanding calls", async () => {
    const second = await graph.node("second");
    const served: string[] = [];
    const gates: (() => void)[] = [];
    for (const node of [provider, second]) {
      node.provide("slow", () => {
        served.push(node.name);
        return new Promise<string>((resolve) => gates.push(() => resolve(node.name)));
      });
      await node.synced();
    }
    await caller.waitFor("slow", { providers: 2 });
    const calls = Array.from({ length: 20 }, () => caller.call<string>("slow"));
    await expect.poll(() => served.length, { timeout: 5000 }).toBe(20);
    expect(served.filter((n) => n === "provider")).toHaveLength(10);
    expect(served.filter((n) => n === "second")).toHaveLength(10);
    for (const open of gates) open();
    expect((await Promise.all(calls)).length).toBe(20);
  });

  it("service – waitFor resolves when N providers exist and times out otherwise", async () => {
    const waiting = caller.waitFor("multi", { providers: 2, timeoutMs: 5000 });
    const a = await graph.node("a");
    a.provide("multi", () => "a");
    const b = await graph.node("b");
    b.provide("multi", () => "b");
    await waiting;
    const error = await rejection(caller.waitFor("multi", { providers: 3, timeoutMs: 100 }));
    expect(error).toBeInstanceOf(TimeoutError);
  });

  it("service – calling from a stopped node rejects with ClosedError", async () => {
    await caller.stop();
    expect(await rejection(caller.call("add", [1, 1]))).toBeInstanceOf(ClosedError);
  });
});
