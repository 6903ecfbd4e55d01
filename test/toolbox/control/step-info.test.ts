import { describe, expect, it } from "vitest";
import { discretize } from "../../../toolbox/control/discretize.js";
import { stepResponse } from "../../../toolbox/control/response.js";
import { measuredStepInfo, type StepInfo, stepInfo, stepInfoOf } from "../../../toolbox/control/step-info.js";
import { tf } from "../../../toolbox/control/tf.js";

const grid = (end: number, dt: number) => Array.from({ length: Math.round(end / dt) + 1 }, (_, k) => k * dt);

/**
 * python-control's own acceptance rule (timeresp_test.py, assert_step_info_match):
 * times within one sample of the simulation grid, amplitudes within 0.5 %.
 */
function expectMatches(info: StepInfo, ref: Partial<StepInfo>, dt: number): void {
  for (const key of ["riseTime", "settlingTime", "peakTime"] as const) {
    const want = ref[key];
    if (want !== undefined) expect(Math.abs(info[key] - want), key).toBeLessThanOrEqual(dt);
  }
  for (const key of [
    "settlingMin",
    "settlingMax",
    "overshoot",
    "undershoot",
    "peak",
    "steadyStateValue",
  ] as const) {
    const want = ref[key];
    if (want === undefined) continue;
    if (want === 0) expect(info[key], key).toBe(0);
    else expect(Math.abs(info[key] / want - 1), key).toBeLessThanOrEqual(0.005);
  }
}

describe("stepInfo of systems", () => {
  it("stepInfo – reproduces MATLAB's stepinfo example from the transfer function", () => {
    // G = (s² + 5s + 5)/(s⁴ + 1.65s³ + 5s² + 6.5s + 2): MATLAB documentation of `stepinfo`,
    // also python-control timeresp_test.py fixture siso_tf_step_matlab.
    const g = tf([1, 5, 5], [1, 1.65, 5, 6.5, 2]);
    const r = stepResponse(g);
    const dt = r.times[1]! - r.times[0]!;
    const info = stepInfoOf(g);
    expectMatches(
      info,
      {
        riseTime: 3.8456,
        settlingTime: 27.9762,
        settlingMin: 2.0689,
        settlingMax: 2.6873,
        overshoot: 7.4915,
        undershoot: 0,
        peak: 2.6873,
        peakTime: 8.053,
        steadyStateValue: 2.5,
      },
      dt,
    );
  });

  it("stepInfo – a non-minimum-phase step: undershoot, and the same magnitudes when negative-going", () => {
    // python-control timeresp_test.py fixtures siso_tf_kpos / siso_tf_kneg (MATLAB values):
    // G = ±(−s + 1)/(s² + s + 1).
    const ref = {
      riseTime: 1.242,
      settlingTime: 9.11,
      overshoot: 20.84,
      undershoot: 28.0,
      peak: 1.208,
      peakTime: 4.282,
    };
    const pos = tf([-1, 1], [1, 1, 1]);
    const dt = stepResponse(pos).times[1]!;
    expectMatches(stepInfoOf(pos), { ...ref, settlingMin: 0.9, settlingMax: 1.208, steadyStateValue: 1 }, dt);
    const neg = tf([1, -1], [1, 1, 1]);
    expectMatches(
      stepInfoOf(neg),
      { ...ref, settlingMin: -1.208, settlingMax: -0.9, steadyStateValue: -1 },
      dt,
    );
  });

  it("stepInfo – first-order lag rises in τ·ln 9 and settles (2 %) in τ·ln 50", () => {
    const tau = 2;
    const dt = 0.001;
    const r = stepResponse(tf(1, [tau, 1]), grid(20, dt));
    const info = stepInfo(r.times, r.values, { finalValue: 1 });
    expect(Math.abs(info.riseTime - tau * Math.log(9))).toBeLessThanOrEqual(dt);
    expect(Math.abs(info.settlingTime - tau * Math.log(50))).toBeLessThanOrEqual(dt);
    expect(info.overshoot).toBe(0);
    expect(info.undershoot).toBe(0);
    // Auto grid: within one of its samples.
    const auto = stepInfoOf(tf(1, [tau, 1]));
    const autoDt = stepResponse(tf(1, [tau, 1])).times[1]!;
    expect(Math.abs(auto.riseTime - tau * Math.log(9))).toBeLessThanOrEqual(autoDt);
    expect(Math.abs(auto.settlingTime - tau * Math.log(50))).toBeLessThanOrEqual(autoDt);
  });

  it("stepInfo – second-order overshoot is exp(−ζπ/√(1−ζ²)) at t = π/ωd", () => {
    for (const zeta of [0.2, 0.5, 0.7]) {
      const wn = 2;
      const dt = 0.001;
      const r = stepResponse(tf(wn ** 2, [1, 2 * zeta * wn, wn ** 2]), grid(20, dt));
      const info = stepInfo(r.times, r.values, { finalValue: 1 });
      const os = Math.exp((-zeta * Math.PI) / Math.sqrt(1 - zeta ** 2));
      expect(info.overshoot / (100 * os)).toBeCloseTo(1, 4);
      expect(info.peak).toBeCloseTo(1 + os, 5);
      expect(Math.abs(info.peakTime - Math.PI / (wn * Math.sqrt(1 - zeta ** 2)))).toBeLessThanOrEqual(dt);
    }
  });

  it("stepInfo – unstable and integrating systems have no steady state: all NaN", () => {
    // python-control siso_tf_type1: 1/(s(s+1)) gives NaN metrics (python-control gives Inf for the peak).
    for (const g of [tf(1, [1, 1, 0]), tf(1, [1, -1]), tf(1, [1, 0, 1])]) {
      const info = stepInfoOf(g);
      for (const v of Object.values(info)) expect(v).toBeNaN();
    }
    // With an explicit final value the metrics exist again: 1 − cos t overshoots by 100 %
    // (sampled peak, so within 0.5 percentage points on the automatic grid).
    expect(stepInfoOf(tf(1, [1, 0, 1]), { finalValue: 1, times: 20 }).overshoot).toBeCloseTo(100, 0);
  });

  it("stepInfo – a discretized system gives the continuous metrics to within one sample", () => {
    const g = tf([1, 5, 5], [1, 1.65, 5, 6.5, 2]);
    const info = stepInfoOf(discretize(g, 0.1));
    expectMatches(info, { riseTime: 3.8456, settlingTime: 27.9762, overshoot: 7.4915, peakTime: 8.053 }, 0.1);
  });
});

