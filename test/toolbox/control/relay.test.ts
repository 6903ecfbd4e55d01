import { expm, matrix } from "mathjs";
import { describe, expect, it } from "vitest";
import { Pid } from "../../../toolbox/control/pid.js";
import { FluidQueue } from "../../../toolbox/control/plants/fluid-queue.js";
import { Fopdt } from "../../../toolbox/control/plants/fopdt.js";
import type { Plant, PlantInput, PlantObservation } from "../../../toolbox/control/plants/plant.js";
import { RelayTuner, relayAutotune } from "../../../toolbox/control/relay.js";
import { zieglerNicholsUltimate } from "../../../toolbox/control/tuning.js";

/**
 * The third-order lag 1/(s + 1)^3, simulated exactly for piecewise-constant
 * input (zero-order-hold discretization by the matrix exponential of the
 * augmented matrix [[A, B], [0, 0]]·dt).
 */
class ThirdOrderLag implements Plant<PlantObservation> {
  readonly kind = "third-order-lag";
  #x = [0, 0, 0];
  #ad: number[][] = [];
  #bd: number[] = [];
  #dt = Number.NaN;
  readonly #obs: PlantObservation = { time: 0, measurement: 0 };

  get time(): number {
    return this.#obs.time;
  }

  get observation(): PlantObservation {
    return this.#obs;
  }

  reset(): void {
    this.#x = [0, 0, 0];
    this.#obs.time = 0;
    this.#obs.measurement = 0;
  }

  step(input: number | PlantInput, dt: number): PlantObservation {
    const u = typeof input === "number" ? input : input.actuator;
    if (dt !== this.#dt) {
      const m = [
        [-1, 0, 0, 1],
        [1, -1, 0, 0],
        [0, 1, -1, 0],
        [0, 0, 0, 0],
      ].map((row) => row.map((v) => v * dt));
      const e = expm(matrix(m)).toArray() as number[][];
      this.#ad = e.slice(0, 3).map((row) => row.slice(0, 3));
      this.#bd = e.slice(0, 3).map((row) => row[3]!);
      this.#dt = dt;
    }
    const x = this.#x;
    this.#x = [0, 1, 2].map((i) => {
      const a = this.#ad[i]!;
      return a[0]! * x[0]! + a[1]! * x[1]! + a[2]! * x[2]! + this.#bd[i]! * u;
    });
    this.#obs.time += dt;
    this.#obs.measurement = this.#x[2]!;
    return this.#obs;
  }
}

