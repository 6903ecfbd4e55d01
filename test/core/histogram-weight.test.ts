import { describe, expect, it } from "vitest";
import { Histogram } from "../../core/meter.js";

describe("histogram", () => {
  it("meter – record(ms, n) counts n samples of that duration", () => {
    const one = new Histogram(0);
    const many = new Histogram(0);
    for (let i = 0; i < 16; i++) one.record(2);
    one.record(50);
    many.record(2, 16);
    many.record(50);
    expect(many.count).toBe(17);
    for (const q of [0.5, 0.9, 0.99]) expect(many.quantile(q)).toBe(one.quantile(q));
  });
});
