import { describe, expect, it } from "vitest";
import { AstromMurrayQueue } from "../../../toolbox/control/plants/astrom-murray-queue.js";
import { EventQueue } from "../../../toolbox/control/plants/event-queue.js";
import { FluidQueue } from "../../../toolbox/control/plants/fluid-queue.js";
import { Fopdt } from "../../../toolbox/control/plants/fopdt.js";
import type { Plant, PlantObservation } from "../../../toolbox/control/plants/plant.js";
import { secondMoment } from "../../../toolbox/control/random.js";
import { step as stepSignal } from "../../../toolbox/control/signals.js";

/** Runs `plant` for `steps` steps of `dt` with a constant actuator value. */
function run<O extends PlantObservation>(plant: Plant<O>, actuator: number, dt: number, steps: number): O {
  let obs = plant.observation;
  for (let i = 0; i < steps; i++) obs = plant.step(actuator, dt);
  return obs as O;
}

/** Erlang C: probability that an arrival waits in M/M/c with offered traffic a = λ/μ (a < c). */
function erlangC(c: number, a: number): number {
  let term = 1;
  let sum = 1; // k = 0
  for (let k = 1; k < c; k++) {
    term *= a / k;
    sum += term;
  }
  const last = ((term * a) / c) * (c / (c - a)); // a^c/c! · c/(c − a)
  return last / (sum + last);
}

describe("fluid queue", () => {
  it("fluid queue – constant arrivals below capacity keep the backlog at zero", () => {
    const q = new FluidQueue({ capacity: 100 });
    for (let i = 0; i < 200; i++) {
      const o = q.step(60, 0.05);
      expect(o.backlog).toBe(0);
      expect(o.serviceRate).toBeCloseTo(60, 12);
    }
    // Everything admitted was served: 60 msg/s × 10 s.
    expect(q.observation.admitted).toBeCloseTo(600, 9);
    expect(q.observation.served).toBeCloseTo(600, 9);
    expect(q.observation.delay).toBe(0);
  });

  it("fluid queue – above capacity the backlog grows at exactly (λ − μ)·t (charge = integral of current)", () => {
    const q = new FluidQueue({ capacity: 100 });
    for (let k = 1; k <= 100; k++) {
      const o = q.step(130, 0.1);
      // Hand-computed: backlog = (130 − 100)·t; delay = backlog/capacity.
      expect(o.backlog).toBeCloseTo(30 * 0.1 * k, 9);
      expect(o.delay).toBeCloseTo((30 * 0.1 * k) / 100, 9);
      expect(o.serviceRate).toBeCloseTo(100, 9);
    }
  });

  it("fluid queue – buffer overflow counts drops exactly", () => {
    // λ = 120, μ = 100 for 10 s: 1200 admitted, 1000 served, buffer 50 kept, 150 dropped.
    const q = new FluidQueue({ capacity: 100, bufferSize: 50 });
    const o = run(q, 120, 0.1, 100);
    expect(o.backlog).toBeCloseTo(50, 9);
    expect(o.admitted).toBeCloseTo(1200, 9);
    expect(o.served).toBeCloseTo(1000, 9);
    expect(o.dropped).toBeCloseTo(150, 9);
    expect(o.congested).toBe(true);
    expect(o.admitted).toBeCloseTo(o.served + o.dropped + o.backlog, 9);
  });

  it("fluid queue – admission limit below the offered load sheds the excess", () => {
    const q = new FluidQueue({ capacity: 100, load: 150 });
    const o = run(q, 90, 0.5, 20); // 10 s
    expect(o.offered).toBeCloseTo(1500, 9);
    expect(o.admitted).toBeCloseTo(900, 9);
    expect(o.shed).toBeCloseTo(600, 9);
    expect(o.backlog).toBe(0);
    // A per-step PlantInput overrides the load signal.
    const p = q.step({ actuator: 90, load: 40 }, 1);
    expect(p.arrivalRate).toBe(40);
  });

  it("fluid queue – empties within a step and serves the initial backlog plus arrivals", () => {
    const q = new FluidQueue({ capacity: 100, initialBacklog: 10 });
    const o = q.step(20, 1);
    // Drains at 80 msg/s: empty after 0.125 s; served = 10 + 20·1.
    expect(o.backlog).toBe(0);
    expect(o.served).toBeCloseTo(30, 12);
  });

  it("fluid queue – the controller sees the backlog as it was measurementDelay ago", () => {
    const q = new FluidQueue({ capacity: 100, measurementDelay: 0.3 });
    const truth: number[] = [0];
    for (let k = 1; k <= 50; k++) {
      const o = q.step(k < 25 ? 150 : 40, 0.1);
      truth.push(o.backlog);
      expect(o.measurement).toBeCloseTo(k >= 3 ? truth[k - 3]! : 0, 9);
      expect(o.delay).toBeCloseTo(o.measurement / 100, 9);
    }
  });

  it("fluid queue – follows a capacity step signal", () => {
    // Capacity 100 → 50 at t = 5, arrivals 80: empty until 5 s, then grows at 30 msg/s.
    const q = new FluidQueue({ capacity: stepSignal({ at: 5, from: 100, to: 50 }) });
    const o = run(q, 80, 0.25, 40); // 10 s
    expect(o.backlog).toBeCloseTo(30 * 5, 9);
    expect(o.capacity).toBe(50);
  });

  it("fluid queue – validates options with named messages", () => {
    expect(() => new FluidQueue({ capacity: 100, bufferSize: -1 })).toThrow(
      "Expected `bufferSize` to be a positive number, got `-1`",
    );
    expect(() => new FluidQueue({ capacity: 100 }).step(1, 0)).toThrow(RangeError);
    // A misspelt option is an error, not a silently infinite buffer.
    expect(() => new FluidQueue({ capacity: 100, bufer: 5 } as never)).toThrow(
      /^Unknown FluidQueue option `bufer`; expected one of capacity, load, bufferSize/,
    );
  });
});

