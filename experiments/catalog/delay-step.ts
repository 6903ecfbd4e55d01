/**
 * `delay-step`, the headline experiment (`npm start`): producers offer more
 * than a pool of workers can serve, and at a third of the run every worker
 * slows to half its rate. zmp's delay loop holds the sojourn of a message
 * at D* = setpoint / nominal capacity (0.25 s) with a credit window; it runs
 * against the best baseline and against no control, on the same seeded
 * scenario.
 *
 * The best baseline is chosen on the simulated plant, on a tuning seed of
 * its own (seed + 2000): every baseline's knob is swept on the scenario,
 * each baseline runs at the knob value whose mean sojourn before the step is
 * nearest D* (the same working point as the delay loop), and the one that
 * holds the delay best through the step (lowest IADE) is the best. The delay loop's trim is designed on an identified window → sojourn
 * model of the simulated plant (`designDelayTrim`). On `--plant live` the
 * three runs are `FeedbackLoop`s on one advertised graph — `zmp graph` lists
 * it and `zmp tune --loop delay` attaches to the delay loop while it runs.
 */
import type {
  Experiment,
  ExperimentContext,
  ExperimentResult,
  RunRecord,
  SeriesSpec,
} from "../experiment.js";
import { designDelayTrim } from "../identification.js";
import type { RunMetrics } from "../metrics.js";
import { capacityStep, queueSignals } from "../scenarios.js";
import { measuredRun, Progress } from "../sections.js";
import {
  baselineControllers,
  type QueueController,
  type QueuePlantFacts,
  queueControllers,
  queueKnob,
  queueSetup,
} from "../setups.js";

const name = "delay-step";

export const delayStep: Experiment = {
  name,
  title:
    "Delay step: worker capacity halves, zmp's delay loop holds the sojourn at D* against the best baseline",
  description:
    "Producers offer 240 msg/s to 8 workers of 25 msg/s (200 msg/s); at t = duration/3 every worker slows to half its rate. " +
    "zmp's delay loop sets the credit window to D*·μ̂ (μ̂ the service rate measured while the workers are busy) to hold the sojourn at D* = 0.25 s; the best baseline at the same working point (chosen on the simulated plant) and no control run the same seeded scenario.",
  model: "worker-pool",
  controllers: queueControllers,
  scenarios: [],
  defaults: { seed: 1, sampleTime: 0.1, controllers: ["delay", "best-baseline", "none"] },
  run: runDelayStep,
};

function round(value: number, digits = 3): string {
  if (!Number.isFinite(value)) return "–";
  return String(Math.abs(value) >= 10 ** digits ? Math.round(value) : Number(value.toPrecision(digits)));
}

