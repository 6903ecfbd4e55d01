import { describe, expect, it } from "vitest";
import { polyvalComplex } from "../../../toolbox/control/poly.js";
import {
  approximateDelay,
  dcGain,
  feedback,
  pade,
  parallel,
  pidTf,
  poles,
  series,
  type TransferFunction,
  tf,
  zeros,
} from "../../../toolbox/control/tf.js";

/** |p(z)| relative to the size of the terms, to check that z is a root. */
function residual(p: readonly number[], z: { re: number; im: number }): number {
  const v = polyvalComplex(p, z);
  const r = Math.hypot(z.re, z.im);
  const scale = p.reduce((s, c, i) => s + Math.abs(c) * r ** (p.length - 1 - i), 0);
  return Math.hypot(v.re, v.im) / scale;
}

/** G(jω) or G(z) at a complex point. */
function evaluate(sys: TransferFunction, z: { re: number; im: number }): { re: number; im: number } {
  const n = polyvalComplex(sys.num, z);
  const d = polyvalComplex(sys.den, z);
  const m = d.re * d.re + d.im * d.im;
  return { re: (n.re * d.re + n.im * d.im) / m, im: (n.im * d.re - n.re * d.im) / m };
}

// The MATLAB `stepinfo` example used by python-control's tests.
const reference = tf([1, 5, 5], [1, 1.65, 5, 6.5, 2]);

describe("TransferFunction", () => {
  it("tf – keeps coefficients highest power first and strips leading zeros", () => {
    const g = tf([0, 0, 2, 1], [0, 1, 3, 2]);
    expect(g.num).toEqual([2, 1]);
    expect(g.den).toEqual([1, 3, 2]);
    expect(g.dt).toBe(0);
    expect(g.theta).toBe(0);
    expect(g.isDiscrete).toBe(false);
    expect(tf(3).num).toEqual([3]);
  });

  it("tf – rejects bad coefficients, sample times and dead times with named messages", () => {
    expect(() => tf([1], [0, 0])).toThrow(RangeError);
    expect(() => tf([Number.NaN], [1])).toThrow(/`num`/);
    expect(() => tf([1], [])).toThrow(TypeError);
    expect(() => tf(1, [1, 1], { dt: -1 })).toThrow(
      "Expected `dt` to be a non-negative number (0 = continuous), got `-1`",
    );
    expect(() => tf(1, [1, 1], { theta: -0.5 })).toThrow(/`theta`/);
    // Discrete dead time must be a whole number of samples.
    expect(() => tf(1, [1, -0.5], { dt: 0.1, theta: 0.25 })).toThrow(/whole number of samples/);
    expect(tf(1, [1, -0.5], { dt: 0.1, theta: 0.3 }).theta).toBe(0.3);
  });
});

describe("interconnection", () => {
  it("feedback – unity negative feedback of K/(s+1) has DC gain K/(1+K)", () => {
    for (const k of [0.5, 1, 4, 100]) {
      const closed = feedback(tf(k, [1, 1]));
      expect(dcGain(closed)).toBeCloseTo(k / (1 + k), 12);
      // Closed loop K/(s + 1 + K): one pole at −(1+K).
      expect(closed.num).toEqual([k]);
      expect(closed.den).toEqual([1, 1 + k]);
    }
  });

  it("feedback – positive feedback and a return path follow g/(1 − sign·g·h)", () => {
    // g = 1/(s+2), h = 3/(s+5), positive: (s+5)/((s+2)(s+5) − 3) = (s+5)/(s² + 7s + 7).
    const pos = feedback(tf(1, [1, 2]), tf(3, [1, 5]), 1);
    expect(pos.num).toEqual([1, 5]);
    expect(pos.den).toEqual([1, 7, 7]);
    const neg = feedback(tf(1, [1, 2]), tf(3, [1, 5]));
    expect(neg.den).toEqual([1, 7, 13]);
    expect(() => feedback(1, 1, 1)).toThrow(/algebraic loop/);
  });

  it("series – multiplies polynomials and adds dead times", () => {
    const g = series(tf(2, [1, 1], { theta: 0.5 }), tf([1, 3], [1, 0], { theta: 0.25 }), 3);
    expect(g.num).toEqual([6, 18]);
    expect(g.den).toEqual([1, 1, 0]);
    expect(g.theta).toBe(0.75);
    expect(() => series(tf(1, [1, 1]), tf(1, [1, 1], { dt: 0.1 }))).toThrow(/same `dt`/);
  });

  it("parallel – sums over a common denominator; different continuous delays throw", () => {
    // 1/(s+1) + 2/(s+3) = (3s + 5)/(s² + 4s + 3)
    const g = parallel(tf(1, [1, 1]), tf(2, [1, 3]));
    expect(g.num).toEqual([3, 5]);
    expect(g.den).toEqual([1, 4, 3]);
    expect(parallel(tf(1, [1, 1], { theta: 1 }), tf(1, [1, 2], { theta: 1 })).theta).toBe(1);
    expect(() => parallel(tf(1, [1, 1], { theta: 1 }), 1)).toThrow(/approximateDelay/);
  });

  it("feedback – a continuous dead time in the loop throws, a discrete one is exact", () => {
    expect(() => feedback(tf(1, [1, 1], { theta: 0.2 }))).toThrow(/approximateDelay/);
    // 0.5·z⁻¹ in unity negative feedback: 0.5/(z + 0.5).
    const closed = feedback(tf(0.5, 1, { dt: 1, theta: 1 }));
    expect(closed.num).toEqual([0.5]);
    expect(closed.den).toEqual([1, 0.5]);
    expect(closed.dt).toBe(1);
  });
});

