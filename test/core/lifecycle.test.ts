import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Graph, HostExitError, NameTakenError, Node, PeerLostError, RemoteError } from "../../core/index.js";
import { alive, eventually, rejection, startScript } from "../helpers.js";

const fixture = (name: string): URL => new URL(`../fixtures/${name}`, import.meta.url);

describe("node lifecycle", () => {
  let graph: Graph;
  beforeEach(async () => {
    graph = await Graph.open({ heartbeatMs: 200 });
  });
  afterEach(async () => {
    await graph.close();
  });

  it("node – start twice gives one start, stop twice is a no-op", async () => {
    const node = new Node({ name: "twice", directory: graph.directory });
    const a = node.start();
    const b = node.start();
    expect(b).toBe(a);
    await a;
    const id = node.id;
    await node.start();
    expect(node.id).toBe(id);
    await node.stop();
    await node.stop();
    expect(node.state).toBe("stopped");
    expect((await graph.nodes()).map((n) => n.name)).not.toContain("twice");
  });

  it("node – a stopped node starts again with a new id and serves again", async () => {
    const node = new Node({ name: "again", directory: graph.directory });
    node.provide("ping2", () => "pong");
    await node.start();
    const first = node.id;
    await node.stop();
    await node.start();
    expect(node.id).not.toBe(first);
    const caller = await graph.node("caller");
    expect(await caller.call("ping2")).toBe("pong");
    await node.stop();
  });

  it("node – stop drains calls in progress before closing", async () => {
    const provider = await graph.node("drainer");
    let release!: () => void;
    provider.provide("held", () => new Promise<string>((resolve) => (release = () => resolve("done"))));
    await provider.synced();
    const caller = await graph.node("caller");
    const call = caller.call("held");
    await eventually(() => provider.inflight.handling === 1, "the call to arrive");
    const stopping = provider.stop();
    let stopped = false;
    void stopping.then(() => (stopped = true));
    await new Promise((r) => setTimeout(r, 50));
    expect(stopped).toBe(false);
    release();
    expect(await call).toBe("done");
    await stopping;
    expect(provider.state).toBe("stopped");
  });

  it("node – a stopping node refuses new calls and callers retry them on another provider", async () => {
    const a = await graph.node("a", { drainTimeoutMs: 2000 });
    const b = await graph.node("b");
    let releaseA!: () => void;
    a.provide("work", (x: number) => (x === 0 ? new Promise((r) => (releaseA = () => r("a0"))) : `a${x}`));
    b.provide("work", (x: number) => `b${x}`);
    await Promise.all([a.synced(), b.synced()]);
    const caller = await graph.node("caller");
    await caller.waitFor("work", { providers: 2 });
    const held = caller.call<string>("work", 0, { node: "a" });
    await eventually(() => a.inflight.handling === 1, "the held call");
    const stopping = a.stop();
    // Calls made while `a` drains: the replica may still list `a`; none may fail.
    const during = await Promise.all(
      Array.from({ length: 50 }, (_, i) => caller.call<string>("work", i + 1)),
    );
    expect(during.every((r) => r.startsWith("a") || r.startsWith("b"))).toBe(true);
    releaseA();
    expect(await held).toBe("a0");
    await stopping;
  });

  it("node – a second live node with a taken name is refused with NameTakenError", async () => {
    await graph.node("unique");
    const error = await rejection(graph.node("unique"));
    expect(error).toBeInstanceOf(NameTakenError);
    expect(error.message).toContain("unique");
  });
});

