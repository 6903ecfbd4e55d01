/**
 * `autoscale`: a loop on the worker count. Everything offered is admitted;
 * the actuator is the size of the worker pool (an integer, and a new worker
 * takes `workerStartDelay` seconds to start, like a process). A PI loop on
 * the backlog, tuned by SIMC from a step test on the worker count, adds
 * workers when the backlog is above its setpoint; the feedforward variant
 * starts from the measured arrival rate divided by the per-worker rate (the
 * pool that would be exactly busy) and lets the PI add the margin — the
 * server-scaling pattern of Janert's *Feedback Control for Computer Systems*
 * with feedforward from the measured load. Compared with fixed pools sized
 * for the start and for the peak.
 */
import { identifyIntegrating, Pid, simcIntegrating } from "../../toolbox/control/index.js";
import type {
  Experiment,
  ExperimentContext,
  ExperimentResult,
  RunRecord,
  SeriesSpec,
} from "../experiment.js";
import { ExperimentInputError } from "../experiment.js";
import { Schedule, steadyScenario } from "../identification.js";
import { computeMetrics } from "../metrics.js";
import { createPlant } from "../plants/registry.js";
import { type ControlSetup, runOn } from "../runner.js";
import { type QueueScenario, queueSignals } from "../scenarios.js";
import { keyValueTable, measuredRun, metricTable, Progress, queueCharts } from "../sections.js";

const name = "autoscale";
const controllers = ["pid-ff", "pid", "fixed-start", "fixed-peak"] as const;
const startDelay = 2;
const maxWorkers = 40;

export const autoscale: Experiment = {
  name,
  title: "Autoscale: a PI loop with arrival-rate feedforward sizes the worker pool",
  description:
    `The offered load rises from 200 to 500 msg/s and falls to 250 msg/s; workers serve 25 msg/s each and take ${startDelay} s to start. ` +
    "A PI loop on the backlog (SIMC-tuned from a step test on the worker count) sets the number of workers, with or without feedforward of the measured arrival rate; fixed pools sized for the start and for the peak are the references.",
  model: "worker-pool",
  controllers,
  scenarios: [],
  defaults: { seed: 1, sampleTime: 0.5, controllers },
  run: runAutoscale,
};

/** The load wave of the autoscale experiment. */
export function loadWave(duration = 90, setpoint = 30): QueueScenario {
  const t = (f: number) => Math.round(duration * f);
  return {
    model: "worker-pool",
    name: "load-wave",
    description: `Load 200 msg/s, ramping to 500 msg/s between t = ${t(0.2)} and ${t(0.45)} s, stepping down to 250 msg/s at t = ${t(0.7)} s; backlog setpoint ${setpoint} messages; no admission control.`,
    duration,
    workers: 8,
    workerRate: 25,
    load: {
      kind: "sum",
      terms: [
        { kind: "ramp", start: t(0.2), end: t(0.45), from: 200, to: 500 },
        { kind: "step", at: t(0.7), from: 0, to: -250 },
      ],
    },
    setpoint,
    bufferSize: null,
    step: { signal: "load", at: t(0.7) },
  };
}