describe("event queue", () => {
  it("event queue – M/M/1 mean sojourn, median and p99 match the exponential sojourn law", () => {
    // M/M/1 FIFO: sojourn ~ Exp(μ − λ) (Kleinrock, Queueing Systems vol. 1, §3.2),
    // so mean 1/(μ−λ), p50 = ln 2/(μ−λ), p99 = ln 100/(μ−λ).
    // λ = 0.6, μ = 1 → mean 2.5 s. About 600k customers; the relative standard error
    // of the mean at ρ = 0.6 is ≈ 0.5 %, so a 3 % tolerance is ≥ 5 σ.
    const q = new EventQueue({ capacity: 1, seed: 11 });
    run(q, 0.6, 1, 1_000_000);
    const s = q.summary();
    expect(s.meanSojourn).toBeGreaterThan(2.5 * 0.97);
    expect(s.meanSojourn).toBeLessThan(2.5 * 1.03);
    expect(q.sojournQuantile(0.5) / (Math.LN2 * 2.5)).toBeCloseTo(1, 1);
    expect(Math.abs(q.sojournQuantile(0.99) / (Math.log(100) * 2.5) - 1)).toBeLessThan(0.05);
    // Utilization → ρ = 0.6; Little's law L = λ·W on the same run.
    expect(s.utilization).toBeCloseTo(0.6, 2);
    expect(s.meanBacklog / ((s.served / s.time) * s.meanSojourn)).toBeCloseTo(1, 2);
  });

  it("event queue – M/M/c mean waiting time matches Erlang C", () => {
    // c = 3 servers of rate 1 (capacity 3), λ = 2.1: Wq = C(3, 2.1)/(3 − 2.1) ≈ 0.547 s.
    const c = 3;
    const lambda = 2.1;
    const expected = erlangC(c, lambda) / (c - lambda);
    expect(expected).toBeCloseTo(0.547, 3); // hand check of the helper: C = 5.145/10.45
    const q = new EventQueue({ capacity: c, servers: c, seed: 5 });
    run(q, lambda, 1, 400_000);
    expect(Math.abs(q.summary().meanWait / expected - 1)).toBeLessThan(0.05);
    expect(Math.abs(q.summary().meanSojourn / (expected + 1) - 1)).toBeLessThan(0.03);
  });

  it("event queue – M/D/1 and lognormal M/G/1 waiting match Pollaczek–Khinchine", () => {
    // P-K (Kleinrock vol. 1, §5.7): Wq = λ·E[S²]/(2(1 − ρ)).
    for (const service of [{ kind: "deterministic" as const }, { kind: "lognormal" as const, sigma: 0.8 }]) {
      const lambda = 0.6;
      const expected = (lambda * secondMoment(service, 1)) / (2 * (1 - lambda));
      const q = new EventQueue({ capacity: 1, service, seed: 3 });
      run(q, lambda, 1, 600_000);
      expect(Math.abs(q.summary().meanWait / expected - 1)).toBeLessThan(0.05);
    }
  });

  it("event queue – Pareto service times keep the configured mean (utilization → ρ)", () => {
    // Utilization of a single server is λ·E[S] for any service law; Pareto α = 2.5, E[S] = 1/μ.
    const q = new EventQueue({ capacity: 2, service: { kind: "pareto", shape: 2.5 }, seed: 9 });
    run(q, 1.4, 1, 200_000);
    expect(Math.abs(q.summary().utilization / 0.7 - 1)).toBeLessThan(0.02);
    // Heavier tail than exponential at the same load: p99.9 beyond the M/M/1 value ln(1000)/(μ − λ).
    expect(q.sojournQuantile(0.999)).toBeGreaterThan(Math.log(1000) / 0.6);
  });

  it("event queue – finite buffer drops the M/M/1/K blocking fraction and conserves messages", () => {
    // M/M/1/K blocking probability (PASTA): P_K = (1 − ρ)ρ^K/(1 − ρ^{K+1}); ρ = 0.9, K = 5 → 0.1260.
    const rho = 0.9;
    const K = 5;
    const pK = ((1 - rho) * rho ** K) / (1 - rho ** (K + 1));
    const q = new EventQueue({ capacity: 1, bufferSize: K, seed: 21 });
    const o = run(q, rho, 1, 300_000);
    expect(Math.abs(o.dropped / o.admitted / pK - 1)).toBeLessThan(0.03);
    expect(o.admitted).toBe(o.served + o.dropped + o.backlog);
    expect(o.backlog).toBeLessThanOrEqual(K);
  });

  it("event queue – admission thinning admits actuator/load of the offered arrivals", () => {
    const q = new EventQueue({ capacity: 100, load: 50, seed: 4 });
    const o = run(q, 20, 0.1, 20_000); // 2000 s, ~100k offered
    expect(o.offered).toBe(o.admitted + o.shed);
    // Binomial: 0.4 ± 0.0016 (1 σ) at n = 100k.
    expect(o.admitted / o.offered).toBeCloseTo(0.4, 2);
    expect(o.offered / 2000).toBeCloseTo(50, 0);
  });

  it("event queue – is reproducible from its seed and independent of dt for constant rates", () => {
    const a = new EventQueue({ capacity: 1, seed: 8 });
    const b = new EventQueue({ capacity: 1, seed: 8 });
    run(a, 0.8, 0.1, 10_000);
    run(b, 0.8, 1, 1_000);
    expect(b.observation.served).toBe(a.observation.served);
    expect(b.summary().meanSojourn).toBeCloseTo(a.summary().meanSojourn, 9);
    const before = a.sojournTimes();
    a.reset();
    run(a, 0.8, 0.1, 10_000);
    expect(a.sojournTimes()).toEqual(before);
    const c = new EventQueue({ capacity: 1, seed: 9 });
    run(c, 0.8, 1, 1_000);
    expect(c.observation.served).not.toBe(a.observation.served);
  });

  it("event queue – latency is the mean sojourn of messages served in the step", () => {
    // Deterministic service 0.5 s and an initial backlog of 4 on one server:
    // completions at 0.5, 1, 1.5, 2 with sojourns 0.5, 1, 1.5, 2 (all arrived at 0).
    const q = new EventQueue({ capacity: 2, service: { kind: "deterministic" }, initialBacklog: 4 });
    expect(q.observation.latency).toBeNaN();
    const o = q.step(0, 1);
    expect(o.served).toBe(2);
    expect(o.latency).toBeCloseTo(0.75, 12);
    expect(o.backlog).toBe(2);
    expect(q.step(0, 1).latency).toBeCloseTo(1.75, 12);
    expect(q.step(0, 1).latency).toBeCloseTo(1.75, 12); // held: nothing served
  });
});