describe.each(["inline", "thread", "process"] as const)("hosting in a %s host", (host) => {
  let graph: Graph;
  beforeEach(async () => {
    graph = await Graph.open({ heartbeatMs: 200 });
  });
  afterEach(async () => {
    await graph.close();
  });

  it("host – spawn resolves when the node is ready and its services are registered", async () => {
    const adder = await graph.spawn(fixture("adder.ts"), { host, name: "adder" });
    expect(adder.host).toBe(host);
    const me = await graph.node("main");
    // No waitFor: spawn resolved, so the directory already lists `add`.
    expect(await me.call("add", [1, 2], { timeoutMs: 2000 })).toBe(3);
    const who = await me.call<{ name: string; pid: number }>("whoami");
    expect(who.name).toBe("adder");
    if (host === "process") expect(who.pid).not.toBe(process.pid);
    else expect(who.pid).toBe(process.pid);
    const listed = (await graph.nodes()).find((n) => n.name === "adder");
    expect(listed?.host).toBe(host);
  });

  it("host – init that throws rejects spawn with that error", async () => {
    const error = await rejection(graph.spawn(fixture("init-throws.ts"), { host, name: "bad" }));
    if (host === "inline") {
      expect(error).toBeInstanceOf(TypeError);
      expect(error.message).toBe("init failed on purpose");
    } else {
      expect(error).toBeInstanceOf(RemoteError);
      expect((error as RemoteError).remoteName).toBe("TypeError");
      expect(error.message).toContain("init failed on purpose");
      expect((error as RemoteError).remoteStack).toContain("init-throws.ts");
    }
    expect((await graph.nodes()).map((n) => n.name)).not.toContain("bad");
    // The name is free again.
    await graph.spawn(fixture("adder.ts"), { host, name: "bad" });
  });

  it.skipIf(host === "inline")(
    "host – a host that exits during start rejects with HostExitError",
    async () => {
      const error = await rejection(graph.spawn(fixture("exits-during-start.ts"), { host, name: "quitter" }));
      expect(error).toBeInstanceOf(HostExitError);
      expect((error as HostExitError).exitCode).toBe(3);
      if (host === "process") expect(error.message).toContain("about to exit with code 3");
    },
  );

  it.skipIf(host === "inline")(
    "host – a crash is reported and the node's registrations disappear",
    async () => {
      const victim = await graph.spawn(fixture("adder.ts"), { host, name: "victim" });
      const me = await graph.node("main");
      expect(await me.call("add", [1, 1])).toBe(2);
      const exits: unknown[] = [];
      victim.on("exit", (info) => exits.push(info));
      victim.kill();
      const info = await victim.exited;
      expect(info.expected).toBe(false);
      if (host === "process") expect(info.signal).toBe("SIGKILL");
      expect(exits).toEqual([info]);
      expect((await graph.nodes()).map((n) => n.name)).not.toContain("victim");
      await eventually(
        () => !me.nodes().some((n) => n.name === "victim"),
        "the caller's replica to drop the victim",
      );
    },
  );
});

describe("faults", () => {
  let graph: Graph;
  beforeEach(async () => {
    graph = await Graph.open({ heartbeatMs: 200 });
  });
  afterEach(async () => {
    await graph.close();
  });

  it("host – SIGKILL of a provider mid-call fails the call with PeerLostError quickly, never hangs", async () => {
    const slow = await graph.spawn(fixture("slow.ts"), { host: "process", name: "slow" });
    const me = await graph.node("main");
    const call = me.call("slow", { ms: 60_000, value: 1 }, { timeoutMs: 30_000 });
    await eventually(async () => (await me.call("pid")) === slow.pid, "the provider to answer");
    const started = Date.now();
    slow.kill();
    const error = await rejection(call);
    expect(error).toBeInstanceOf(PeerLostError);
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it("host – after a provider dies, calls go to the remaining provider", async () => {
    const one = await graph.spawn(fixture("slow.ts"), { host: "process", name: "one" });
    await graph.spawn(fixture("slow.ts"), { host: "process", name: "two" });
    const me = await graph.node("main");
    await me.waitFor("slow", { providers: 2 });
    one.kill();
    await one.exited;
    for (let i = 0; i < 20; i++) expect(await me.call("slow", { ms: 0, value: i })).toBe(i);
  });

  it("graph – close stops every node it started", async () => {
    const p = await graph.spawn(fixture("adder.ts"), { host: "process", name: "p" });
    const t = await graph.spawn(fixture("adder.ts"), { host: "thread", name: "t" });
    await graph.close();
    expect((await p.exited).expected).toBe(true);
    expect((await t.exited).expected).toBe(true);
    expect(alive(p.pid)).toBe(false);
  });

  it("host – child processes never outlive their graph, even when its process is SIGKILLed", async () => {
    const parent = startScript(fixture("graph-parent.ts"));
    try {
      const { childPid } = (await parent.first) as { childPid: number };
      expect(alive(childPid)).toBe(true);
      await parent.kill();
      await eventually(() => !alive(childPid), "the orphaned child to exit", { timeoutMs: 10_000 });
    } finally {
      await parent.kill();
    }
  });
});
