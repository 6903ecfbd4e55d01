import { describe, expect, it } from "vitest";
import { tuneCascadeOuter, tuneQueuePid } from "../../experiments/identification.js";

describe("identification", () => {
  it("identification – a queue fitted with θ = 0 gets a τc that respects the sample time, not a deadbeat loop", () => {
    const t = tuneQueuePid({ gain: 1, theta: 0 }, 0.1);
    expect(t.design.margins.ms).toBeLessThanOrEqual(1.6);
    expect(t.design.margins.crossoverPerSample).toBeLessThanOrEqual(0.5);
    // Skogestad's plain τc = θ + h/2 = h/2 on the same fit: kp·h = 1, far past both limits.
    expect(t.plain.kp * 0.1).toBeCloseTo(1, 12);
    expect(t.plain.margins.crossoverPerSample).toBeGreaterThan(1);
    expect(t.gains.kp).toBeLessThan(t.plain.kp / 2);
  });

  it("identification – the backlog design counts the hold and the filter in θ_eff, and a 0.2 s stale reading in its margins", () => {
    const h = 0.1;
    const t = tuneQueuePid({ gain: 1, theta: 0.03 }, h);
    // θ_eff = θ + h/2 + τf, the filter one sample period by default.
    expect(t.gains.measurementTau).toBe(h);
    expect(t.thetaEffective).toBeCloseTo(0.03 + 0.05 + 0.1, 12);
    // Ms ≤ 1.6 as fitted and with the reading 0.2 s late; the delay margin covers the budget.
    expect(t.design.staleness).toBe(0.2);
    expect(t.design.staleMargins.ms).toBeLessThanOrEqual(1.6 + 1e-9);
    expect(t.design.margins.delayMargin).toBeGreaterThan(0.2);
    // The rule without filter and budget (ωc·h = 0.5) has a delay margin under 0.2 s: with the reading
    // 0.2 s late it is unstable (gain margin < 1), which is the limit cycle the robustness runs showed.
    expect(t.unbudgeted.margins.crossoverPerSample).toBeCloseTo(0.5, 2);
    expect(t.unbudgeted.margins.delayMargin).toBeLessThan(0.2);
    expect(t.unbudgeted.staleMargins.gainMargin).toBeLessThan(1);
    expect(t.design.staleMargins.gainMargin).toBeGreaterThan(3);
  });

  it("identification – the cascade's outer loop is slower than its inner loop", () => {
    // Inner integral loop ki = 5 /s: closed-loop time constant 0.2 s, bandwidth 5 rad/s. The outer loop,
    // designed with that lag in its dead time, crosses over well below it; the plain backlog design
    // (which the cascade used before) crosses over at 5 rad/s — as fast as its own inner loop.
    const innerKi = 5;
    const outer = tuneCascadeOuter({ gain: 1, theta: 0 }, 0.1, innerKi);
    const plain = tuneQueuePid({ gain: 1, theta: 0 }, 0.1, { measurementTau: 0, staleness: 0 });
    expect(outer.design.margins.crossover).toBeLessThan(innerKi / 2);
    expect(plain.design.margins.crossover).toBeGreaterThan(0.9 * innerKi);
    expect(outer.thetaEffective).toBeCloseTo(1 / innerKi + 0.05, 12);
  });
});
