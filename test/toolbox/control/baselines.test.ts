import { describe, expect, it } from "vitest";
import {
  Aimd,
  Codel,
  FixedRate,
  Gradient2,
  Pie,
  pieAutoTuneScale,
  Vegas,
  vegasLog10,
} from "../../../toolbox/control/baselines/index.js";

describe("FixedRate", () => {
  it("fixed-rate – output is share times capacity whatever the measurement", () => {
    const fixed = new FixedRate({ capacity: 2000, share: 0.75 });
    expect(fixed.update(0)).toBe(1500);
    expect(fixed.update(1e6, 0.1)).toBe(1500);
    fixed.setParams({ share: 0.5 });
    expect(fixed.output).toBe(1000);
    expect(() => new FixedRate({ share: -1 })).toThrow(
      "Expected `share` to be a non-negative number, got `-1`",
    );
  });
});

describe("Aimd", () => {
  it("aimd – additive increase and multiplicative decrease make a sawtooth", () => {
    const aimd = new Aimd({ initialOutput: 10, increase: 2, decreaseFactor: 0.5 });
    const outputs: number[] = [];
    for (let k = 1; k <= 10; k++) outputs.push(aimd.update({ measurement: 0, congested: k % 5 === 0 }, 1));
    // +2 per second for four samples, then ×0.5; twice.
    expect(outputs).toEqual([12, 14, 16, 18, 9, 11, 13, 15, 17, 8.5]);
    expect(aimd.components.congested).toBe(1);
  });

  it("aimd – without a congested flag the measurement above the setpoint signals congestion", () => {
    const aimd = new Aimd({
      initialOutput: 100,
      increase: 10,
      decreaseFactor: 0.8,
      setpoint: 50,
      outputMax: 105,
    });
    expect(aimd.update(40, 0.5)).toBe(105); // 100 + 10·0.5 = 105, at the limit.
    expect(aimd.update(40, 0.5)).toBe(105);
    expect(aimd.update(60, 0.5)).toBe(84); // 105 · 0.8.
    // An explicit flag wins over the threshold.
    expect(aimd.update({ measurement: 60, congested: false }, 1)).toBe(94);
  });
});

