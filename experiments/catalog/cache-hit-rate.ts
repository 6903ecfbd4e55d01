/**
 * `cache-hit-rate`: a loop that sizes a cache to hold a target hit rate
 * under shifting demand (the cache case study of Janert's *Feedback Control
 * for Computer Systems*). The plant is an LRU cache in front of a Zipf key
 * stream (experiments/plants/cache.ts); the hot keys change at one third of
 * the run and popularity flattens at two thirds, so the capacity that holds
 * the target grows. A step test on the capacity gives a FOPDT model of the
 * hit rate (it rises as the cache refills, at the miss rate); SIMC tunes the
 * PI. References: the fixed initial capacity, and the fixed capacity the PI
 * ended with (what a static configuration would need for the worst demand).
 */
import { identifyFopdt, Pid, simc } from "../../toolbox/control/index.js";
import type {
  Experiment,
  ExperimentContext,
  ExperimentResult,
  RunRecord,
  SeriesSpec,
} from "../experiment.js";
import { ExperimentInputError } from "../experiment.js";
import { Schedule } from "../identification.js";
import { computeMetrics } from "../metrics.js";
import { createPlant } from "../plants/registry.js";
import { type ControlSetup, runOn } from "../runner.js";
import { type CacheScenario, cacheShift, cacheSignals } from "../scenarios.js";
import { keyValueTable, measuredRun, Progress, tableValue } from "../sections.js";

const name = "cache-hit-rate";
const controllers = ["pid", "fixed-initial", "fixed-final"] as const;

export const cacheHitRate: Experiment = {
  name,
  title: "Cache hit rate: a PI loop sizes an LRU cache under shifting demand",
  description:
    "2000 requests/s over 20000 keys with Zipf(1) popularity; the hot keys change at t = 30 s and popularity flattens to Zipf(0.8) at t = 60 s. " +
    "A PI loop (SIMC from a step test on the capacity) sets the cache capacity to hold a 75 % hit rate; fixed capacities are the references.",
  model: "cache",
  controllers,
  scenarios: [],
  defaults: { seed: 1, sampleTime: 0.5, controllers },
  run: runCacheHitRate,
};

/** The cache at the scenario's t = 0 demand, for the step test. */
function steadyCache(scenario: CacheScenario, seed: number): CacheScenario {
  const s = cacheSignals(scenario, seed);
  return {
    ...scenario,
    name: `${scenario.name}/steady`,
    requestRate: s.requestRate(0),
    zipf: s.zipf(0),
    shift: s.shift(0),
    step: null,
  };
}