describe("relay", () => {
  it("relay – on 1/(s+1)^3 estimates Ku = 8 within 5 % and Tu = 2π/√3 within 3 %", () => {
    // Analytic ultimate point: phase −3·atan(ω) = −π at ω = √3, |G| = (1 + 3)^{−3/2} = 1/8, so Ku = 8,
    // Tu = 2π/√3 ≈ 3.628 s. The describing function neglects the relay's harmonics; for three lags
    // the third harmonic is attenuated ~28×, so a few percent error is expected.
    const r = relayAutotune(new ThirdOrderLag(), { dt: 0.001, duration: 200 });
    expect(r.converged).toBe(true);
    expect(Math.abs(r.ku / 8 - 1)).toBeLessThan(0.05);
    expect(Math.abs(r.tu / ((2 * Math.PI) / Math.sqrt(3)) - 1)).toBeLessThan(0.03);
    expect(r.ku).toBe(r.kuIdeal);
    expect(r.phase).toBe(-Math.PI);
    expect(r.trace.times.length).toBe(r.trace.output.length);
  });

  it("relay – with hysteresis the cycle sits where G(iω) = −1/N(a) = −(π/4d)(√(a² − ε²) + iε)", () => {
    // Åström & Hägglund (1984): the relay with hysteresis finds the point of the Nyquist curve
    // with real part −π√(a² − ε²)/(4d) (hence Ku = 4d/(π√(a² − ε²))) and phase −π + asin(ε/a).
    // Check that point against G(iω) = 1/(1 + iω)^3 at the measured ω = 2π/Tu, within 5 % of |G|.
    const eps = 0.03;
    const r = relayAutotune(new ThirdOrderLag(), { dt: 0.001, duration: 200, hysteresis: eps });
    expect(r.converged).toBe(true);
    const w = (2 * Math.PI) / r.tu;
    const mag = (1 + w * w) ** -1.5;
    const arg = -3 * Math.atan(w);
    const re = mag * Math.cos(arg);
    const im = mag * Math.sin(arg);
    const predictedRe = (-Math.PI / 4) * Math.sqrt(r.amplitude ** 2 - eps ** 2);
    const predictedIm = (-Math.PI / 4) * eps;
    expect(Math.hypot(re - predictedRe, im - predictedIm) / mag).toBeLessThan(0.05);
    expect(r.ku).toBeCloseTo(-1 / predictedRe, 9);
    expect(r.ku).toBeGreaterThan(r.kuIdeal);
    expect(r.phase).toBeCloseTo(-Math.PI + Math.asin(eps / r.amplitude), 12);
  });

  it("relay – on a FOPDT the limit cycle matches the exact period and amplitude", () => {
    // Ideal relay ±d on K e^{−θs}/(τs + 1): after a switch the output keeps moving for θ, so
    // a = Kd(1 − e^{−θ/τ}) and the half period is θ + τ ln(2 − e^{−θ/τ}), i.e. Tu = 2τ ln(2e^{θ/τ} − 1).
    // With hysteresis ε: a = Kd + (ε − Kd)e^{−θ/τ}, half period θ + τ ln((a + Kd)/(Kd − ε)).
    // Switching happens at samples (dt = 1 ms), so allow 0.5 %.
    const K = 1;
    const tau = 1;
    const theta = 0.5;
    const d = 1;
    for (const eps of [0, 0.1]) {
      const a = K * d + (eps - K * d) * Math.exp(-theta / tau);
      const tu = 2 * (theta + tau * Math.log((a + K * d) / (K * d - eps)));
      const r = relayAutotune(new Fopdt({ gain: K, tau, theta }), {
        dt: 0.001,
        duration: 100,
        hysteresis: eps,
      });
      expect(r.converged).toBe(true);
      expect(Math.abs(r.amplitude / a - 1)).toBeLessThan(0.005);
      expect(Math.abs(r.tu / tu - 1)).toBeLessThan(0.005);
    }
    // The ε = 0 case equals the closed form 2τ ln(2e^{θ/τ} − 1) ≈ 1.6636 s.
    expect(2 * tau * Math.log(2 * Math.exp(theta / tau) - 1)).toBeCloseTo(1.6636, 4);
  });

  it("relay – on a queue with a delayed measurement the cycle is a triangle of period 4θ and amplitude kdθ", () => {
    // Backlog integrates admission − capacity (k = 1); the relay around the balancing rate 100 ± 10
    // makes the backlog ramp at ±10 msg/s and overshoot by dθ after each crossing: a = 10·0.5 = 5,
    // Tu = 4θ = 2 s. (The describing function then gives Ku = 4d/(πa) = 4/(πkθ) ≈ 2.55, below the
    // true π/(2kθ) ≈ 3.14 by the factor 8/π², as the triangle's harmonics are not filtered.)
    const queue = new FluidQueue({ capacity: 100, initialBacklog: 50, measurementDelay: 0.5 });
    const r = relayAutotune(queue, { dt: 0.001, duration: 60, setpoint: 50, bias: 100, amplitude: 10 });
    expect(r.converged).toBe(true);
    expect(Math.abs(r.tu / 2 - 1)).toBeLessThan(0.01);
    expect(Math.abs(r.amplitude / 5 - 1)).toBeLessThan(0.01);
    expect(Math.abs(r.ku / (4 / (Math.PI * 0.5)) - 1)).toBeLessThan(0.01);
    expect(r.ku / (Math.PI / (2 * 0.5))).toBeCloseTo(8 / Math.PI ** 2, 2);
  });

  it("relay – as a stepper it alternates bias ± d, stops at bias when done, and is a Controller", () => {
    const tuner = new RelayTuner({ setpoint: 5.5, bias: 5, amplitude: 2, cycles: 2 });
    expect(tuner.kind).toBe("relay");
    expect(tuner.output).toBe(5);
    const plant = new Fopdt({ gain: 1, tau: 1, theta: 0.3, initialInput: 5 });
    // Measurement 5 < setpoint 5.5: starts high (direct action), output bias + d.
    expect(tuner.update(plant.observation, 0.01)).toBe(7);
    const seen = new Set<number>();
    let steps = 0;
    let obs = plant.observation;
    while (!tuner.done && steps++ < 100_000) {
      const u = tuner.update(obs, 0.01);
      seen.add(u);
      obs = plant.step(u, 0.01);
    }
    expect(tuner.done).toBe(true);
    expect([...seen].every((v) => v === 3 || v === 5 || v === 7)).toBe(true);
    expect(seen.has(3) && seen.has(7)).toBe(true);
    expect(tuner.update(obs, 0.01)).toBe(5); // back to bias
    expect(tuner.result().converged).toBe(true);
    expect(tuner.params()).toMatchObject({ setpoint: 5.5, bias: 5, amplitude: 2, hysteresis: 0 });
    expect(() => tuner.setParams({ gain: 1 })).toThrow(RangeError);
    expect(() => new RelayTuner().update(0)).toThrow("Expected `dt` to be given (or a `sampleTime` option)");
    expect(() => new RelayTuner({ amplitude: 0 })).toThrow(
      "Expected `amplitude` to be a positive number, got `0`",
    );
    tuner.reset();
    expect(tuner.done).toBe(false);
    expect(tuner.result().cycles).toBe(0);
  });

  it("relay – gives up unconverged after the timeout when nothing oscillates", () => {
    // A pure gain with no delay reaches the switching level instantly but the reverse direction
    // drives it away: no cycle forms.
    const r = relayAutotune(new Fopdt({ gain: 1, tau: 1 }), {
      dt: 0.01,
      duration: 50,
      timeout: 10,
      direction: "reverse",
    });
    expect(r.converged).toBe(false);
    expect(r.ku).toBeNaN();
    expect(r.tu).toBeNaN();
  });

  it("relay – Ku and Tu from the relay give a Ziegler–Nichols PID that stabilises 1/(s+1)^3", () => {
    const plant = new ThirdOrderLag();
    const r = relayAutotune(plant, { dt: 0.001, duration: 200 });
    const tuning = zieglerNicholsUltimate(r);
    plant.reset();
    const pid = new Pid({ kp: tuning.kp, ki: tuning.ki, kd: tuning.kd, setpoint: 1 });
    let y = 0;
    for (let k = 0; k < 40_000; k++) y = plant.step(pid.update(y, 0.001), 0.001).measurement; // 40 s
    expect(Math.abs(y - 1)).toBeLessThan(0.01);
  });
});
