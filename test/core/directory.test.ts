import { describe, expect, it } from "vitest";
import { Directory, Graph, NameTakenError, Node, UnknownServiceError } from "../../core/index.js";
import { DirectoryService } from "../../core/wire.js";
import { cleanupAfterEach, eventually, rejection, startScript, tempDir } from "../helpers.js";

const fixture = (name: string): URL => new URL(`../fixtures/${name}`, import.meta.url);

/**
 * Time this process was stalled (not scheduled, or blocked) in gaps longer
 * than `ms`: the lateness of a 10 ms interval, summed where it exceeds `ms`.
 */
function stallMeter(ms: number): { stalledMs: () => number; stop: () => void } {
  let last = performance.now();
  let stalled = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    const late = now - last - 10;
    if (late > ms) stalled += late;
    last = now;
  }, 10);
  return { stalledMs: () => stalled, stop: () => clearInterval(timer) };
}

describe("directory", () => {
  const cleanup = cleanupAfterEach();

  it("directory – a node killed with SIGKILL disappears within 3 heartbeat intervals", async () => {
    // 500 ms: scheduling jitter on a loaded 2-core machine stays small beside the bound.
    const heartbeatMs = 500;
    const directory = await Directory.start({ heartbeatMs });
    cleanup.push(() => directory.stop());
    const script = startScript(fixture("standalone-node.ts"), [directory.endpoint, "doomed"]);
    cleanup.push(() => script.kill());
    const { id } = (await script.first) as { id: string };
    expect(directory.nodes().map((n) => n.id)).toContain(id);
    const gone = new Promise<number>((resolve) =>
      directory.onChange((_v, change) => {
        if (change.op === "down" && change.id === id) resolve(Date.now());
      }),
    );
    const stalls = stallMeter(heartbeatMs / 2);
    cleanup.push(() => stalls.stop());
    const killedAt = Date.now();
    await script.kill();
    const elapsed = (await gone) - killedAt;
    // The directory runs in this process and, by design, does not count a stall of its own longer
    // than half an interval against its nodes (their heartbeats are unread meanwhile): neither
    // does the bound. Shorter scheduling delays on a loaded machine stay inside it.
    expect(elapsed - stalls.stalledMs()).toBeLessThanOrEqual(3 * heartbeatMs);
    expect(directory.nodes().map((n) => n.id)).not.toContain(id);
  });

  it("directory – a graph past maxHeartbeatsPerSecond is told a longer interval; a killed node goes within 3 of it", async () => {
    // 4 nodes at 250 ms would be 16 heartbeats a second; 10 allowed: the interval doubles to 500 ms.
    const directory = await Directory.start({ heartbeatMs: 250, maxHeartbeatsPerSecond: 10 });
    cleanup.push(() => directory.stop());
    const graph = await Graph.open({ directory: directory.endpoint });
    cleanup.push(() => graph.close());
    const script = startScript(fixture("standalone-node.ts"), [directory.endpoint, "doomed-in-a-crowd"]);
    cleanup.push(() => script.kill());
    const { id } = (await script.first) as { id: string };
    for (const name of ["crowd-a", "crowd-b", "crowd-c"]) await graph.node(name);
    expect(directory.heartbeatMs).toBe(500);

    // Every node takes the new interval at its next beat: over 2 s, 4 nodes send at most
    // 4 × (2 000 / 500 + 1) heartbeats (32 at the old interval).
    const h0 = directory.stats().heartbeats;
    await eventually(() => directory.stats().heartbeats >= h0 + 8, "two beats per node");
    const h1 = directory.stats().heartbeats;
    await new Promise((resolve) => setTimeout(resolve, 2000));
    expect(directory.stats().heartbeats - h1).toBeLessThanOrEqual(20);

    const gone = new Promise<number>((resolve) =>
      directory.onChange((_v, change) => {
        if (change.op === "down" && change.id === id) resolve(Date.now());
      }),
    );
    const stalls = stallMeter(250);
    cleanup.push(() => stalls.stop());
    const killedAt = Date.now();
    await script.kill();
    const elapsed = (await gone) - killedAt;
    // Silent for 2.5 intervals in force (1 250 ms), less at most one interval since its last beat;
    // within 3 intervals (at the old 250 ms it would have gone within about 700 ms). As above, a
    // stall of the directory's own process longer than half an interval is not counted against it.
    expect(elapsed).toBeGreaterThanOrEqual(750);
    expect(elapsed - stalls.stalledMs()).toBeLessThanOrEqual(3 * 500);
    expect(directory.nodes().map((n) => n.name)).toEqual(
      expect.arrayContaining(["crowd-a", "crowd-b", "crowd-c"]),
    );
  });

  it("directory – after a provider is evicted a caller gets another provider or a clear error", async () => {
    const directory = await Directory.start({ heartbeatMs: 100 });
    cleanup.push(() => directory.stop());
    const caller = new Node({ name: "caller", directory: directory.endpoint });
    await caller.start();
    cleanup.push(() => caller.stop());
    const script = startScript(fixture("standalone-node.ts"), [directory.endpoint, "adder"]);
    cleanup.push(() => script.kill());
    await script.first;
    await caller.waitFor("add");
    expect(await caller.call("add", [2, 3])).toBe(5);
    await script.kill();
    await eventually(
      () => !caller.nodes().some((n) => n.name === "adder"),
      "the caller to learn of the eviction",
    );
    expect(await rejection(caller.call("add", [1, 1], { timeoutMs: 1000 }))).toBeInstanceOf(
      UnknownServiceError,
    );
  });

  it("directory – two live nodes cannot hold one name; a dead node's name is free again", async () => {
    const directory = await Directory.start({ heartbeatMs: 100 });
    cleanup.push(() => directory.stop());
    const script = startScript(fixture("standalone-node.ts"), [directory.endpoint, "solo"]);
    cleanup.push(() => script.kill());
    await script.first;
    const second = new Node({ name: "solo", directory: directory.endpoint });
    expect(await rejection(second.start())).toBeInstanceOf(NameTakenError);
    await script.kill();
    await eventually(() => !directory.nodes().some((n) => n.name === "solo"), "the dead holder's eviction");
    await second.start();
    cleanup.push(() => second.stop());
    expect(directory.nodes().find((n) => n.name === "solo")?.id).toBe(second.id);
  });

  it("directory – after a restart nodes keep talking and re-register by themselves", async () => {
    const tmp = tempDir();
    cleanup.push(() => tmp.remove());
    const endpoint = `ipc://${tmp.dir}/dir.sock`;
    let directory = await Directory.start({ bind: endpoint, heartbeatMs: 100 });
    const a = new Node({ name: "a", directory: endpoint, ipcDir: tmp.dir });
    const b = new Node({ name: "b", directory: endpoint, ipcDir: tmp.dir });
    a.provide("hello", (who: string) => `hello ${who}`);
    await a.start();
    await b.start();
    cleanup.push(() => b.stop());
    cleanup.push(() => a.stop());
    await b.waitFor("hello");
    await directory.stop();
    // The directory is down: established connections keep working.
    for (let i = 0; i < 10; i++)
      expect(await b.call("hello", `#${i}`, { timeoutMs: 1000 })).toBe(`hello #${i}`);
    directory = await Directory.start({ bind: endpoint, heartbeatMs: 100 });
    cleanup.push(() => directory.stop());
    await eventually(
      () => ["a", "b"].every((name) => directory.nodes().some((n) => n.name === name)),
      "both nodes to re-register",
    );
    expect(directory.nodes().find((n) => n.name === "a")?.services).toContain("hello");
    expect(await b.call("hello", "again")).toBe("hello again");
  });

  it("directory – a snapshot since a version holds the changes after it, or the whole directory when they are gone", async () => {
    // A change log of 2 kB: a few dozen changes overflow it.
    const directory = await Directory.start({ limits: { changeLogBytes: 2048 } });
    cleanup.push(() => directory.stop());
    const a = new Node({ name: "a", directory: directory.endpoint });
    await a.start();
    cleanup.push(() => a.stop());
    const snapshot = (request: unknown) =>
      a._callDirectory(DirectoryService.SNAPSHOT, request) as Promise<{
        version: number;
        since?: number;
        changes?: unknown[];
        nodes?: { name: string }[];
      }>;
    const before = directory.version;
    const b = new Node({ name: "b", directory: directory.endpoint });
    await b.start();
    cleanup.push(() => b.stop());
    const delta = await snapshot({ since: before });
    expect(delta).toMatchObject({ version: before + 1, since: before });
    expect(delta.changes).toHaveLength(2);
    expect(delta.changes![0]).toBe(before + 1);
    expect(delta.changes![1]).toMatchObject({ op: "up", node: { name: "b" } });
    expect((await snapshot({ since: directory.version })).changes).toEqual([]);
    // No `since`, or one the directory never had: the directory's records (a page holds them all).
    for (const request of [null, { since: directory.version + 5 }, { since: -3 }]) {
      const whole = await snapshot(request);
      expect(whole.changes).toBeUndefined();
      expect(whole.nodes!.map((n) => n.name).sort()).toEqual(["a", "b"]);
    }
    // Past the log's reach (more changes than 2 kB of records later) a snapshot since the old
    // version is the directory's records again.
    for (let i = 0; i < 20; i++) {
      a.provide(`s${i}`, () => i);
      await a.synced();
    }
    const late = await snapshot({ since: before });
    expect(late.changes).toBeUndefined();
    expect(late.version).toBeGreaterThanOrEqual(before + 21);
    expect(late.nodes!.map((n) => n.name).sort()).toEqual(["a", "b"]);
  });

  it("directory – a node that only reads the directory catches up from the changes since its version", async () => {
    const directory = await Directory.start({ heartbeatMs: 100 });
    cleanup.push(() => directory.stop());
    // Unregistered: no notifications reach it, only the snapshots it asks for.
    const reader = new Node({ name: "reader", directory: directory.endpoint, register: false });
    await reader.start();
    cleanup.push(() => reader.stop());
    const provider = new Node({ name: "provider", directory: directory.endpoint });
    provider.provide("hello", () => "hi");
    await provider.start();
    cleanup.push(() => provider.stop());
    await reader.waitFor("hello");
    expect(reader.nodes().map((n) => n.name)).toEqual(["provider"]);
    expect(await reader.call("hello")).toBe("hi");
    // Two changes later (one node leaves, one joins), the reader asks again from its version.
    await provider.stop();
    const later = new Node({ name: "later", directory: directory.endpoint });
    later.provide("bye", () => "bye");
    await later.start();
    cleanup.push(() => later.stop());
    await reader.waitFor("bye");
    expect(reader.nodes().map((n) => n.name)).toEqual(["later"]);
    expect(await reader.call("bye")).toBe("bye");
  });

  it("directory – standalone on tcp: a graph on another 'host' joins by its endpoint", async () => {
    const directory = await Directory.start({ bind: "tcp://127.0.0.1:*", heartbeatMs: 200 });
    cleanup.push(() => directory.stop());
    expect(directory.endpoint).toMatch(/^tcp:\/\/127\.0\.0\.1:\d+$/);
    const remote = await Graph.open({ directory: directory.endpoint });
    cleanup.push(() => remote.close());
    await remote.spawn(fixture("adder.ts"), { host: "process", name: "far-adder" });
    const local = await Graph.open({ directory: directory.endpoint });
    cleanup.push(() => local.close());
    const me = await local.node("near");
    expect(await me.call("add", [20, 22])).toBe(42);
    const listed = directory.nodes().find((n) => n.name === "far-adder");
    expect(listed?.endpoint).toMatch(/^tcp:\/\/127\.0\.0\.1:\d+$/);
    expect(listed?.host).toBe("process");
  });
});
