import { describe, expect, it } from "vitest";
import { CodelQueue } from "../../../toolbox/control/baselines/codel.js";
import { FixedWindow } from "../../../toolbox/control/baselines/fixed-window.js";
import { PieQueue } from "../../../toolbox/control/baselines/pie.js";

describe("queue disciplines", () => {
  it("pie queue – departure-rate estimate, then RFC 8033's drop probability from queue/rate", () => {
    const pie = new PieQueue({
      target: 0.02,
      tUpdate: 0.1,
      alpha: 0.5,
      beta: 1,
      maxBurst: 0,
      autoTune: false,
      capDropAdjustment: false,
      dqThreshold: 4,
    });
    // A cycle starts with 4+ queued; it counts 4 departures over 0.01 → 0.04 s: 4/0.03 msg/s.
    for (const t of [0.01, 0.02, 0.03, 0.04]) expect(pie.onDequeue(t, 0.05, 20)).toBe(false);
    expect(pie.components.departureRate).toBeCloseTo(4 / 0.03, 9);
    // The update at t = 0.1 reads qdelay = 20/(4/0.03) = 0.15 s: p = 0.5·(0.15 − 0.02) + 1·(0.15 − 0).
    pie.advance(0.1, 20);
    const p = 0.5 * (0.15 - 0.02) + 0.15;
    expect(pie.components.p).toBeCloseTo(p, 12);
    expect(pie.output).toBeCloseTo(1 - p, 12);
    // Enqueue drops with probability p (the queue's random draw decides).
    expect(pie.onEnqueue(0.1, 20, () => p - 0.01)).toBe(true);
    expect(pie.onEnqueue(0.1, 20, () => p + 0.01)).toBe(false);
    // No drop with at most minBacklog (2) waiting.
    expect(pie.onEnqueue(0.1, 2, () => 0)).toBe(false);
  });

  it("pie queue – no drop while the burst allowance lasts, nor before the first rate measurement", () => {
    const pie = new PieQueue({ target: 0.02, tUpdate: 0.015, maxBurst: 0.15 });
    // No departure-rate measurement yet: qdelay reads 0, p stays 0, nothing drops.
    pie.advance(1, 50);
    expect(pie.components.p).toBe(0);
    expect(pie.onEnqueue(1, 50, () => 0)).toBe(false);
    // A measurement of 100 msg/s; 50 queued is 0.5 s of delay, yet the burst allowance (150 ms = 10 updates) holds drops.
    for (let k = 0; k < 10; k++) pie.onDequeue(1 + k * 0.01, 0.1, 50);
    pie.advance(1.1, 50);
    expect(pie.components.p).toBeGreaterThan(0);
    expect(pie.components.burstAllowance).toBeGreaterThan(0);
    expect(pie.onEnqueue(1.1, 50, () => 0)).toBe(false);
    pie.advance(1.4, 50);
    expect(pie.components.burstAllowance).toBe(0);
    expect(pie.onEnqueue(1.4, 50, () => 0)).toBe(true);
  });

  it("codel queue – RFC 8289's dropping state and control law, one head at a time", () => {
    const codel = new CodelQueue({ target: 0.005, interval: 0.1 });
    // Above target from t = 0: not before a whole interval has passed.
    expect(codel.onDequeue(0, 0.01, 5)).toBe(false);
    expect(codel.onDequeue(0.05, 0.01, 5)).toBe(false);
    // At t = 0.1: enter the dropping state, drop this head; the next drop at 0.1 + 0.1/√1.
    expect(codel.onDequeue(0.1, 0.01, 5)).toBe(true);
    expect(codel.components).toMatchObject({ dropping: 1, count: 1 });
    expect(codel.components.dropNext).toBeCloseTo(0.2, 12);
    expect(codel.onDequeue(0.1, 0.01, 4)).toBe(false); // the next head is served
    expect(codel.onDequeue(0.15, 0.01, 5)).toBe(false);
    // At 0.2: second drop, then every 0.1/√count.
    expect(codel.onDequeue(0.2, 0.01, 5)).toBe(true);
    expect(codel.components.count).toBe(2);
    expect(codel.components.dropNext).toBeCloseTo(0.2 + 0.1 / Math.SQRT2, 12);
    // A head under target ends the dropping state.
    expect(codel.onDequeue(0.25, 0.001, 5)).toBe(false);
    expect(codel.components.dropping).toBe(0);
    // update() reports the share served since the last call: 2 drops in 7 heads.
    expect(codel.update(0)).toBeCloseTo(5 / 7, 12);
    expect(codel.update(0)).toBe(1);
  });

  it("codel queue – never above target with at most maxPacket waiting, and an empty queue resets the timer", () => {
    const codel = new CodelQueue({ target: 0.005, interval: 0.1, maxPacket: 1 });
    for (let k = 0; k < 5; k++) expect(codel.onDequeue(k * 0.1, 1, 1)).toBe(false);
    expect(codel.onDequeue(0.5, 1, 3)).toBe(false);
    codel.advance(0.55, 0);
    // The interval starts again after the queue emptied.
    expect(codel.onDequeue(0.6, 1, 3)).toBe(false);
    expect(codel.onDequeue(0.65, 1, 3)).toBe(false);
    expect(codel.onDequeue(0.7, 1, 3)).toBe(true);
  });

  it("fixed window – outputs its window whatever it reads", () => {
    const w = new FixedWindow({ window: 32 });
    expect(w.update({ measurement: 1000 }, 0.1)).toBe(32);
    w.setParams({ window: 16 });
    expect(w.update(0)).toBe(16);
    expect(() => new FixedWindow({ window: 0 })).toThrow(/`window`/);
  });
});