describe("pade", () => {
  it("pade – first and second order match the textbook approximants", () => {
    // e^{−θs} ≈ (1 − θs/2)/(1 + θs/2) and (1 − θs/2 + θ²s²/12)/(1 + θs/2 + θ²s²/12), monic denominators.
    const theta = 0.4;
    const p1 = pade(theta, 1);
    expect(p1.num[0]).toBeCloseTo(-1, 14);
    expect(p1.num[1]).toBeCloseTo(2 / theta, 12);
    expect(p1.den).toEqual([1, 2 / theta]);
    const p2 = pade(theta, 2);
    const c = [theta ** 2 / 12, theta / 2, 1].map((x) => x / (theta ** 2 / 12));
    expect(p2.den[1]).toBeCloseTo(c[1]!, 10);
    expect(p2.den[2]).toBeCloseTo(c[2]!, 10);
    expect(p2.num[1]).toBeCloseTo(-c[1]!, 10);
    expect(p2.num[2]).toBeCloseTo(c[2]!, 10);
  });

  it("pade – is all-pass with phase close to −ωθ well below n/θ", () => {
    const theta = 1;
    const p = pade(theta, 4);
    expect(dcGain(p)).toBeCloseTo(1, 12);
    for (const w of [0.1, 0.5, 1]) {
      const g = evaluate(p, { re: 0, im: w });
      expect(Math.hypot(g.re, g.im)).toBeCloseTo(1, 12);
      // 4th-order Padé phase error at ωθ = 1 is below 1e-6 rad.
      expect(Math.atan2(g.im, g.re)).toBeCloseTo(-w * theta, 6);
    }
  });

  it("approximateDelay – replaces the dead time by a Padé factor so feedback works", () => {
    const g = tf(1, [1, 1], { theta: 0.5 });
    const approx = approximateDelay(g, 2);
    expect(approx.theta).toBe(0);
    expect(approx.den.length).toBe(4);
    expect(dcGain(feedback(approx))).toBeCloseTo(0.5, 12);
    expect(() => pade(1, 0)).toThrow(/`order`/);
  });
});

