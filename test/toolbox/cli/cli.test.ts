/**
 * The `zmp` CLI run as a user runs it: a child process (`node --import tsx
 * cli.ts ...`) against a graph started by another process (the
 * `cli-graph.ts` fixture), always with `--directory`, so the tests never read
 * the per-user discovery file.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { removeFoldersOf, tempDir } from "../../helpers.js";

const root = fileURLToPath(new URL("../../../", import.meta.url));
const running = new Set<ChildProcess>();

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** CLI processes at once: each compiles and loads the CLI (about a second of CPU on 2 cores). */
const PARALLEL = 3;
let active = 0;
const waiting: (() => void)[] = [];

/**
 * Runs `zmp ...args` to completion, at most {@link PARALLEL} at a time
 * (SIGKILLed after `timeoutMs`, which fails the test).
 */
async function zmp(
  args: string[],
  options: { timeoutMs?: number; env?: NodeJS.ProcessEnv } = {},
): Promise<Run> {
  if (active >= PARALLEL) await new Promise<void>((resolve) => waiting.push(resolve));
  active++;
  try {
    return await runOnce(args, options);
  } finally {
    active--;
    waiting.shift()?.();
  }
}

function runOnce(args: string[], options: { timeoutMs?: number; env?: NodeJS.ProcessEnv }): Promise<Run> {
  const t0 = performance.now();
  const timeoutMs = options.timeoutMs ?? 30_000;
  const child = spawn(process.execPath, ["--import", "tsx", "cli.ts", ...args], {
    cwd: root,
    env: options.env ?? process.env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  running.add(child);
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`zmp ${args.join(" ")} ran over ${timeoutMs} ms\n${stdout}\n${stderr}`));
    }, timeoutMs);
    child.once("exit", (code) => {
      clearTimeout(timer);
      running.delete(child);
      if (child.pid !== undefined) removeFoldersOf(child.pid);
      // Let the pipes deliver what the process wrote last.
      setImmediate(() => resolve({ code, stdout, stderr, ms: performance.now() - t0 }));
    });
  });
}

/** The graph "started from another terminal": its process, pid and directory endpoint. */
let graph: { child: ChildProcess; pid: number; directory: string };

async function startGraph(): Promise<typeof graph> {
  const child = spawn(process.execPath, ["--import", "tsx", "test/fixtures/cli-graph.ts", "20"], {
    cwd: root,
    stdio: ["ignore", "pipe", "inherit"],
  });
  running.add(child);
  const first = await new Promise<{ directory: string; pid: number }>((resolve, reject) => {
    let buffer = "";
    child.stdout!.on("data", (chunk: Buffer) => {
      buffer += chunk.toString();
      const end = buffer.indexOf("\n");
      if (end >= 0) resolve(JSON.parse(buffer.slice(0, end)));
    });
    child.once("exit", (code, signal) => reject(new Error(`the graph fixture exited (${code ?? signal})`)));
  });
  return { child, ...first };
}

/** Stops a process: SIGTERM (the fixture closes its graph), SIGKILL if it is still there after 5 s. */
async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
  await exited;
  clearTimeout(timer);
  running.delete(child);
  if (child.pid !== undefined) removeFoldersOf(child.pid);
}

/** Where the tests' graph is, with a timeout generous enough for a loaded machine. */
const at = (): string[] => ["--directory", graph.directory, "--timeout-ms", "10000"];

/** The lines of a text, without the empty last one. */
const lines = (text: string): string[] => text.split("\n").filter((l) => l !== "");