describe("fopdt plant", () => {
  it("fopdt – unit step response is K(1 − e^{−(t−θ)/τ}) at every sample, θ not a multiple of dt", () => {
    const K = 2;
    const tau = 5;
    const theta = 1.55;
    const p = new Fopdt({ gain: K, tau, theta });
    let t = 0;
    // Variable step lengths: the discretization is exact for any dt.
    for (let k = 0; k < 200; k++) {
      const dt = k % 3 === 0 ? 0.07 : 0.1;
      const o = p.step(1, dt);
      t += dt;
      const expected = t > theta ? K * (1 - Math.exp(-(t - theta) / tau)) : 0;
      expect(o.measurement).toBeCloseTo(expected, 12);
    }
  });

  it("fopdt – starts at rest at K·initialInput and adds input and output disturbances", () => {
    const p = new Fopdt({ gain: 3, tau: 1, initialInput: 2, disturbance: 1, outputDisturbance: 0.5 });
    expect(p.observation.response).toBe(6);
    // Input 2 + disturbance 1 = 3 → response settles at 9; measurement adds 0.5.
    const o = run(p, 2, 0.5, 100);
    expect(o.response).toBeCloseTo(9, 9);
    expect(o.measurement).toBeCloseTo(9.5, 9);
    expect(o.input).toBe(3);
  });
});

