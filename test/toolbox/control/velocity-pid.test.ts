import { describe, expect, it } from "vitest";
import { Pid } from "../../../toolbox/control/pid.js";
import { VelocityPid } from "../../../toolbox/control/velocity-pid.js";

/** A deterministic, non-trivial measurement sequence with uneven sample times. */
function trace(): { y: number[]; dt: number[]; setpoint: number[] } {
  const y: number[] = [];
  const dt: number[] = [];
  const setpoint: number[] = [];
  for (let k = 0; k < 60; k++) {
    y.push(3 * Math.sin(k / 7) + k / 50);
    dt.push(0.05 + 0.03 * ((k * 7) % 5));
    setpoint.push(k < 20 ? 1 : k < 40 ? 4 : -2);
  }
  return { y, dt, setpoint };
}

describe("VelocityPid", () => {
  it("velocity-pid – equals the positional Pid's output sequence without limits", () => {
    // Cross-check: the velocity form telescopes to the positional form with
    // backward-Euler integral and unfiltered backward-difference derivative.
    const { y, dt, setpoint } = trace();
    for (const derivativeOn of ["measurement", "error"] as const) {
      for (const direction of ["direct", "reverse"] as const) {
        const gains = { kp: 1.3, ki: 0.7, kd: 0.2, derivativeOn, direction };
        const positional = new Pid({ ...gains, antiWindup: "none" });
        const velocity = new VelocityPid(gains);
        for (let k = 0; k < y.length; k++) {
          positional.setpoint = setpoint[k]!;
          velocity.setpoint = setpoint[k]!;
          const u = positional.update(y[k]!, dt[k]);
          const v = velocity.update(y[k]!, dt[k]);
          expect(Math.abs(u - v)).toBeLessThan(1e-9);
        }
      }
    }
  });

  it("velocity-pid – first update adds kp·e₀ + ki·dt·e₀ to the initial output", () => {
    const pid = new VelocityPid({ kp: 2, ki: 0.5, kd: 1, setpoint: 10, initialOutput: 100 });
    expect(pid.update(6, 0.2)).toBeCloseTo(100 + 2 * 4 + 0.5 * 0.2 * 4, 12);
    expect(pid.increment).toBeCloseTo(8.4, 12);
    // Second: Δu = kp·(e₁ − e₀) + ki·dt·e₁ + kd·(δ₁ − 0), δ₁ = −(y₁ − y₀)/dt (on measurement).
    expect(pid.update(7, 0.2)).toBeCloseTo(108.4 + 2 * -1 + 0.5 * 0.2 * 3 + 1 * (-1 / 0.2), 12);
  });

  it("velocity-pid – limits hold the output without windup and release it at once", () => {
    const pid = new VelocityPid({ kp: 1, ki: 1, setpoint: 100, outputMax: 10 });
    for (let k = 0; k < 20; k++) pid.update(0, 0.1);
    expect(pid.output).toBe(10);
    expect(pid.increment).toBe(0);
    // Error turns negative: Δu = kp·(−10 − 100) + ki·0.1·(−10) = −111 leaves the limit immediately.
    expect(pid.update(110, 0.1)).toBeCloseTo(10 - 111, 12);
  });

  it("velocity-pid – rate limit bounds each increment", () => {
    const pid = new VelocityPid({ kp: 1, setpoint: 10, rateLimit: 5 });
    expect(pid.update(0, 0.1)).toBeCloseTo(0.5, 12);
    expect(pid.update(0, 0.1)).toBeCloseTo(0.5, 12); // Δe = 0: no further P increment.
    expect(pid.components.increment).toBe(0);
  });

  it("velocity-pid – reset returns to the initial output and validation names the option", () => {
    const pid = new VelocityPid({ kp: 1, setpoint: 1, initialOutput: 3 });
    pid.update(0, 1);
    pid.reset();
    expect(pid.output).toBe(3);
    expect(() => new VelocityPid({ kd: -1 })).toThrow("Expected `kd` to be a non-negative number, got `-1`");
    expect(() => pid.setParams({ tf: 1 })).toThrow(/Unknown VelocityPid option `tf`/);
    pid.setParams({ kp: 2, outputMax: 4 });
    expect(pid.params()).toMatchObject({ kp: 2, outputMax: 4, outputMin: null });
  });
});
