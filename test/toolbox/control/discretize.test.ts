import { describe, expect, it } from "vitest";
import { discretize } from "../../../toolbox/control/discretize.js";
import { polyvalComplex } from "../../../toolbox/control/poly.js";
import { stepResponse } from "../../../toolbox/control/response.js";
import { type TransferFunction, tf } from "../../../toolbox/control/tf.js";

function evaluate(sys: TransferFunction, z: { re: number; im: number }): { re: number; im: number } {
  const n = polyvalComplex(sys.num, z);
  const d = polyvalComplex(sys.den, z);
  const m = d.re * d.re + d.im * d.im;
  return { re: (n.re * d.re + n.im * d.im) / m, im: (n.im * d.re - n.re * d.im) / m };
}

function expectCoefficients(got: readonly number[], want: readonly number[], digits = 12): void {
  expect(got).toHaveLength(want.length);
  got.forEach((c, i) => {
    expect(c).toBeCloseTo(want[i]!, digits);
  });
}

describe("discretize", () => {
  it("discretize – ZOH of a/(s+a) is (1 − e^{−aT})/(z − e^{−aT})", () => {
    // Step-invariant transform of a first-order lag (Franklin, Powell & Workman, Table 4.1).
    for (const [a, T] of [
      [2, 0.1],
      [0.5, 1],
      [10, 0.01],
    ] as const) {
      const g = discretize(tf(a, [1, a]), T);
      const e = Math.exp(-a * T);
      expect(g.dt).toBe(T);
      expectCoefficients(g.num, [1 - e], 14);
      expectCoefficients(g.den, [1, -e], 14);
    }
  });

  it("discretize – ZOH of 1/s² is T²/2·(z + 1)/(z − 1)²", () => {
    // Double integrator, Franklin, Powell & Workman §4.3.
    const T = 0.1;
    const g = discretize(tf(1, [1, 0, 0]), T);
    expectCoefficients(g.num, [T ** 2 / 2, T ** 2 / 2], 14);
    expectCoefficients(g.den, [1, -2, 1], 14);
  });

  it("discretize – Tustin of 1/s is T/2·(z + 1)/(z − 1)", () => {
    const T = 0.2;
    const g = discretize(tf(1, [1, 0]), T, { method: "tustin" });
    expectCoefficients(g.num, [T / 2, T / 2], 14);
    expectCoefficients(g.den, [1, -1], 14);
  });

  it("discretize – Tustin with prewarp matches the continuous response at the prewarp frequency", () => {
    const g = tf(1, [1, 1]);
    const T = 0.5;
    const w = 3;
    const c = evaluate(g, { re: 0, im: w });
    const warped = discretize(g, T, { method: "tustin", prewarp: w });
    const d = evaluate(warped, { re: Math.cos(w * T), im: Math.sin(w * T) });
    expect(d.re).toBeCloseTo(c.re, 12);
    expect(d.im).toBeCloseTo(c.im, 12);
    // Plain Tustin misses at that frequency (frequency warping), so the test can tell them apart.
    const plain = evaluate(discretize(g, T, { method: "tustin" }), {
      re: Math.cos(w * T),
      im: Math.sin(w * T),
    });
    expect(Math.abs(plain.re - c.re) + Math.abs(plain.im - c.im)).toBeGreaterThan(1e-3);
  });

  it("discretize – ZOH step response equals the continuous one at the samples", () => {
    // ZOH is step-invariant: exact at t = kT (reference system from MATLAB's stepinfo example).
    const g = tf([1, 5, 5], [1, 1.65, 5, 6.5, 2]);
    const gz = discretize(g, 0.5);
    const discrete = stepResponse(gz, 30);
    const continuous = stepResponse(g, discrete.times);
    discrete.values.forEach((v, k) => {
      expect(v).toBeCloseTo(continuous.values[k]!, 10);
    });
  });

  it("discretize – a fractional dead time is exact: whole samples stay in theta, the rest adds a state", () => {
    // e^{−0.25s}/(s + 1) at T = 0.1: 2 whole samples + 0.05 s fraction.
    const g = tf(1, [1, 1], { theta: 0.25 });
    const gz = discretize(g, 0.1);
    expect(gz.theta).toBeCloseTo(0.2, 14);
    expect(gz.den).toHaveLength(3);
    const r = stepResponse(gz, 3);
    r.times.forEach((t, k) => {
      const want = t >= 0.25 ? 1 - Math.exp(-(t - 0.25)) : 0;
      expect(r.values[k]).toBeCloseTo(want, 12);
    });
  });

  it("discretize – a dead time of whole samples keeps the rational part unchanged", () => {
    const gz = discretize(tf(2, [1, 2], { theta: 0.3 }), 0.1);
    expect(gz.theta).toBeCloseTo(0.3, 14);
    expectCoefficients(gz.den, [1, -Math.exp(-0.2)], 14);
  });

  it("discretize – validates its arguments with named messages", () => {
    const g = tf(1, [1, 1]);
    expect(() => discretize(g, -1)).toThrow("Expected `sampleTime` to be a positive number, got `-1`");
    expect(() => discretize(tf(1, [1, -0.5], { dt: 0.1 }), 0.1)).toThrow(/continuous system/);
    expect(() => discretize(g, 0.1, { method: "tustin", prewarp: 100 })).toThrow(/`prewarp`/);
    expect(() => discretize(g, 0.1, { prewarp: 1 })).toThrow(/`prewarp`/);
    expect(() => discretize(tf(1, [1, 1], { theta: 0.25 }), 0.1, { method: "tustin" })).toThrow(
      /whole number/,
    );
    expect(() => discretize(tf([1, 0, 0], [1, 1]), 0.1)).toThrow(/proper/);
  });
});