describe("astrom-murray queue", () => {
  it("astrom-murray queue – settles at x* = λ/(μmax − λ) with delay 1/(μmax − λ)", () => {
    // Åström & Murray (2021) eq. (3.33): equilibrium x* = λ/(μmax − λ).
    const q = new AstromMurrayQueue({ capacity: 10 });
    const o = run(q, 8, 0.1, 2000);
    expect(o.backlog).toBeCloseTo(8 / (10 - 8), 9);
    expect(o.delay).toBeCloseTo(1 / (10 - 8), 9);
    expect(o.serviceRate).toBeCloseTo(8, 6);
  });

  it("astrom-murray queue – drains along the exact implicit solution ln x + x = ln x0 + x0 − μt", () => {
    // With λ = 0: (1 + x)/x dx = −μ dt.
    const q = new AstromMurrayQueue({ capacity: 1, initialBacklog: 10 });
    const o = run(q, 0, 0.5, 10); // t = 5
    const c = Math.log(10) + 10 - 5;
    let x = 5;
    for (let i = 0; i < 50; i++) x -= (Math.log(x) + x - c) / (1 / x + 1); // Newton
    expect(o.backlog).toBeCloseTo(x, 6);
    expect(o.served).toBeCloseTo(10 - x, 6);
  });
});

describe("plants", () => {
  it("plants – every plant advances time and returns its live observation", () => {
    const plants: Plant[] = [
      new FluidQueue({ capacity: 10 }),
      new EventQueue({ capacity: 10 }),
      new Fopdt(),
      new AstromMurrayQueue({ capacity: 10 }),
    ];
    for (const plant of plants) {
      const obs = plant.step(5, 0.25);
      expect(obs.time).toBe(0.25);
      expect(plant.time).toBe(0.25);
      expect(plant.observation).toBe(obs);
      expect(Number.isFinite(obs.measurement)).toBe(true);
      plant.reset();
      expect(plant.time).toBe(0);
    }
  });
});
