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

/** A run held at a backlog of 50 (rate 10) whose per-period mean sojourn W̄ is `latency`, ms. */
function delayLog(times: number[], latency: number[]): RunLog {
  return {
    ...log(
      times,
      times.map(() => 50),
      times.map(() => 50),
      times.map(() => 10),
    ),
    columns: [{ name: "latency", unit: "ms", description: "" }],
    values: [latency],
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

  it("metrics – a disturbance step reads overshoot as % of the setpoint on the causal 1 s mean", () => {
    // 1 s samples: the causal 1 s mean is the sample itself. Setpoint 50; the
    // backlog jumps to 58 for one sample after the step at t = 10: 16 %, never
    // outside ±15 % (42.5…57.5)? 58 is: settled from t = 12, 2 s after the step.
    const t = range(41, 1);
    const y = t.map((x) => (x === 11 ? 58 : 50));
    const m = computeMetrics(
      log(
        t,
        t.map(() => 50),
        y,
      ),
      { step: { signal: "workerRate", at: 10 } },
    );
    expect(m.overshoot).toBeCloseTo(16, 9);
    expect(m.settlingTime).toBe(2);
    // Inside the band throughout: settled at the step itself.
    const calm = computeMetrics(
      log(
        t,
        t.map(() => 50),
        t.map((x) => (x === 11 ? 55 : 50)),
      ),
      { step: { signal: "workerRate", at: 10 } },
    );
    expect(calm.settlingTime).toBe(0);
  });

  it("metrics – settling needs the band held for 15 s, not a first passage of noise", () => {
    // In band at t = 11, out again at t = 20, in for good from t = 21: settled 11 s after the step.
    const t = range(61, 1);
    const y = t.map((x) => (x <= 10 ? 50 : x === 20 ? 70 : 50));
    const m = computeMetrics(
      log(
        t,
        t.map(() => 50),
        y,
      ),
      { step: { signal: "load", at: 10 } },
    );
    expect(m.settlingTime).toBe(11);
    // Never back in the band: NaN.
    const never = computeMetrics(
      log(
        t,
        t.map(() => 50),
        t.map((x) => (x < 10 ? 50 : 80)),
      ),
      { step: { signal: "load", at: 10 } },
    );
    expect(never.settlingTime).toBeNaN();
  });

  it("metrics – a setpoint step reads overshoot from the measured level to the robust final value", () => {
    // 50 → 100 at t = 10; the response overshoots to 110: (110 − 100)/(100 − 50) = 20 %.
    const t = range(31, 1);
    const r = t.map((x) => (x < 10 ? 50 : 100));
    const y = t.map((x) => (x < 10 ? 50 : x === 12 ? 110 : x === 11 ? 90 : 100));
    const m = computeMetrics(log(t, r, y), { step: { signal: "setpoint", at: 10 } });
    expect(m.overshoot).toBeCloseTo(20, 9);
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
      { step: { signal: "load", at: 10 }, stepWindow: 10 },
    );
    expect(m.overshoot).toBe(0);
  });

  it("metrics – IADE, delay settling and peak on the per-period mean sojourn W̄", () => {
    // 0.1 s samples, W̄ = 250 ms until the step at 2 s, 400 ms for 0.5 s, then 250 ms; D* = 0.25 s.
    const t = range(201, 0.1);
    const latency = t.map((x) => (x >= 2 - 1e-9 && x < 2.5 - 1e-9 ? 400 : 250));
    const l = delayLog(t, latency);
    const m = computeMetrics(l, { step: { signal: "workerRate", at: 2 }, delaySetpoint: () => 0.25 });
    // IADE: 5 samples of 0.15 s error × 0.1 s.
    expect(m.iade).toBeCloseTo(5 * 0.15 * 0.1, 12);
    // The causal 1 s mean peaks when it holds all five: (5·0.4 + 5·0.25)/10 = 0.325 s.
    expect(m.delayPeak).toBeCloseTo(0.325, 12);
    // Within ±15 % (≤ 0.2875 s) once at most two 0.4 samples are in the window (t − 1, t]: from t = 3.2 s.
    expect(m.delaySettling).toBeCloseTo(1.2, 9);
    expect(m.meanDelay).toBeGreaterThan(0.25);
  });

  it("metrics – delay in-band share: the causal 1 s means within ±15 % of D* once the step is over", () => {
    // 20 s of 0.1 s samples, step at 2 s: the share counts t ≥ 12 s (81 samples). W̄ = 400 ms for
    // t = 15.0…15.4 s, else 250 ms. A window (t − 1, t] with j of those samples has mean 250 + 15·j ms,
    // outside 287.5 ms from j = 3: t = 15.2…16.1 s, ten samples.
    const t = range(201, 0.1);
    const latency = t.map((x) => (x >= 15 - 1e-9 && x < 15.5 - 1e-9 ? 400 : 250));
    const l = delayLog(t, latency);
    const m = computeMetrics(l, { step: { signal: "workerRate", at: 2 }, delaySetpoint: () => 0.25 });
    expect(m.delayInBand).toBeCloseTo(71 / 81, 12);
    // Without a delay setpoint there is no band.
    expect(computeMetrics(l, { step: { signal: "workerRate", at: 2 } }).delayInBand).toBeNaN();
  });

  it("metrics – relative TV and the lag-1 autocorrelation of Δu over the steady state", () => {
    // u alternates 9, 11; the steady state is t ≥ 5 s: 51 samples (26 of 9, 25 of 11), 50 changes of 2:
    // TV = 50·2/(51·0.1·ū) ≈ 2 /s; Δu alternates ±2: lag-1 autocorrelation −1.
    const t = range(101, 0.1);
    const u = t.map((_, k) => (k % 2 === 0 ? 9 : 11));
    const m = computeMetrics(
      log(
        t,
        t.map(() => 1),
        t.map(() => 1),
        u,
      ),
      { step: null },
    );
    expect(m.tv).toBeCloseTo((2 * 50) / (51 * 0.1 * ((26 * 9 + 25 * 11) / 51)), 9);
    // The sample autocorrelation (normalised by the lag-0 sum) of 50 alternating values is −49/50.
    expect(m.duAutocorrelation).toBeCloseTo(-49 / 50, 9);
    // A constant actuator: no variation, no autocorrelation to speak of.
    const flat = computeMetrics(
      log(
        t,
        t.map(() => 1),
        t.map(() => 1),
        t.map(() => 10),
      ),
      { step: null },
    );
    expect(flat.tv).toBe(0);
    expect(flat.duAutocorrelation).toBeNaN();
  });

  it("metrics – a backlog oscillating every two samples has autocorrelation −1 at lag 2", () => {
    const t = range(101, 0.1);
    const y = t.map((_, k) => (k % 4 < 2 ? 40 : 60));
    const m = computeMetrics(
      log(
        t,
        t.map(() => 50),
        y,
      ),
      { step: null },
    );
    expect(m.backlogAutocorrelation).toBeCloseTo(-1, 1);
  });

  it("metrics – p99 after and before the step from the departures, and the share at a limit", () => {
    const t = range(11, 1);
    const times = Array.from({ length: 200 }, (_, i) => i / 20);
    const sojourns = times.map((x) => (x < 5 ? 0.1 : 0.3));
    const base = log(
      t,
      t.map(() => 1),
      t.map(() => 1),
      t.map(() => 5),
    );
    const l = {
      ...base,
      stats: { ...base.stats, departures: { times, sojourns } },
      // P + I + D + ff = 8 but the output was limited to 5 at two samples of 11.
      components: {
        p: t.map(() => 5),
        i: t.map((x) => (x < 2 ? 3 : 0)),
        d: t.map(() => 0),
        ff: t.map(() => 0),
      },
    };
    const m = computeMetrics(l, { step: { signal: "load", at: 5 } });
    expect(m.latencyP99After).toBeCloseTo(300, 9);
    // Those that left before the step (t < 5 s) all waited 0.1 s.
    expect(m.latencyP99Before).toBeCloseTo(100, 9);
    expect(m.atLimit).toBeCloseTo(2 / 11, 12);
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