describe("Pie", () => {
  it("pie – auto-tuning scale follows RFC 8033's table at its thresholds", () => {
    // RFC 8033 §4.2: p < 0.000001 → /2048, < 0.00001 → /512, < 0.0001 → /128,
    // < 0.001 → /32, < 0.01 → /8, < 0.1 → /2, else unscaled. Strict "<".
    const table: Array<[number, number]> = [
      [0, 1 / 2048],
      [0.000000999, 1 / 2048],
      [0.000001, 1 / 512],
      [0.00001, 1 / 128],
      [0.0001, 1 / 32],
      [0.001, 1 / 8],
      [0.01, 1 / 2],
      [0.0999, 1 / 2],
      [0.1, 1],
      [1, 1],
    ];
    for (const [p, scale] of table) expect(pieAutoTuneScale(p)).toBe(scale);
  });

  it("pie – drop probability follows the RFC 8033 update on a hand-computed sequence", () => {
    // Defaults: α = 0.125/s, β = 1.25/s, target 15 ms, one T_UPDATE (15 ms) per call.
    const pie = new Pie({ maxBurst: 0 });
    const step = (delay: number) => pie.update({ measurement: 100, delay });
    // 1: Δp = 0.125·(0.03 − 0.015) + 1.25·(0.03 − 0) = 0.039375; p = 0 < 1e-6 → /2048.
    step(0.03);
    let p = 0.039375 / 2048;
    expect(pie.components.p).toBeCloseTo(p, 15);
    // 2: Δp = 0.125·0.015 + 1.25·0 = 0.001875; p ≈ 1.9e-5 ∈ [1e-5, 1e-4) → /128.
    step(0.03);
    p += 0.001875 / 128;
    expect(pie.components.p).toBeCloseTo(p, 15);
    // 3: Δp = 0.125·0.045 + 1.25·0.03 = 0.043125; p ≈ 3.4e-5 → /128.
    step(0.06);
    p += 0.043125 / 128;
    expect(pie.components.p).toBeCloseTo(p, 15);
    // 4: Δp = 0.125·0.045 = 0.005625; p ≈ 3.7e-4 ∈ [1e-4, 1e-3) → /32.
    const output = step(0.06);
    p += 0.005625 / 32;
    expect(pie.components.p).toBeCloseTo(p, 15);
    // Delay ≥ target/2, backlog > 2 and no burst allowance: admit 1 − p.
    expect(output).toBeCloseTo(1 - p, 15);
  });

  it("pie – burst allowance suspends drops for maxBurst", () => {
    // maxBurst 150 ms = 10 updates of 15 ms (RFC 8033 §4.4).
    const pie = new Pie({ autoTune: false });
    const outputs = [];
    for (let k = 0; k < 11; k++) outputs.push(pie.update({ measurement: 100, delay: 0.05 }));
    expect(outputs.slice(0, 9).every((u) => u === 1)).toBe(true);
    expect(pie.components.burstAllowance).toBe(0);
    expect(outputs[10]).toBeLessThan(1);
    expect(outputs[10]).toBeCloseTo(1 - pie.components.p, 15);
  });

  it("pie – cap drop adjustment and decay on an empty queue", () => {
    // Without auto-tuning, Δp = α·(d − 0.015) + β·(d − d_old).
    const capped = new Pie({ autoTune: false, maxBurst: 0 });
    const uncapped = new Pie({ autoTune: false, maxBurst: 0, capDropAdjustment: false });
    for (const pie of [capped, uncapped]) pie.update({ measurement: 100, delay: 0.1 });
    // 0.125·0.085 + 1.25·0.1 = 0.135625 (p was 0 < 0.1: no cap yet).
    expect(capped.components.p).toBeCloseTo(0.135625, 15);
    for (const pie of [capped, uncapped]) pie.update({ measurement: 100, delay: 0.5 });
    // Δp = 0.125·0.485 + 1.25·0.4 = 0.560625; p ≥ 0.1 → capped at +0.02 (RFC 8033 §5.5).
    expect(capped.components.p).toBeCloseTo(0.155625, 15);
    expect(uncapped.components.p).toBeCloseTo(0.69625, 15);

    const decaying = new Pie({ autoTune: false, maxBurst: 0 });
    decaying.update({ measurement: 100, delay: 0.1 });
    decaying.update({ measurement: 0, delay: 0 });
    // 0.135625 − 0.001875 − 0.125; the previous delay was not 0, so no decay yet.
    expect(decaying.components.p).toBeCloseTo(0.00875, 15);
    decaying.update({ measurement: 0, delay: 0 });
    // Two zero delays in a row: (0.00875 − 0.001875)·0.98.
    expect(decaying.components.p).toBeCloseTo(0.0067375, 15);
  });

  it("pie – the RFC 8033 §4.1 safeguard suspends drops on a lightly loaded queue", () => {
    const pie = new Pie({ autoTune: false, maxBurst: 0 });
    // Δp = 0.125·0.185 + 1.25·0.2 = 0.273125 ≥ 0.2: dropped even if the delay falls.
    expect(pie.update({ measurement: 100, delay: 0.2 })).toBeCloseTo(1 - 0.273125, 15);
    // Δp = 0.125·(−0.01) + 1.25·(−0.195) = −0.245 → p = 0.028125 < 0.2 and delay < target/2: admit all.
    expect(pie.update({ measurement: 100, delay: 0.005 })).toBe(1);
    expect(pie.components.p).toBeCloseTo(0.028125, 15);
    expect(pie.components.applied).toBe(0);
    // Two messages or fewer queued: admit all whatever p says.
    const full = new Pie({ autoTune: false, maxBurst: 0 });
    full.update({ measurement: 100, delay: 0.2 });
    expect(full.update({ measurement: 2, delay: 0.2 })).toBe(1);
  });

  it("pie – runs one RFC update per tUpdate of elapsed time and estimates delay from serviceRate", () => {
    const pie = new Pie({ maxBurst: 0 });
    // 30 messages at 1000 msg/s: 30 ms of queueing delay (RFC 8033 §4.3).
    const observation = { measurement: 30, serviceRate: 1000 };
    pie.update(observation, 0.005);
    pie.update(observation, 0.005);
    expect(pie.components.p).toBe(0);
    pie.update(observation, 0.005);
    expect(pie.components.p).toBeCloseTo(0.039375 / 2048, 15);
    expect(pie.components.delay).toBeCloseTo(0.03, 15);
    expect(() => pie.update(30)).toThrow(/`delay`/);
    expect(pie.setpoint).toBe(0.015);
  });
});

