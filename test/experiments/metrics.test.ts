import { describe, expect, it } from "vitest";
import { computeMetrics, meanMetrics, timeAverage } from "../../experiments/metrics.js";
import type { RunLog } from "../../experiments/runner.js";
import { movingAverage } from "../../toolbox/control/index.js";

function log(times: number[], setpoint: number[], measurement: number[], applied?: number[]): RunLog {
  return {
    label: "test",
    controller: applied ? "pid" : "none",
    actuator: applied ? "rate" : null,
    params: null,
    columns: [],
    times,
    setpoint,
    measurement,
    output: applied ?? times.map(() => Number.NaN),
    applied: applied ?? times.map(() => Number.NaN),
    values: [],
    components: {},
    stats: { goodput: 0.9, shed: 0.1, dropped: 0, latencyP50: 0.2, latencyP99: 0.5, extra: {} },
  };
}

const range = (n: number, dt: number) => Array.from({ length: n }, (_, k) => k * dt);

describe("metrics", () => {
  it("metrics – integral criteria of a constant error", () => {
    // Error 2 for 10 s: IAE 20, ISE 40, ITAE ∫₀¹⁰ 2t dt = 100, RMSE 2.
    const t = range(11, 1);
    const m = computeMetrics(
      log(
        t,
        t.map(() => 5),
        t.map(() => 3),
      ),
      { step: null },
    );
    expect(m.iae).toBeCloseTo(20, 12);
    expect(m.ise).toBeCloseTo(40, 12);
    expect(m.itae).toBeCloseTo(100, 12);
    expect(m.rmse).toBeCloseTo(2, 12);
    expect(m.meanMeasurement).toBeCloseTo(3, 12);
    expect(Number.isNaN(m.overshoot)).toBe(true);
    expect(Number.isNaN(m.effort)).toBe(true);
  });

  it("metrics – plant figures pass through, latencies in ms", () => {
    const t = range(3, 1);
    const m = computeMetrics(log(t, [1, 1, 1], [1, 1, 1], [4, 6, 3]), { step: null });
    expect(m).toMatchObject({ goodput: 0.9, shed: 0.1, dropped: 0, latencyP50: 200, latencyP99: 500 });
    // Effort: |6 − 4| + |3 − 6| = 5.
    expect(m.effort).toBe(5);
  });

  it("metrics – a disturbance step reads overshoot as % of the setpoint above it", () => {
    // Setpoint 50; after the step at t = 10 the backlog rises to 58 for one
    // sample and returns: overshoot (58 − 50)/50 = 16 %, never outside the
    // ±20 % band (40…60), so it is settled from the step: 0 s.
    const t = range(31, 1);
    const y = t.map((x) => (x === 11 ? 58 : 50));
    const m = computeMetrics(
      log(
        t,
        t.map(() => 50),
        y,
      ),
      { step: { signal: "workerRate", at: 10 }, smoothing: 0 },
    );
    expect(m.overshoot).toBeCloseTo(16, 9);
    expect(m.settlingTime).toBe(0);
    // A peak of 80 leaves the 20 % band; the sample after it (t = 12) is the settling time.
    const y2 = t.map((x) => (x === 11 ? 80 : 50));
    const m2 = computeMetrics(
      log(
        t,
        t.map(() => 50),
        y2,
      ),
      { step: { signal: "workerRate", at: 10 }, smoothing: 0 },
    );
    expect(m2.overshoot).toBeCloseTo(60, 9);
    expect(m2.settlingTime).toBe(2);
  });

  it("metrics – a setpoint step reads overshoot as % of the step", () => {
    // 50 → 100 at t = 10; response overshoots to 110: (110 − 100)/50 = 20 %.
    const t = range(31, 1);
    const r = t.map((x) => (x < 10 ? 50 : 100));
    const y = t.map((x) => (x < 10 ? 50 : x === 12 ? 110 : x === 11 ? 90 : 100));
    const m = computeMetrics(log(t, r, y), {
      step: { signal: "setpoint", at: 10 },
      smoothing: 0,
      settlingThreshold: 0.1,
    });
    expect(m.overshoot).toBeCloseTo(20, 9);
    // Outside ±10 % of the step (95…105) last at t = 12: settled from t = 13, 3 s after the step.
    expect(m.settlingTime).toBe(3);
  });

  it("metrics – peaks outside the step window do not count", () => {
    const t = range(41, 1);
    const y = t.map((x) => (x === 35 ? 90 : 50));
    const m = computeMetrics(
      log(
        t,
        t.map(() => 50),
        y,
      ),
      { step: { signal: "load", at: 10 }, smoothing: 0, stepWindow: 10 },
    );
    expect(m.overshoot).toBe(0);
  });

  it("metrics – centered moving average and time average", () => {
    // A window of 3 samples on a 1 s grid: one sample each side, fewer at the ends.
    expect(movingAverage([0, 1, 2, 3], [0, 3, 6, 9], 3)).toEqual([1.5, 3, 6, 7.5]);
    // On a 0.1 s grid (float times), 3 samples = 0.3 s still takes exactly one each side.
    const t = [0, 1, 2, 3, 4].map((k) => k * 0.1);
    expect(movingAverage(t, [0, 3, 6, 9, 12], 0.3)).toEqual([1.5, 3, 6, 9, 10.5]);
    expect(movingAverage([0, 1], [1, 2], 1)).toEqual([1, 2]);
    expect(timeAverage([0, 1, 3], [0, 2, 2])).toBeCloseTo(5 / 3, 12);
  });

  it("metrics – meanMetrics averages key by key", () => {
    const t = range(3, 1);
    const a = computeMetrics(log(t, [1, 1, 1], [0, 0, 0]), { step: null });
    const b = computeMetrics(log(t, [1, 1, 1], [2, 2, 2]), { step: null });
    const m = meanMetrics([a, b]);
    expect(m.iae).toBeCloseTo(2, 12);
    expect(m.meanMeasurement).toBeCloseTo(1, 12);
  });
});
