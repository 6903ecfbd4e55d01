import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { getExperiment } from "../../experiments/catalog/index.js";
import type { ExperimentResult } from "../../experiments/experiment.js";
import { metricKeys } from "../../experiments/metrics.js";
import { csvFixedColumns, toCsv, toHtml, toSummary, writeReport } from "../../experiments/report/index.js";
import { tempDir } from "../helpers.js";

/** backlog-step, short: 15 s (the capacity halves at 5 s), PID and no control. */
async function backlogStep(seed: number): Promise<ExperimentResult> {
  return getExperiment("backlog-step").run({ plant: "sim", seed, sampleTime: 0.1, duration: 15 });
}

describe("report", () => {
  let result: ExperimentResult;
  const dirs: { remove: () => void }[] = [];
  beforeAll(async () => {
    result = await backlogStep(3);
  });
  afterAll(() => {
    for (const d of dirs) d.remove();
  });

  it("report – the same seed gives a byte-identical data.csv (and summary.json)", async () => {
    const a = tempDir();
    const b = tempDir();
    dirs.push(a, b);
    await writeReport(result, a.dir, { png: false });
    await writeReport(await backlogStep(3), b.dir, { png: false });
    expect(readFileSync(join(a.dir, "data.csv")).equals(readFileSync(join(b.dir, "data.csv")))).toBe(true);
    expect(readFileSync(join(a.dir, "summary.json")).equals(readFileSync(join(b.dir, "summary.json")))).toBe(
      true,
    );
  });

  it("report – another seed gives another data.csv", async () => {
    expect(toCsv(await backlogStep(4))).not.toBe(toCsv(result));
  });

  it("report – data.csv has the documented columns and one row per sample of every run", () => {
    const lines = toCsv(result).trimEnd().split("\n");
    const header = lines[0]!.split(",");
    expect(header.slice(0, csvFixedColumns.length)).toEqual([
      "run",
      "scenario",
      "seed",
      "time",
      "setpoint",
      "measurement",
      "output",
      "applied",
    ]);
    for (const column of [
      "backlog",
      "load",
      "capacity",
      "arrivalRate",
      "serviceRate",
      "shed",
      "dropped",
      "latency",
      "latencyP99",
      "pid.p",
      "pid.i",
      "pid.d",
      "pid.ff",
    ]) {
      expect(header).toContain(column);
    }
    const samples = result.runs.reduce((n, r) => n + r.log.times.length, 0);
    expect(lines.length - 1).toBe(samples);
    // 15 s at 0.1 s for each of pid and none; three 10 s step tests.
    expect(samples).toBe(2 * 150 + 3 * 100);
    const pidRow = lines.find((l) => l.startsWith("pid,capacity-step,3,1,"))!.split(",");
    expect(Number(pidRow[header.indexOf("setpoint")])).toBe(50);
    expect(Number(pidRow[header.indexOf("pid.p")])).not.toBeNaN();
    const noneRow = lines.find((l) => l.startsWith("none,"))!.split(",");
    expect(noneRow[header.indexOf("pid.p")]).toBe("");
  });

  it("report – summary.json has the documented keys and sane values", () => {
    const summary = JSON.parse(JSON.stringify(toSummary(result)));
    expect(Object.keys(summary)).toEqual(
      expect.arrayContaining([
        "experiment",
        "scenario",
        "seed",
        "runs",
        "sampleTime",
        "plant",
        "tables",
        "notes",
      ]),
    );
    expect(summary.experiment).toBe("backlog-step");
    expect(summary.seed).toBe(3);
    expect(summary.scenario.name).toBe("capacity-step");
    for (const run of summary.runs) {
      expect(Object.keys(run.metrics)).toEqual([...metricKeys]);
      if (run.metrics.goodput !== null) {
        expect(run.metrics.goodput).toBeGreaterThanOrEqual(0);
        expect(run.metrics.goodput).toBeLessThanOrEqual(1);
      }
      expect(run.metrics.shed).toBeGreaterThanOrEqual(0);
      expect(run.metrics.shed).toBeLessThanOrEqual(1);
      expect(run.metrics.latencyP50).toBeLessThanOrEqual(run.metrics.latencyP99);
    }
    const pid = summary.runs.find((r: { label: string }) => r.label === "pid");
    const none = summary.runs.find((r: { label: string }) => r.label === "none");
    expect(pid.controller).toBe("pid");
    expect(pid.gains.kp).toBeGreaterThan(0);
    expect(pid.gains.ki).toBeGreaterThan(0);
    expect(none.gains).toBeNull();
    // With control the backlog stays near its setpoint; without it, it fills the buffer.
    expect(pid.metrics.iae).toBeLessThan(none.metrics.iae / 10);
    expect(pid.metrics.latencyP99).toBeLessThan(none.metrics.latencyP99);
    expect(pid.metrics.shed).toBeGreaterThan(0.3);
    expect(none.metrics.dropped).toBeGreaterThan(0.1);
  });

  it("report – report.html is self-contained: uPlot inlined, data embedded, no network references", () => {
    const html = toHtml(result);
    expect(html).toContain("uPlot");
    expect(html).toContain('id="zmp-data"');
    expect(html).not.toMatch(/<(script|link|img)[^>]+(src|href)=["']?https?:/i);
    const data = JSON.parse(
      /<script type="application\/json" id="zmp-data">([\s\S]*?)<\/script>/.exec(html)![1]!,
    );
    expect(data.length).toBeGreaterThan(4);
    expect(data[0].series.map((s: { label: string }) => s.label)).toEqual(["setpoint", "pid", "none"]);
  });
});