describe("Codel", () => {
  it("codel – drops follow the control law interval/√count", () => {
    // Sojourn 20 ms > target 5 ms from t = 0, sampled every millisecond.
    const dt = 0.001;
    const codel = new Codel();
    const observation = { measurement: 10, delay: 0.02, arrivalRate: 10_000 };
    const dropTimes: number[] = [];
    let t = 0;
    for (let k = 0; k < 2000; k++) {
      t += dt;
      const output = codel.update(observation, dt);
      const { drops } = codel.components;
      expect(drops).toBeLessThanOrEqual(1);
      if (drops > 0) {
        dropTimes.push(t);
        // 10 arrivals per sample, one dropped.
        expect(output).toBeCloseTo(0.9, 12);
      } else {
        expect(output).toBe(1);
      }
    }
    // First drop once the delay has stayed above target for one interval (100 ms)
    // after the first sample saw it (RFC 8289 §5, first_above_time).
    const t0 = dropTimes[0]!;
    expect(t0).toBeGreaterThanOrEqual(0.101 - 1e-9);
    expect(t0).toBeLessThan(0.101 + dt);
    // Drop k + 1 is scheduled interval/√k after drop k's scheduled time.
    let scheduled = t0;
    for (let k = 1; k < dropTimes.length; k++) {
      scheduled += 0.1 / Math.sqrt(k);
      const seen = dropTimes[k]!;
      expect(seen).toBeGreaterThanOrEqual(scheduled - 1e-9);
      expect(seen).toBeLessThan(scheduled + dt);
    }
    // 0.101 + Σ_{k=1}^{n−1} 0.1/√k ≤ 2 s holds up to n = 105 (the 106th drop
    // would fall at 2.009 s), summed independently of the controller.
    let expected = 1;
    let at = 0.101;
    while (at + 0.1 / Math.sqrt(expected) <= 2) {
      at += 0.1 / Math.sqrt(expected);
      expected++;
    }
    expect(expected).toBe(105);
    expect(dropTimes.length).toBe(expected);
    expect(codel.components.count).toBe(expected);
  });

  it("codel – leaves the dropping state under target and resumes the drop rate on re-entry", () => {
    const dt = 0.01;
    const codel = new Codel();
    const high = { measurement: 50, delay: 0.02, arrivalRate: 1000 };
    const low = { measurement: 50, delay: 0.001, arrivalRate: 1000 };
    for (let k = 0; k < 100; k++) codel.update(high, dt);
    const count = codel.components.count;
    expect(codel.components.dropping).toBe(1);
    expect(count).toBeGreaterThan(2);
    codel.update(low, dt);
    expect(codel.components.dropping).toBe(0);
    expect(codel.components.drops).toBe(0);
    // Back above target: one interval later CoDel re-enters with
    // count = count − lastcount (lastcount = 1 at the previous entry).
    for (let k = 0; k < 12 && codel.components.dropping === 0; k++) codel.update(high, dt);
    expect(codel.components.dropping).toBe(1);
    expect(codel.components.count).toBe(count - 1);
    expect(() => codel.update({ measurement: 1, delay: 0.02 }, dt)).toThrow(/`arrivalRate`/);
  });
});

describe("Gradient2", () => {
  it("gradient2 – one-step values follow Gradient2Limit's update", () => {
    const g = new Gradient2({ initialLimit: 100, minLimit: 1, maxConcurrency: 1000 });
    // long = short = 0.1 → gradient 1 → new = 100 + 4; smoothed 100·0.8 + 104·0.2 = 100.8.
    expect(g.update({ measurement: 0, latency: 0.1 })).toBe(100);
    expect(g.components.limit).toBeCloseTo(100.8, 12);
    // long = mean(0.1, 0.2) = 0.15, short = 0.2 → gradient 0.75;
    // new = 100.8·0.75 + 4 = 79.6; smoothed 100.8·0.8 + 79.6·0.2 = 96.56.
    expect(g.update({ measurement: 0, latency: 0.2 })).toBe(96);
    expect(g.components.limit).toBeCloseTo(96.56, 12);
    expect(g.components.gradient).toBeCloseTo(0.75, 12);
  });

  it("gradient2 – limit grows with steady latency, shrinks when latency rises, holds when app-limited", () => {
    const g = new Gradient2({ initialLimit: 50, minLimit: 1 });
    let last = g.components.limit;
    for (let k = 0; k < 20; k++) {
      g.update({ measurement: 0, latency: 0.05, inflight: 50 });
      expect(g.components.limit).toBeGreaterThan(last);
      last = g.components.limit;
    }
    g.update({ measurement: 0, latency: 0.2, inflight: 1000 });
    expect(g.components.limit).toBeLessThan(last);
    last = g.components.limit;
    g.update({ measurement: 0, latency: 0.05, inflight: 1 });
    expect(g.components.limit).toBe(last);
  });

  it("gradient2 – a long RTT over twice the short one decays by 0.9", () => {
    const g = new Gradient2({ initialLimit: 100, minLimit: 1 });
    for (let k = 0; k < 10; k++) g.update({ measurement: 0, latency: 1 });
    g.update({ measurement: 0, latency: 0.4 });
    // EMA factor 2/(600 + 1) after the 10-sample warmup, then ×0.9 because 0.998 / 0.4 > 2.
    const f = 2 / 601;
    expect(g.components.longRtt).toBeCloseTo((1 - f + 0.4 * f) * 0.9, 12);
    expect(() => g.update(3)).toThrow(/`latency`/);
  });
});