describe("stepInfo of data", () => {
  it("stepInfo – hand-computed metrics of a five-sample response", () => {
    // Final 1: 10 % first reached at t = 1 (0.5), 90 % at t = 2 (1.2) → rise 1;
    // last sample outside ±2 % is t = 3 (0.95) → settled at t = 4; overshoot 20 %.
    const info = stepInfo([0, 1, 2, 3, 4], [0, 0.5, 1.2, 0.95, 1]);
    expect(info).toEqual({
      riseTime: 1,
      settlingTime: 4,
      settlingMin: 0.95,
      settlingMax: 1.2,
      overshoot: expect.closeTo(20, 12),
      undershoot: 0,
      peak: 1.2,
      peakTime: 2,
      steadyStateValue: 1,
    });
  });

  it("stepInfo – a response that never settles has NaN settling time", () => {
    // y = 1 − cos t around final value 1: never within 2 %; 10 % at acos 0.9, 90 % at acos 0.1.
    const dt = 0.001;
    const times = grid(30, dt);
    const values = times.map((t) => 1 - Math.cos(t));
    const info = stepInfo(times, values, { finalValue: 1 });
    expect(info.settlingTime).toBeNaN();
    expect(Math.abs(info.riseTime - (Math.acos(0.1) - Math.acos(0.9)))).toBeLessThanOrEqual(dt);
    expect(info.overshoot).toBeCloseTo(100, 4);
    expect(info.settlingMin).toBeCloseTo(0, 5);
  });

  it("stepInfo – a setpoint step from a nonzero initial value is measured from it", () => {
    // y = 10 + 5(1 − e^{−t}): a step of +5 from 10.
    const dt = 0.001;
    const times = grid(20, dt);
    const values = times.map((t) => 10 + 5 * (1 - Math.exp(-t)));
    const info = stepInfo(times, values, { initialValue: 10, finalValue: 15 });
    expect(Math.abs(info.riseTime - Math.log(9))).toBeLessThanOrEqual(dt);
    expect(Math.abs(info.settlingTime - Math.log(50))).toBeLessThanOrEqual(dt);
    expect(info.steadyStateValue).toBe(15);
    // The peak is on the response's scale, as the steady state: 15, not the deviation 5.
    expect(info.peak).toBeCloseTo(15, 6);
    expect(info.settlingMax).toBe(15);
  });

  it("stepInfo – a negative-going step from a nonzero level reads like a unit step", () => {
    // y = 20 − 10·s(t), s the ζ = 0.5, ωn = 1 step response: overshoot 16.30 % below 10.
    const zeta = 0.5;
    const dt = 0.001;
    const g = tf(1, [1, 2 * zeta, 1]);
    const r = stepResponse(g, grid(30, dt));
    const values = r.values.map((s) => 20 - 10 * s);
    const info = stepInfo(r.times, values, { initialValue: 20, finalValue: 10 });
    const os = Math.exp((-zeta * Math.PI) / Math.sqrt(1 - zeta ** 2));
    expect(info.overshoot / (100 * os)).toBeCloseTo(1, 4);
    expect(info.undershoot).toBe(0);
    expect(info.settlingMin).toBeCloseTo(10 - 10 * os, 5);
    expect(info.peak).toBeCloseTo(10 - 10 * os, 5); // |y| where y is furthest from 20
    const unit = stepInfo(r.times, r.values, { finalValue: 1 });
    expect(info.riseTime).toBe(unit.riseTime);
    expect(info.settlingTime).toBe(unit.settlingTime);
  });

  it("stepInfo – stepTime skips the samples before the step and reports times from it", () => {
    const dt = 0.001;
    const times = grid(15, dt);
    const values = times.map((t) => (t < 2 ? 0 : 1 - Math.exp(-(t - 2))));
    const info = stepInfo(times, values, { stepTime: 2, finalValue: 1 });
    expect(Math.abs(info.settlingTime - Math.log(50))).toBeLessThanOrEqual(dt);
    expect(Math.abs(info.riseTime - Math.log(9))).toBeLessThanOrEqual(dt);
  });

  it("stepInfo – options change the band and the rise limits", () => {
    const dt = 0.001;
    const times = grid(20, dt);
    const values = times.map((t) => 1 - Math.exp(-t));
    const info = stepInfo(times, values, { settlingThreshold: 0.05, riseTimeLimits: [0.05, 0.95] });
    expect(Math.abs(info.settlingTime - Math.log(20))).toBeLessThanOrEqual(dt);
    expect(Math.abs(info.riseTime - (Math.log(20) - Math.log(1 / 0.95)))).toBeLessThanOrEqual(dt);
  });

  it("stepInfo – no step (final equals initial) gives NaN metrics; bad input throws", () => {
    const info = stepInfo([0, 1, 2], [0, 1, 0]);
    expect(info.riseTime).toBeNaN();
    expect(info.overshoot).toBeNaN();
    expect(info.steadyStateValue).toBe(0);
    expect(() => stepInfo([0, 1], [0])).toThrow(/same length/);
    expect(() => stepInfo([0, 1], [0, 1], { settlingThreshold: 2 })).toThrow(/`settlingThreshold`/);
    expect(() => stepInfo([0, 1], [0, 1], { riseTimeLimits: [0.9, 0.1] })).toThrow(/`riseTimeLimits`/);
    expect(() => stepInfo([0, 1], [0, Number.NaN])).toThrow(/`values\[1\]`/);
    expect(() => stepInfo([0, 1], [0, 1], { stepTime: 5 })).toThrow(/`stepTime`/);
    // A misspelt option is an error, not a silent 2 % band.
    expect(() => stepInfo([0, 1], [0, 1], { settlingTreshold: 0.05 } as never)).toThrow(
      /^Unknown stepInfo option `settlingTreshold`/,
    );
  });
});

