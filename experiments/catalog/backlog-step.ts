/**
 * `backlog-step`, the headline experiment: producers offer more than a pool
 * of workers can serve, the queue proxy's admission control holds the backlog
 * at its setpoint, and at a set time every worker slows to half its rate. The
 * same seeded scenario runs with control (the zmp PID setup: SIMC PI from an
 * identified model plus feedforward of the measured service rate) and
 * without (admit everything), overlaid.
 */
import type { Experiment, ExperimentContext, ExperimentResult, RunRecord } from "../experiment.js";
import { designQueuePid, type QueuePidDesign, stepTestRepeats } from "../identification.js";
import { capacityStep, queueSignals } from "../scenarios.js";
import { measuredRun, metricTable, Progress, queueCharts } from "../sections.js";
import {
  checkQueueInputs,
  isPidSetup,
  type QueueController,
  type QueuePlantFacts,
  queueControllers,
  queueSetup,
} from "../setups.js";

const name = "backlog-step";

export const backlogStep: Experiment = {
  name,
  title: "Backlog step: worker capacity halves, PID admission control holds the backlog",
  description:
    "Producers offer 240 msg/s to 8 workers of 25 msg/s (200 msg/s); at t = duration/3 every worker slows to half its rate. " +
    "A PID loop (SIMC-tuned from step tests, with feedforward of the measured service rate) sets the proxy's admission rate to hold the backlog at 50 messages; the same seeded scenario without control admits everything.",
  model: "worker-pool",
  controllers: queueControllers,
  scenarios: [],
  defaults: { seed: 1, sampleTime: 0.1, controllers: ["pid", "none"] },
  run: runBacklogStep,
};

async function runBacklogStep(ctx: ExperimentContext): Promise<ExperimentResult> {
  const scenario = capacityStep({
    ...(ctx.duration === undefined ? {} : { duration: ctx.duration }),
    ...(ctx.setpoint === undefined ? {} : { setpoint: ctx.setpoint }),
  });
  const h = ctx.sampleTime;
  const signals = queueSignals(scenario, ctx.seed);
  const context: QueuePlantFacts = {
    setpoint: signals.setpoint(0),
    nominalCapacity: scenario.workers * signals.workerRate(0),
    sampleTime: h,
    noLoadLatency: 1 / signals.workerRate(0),
  };
  const controllers = (ctx.controllers ?? backlogStep.defaults.controllers) as QueueController[];
  const params = checkQueueInputs(controllers, queueControllers, ctx.params ?? {}, context);
  // The PID family needs gains: identify unless both kp and ki were given.
  const tune = controllers.some(
    (c) => isPidSetup(c) && (params.get(c)!.kp === undefined || params.get(c)!.ki === undefined),
  );
  const samples = Math.round(scenario.duration / h);
  const progress = new Progress(
    controllers.length * samples + (tune ? stepTestRepeats(ctx.plant) * Math.round(10 / h) : 0),
    ctx.onProgress,
  );

  const runs: RunRecord[] = [];
  let design: QueuePidDesign | undefined;
  // The step-test records follow the main runs in `runs`: their charts index from there.
  if (tune) design = await designQueuePid(ctx.plant, scenario, ctx.seed, h, controllers.length, progress);
  const main: number[] = [];
  for (const controller of controllers) {
    const own = { ...params.get(controller)! };
    if (isPidSetup(controller) && design) {
      own.kp ??= design.tuning.gains.kp;
      own.ki ??= design.tuning.gains.ki;
    }
    main.push(runs.length);
    runs.push(
      await measuredRun(queueSetup(controller, context, own), {
        mode: ctx.plant,
        model: "worker-pool",
        spec: { scenario, signals, seed: ctx.seed },
        scenario,
        duration: scenario.duration,
        sampleTime: h,
        setpoint: signals.setpoint,
        progress,
      }),
    );
  }
  if (design) runs.push(...design.records);
  const detail = main.find((i) => runs[i]!.controller !== "none");
  const notes = backlogNotes(runs, main);
  return {
    experiment: name,
    title: backlogStep.title,
    description: backlogStep.description,
    plant: ctx.plant,
    seed: ctx.seed,
    sampleTime: h,
    scenario,
    scenarios: [scenario],
    runs,
    sections: [
      {
        title: `Scenario: ${scenario.name}`,
        text: scenario.description,
        charts: queueCharts(runs, main, detail),
        tables: [
          metricTable(
            "Metrics",
            main.map((i) => runs[i]!),
            undefined,
            "IAE of the backlog against its setpoint over the run; overshoot and settling (±20 % of the setpoint) on the 1 s-smoothed backlog within 10 s of the capacity step; goodput: share of the worker capacity that did work; shed: share of offered messages refused by admission; dropped: lost to the full buffer (1000, ZeroMQ's default high-water mark); latencies of the messages served.",
          ),
        ],
      },
      ...(design ? [design.section] : []),
    ],
    notes,
  };
}

function backlogNotes(runs: RunRecord[], main: number[]): string[] {
  const notes: string[] = [];
  const none = main.map((i) => runs[i]!).find((r) => r.controller === "none");
  for (const i of main) {
    const r = runs[i]!;
    if (r.controller === "none") continue;
    const m = r.metrics;
    let line = `${r.label}: backlog IAE ${m.iae.toFixed(0)} msg·s, overshoot ${m.overshoot.toFixed(1)} % on the capacity step, p99 latency ${m.latencyP99.toFixed(0)} ms, goodput ${(m.goodput * 100).toFixed(1)} %, shed ${(m.shed * 100).toFixed(1)} %.`;
    if (none) {
      line += ` Without control: IAE ${none.metrics.iae.toFixed(0)} (${(none.metrics.iae / m.iae).toFixed(0)}× more), p99 ${none.metrics.latencyP99.toFixed(0)} ms, ${(none.metrics.dropped * 100).toFixed(1)} % of offered messages dropped at the full buffer.`;
    }
    notes.push(line);
  }
  return notes;
}
