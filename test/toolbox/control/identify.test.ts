import { describe, expect, it } from "vitest";
import { identifyFopdt, identifyIntegrating, type StepTestData } from "../../../toolbox/control/identify.js";
import { FluidQueue } from "../../../toolbox/control/plants/fluid-queue.js";
import { Fopdt } from "../../../toolbox/control/plants/fopdt.js";
import type { Plant, PlantObservation } from "../../../toolbox/control/plants/plant.js";
import { Random } from "../../../toolbox/control/random.js";

/**
 * Records a step test on `plant`: input `before` until `at`, then `after`,
 * sampled every `dt` for `duration` s; optional seeded Gaussian measurement
 * noise of standard deviation `noise`.
 */
function stepTest(
  plant: Plant<PlantObservation>,
  options: {
    dt: number;
    duration: number;
    at: number;
    before: number;
    after: number;
    noise?: number;
    seed?: number;
  },
): StepTestData {
  const random = new Random(options.seed ?? 1);
  const n = Math.round(options.duration / options.dt) + 1;
  const times: number[] = [];
  const input: number[] = [];
  const measurement: number[] = [];
  let y = plant.observation.measurement;
  for (let k = 0; k < n; k++) {
    const t = k * options.dt;
    const u = t < options.at - 1e-9 ? options.before : options.after;
    times.push(t);
    input.push(u);
    measurement.push(y + (options.noise ? random.normal(0, options.noise) : 0));
    y = plant.step(u, options.dt).measurement;
  }
  return { times, input, measurement };
}

/** A unit step at t = 1 s on K = 2, τ = 5 s, θ = 1.5 s, sampled every 0.1 s for 40 s. */
function fopdtStepTest(noise?: { noise: number; seed: number }): StepTestData {
  const plant = new Fopdt({ gain: 2, tau: 5, theta: 1.5 });
  return stepTest(plant, { dt: 0.1, duration: 40, at: 1, before: 0, after: 1, ...noise });
}

describe("identify", () => {
  it("identify – recovers a FOPDT (K = 2, τ = 5, θ = 1.5) from noise-free step data within 0.01 %", () => {
    // The fit simulates the model exactly, so only the optimizer tolerance remains.
    const data = fopdtStepTest();
    const fit = identifyFopdt(data);
    expect(fit.model).toBe("fopdt");
    expect(Math.abs(fit.gain / 2 - 1)).toBeLessThan(1e-4);
    expect(Math.abs(fit.tau / 5 - 1)).toBeLessThan(1e-4);
    expect(Math.abs(fit.theta / 1.5 - 1)).toBeLessThan(1e-4);
    expect(fit.fit).toBeGreaterThan(99.99);
    expect(fit.rmse).toBeLessThan(1e-3);
    expect(fit.fitted.length).toBe(data.times.length);
  });

  it("identify – FOPDT dead time between samples, an operating point and a negative gain", () => {
    // Rest at input 3 (output −1.5·3 = −4.5), step to 5 at t = 2: θ = 0.83 s is not a multiple of dt = 0.2.
    const data = stepTest(new Fopdt({ gain: -1.5, tau: 2, theta: 0.83, initialInput: 3 }), {
      dt: 0.2,
      duration: 20,
      at: 2,
      before: 3,
      after: 5,
    });
    const fit = identifyFopdt(data);
    expect(Math.abs(fit.gain / -1.5 - 1)).toBeLessThan(0.005);
    expect(Math.abs(fit.tau / 2 - 1)).toBeLessThan(0.005);
    expect(Math.abs(fit.theta / 0.83 - 1)).toBeLessThan(0.005);
    expect(fit.offset).toBeCloseTo(-4.5, 3);
    expect(fit.inputOffset).toBe(3);
  });

  it("identify – FOPDT with seeded measurement noise (1 % of the step) stays within a few percent", () => {
    // Noise sd 0.02 on a response of 2: K within 2 %, τ within 5 %, θ within 0.15 s;
    // the residual rms should be the noise level (within 15 %).
    const data = fopdtStepTest({ noise: 0.02, seed: 3 });
    const fit = identifyFopdt(data);
    expect(Math.abs(fit.gain / 2 - 1)).toBeLessThan(0.02);
    expect(Math.abs(fit.tau / 5 - 1)).toBeLessThan(0.05);
    expect(Math.abs(fit.theta - 1.5)).toBeLessThan(0.15);
    expect(Math.abs(fit.rmse / 0.02 - 1)).toBeLessThan(0.15);
    expect(fit.fit).toBeGreaterThan(95);
  });

  it("identify – recovers a queue as an integrator with dead time (k = 1, θ = measurement delay)", () => {
    // Fluid queue at balance (admission 100 = capacity 100, backlog 20), admission steps to 110 at t = 1;
    // the measurement lags 0.75 s: y = 20 + 1·10·max(0, t − 1 − 0.75).
    const queue = new FluidQueue({ capacity: 100, initialBacklog: 20, measurementDelay: 0.75 });
    const data = stepTest(queue, { dt: 0.1, duration: 10, at: 1, before: 100, after: 110 });
    const fit = identifyIntegrating(data);
    expect(fit.model).toBe("integrating");
    expect(fit.gain).toBeCloseTo(1, 6);
    expect(fit.theta).toBeCloseTo(0.75, 6);
    expect(fit.offset).toBeCloseTo(20, 6);
    expect(fit.inputOffset).toBe(100);
  });

  it("identify – integrator with seeded noise stays within 2 % in gain and 0.1 s in dead time", () => {
    const queue = new FluidQueue({ capacity: 100, initialBacklog: 20, measurementDelay: 0.75 });
    const data = stepTest(queue, {
      dt: 0.1,
      duration: 10,
      at: 1,
      before: 100,
      after: 110,
      noise: 0.5,
      seed: 5,
    });
    const fit = identifyIntegrating(data);
    expect(Math.abs(fit.gain - 1)).toBeLessThan(0.02);
    expect(Math.abs(fit.theta - 0.75)).toBeLessThan(0.1);
    expect(Math.abs(fit.rmse / 0.5 - 1)).toBeLessThan(0.15);
  });

  it("identify – validates the data with named messages", () => {
    expect(() => identifyFopdt({ times: [0, 1, 2], input: [1, 1, 1], measurement: [0, 0, 0] })).toThrow(
      "Expected `input` to be changing during the test, got `a constant input`",
    );
    expect(() => identifyFopdt({ times: [0, 1, 2], input: [0, 1], measurement: [0, 0, 0] })).toThrow(
      RangeError,
    );
    expect(() => identifyIntegrating({ times: [0, 2, 1], input: [0, 1, 1], measurement: [0, 0, 0] })).toThrow(
      "Expected `times[2]` to be greater than `times[1]`, got `1`",
    );
  });
});
