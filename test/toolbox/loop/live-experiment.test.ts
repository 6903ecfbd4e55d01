import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { experimentRun } from "../../../experiments/cli.js";
import { liveGraph } from "../../../experiments/plants/live-graph.js";
import { workerPoolColumns } from "../../../experiments/plants/worker-pool.js";
import type { LoopState } from "../../../toolbox/loop/feedback-loop.js";
import { callControl } from "../../../toolbox/steering.js";
import { findLoops } from "../../../toolbox/tune/loops.js";
import { tempDir } from "../../helpers.js";

/** An io that keeps what the command wrote. */
function recorder(): {
  stdout: { write: (t: string) => void };
  stderr: { write: (t: string) => void };
  out: () => string;
} {
  let out = "";
  return {
    stdout: { write: (t: string) => (out += t) },
    stderr: { write: (t: string) => (out += t) },
    out: () => out,
  };
}

describe("live worker pool", () => {
  const dir = tempDir();
  afterAll(() => dir.remove());

  it("live worker pool – backlog-step runs as a FeedbackLoop on worker processes that a tuner can find, and control cuts the backlog IAE", {
    timeout: 120_000,
  }, async () => {
    const out = join(dir.dir, "backlog-step");
    const io = recorder();
    // Gains given, so no step tests: two runs (pid, none) of 6 s on 8 worker processes.
    const running = experimentRun(
      [
        "backlog-step",
        "--plant",
        "live",
        "--duration",
        "6",
        "--kp",
        "5",
        "--ki",
        "8",
        "--no-png",
        "--quiet",
        "--out",
        out,
      ],
      io,
    );
    // While it runs, the run is a FeedbackLoop on the experiment's graph, found the way `zmp tune`
    // finds loops (a samples topic and a control service in the directory), and steerable over it.
    const graph = await liveGraph();
    const tuner = await graph.node("tuner");
    const deadline = Date.now() + 60_000;
    let loops = findLoops(tuner.nodes());
    while (!loops.some((l) => l.name === "pid") && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      loops = findLoops(tuner.nodes());
    }
    const pidLoop = loops.find((l) => l.name === "pid");
    expect(pidLoop, JSON.stringify(loops)).toBeDefined();
    const state = await callControl<LoopState>(tuner, "pid", { op: "stats" }, 5000);
    expect(state).toMatchObject({ kind: "loop", name: "pid", status: "running", mode: "auto" });
    expect(state.controller.kind).toBe("pid");
    expect(state.sampleTime).toBe(0.1);
    const code = await running;
    expect(code, io.out()).toBe(0);
    expect(io.out()).toContain("backlog-step on the live plant");

    const lines = readFileSync(join(out, "data.csv"), "utf8").trim().split("\n");
    const header = lines[0]!.split(",");
    expect(header.slice(0, 8)).toEqual([
      "run",
      "scenario",
      "seed",
      "time",
      "setpoint",
      "measurement",
      "output",
      "applied",
    ]);
    expect(header.slice(8, 8 + workerPoolColumns.length)).toEqual(workerPoolColumns.map((c) => c.name));
    expect(header).toContain("pid.p");
    const rows = lines.slice(1).map((l) => l.split(","));
    for (const run of ["pid", "none"]) {
      const own = rows.filter((r) => r[0] === run);
      expect(own.length).toBeGreaterThanOrEqual(55); // 60 samples of 0.1 s
      const times = own.map((r) => Number(r[3]));
      expect(times.every((t, i) => i === 0 || t > times[i - 1]!)).toBe(true);
      expect(times.at(-1)).toBeGreaterThan(5);
    }

    const summary = JSON.parse(readFileSync(join(out, "summary.json"), "utf8"));
    expect(summary.plant).toBe("live");
    const byController = Object.fromEntries(
      summary.runs.map((r: { controller: string }) => [r.controller, r]),
    ) as Record<string, { gains: Record<string, unknown> | null; metrics: Record<string, number | null> }>;
    expect(Object.keys(byController).sort()).toEqual(["none", "pid"]);
    for (const key of [
      "iae",
      "ise",
      "itae",
      "rmse",
      "overshoot",
      "settlingTime",
      "goodput",
      "shed",
      "latencyP50",
      "latencyP99",
    ])
      expect(byController.pid!.metrics).toHaveProperty(key);
    expect(byController.pid!.gains).toMatchObject({ kp: 5, ki: 8 });
    const pid = byController.pid!.metrics;
    const none = byController.none!.metrics;
    // Without control the backlog grows by 40 msg/s, then 140 msg/s after the capacity halves (IAE
    // over a thousand msg·s); the loop holds it near 50. A factor of 3 leaves a wide margin.
    expect(pid.iae!).toBeLessThan(none.iae! / 3);
    expect(pid.shed!).toBeGreaterThan(0.1);
    expect(none.shed).toBe(0);
    expect(pid.goodput!).toBeGreaterThan(0.8);
    expect(pid.latencyP99!).toBeLessThan(none.latencyP99!);
    expect(existsSync(join(out, "report.html"))).toBe(true);
  });
});
