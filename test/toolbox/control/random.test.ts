import { describe, expect, it } from "vitest";
import {
  checkShape,
  type DistributionShape,
  Random,
  sampleWithMean,
  secondMoment,
  uniformAt,
} from "../../../toolbox/control/random.js";

const N = 200_000;

/** Mean and variance of n draws. */
function moments(draw: () => number, n = N): { mean: number; variance: number } {
  let s = 0;
  let s2 = 0;
  for (let i = 0; i < n; i++) {
    const x = draw();
    s += x;
    s2 += x * x;
  }
  const mean = s / n;
  return { mean, variance: s2 / n - mean * mean };
}

/** Fraction of n draws for which `pred` holds. */
function fraction(draw: () => number, pred: (x: number) => boolean, n = N): number {
  let k = 0;
  for (let i = 0; i < n; i++) if (pred(draw())) k++;
  return k / n;
}

describe("random", () => {
  it("random – the same seed gives the same sequence, other seeds and streams differ", () => {
    const a = new Random(42);
    const b = new Random(42);
    const xs = Array.from({ length: 100 }, () => a.next());
    expect(Array.from({ length: 100 }, () => b.next())).toEqual(xs);
    const c = new Random(43);
    const d = new Random(42, 1);
    expect(c.next()).not.toBe(xs[0]);
    expect(d.next()).not.toBe(xs[0]);
    a.reset();
    expect(a.next()).toBe(xs[0]);
  });

  it("random – next() is uniform on [0, 1): mean 1/2, variance 1/12, deciles of 1/10", () => {
    // Tolerances: standard error of the mean sqrt(1/12/N) ≈ 0.00065; we allow ~5 σ.
    const r = new Random(1);
    const { mean, variance } = moments(() => r.next());
    expect(Math.abs(mean - 0.5)).toBeLessThan(0.003);
    expect(Math.abs(variance - 1 / 12)).toBeLessThan(0.002);
    for (let d = 0; d < 10; d++) {
      // Binomial sd sqrt(0.09/N) ≈ 0.00067.
      expect(
        Math.abs(
          fraction(
            () => r.next(),
            (x) => x >= d / 10 && x < (d + 1) / 10,
          ) - 0.1,
        ),
      ).toBeLessThan(0.004);
    }
    for (let i = 0; i < 10_000; i++) {
      const x = r.next();
      expect(x >= 0 && x < 1).toBe(true);
    }
  });

  it("random – int() covers [min, max] uniformly", () => {
    const r = new Random(2);
    const counts = [0, 0, 0, 0, 0, 0];
    for (let i = 0; i < 60_000; i++) counts[r.int(1, 6) - 1]!++;
    for (const c of counts) expect(Math.abs(c / 60_000 - 1 / 6)).toBeLessThan(0.01);
  });

  it("random – normal() has the given mean and sd and 95 % within ±1.96 sd", () => {
    const r = new Random(3);
    const { mean, variance } = moments(() => r.normal(10, 2));
    expect(Math.abs(mean - 10)).toBeLessThan(0.03); // SE 2/sqrt(N) ≈ 0.0045
    expect(Math.abs(Math.sqrt(variance) - 2)).toBeLessThan(0.02);
    expect(
      Math.abs(
        fraction(
          () => r.normal(),
          (x) => Math.abs(x) < 1.959964,
        ) - 0.95,
      ),
    ).toBeLessThan(0.003);
  });

  it("random – exponential() has mean 1/rate and P(X > 1/rate) = e^−1", () => {
    const r = new Random(4);
    const { mean, variance } = moments(() => r.exponential(4));
    expect(Math.abs(mean - 0.25)).toBeLessThan(0.003);
    expect(Math.abs(variance - 0.0625)).toBeLessThan(0.002);
    expect(
      Math.abs(
        fraction(
          () => r.exponential(4),
          (x) => x > 0.25,
        ) - Math.exp(-1),
      ),
    ).toBeLessThan(0.004);
  });

  it("random – pareto() has the tail (xm/x)^α and mean α·xm/(α − 1)", () => {
    const r = new Random(5);
    // α = 3, xm = 2: P(X > 4) = 2^−3 = 0.125; mean 3.
    expect(
      Math.abs(
        fraction(
          () => r.pareto(2, 3),
          (x) => x > 4,
        ) - 0.125,
      ),
    ).toBeLessThan(0.004);
    expect(
      fraction(
        () => r.pareto(2, 3),
        (x) => x < 2,
      ),
    ).toBe(0);
    const { mean } = moments(() => r.pareto(2, 3), 1_000_000);
    expect(Math.abs(mean / 3 - 1)).toBeLessThan(0.01);
  });

  it("random – lognormal() has median e^μ and mean e^{μ + σ²/2}", () => {
    const r = new Random(6);
    expect(
      Math.abs(
        fraction(
          () => r.lognormal(1, 0.5),
          (x) => x < Math.E,
        ) - 0.5,
      ),
    ).toBeLessThan(0.004);
    const { mean } = moments(() => r.lognormal(1, 0.5));
    expect(Math.abs(mean / Math.exp(1.125) - 1)).toBeLessThan(0.005);
  });

  it("random – sampleWithMean keeps the mean for every shape, secondMoment matches sampling", () => {
    const shapes: DistributionShape[] = [
      { kind: "deterministic" },
      { kind: "exponential" },
      { kind: "pareto", shape: 3.5 },
      { kind: "lognormal", sigma: 0.6 },
    ];
    for (const shape of shapes) {
      const r = new Random(7);
      let s = 0;
      let s2 = 0;
      const n = 400_000;
      for (let i = 0; i < n; i++) {
        const x = sampleWithMean(r, shape, 0.2);
        s += x;
        s2 += x * x;
      }
      expect(Math.abs(s / n / 0.2 - 1)).toBeLessThan(0.01);
      expect(Math.abs(s2 / n / secondMoment(shape, 0.2) - 1)).toBeLessThan(0.03);
    }
    // Closed forms: exponential E[X²] = 2m², Pareto α ≤ 2 has infinite variance.
    expect(secondMoment({ kind: "exponential" }, 3)).toBe(18);
    expect(secondMoment({ kind: "pareto", shape: 1.5 }, 1)).toBe(Number.POSITIVE_INFINITY);
  });

  it("random – checkShape names the bad field", () => {
    expect(() => checkShape("service", { kind: "pareto", shape: 1 })).toThrow(
      "Expected `service.shape` to be a number greater than 1, got `1`",
    );
    expect(() => checkShape("service", { kind: "lognormal", sigma: -1 })).toThrow(RangeError);
    expect(() => checkShape("service", { kind: "gamma" } as unknown as DistributionShape)).toThrow(
      RangeError,
    );
    expect(() => new Random(Number.NaN)).toThrow("Expected `seed` to be a finite number, got `NaN`");
  });

  it("random – uniformAt is a pure function of (seed, index) and uniform across indices", () => {
    expect(uniformAt(3, 17)).toBe(uniformAt(3, 17));
    expect(uniformAt(3, 17)).not.toBe(uniformAt(4, 17));
    expect(uniformAt(3, 17)).not.toBe(uniformAt(3, 18));
    let i = -100_000;
    const { mean, variance } = moments(() => uniformAt(9, i++));
    expect(Math.abs(mean - 0.5)).toBeLessThan(0.003);
    expect(Math.abs(variance - 1 / 12)).toBeLessThan(0.002);
    // Consecutive indices are uncorrelated (lag-1 correlation ~ N(0, 1/N)).
    let c = 0;
    for (let k = 0; k < N; k++) c += (uniformAt(9, k) - 0.5) * (uniformAt(9, k + 1) - 0.5);
    expect(Math.abs((c / N) * 12)).toBeLessThan(0.01);
  });
});
