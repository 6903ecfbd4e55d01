import { describe, expect, it } from "vitest";
import { Pid } from "../../../toolbox/control/pid.js";
import { Fopdt } from "../../../toolbox/control/plants/fopdt.js";
import {
  amigo,
  amigoIntegrating,
  cohenCoon,
  imc,
  lambdaIntegrating,
  lambdaTuning,
  seriesToIdeal,
  simc,
  simcIntegrating,
  type TuningResult,
  zieglerNicholsStep,
  zieglerNicholsUltimate,
} from "../../../toolbox/control/tuning.js";

/** The running example: K = 2, τ = 5 s, θ = 1.5 s (θ/τ = 0.3). */
const plant = { gain: 2, tau: 5, theta: 1.5 };

/** Checks ideal settings and the derived parallel gains (ki = kp/ti, kd = kp·td) to 1e-6 relative. */
function expectSettings(r: TuningResult, kp: number, ti: number, td: number): void {
  expect(r.kp).toBeCloseTo(kp, 5);
  if (Number.isFinite(ti)) {
    expect(r.ti).toBeCloseTo(ti, 5);
    expect(r.ki).toBeCloseTo(kp / ti, 5);
  } else {
    expect(r.ti).toBe(Number.POSITIVE_INFINITY);
    expect(r.ki).toBe(0);
  }
  expect(r.td).toBeCloseTo(td, 5);
  expect(r.kd).toBeCloseTo(kp * td, 5);
}

