import { afterEach, describe, expect, it } from "vitest";
import { Directory, Graph, NameTakenError, Node, UnknownServiceError } from "../../core/index.js";
import { eventually, rejection, startScript, tempDir } from "../helpers.js";

const fixture = (name: string): URL => new URL(`../fixtures/${name}`, import.meta.url);

describe("directory", () => {
  const cleanup: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const step of cleanup.reverse()) await step();
    cleanup.length = 0;
  });

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
    const killedAt = Date.now();
    await script.kill();
    const elapsed = (await gone) - killedAt;
    expect(elapsed).toBeLessThanOrEqual(3 * heartbeatMs);
    expect(directory.nodes().map((n) => n.id)).not.toContain(id);
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
