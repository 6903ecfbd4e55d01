import { describe, expect, it } from "vitest";
import { tuneCascadeOuter, tuneQueuePid } from "../../experiments/identification.js";

describe("identification", () => {
  it("identification – a queue fitted with θ = 0 gets a τc that respects the sample time, not a deadbeat loop", () => {
    const t = tuneQueuePid({ gain: 1, theta: 0 }, 0.1);
    expect(t.design.margins.ms).toBeLessThanOrEqual(1.6);
    expect(t.design.margins.crossoverPerSample).toBeLessThanOrEqual(0.5);
    // Skogestad's plain τc = θ_eff = h/2 on the same fit: kp·h = 1, far past both limits.
    expect(t.plain.kp * 0.1).toBeCloseTo(1, 12);
    expect(t.plain.margins.crossoverPerSample).toBeGreaterThan(1);
    expect(t.gains.kp).toBeLessThan(t.plain.kp / 2);
  });

  it("identification – the cascade's outer loop is slower than its inner loop", () => {
    // Inner integral loop ki = 5 /s: closed-loop time constant 0.2 s, bandwidth 5 rad/s. The outer loop,
    // designed with that lag in its dead time, crosses over well below it; the plain backlog design
    // (which the cascade used before) crosses over at 5 rad/s — as fast as its own inner loop.
    const innerKi = 5;
    const outer = tuneCascadeOuter({ gain: 1, theta: 0 }, 0.1, innerKi);
    const plain = tuneQueuePid({ gain: 1, theta: 0 }, 0.1);
    expect(outer.design.margins.crossover).toBeLessThan(innerKi / 2);
    expect(plain.design.margins.crossover).toBeGreaterThan(0.9 * innerKi);
    expect(outer.thetaEffective).toBeCloseTo(1 / innerKi + 0.05, 12);
  });
});