describe("Vegas", () => {
  it("vegas – log10 thresholds match Log10RootFunction", () => {
    // Reference: concurrency-limits Log10RootFunctionTest: f(0) = 1, f(100) = 2, f(10000) = 4.
    expect(vegasLog10(0)).toBe(1);
    expect(vegasLog10(100)).toBe(2);
    expect(vegasLog10(10_000)).toBe(4);
  });

  it("vegas – limits match Netflix's VegasLimitTest", () => {
    // Reference: concurrency-limits VegasLimitTest (alpha 3, beta 6, smoothing 1,
    // initial 10, max 20); samples are (rtt, inflight, didDrop = false).
    const create = () => new Vegas({ alpha: 3, beta: 6, smoothing: 1, initialLimit: 10, maxConcurrency: 20 });
    const sample = (v: Vegas, rttMs: number, inflight: number) =>
      v.update({ measurement: 0, latency: rttMs / 1000, inflight });

    const increase = create();
    expect(sample(increase, 10, 10)).toBe(10); // First sample: no-load RTT only.
    expect(sample(increase, 10, 11)).toBe(16); // queue 0 ≤ L(10) = 1 → +beta.

    // Not in VegasLimitTest, same rule at its edge: queue ⌈10·(1 − 10/11)⌉ = 1 ≤ L(10) → +beta.
    const edge = create();
    sample(edge, 10, 10);
    expect(sample(edge, 11, 11)).toBe(16);

    const decrease = create();
    sample(decrease, 10, 10);
    expect(sample(decrease, 50, 11)).toBe(9); // queue ⌈10·(1 − 10/50)⌉ = 8 > 6 → −L(10).

    const steady = create();
    sample(steady, 10, 10);
    expect(sample(steady, 14, 14)).toBe(10); // queue ⌈10·(1 − 10/14)⌉ = 3: 3 ≤ q ≤ 6 → unchanged.

    // largeLimitIncrease: default alpha/beta, initial 10000, max 20000 → 10000, then + 6·L(10000) = 10024.
    const large = new Vegas({ initialLimit: 10_000, maxConcurrency: 20_000 });
    expect(large.update({ measurement: 0, latency: 10, inflight: 5000 })).toBe(10_000);
    expect(large.update({ measurement: 0, latency: 10, inflight: 6000 })).toBe(10_024);
  });

  it("vegas – re-probes the no-load RTT after jitter·probeMultiplier·limit samples", () => {
    // limit 10, probeMultiplier 1, jitter in [0.5, 1): the probe comes on sample 5…10.
    const v = new Vegas({ alpha: 3, beta: 6, initialLimit: 10, probeMultiplier: 1, seed: 7 });
    v.update({ measurement: 0, latency: 0.01, inflight: 10 });
    let probedAt = Number.NaN;
    for (let k = 2; k <= 12 && Number.isNaN(probedAt); k++) {
      // queue ⌈10·(1 − 0.01/0.02)⌉ = 5 lies in [alpha, beta]: the limit stays 10.
      v.update({ measurement: 0, latency: 0.02, inflight: 10 });
      if (v.components.rttNoLoad === 0.02) probedAt = k;
    }
    expect(probedAt).toBeGreaterThanOrEqual(5);
    expect(probedAt).toBeLessThanOrEqual(10);
    expect(v.output).toBe(10);
  });

  it("vegas – a drop shrinks the limit by L(limit)", () => {
    const v = new Vegas({ initialLimit: 100, maxConcurrency: 200 });
    v.update({ measurement: 0, latency: 0.01 });
    expect(v.update({ measurement: 0, latency: 0.01, congested: true })).toBe(98);
    expect(() => v.update({ measurement: 0, latency: 0 })).toThrow(/`latency`/);
  });
});