describe("pidTf", () => {
  it("pidTf – PI is (kp·s + ki)/s and a filtered PID follows the parallel form", () => {
    const pi = pidTf({ kp: 2, ki: 3 });
    expect(pi.num).toEqual([2, 3]);
    expect(pi.den).toEqual([1, 0]);
    // kp + ki/s + kd·s/(tf·s + 1) = ((kp·tf + kd)s² + (kp + ki·tf)s + ki)/(tf·s² + s)
    const pid = pidTf({ kp: 2, ki: 3, kd: 0.5, tf: 0.1 });
    expect(pid.num).toEqual([0.7, 2.3, 3]);
    expect(pid.den).toEqual([0.1, 1, 0]);
    for (const s of [
      { re: 0.3, im: 1.1 },
      { re: -2, im: 0.5 },
    ]) {
      const got = evaluate(pid, s);
      const mag2 = s.re * s.re + s.im * s.im;
      // 3/s
      const integral = { re: (3 * s.re) / mag2, im: (-3 * s.im) / mag2 };
      // 0.5·s/(0.1·s + 1)
      const dn = { re: 0.5 * s.re, im: 0.5 * s.im };
      const dd = { re: 0.1 * s.re + 1, im: 0.1 * s.im };
      const dm = dd.re * dd.re + dd.im * dd.im;
      const deriv = { re: (dn.re * dd.re + dn.im * dd.im) / dm, im: (dn.im * dd.re - dn.re * dd.im) / dm };
      expect(got.re).toBeCloseTo(2 + integral.re + deriv.re, 12);
      expect(got.im).toBeCloseTo(integral.im + deriv.im, 12);
    }
  });

  it("pidTf – a PD or P controller has no pole at the origin", () => {
    const pd = pidTf({ kp: 2, kd: 0.5, tf: 0.1 });
    expect(pd.num).toEqual([0.7, 2]);
    expect(pd.den).toEqual([0.1, 1]);
    expect(pidTf({ kp: 4 }).num).toEqual([4]);
    expect(pidTf({ kp: 4 }).den).toEqual([1]);
    expect(() => pidTf({ kp: 1, tf: -1 })).toThrow(/`tf`/);
  });
});

describe("properties", () => {
  it("poles – the reference system's poles are roots of its denominator", () => {
    const p = poles(reference);
    expect(p).toHaveLength(4);
    for (const z of p) expect(residual(reference.den, z)).toBeLessThan(1e-13);
    // Vieta: Σp = −1.65, Πp = 2 (independent of the solver).
    const sum = p.reduce((s, z) => s + z.re, 0);
    expect(sum).toBeCloseTo(-1.65, 12);
    let prod = { re: 1, im: 0 };
    for (const z of p) prod = { re: prod.re * z.re - prod.im * z.im, im: prod.re * z.im + prod.im * z.re };
    expect(prod.re).toBeCloseTo(2, 12);
    expect(prod.im).toBeCloseTo(0, 12);
    // Two real poles and one conjugate pair, all stable.
    expect(p.filter((z) => z.im === 0)).toHaveLength(2);
    expect(p.every((z) => z.re < 0)).toBe(true);
  });

  it("zeros – match the quadratic formula", () => {
    // s² + 5s + 5 = 0  →  s = (−5 ± √5)/2
    const z = zeros(reference);
    expect(z.map((r) => r.re)).toEqual([
      expect.closeTo((-5 - Math.sqrt(5)) / 2, 12),
      expect.closeTo((-5 + Math.sqrt(5)) / 2, 12),
    ]);
    expect(zeros(tf(3, [1, 1]))).toEqual([]);
  });

  it("poles – equal-modulus roots (s³ + 1) that defeat mathjs eigs still come out", () => {
    const p = poles(tf(1, [1, 0, 0, 1]));
    expect(p).toHaveLength(3);
    expect(p[0]!.re).toBeCloseTo(-1, 10);
    expect(p[1]!.re).toBeCloseTo(0.5, 10);
    expect(Math.abs(p[1]!.im)).toBeCloseTo(Math.sqrt(3) / 2, 10);
    const q = poles(tf(1, [1, 0, 0, 0, 0, 0, 1], { dt: 1 }));
    for (const z of q) {
      expect(residual([1, 0, 0, 0, 0, 0, 1], z)).toBeLessThan(1e-12);
      expect(Math.hypot(z.re, z.im)).toBeCloseTo(1, 12);
    }
  });

  it("poles – integrators come out as exact zeros", () => {
    expect(poles(tf(1, [1, 2, 0, 0]))).toEqual([
      { re: -2, im: 0 },
      { re: 0, im: 0 },
      { re: 0, im: 0 },
    ]);
  });

  it("dcGain – G(0) in continuous time, G(1) in discrete time, Infinity for an integrator", () => {
    expect(dcGain(reference)).toBe(2.5);
    expect(dcGain(tf(1, [1, 1, 0]))).toBe(Infinity);
    // s/(s² + s): the common s cancels, DC gain 1.
    expect(dcGain(tf([1, 0], [1, 1, 0]))).toBe(1);
    // 0.2/(z − 0.8) → 0.2/0.2 = 1
    expect(dcGain(tf(0.2, [1, -0.8], { dt: 0.1 }))).toBeCloseTo(1, 14);
    expect(dcGain(tf(1, [1, -1], { dt: 0.1 }))).toBe(Infinity);
    expect(dcGain(tf(0, [1, 1]))).toBe(0);
  });
});
