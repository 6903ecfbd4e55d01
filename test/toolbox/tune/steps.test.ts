import { describe, expect, it } from "vitest";
import type { NodeRecord } from "../../../core/index.js";
import { movingAverage } from "../../../toolbox/control/index.js";
import type { LoopSample } from "../../../toolbox/loop/index.js";
import { findLoops, latestStep } from "../../../toolbox/tune/index.js";
import { queueOfSensor } from "../../../toolbox/tune/loops.js";

const EPOCH = 1_700_000_000_000;

/** Samples 0.1 s apart (t = k/10), from per-sample setpoint, measurement and output. */
function samplesOf(rows: { setpoint: number; measurement: number; output?: number }[]): LoopSample[] {
  return rows.map((row, k) => ({
    seq: k + 1,
    time: k / 10,
    timestamp: EPOCH + k * 100,
    dt: 0.1,
    setpoint: row.setpoint,
    measurement: row.measurement,
    output: row.output ?? 0,
    applied: row.output ?? 0,
    components: {},
    observation: { measurement: row.measurement },
    values: {},
    mode: "auto",
    error: null,
    controller: "pid",
    revision: 0,
  }));
}

describe("tune steps", () => {
  it("steps – a setpoint step 10 → 20 is measured against the commanded step", () => {
    // 10 until t = 1; a ramp to 20 at t = 2; 21, 22, 21 past it; 20 from t = 2.4 to 4.
    const measurement = (k: number): number =>
      k < 10 ? 10 : k <= 20 ? k : k === 21 || k === 23 ? 21 : k === 22 ? 22 : 20;
    const samples = samplesOf(
      Array.from({ length: 41 }, (_, k) => ({ setpoint: k < 10 ? 10 : 20, measurement: measurement(k) })),
    );
    const step = latestStep(samples, [], { smoothing: 0, settlingThreshold: 0.05 })!;
    expect(step).toMatchObject({ kind: "setpoint", time: 1, from: 10, to: 20, signal: "measurement" });
    expect(step.samples).toBe(31);
    expect(step.elapsed).toBeCloseTo(3, 9);
    // 10 % of the step (11) at t = 1.1, 90 % (19) at t = 1.9.
    expect(step.info.riseTime).toBeCloseTo(0.8, 9);
    // The peak 22 is 12 above the start: 20 % past the step of 10.
    expect(step.info.overshoot).toBeCloseTo(20, 9);
    expect(step.info.peak).toBe(22);
    expect(step.info.peakTime).toBeCloseTo(1.2, 9);
    // Last sample off by ≥ 0.5 (5 % of 10) is 21 at t = 2.3: settled from t = 2.4.
    expect(step.info.settlingTime).toBeCloseTo(1.4, 9);
    expect(step.info.steadyStateValue).toBe(20);
    expect(step.disturbance).toBeNull();
  });

  it("steps – the moving average is centered, ±width/2, and never reaches across the step", () => {
    expect(movingAverage([0, 1, 2, 3, 4], [0, 0, 10, 0, 0], 2)).toEqual([0, 10 / 3, 10 / 3, 10 / 3, 0]);
    expect(movingAverage([0, 1, 2], [1, 2, 3], 0)).toEqual([1, 2, 3]);
    // A jump 10 → 20 at the step: smoothed over 1 s, the first sample after it is still 20.
    const samples = samplesOf(
      Array.from({ length: 30 }, (_, k) => ({ setpoint: k < 10 ? 10 : 20, measurement: k < 10 ? 10 : 20 })),
    );
    const step = latestStep(samples, [], { smoothing: 1 })!;
    expect(step.info.riseTime).toBe(0);
    expect(step.info.settlingTime).toBe(0);
    expect(step.info.overshoot).toBe(0);
  });

  it("steps – a capacity step measures the output's new level and the backlog's excursion", () => {
    // Setpoint 50. The output drops from 100 to 50 at the step (t = 2); the backlog goes 60, 70, 60, 55, back to 50.
    const off: Record<number, number> = { 21: 10, 22: 20, 23: 10, 24: 5 };
    const samples = samplesOf(
      Array.from({ length: 40 }, (_, k) => ({
        setpoint: 50,
        measurement: 50 + (off[k] ?? 0),
        output: k < 20 ? 100 : 50,
      })),
    );
    const capacity = { timestamp: EPOCH + 20 * 100, from: 1, to: 0.5 };
    const step = latestStep(samples, [capacity], { smoothing: 0, settlingThreshold: 0.05 })!;
    expect(step).toMatchObject({
      kind: "capacity",
      time: 2,
      from: 1,
      to: 0.5,
      signal: "output",
      samples: 20,
    });
    expect(step.info.riseTime).toBe(0);
    expect(step.info.overshoot).toBe(0);
    expect(step.info.steadyStateValue).toBe(50);
    const d = step.disturbance!;
    expect(d.peakDeviation).toBe(20);
    expect(d.peakTime).toBeCloseTo(0.2, 9);
    // The band is 5 % of 50 = 2.5: the 5 at t = 2.4 is the last sample outside it.
    expect(d.recoveryTime).toBeCloseTo(0.5, 9);
    // (10 + 20 + 10 + 5) × 0.1 s.
    expect(d.iae).toBeCloseTo(4.5, 9);
  });

  it("steps – the newest step counts; none, or one before the window, gives null", () => {
    const flat = samplesOf(Array.from({ length: 20 }, () => ({ setpoint: 40, measurement: 40, output: 5 })));
    expect(latestStep(flat)).toBeNull();
    expect(latestStep(flat, [{ timestamp: EPOCH - 1000, from: 1, to: 0.5 }])).toBeNull();
    // A setpoint step at t = 1, then a capacity step at t = 1.5: the capacity step is reported.
    const both = samplesOf(
      Array.from({ length: 30 }, (_, k) => ({ setpoint: k < 10 ? 40 : 60, measurement: 50, output: 5 })),
    );
    const capacity = { timestamp: EPOCH + 1500, from: 1, to: 0.5 };
    expect(latestStep(both, [capacity])?.kind).toBe("capacity");
    expect(latestStep(both, [{ ...capacity, timestamp: EPOCH + 500 }])?.kind).toBe("setpoint");
    expect(() => latestStep(both, [], { settlingThreshold: 2 })).toThrow(/settlingThreshold/);
    expect(() => latestStep(both, [], { smoothing: -1 })).toThrow(/smoothing/);
  });

  it("loops – a loop is a samples topic and its control service on one node", () => {
    const record = (name: string, topics: string[], services: string[]): NodeRecord => ({
      id: name,
      name,
      host: "inline",
      pid: 1,
      hostname: "h",
      endpoint: "ipc:///x",
      pubEndpoint: "ipc:///y",
      services,
      topics,
      queues: [],
      fronts: [],
      startedAt: 0,
    });
    const loops = findLoops([
      record("b", ["loop/backlog/samples", "other"], ["backlog.control"]),
      record("a", ["loop/a/x/samples"], ["a/x.control", "zmp.stats"]),
      record("c", ["loop/orphan/samples"], []),
    ]);
    expect(loops).toEqual([
      { name: "a/x", node: "a", service: "a/x.control", topic: "loop/a/x/samples" },
      { name: "backlog", node: "b", service: "backlog.control", topic: "loop/backlog/samples" },
    ]);
    expect(queueOfSensor("backlog of queue jobs at proxy proxy")).toBe("jobs");
    expect(queueOfSensor("backlog of queue work at producer-1, producer-2")).toBe("work");
    expect(queueOfSensor("scripted")).toBeNull();
  });
});