describe("zmp cli", () => {
  beforeAll(async () => {
    graph = await startGraph();
  });

  afterEach(async () => {
    // A CLI process a failed test left behind (the graph itself stays for the next test).
    for (const child of running) if (child !== graph?.child) await stop(child);
  });

  afterAll(async () => {
    if (graph !== undefined) await stop(graph.child);
    for (const child of running) await stop(child);
  });

  it("cli graph – one line per node, an indented line per channel with its rate and backlog", async () => {
    const r = await zmp(["graph", ...at()]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const out = lines(r.stdout);
    expect(out[0]).toMatch(/^NODE \/ CHANNEL\s+HOST\s+PID\s+RATE\/s\s+BACKLOG\s+ENDPOINT$/);
    expect(out.find((l) => l.startsWith("adder "))).toMatch(/^adder\s+process\s+\d+\s+ipc:\/\//);
    expect(out.find((l) => l.startsWith("sensor "))).toMatch(
      new RegExp(`^sensor\\s+inline\\s+${graph.pid}\\s`),
    );
    expect(out.find((l) => l.startsWith("worker "))).toMatch(/^worker\s+thread\s/);
    expect(out).toContain(out.find((l) => /^ {2}service add\s+0\.0\s+0$/.test(l)));
    // The sensor publishes and pushes 50 times a second: both show a rate.
    const [, rate] = out.find((l) => l.startsWith("  publish sensor/temp"))!.match(/([\d.]+)\s+\d+$/)!;
    expect(Number(rate)).toBeGreaterThan(5);
    expect(out.some((l) => /^ {2}push jobs\s+[\d.]+\s+\d+$/.test(l))).toBe(true);
    expect(out.some((l) => /^ {2}pull jobs\s+[\d.]+\s+\d+$/.test(l))).toBe(true);
    expect(r.stdout).not.toContain("zmp.stats");
  });

  it("cli graph – --json gives each node's record with its stats", async () => {
    const r = await zmp(["graph", "--json", ...at()]);
    expect(r.code).toBe(0);
    const nodes = JSON.parse(r.stdout) as {
      name: string;
      host: string;
      services: string[];
      queues: { name: string }[];
      stats: { published: Record<string, { messagesOut: number; rate: number }>; pulled: object } | null;
    }[];
    expect(nodes.map((n) => n.name)).toEqual(["adder", "sensor", "worker"]);
    const [adder, sensor, worker] = nodes;
    expect(adder).toMatchObject({ host: "process", services: ["add", "whoami"] });
    expect(sensor!.stats!.published["sensor/temp"]!.messagesOut).toBeGreaterThan(0);
    expect(sensor!.stats!.published["sensor/temp"]!.rate).toBeGreaterThan(5);
    expect(worker!.queues).toEqual([{ name: "jobs", window: 1000 }]);
    expect(worker!.stats!.pulled).toHaveProperty("jobs");
  });

  it("cli call – prints the reply as JSON; --node picks the provider", async () => {
    const [sum, who] = await Promise.all([
      zmp(["call", "add", "[2, 3]", ...at()]),
      zmp(["call", "whoami", "--node", "adder", ...at()]),
    ]);
    expect(sum).toMatchObject({ code: 0, stdout: "5\n", stderr: "" });
    expect(who.code).toBe(0);
    expect(JSON.parse(who.stdout)).toMatchObject({ name: "adder" });
  });

  // Retried: a core race (node.ts kicks the SUB socket after connecting it; if the publisher's
  // messages are already in the pipe by then, the pending receive never wakes) can leave a
  // subscriber that starts under heavy load with no messages. Drop the retries once it is fixed.
  it("cli echo – prints --count messages as `topic: JSON`, or JSON lines with --json", {
    retry: 2,
  }, async () => {
    const [text, json] = await Promise.all([
      zmp(["echo", "sensor/", "--count", "3", ...at()], { timeoutMs: 12_000 }),
      zmp(["echo", "sensor/temp", "--count", "2", "--json", ...at()], { timeoutMs: 12_000 }),
    ]);
    expect(text.code).toBe(0);
    const out = lines(text.stdout);
    expect(out).toHaveLength(3);
    for (const line of out) expect(line).toMatch(/^sensor\/temp: \{"seq":\d+,"celsius":[\d.]+\}$/);
    const seqs = out.map((l) => JSON.parse(l.slice("sensor/temp: ".length)).seq as number);
    expect(seqs[1]).toBeGreaterThan(seqs[0]!);
    expect(json.code).toBe(0);
    const messages = lines(json.stdout).map((l) => JSON.parse(l));
    expect(messages).toHaveLength(2);
    expect(messages[0]).toMatchObject({ topic: "sensor/temp", data: { seq: expect.any(Number) } });
  });

  // Retried for the same core race as `echo` (a subscriber left with no messages).
  it("cli hz – reports the rate once a second, --count times", { retry: 2 }, async () => {
    const [text, json] = await Promise.all([
      zmp(["hz", "sensor/temp", "--count", "3", ...at()], { timeoutMs: 25_000 }),
      zmp(["hz", "sensor/temp", "--count", "2", "--json", "--window", "2", ...at()], { timeoutMs: 25_000 }),
    ]);
    expect(text.code).toBe(0);
    const out = lines(text.stdout);
    expect(out).toHaveLength(3);
    // The first report may come before two messages arrived on a slow start; the last has a rate.
    for (const line of out)
      expect(line).toMatch(
        /^(sensor\/temp: average rate [\d.]+ msg\/s {2}min [\d.]+ s {2}max [\d.]+ s {2}std dev [\d.]+ s {2}window \d+|no new messages|too few messages for a rate \(\d in the last 10 s\))$/,
      );
    expect(out.at(-1)).toMatch(/^sensor\/temp: average rate /);
    expect(json.code).toBe(0);
    const reports = lines(json.stdout).map((l) => JSON.parse(l));
    expect(reports).toHaveLength(2);
    const report = reports[1] as { rate: number; count: number; windowSeconds: number };
    expect(report.windowSeconds).toBe(2);
    // Published every 20 ms (a timer, so a little slower): about 50 msg/s.
    expect(report.rate, JSON.stringify(reports) + text.stdout).toBeGreaterThan(20);
    expect(report.rate).toBeLessThan(80);
    expect(report.count).toBeGreaterThan(10);
  });

  it("cli stats – a node's channels as a table, its NodeStats with --json, samples with --watch", async () => {
    const [table, json, watch] = await Promise.all([
      zmp(["stats", "worker", ...at()]),
      zmp(["stats", "sensor", "--json", ...at()]),
      zmp(["stats", "sensor", "--json", "--watch", "0.2", "--count", "2", ...at()]),
    ]);
    expect(table.code).toBe(0);
    const out = lines(table.stdout);
    expect(out[0]).toMatch(
      new RegExp(`^node worker \\(worker#\\w+\\): thread host, pid ${graph.pid}, up [\\d.]+ s$`),
    );
    expect(out[1]).toMatch(/^KIND\s+CHANNEL\s+RATE\/s\s+IN\s+OUT\s+BACKLOG\s+PEAK/);
    expect(out.some((l) => /^pull\s+jobs\s+[\d.]+\s+\d+\s+\d+\s+\d+/.test(l))).toBe(true);
    expect(out.some((l) => /^service\s+fail\s+0\.0\s+0\s+0\s/.test(l))).toBe(true);
    expect(out.at(-1)).toBe(
      "rejected frames: 0 malformed, 0 oversized; refused: 0 forged replies, 0 steering calls",
    );
    expect(json.code).toBe(0);
    const stats = JSON.parse(json.stdout);
    expect(stats).toMatchObject({ name: "sensor", host: "inline", pid: graph.pid });
    expect(stats.pushed.jobs.messagesOut).toBeGreaterThan(0);
    expect(watch.code).toBe(0);
    const samples = lines(watch.stdout).map((l) => JSON.parse(l));
    expect(samples).toHaveLength(2);
    expect(samples[1].time).toBeGreaterThan(samples[0].time);
  });

  it("cli selftest – --quick passes every check, one ok line each, and a summary", {
    timeout: 45_000,
  }, async () => {
    const r = await zmp(["selftest", "--quick"], { timeoutMs: 30_000 });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const out = lines(r.stdout);
    const summary = out.pop()!;
    expect(summary).toMatch(/^selftest: \d+ passed, 0 failed in [\d.]+ m?s$/);
    expect(out.length).toBeGreaterThanOrEqual(12);
    for (const line of out) expect(line).toMatch(/^ok {4}\w+: .+ \(\d+(\.\d+)? m?s\)$/);
    for (const group of ["graph", "services", "topics", "queues", "meters", "faults", "cleanup"])
      expect(out.some((l) => l.startsWith(`ok    ${group}:`))).toBe(true);
  });

  describe("errors: one clear line on stderr and a non-zero exit code", () => {
    const cases: { what: string; args: () => string[]; code: number; error: RegExp }[] = [
      {
        what: "unknown command",
        args: () => ["bogus"],
        code: 2,
        error: /^zmp: unknown command "bogus"; zmp --help lists the commands$/,
      },
      {
        what: "bad JSON",
        args: () => ["call", "add", "[1,", ...at()],
        code: 2,
        error: /^zmp call: the request is not valid JSON: /,
      },
      {
        what: "bad service name",
        args: () => ["call", "no such!", ...at()],
        code: 2,
        error: /^zmp call: Expected `service` to be 1–128 characters/,
      },
      {
        what: "bad endpoint",
        args: () => ["graph", "--directory", "localhost:5555"],
        code: 2,
        error: /^zmp graph: Expected `--directory` to be an endpoint like tcp:\/\/127\.0\.0\.1:5555/,
      },
      {
        what: "unreachable directory",
        args: () => ["graph", "--directory", "tcp://127.0.0.1:9", "--timeout-ms", "300"],
        code: 1,
        error:
          /^zmp graph: the directory at tcp:\/\/127\.0\.0\.1:9 \(from --directory\) did not answer within 300 ms: is the graph running\?$/,
      },
      {
        what: "unknown node",
        args: () => ["stats", "nobody", ...at()],
        code: 1,
        error: /^zmp stats: no node named "nobody" in the graph \(live nodes: adder, sensor, worker\)$/,
      },
      {
        what: "remote error",
        args: () => ["call", "fail", ...at()],
        code: 1,
        error:
          /^zmp call: RemoteError: `fail` failed on node `worker`: TypeError: this service always fails$/,
      },
    ];

    it("cli errors – bad input exits 2, a runtime failure exits 1", { timeout: 60_000 }, async () => {
      const runs = await Promise.all(cases.map((c) => zmp(c.args(), { timeoutMs: 30_000 })));
      for (const [i, c] of cases.entries()) {
        const r = runs[i]!;
        const stderr = lines(r.stderr);
        expect({ what: c.what, code: r.code }).toEqual({ what: c.what, code: c.code });
        expect(stderr[0], c.what).toMatch(c.error);
        expect(stderr, c.what).toHaveLength(1);
        expect(r.stdout, c.what).toBe("");
      }
      // The unreachable directory is given up (the message names the 300 ms), not waited on.
      expect(runs[cases.findIndex((c) => c.what === "unreachable directory")]!.ms).toBeLessThan(20_000);
    });

    it("cli errors – no directory given and none recorded on this machine", async () => {
      const empty = tempDir();
      try {
        const env: NodeJS.ProcessEnv = { ...process.env, XDG_RUNTIME_DIR: empty.dir };
        delete env.ZMP_DIRECTORY;
        const r = await zmp(["graph"], { env });
        expect(r.code).toBe(1);
        expect(lines(r.stderr)).toEqual([
          "zmp graph: no running graph found on this machine: start one (`npm start` in the zmp repository, `zmp directory`, or Graph.open() in a program), or pass --directory tcp://host:port (or set ZMP_DIRECTORY)",
        ]);
      } finally {
        empty.remove();
      }
    });
  });
});
