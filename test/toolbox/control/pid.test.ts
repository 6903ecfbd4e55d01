import { describe, expect, it } from "vitest";
import { Pid } from "../../../toolbox/control/pid.js";

/** A clock the test moves by hand, in seconds. */
function manualClock(start = 0): { now: () => number; tick: (s: number) => void } {
  let t = start;
  return { now: () => t, tick: (s) => (t += s) };
}

describe("Pid", () => {
  it("pid – P-only output equals kp times error", () => {
    const pid = new Pid({ kp: 3, setpoint: 10 });
    expect(pid.update(5, 0.1)).toBe(15);
    expect(pid.components).toEqual({ p: 15, i: 0, d: 0, ff: 0 });
  });

  it("pid – P-only matches simple-pid's test_P", () => {
    // Reference: simple-pid tests/test_pid.py::test_P, PID(1, 0, 0, setpoint=10).
    const pid = new Pid({ kp: 1, setpoint: 10 });
    expect(pid.update(0, 1)).toBe(10);
    expect(pid.update(5, 1)).toBe(5);
    expect(pid.update(-5, 1)).toBe(15);
  });

  it("pid – integral accumulates ki·e·dt over known dts (backward Euler)", () => {
    const pid = new Pid({ kp: 0, ki: 2, setpoint: 10 });
    // Backward Euler uses the error of the current sample: I = ki·Σ e_k·dt_k.
    expect(pid.update(0, 0.1)).toBeCloseTo(2 * (10 * 0.1), 12);
    expect(pid.update(4, 0.25)).toBeCloseTo(2 * (10 * 0.1 + 6 * 0.25), 12);
    expect(pid.update(7, 0.5)).toBeCloseTo(2 * (10 * 0.1 + 6 * 0.25 + 3 * 0.5), 12);
  });

  it("pid – I term matches simple-pid's test_I with an injected clock", () => {
    // Reference: simple-pid test_I, PID(0, 10, 0, setpoint=10, sample_time=0.1): 10 then 20.
    const clock = manualClock();
    const pid = new Pid({ kp: 0, ki: 10, setpoint: 10, sampleTime: 0.1, now: clock.now });
    clock.tick(0.1);
    expect(pid.update(0)).toBeCloseTo(10, 12);
    clock.tick(0.1);
    expect(pid.update(0)).toBeCloseTo(20, 12);
  });

  it("pid – D on measurement matches simple-pid's test_D and test_separate_components", () => {
    // Reference: simple-pid test_D, PID(0, 0, 0.1, setpoint=10, sample_time=0.1): 0, 0, 0, -5, -10.
    const clock = manualClock();
    const pid = new Pid({ kp: 0, ki: 0, kd: 0.1, setpoint: 10, sampleTime: 0.1, now: clock.now });
    expect(pid.update(0)).toBe(0);
    clock.tick(0.1);
    expect(pid.update(0)).toBe(0);
    expect(pid.update(0)).toBe(0);
    clock.tick(0.1);
    expect(pid.update(5)).toBeCloseTo(-5, 12);
    clock.tick(0.1);
    expect(pid.update(15)).toBeCloseTo(-10, 12);

    // Reference: simple-pid test_separate_components, PID(1, 0, 1, setpoint=10):
    // 10 with components (10, 0, 0), then -45 with (5, 0, -50).
    const clock2 = manualClock();
    const pid2 = new Pid({ kp: 1, kd: 1, setpoint: 10, sampleTime: 0.1, now: clock2.now });
    expect(pid2.update(0)).toBe(10);
    expect(pid2.components).toEqual({ p: 10, i: 0, d: 0, ff: 0 });
    clock2.tick(0.1);
    expect(pid2.update(5)).toBeCloseTo(-45, 9);
    expect(pid2.components.p).toBe(5);
    expect(pid2.components.d).toBeCloseTo(-50, 9);
  });

  it("pid – no derivative kick on a setpoint step with derivative on measurement", () => {
    const onMeasurement = new Pid({ kp: 1, kd: 0.5, setpoint: 0 });
    const onError = new Pid({ kp: 1, kd: 0.5, setpoint: 0, derivativeOn: "error" });
    for (const pid of [onMeasurement, onError]) {
      pid.update(2, 0.1);
      pid.update(2, 0.1);
      pid.setpoint = 10;
    }
    onMeasurement.update(2, 0.1);
    onError.update(2, 0.1);
    expect(onMeasurement.components.d).toBe(0);
    expect(onMeasurement.output).toBe(8);
    // Derivative on error: the step of 10 over one sample of 0.1 s gives kd·10/0.1 = 50.
    expect(onError.components.d).toBeCloseTo(50, 12);
  });

  it("pid – derivative filter response to a ramp equals the analytic first-order value", () => {
    // A ramp y = 3t has derivative 3 (a step in slope). Through the filter
    // tf·ḋ + d = ẏ its filtered derivative is 3·(1 − e^{−t/tf}), so
    // D(t) = −kd·3·(1 − e^{−t/tf}). Uneven dts check the exact discretization.
    const cases = [
      { options: { kp: 0, kd: 2, tf: 0.5 }, tf: 0.5 },
      // n: tf = kd / (kp·N) = 0.2 / (1·4) = 0.05 s.
      { options: { kp: 1, kd: 0.2, n: 4 }, tf: 0.05 },
    ];
    for (const { options, tf } of cases) {
      const pid = new Pid({ ...options, setpoint: 0 });
      const dts = [0.01, 0.03, 0.02, 0.05, 0.01, 0.1, 0.07, 0.2];
      let t = 0;
      pid.update(0, 0.01);
      for (const dt of dts) {
        t += dt;
        pid.update(3 * t, dt);
        const expected = -options.kd * 3 * (1 - Math.exp(-t / tf));
        expect(Math.abs(pid.components.d - expected)).toBeLessThan(1e-9);
      }
    }
  });

  it("pid – clamping anti-windup stops the integral at the limit and recovers at once", () => {
    const clamp = new Pid({ kp: 1, ki: 1, setpoint: 100, outputMax: 10, antiWindup: "clamp" });
    const none = new Pid({ kp: 1, ki: 1, setpoint: 100, outputMax: 10, antiWindup: "none" });
    for (let k = 0; k < 20; k++) {
      clamp.update(0, 0.1);
      none.update(0, 0.1);
    }
    expect(clamp.output).toBe(10);
    expect(none.output).toBe(10);
    // P alone (100) saturates, so conditional integration never integrates.
    expect(clamp.components.i).toBe(0);
    // Without anti-windup the integral grew to ki·Σ e·dt = 20 · 100 · 0.1 = 200.
    expect(none.components.i).toBeCloseTo(200, 9);
    // The error changes sign (measurement 110 > setpoint 100).
    const recovered = clamp.update(110, 0.1);
    const stuck = none.update(110, 0.1);
    // Clamp: P = −10 and I = −1 at once; none: −10 + 199 → still at the limit.
    expect(recovered).toBeCloseTo(-11, 12);
    expect(stuck).toBe(10);
  });

  it("pid – back-calculation converges to the limit with the tracking time constant", () => {
    // PI with kp 1, ki 2: default tt = Ti = kp/ki = 0.5 s (Åström–Hägglund).
    // Constant error e = 10, P = 10 > outputMax = 5. Backward Euler of
    // dI/dt = ki·e + (u − v)/tt gives I_k − I* = (I_{k−1} − I*)/(1 + dt/tt),
    // with I* = tt·ki·e + outputMax − P = 0.5·20 + 5 − 10 = 5.
    for (const tt of [undefined, 0.5]) {
      const pid = new Pid({
        kp: 1,
        ki: 2,
        setpoint: 10,
        outputMax: 5,
        antiWindup: "backCalculation",
        ...(tt === undefined ? {} : { tt }),
      });
      for (let k = 1; k <= 30; k++) {
        expect(pid.update(0, 0.1)).toBe(5);
        expect(pid.components.i).toBeCloseTo(5 - 5 / 1.2 ** k, 12);
      }
    }
    // With D: default tt = √(Ti·Td) = √(kd/ki) = √(0.08/2) = 0.2 s; one step from I = 0:
    // I₁ = (ki·e·dt + (dt/tt)·(max − P)) / (1 + dt/tt) = (2 + 0.5·(−5)) / 1.5.
    const withD = new Pid({
      kp: 1,
      ki: 2,
      kd: 0.08,
      setpoint: 10,
      outputMax: 5,
      antiWindup: "backCalculation",
    });
    withD.update(0, 0.1);
    expect(withD.components.i).toBeCloseTo((2 + 0.5 * -5) / 1.5, 12);
  });

  it("pid – rate limit bounds the output change per second", () => {
    const pid = new Pid({ kp: 1, setpoint: 10, rateLimit: 5 });
    const outputs = [0, 0, 0, 0].map(() => pid.update(0, 0.1));
    expect(outputs.map((u) => Number(u.toFixed(12)))).toEqual([0.5, 1, 1.5, 2]);
    // Falling is limited too.
    pid.setpoint = -10;
    expect(pid.update(0, 0.2)).toBeCloseTo(1, 12);
  });

  it("pid – gain change is bumpless", () => {
    const pid = new Pid({ kp: 2, ki: 0.5, kd: 0.3, setpoint: 10 });
    for (let k = 0; k < 5; k++) pid.update(5, 0.1);
    // Constant measurement: D = 0, output = kp·e + ki·e·Σdt = 10 + 0.5·5·0.5.
    const before = pid.output;
    expect(before).toBeCloseTo(10 + 1.25, 12);
    pid.setParams({ kp: 4, ki: 1, kd: 0.6 });
    // Next update adds only the new integral increment ki·e·dt = 1·5·0.1.
    expect(Math.abs(pid.update(5, 0.1) - (before + 0.5))).toBeLessThan(1e-9);
    expect(pid.components.p).toBe(20);
    // Without the bumpless correction the output would have jumped by Δkp·e = 10.
  });

  it("pid – manual to auto transfer is bumpless", () => {
    const pid = new Pid({ kp: 2, ki: 1, setpoint: 10 });
    pid.update(4, 0.1);
    pid.setManual(7);
    expect(pid.mode).toBe("manual");
    expect(pid.update(6, 0.1)).toBe(7);
    expect(pid.update(8, 0.1)).toBe(7);
    pid.mode = "auto";
    // First auto update returns the held output exactly...
    expect(Math.abs(pid.update(8, 0.1) - 7)).toBeLessThan(1e-9);
    // ...then moves by Δ(kp·e) + ki·e·dt = 2·(1 − 2) + 1·1·0.1 from there.
    expect(pid.update(9, 0.1)).toBeCloseTo(7 - 2 + 0.1, 12);
  });

  it("pid – reverse direction raises the output when the measurement is above the setpoint", () => {
    const pid = new Pid({ kp: 2, ki: 1, setpoint: 10, direction: "reverse" });
    // e = r − y = −5; reverse: P = 2·5 = 10, I = 1·5·0.1 = 0.5.
    expect(pid.update(15, 0.1)).toBeCloseTo(10.5, 12);
    expect(pid.params().kp).toBe(2);
  });

  it("pid – deadband zeroes small errors for P and I and shrinks larger ones by the band", () => {
    const pid = new Pid({ kp: 2, ki: 1, setpoint: 10, deadband: 0.5 });
    expect(pid.update(9.6, 0.1)).toBe(0);
    expect(pid.components.i).toBe(0);
    // e = 1 counts as 1 − 0.5: P = 2·0.5 = 1, I = 1·0.5·0.1 = 0.05.
    expect(pid.update(9, 0.1)).toBeCloseTo(1 + 0.05, 12);
  });

  it("pid – clamped integration reaches the limit when one increment would cross it", () => {
    // I only: ki·e·dt = 10·10·1 = 100 in one sample against a limit of 6. The integral stops at the
    // limit (the output is 6, not 0 as when the whole increment was refused), and never winds past it.
    const pid = new Pid({ kp: 0, ki: 10, setpoint: 10, outputMax: 6 });
    expect(pid.update(0, 1)).toBe(6);
    expect(pid.update(0, 1)).toBe(6);
    expect(pid.components.i).toBe(6);
    // The error reverses: the output leaves the limit at once (6 − 10·1·1).
    expect(pid.update(11, 1)).toBe(-4);
  });

  it("pid – the deadband is continuous at its edge", () => {
    // P only: the output just inside and just outside the band differ by kp·2ε, not by kp·deadband.
    const output = (y: number) => new Pid({ kp: 4, setpoint: 10, deadband: 1 }).update(y, 0.1);
    const eps = 1e-6;
    expect(output(9 + eps)).toBe(0);
    expect(Math.abs(output(9 - eps))).toBeLessThan(1e-5);
    expect(output(8)).toBeCloseTo(4, 12);
    expect(output(12)).toBeCloseTo(-4, 12);
  });

  it("pid – manual to auto starts from the held output clamped to limits changed meanwhile", () => {
    const pid = new Pid({ kp: 2, ki: 1, setpoint: 10, outputMax: 100 });
    pid.update(4, 0.1);
    pid.setManual(80);
    pid.setParams({ outputMax: 50 });
    expect(pid.update(4, 0.1)).toBe(80); // manual holds what the operator set
    pid.mode = "auto";
    // The first automatic output is the held one clamped to the new limit, never outside it.
    expect(pid.update(4, 0.1)).toBe(50);
    // The integral took over from there: a zero error keeps the output at 50 − P.
    expect(pid.update(10, 0.1)).toBeCloseTo(50 - 2 * 6, 12);
  });

  it("pid – with ki = 0 a gain change leaves no permanent bias", () => {
    const pid = new Pid({ kp: 2, setpoint: 10 });
    expect(pid.update(5, 0.1)).toBe(10);
    pid.setParams({ kp: 4 });
    // P-only: the output is kp·e with the new gain, and zero at zero error (no offset kept in a frozen integral).
    expect(pid.update(5, 0.1)).toBe(20);
    expect(pid.update(10, 0.1)).toBe(0);
    expect(pid.components.i).toBe(0);
  });

  it("pid – feedforwardTau filters the feedforward signal with a first-order lag", () => {
    const pid = new Pid({ kp: 0, feedforwardSignal: "serviceRate", feedforwardTau: 1 });
    // The filter starts at the first value, then moves by (1 − e^{−dt/τ}) of each step.
    expect(pid.update({ measurement: 0, serviceRate: 100 }, 0.1)).toBe(100);
    const a = Math.exp(-0.1);
    expect(pid.update({ measurement: 0, serviceRate: 200 }, 0.1)).toBeCloseTo(a * 100 + (1 - a) * 200, 12);
    // A held step reaches 1 − e^{−1} of its size after one time constant (10 samples of 0.1 s).
    for (let k = 0; k < 9; k++) pid.update({ measurement: 0, serviceRate: 200 }, 0.1);
    expect(pid.feedforward).toBeCloseTo(200 - 100 * Math.exp(-1), 9);
    pid.reset();
    expect(pid.update({ measurement: 0, serviceRate: 50 }, 0.1)).toBe(50);
    expect(() => new Pid({ feedforwardTau: -1 })).toThrow(/`feedforwardTau`/);
  });

  it("pid – measurementTau filters the measurement every term reads", () => {
    // P only, setpoint 10: the first update starts the filter at y = 4 (output 6), then y_f moves by
    // (1 − e^{−dt/τ}) of each step: y = 8 after y_f = 4 gives y_f = 4 + (1 − a)·4, output 10 − y_f.
    const pid = new Pid({ kp: 1, setpoint: 10, measurementTau: 0.2 });
    expect(pid.update(4, 0.1)).toBe(6);
    const a = Math.exp(-0.1 / 0.2);
    expect(pid.update(8, 0.1)).toBeCloseTo(10 - (4 + (1 - a) * 4), 12);
    // The integral reads the filtered error too: ki = 1, kp = 0 integrates (10 − y_f)·dt.
    const pi = new Pid({ kp: 0, ki: 1, setpoint: 10, measurementTau: 0.2 });
    pi.update(4, 0.1);
    expect(pi.update(8, 0.1)).toBeCloseTo(0.6 + (10 - (4 + (1 - a) * 4)) * 0.1, 12);
    // Changing τ keeps the filtered value (no bump); 0 reads the raw measurement again.
    pid.setParams({ measurementTau: 0 });
    expect(pid.update(8, 0.1)).toBe(2);
    expect(pid.params().measurementTau).toBe(0);
    pid.reset();
    expect(new Pid({ kp: 1, setpoint: 10, measurementTau: 0.2 }).update(7, 0.1)).toBe(3);
    expect(() => new Pid({ measurementTau: -1 })).toThrow(/`measurementTau`/);
  });

  it("pid – feedforward is added to the output, from the property or an observation field", () => {
    const pid = new Pid({ kp: 1, setpoint: 10 });
    pid.feedforward = 3;
    expect(pid.update(5, 0.1)).toBe(8);
    expect(pid.components.ff).toBe(3);

    const fromSignal = new Pid({ kp: 1, setpoint: 10, feedforwardSignal: "arrivalRate", kff: 0.5 });
    expect(fromSignal.update({ measurement: 5, arrivalRate: 100 }, 0.1)).toBe(55);
    expect(fromSignal.feedforward).toBe(50);
    expect(() => fromSignal.update(5, 0.1)).toThrow(/`arrivalRate`/);
  });

  it("pid – sampleTime with an injected clock skips early updates", () => {
    const clock = manualClock(100);
    const pid = new Pid({ kp: 1, ki: 2, setpoint: 10, sampleTime: 0.1, now: clock.now });
    clock.tick(0.05);
    // First update always computes; dt is the time since construction (0.05 s).
    expect(pid.update(0)).toBeCloseTo(10 + 2 * 10 * 0.05, 12);
    clock.tick(0.03);
    // 0.03 s < sampleTime: the last output comes back unchanged, the measurement is ignored.
    expect(pid.update(100)).toBeCloseTo(11, 12);
    clock.tick(0.12);
    // Computed with dt = 0.15 s since the last computed update.
    expect(pid.update(4)).toBeCloseTo(6 + 2 * (10 * 0.05 + 6 * 0.15), 12);
  });

  it("pid – proportional on measurement resists change and lets I find the setpoint", () => {
    const pid = new Pid({ kp: 2, ki: 1, setpoint: 10, proportionalOn: "measurement" });
    // First sample: P = −kp·(y − y₀) = 0, I = 1·6·0.1.
    expect(pid.update(4, 0.1)).toBeCloseTo(0.6, 12);
    expect(pid.update(5, 0.1)).toBeCloseTo(-2 + 0.6 + 0.5, 12);
  });

  it("pid – setpoint weight b scales the setpoint in the P term", () => {
    const pid = new Pid({ kp: 2, b: 0.5, setpoint: 10 });
    // P = kp·(b·r − y) = 2·(5 − 4).
    expect(pid.update(4, 0.1)).toBe(2);
  });

  it("pid – closed loop on a first-order plant reaches the setpoint with zero steady-state error", () => {
    // Plant τ·ẏ + y = K·u, exact zero-order-hold discretization:
    // y_{k+1} = a·y_k + K·(1 − a)·u_k, a = e^{−dt/τ}. With K = 2, τ = 1 and
    // kp = ki = 0.5 the continuous loop has a double pole at −1.
    const K = 2;
    const tau = 1;
    const dt = 0.01;
    const a = Math.exp(-dt / tau);
    for (const options of [{}, { outputMax: 6 }, { b: 0.5, kd: 0.05, n: 10 }]) {
      const pid = new Pid({ kp: 0.5, ki: 0.5, setpoint: 10, ...options });
      let y = 0;
      for (let k = 0; k < 6000; k++) {
        const u = pid.update(y, dt);
        y = a * y + K * (1 - a) * u;
      }
      expect(Math.abs(y - 10)).toBeLessThan(1e-9);
      // Zero error needs u = r/K exactly, held by the integral.
      expect(Math.abs(pid.output - 5)).toBeLessThan(1e-9);
    }
  });

  it("pid – reset forgets integral and history", () => {
    const pid = new Pid({ kp: 1, ki: 1, setpoint: 10 });
    pid.update(0, 1);
    pid.update(0, 1);
    pid.reset();
    expect(pid.output).toBe(0);
    expect(pid.update(5, 1)).toBe(10);
  });

  it("pid – params round-trip and validation names the option", () => {
    const pid = new Pid({ kp: 2, outputMin: 0 });
    expect(pid.params()).toMatchObject({ kp: 2, outputMin: 0, outputMax: null, antiWindup: "clamp" });
    const copy = new Pid(pid.params() as ConstructorParameters<typeof Pid>[0]);
    expect(copy.params()).toEqual(pid.params());
    expect(() => new Pid({ sampleTime: -1 })).toThrow(
      "Expected `sampleTime` to be a positive number, got `-1`",
    );
    expect(() => new Pid({ kp: -1 })).toThrow(RangeError);
    expect(() => new Pid({ tf: 1, n: 5 })).toThrow(/only one of `tf` and `n`/);
    expect(() => new Pid({ outputMin: 5, outputMax: 1 })).toThrow(/outputMin/);
    expect(() => pid.setParams({ gain: 1 })).toThrow(/Unknown Pid option `gain`/);
    expect(() => new Pid({ kp: "2" as unknown as number })).toThrow(TypeError);
    expect(() => pid.update(1)).not.toThrow();
    expect(() => new Pid({ sampleTime: 0.1 }).update(1, 0)).toThrow(/`dt`/);
  });
});
