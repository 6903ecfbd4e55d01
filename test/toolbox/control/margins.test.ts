import { describe, expect, it } from "vitest";
import { loopMargins, loopResponse, simcSampled } from "../../../toolbox/control/margins.js";
import { simcIntegrating } from "../../../toolbox/control/tuning.js";

const deg = 180 / Math.PI;

describe("loop margins", () => {
  it("margins – continuous SIMC on an integrator with τc = θ matches Skogestad's published figures", () => {
    // Skogestad (2003), integrating process, τc = θ: Ms 1.70, GM 2.96, PM 46.9°, ωc ≈ 0.5/θ.
    // Tolerances: the paper's last printed digit (±0.005, ±0.05°); ωc·θ within 0.02 of 0.5.
    const theta = 1;
    const t = simcIntegrating({ gain: 1, theta });
    const m = loopMargins({ gain: 1, theta }, { kp: t.kp, ki: t.ki });
    expect(Math.abs(m.ms - 1.7)).toBeLessThan(0.005);
    expect(Math.abs(m.gainMargin - 2.96)).toBeLessThan(0.005);
    expect(Math.abs(m.phaseMargin - 46.9)).toBeLessThan(0.05);
    expect(Math.abs(m.crossover * theta - 0.5)).toBeLessThan(0.02);
    expect(m.crossoverPerSample).toBeNaN();
    // Scaling: the same design on θ = 4, k = 3 has the same Ms and margins, ωc four times lower.
    const t4 = simcIntegrating({ gain: 3, theta: 4 });
    const m4 = loopMargins({ gain: 3, theta: 4 }, { kp: t4.kp, ki: t4.ki });
    expect(m4.ms).toBeCloseTo(m.ms, 6);
    expect(m4.gainMargin).toBeCloseTo(m.gainMargin, 6);
    expect(m4.crossover).toBeCloseTo(m.crossover / 4, 6);
  });

  it("margins – P control of a sampled integrator, L = K/(z − 1), matches the hand results", () => {
    // |S| peaks at z = −1: Ms = 2/(2 − K); GM = 2/K at Nyquist; 2·sin(ωc·h/2) = K; PM = 90° − ωc·h/2.
    for (const K of [1, 0.5, 0.2]) {
      const h = 0.1;
      const m = loopMargins({ gain: 1, theta: 0 }, { kp: K / h, ki: 0 }, { sampleTime: h });
      const wch = 2 * Math.asin(K / 2);
      expect(m.ms).toBeCloseTo(2 / (2 - K), 9);
      expect(m.gainMargin).toBeCloseTo(2 / K, 9);
      expect(m.phaseCrossover).toBeCloseTo(Math.PI / h, 9);
      expect(m.crossoverPerSample).toBeCloseTo(wch, 9);
      expect(m.phaseMargin).toBeCloseTo(90 - (wch / 2) * deg, 6);
    }
  });

  it("margins – whole and fractional sample dead times match the hand results", () => {
    const h = 0.1;
    // θ = h: L = K/(z(z − 1)); the phase reaches −180° at ωh = π/3 where |L| = K: GM = 1/K.
    const one = loopMargins({ gain: 1, theta: h }, { kp: 5, ki: 0 }, { sampleTime: h });
    expect(one.gainMargin).toBeCloseTo(2, 9);
    expect(one.phaseCrossover * h).toBeCloseTo(Math.PI / 3, 9);
    // θ = h/2: L = K(z + 1)/(2z(z − 1)); −180° at ωh = π/2 where |L| = K/2: GM = 2/K.
    const half = loopMargins({ gain: 1, theta: h / 2 }, { kp: 5, ki: 0 }, { sampleTime: h });
    expect(half.gainMargin).toBeCloseTo(4, 9);
    expect(half.phaseCrossover * h).toBeCloseTo(Math.PI / 2, 9);
    // First order, no dead time, P only: L = kp·K(1 − a)/(z − a), GM = (1 + a)/(kp·K(1 − a)) at z = −1.
    const a = Math.exp(-h / 0.3);
    const fo = loopMargins({ gain: 2, tau: 0.3, theta: 0 }, { kp: 3, ki: 0 }, { sampleTime: h });
    expect(fo.gainMargin).toBeCloseTo((1 + a) / (3 * 2 * (1 - a)), 9);
    const l = loopResponse({ gain: 2, tau: 0.3, theta: 0 }, { kp: 3, ki: 0 }, Math.PI / h, h);
    expect(l[0]).toBeCloseTo((-3 * 2 * (1 - a)) / (1 + a), 9);
  });

  it("margins – a measurement filter in the sampled loop matches the hand result", () => {
    // P control of k/s at h with the Pid's filter F(z) = (1 − a)z/(z − a): L = K(1 − a)z/((z − 1)(z − a)),
    // K = kp·k·h. The phase reaches −180° only at Nyquist, z = −1, where L = −K(1 − a)/(2(1 + a)):
    // GM = 2(1 + a)/(K(1 − a)). Without the filter (a = 0) it is 2/K.
    const h = 0.1;
    for (const tf of [0.05, 0.1, 0.3]) {
      const a = Math.exp(-h / tf);
      const m = loopMargins({ gain: 1, theta: 0 }, { kp: 2, ki: 0 }, { sampleTime: h, measurementTau: tf });
      expect(m.gainMargin).toBeCloseTo((2 * (1 + a)) / (0.2 * (1 - a)), 9);
      expect(m.phaseCrossover).toBeCloseTo(Math.PI / h, 9);
      const l = loopResponse({ gain: 1, theta: 0 }, { kp: 2, ki: 0 }, Math.PI / h, h, tf);
      expect(l[0]).toBeCloseTo((-0.2 * (1 - a)) / (2 * (1 + a)), 9);
    }
    // Continuous: k/s · 1/(τf s + 1) under P control has no phase crossover (GM ∞) and PM = 90° − atan(ωc·τf).
    const c = loopMargins({ gain: 1, theta: 0 }, { kp: 4, ki: 0 }, { measurementTau: 0.5 });
    expect(c.gainMargin).toBe(Number.POSITIVE_INFINITY);
    // |L| = 4/(ω·√(1 + 0.25ω²)) = 1 ⇔ ω⁴/4 + ω² − 16 = 0 ⇔ ω² = 2(√17 − 1).
    const wc = Math.sqrt(2 * (Math.sqrt(1 + 16) - 1));
    expect(c.crossover).toBeCloseTo(wc, 9);
    expect(c.phaseMargin).toBeCloseTo(90 - Math.atan(0.5 * wc) * deg, 6);
  });

  it("margins – the delay margin is PM/ωc: that much more dead time puts the loop at the limit", () => {
    // P control of a sampled integrator: 2·sin(ωc·h/2) = K and PM = 90° − ωc·h/2 (hand results above).
    const h = 0.1;
    const K = 0.2;
    const wch = 2 * Math.asin(K / 2);
    const m = loopMargins({ gain: 1, theta: 0 }, { kp: K / h, ki: 0 }, { sampleTime: h });
    expect(m.delayMargin).toBeCloseTo(((Math.PI / 2 - wch / 2) / wch) * h, 9);
    // Continuous SIMC on θ = 1: added dead time moves only the phase, so with θ + DM the phase margin is 0.
    const t = simcIntegrating({ gain: 1, theta: 1 });
    const c = loopMargins({ gain: 1, theta: 1 }, { kp: t.kp, ki: t.ki });
    expect(c.delayMargin).toBeCloseTo(46.9 / deg / c.crossover, 1);
    const edge = loopMargins({ gain: 1, theta: 1 + c.delayMargin }, { kp: t.kp, ki: t.ki });
    expect(Math.abs(edge.phaseMargin)).toBeLessThan(1e-6);
    expect(edge.gainMargin).toBeCloseTo(1, 3);
  });

  it("margins – the sampled loop tends to the continuous one as h → 0 (within 0.1 %)", () => {
    const t = simcIntegrating({ gain: 1, theta: 1 });
    const continuous = loopMargins({ gain: 1, theta: 1 }, { kp: t.kp, ki: t.ki });
    const sampled = loopMargins({ gain: 1, theta: 1 }, { kp: t.kp, ki: t.ki }, { sampleTime: 0.001 });
    expect(Math.abs(sampled.ms / continuous.ms - 1)).toBeLessThan(1e-3);
    expect(Math.abs(sampled.gainMargin / continuous.gainMargin - 1)).toBeLessThan(1e-3);
    expect(Math.abs(sampled.crossover / continuous.crossover - 1)).toBeLessThan(1e-3);
  });

  it("margins – SIMC with τc = θ + h/2 on a queue fitted with θ = 0 is near deadbeat once sampled", () => {
    // The design a 0.1 s loop got from a θ = 0 fit: kp·h = 1, ωc·h ≈ 1.2, Ms ≈ 2.3.
    const d = simcSampled({ gain: 1, theta: 0 }, 0.1, { tauC: 0.05 });
    expect(d.kp * 0.1).toBeCloseTo(1, 12);
    expect(d.margins.crossoverPerSample).toBeGreaterThan(1.1);
    expect(d.margins.ms).toBeGreaterThan(2.2);
    expect(d.withinLimits).toBe(false);
  });

  it("margins – simcSampled picks the smallest τc with Ms ≤ 1.6 and ωc·h ≤ 0.5", () => {
    for (const theta of [0, 0.05, 0.2]) {
      const h = 0.1;
      const d = simcSampled({ gain: 1, theta }, h);
      expect(d.withinLimits).toBe(true);
      expect(d.margins.ms).toBeLessThanOrEqual(1.6);
      expect(d.margins.crossoverPerSample).toBeLessThanOrEqual(0.5);
      expect(d.thetaEffective).toBeCloseTo(theta + h / 2, 12);
      // 1 % tighter breaks a limit: τc is the smallest that meets them.
      expect(simcSampled({ gain: 1, theta }, h, { tauC: d.tauC * 0.99 }).withinLimits).toBe(false);
      // The gains are SIMC's for that τc and θ_eff.
      const rule = simcIntegrating({ gain: 1, theta: d.thetaEffective }, { tauC: d.tauC });
      expect(d.kp).toBeCloseTo(rule.kp, 12);
      expect(d.ki).toBeCloseTo(rule.ki, 12);
    }
    // Other limits are honoured too.
    const loose = simcSampled({ gain: 1, theta: 0 }, 0.1, { maxMs: 2, maxCrossoverPerSample: 0.8 });
    expect(loose.margins.crossoverPerSample).toBeLessThanOrEqual(0.8);
    expect(loose.tauC).toBeLessThan(simcSampled({ gain: 1, theta: 0 }, 0.1).tauC);
  });

  it("margins – simcSampled counts the measurement filter in θ_eff and meets Ms with the staleness budget", () => {
    const h = 0.1;
    const d = simcSampled({ gain: 1, theta: 0.03 }, h, { measurementTau: 0.1, staleness: 0.2 });
    expect(d.thetaEffective).toBeCloseTo(0.03 + 0.05 + 0.1, 12);
    expect(d.withinLimits).toBe(true);
    expect(d.margins.ms).toBeLessThanOrEqual(1.6);
    expect(d.staleMargins.ms).toBeLessThanOrEqual(1.6);
    // The stale margins are those of the model with 0.2 s more dead time, with the filter.
    const check = loopMargins({ gain: 1, theta: 0.23 }, d, { sampleTime: h, measurementTau: 0.1 });
    expect(d.staleMargins.ms).toBeCloseTo(check.ms, 9);
    // The budget binds: 1 % tighter breaks Ms ≤ 1.6 with the stale reading, and without the budget the
    // same filter allows a much faster loop.
    expect(
      simcSampled({ gain: 1, theta: 0.03 }, h, { measurementTau: 0.1, staleness: 0.2, tauC: d.tauC * 0.99 })
        .withinLimits,
    ).toBe(false);
    expect(simcSampled({ gain: 1, theta: 0.03 }, h, { measurementTau: 0.1 }).kp).toBeGreaterThan(1.5 * d.kp);
    // The gains are SIMC's for that τc and θ_eff.
    const rule = simcIntegrating({ gain: 1, theta: d.thetaEffective }, { tauC: d.tauC });
    expect(d.kp).toBeCloseTo(rule.kp, 12);
    expect(d.ki).toBeCloseTo(rule.ki, 12);
  });

  it("margins – inputs are validated", () => {
    expect(() => loopMargins({ gain: 0, theta: 0 }, { kp: 1, ki: 0 })).toThrow(/`gain`/);
    expect(() => loopMargins({ gain: 1, theta: -1 }, { kp: 1, ki: 0 })).toThrow(/`theta`/);
    expect(() => loopMargins({ gain: 1, theta: 0 }, { kp: 0, ki: 0 })).toThrow(RangeError);
    expect(() => loopMargins({ gain: 1, theta: 0 }, { kp: 1, ki: 0 }, { sampleTime: 0 })).toThrow(
      /`sampleTime`/,
    );
    expect(() => simcSampled({ gain: 1, theta: 0 }, 0.1, { maxMs: 1 })).toThrow(/`maxMs`/);
    expect(() => simcSampled({ gain: 1, theta: 0 }, 0.1, { staleness: -1 })).toThrow(/`staleness`/);
    expect(() =>
      loopMargins({ gain: 1, theta: 0 }, { kp: 1, ki: 0 }, { sampleTime: 0.1, measurementTau: -1 }),
    ).toThrow(/`measurementTau`/);
  });
});