describe("measuredStepInfo", () => {
  it("measuredStepInfo – measures a noisy step 40 → 80 from the measured start to a robust final value", () => {
    // 40 ± 1 before t = 5; then 85 for 0.5 s, then 80 ± 1 with one outlier of 200 in the last second.
    const times = Array.from({ length: 101 }, (_, k) => k / 10);
    const values = times.map((t, k) => {
      if (t < 5) return 40 + (k % 2 === 0 ? 1 : -1);
      if (t < 5.5) return 85;
      if (k === 99) return 200;
      return 80 + (k % 2 === 0 ? 1 : -1);
    });
    const info = measuredStepInfo(times, values, { stepTime: 5, before: 2, finalWindow: 3 });
    // Initial value: the mean of 40 ± 1 over [3, 5) = 40; final value: the median of (7, 10] = 80 or 81.
    expect(info.initialValue).toBeCloseTo(40, 12);
    expect([80, 81, 79]).toContain(info.steadyStateValue);
    // The peak of the response (85, on the same scale as the steady state) and the overshoot past it.
    expect(info.peak).toBe(200); // the outlier is the largest deviation, reported as it is
    expect(info.peakTime).toBeCloseTo(4.9, 9);
    const clean = measuredStepInfo(
      times,
      values.map((v) => (v === 200 ? 80 : v)),
      { stepTime: 5, finalWindow: 3 },
    );
    expect(clean.peak).toBe(85);
    expect(clean.overshoot).toBeCloseTo(
      (100 * (85 - clean.steadyStateValue)) / (clean.steadyStateValue - 40),
      9,
    );
    expect(measuredStepInfo(times, values, { stepTime: 0 }).overshoot).toBeNaN();
  });
});
