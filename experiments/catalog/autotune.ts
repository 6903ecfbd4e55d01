/**
 * `autotune`: how the PID of the queue experiments gets its gains, shown
 * step by step on the plant. Open-loop step tests give an integrating model
 * (and, for the rules that need one, a FOPDT fit of the same record); a
 * relay-feedback test (Åström & Hägglund 1984) gives the ultimate gain and
 * period; every tuning rule of toolbox/control proposes PI gains from them;
 * each proposal is checked in closed loop on the capacity step, and the one
 * zmp uses (SIMC on the integrating model) is marked.
 */
import {
  amigo,
  amigoIntegrating,
  cohenCoon,
  identifyFopdt,
  imc,
  lambdaIntegrating,
  RelayTuner,
  simc,
  simcIntegrating,
  type TuningResult,
  zieglerNicholsStep,
  zieglerNicholsUltimate,
} from "../../toolbox/control/index.js";
import type {
  Experiment,
  ExperimentContext,
  ExperimentResult,
  RunRecord,
  SeriesSpec,
  TableSpec,
} from "../experiment.js";
import { designQueuePid, steadyScenario, stepTestRepeats } from "../identification.js";
import { computeMetrics } from "../metrics.js";
import { createPlant } from "../plants/registry.js";
import { runOn } from "../runner.js";
import { capacityStep, queueSignals } from "../scenarios.js";
import { keyValueTable, measuredRun, metricTable, Progress, queueCharts } from "../sections.js";
import { checkQueueInputs, type QueuePlantFacts, queueSetup } from "../setups.js";

const name = "autotune";

export const autotune: Experiment = {
  name,
  title:
    "Autotune: step and relay tests on the queue, the fitted models, every rule's gains and their closed-loop check",
  description:
    "Three open-loop step tests fit an integrating model (backlog = k·∫(rate − balance)) and a FOPDT model; a relay test around the backlog setpoint measures the ultimate gain and period. " +
    "SIMC, AMIGO, lambda, Ziegler–Nichols, Cohen–Coon and IMC each propose PI gains; each is run on the capacity step with the service-rate feedforward of the zmp PID setup. SIMC on the integrating model is the rule zmp uses.",
  model: "worker-pool",
  controllers: ["pid"],
  scenarios: [],
  defaults: { seed: 1, sampleTime: 0.1, controllers: ["pid"] },
  run: runAutotune,
};

interface Proposal {
  rule: string;
  source: string;
  result?: TuningResult;
  error?: string;
}

function propose(rule: string, source: string, make: () => TuningResult): Proposal {
  try {
    return { rule, source, result: make() };
  } catch (error) {
    return { rule, source, error: (error as Error).message };
  }
}