describe("tuning", () => {
  it("tuning – Ziegler–Nichols step response matches the 1942 table", () => {
    // a = Kθ/τ = 2·1.5/5 = 0.6.
    // P: Kc = 1/a = 1.666667. PI: Kc = 0.9/a = 1.5, Ti = θ/0.3 = 5.
    // PID: Kc = 1.2/a = 2, Ti = 2θ = 3, Td = θ/2 = 0.75.
    expectSettings(zieglerNicholsStep(plant, { controller: "P" }), 1.666667, Number.POSITIVE_INFINITY, 0);
    expectSettings(zieglerNicholsStep(plant, { controller: "PI" }), 1.5, 5, 0);
    const pid = zieglerNicholsStep(plant);
    expectSettings(pid, 2, 3, 0.75);
    expect(pid.rule).toBe("ziegler-nichols-step");
    expect(pid.form).toBe("ideal");
    expect(pid.tauC).toBeNaN();
  });

  it("tuning – Ziegler–Nichols ultimate cycle for 1/(s+1)^3 (Ku = 8, Tu = 2π/√3)", () => {
    // Tu = 3.627599. P: 0.5Ku = 4. PI: 0.45Ku = 3.6, Ti = Tu/1.2 = 3.022999.
    // PID: 0.6Ku = 4.8, Ti = Tu/2 = 1.813799, Td = Tu/8 = 0.453450.
    const cycle = { ku: 8, tu: (2 * Math.PI) / Math.sqrt(3) };
    expectSettings(zieglerNicholsUltimate(cycle, { controller: "P" }), 4, Number.POSITIVE_INFINITY, 0);
    expectSettings(zieglerNicholsUltimate(cycle, { controller: "PI" }), 3.6, 3.022999, 0);
    expectSettings(zieglerNicholsUltimate(cycle), 4.8, 1.813799, 0.45345);
  });

  it("tuning – Cohen–Coon matches the 1953 formulas", () => {
    // r = θ/τ = 0.3, τ/(Kθ) = 5/3.
    // P: (5/3)(1 + r/3) = 1.833333.
    // PI: (5/3)(0.9 + r/12) = 1.541667, Ti = θ(30 + 3r)/(9 + 20r) = 1.5·30.9/15 = 3.09.
    // PID: (5/3)(4/3 + r/4) = 2.347222, Ti = θ(32 + 6r)/(13 + 8r) = 1.5·33.8/15.4 = 3.292208,
    //      Td = 4θ/(11 + 2r) = 6/11.6 = 0.517241.
    expectSettings(cohenCoon(plant, { controller: "P" }), 1.833333, Number.POSITIVE_INFINITY, 0);
    expectSettings(cohenCoon(plant, { controller: "PI" }), 1.541667, 3.09, 0);
    expectSettings(cohenCoon(plant), 2.347222, 3.292208, 0.517241);
  });

  it("tuning – AMIGO matches Åström–Hägglund (2004) for FOPDT and integrating processes", () => {
    // PI: Kc = 0.15/K + (0.35 − LT/(L+T)²)T/(KL) = 0.075 + (0.35 − 7.5/42.25)·5/3 = 0.362475,
    //     Ti = 0.35L + 13LT²/(T² + 12LT + 7L²) = 0.525 + 487.5/130.75 = 4.253489.
    // PID: Kc = (0.2 + 0.45T/L)/K = 0.85, Ti = L(0.4L + 0.8T)/(L + 0.1T) = 1.5·4.6/2 = 3.45,
    //      Td = 0.5LT/(0.3L + T) = 3.75/5.45 = 0.688073.
    expectSettings(amigo(plant, { controller: "PI" }), 0.362475, 4.253489, 0);
    expectSettings(amigo(plant), 0.85, 3.45, 0.688073);
    // Integrating k = 0.5, θ = 2: PI Kc = 0.35/(kθ) = 0.35, Ti = 13.4θ = 26.8;
    // PID Kc = 0.45/(kθ) = 0.45, Ti = 8θ = 16, Td = 0.5θ = 1.
    const integ = { gain: 0.5, theta: 2 };
    expectSettings(amigoIntegrating(integ, { controller: "PI" }), 0.35, 26.8, 0);
    expectSettings(amigoIntegrating(integ), 0.45, 16, 1);
    // The integrating rules are the T → ∞ limits of the FOPDT rules with K/T = k.
    const T = 1e7;
    const limit = amigo({ gain: 0.5 * T, tau: T, theta: 2 });
    expect(limit.kp / 0.45).toBeCloseTo(1, 4);
    expect(limit.ti / 16).toBeCloseTo(1, 4);
    expect(
      Math.abs(amigo({ gain: 0.5 * T, tau: T, theta: 2 }, { controller: "PI" }).ti / 26.8 - 1),
    ).toBeLessThan(
      0.01, // 13.35θ vs the rounded 13.4θ
    );
  });

  it("tuning – SIMC matches Skogestad (2003), PI, PID via series form, and integrating", () => {
    // τc = θ = 1.5: Kc = τ/(K(τc + θ)) = 5/6 = 0.833333, Ti = min(τ, 4(τc + θ)) = min(5, 12) = 5.
    const pi = simc(plant);
    expectSettings(pi, 0.833333, 5, 0);
    expect(pi.tauC).toBe(1.5);
    expect(pi.controller).toBe("PI");
    // Slow plant K = 1, τ = 20, θ = 1, τc = 1: Kc = 20/2 = 10, Ti = min(20, 8) = 8.
    expectSettings(simc({ gain: 1, tau: 20, theta: 1 }, { tauC: 1 }), 10, 8, 0);
    // Second order, τ2 = 1: series Kc = 0.833333, Ti = 5, Td = 1 → ideal Kc = 0.833333·(1 + 1/5) = 1,
    // Ti = 5 + 1 = 6, Td = 5·1/6 = 0.833333.
    const pid = simc({ ...plant, tau2: 1 });
    expect(pid.form).toBe("series");
    expect(pid.controller).toBe("PID");
    expectSettings(pid, 1, 6, 0.833333);
    // Integrating k = 0.5, θ = 2, τc = θ: Kc = 1/(k(τc + θ)) = 0.5, Ti = 4(τc + θ) = 16.
    expectSettings(simcIntegrating({ gain: 0.5, theta: 2 }), 0.5, 16, 0);
    expect(() => simcIntegrating({ gain: 0.5, theta: 0 })).toThrow(RangeError);
    expectSettings(simcIntegrating({ gain: 0.5, theta: 0 }, { tauC: 2 }), 1, 8, 0);
  });

  it("tuning – lambda and IMC rules match their IMC derivations", () => {
    // Lambda PI, λ = 5: Kc = τ/(K(λ + θ)) = 5/13 = 0.384615, Ti = τ = 5.
    expectSettings(lambdaTuning(plant, { lambda: 5 }), 0.384615, 5, 0);
    // Integrating k = 0.5, θ = 2, λ = 4: Kc = (2λ + θ)/(k(λ + θ)²) = 10/18 = 0.555556, Ti = 2λ + θ = 10.
    expectSettings(lambdaIntegrating({ gain: 0.5, theta: 2 }, { lambda: 4 }), 0.555556, 10, 0);
    // IMC-PID, λ = 1.5: Kc = (2τ + θ)/(K(2λ + θ)) = 11.5/9 = 1.277778, Ti = τ + θ/2 = 5.75,
    // Td = τθ/(2τ + θ) = 7.5/11.5 = 0.652174.
    const r = imc(plant, { lambda: 1.5 });
    expectSettings(r, 1.277778, 5.75, 0.652174);
    expect(r.tauC).toBe(1.5);
  });

  it("tuning – seriesToIdeal converts interacting settings", () => {
    // Kc(1 + 1/(4s))(1 + s) = Kc(1.25 + 1/(4s) + s) → ideal Kc' = 2.5, Ti' = 5, Td' = 0.8.
    expect(seriesToIdeal(2, 4, 1)).toEqual({ kc: 2.5, ti: 5, td: 0.8 });
  });

  it("tuning – rejects invalid models with named messages", () => {
    expect(() => zieglerNicholsStep({ gain: 2, tau: 5, theta: 0 })).toThrow(
      "Expected `theta` to be a positive number, got `0`",
    );
    expect(() => cohenCoon({ gain: 0, tau: 5, theta: 1 })).toThrow(RangeError);
    expect(() => amigo(plant, { controller: "P" })).toThrow(
      "Expected `controller` to be one of PI, PID, got `P`",
    );
    expect(() => lambdaTuning(plant, { lambda: -1 })).toThrow(RangeError);
    // A misspelt τc is an error, not a silent default τc = θ.
    expect(() => simc(plant, { tauc: 1 } as never)).toThrow(
      /^Unknown SIMC option `tauc`; expected one of tauC$/,
    );
  });

  it("tuning – a SIMC-tuned PI closes the loop on its FOPDT plant with the designed speed", () => {
    // SIMC aims at y/r ≈ e^{−θs}/(τc s + 1): 63 % of the step at θ + τc = 3 s, no steady-state error.
    const r = simc(plant);
    const pid = new Pid({ kp: r.kp, ki: r.ki, setpoint: 1 });
    const p = new Fopdt(plant);
    const dt = 0.01;
    let y = 0;
    let y3 = Number.NaN;
    let peak = 0;
    for (let k = 1; k <= 6000; k++) {
      y = p.step(pid.update(y, dt), dt).measurement;
      if (k === 300) y3 = y;
      peak = Math.max(peak, y);
    }
    expect(y3).toBeGreaterThan(0.5);
    expect(y3).toBeLessThan(0.8);
    expect(peak).toBeLessThan(1.15);
    expect(Math.abs(y - 1)).toBeLessThan(1e-3);
  });
});