async function runCacheHitRate(ctx: ExperimentContext): Promise<ExperimentResult> {
  const h = ctx.sampleTime;
  const chosen = ctx.controllers ?? controllers;
  for (const c of chosen) {
    if (!(controllers as readonly string[]).includes(c)) {
      throw new ExperimentInputError(
        `cache-hit-rate has no controller "${c}"; expected one of ${controllers.join(", ")}`,
      );
    }
  }
  for (const key of Object.keys(ctx.params ?? {})) {
    if (!["kp", "ki"].includes(key))
      throw new ExperimentInputError(`Parameter \`${key}\` is not used by cache-hit-rate; it takes kp, ki`);
  }
  if (ctx.setpoint !== undefined && !(ctx.setpoint > 0 && ctx.setpoint < 1)) {
    throw new ExperimentInputError(
      `--setpoint for cache-hit-rate is a hit rate in (0, 1), got ${ctx.setpoint}`,
    );
  }
  const scenario = cacheShift({
    ...(ctx.duration === undefined ? {} : { duration: ctx.duration }),
    ...(ctx.setpoint === undefined ? {} : { setpoint: ctx.setpoint }),
  });
  const signals = cacheSignals(scenario, ctx.seed);
  const samples = Math.round(scenario.duration / h);
  const testTime = 20;
  const pidRuns = chosen.includes("pid") ? 0 : 1;
  const progress = new Progress(
    Math.round(testTime / h) + (chosen.length + pidRuns) * samples,
    ctx.onProgress,
  );
  const runs: RunRecord[] = [];

  // Step test: the capacity at its initial value for 10 s (the cache fills), then doubled.
  const steady = steadyCache(scenario, ctx.seed + 1000);
  const c0 = scenario.initialCapacity;
  const stepAt = testTime / 2;
  const testPlant = await createPlant(ctx.plant, "cache", {
    scenario: steady,
    signals: cacheSignals(steady, ctx.seed + 1000),
    seed: ctx.seed + 1000,
  });
  const testLog = await runOn(
    testPlant,
    {
      label: "step-test",
      controller: new Schedule((t) => (t < stepAt - 1e-9 ? c0 : 2 * c0)),
      actuator: "capacity",
      toSetpoint: null,
    },
    {
      setpoint: signals.setpoint,
      duration: testTime,
      sampleTime: h,
      warmup: 0,
      onSample: progress.run("step test"),
    },
  );
  await testPlant.close?.();
  // Fit from 2 s before the step: the cache is warm by then.
  const from = testLog.times.findIndex((t) => t >= stepAt - 2 - 1e-9);
  const fit = identifyFopdt({
    times: testLog.times.slice(from).map((t) => t - testLog.times[from]!),
    input: testLog.applied.slice(from),
    measurement: testLog.measurement.slice(from),
  });
  const thetaEffective = fit.theta + h / 2;
  const tuning = simc({ gain: fit.gain, tau: fit.tau, theta: thetaEffective });
  runs.push({
    label: "step-test",
    controller: "schedule",
    scenario: steady.name,
    seed: ctx.seed + 1000,
    actuator: "capacity",
    note: `open loop: capacity ${c0}, then ${2 * c0} from t = ${stepAt} s`,
    gains: { from: c0, to: 2 * c0, stepAt },
    metrics: computeMetrics(testLog, { step: null }),
    log: testLog,
  });

  const kp = ctx.params?.kp ?? tuning.kp;
  const ki = ctx.params?.ki ?? tuning.ki;
  const run = async (setup: ControlSetup): Promise<RunRecord> =>
    measuredRun(setup, {
      mode: ctx.plant,
      model: "cache",
      spec: { scenario, signals, seed: ctx.seed },
      scenario,
      duration: scenario.duration,
      sampleTime: h,
      setpoint: signals.setpoint,
      progress,
    });
  const pidSetup = (): ControlSetup => ({
    label: "pid",
    controller: new Pid({ kp, ki, setpoint: signals.setpoint(0), outputMin: 1, outputMax: scenario.keys }),
    actuator: "capacity",
    note: "capacity = PI(hit-rate error), entries",
  });
  // The PI run comes first: fixed-final needs the capacity it ended with.
  const pid = await run(pidSetup());
  const finalCapacity = pid.log.applied[pid.log.applied.length - 1]!;
  const main: number[] = [];
  for (const c of chosen) {
    main.push(runs.length);
    if (c === "pid") runs.push(pid);
    else {
      const capacity = c === "fixed-initial" ? c0 : finalCapacity;
      runs.push(
        await run({
          label: c,
          controller: new Schedule(() => capacity),
          actuator: "capacity",
          toSetpoint: null,
          note: `capacity ${capacity} entries throughout`,
        }),
      );
    }
  }
  const table = {
    title: "Metrics",
    columns: [
      "run",
      "IAE (hit rate·s)",
      "mean hit rate",
      "overshoot %",
      "settling s",
      "mean capacity (entries)",
    ],
    rows: main.map((i) => {
      const r = runs[i]!;
      return [
        r.label,
        tableValue("iae", r.metrics.iae),
        tableValue("meanMeasurement", r.metrics.meanMeasurement),
        tableValue("overshoot", r.metrics.overshoot),
        tableValue("settlingTime", r.metrics.settlingTime),
        Math.round(r.log.stats.extra.meanCapacity ?? Number.NaN),
      ];
    }),
    caption:
      "IAE of the hit rate against the target; overshoot and settling (±20 % of the target) on the hit rate smoothed over about 1 s within 10 s of the popularity flattening.",
  };
  const series = (field: SeriesSpec["field"], label: (i: number) => string): SeriesSpec[] =>
    main.map((i) => ({ label: label(i), run: i, field }));
  const notes = main.map((i) => {
    const r = runs[i]!;
    return `${r.label}: hit-rate IAE ${r.metrics.iae.toFixed(2)}, mean hit rate ${(r.metrics.meanMeasurement * 100).toFixed(1)} %, mean capacity ${Math.round(r.log.stats.extra.meanCapacity ?? 0)} entries.`;
  });
  notes.unshift(
    `Step test ${c0} → ${2 * c0} entries: FOPDT K = ${fit.gain.toExponential(2)} hit rate per entry, τ = ${fit.tau.toPrecision(3)} s (the refill at the miss rate), θ = ${(fit.theta < 1e-9 ? 0 : fit.theta).toPrecision(2)} s, fit ${fit.fit.toFixed(0)} %; SIMC PI kp ${kp.toPrecision(3)} entries per unit hit rate, ki ${ki.toPrecision(3)} /s.`,
  );
  return {
    experiment: name,
    title: cacheHitRate.title,
    description: cacheHitRate.description,
    plant: ctx.plant,
    seed: ctx.seed,
    sampleTime: h,
    scenario,
    scenarios: [scenario, steady],
    runs,
    sections: [
      {
        title: `Scenario: ${scenario.name}`,
        text: scenario.description,
        charts: [
          {
            title: "Hit rate vs target",
            unit: "hit rate",
            series: [
              { label: "target", run: main[0]!, field: "setpoint", dashed: true },
              ...series("measurement", (i) => runs[i]!.label),
            ],
          },
          {
            title: "Cache capacity (controller output)",
            unit: "entries",
            series: series("applied", (i) => runs[i]!.label),
          },
          {
            title: "Evictions per sample",
            unit: "entries",
            series: series({ column: "evictions" }, (i) => runs[i]!.label),
          },
          ...(runs.some((r) => r.label === "pid")
            ? [
                {
                  title: "Controller components of pid",
                  unit: "entries",
                  series: Object.keys(pid.log.components).map(
                    (c): SeriesSpec => ({ label: c, run: runs.indexOf(pid), field: { component: c } }),
                  ),
                },
              ]
            : []),
        ],
        tables: [table],
      },
      {
        title: "Step test and tuning",
        text: "The capacity steps from its initial value to twice that; the hit rate climbs as the cache refills. identifyFopdt fits K·e^{−θs}/(τs + 1) from 2 s before the step; SIMC with θ_eff = θ + sampleTime/2 and τc = θ_eff gives the PI.",
        charts: [
          {
            title: "Step test: hit rate",
            unit: "hit rate",
            series: [{ label: "hit rate", run: 0, field: "measurement" }],
          },
          {
            title: "Step test: capacity",
            unit: "entries",
            series: [{ label: "capacity", run: 0, field: "applied" }],
          },
        ],
        tables: [
          keyValueTable("Model and gains", {
            "K (hit rate per entry)": fit.gain,
            "τ (s)": fit.tau,
            "θ (s)": fit.theta,
            "fit %": fit.fit,
            "θ_eff (s)": thetaEffective,
            kp,
            "ki (1/s)": ki,
          }),
        ],
      },
    ],
    notes,
  };
}
