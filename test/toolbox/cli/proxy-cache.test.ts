/**
 * `zmp proxy` and `zmp cache` run as a user runs them: child processes
 * (`node --import tsx cli.ts …`) joining a graph this test starts.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { Graph, type Node } from "../../../core/index.js";
import { toolboxCommands, UsageError } from "../../../toolbox/cli/index.js";
import { controlService } from "../../../toolbox/index.js";
import { load } from "../../fixtures/toolbox-loops.js";
import { eventually, removeFoldersOf } from "../../helpers.js";

const root = fileURLToPath(new URL("../../..", import.meta.url));

interface Run {
  child: ChildProcess;
  out: () => string;
  err: () => string;
  exited: Promise<number | null>;
}

const runs: Run[] = [];

function zmp(args: string[]): Run {
  const child = spawn(process.execPath, ["--import", "tsx", "cli.ts", ...args], {
    cwd: root,
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, ZMP_DIRECTORY: "", ZMP_NO_ADVERTISE: "1" },
  });
  let out = "";
  let err = "";
  child.stdout!.on("data", (c: Buffer) => {
    out += c.toString();
  });
  child.stderr!.on("data", (c: Buffer) => {
    err += c.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const run = { child, out: () => out, err: () => err, exited };
  runs.push(run);
  return run;
}

afterEach(async () => {
  for (const run of runs.splice(0)) {
    if (run.child.exitCode === null && run.child.signalCode === null) run.child.kill("SIGKILL");
    await run.exited;
    if (run.child.pid !== undefined) removeFoldersOf(run.child.pid);
  }
});

describe("zmp proxy and zmp cache: bad input", () => {
  it("cli – bad subcommands, names, flags and JSON are usage errors naming what is wrong", async () => {
    const cases: [string, string[], RegExp][] = [
      ["proxy", [], /expected one of service, queue, topic, stats/],
      ["proxy", ["bogus", "x"], /unknown subcommand "bogus"/],
      ["proxy", ["queue"], /expected one NAME/],
      ["proxy", ["queue", "bad name!"], /Expected `queue` to be 1–128 characters/],
      ["proxy", ["queue", "jobs", "--rate=-3"], /--rate expects a non-negative number/],
      ["proxy", ["queue", "jobs", "--fraction", "2"], /--fraction expects a number from 0 to 1/],
      ["proxy", ["queue", "jobs", "--speed", "1"], /Unknown option '--speed'/],
      ["proxy", ["topic", "sensor/", "--sample", "10"], /--sample needs --tap/],
      ["cache", ["service", "users.get", "--capacity", "lots"], /--capacity expects a number/],
      ["cache", ["service", "users.get", "--tap"], /a service cache has no tap/],
      ["proxy", ["set", "n", "[1]"], /must be a JSON object/],
      ["proxy", ["set", "n", "{rate: 1}"], /the settings is not valid JSON/],
      ["cache", ["invalidate", "n", "--all", "--prefix", "x"], /exactly one of --key, --prefix/],
      ["proxy", ["queue", "jobs", "--directory", "carrier-pigeon://x"], /--directory/],
    ];
    for (const [family, args, pattern] of cases) {
      const error = await toolboxCommands[family]!.run(args).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error, args.join(" ")).toBeInstanceOf(UsageError);
      expect((error as UsageError).exitCode, args.join(" ")).toBe(2);
      expect((error as UsageError).message).toMatch(pattern);
    }
  });

  it("cli – as a process: exit 2 for usage, 1 when the graph does not answer, one line and no stack", async () => {
    const usage = zmp(["proxy", "queue", "bad name!"]);
    const silent = zmp([
      "proxy",
      "queue",
      "jobs",
      "--directory",
      "ipc:///nonexistent/zmp.sock",
      "--start-timeout-ms",
      "300",
    ]);
    expect(await usage.exited).toBe(2);
    expect(usage.err()).toMatch(/^zmp proxy: Expected `queue` to be 1–128 characters/);
    expect(await silent.exited).toBe(1);
    expect(silent.err()).toMatch(/did not answer within 300 ms: is the graph running\?/);
    for (const run of [usage, silent]) expect(run.err()).not.toMatch(/\n\s+at /);
  }, 60_000);
});

describe("zmp proxy and zmp cache in a running graph", () => {
  let graph: Graph;
  let worker: Node;
  let producer: Node;
  let watcher: Node;
  const handled = new Map<number, number>();
  beforeAll(async () => {
    // The default heartbeat (1 s: a node is evicted after 2.5 s of silence). At 200 ms, a node of
    // this busy process whose heartbeat is late by ~100 ms on a loaded machine was taken for dead,
    // and its unacknowledged messages were rightly sent again (at-least-once): handled twice.
    graph = await Graph.open({ advertise: false });
    worker = await graph.node("worker");
    worker.consume<number>("jobs", (m) => {
      handled.set(m, (handled.get(m) ?? 0) + 1);
    });
    worker.provide("lookup", (id: string) => ({ id, at: Date.now() }));
    await worker.synced();
    producer = await graph.node("producer");
    watcher = await graph.node("watcher");
  });
  afterAll(async () => {
    await graph.close();
  });

  it("cli – zmp proxy queue joins a running graph, is steered and tapped, and Ctrl-C takes it out: every message handled once", async () => {
    const pushes = load((i) => producer.push("jobs", i, { confirm: true }), 8);
    const proxy = zmp(["proxy", "queue", "jobs", "--directory", graph.directory, "--tap", "--sample", "10"]);
    await eventually(() => proxy.out().includes("running on node proxy.jobs"), "the proxy to start", {
      timeoutMs: 20_000,
    });
    expect(proxy.out()).toContain("zmp echo tap/proxy.jobs/jobs");
    const stats = () =>
      watcher
        .call<{ handled: number; rate: number | null }>(controlService("proxy.jobs"), { op: "stats" })
        .then(
          (s) => (s as unknown as Record<string, { handled: number; rate: number | null }>)["queue:jobs"]!,
        );
    await eventually(async () => (await stats()).handled > 200, "messages through the proxy", {
      timeoutMs: 10_000,
    });

    // Watch the tap, steer and read the meters from other terminals.
    const echo = zmp(["echo", "tap/proxy.jobs/jobs", "--count", "3", "--directory", graph.directory]);
    const set = zmp([
      "proxy",
      "set",
      "proxy.jobs",
      '{"rate": 1000000, "burst": 1000}',
      "--json",
      "--directory",
      graph.directory,
    ]);
    expect(await set.exited).toBe(0);
    expect(JSON.parse(set.out())).toMatchObject({ rate: 1_000_000, burst: 1000 });
    const table = zmp(["proxy", "stats", "proxy.jobs", "--directory", graph.directory]);
    expect(await table.exited).toBe(0);
    expect(table.out()).toMatch(/queue:jobs\s+running/);
    expect(table.out()).toMatch(/shed=0/);
    expect(await echo.exited).toBe(0);
    expect(echo.out().trim().split("\n")).toHaveLength(3);
    expect(echo.out()).toMatch(
      /^tap\/proxy\.jobs\/jobs: \{"time":\d+,"queue":"jobs","message":\d+,"admitted":true\}/,
    );

    proxy.child.kill("SIGINT");
    expect(await proxy.exited).toBe(0);
    expect(proxy.out()).toContain("left the graph");
    const mark = pushes.finished();
    await eventually(() => pushes.finished() > mark + 200 || pushes.errors.length > 0, "pushes to go direct");
    await pushes.stop();
    expect(pushes.errors).toEqual([]);
    expect(handled.size).toBe(pushes.started());
    expect([...handled.values()].every((n) => n === 1)).toBe(true);
  }, 90_000);

  it("cli – zmp cache service answers repeats from memory; stats, invalidate and stop from other terminals", async () => {
    const cache = zmp(["cache", "service", "lookup", "--directory", graph.directory, "--name", "memo"]);
    await eventually(() => cache.out().includes("running on node memo"), "the cache to start", {
      timeoutMs: 20_000,
    });
    await eventually(
      () => producer.nodes().some((n) => n.name === "memo" && n.fronts.length > 0),
      "the front",
    );
    const first = await producer.call<{ at: number }>("lookup", "a");
    await eventually(
      async () => (await producer.call<{ at: number }>("lookup", "a")).at === first.at,
      "a hit",
    );
    const stats = (await watcher.call(controlService("memo"), { op: "stats" })) as Record<
      string,
      { entries: number }
    >;
    expect(stats["cache:lookup"]).toMatchObject({ entries: 1, hits: 1 });
    // The same as a table: the cache's own figures, "-" where a proxy's forward counts would be.
    const table = zmp(["cache", "stats", "memo", "--directory", graph.directory]);
    expect(await table.exited).toBe(0);
    const row = table.out().split("\n")[1]!;
    expect(row).toMatch(/^cache:lookup +running +- +- +- +hits=1 misses=1 .*entries=1 /);
    expect(table.out()).not.toContain("undefined");
    const setBad = zmp(["cache", "set", "memo", '{"capacty": 1}', "--directory", graph.directory]);
    expect(await setBad.exited).toBe(2); // the cache refused the setting: a usage error, one line
    expect(setBad.err()).toMatch(
      /^zmp cache: Unknown option `capacty` in service cache settings; expected one of .*\n$/,
    );
    const invalidate = zmp([
      "cache",
      "invalidate",
      "memo",
      "--request",
      '"a"',
      "--directory",
      graph.directory,
    ]);
    expect(await invalidate.exited).toBe(0);
    expect(invalidate.out()).toBe("removed 1 entry\n");
    await watcher.call(controlService("memo"), { op: "stop" });
    expect(await cache.exited).toBe(0); // a `stop` over the steering service ends the command
    expect(cache.out()).toContain("left the graph");
    const missing = await toolboxCommands.cache!.run(["stats", "memo", "--directory", graph.directory]).then(
      () => undefined,
      (e: unknown) => e as UsageError,
    );
    expect(missing?.exitCode).toBe(1);
    expect(missing?.message).toMatch(/no proxy or cache runs on a node named "memo"/);
    expect(await producer.call("lookup", "b")).toMatchObject({ id: "b" });
  }, 90_000);
});
