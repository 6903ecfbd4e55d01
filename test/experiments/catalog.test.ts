import { describe, expect, it } from "vitest";
import {
  getExperiment,
  listExperiments,
  plantsOf,
  registerExperiment,
} from "../../experiments/catalog/index.js";
import type { Experiment } from "../../experiments/experiment.js";
import { ExperimentInputError } from "../../experiments/experiment.js";
import { createPlant, hasPlant, registerPlant } from "../../experiments/plants/registry.js";
import { runLoop } from "../../experiments/runner.js";
import { capacityStep, queueSignals } from "../../experiments/scenarios.js";
import { checkQueueInputs, queueControllers, queueSetup } from "../../experiments/setups.js";

const context = { setpoint: 50, nominalCapacity: 200, sampleTime: 0.1, noLoadLatency: 0.04 };

describe("catalog", () => {
  it("catalog – lists the five experiments, each runnable on sim, and live where its model has a live plant", () => {
    expect(listExperiments().map((e) => e.name)).toEqual([
      "backlog-step",
      "compare-controllers",
      "autotune",
      "autoscale",
      "cache-hit-rate",
    ]);
    for (const e of listExperiments())
      expect(plantsOf(e)).toEqual({ sim: true, live: e.model === "worker-pool" });
    expect(() => getExperiment("nope")).toThrow(/Unknown experiment `nope`/);
  });

  it("catalog – a registered live plant makes --plant live available; createPlant says when it is not", async () => {
    await expect(createPlant("live", "cache", {} as never)).rejects.toThrow(/not yet available/);
    expect(hasPlant("live", "cache")).toBe(false);
    // Register a live cache plant backed by the simulation (stands in for the real one).
    registerPlant("live", "cache", async (spec) => (await createPlant("sim", "cache", spec)) as never);
    expect(plantsOf(getExperiment("cache-hit-rate")).live).toBe(true);
    const replaced: Experiment = { ...getExperiment("autotune"), title: "replaced" };
    registerExperiment(replaced);
    expect(getExperiment("autotune").title).toBe("replaced");
  });

  it("catalog – every queue setup drives the worker pool through its actuator", async () => {
    const scenario = capacityStep({ duration: 10 });
    const signals = queueSignals(scenario, 1);
    for (const name of queueControllers) {
      const params: Record<string, number> =
        name.startsWith("pid") || name === "cascade" ? { kp: 5, ki: 8 } : {};
      const setup = queueSetup(name, context, params);
      const plant = await createPlant("sim", "worker-pool", { scenario, signals, seed: 1 });
      const log = runLoop(plant, setup, { setpoint: signals.setpoint, duration: 10, sampleTime: 0.1 });
      expect(log.times, name).toHaveLength(100);
      expect(
        log.measurement.every((y) => Number.isFinite(y) && y <= 1000),
        name,
      ).toBe(true);
      if (name === "none") continue;
      // After the warm-up sample every output reached the actuator as a finite value.
      expect(log.applied.slice(1).every(Number.isFinite), name).toBe(true);
      expect(setup.note, name).toBeTruthy();
    }
  });

  it("catalog – PIE and CoDel see the backlog as delay at the nominal capacity, with the setpoint as their target", () => {
    const pie = queueSetup("pie", context);
    expect(pie.actuator).toBe("fraction");
    expect(pie.toSetpoint!(50)).toBeCloseTo(0.25, 12);
    expect(pie.observe!({ time: 0, observation: { measurement: 100 }, values: [] })).toEqual({
      measurement: 100,
      delay: 0.5,
    });
    expect(queueSetup("gradient2", context).actuator).toBe("window");
    expect(queueSetup("gradient2", context).toSetpoint).toBeNull();
    expect(
      queueSetup("aimd", context).observe!({
        time: 0,
        observation: { measurement: 7, congested: false },
        values: [],
      }),
    ).toEqual({
      measurement: 7,
    });
  });

  it("catalog – inputs are checked before anything runs", () => {
    expect(() => checkQueueInputs(["pie"], queueControllers, { kp: 1 }, context)).toThrow(
      ExperimentInputError,
    );
    expect(() => checkQueueInputs(["pid"], queueControllers, { kp: -1 }, context)).toThrow(/`kp`/);
    expect(() => checkQueueInputs(["fixed-rate"], queueControllers, { share: -0.5 }, context)).toThrow(
      /`share`/,
    );
    expect(
      checkQueueInputs(["pid", "fixed-rate"], queueControllers, { kp: 2, share: 0.5 }, context).get(
        "fixed-rate",
      ),
    ).toEqual({
      share: 0.5,
    });
  });
});