async function runDelayStep(ctx: ExperimentContext): Promise<ExperimentResult> {
  const h = ctx.sampleTime;
  const scenario = capacityStep({
    ...(ctx.duration === undefined ? {} : { duration: ctx.duration }),
    ...(ctx.setpoint === undefined ? {} : { setpoint: ctx.setpoint }),
  });
  // The baselines are swept on the 40 s scenario of compare-controllers, whatever the run length.
  const simScenario = capacityStep({
    duration: 40,
    ...(ctx.setpoint === undefined ? {} : { setpoint: ctx.setpoint }),
  });
  const signals = queueSignals(scenario, ctx.seed);
  const base: QueuePlantFacts = {
    setpoint: signals.setpoint(0),
    nominalCapacity: scenario.workers * signals.workerRate(0),
    sampleTime: h,
    noLoadLatency: 1 / signals.workerRate(0),
    workers: scenario.workers,
  };
  const delay = base.setpoint / base.nominalCapacity;
  const samples = Math.round(scenario.duration / h);
  const progress = new Progress(3 * samples, ctx.onProgress);

  // 1. On the simulated plant: the delay trim's design, and the best baseline at its operating point.
  const sim: QueuePlantFacts = { ...base, inPath: true };
  const trim = await designDelayTrim("sim", simScenario, ctx.seed + 1500, h, delay);
  const tuningSeed = ctx.seed + 2000;
  const tuningSignals = queueSignals(simScenario, tuningSeed);
  // Each baseline at the knob value whose mean sojourn before the step is nearest D* (the same working
  // point); the best is the one that holds the delay best through the step (lowest IADE against D*).
  const candidates: {
    controller: QueueController;
    params: Record<string, number>;
    before: number;
    iade: number;
    p99: number;
    goodput: number;
  }[] = [];
  const stepAt = simScenario.step!.at;
  const simDelay = (t: number) => (delay * tuningSignals.setpoint(t)) / base.setpoint;
  for (const controller of baselineControllers) {
    const knob = queueKnob(controller, sim)!;
    let pick: (typeof candidates)[number] | undefined;
    for (const value of knob.values) {
      const params = { [knob.name]: value };
      const r = await measuredRun(queueSetup(controller, sim, params), {
        mode: "sim",
        model: "worker-pool",
        spec: { scenario: simScenario, signals: tuningSignals, seed: tuningSeed },
        scenario: simScenario,
        duration: simScenario.duration,
        sampleTime: h,
        setpoint: tuningSignals.setpoint,
        metrics: { delaySetpoint: simDelay },
      });
      const latency = r.log.values[r.log.columns.findIndex((c) => c.name === "latency")]!;
      const early = latency.filter(
        (v, k) => Number.isFinite(v) && r.log.times[k]! >= 5 && r.log.times[k]! < stepAt,
      );
      const before = early.reduce((a, b) => a + b, 0) / early.length / 1000;
      const candidate = {
        controller,
        params,
        before,
        iade: r.metrics.iade,
        p99: r.metrics.latencyP99,
        goodput: r.metrics.goodput,
      };
      if (pick === undefined || Math.abs(before - delay) < Math.abs(pick.before - delay)) pick = candidate;
    }
    candidates.push(pick!);
  }
  const best = candidates.reduce((a, b) => (b.iade < a.iade ? b : a));

  // 2. The runs, on the chosen plant.
  const facts: QueuePlantFacts = { ...base, inPath: ctx.plant === "sim" };
  const delaySetpoint = (t: number) => (delay * signals.setpoint(t)) / base.setpoint;
  const plan: { label: string; loop: string; controller: QueueController; params: Record<string, number> }[] =
    [
      {
        label: "delay",
        loop: "delay",
        controller: "delay",
        params: { delay, kp: trim.design.kp, ki: trim.design.ki },
      },
      {
        label: best.controller,
        loop: best.controller,
        controller: best.controller,
        params: best.params,
      },
      { label: "none", loop: "none", controller: "none", params: {} },
    ];
  const runs: RunRecord[] = [];
  for (const p of plan) {
    const setup = queueSetup(p.controller, facts, p.params);
    runs.push({
      ...(await measuredRun(
        { ...setup, label: p.label },
        {
          mode: ctx.plant,
          model: "worker-pool",
          spec: { scenario, signals, seed: ctx.seed },
          scenario,
          duration: scenario.duration,
          sampleTime: h,
          setpoint: signals.setpoint,
          progress,
          metrics: { delaySetpoint, ownGoal: setup.ownGoal },
          loopName: p.loop,
        },
      )),
      setup: p.controller,
    });
  }

  const [ours, baseline, none] = runs as [RunRecord, RunRecord, RunRecord];
  const line = (r: RunRecord) => {
    const m: RunMetrics = r.metrics;
    return `${r.label}: IADE ${round(m.iade)} s·s, delay peak after the step ${round(m.delayPeak / delay)}·D*, p99 ${round(m.latencyP99)} ms (after the step ${round(m.latencyP99After)} ms), goodput ${round(m.goodput * 100, 4)} %, shed ${round(m.shed * 100)} %, relative TV ${round(m.tv)} /s.`;
  };
  const notes = [
    `Best baseline on the simulated capacity step: ${best.controller} ${Object.entries(best.params)
      .map(([k, v]) => `${k}=${v}`)
      .join(
        ", ",
      )} — each baseline at the knob value whose mean sojourn before the step is nearest D* = ${delay} s, the best the one with the lowest IADE through the step (tuning seed: IADE ${round(best.iade)} s·s, p99 ${round(best.p99)} ms, goodput ${round(best.goodput * 100, 4)} %).`,
    line(ours),
    line(baseline),
    `${none.label}: p99 ${round(none.metrics.latencyP99)} ms, ${round(none.metrics.dropped * 100)} % of offered messages dropped at the full buffer.`,
    ...(ctx.plant === "live"
      ? [
          "The runs were FeedbackLoops named delay, " +
            `${best.controller} and none on one advertised graph: \`zmp graph\` lists it and \`zmp tune --loop delay\` attaches while it runs.`,
        ]
      : []),
  ];
  const main = [0, 1, 2];
  const sojourn = (i: number): SeriesSpec => ({
    label: runs[i]!.label,
    run: i,
    field: { column: "latency" },
  });
  return {
    experiment: name,
    title: delayStep.title,
    description: delayStep.description,
    plant: ctx.plant,
    seed: ctx.seed,
    sampleTime: h,
    scenario,
    scenarios: [scenario],
    runs,
    sections: [
      {
        title: `Scenario: ${scenario.name}`,
        text: `${scenario.description} D* = ${delay} s.`,
        charts: [
          {
            title: "Mean sojourn of the messages that left in each sample (W̄) against D*",
            unit: "ms",
            yMax: 4 * delay * 1000,
            series: main.map(sojourn),
          },
          {
            title: "Backlog (messages in the system)",
            unit: "messages",
            yMax: 6 * base.setpoint,
            series: main.map((i) => ({ label: runs[i]!.label, run: i, field: "measurement" as const })),
          },
          {
            title: "Admitted rate and capacity",
            unit: "msg/s",
            series: [
              { label: "capacity", run: 0, field: { column: "capacity" }, dashed: true },
              ...main.map((i) => ({
                label: `${runs[i]!.label} admitted`,
                run: i,
                field: { column: "arrivalRate" },
              })),
            ],
          },
          {
            title: "What each controller applied",
            unit: "actuator units",
            series: [0, 1].map((i) => ({
              label: `${runs[i]!.label} (${runs[i]!.actuator})`,
              run: i,
              field: "applied" as const,
            })),
          },
        ],
        tables: [
          {
            title: "Metrics",
            columns: [
              "run",
              "IADE s·s",
              "peak ×D*",
              "p99 ms",
              "p99 after step ms",
              "goodput %",
              "shed %",
              "relative TV /s",
            ],
            rows: runs.map((r) => [
              r.label,
              Number(round(r.metrics.iade)) || null,
              Number(round(r.metrics.delayPeak / delay)) || null,
              Number(round(r.metrics.latencyP99)) || null,
              Number(round(r.metrics.latencyP99After)) || null,
              Number(round(r.metrics.goodput * 100, 4)) || null,
              Number(round(r.metrics.shed * 100)) || 0,
              r.label === "none" ? null : Number(round(r.metrics.tv)) || 0,
            ]),
            caption:
              "IADE = Σ|W̄ − D*|·Δt; peak: the largest causal 1 s mean of W̄ within 10 s of the step, over D*; p99 of the sojourns over the run and after the step; goodput: busy worker-time over ready worker-time; relative TV = Σ|Δu|/(T·ū) over the steady state.",
          },
          {
            title:
              "Baselines on the simulated capacity step (tuning seed), each at the working point nearest D*",
            columns: ["baseline", "knob", "mean W̄ before the step s", "IADE s·s", "p99 ms", "goodput %"],
            rows: candidates.map((c) => [
              c.controller,
              Object.entries(c.params)
                .map(([k, v]) => `${k}=${v}`)
                .join(", "),
              Number(round(c.before)),
              Number(round(c.iade)),
              Number(round(c.p99)),
              Number(round(c.goodput * 100, 4)),
            ]),
          },
        ],
      },
      trim.section,
    ],
    notes,
  };
}
