import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { program, removeNativeBuild } from "../../../experiments/bench/native/peer.js";
import { alive, eventually, tempDir } from "../../helpers.js";

const main = fileURLToPath(new URL("../../../experiments/bench/main.ts", import.meta.url));

interface Run {
  child: ReturnType<typeof spawn>;
  stderr: () => string;
  exited: Promise<number | null>;
}

const runs: Run[] = [];

function bench(args: string[]): Run {
  const child = spawn(process.execPath, ["--import", import.meta.resolve("tsx"), main, ...args], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let err = "";
  child.stderr!.on("data", (chunk: Buffer) => {
    err += chunk.toString();
  });
  child.stdout!.resume();
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const run = { child, stderr: () => err, exited };
  runs.push(run);
  return run;
}

/** The child pids the harness logged for its cases. */
function childPids(stderr: string): number[] {
  return [...stderr.matchAll(/child pids ([\d ]+)\)/g)].flatMap((m) => m[1]!.trim().split(/\s+/).map(Number));
}

afterEach(async () => {
  for (const run of runs.splice(0)) {
    if (run.child.exitCode === null && run.child.signalCode === null) run.child.kill("SIGKILL");
    await run.exited;
    for (const pid of childPids(run.stderr())) if (alive(pid)) process.kill(pid, "SIGKILL");
  }
});

/** The reference columns that can run on this machine (.ci/setup installs both). */
const references = (["pyzmq", "native"] as const).filter((kind) => !("skipped" in program(kind)));
afterAll(removeNativeBuild);

const summary = {
  label: expect.any(String),
  sockets: expect.any(String),
  unit: expect.any(String),
  median: expect.any(Number),
  min: expect.any(Number),
  max: expect.any(Number),
};

describe("bench", () => {
  it("bench – a quick run writes rows { case, zmp, raw, ratio } and leaves no process behind", async () => {
    const { dir, remove } = tempDir();
    try {
      const file = join(dir, "rows.json");
      const run = bench(["--quick", "--only", "queue ipc 16B,service rtt 16B", "--json", file]);
      expect(await run.exited, run.stderr()).toBe(0);
      const rows = JSON.parse(readFileSync(file, "utf8")) as Record<string, unknown>[];
      expect(rows.map((r) => r.case)).toEqual([
        "queue ipc 16B",
        "service rtt p50 16B",
        "service rtt p99 16B",
      ]);
      for (const row of rows) {
        expect(row).toMatchObject({
          case: expect.any(String),
          zmp: summary,
          raw: summary,
          ratio: expect.any(Number),
        });
        const r = row as { zmp: { median: number; unit: string }; raw: { median: number }; ratio: number };
        expect(r.zmp.median).toBeGreaterThan(0);
        expect(r.raw.median).toBeGreaterThan(0);
        expect(r.ratio).toBeGreaterThan(0);
        for (const kind of references) {
          expect(row[kind], `${kind} column`).toMatchObject({ ...summary, ratio: expect.any(Number) });
          expect((row[kind] as { median: number }).median).toBeGreaterThan(0);
        }
      }
      expect((rows[0] as { zmp: { unit: string } }).zmp.unit).toBe("msg/s");
      expect((rows[1] as { zmp: { unit: string } }).zmp.unit).toBe("µs");
      const pids = childPids(run.stderr());
      expect(pids.length).toBeGreaterThanOrEqual(4);
      await eventually(() => pids.every((pid) => !alive(pid)), "every child process to end");
    } finally {
      remove();
    }
  }, 120_000);

  it("bench – --scale forms each graph, measures it and leaves no process behind", async () => {
    const { dir, remove } = tempDir();
    try {
      const file = join(dir, "scale.json");
      const run = bench(["--scale", "--quick", "--sizes", "4,8", "--json", file]);
      expect(await run.exited, run.stderr()).toBe(0);
      const { rows, targets } = JSON.parse(readFileSync(file, "utf8")) as {
        rows: {
          nodes: number;
          formMs: number;
          perJoinMs: number;
          allSeeAllMs: number;
          callEachMs: number;
          graphCliMs: number;
          directoryIdleCpu: number;
          perNode: { fds: number; kernelSockets: number; zmqSockets: number };
        }[];
        targets: { target: string; met: boolean }[];
      };
      expect(rows.map((r) => r.nodes)).toEqual([4, 8]);
      for (const r of rows) {
        for (const value of [r.formMs, r.perJoinMs, r.allSeeAllMs, r.callEachMs, r.graphCliMs])
          expect(value).toBeGreaterThan(0);
        expect(r.allSeeAllMs).toBeGreaterThanOrEqual(r.formMs);
        expect(r.directoryIdleCpu).toBeGreaterThanOrEqual(0);
        // Two listening sockets and one connection to the directory: nodes that never talk
        // hold no connection to each other (eager links would add one per other node).
        expect(r.perNode.kernelSockets).toBeLessThan(5);
        expect(r.perNode.zmqSockets).toBeGreaterThan(0);
      }
      expect(targets).toHaveLength(3);
      // Graphs under 1 000 nodes cannot meet a 1 000-node target.
      expect(targets.every((t) => t.met === false)).toBe(true);
      const pids = childPids(run.stderr());
      await eventually(() => pids.every((pid) => !alive(pid)), "every child process to end");
    } finally {
      remove();
    }
  }, 120_000);

  it("bench – Ctrl-C closes every child process and socket", async () => {
    const run = bench(["--quick", "--only", "topic 1->4 256B", "--reps", "50"]);
    await eventually(() => /ready in/.test(run.stderr()), "the case to be ready", { timeoutMs: 60_000 });
    const pids = childPids(run.stderr());
    // 4 zmp subscribers, 4 raw subscribers; for pyzmq and native, a publisher and 4 subscribers each
    expect(pids.length).toBe(8 + 5 * references.length);
    run.child.kill("SIGINT");
    expect(await run.exited, run.stderr()).toBe(130);
    await eventually(() => pids.every((pid) => !alive(pid)), "every child process to end");
  }, 120_000);
});