describe("experiments", () => {
  it("experiments – the PID setup holds the backlog at its setpoint through the capacity step", async () => {
    const result = await getExperiment("backlog-step").run({
      plant: "sim",
      seed: 11,
      sampleTime: 0.1,
      duration: 30,
    });
    const pid = result.runs.find((r) => r.label === "pid")!;
    const { times, measurement } = pid.log;
    // From 2 s after the step (t = 10 s) the offered load is 2.4× the capacity: every
    // 1 s average of the backlog stays within ±20 % of 50. (Before the step the
    // load is only 20 % over capacity, and Poisson lulls in the arrivals let the
    // backlog dip: no admission rate can admit messages that were not offered.)
    for (let k = 120; k + 10 <= times.length; k += 10) {
      const mean = measurement.slice(k, k + 10).reduce((a, b) => a + b, 0) / 10;
      expect(Math.abs(mean - 50), `t = ${times[k]}`).toBeLessThan(10);
    }
    expect(Math.abs(pid.metrics.meanMeasurement - 50)).toBeLessThan(5);
    expect(pid.metrics.goodput).toBeGreaterThan(0.97);
  });

  it("experiments – compare-controllers tunes, runs and rates every controller on the same seeds", async () => {
    const result = await getExperiment("compare-controllers").run({
      plant: "sim",
      seed: 1,
      sampleTime: 0.1,
      duration: 15,
      scenario: "capacity-step",
      repeats: 2,
    });
    const labels = new Set(result.runs.filter((r) => r.scenario === "capacity-step").map((r) => r.label));
    for (const c of ["pid", "cascade", "pid-feedback", "pie", "aimd", "gradient2", "fixed-rate", "none"])
      expect(labels).toContain(c);
    const targets = result.sections[0]!.tables[0]!;
    expect(targets.title).toMatch(/best baseline/);
    expect(targets.rows).toHaveLength(1);
    const pid = result.runs.filter((r) => r.label === "pid" && r.scenario === "capacity-step");
    const none = result.runs.filter((r) => r.label === "none" && r.scenario === "capacity-step");
    expect(pid.map((r) => r.seed)).toEqual([1, 2]);
    expect(pid[0]!.metrics.iae).toBeLessThan(none[0]!.metrics.iae);
    // Common random numbers: both controllers of a seed were offered the same arrivals.
    expect(pid[0]!.log.stats.extra.offered).toBe(none[0]!.log.stats.extra.offered);
    expect(result.notes[0]).toMatch(/§4 targets met on [01] of 1 scenarios/);
  });

  it("experiments – autotune identifies the queue as an integrator of gain ≈ 1 and checks every rule", async () => {
    const result = await getExperiment("autotune").run({
      plant: "sim",
      seed: 2,
      sampleTime: 0.1,
      duration: 15,
    });
    // A queue admits what its rate is set to: backlog slope per unit rate k = 1 (median of three noisy tests, ±20 %).
    expect(result.notes[0]).toMatch(/k = (0\.8|0\.9|1\.0|1\.1|1\.2)/);
    const rules = result.sections[2]!.tables[0]!;
    expect(rules.rows.length).toBe(9);
    expect(rules.rows.filter((r) => String(r[0]).endsWith("(chosen)"))).toHaveLength(1);
    expect(result.runs.some((r) => r.label === "relay")).toBe(true);
  });

  it("experiments – autoscale with feedforward beats the fixed start pool and uses fewer workers than the peak pool", async () => {
    const result = await getExperiment("autoscale").run({
      plant: "sim",
      seed: 1,
      sampleTime: 0.5,
      duration: 60,
    });
    const by = (label: string) => result.runs.find((r) => r.label === label)!;
    expect(by("pid-ff").metrics.iae).toBeLessThan(by("fixed-start").metrics.iae / 10);
    expect(by("pid-ff").log.stats.extra.meanWorkers!).toBeLessThan(
      by("fixed-peak").log.stats.extra.meanWorkers!,
    );
    // The step test sees one more worker drain 25 msg/s (±20 %).
    expect(result.notes[0]).toMatch(/k = -(2[0-9]|30)\./);
  });

  it("experiments – cache-hit-rate: the PI keeps the hit rate nearer its target than a fixed cache", async () => {
    const result = await getExperiment("cache-hit-rate").run({
      plant: "sim",
      seed: 1,
      sampleTime: 0.5,
      duration: 45,
    });
    const by = (label: string) => result.runs.find((r) => r.label === label)!;
    expect(by("pid").metrics.iae).toBeLessThan(by("fixed-initial").metrics.iae);
    expect(Math.abs(by("pid").metrics.meanMeasurement - 0.75)).toBeLessThan(0.05);
  });
});
