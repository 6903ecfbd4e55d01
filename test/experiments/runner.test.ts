import { describe, expect, it } from "vitest";
import { type ExperimentPlant, type PlantSample, runLoop, runLoopAsync } from "../../experiments/runner.js";
import { Pid } from "../../toolbox/control/index.js";

/**
 * A plant whose numbers are hand-computable: x grows by (u − 10)·dt per
 * advance (an integrator draining 10 units/s), and it logs x as its one
 * column. `async` makes `advance` return a promise, like a live plant.
 */
class Integrator implements ExperimentPlant {
  readonly model = "integrator";
  readonly mode: "sim" | "live";
  readonly columns = [{ name: "x", unit: "units", description: "the state" }];
  readonly actuators = ["u"];
  time = 0;
  x = 0;
  u = 0;
  constructor(async = false) {
    this.mode = async ? "live" : "sim";
  }
  observe(): PlantSample {
    return { time: this.time, observation: { measurement: this.x }, values: [this.x] };
  }
  apply(actuator: string, value: number): number {
    if (actuator !== "u") throw new RangeError(`Unknown actuator \`${actuator}\``);
    this.u = value;
    return value;
  }
  advance(dt: number): void | Promise<void> {
    this.x += (this.u - 10) * dt;
    this.time += dt;
    return this.mode === "live" ? Promise.resolve() : undefined;
  }
  stats() {
    return {
      goodput: 1,
      shed: 0,
      dropped: 0,
      latencyP50: Number.NaN,
      latencyP99: Number.NaN,
      extra: { x: this.x },
    };
  }
}

describe("runner", () => {
  it("runner – logs each sample: time, setpoint, measurement, output, applied, columns and components", () => {
    const plant = new Integrator();
    // P-only, kp = 2, setpoint 5, dt = 0.5, warmup 0:
    // k=0: x=0, u=2·5=10 → x stays 0; every sample repeats (u − 10 = 0).
    const log = runLoop(
      plant,
      { label: "p", controller: new Pid({ kp: 2 }), actuator: "u" },
      { setpoint: 5, duration: 1.5, sampleTime: 0.5, warmup: 0 },
    );
    expect(log.times).toEqual([0, 0.5, 1]);
    expect(log.setpoint).toEqual([5, 5, 5]);
    expect(log.measurement).toEqual([0, 0, 0]);
    expect(log.output).toEqual([10, 10, 10]);
    expect(log.applied).toEqual([10, 10, 10]);
    expect(log.values).toEqual([[0, 0, 0]]);
    expect(log.components.p).toEqual([10, 10, 10]);
    expect(log.controller).toBe("pid");
    expect(log.params?.kp).toBe(2);
    expect(log.stats.extra.x).toBe(0);
  });

  it("runner – the controller starts after the warm-up sample and follows a setpoint signal", () => {
    const plant = new Integrator();
    // kp = 1, dt = 1, setpoint 0 until t = 2 then 20. Warm-up: no output at k=0, u stays 0: x = −10 at t=1.
    // k=1: u = 1·(0 − (−10)) = 10 → x stays −10. k=2: u = 20 + 10 = 30 → x = 10 at t=3.
    // k=3: u = 20 − 10 = 10 → x stays 10.
    const log = runLoop(
      plant,
      { label: "p", controller: new Pid({ kp: 1 }), actuator: "u" },
      { setpoint: (t) => (t < 2 ? 0 : 20), duration: 4, sampleTime: 1 },
    );
    expect(log.measurement).toEqual([0, -10, -10, 10]);
    expect(log.output.slice(1)).toEqual([10, 30, 10]);
    expect(Number.isNaN(log.output[0])).toBe(true);
    expect(Number.isNaN(log.applied[0])).toBe(true);
    expect(Number.isNaN(log.components.p![0])).toBe(true);
  });

  it("runner – an uncontrolled run applies nothing and logs NaN outputs", () => {
    const plant = new Integrator();
    const log = runLoop(
      plant,
      { label: "none", controller: null, actuator: null },
      { setpoint: 1, duration: 2, sampleTime: 1 },
    );
    expect(log.controller).toBe("none");
    expect(log.measurement).toEqual([0, -10]);
    expect(log.output.every(Number.isNaN)).toBe(true);
    expect(log.components).toEqual({});
  });

  it("runner – stop ends the run after the sample it returns true for", () => {
    const log = runLoop(
      new Integrator(),
      { label: "none", controller: null, actuator: null },
      {
        setpoint: 0,
        duration: 10,
        sampleTime: 1,
        stop: (_sample, k) => k === 2,
      },
    );
    expect(log.times).toEqual([0, 1, 2]);
  });

  it("runner – reports progress once per sample", () => {
    const seen: [number, number][] = [];
    runLoop(
      new Integrator(),
      { label: "none", controller: null, actuator: null },
      {
        setpoint: 0,
        duration: 0.3,
        sampleTime: 0.1,
        onSample: (done, total) => seen.push([done, total]),
      },
    );
    expect(seen).toEqual([
      [1, 3],
      [2, 3],
      [3, 3],
    ]);
  });

  it("runner – runLoop refuses a plant whose advance returns a promise; runLoopAsync awaits it", async () => {
    const setup = { label: "p", controller: new Pid({ kp: 2 }), actuator: "u" };
    expect(() => runLoop(new Integrator(true), setup, { setpoint: 5, duration: 1, sampleTime: 0.5 })).toThrow(
      /runLoopAsync/,
    );
    const log = await runLoopAsync(
      new Integrator(true),
      { ...setup, controller: new Pid({ kp: 2 }) },
      {
        setpoint: 5,
        duration: 1,
        sampleTime: 0.5,
        warmup: 0,
      },
    );
    expect(log.output).toEqual([10, 10]);
  });

  it("runner – checks its options and the actuator name", () => {
    const setup = { label: "p", controller: new Pid(), actuator: "u" };
    expect(() => runLoop(new Integrator(), setup, { setpoint: 0, duration: 1, sampleTime: 0 })).toThrow(
      /`sampleTime`/,
    );
    expect(() => runLoop(new Integrator(), setup, { setpoint: 0, duration: -1, sampleTime: 0.1 })).toThrow(
      /`duration`/,
    );
    expect(() =>
      runLoop(new Integrator(), { ...setup, actuator: "v" }, { setpoint: 0, duration: 1, sampleTime: 0.1 }),
    ).toThrow(/one of u/);
  });
});
