import { describe, expect, it } from "vitest";
import { DelayWindow } from "../../../toolbox/control/delay-window.js";

const obs = (measurement: number, serviceRate: number, latency?: number) => ({
  measurement,
  serviceRate,
  ...(latency === undefined ? {} : { latency }),
});

describe("delay window", () => {
  it("delay window – the window is D*·μ̂, μ̂ the filtered service rate", () => {
    const c = new DelayWindow({ setpoint: 0.25, ki: 0, rateTau: 2, busyBacklog: 0, releaseTau: 0 });
    // The first sample starts the filter at the measured rate: 0.25 · 200 = 50.
    expect(c.update(obs(50, 200), 0.1)).toBeCloseTo(50, 12);
    // A small change (no evidence of a drop or a rise) moves μ̂ by (1 − e^{−0.1/2}) of it.
    const a = 1 - Math.exp(-0.1 / 2);
    expect(c.update(obs(50, 210), 0.1)).toBeCloseTo(0.25 * (200 + a * 10), 12);
    expect(c.components.ff).toBeCloseTo(0.25 * (200 + a * 10), 12);
    expect(c.components.level).toBeCloseTo(200 + a * 10, 12);
    // With the default release lag (0.5 s) the window rises through it instead.
    const lagged = new DelayWindow({ setpoint: 0.25, ki: 0, busyBacklog: 0 });
    lagged.update(obs(50, 200), 0.1);
    const release = 1 - Math.exp(-0.1 / 0.5);
    expect(lagged.update(obs(50, 210), 0.1)).toBeCloseTo(0.25 * (200 + release * a * 10), 12);
  });

  it("delay window – a halved service rate moves the window from the first sample and is taken at the third", () => {
    const c = new DelayWindow({ setpoint: 0.25, ki: 0, busyBacklog: 0 });
    c.update(obs(50, 200), 0.1);
    // 10 served where 20 were expected: 3.07 nats of evidence; the window goes (3.07 − 1)/(6 − 1) of the
    // way to D* times the rate since the drop began (the rate-estimator tests check the arithmetic).
    const first = c.update(obs(50, 100), 0.1);
    expect(c.components.evidence).toBeCloseTo(10 - 10 * Math.LN2, 12);
    expect(first).toBeLessThan(0.25 * 160);
    // Without acting on partial evidence the window waits for the alarm.
    const plain = new DelayWindow({ setpoint: 0.25, ki: 0, busyBacklog: 0, graded: false, releaseTau: 0 });
    plain.update(obs(50, 200), 0.1);
    expect(plain.update(obs(50, 100), 0.1)).toBeGreaterThan(0.25 * 190);
    // The third sample passes 6 nats: μ̂ is the mean since the drop, 100, and the window D*·100.
    for (const loop of [c, plain]) {
      loop.update(obs(50, 100), 0.1);
      expect(loop.update(obs(50, 100), 0.1)).toBeCloseTo(25, 9);
      expect(loop.components.level).toBeCloseTo(100, 9);
    }
  });

  it("delay window – μ̂ learns only while the workers are busy, and never falls under the floor", () => {
    const c = new DelayWindow({ setpoint: 0.5, ki: 0, busyBacklog: 8, rateFloor: 20 });
    c.update(obs(10, 100), 0.1);
    c.update(obs(10, 100), 0.1);
    // An idle pool (backlog 3 < 8) serves what arrives, not its capacity: μ̂ holds.
    expect(c.update(obs(3, 10), 0.1)).toBeCloseTo(50, 9);
    expect(c.update(obs(3, 10), 0.1)).toBeCloseTo(50, 9);
    const low = new DelayWindow({ setpoint: 0.5, ki: 0, busyBacklog: 0, rateFloor: 20 });
    expect(low.update(obs(10, 5), 0.1)).toBeCloseTo(0.5 * 20, 9);
  });

  it("delay window – the window never drops under busyBacklog, so a collapsed rate estimate recovers", () => {
    // The service rate collapses (a worker stall): μ̂ follows to its floor. A window under the 8
    // workers would keep them from ever being busy again and μ̂ would never relearn; it stays at 8.
    const c = new DelayWindow({ setpoint: 0.2, ki: 0, busyBacklog: 8, rateFloor: 10 });
    c.update(obs(40, 200), 0.1);
    for (let k = 0; k < 30; k++) c.update(obs(20, 5), 0.1);
    expect(c.components.rate).toBe(10);
    expect(c.output).toBe(8);
    // With 8 in the system the workers are busy again: the capacity is relearnt and the window reopens.
    for (let k = 0; k < 30; k++) c.update(obs(8, 200), 0.1);
    expect(c.output).toBeCloseTo(0.2 * 200, 0);
  });

  it("delay window – the PI trim integrates the measured sojourn's error, bounded and without windup", () => {
    const c = new DelayWindow({ setpoint: 0.2, kp: 0, ki: 2, busyBacklog: 0, trimLimit: 0.5 });
    // Full window (backlog 40 ≥ 40 − 1), sojourn 0.3 s: e = −0.1, I = 2·(−0.1)·0.1 = −0.02 s.
    expect(c.update(obs(40, 200, 0.3), 0.1)).toBeCloseTo((0.2 - 0.02) * 200, 9);
    expect(c.components.i).toBeCloseTo(-0.02, 12);
    // The trim stops at −0.5·D* = −0.1 s, and the integral does not run on past it.
    for (let k = 0; k < 20; k++) c.update(obs(40, 200, 0.3), 0.1);
    expect(c.components.trim).toBeCloseTo(-0.1, 12);
    expect(c.components.i).toBeGreaterThanOrEqual(-0.1 - 0.02);
    expect(c.update(obs(40, 200, 0.2), 0.1)).toBeCloseTo(0.1 * 200, 9);
  });

  it("delay window – no upward integration while the window is not full (load under capacity)", () => {
    const c = new DelayWindow({ setpoint: 0.2, ki: 2, busyBacklog: 0 });
    c.update(obs(40, 200, 0.2), 0.1);
    // Sojourn 0.1 s, under D*, but only 10 of the 40 credits used: raising the window would change nothing.
    for (let k = 0; k < 10; k++) c.update(obs(10, 200, 0.1), 0.1);
    expect(c.components.i).toBe(0);
    // With the window full the same error integrates.
    c.update(obs(40, 200, 0.1), 0.1);
    expect(c.components.i).toBeCloseTo(2 * 0.1 * 0.1, 12);
  });

  it("delay window – reads backlog/μ̂ when no sojourn is measured, and checks its inputs", () => {
    const c = new DelayWindow({ setpoint: 0.2, ki: 1, busyBacklog: 0 });
    c.update(obs(30, 100), 0.1);
    // No latency: the delay is 30/100 = 0.3 s.
    expect(c.components.delay).toBeCloseTo(0.3, 12);
    expect(() => c.update({ measurement: 3 }, 0.1)).toThrow(/`serviceRate`/);
    expect(() => new DelayWindow({ setpoint: 0 })).toThrow(/`setpoint`/);
    expect(() => new DelayWindow({ windowMin: 5, windowMax: 2 })).toThrow(RangeError);
  });
});
