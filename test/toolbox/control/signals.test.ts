import { describe, expect, it } from "vitest";
import {
  burst,
  clamp,
  constant,
  delayed,
  noise,
  piecewise,
  product,
  ramp,
  sample,
  sinusoid,
  step,
  sum,
  toSignal,
} from "../../../toolbox/control/signals.js";

describe("signals", () => {
  it("signals – step switches from `from` to `to` at `at` (inclusive)", () => {
    const s = step({ at: 5, from: 100, to: 60 });
    expect(s(4.999)).toBe(100);
    expect(s(5)).toBe(60);
    expect(s(1e6)).toBe(60);
    expect(step({ to: 1 })(0)).toBe(1);
    expect(step({ to: 1 })(-1)).toBe(0);
  });

  it("signals – ramp rises linearly between start and end and holds outside", () => {
    const r = ramp({ start: 2, end: 6, from: 10, to: 30 }); // slope 5
    expect(r(0)).toBe(10);
    expect(r(2)).toBe(10);
    expect(r(4)).toBe(20);
    expect(r(6)).toBe(30);
    expect(r(100)).toBe(30);
    expect(ramp({ slope: -2 })(3)).toBe(-6);
    expect(() => ramp({ start: 2, end: 1 })).toThrow(RangeError);
  });

  it("signals – burst adds `height` for `duration`, optionally every `period`", () => {
    const b = burst({ start: 10, duration: 2, height: 50, base: 80 });
    expect([b(9.9), b(10), b(11.9), b(12)]).toEqual([80, 130, 130, 80]);
    const train = burst({ start: 0, duration: 1, height: 1, period: 4 });
    expect([train(0.5), train(1.5), train(4.2), train(9.5)]).toEqual([1, 0, 1, 0]);
    expect(() => burst({ duration: 2, height: 1, period: 1 })).toThrow(
      "Expected `period` to be a number not less than `duration` (2), got `1`",
    );
  });

  it("signals – sinusoid has its offset, peak at a quarter period, zero at half", () => {
    const s = sinusoid({ amplitude: 3, period: 8, offset: 1 });
    expect(s(0)).toBeCloseTo(1, 12);
    expect(s(2)).toBeCloseTo(4, 12);
    expect(s(4)).toBeCloseTo(1, 12);
    expect(s(6)).toBeCloseTo(-2, 12);
    expect(sinusoid({ period: 1, phase: Math.PI / 2 })(0)).toBeCloseTo(1, 12);
  });

  it("signals – noise is a pure, seeded function of time held over sampleTime", () => {
    const n = noise({ sd: 2, mean: 5, seed: 3, sampleTime: 0.5 });
    expect(n(1.1)).toBe(n(1.4)); // same hold interval
    expect(n(1.1)).not.toBe(n(1.6));
    expect(n(7.3)).toBe(noise({ sd: 2, mean: 5, seed: 3, sampleTime: 0.5 })(7.3));
    expect(n(7.3)).not.toBe(noise({ sd: 2, mean: 5, seed: 4, sampleTime: 0.5 })(7.3));
    // Moments over 100k intervals: SE of the mean 2/316 ≈ 0.006.
    for (const distribution of ["normal", "uniform"] as const) {
      const m = noise({ sd: 2, mean: 5, seed: 1, sampleTime: 1, distribution });
      let s = 0;
      let s2 = 0;
      const count = 100_000;
      for (let k = 0; k < count; k++) {
        const x = m(k + 0.5);
        s += x;
        s2 += x * x;
      }
      const mean = s / count;
      expect(Math.abs(mean - 5)).toBeLessThan(0.03);
      expect(Math.abs(Math.sqrt(s2 / count - mean * mean) - 2)).toBeLessThan(0.03);
    }
  });

  it("signals – piecewise holds each value from its time on", () => {
    const p = piecewise([0, 10, 20], [5, 7, 9]);
    expect([p(-1), p(0), p(9.99), p(10), p(15), p(25)]).toEqual([5, 5, 5, 7, 7, 9]);
    expect(() => piecewise([0, 0], [1, 2])).toThrow(RangeError);
  });

  it("signals – sum, product, clamp and delayed compose signals and constants", () => {
    const load = sum(80, burst({ start: 10, duration: 5, height: 60 }), ramp({ slope: 1 }));
    expect(load(0)).toBe(80);
    expect(load(12)).toBe(80 + 60 + 12);
    expect(product(2, constant(3), (t: number) => t)(4)).toBe(24);
    const c = clamp((t: number) => t, 0, 10);
    expect([c(-5), c(5), c(50)]).toEqual([0, 5, 10]);
    expect(delayed(step({ at: 1, to: 1 }), 2)(2.5)).toBe(0);
    expect(delayed(step({ at: 1, to: 1 }), 2)(3)).toBe(1);
    expect(Array.from(sample(ramp({ slope: 2 }), [0, 1, 2]))).toEqual([0, 2, 4]);
    expect(toSignal(4)(123)).toBe(4);
  });

  it("signals – options are validated with named messages", () => {
    expect(() => sinusoid({ period: 0 })).toThrow("Expected `period` to be a positive number, got `0`");
    expect(() => noise({ sd: -1 })).toThrow("Expected `sd` to be a non-negative number, got `-1`");
    expect(() => toSignal("x" as unknown as number, "load")).toThrow(TypeError);
  });
});