async function runAutotune(ctx: ExperimentContext): Promise<ExperimentResult> {
  const h = ctx.sampleTime;
  const scenario = capacityStep({
    duration: ctx.duration ?? 40,
    ...(ctx.setpoint === undefined ? {} : { setpoint: ctx.setpoint }),
  });
  const signals = queueSignals(scenario, ctx.seed);
  const context: QueuePlantFacts = {
    setpoint: signals.setpoint(0),
    nominalCapacity: scenario.workers * signals.workerRate(0),
    sampleTime: h,
    noLoadLatency: 1 / signals.workerRate(0),
  };
  const overrides = checkQueueInputs(ctx.controllers ?? ["pid"], ["pid"], ctx.params ?? {}, context).get(
    "pid",
  )!;
  const samples = Math.round(scenario.duration / h);
  const relayTime = 30;
  const progress = new Progress(
    stepTestRepeats(ctx.plant) * Math.round(10 / h) + Math.round(relayTime / h) + 10 * samples,
    ctx.onProgress,
  );
  const runs: RunRecord[] = [];

  // 1. Step tests → integrating model (the zmp design), and a FOPDT fit of the first test.
  const design = await designQueuePid(ctx.plant, scenario, ctx.seed, h, 0, progress);
  runs.push(...design.records);
  const model = design.identification.model;
  const thetaEffective = design.tuning.thetaEffective;
  const first = design.identification.tests[0]!;
  const from = first.log.times.findIndex((t) => t >= first.stepAt - 2 - 1e-9);
  const fopdt = identifyFopdt({
    times: first.log.times.slice(from).map((t) => t - first.log.times[from]!),
    input: first.log.applied.slice(from),
    measurement: first.log.measurement.slice(from),
  });
  const fopdtModel = { gain: fopdt.gain, tau: fopdt.tau, theta: fopdt.theta + h / 2 };

  // 2. Relay test around the setpoint: relay ±25 % of the balance, hysteresis above the sample noise.
  const balance = first.balance;
  const setpoint = context.setpoint;
  const hysteresis = Math.max(2, Math.round(0.2 * setpoint));
  const relay = new RelayTuner({
    setpoint,
    bias: balance,
    amplitude: 0.25 * balance,
    hysteresis,
    cycles: 4,
    tolerance: 0.25,
    maxCycles: 40,
    timeout: relayTime,
  });
  const steady = steadyScenario(scenario, ctx.seed);
  const relayPlant = await createPlant(ctx.plant, "worker-pool", {
    scenario: steady,
    signals: queueSignals(steady, ctx.seed + 3000),
    seed: ctx.seed + 3000,
    initialBacklog: Math.round(setpoint),
  });
  const relayLog = await runOn(
    relayPlant,
    {
      label: "relay",
      controller: relay,
      actuator: "rate",
      toSetpoint: null,
      note: "relay ±25 % of the balance rate around the setpoint",
    },
    {
      setpoint,
      duration: relayTime,
      sampleTime: h,
      stop: () => relay.done,
      onSample: progress.run("relay test"),
    },
  );
  await relayPlant.close?.();
  const relayResult = relay.result();
  const relayIndex = runs.length;
  runs.push({
    label: "relay",
    controller: "relay",
    scenario: steady.name,
    seed: ctx.seed + 3000,
    actuator: "rate",
    note: `relay ±${Number((0.25 * balance).toPrecision(3))} msg/s around ${Number(balance.toPrecision(4))} msg/s, hysteresis ${hysteresis} messages`,
    gains: relay.params(),
    metrics: computeMetrics(relayLog, { step: null }),
    log: relayLog,
  });
  const cycle = { ku: relayResult.ku, tu: relayResult.tu };

  // 3. Every rule's PI gains.
  const integrating = { gain: model.gain, theta: thetaEffective };
  const pi = { controller: "PI" as const };
  const proposals: Proposal[] = [
    propose("simc-integrating", "integrating model", () => simcIntegrating(integrating)),
    propose("amigo-integrating", "integrating model", () => amigoIntegrating(integrating, pi)),
    propose("lambda-integrating (λ = 3θ)", "integrating model", () =>
      lambdaIntegrating(integrating, { lambda: 3 * thetaEffective }),
    ),
    propose("simc", "FOPDT model", () => simc(fopdtModel)),
    propose("amigo", "FOPDT model", () => amigo(fopdtModel, pi)),
    propose("ziegler-nichols-step", "FOPDT model", () => zieglerNicholsStep(fopdtModel, pi)),
    propose("cohen-coon", "FOPDT model", () => cohenCoon(fopdtModel, pi)),
    propose("imc (λ = θ), PI part", "FOPDT model", () => imc(fopdtModel, { lambda: fopdtModel.theta })),
    propose("ziegler-nichols-ultimate", "relay test", () => zieglerNicholsUltimate(cycle, pi)),
  ];

  // 4. Closed-loop check of each proposal on the capacity step (PI + service-rate feedforward).
  const checks: { proposal: Proposal; index: number }[] = [];
  for (const p of proposals) {
    if (
      p.result === undefined ||
      !(p.result.kp >= 0 && p.result.ki >= 0 && Number.isFinite(p.result.kp + p.result.ki))
    ) {
      p.error ??= `gains out of range (kp ${p.result?.kp}, ki ${p.result?.ki})`;
      continue;
    }
    const gains = { kp: p.result.kp, ki: p.result.ki, ...overrides };
    const record = await measuredRun(
      { ...queueSetup("pid", context, gains), label: p.rule },
      {
        mode: ctx.plant,
        model: "worker-pool",
        spec: { scenario, signals, seed: ctx.seed },
        scenario,
        duration: scenario.duration,
        sampleTime: h,
        setpoint: signals.setpoint,
        progress,
      },
    );
    checks.push({ proposal: p, index: runs.length });
    runs.push(record);
  }
  const chosen = checks.find((c) => c.proposal.rule === "simc-integrating");

  const ruleRows: TableSpec["rows"] = proposals.map((p) => {
    const check = checks.find((c) => c.proposal === p);
    const m = check ? runs[check.index]!.metrics : undefined;
    return [
      p.rule + (chosen?.proposal === p ? " (chosen)" : ""),
      p.source,
      p.result ? Number(p.result.kp.toPrecision(4)) : null,
      p.result ? Number(p.result.ki.toPrecision(4)) : null,
      p.result && Number.isFinite(p.result.ti) ? Number(p.result.ti.toPrecision(4)) : null,
      m ? Number(m.iae.toPrecision(4)) : null,
      m && Number.isFinite(m.overshoot) ? Number(m.overshoot.toPrecision(3)) : null,
      m ? Number(m.latencyP99.toPrecision(4)) : null,
      p.error ?? "",
    ];
  });
  const checkIndices = checks.map((c) => c.index);
  const relaySeries = (field: "measurement" | "applied", label: string): SeriesSpec => ({
    label,
    run: relayIndex,
    field,
  });
  const notes = [
    `Integrating model (median of 3 step tests): k = ${model.gain.toPrecision(3)} (a queue admits what it is set to: k = 1 expected), θ = ${(model.theta < 1e-9 ? 0 : model.theta).toPrecision(2)} s; θ_eff = θ + h/2 = ${thetaEffective.toPrecision(2)} s.`,
    `FOPDT fit of the first test: K = ${fopdt.gain.toPrecision(3)}, τ = ${fopdt.tau.toPrecision(3)} s, θ = ${(fopdt.theta < 1e-9 ? 0 : fopdt.theta).toPrecision(2)} s, fit ${fopdt.fit.toFixed(1)} % (an integrator looks like a FOPDT with a τ longer than the test).`,
    `Relay test: ${relayResult.converged ? "converged" : "did not converge within tolerance"} after ${relayResult.cycles} cycles; Ku = ${relayResult.ku.toPrecision(3)}, Tu = ${relayResult.tu.toPrecision(3)} s (for an integrator with dead time the describing function underestimates Ku by 8/π², see relay.ts).`,
  ];
  if (chosen) {
    const m = runs[chosen.index]!.metrics;
    notes.push(
      `Chosen: SIMC on the integrating model, kp ${chosen.proposal.result!.kp.toPrecision(3)}, ki ${chosen.proposal.result!.ki.toPrecision(3)}: backlog IAE ${m.iae.toFixed(0)} msg·s, overshoot ${m.overshoot.toFixed(1)} %, p99 ${m.latencyP99.toFixed(0)} ms on the capacity step.`,
    );
  }
  const failed = proposals.filter((p) => p.error);
  if (failed.length > 0)
    notes.push(`Not checked: ${failed.map((p) => `${p.rule} (${p.error})`).join("; ")}.`);

  return {
    experiment: name,
    title: autotune.title,
    description: autotune.description,
    plant: ctx.plant,
    seed: ctx.seed,
    sampleTime: h,
    scenario,
    scenarios: [scenario, steady],
    runs,
    sections: [
      { ...design.section, title: "Step tests and the integrating model" },
      {
        title: "FOPDT fit and relay test",
        text: `The FOPDT fit uses the first step test from 2 s before the step. The relay switches the admission rate between balance ± 25 % when the backlog leaves setpoint ± ${hysteresis} messages.`,
        charts: [
          {
            title: "Relay test: backlog",
            unit: "messages",
            series: [
              { label: "setpoint", run: relayIndex, field: "setpoint", dashed: true },
              relaySeries("measurement", "backlog"),
            ],
          },
          {
            title: "Relay test: admission rate",
            unit: "msg/s",
            series: [relaySeries("applied", "relay output")],
          },
        ],
        tables: [
          keyValueTable("FOPDT fit", {
            "K (msg per msg/s)": fopdt.gain,
            "τ (s)": fopdt.tau,
            "θ (s)": fopdt.theta,
            "fit %": fopdt.fit,
          }),
          keyValueTable("Relay test", {
            converged: relayResult.converged ? "yes" : "no",
            cycles: relayResult.cycles,
            "Ku (msg/s per msg)": relayResult.ku,
            "Tu (s)": relayResult.tu,
            "amplitude a (msg)": relayResult.amplitude,
            "relay d (msg/s)": relayResult.relayAmplitude,
            "hysteresis ε (msg)": relayResult.hysteresis,
          }),
        ],
      },
      {
        title: "Gains each rule proposes, and the closed-loop check",
        text: `${scenario.description} Each rule's PI gains run with the service-rate feedforward of the zmp PID setup; rules that need θ > 0 cannot tune a model without dead time.`,
        charts:
          checkIndices.length > 0
            ? queueCharts(runs, checkIndices, chosen?.index).filter((c) => !c.title.startsWith("Rates"))
            : [],
        tables: [
          {
            title: "Tuning rules",
            columns: [
              "rule",
              "from",
              "kp",
              "ki (1/s)",
              "Ti (s)",
              "IAE (msg·s)",
              "overshoot %",
              "p99 ms",
              "note",
            ],
            rows: ruleRows,
          },
          metricTable(
            "Closed-loop metrics",
            checkIndices.map((i) => runs[i]!),
          ),
        ],
      },
    ],
    notes,
  };
}