async function runAutoscale(ctx: ExperimentContext): Promise<ExperimentResult> {
  const h = ctx.sampleTime;
  const chosen = ctx.controllers ?? controllers;
  for (const c of chosen) {
    if (!(controllers as readonly string[]).includes(c)) {
      throw new ExperimentInputError(
        `autoscale has no controller "${c}"; expected one of ${controllers.join(", ")}`,
      );
    }
  }
  for (const key of Object.keys(ctx.params ?? {})) {
    if (!["kp", "ki", "kff"].includes(key)) {
      throw new ExperimentInputError(`Parameter \`${key}\` is not used by autoscale; it takes kp, ki, kff`);
    }
  }
  const scenario = loadWave(ctx.duration ?? 90, ctx.setpoint ?? 30);
  const signals = queueSignals(scenario, ctx.seed);
  const perWorker = signals.workerRate(0);
  const samples = Math.round(scenario.duration / h);
  const testTime = 12;
  const progress = new Progress(Math.round(testTime / h) + chosen.length * samples, ctx.onProgress);
  const runs: RunRecord[] = [];

  // Step test on the worker count: a deep backlog, the balanced pool, then two more workers.
  const steady = steadyScenario(scenario, ctx.seed + 1000);
  const steadySignals = queueSignals(steady, ctx.seed + 1000);
  const balance = Math.round(steadySignals.load(0) / perWorker);
  const stepAt = 4;
  const testPlant = await createPlant(ctx.plant, "worker-pool", {
    scenario: { ...steady, workers: balance },
    signals: steadySignals,
    seed: ctx.seed + 1000,
    initialBacklog: 600,
    workerStartDelay: startDelay,
    maxWorkers,
  });
  const schedule = new Schedule((t) => (t < stepAt - 1e-9 ? balance : balance + 2));
  const testLog = await runOn(
    testPlant,
    { label: "step-test", controller: schedule, actuator: "workers", toSetpoint: null },
    {
      setpoint: steadySignals.setpoint,
      duration: testTime,
      sampleTime: h,
      warmup: 0,
      onSample: progress.run("step test"),
    },
  );
  await testPlant.close?.();
  const fit = identifyIntegrating({
    times: testLog.times,
    input: testLog.applied,
    measurement: testLog.measurement,
  });
  const thetaEffective = fit.theta + h / 2;
  const tuning = simcIntegrating({ gain: Math.abs(fit.gain), theta: thetaEffective });
  runs.push({
    label: "step-test",
    controller: "schedule",
    scenario: steady.name,
    seed: ctx.seed + 1000,
    actuator: "workers",
    note: `open loop: ${balance} workers (balance), then ${balance + 2} from t = ${stepAt} s`,
    gains: { balance, step: 2, stepAt },
    metrics: computeMetrics(testLog, { step: null }),
    log: testLog,
  });

  const kp = ctx.params?.kp ?? tuning.kp;
  const ki = ctx.params?.ki ?? tuning.ki;
  const kff = ctx.params?.kff ?? 1 / perWorker;
  const peak = Math.ceil(500 / perWorker / 0.9);
  const setupOf = (c: (typeof controllers)[number]): ControlSetup => {
    switch (c) {
      case "pid":
      case "pid-ff":
        return {
          label: c,
          controller: new Pid({
            kp,
            ki,
            setpoint: signals.setpoint(0),
            direction: "reverse",
            outputMin: 1,
            outputMax: maxWorkers,
            ...(c === "pid-ff" ? { feedforwardSignal: "arrivalRate" as const, kff } : {}),
          }),
          actuator: "workers",
          note:
            c === "pid-ff"
              ? "workers = arrival rate / per-worker rate + PI(backlog above setpoint), rounded"
              : "workers = PI(backlog above setpoint), rounded",
        };
      case "fixed-start":
        return {
          label: c,
          controller: new Schedule(() => scenario.workers),
          actuator: "workers",
          toSetpoint: null,
          note: `${scenario.workers} workers throughout`,
        };
      case "fixed-peak":
        return {
          label: c,
          controller: new Schedule(() => peak),
          actuator: "workers",
          toSetpoint: null,
          note: `${peak} workers throughout (the peak load at 90 % utilization)`,
        };
    }
  };
  const main: number[] = [];
  for (const c of chosen as (typeof controllers)[number][]) {
    main.push(runs.length);
    runs.push(
      await measuredRun(setupOf(c), {
        mode: ctx.plant,
        model: "worker-pool",
        spec: { scenario, signals, seed: ctx.seed, workerStartDelay: startDelay, maxWorkers },
        scenario,
        duration: scenario.duration,
        sampleTime: h,
        setpoint: signals.setpoint,
        progress,
      }),
    );
  }
  const workerRows = main.map((i) => [
    runs[i]!.label,
    Number((runs[i]!.log.stats.extra.meanWorkers ?? Number.NaN).toPrecision(3)),
  ]);
  const detail = main.find((i) => runs[i]!.label === "pid-ff") ?? main[0];
  const notes = main.map((i) => {
    const r = runs[i]!;
    return `${r.label}: backlog IAE ${r.metrics.iae.toFixed(0)} msg·s, p99 ${r.metrics.latencyP99.toFixed(0)} ms, ${(r.log.stats.extra.meanWorkers ?? 0).toFixed(1)} workers on average, utilization ${(r.metrics.goodput * 100).toFixed(1)} %.`;
  });
  notes.unshift(
    `Step test on the worker count: k = ${fit.gain.toPrecision(3)} msg/s per worker (−${perWorker} expected: one more worker drains ${perWorker} msg/s), θ = ${(fit.theta < 1e-9 ? 0 : fit.theta).toPrecision(2)} s (a new worker starts ${startDelay} s after it is asked for); SIMC PI kp ${kp.toPrecision(3)} workers/msg, ki ${ki.toPrecision(3)} workers/(msg·s).`,
  );
  const testSeries = (field: "measurement" | "applied", label: string): SeriesSpec => ({
    label,
    run: 0,
    field,
  });
  return {
    experiment: name,
    title: autoscale.title,
    description: autoscale.description,
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
        // fixed-start's backlog grows without bound: cut the axes so the controlled runs stay readable.
        charts: queueCharts(runs, main, detail, { backlog: 10 * signals.setpoint(0), latency: 5000 }),
        tables: [
          metricTable(
            "Metrics",
            main.map((i) => runs[i]!),
            undefined,
            "goodput here is the utilization of the workers that were running.",
          ),
          { title: "Cost", columns: ["run", "mean workers"], rows: workerRows },
        ],
      },
      {
        title: "Step test and tuning",
        text: `With ${balance} workers the pool is balanced against the load; two more workers from t = ${stepAt} s drain the backlog after their ${startDelay} s start. identifyIntegrating fits the backlog, SIMC (τc = θ_eff) tunes the PI.`,
        charts: [
          { title: "Step test: backlog", unit: "messages", series: [testSeries("measurement", "backlog")] },
          { title: "Step test: workers", unit: "workers", series: [testSeries("applied", "workers")] },
        ],
        tables: [
          keyValueTable("Model and gains", {
            "k (msg/s per worker)": fit.gain,
            "θ (s)": fit.theta,
            "fit %": fit.fit,
            "θ_eff (s)": thetaEffective,
            kp,
            "ki (1/s)": ki,
            "kff (workers per msg/s)": kff,
          }),
        ],
      },
    ],
    notes,
  };
}
