import { describe, expect, it } from "vitest";
import { Cascade } from "../../../toolbox/control/cascade.js";
import { Pid } from "../../../toolbox/control/pid.js";
import { FluidQueue } from "../../../toolbox/control/plants/fluid-queue.js";
import { step } from "../../../toolbox/control/signals.js";

/** Outer P-only (kp = 2, setpoint 10) and inner P-only (kp = 3): every number below is hand-computed. */
function pOnly(options: Partial<ConstructorParameters<typeof Cascade>[0]> = {}): Cascade {
  return new Cascade({
    outer: new Pid({ kp: 2, setpoint: 10 }),
    inner: new Pid({ kp: 3 }),
    ...options,
  });
}

describe("cascade", () => {
  it("cascade – the outer output is the inner setpoint", () => {
    const c = pOnly();
    // Outer: 2·(10 − 5) = 10 is the inner setpoint; inner: 3·(10 − 4) = 18.
    expect(c.update({ measurement: 5, arrivalRate: 4 }, 0.1)).toBe(18);
    expect(c.output).toBe(18);
    expect(c.components).toMatchObject({
      innerSetpoint: 10,
      innerMeasurement: 4,
      ff: 0,
      outerP: 10,
      innerP: 18,
    });
    expect(c.inner.setpoint).toBe(10);
  });

  it("cascade – feedforward adds kff times the signal to the inner setpoint", () => {
    const c = pOnly({ feedforwardSignal: "serviceRate", kff: 0.5 });
    // Inner setpoint 10 + 0.5·7 = 13.5; output 3·(13.5 − 4) = 28.5.
    expect(c.update({ measurement: 5, arrivalRate: 4, serviceRate: 7 }, 0.1)).toBeCloseTo(28.5, 12);
    expect(c.components.ff).toBeCloseTo(3.5, 12);
  });

  it("cascade – the inner setpoint is bounded", () => {
    const c = pOnly({ innerSetpointMax: 8, innerSetpointMin: 1 });
    // Outer asks 10, bounded to 8: output 3·(8 − 4) = 12. Measurement 20 asks −20, bounded to 1: 3·(1 − 4) = −9.
    expect(c.update({ measurement: 5, arrivalRate: 4 }, 0.1)).toBe(12);
    expect(c.update({ measurement: 20, arrivalRate: 4 }, 0.1)).toBe(-9);
  });

  it("cascade – the inner loop can measure another field", () => {
    const c = pOnly({ innerSignal: "inflight" });
    // 3·(10 − 6) = 12.
    expect(c.update({ measurement: 5, arrivalRate: 4, inflight: 6 }, 0.1)).toBe(12);
  });

  it("cascade – with outerEvery the outer loop updates on its turns with the summed dt", () => {
    const c = new Cascade({
      outer: new Pid({ kp: 0, ki: 1, setpoint: 10 }),
      inner: new Pid({ kp: 1 }),
      outerEvery: 2,
    });
    // Call 1: outer integrates 1·(10 − 5)·0.1 = 0.5. Call 2: outer holds 0.5.
    // Call 3: outer integrates over 0.1 + 0.1: 0.5 + 1·(10 − 6)·0.2 = 1.3.
    c.update({ measurement: 5, arrivalRate: 0 }, 0.1);
    expect(c.components.innerSetpoint).toBeCloseTo(0.5, 12);
    c.update({ measurement: 0, arrivalRate: 0 }, 0.1);
    expect(c.components.innerSetpoint).toBeCloseTo(0.5, 12);
    c.update({ measurement: 6, arrivalRate: 0 }, 0.1);
    expect(c.components.innerSetpoint).toBeCloseTo(1.3, 12);
    expect(c.components.outerI).toBeCloseTo(1.3, 12);
  });

  it("cascade – the outer integral stops where the inner setpoint is bounded (no windup between the loops)", () => {
    // Outer I only (ki = 1), inner P (kp = 1); inner setpoint at most 10, feedforward 4:
    // the outer output may reach 6 at most. A large error for 20 s would wind a free integral to 200.
    const make = (trackLimits: boolean) =>
      new Cascade({
        outer: new Pid({ kp: 0, ki: 1, setpoint: 100 }),
        inner: new Pid({ kp: 1 }),
        innerSetpointMax: 10,
        feedforwardSignal: "serviceRate",
        trackLimits,
      });
    const tracked = make(true);
    const free = make(false);
    for (let k = 0; k < 20; k++) {
      tracked.update({ measurement: 90, arrivalRate: 0, serviceRate: 4 }, 1);
      free.update({ measurement: 90, arrivalRate: 0, serviceRate: 4 }, 1);
    }
    expect(tracked.components.outerI).toBeCloseTo(6, 12);
    expect(free.components.outerI).toBeCloseTo(200, 12);
    // The error reverses: the tracked cascade leaves the bound at once, the wound-up one stays there.
    tracked.update({ measurement: 110, arrivalRate: 0, serviceRate: 4 }, 1);
    free.update({ measurement: 110, arrivalRate: 0, serviceRate: 4 }, 1);
    expect(tracked.components.innerSetpoint).toBeCloseTo(4 + 6 - 10, 12);
    expect(free.components.innerSetpoint).toBe(10);
  });

  it("cascade – a missing inner or feedforward field throws a RangeError naming it", () => {
    expect(() => pOnly().update({ measurement: 5 }, 0.1)).toThrow(/`arrivalRate`/);
    expect(() =>
      pOnly({ feedforwardSignal: "serviceRate" }).update({ measurement: 5, arrivalRate: 1 }, 0.1),
    ).toThrow(/`serviceRate`/);
  });

  it("cascade – options and parameters are validated", () => {
    const outer = new Pid();
    expect(() => new Cascade({ outer, inner: outer })).toThrow(RangeError);
    expect(() => new Cascade({ outer, inner: {} as Pid })).toThrow(TypeError);
    expect(() => pOnly({ outerEvery: 0 })).toThrow(/`outerEvery`/);
    expect(() => pOnly({ innerSetpointMin: 5, innerSetpointMax: 1 })).toThrow(RangeError);
    expect(() => new Cascade({ outer, inner: new Pid(), bogus: 1 } as never)).toThrow(/bogus/);
  });

  it("cascade – params name the children's keys and setParams routes them", () => {
    const c = pOnly();
    expect(c.params()).toMatchObject({
      "outer.kp": 2,
      "inner.kp": 3,
      kff: 1,
      outerEvery: 1,
      innerSignal: "arrivalRate",
    });
    c.setParams({ "outer.kp": 4, "inner.ki": 0.5, kff: 2 });
    expect(c.outer.params().kp).toBe(4);
    expect(c.inner.params().ki).toBe(0.5);
    expect(c.params().kff).toBe(2);
    expect(() => c.setParams({ gain: 1 })).toThrow(/`gain`/);
    expect(() => c.setParams({ "outer.bogus": 1 })).toThrow(RangeError);
  });

  it("cascade – setpoint is the outer loop's", () => {
    const c = pOnly({ setpoint: 30 });
    expect(c.setpoint).toBe(30);
    c.setpoint = 40;
    expect(c.outer.setpoint).toBe(40);
  });

  it("cascade – reset forgets both loops", () => {
    const c = new Cascade({
      outer: new Pid({ kp: 1, ki: 1, setpoint: 10 }),
      inner: new Pid({ kp: 1, ki: 1 }),
    });
    c.update({ measurement: 0, arrivalRate: 0 }, 0.1);
    c.reset();
    expect(c.output).toBe(0);
    expect(c.outer.components.i).toBe(0);
    expect(Number.isNaN(c.components.innerSetpoint)).toBe(true);
  });

  it("cascade – holds a fluid queue's backlog at its setpoint through a capacity step", () => {
    // Offered 150 msg/s, capacity 100 → 50 at t = 10 s. The outer PI asks for
    // an admitted rate on top of the measured service rate; the inner I loop
    // moves the admission limit until the admitted rate matches. In steady
    // state an integrating plant with PI control has no offset: backlog = 20
    // and admitted = capacity = 50. Tolerance 1e-6: with the inner loop 25×
    // faster, the outer loop's poles are the roots of s² + kp·s + ki =
    // s² + s + 0.25, a double pole at −0.5, so 60 s leave e^{−30}-small errors.
    const plant = new FluidQueue({ capacity: step({ at: 10, from: 100, to: 50 }), load: 150 });
    const c = new Cascade({
      outer: new Pid({ kp: 1, ki: 0.25, setpoint: 20, outputMin: -150, outputMax: 150 }),
      inner: new Pid({ kp: 0, ki: 5, outputMin: 0, outputMax: 300 }),
      feedforwardSignal: "serviceRate",
      innerSetpointMin: 0,
      innerSetpointMax: 300,
    });
    const dt = 0.05;
    let obs = plant.observation;
    for (let k = 0; k < 1400; k++) obs = plant.step(c.update(obs, dt), dt);
    expect(obs.backlog).toBeCloseTo(20, 6);
    expect(obs.arrivalRate).toBeCloseTo(50, 6);
    expect(c.components.innerSetpoint).toBeCloseTo(50, 6);
  });
});
