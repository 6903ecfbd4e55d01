/**
 * `compare-controllers`: zmp's delay and backlog loops against the
 * baselines in their native form, as a Pareto comparison on the seeded
 * scenarios, and the targets measured on it.
 *
 * Procedure (the same budget for every controller, ours included):
 * 1. Design from identification only (no search over gains): the backlog PI
 *    from open-loop step tests (SIMC with a sample-time-aware τc), the
 *    cascade's outer loop with the inner loop counted in its dead time, the
 *    delay window's trim from a window step test. Seeds seed + 1000…
 * 2. Sweep: every controller's own aggressiveness knob over eight values
 *    (`queueKnob`), every point on every scenario.
 * 3. Tuning seed (seed + 2000): each controller's operating point is the
 *    one with the lowest mean p99 among its points whose mean goodput is at
 *    least 97 % (the highest goodput when none is) — the same rule for all.
 * 4. Evaluation seeds seed … seed + repeats − 1 (common random numbers:
 *    the same offered arrivals for every controller of a seed): every point
 *    of every controller, metrics averaged over the seeds, with their spread.
 * 5. Targets: the Pareto rule per scenario, delay regulation, smoothness
 *    and robustness to a stale reading (0.2 s), each printed met or not.
 */
import type {
  Experiment,
  ExperimentContext,
  ExperimentResult,
  ReportSection,
  RunRecord,
  ScatterSpec,
  TableSpec,
} from "../experiment.js";
import { designDelayTrim, designQueuePid, stepTestRepeats, tuneCascadeOuter } from "../identification.js";
import { meanMetrics, metricKeys, type RunMetrics } from "../metrics.js";
import { type QueueScenario, queueScenarios, queueSignals } from "../scenarios.js";
import { measuredRun, Progress, queueCharts } from "../sections.js";
import {
  baselineControllers,
  checkQueueInputs,
  isPidSetup,
  type QueueController,
  type QueuePlantFacts,
  queueControllers,
  queueDefaults,
  queueKnob,
  queueOwnGoals,
  queueRegulates,
  queueSetup,
  zmpControllers,
} from "../setups.js";

const name = "compare-controllers";
const scenarioNames = ["capacity-step", "load-step", "burst", "ramp", "setpoint-step", "noise", "combined"];
/** Goodput a point needs to count (operating points, and the baseline points of the Pareto rule). */
const goodputFloor = 0.97;
/** Age of the reading in the robustness runs, seconds. */
const staleReading = 0.2;

export const compareControllers: Experiment = {
  name,
  title:
    "Compare controllers: zmp's delay and backlog loops against PIE, CoDel, Gradient2, Vegas, AIMD, a fixed rate and a fixed window",
  description:
    "Every controller runs the same worker pool (8 workers × 25 msg/s, 240 msg/s offered, nominal setpoint 50 messages = 0.25 s) through a capacity step, a load step, a burst, a ramp, a setpoint step, noise, and all at once, on the same seeds. " +
    "Each controller's own aggressiveness knob is swept over eight values and every point is measured; the comparison is the (p99 sojourn, goodput) frontier of each. zmp's loops are designed from identified models; the baselines run in their native form (PIE and CoDel in the data path).",
  model: "worker-pool",
  controllers: queueControllers,
  scenarios: scenarioNames,
  defaults: {
    seed: 1,
    sampleTime: 0.1,
    controllers: ["delay", "pid", ...baselineControllers, "none"],
  },
  run: runCompare,
};

/** A swept point of one controller and its metrics over the evaluation seeds. */
interface Point {
  controller: QueueController;
  /** The knob's value (NaN for `none`). */
  value: number;
  params: Record<string, number>;
  label: string;
  /** Per scenario: the mean metrics over the seeds, their spread (sd over the seeds), and the runs' indices. */
  byScenario: Map<
    string,
    { mean: RunMetrics; sd: RunMetrics; p99Sd: number; goodputSd: number; runs: number[]; settled: number }
  >;
}

function sd(values: readonly number[]): number {
  if (values.length < 2) return 0;
  const m = values.reduce((a, b) => a + b, 0) / values.length;
  return Math.sqrt(values.reduce((a, b) => a + (b - m) ** 2, 0) / (values.length - 1));
}

/** The sample standard deviation of each metric over runs (0 for one run, NaN where a run has NaN). */
function sdMetrics(runs: readonly RunMetrics[]): RunMetrics {
  const out = {} as Record<keyof RunMetrics, number>;
  for (const key of metricKeys) out[key] = sd(runs.map((m) => m[key]));
  return out;
}

/** `digits` significant digits, but never rounding the integer part away (1234.5 → 1235). */
function round(value: number, digits = 3): number | null {
  if (!Number.isFinite(value)) return null;
  return Math.abs(value) >= 10 ** digits ? Math.round(value) : Number(value.toPrecision(digits));
}

function fmt(value: number, digits = 3): string {
  const r = round(value, digits);
  return r === null ? "–" : String(r);
}

async function runCompare(ctx: ExperimentContext): Promise<ExperimentResult> {
  const h = ctx.sampleTime;
  const duration = ctx.duration ?? 40;
  const live = ctx.plant === "live";
  // On the live graph every run takes real time: by default one seed of the capacity step, and only
  // the operating points (chosen by the sweep on the simulated plant) and zmp's design points run there.
  const repeats = ctx.repeats ?? (live ? 1 : 5);
  const names = ctx.scenario === undefined ? (live ? ["capacity-step"] : scenarioNames) : [ctx.scenario];
  const scenarios = names.map((n) =>
    queueScenarios[n]!({ duration, ...(ctx.setpoint === undefined ? {} : { setpoint: ctx.setpoint }) }),
  );
  const first = scenarios[0]!;
  const signals0 = queueSignals(first, ctx.seed);
  const facts: QueuePlantFacts = {
    setpoint: signals0.setpoint(0),
    nominalCapacity: first.workers * signals0.workerRate(0),
    sampleTime: h,
    noLoadLatency: 1 / signals0.workerRate(0),
    workers: first.workers,
    inPath: ctx.plant === "sim",
  };
  const controllers = (ctx.controllers ?? compareControllers.defaults.controllers) as QueueController[];
  const given = checkQueueInputs(controllers, queueControllers, ctx.params ?? {}, facts);
  const nominalDelay = facts.setpoint / facts.nominalCapacity;
  const delaySetpoint = (scenario: QueueScenario, seed: number) => {
    const r = queueSignals(scenario, seed).setpoint;
    return (t: number) => (nominalDelay * r(t)) / facts.setpoint;
  };

  // The points each controller runs: its knob's eight values, or the one given on the command line.
  const points: Point[] = [];
  for (const controller of controllers) {
    const knob = queueKnob(controller, facts);
    const own = given.get(controller)!;
    const values =
      knob === null ? [Number.NaN] : own[knob.name] !== undefined ? [own[knob.name]!] : knob.values;
    for (const value of values) {
      const params = { ...own, ...(knob === null ? {} : { [knob.name]: value }) };
      const label = knob === null ? controller : `${controller} ${knob.name}=${value}`;
      points.push({ controller, value, params, label, byScenario: new Map() });
    }
  }
  const samples = Math.round(duration / h);
  const needsPid = controllers.some(
    (c) => isPidSetup(c) && (given.get(c)!.kp === undefined || given.get(c)!.ki === undefined),
  );
  const needsTrim = controllers.includes("delay") && given.get("delay")!.ki === undefined;
  const zmpHere = controllers.filter((c) => c === "delay" || c === "pid");
  const progress = new Progress(
    (needsPid ? stepTestRepeats(ctx.plant) * Math.round(10 / h) : 0) +
      (needsTrim ? Math.round(16 / h) : 0) +
      points.length * scenarios.length * (repeats + 1) * samples +
      (live ? 0 : (zmpHere.length + 1) * scenarios.length * repeats * samples),
    ctx.onProgress,
  );
  const runs: RunRecord[] = [];
  const sections: ReportSection[] = [];

  // 1. Designs from identified models.
  const identifyOn = scenarios.find((s) => s.name === "capacity-step") ?? first;
  const design = needsPid
    ? await designQueuePid(ctx.plant, identifyOn, ctx.seed, h, 0, progress, {
        measurementTau: given.get("pid")?.measurementTau ?? queueDefaults("pid", facts).measurementTau!,
      })
    : undefined;
  let trim: Awaited<ReturnType<typeof designDelayTrim>> | undefined;
  if (needsTrim) trim = await designDelayTrim(ctx.plant, identifyOn, ctx.seed + 1500, h, nominalDelay);
  for (const point of points) {
    const p = point.params;
    if (isPidSetup(point.controller) && design) {
      if (point.controller === "cascade") {
        // The outer loop sees the inner admitted-rate loop (closed-loop τ = 1/innerKi) as dead time.
        const outer = tuneCascadeOuter(design.identification.model, h, p.innerKi ?? 0.5 / h);
        p.kp ??= outer.gains.kp;
        p.ki ??= outer.gains.ki;
      } else {
        p.kp ??= design.tuning.gains.kp;
        p.ki ??= design.tuning.gains.ki;
      }
    }
    if (point.controller === "delay" && trim) {
      p.kp ??= trim.design.kp;
      p.ki ??= trim.design.ki;
    }
  }

  const run = async (
    point: Point,
    scenario: QueueScenario,
    seed: number,
    keepLog: boolean,
    stale = 0,
    mode = ctx.plant,
  ) => {
    const signals = queueSignals(scenario, seed);
    const setup = queueSetup(point.controller, { ...facts, inPath: mode === "sim" }, point.params);
    const record = await measuredRun(
      { ...setup, label: stale > 0 ? `${point.label} stale ${stale}s` : point.label },
      {
        mode,
        ...(mode === "live" ? { loopName: point.controller } : {}),
        model: "worker-pool",
        spec: { scenario, signals, seed, ...(stale > 0 ? { measurementDelay: stale } : {}) },
        scenario,
        duration,
        sampleTime: h,
        setpoint: signals.setpoint,
        progress,
        metrics: { delaySetpoint: delaySetpoint(scenario, seed), ownGoal: setup.ownGoal },
        keepLog,
      },
    );
    return {
      ...record,
      setup: point.controller,
      ...(Number.isNaN(point.value)
        ? {}
        : { point: { [queueKnob(point.controller, facts)!.name]: point.value } }),
    };
  };

  // 2–3. The sweep on the tuning seed, and each controller's operating point.
  const tuningSeed = ctx.seed + 2000;
  const tuning = new Map<Point, { p99: number; goodput: number }>();
  for (const point of points) {
    let p99 = 0;
    let goodput = 0;
    for (const scenario of scenarios) {
      const r = await run(point, scenario, tuningSeed, false, 0, "sim");
      p99 += r.metrics.latencyP99 / scenarios.length;
      goodput += r.metrics.goodput / scenarios.length;
    }
    tuning.set(point, { p99, goodput });
  }
  const chosen = new Map<QueueController, Point>();
  for (const controller of controllers) {
    const own = points.filter((p) => p.controller === controller);
    const feasible = own.filter((p) => tuning.get(p)!.goodput >= goodputFloor);
    const pick = (feasible.length > 0 ? feasible : own).reduce((a, b) => {
      const ta = tuning.get(a)!;
      const tb = tuning.get(b)!;
      if (feasible.length > 0) return tb.p99 < ta.p99 ? b : a;
      return tb.goodput > ta.goodput ? b : a;
    });
    chosen.set(controller, pick);
  }
  // zmp's design points: the nominal setpoint (0.25 s, 50 messages), where the delay targets are read.
  const designPoint = (controller: QueueController): Point | undefined => {
    const knob = queueKnob(controller, facts);
    const own = points.filter((p) => p.controller === controller);
    if (knob === null || own.length === 0) return own[0];
    const nominal = knob.name === "delay" ? nominalDelay : facts.setpoint;
    return own.reduce((a, b) => (Math.abs(b.value - nominal) < Math.abs(a.value - nominal) ? b : a));
  };

  // 4. Evaluation: every point on every scenario and seed (live: the operating and design points).
  const evaluated = live
    ? points.filter((p) => chosen.get(p.controller) === p || designPoint(p.controller) === p)
    : points;
  for (const scenario of scenarios) {
    for (const point of evaluated) {
      const indices: number[] = [];
      for (let r = 0; r < repeats; r++) {
        const seed = ctx.seed + r;
        const keep =
          r === 0 && (chosen.get(point.controller) === point || designPoint(point.controller) === point);
        indices.push(runs.length);
        runs.push(await run(point, scenario, seed, keep));
      }
      const metrics = indices.map((i) => runs[i]!.metrics);
      point.byScenario.set(scenario.name, {
        mean: meanMetrics(metrics),
        sd: sdMetrics(metrics),
        p99Sd: sd(metrics.map((m) => m.latencyP99)),
        goodputSd: sd(metrics.map((m) => m.goodput)),
        settled: metrics.filter((m) => Number.isFinite(m.delaySettling)).length,
        runs: indices,
      });
    }
  }

  // Robustness: zmp's design points with a stale reading.
  const stale = new Map<string, Map<string, RunMetrics>>();
  for (const controller of live ? [] : zmpHere) {
    const point = designPoint(controller)!;
    const byScenario = new Map<string, RunMetrics>();
    for (const scenario of scenarios) {
      const metrics: RunMetrics[] = [];
      for (let r = 0; r < repeats; r++)
        metrics.push((await run(point, scenario, ctx.seed + r, false, staleReading)).metrics);
      byScenario.set(scenario.name, meanMetrics(metrics));
    }
    stale.set(controller, byScenario);
  }

  // The zero-wait reference: a window of as many messages as there are workers, so no message ever
  // waits and each sojourn is its service time alone — the least p99 any admission controller can
  // give on a scenario's service times (at the goodput an idle-prone pool has).
  const zeroWait = new Map<string, RunMetrics>();
  if (!live) {
    const reference: Point = {
      controller: "fixed-window",
      value: facts.workers!,
      params: { window: facts.workers! },
      label: `fixed-window window=${facts.workers} (zero wait)`,
      byScenario: new Map(),
    };
    for (const scenario of scenarios) {
      const metrics: RunMetrics[] = [];
      for (let r = 0; r < repeats; r++)
        metrics.push((await run(reference, scenario, ctx.seed + r, false)).metrics);
      zeroWait.set(scenario.name, meanMetrics(metrics));
    }
  }

  // Oracle references: a window set to D*·(true capacity) at every sample — the physics bound of peak
  // and settling — and the same one and two samples late.
  const oracle = await oracleReference(scenarios, ctx, duration, repeats, delaySetpoint, 0);
  const lateOracle = await oracleReference(scenarios, ctx, duration, repeats, delaySetpoint, 1);
  // Told two samples late: when the departures first show the drop (the messages in service at the
  // step finish at the old speed, so the first sample after it is served mostly at the old rate).
  const later = await oracleReference(scenarios, ctx, duration, repeats, delaySetpoint, 2);

  // 5. Targets and report.
  const targets = targetLines(
    scenarios,
    points,
    controllers,
    stale,
    designPoint,
    { now: oracle, late: lateOracle, later },
    zeroWait,
    facts,
    live,
  );
  const figures = frontierFigures(scenarios, points, controllers, chosen);
  sections.push({
    title: "Targets",
    text: `Each line: the target, the measured figure (mean over ${repeats} evaluation seeds, seeds ${ctx.seed}…${ctx.seed + repeats - 1}) and whether it is met. zmp's figures are those of the delay loop at D* = ${nominalDelay} s and the backlog loop at ${facts.setpoint} messages (the design points); the Pareto rule uses every swept point.`,
    charts: [],
    tables: [{ title: "Targets", columns: ["target", "measured", "verdict"], rows: targets.rows }],
  });
  sections.push({
    title: "Frontier: p99 sojourn against goodput, every swept point",
    text: `One panel per scenario; each line is one controller's sweep of its own knob (mean over ${repeats} seeds), the ring its operating point (chosen on the tuning seed ${tuningSeed}: lowest p99 at goodput ≥ ${goodputFloor * 100} %). Down and to the left of a point is better: lower p99 at the same goodput. The dashed line is goodput ${goodputFloor * 100} %.`,
    figures,
    charts: [],
    tables: [],
  });
  for (const scenario of scenarios)
    sections.push(scenarioSection(scenario, controllers, chosen, runs, repeats, facts));
  sections.push(setupSection(controllers, points, chosen, tuning, facts));
  if (design) {
    runs.push(...design.records);
    sections.push({ ...design.section, charts: [] });
  }
  if (trim) sections.push(trim.section);

  return {
    experiment: name,
    title: compareControllers.title,
    description: compareControllers.description,
    plant: ctx.plant,
    seed: ctx.seed,
    sampleTime: h,
    scenario: first,
    scenarios,
    runs,
    sections,
    notes: targets.lines,
    figure: "Frontier: p99 sojourn against goodput, every swept point",
  };
}

/** Per scenario: the oracle's mean metrics over the seeds, and on how many seeds its delay settled. */
type Oracle = Map<string, { mean: RunMetrics; settled: number }>;

/**
 * The oracle window on the scenarios with a capacity step: D*·(the true
 * capacity `lag` samples ago), mean metrics over the seeds (simulated plant only).
 */
async function oracleReference(
  scenarios: QueueScenario[],
  ctx: ExperimentContext,
  duration: number,
  repeats: number,
  delaySetpoint: (scenario: QueueScenario, seed: number) => (t: number) => number,
  lag: number,
): Promise<Oracle> {
  const out: Oracle = new Map();
  if (ctx.plant !== "sim") return out;
  const capacityIndex = 2;
  for (const scenario of scenarios.filter((s) => s.step?.signal === "workerRate")) {
    const metrics: RunMetrics[] = [];
    for (let r = 0; r < repeats; r++) {
      const seed = ctx.seed + r;
      const target = delaySetpoint(scenario, seed);
      const capacities: number[] = [];
      let time = 0;
      const controller = {
        kind: "oracle-window",
        setpoint: 0,
        output: 0,
        components: {},
        update: () => target(time) * capacities[Math.max(0, capacities.length - 1 - lag)]!,
        params: () => ({}),
        setParams: () => undefined,
        reset: () => undefined,
      };
      const signals = queueSignals(scenario, seed);
      const record = await measuredRun(
        {
          label: "oracle window",
          controller,
          actuator: "window",
          toSetpoint: null,
          before: (sample) => {
            capacities.push(sample.values[capacityIndex]!);
            time = sample.time;
          },
        },
        {
          mode: "sim",
          model: "worker-pool",
          spec: { scenario, signals, seed },
          scenario,
          duration,
          sampleTime: ctx.sampleTime,
          setpoint: signals.setpoint,
          metrics: { delaySetpoint: target },
          keepLog: false,
        },
      );
      metrics.push(record.metrics);
    }
    out.set(scenario.name, {
      mean: meanMetrics(metrics),
      settled: metrics.filter((m) => Number.isFinite(m.delaySettling)).length,
    });
  }
  return out;
}

function targetLines(
  scenarios: QueueScenario[],
  points: Point[],
  controllers: QueueController[],
  stale: Map<string, Map<string, RunMetrics>>,
  designPoint: (c: QueueController) => Point | undefined,
  oracle: { now: Oracle; late: Oracle; later: Oracle },
  zeroWait: Map<string, RunMetrics>,
  facts: QueuePlantFacts,
  live: boolean,
): { rows: TableSpec["rows"]; lines: string[] } {
  const nominalDelay = facts.setpoint / facts.nominalCapacity;
  const rows: TableSpec["rows"] = [];
  const lines: string[] = [];
  const add = (target: string, measured: string, met: boolean | null, why = "") => {
    const verdict = met === null ? "not measured" : met ? "met" : "missed";
    rows.push([target, measured + (why ? ` — ${why}` : ""), verdict]);
    lines.push(
      `${met === null ? "n/a " : met ? "MET " : "MISS"} ${target}: ${measured}${why ? ` (${why})` : ""}`,
    );
  };
  const measured = points.filter((p) => p.byScenario.size > 0);
  const ours = measured.filter((p) => zmpControllers.includes(p.controller));
  const theirs = measured.filter((p) => !zmpControllers.includes(p.controller) && p.controller !== "none");

  // Pareto, per scenario (the frontier needs every swept point: the simulated plant's runs).
  if (live)
    add("Pareto", "needs every swept point measured: run it on the simulated plant (--plant sim)", null);
  else if (ours.length > 0 && theirs.length > 0) {
    let met = 0;
    // The baseline point zmp does worst against, on p99 over the whole run or over a part of it.
    const hardest = (scenario: string, key: "latencyP99" | "latencyP99Before") => {
      let worst: { base: Point; ratio: number; zmp: Point | null } | null = null;
      for (const base of theirs) {
        const b = base.byScenario.get(scenario)!.mean;
        if (!(b.goodput >= goodputFloor)) continue;
        let best: { ratio: number; zmp: Point | null } = { ratio: Number.POSITIVE_INFINITY, zmp: null };
        for (const z of ours) {
          const m = z.byScenario.get(scenario)!.mean;
          if (m.goodput < b.goodput - 0.001) continue;
          const ratio = m[key] / b[key];
          if (ratio < best.ratio) best = { ratio, zmp: z };
        }
        if (worst === null || best.ratio > worst.ratio) worst = { base, ...best };
      }
      return worst;
    };
    for (const scenario of scenarios) {
      const worst = hardest(scenario.name, "latencyP99");
      const ok = worst === null || worst.ratio <= 0.9;
      if (ok) met++;
      let detail =
        worst === null
          ? "no baseline point reaches 97 % goodput"
          : worst.zmp === null
            ? `no zmp point matches the goodput of ${worst.base.label} (${fmt(worst.base.byScenario.get(scenario.name)!.mean.goodput * 100, 4)} %)`
            : `hardest baseline point ${worst.base.label}: p99 ${fmt(worst.base.byScenario.get(scenario.name)!.mean.latencyP99)} ms at goodput ${fmt(worst.base.byScenario.get(scenario.name)!.mean.goodput * 100, 4)} %; best zmp point ${worst.zmp.label} ${fmt(worst.zmp.byScenario.get(scenario.name)!.mean.latencyP99)} ms (${fmt(worst.ratio)}× its p99)`;
      const floor = zeroWait.get(scenario.name);
      if (worst?.zmp && floor) {
        const base = worst.base.byScenario.get(scenario.name)!.mean;
        const reach = 0.9 * base.latencyP99;
        detail += `. No message waiting at all (a window of the ${facts.workers} workers) gives p99 ${fmt(floor.latencyP99)} ms at goodput ${fmt(floor.goodput * 100, 4)} %`;
        detail +=
          floor.latencyP99 > reach
            ? `: the service times alone exceed 0.9× this point (${fmt(reach)} ms), so no admission controller reaches the target here`
            : ` (0.9× this point is ${fmt(reach)} ms)`;
        if (worst.base.controller === "fixed-window") {
          // The delay loop's point with the same nominal window, D* = window / nominal capacity.
          const same = measured.find(
            (p) =>
              p.controller === "delay" &&
              Math.abs(p.value * facts.nominalCapacity - worst.base.value) < 1e-6 * worst.base.value,
          );
          const m = same?.byScenario.get(scenario.name)?.mean;
          if (same && m)
            detail += `. ${same.label}, the same nominal window, gives p99 ${fmt(m.latencyP99)} ms at goodput ${fmt(m.goodput * 100, 4)} %`;
          if (same && m && typeof scenario.workerRate === "number")
            detail += `: where the capacity holds still the delay loop settles to a constant window D*·μ̂, so at best it matches a fixed window (at small windows it falls short in goodput: μ̂ is learnt from busy samples and runs low when the window is near the worker count), and a constant threshold on the number in the system is the optimal admission policy of a stationary queue (Naor 1969; Stidham 1985: the least mean sojourn at a given throughput)`;
        }
      }
      if (scenario.step?.signal === "setpoint") {
        // zmp's loops follow the setpoint profile, the baselines keep their knob: compare also where
        // every controller runs at its own constant setting.
        const before = hardest(scenario.name, "latencyP99Before");
        if (before?.zmp)
          detail += `. zmp's loops double their own setpoint at the step and the baselines keep theirs, so two thirds of zmp's messages run at twice its knob and its whole-run p99 is about that of its doubled point; on the messages that left before the step, every controller at its own constant setting, the hardest baseline point is ${before.base.label} (p99 ${fmt(before.base.byScenario.get(scenario.name)!.mean.latencyP99Before)} ms) and the best zmp point ${before.zmp.label} is ${fmt(before.ratio)}× its p99 there (goodput is the whole run's, which flatters zmp's points: their doubled phase keeps the workers busier)`;
      }
      add(
        `Pareto on ${scenario.name}: some zmp point ≤ 0.9× the p99 of every baseline point with goodput ≥ 97 %, at goodput ≥ its − 0.1 pt`,
        detail,
        ok,
      );
    }
    lines.unshift(`Pareto target met on ${met} of ${scenarios.length} scenarios.`);
  }

  // Delay regulation at the design point.
  const delay = designPoint("delay");
  if (delay !== undefined && controllers.includes("delay")) {
    for (const name of ["capacity-step", "combined"]) {
      const s = delay.byScenario.get(name);
      if (s)
        add(
          `Delay: IADE ≤ 2.6 s·s on ${name}`,
          `IADE ${fmt(s.mean.iade)} s·s (sd ${fmt(s.sd.iade, 2)})`,
          s.mean.iade <= 2.6,
        );
    }
    const step = delay.byScenario.get("capacity-step");
    if (step) {
      const m = step.mean;
      const seeds = step.runs.length;
      const o = oracle.now.get("capacity-step")?.mean;
      const oSettled = oracle.now.get("capacity-step")?.settled ?? 0;
      const late = oracle.late.get("capacity-step")?.mean;
      const later = oracle.later.get("capacity-step")?.mean;
      // Whether the band can hold at all: how often the 1 s mean is inside it once the step is over.
      const bound = o
        ? `an oracle window set to D*·(true capacity) at every sample settles on ${oSettled} of ${seeds} seeds (${fmt(o.delaySettling)} s) and peaks at ${fmt(o.delayPeak / nominalDelay)}·D*. From 10 s after the step the causal 1 s mean is inside ±15 % of D* in ${fmt(o.delayInBand * 100)} % of the samples for the oracle and ${fmt(m.delayInBand * 100)} % (sd ${fmt(step.sd.delayInBand * 100, 2)}) for the loop; settling needs 150 such samples in a row, and what the 1 s mean varies by is the service times of messages already admitted, which no window set at admission can cancel`
        : "";
      add(
        "Delay: settling ≤ 2 s after the −50 % capacity step (causal 1 s mean within ±15 % of D*, held 15 s)",
        `${fmt(m.delaySettling)} s (settled on ${step.settled} of ${seeds} seeds; the mean is NaN when a seed never settles)`,
        m.delaySettling <= 2,
        bound,
      );
      add(
        "Delay: peak ≤ 1.3·D* after the −50 % capacity step (causal 1 s mean)",
        `${fmt(m.delayPeak / nominalDelay)}·D* (sd ${fmt(step.sd.delayPeak / nominalDelay, 2)} over ${seeds} seeds)`,
        m.delayPeak <= 1.3 * nominalDelay,
        o && late && later
          ? `oracle ${fmt(o.delayPeak / nominalDelay)}·D*: the messages queued at the step wait up to twice as long whatever the controller does; told the capacity one sample late ${fmt(late.delayPeak / nominalDelay)}·D*, two samples late ${fmt(later.delayPeak / nominalDelay)}·D*. ${firstSampleEvidence(scenarios.find((s) => s.name === "capacity-step")!, facts)}`
          : "",
      );
    }
  }

  // Smoothness and robustness of zmp's design points.
  for (const controller of (["delay", "pid"] as QueueController[]).filter((c) => controllers.includes(c))) {
    const point = designPoint(controller)!;
    let tv = Number.NEGATIVE_INFINITY;
    let tvAt = "";
    let tvSd = Number.NaN;
    let ac = Number.POSITIVE_INFINITY;
    let acAt = "";
    let acSd = Number.NaN;
    for (const [scenario, s] of point.byScenario) {
      if (s.mean.tv > tv) {
        tv = s.mean.tv;
        tvAt = scenario;
        tvSd = s.sd.tv;
      }
      if (s.mean.duAutocorrelation < ac) {
        ac = s.mean.duAutocorrelation;
        acAt = scenario;
        acSd = s.sd.duAutocorrelation;
      }
    }
    add(
      `Smoothness (${point.label}): steady-state relative TV ≤ 1.0 /s in every scenario`,
      `worst ${fmt(tv)} /s (${tvAt}; sd ${fmt(tvSd, 2)})`,
      tv <= 1,
    );
    add(
      `Smoothness (${point.label}): lag-1 autocorrelation of Δu ≥ −0.1 in every scenario`,
      `worst ${fmt(ac)} (${acAt}; sd ${fmt(acSd, 2)})`,
      ac >= -0.1,
    );
    const staleRuns = stale.get(controller);
    if (staleRuns) {
      const error = (m: RunMetrics) => (controller === "delay" ? m.iade : m.iae);
      let ratio = Number.NEGATIVE_INFINITY;
      let ratioAt = "";
      let autocorrelation = Number.POSITIVE_INFINITY;
      let atLimit = Number.NEGATIVE_INFINITY;
      // The same indicators without the stale reading: what the loop shows when nothing lags.
      let freshAutocorrelation = Number.POSITIVE_INFINITY;
      let freshAtLimit = Number.NEGATIVE_INFINITY;
      for (const [scenario, m] of staleRuns) {
        const fresh = point.byScenario.get(scenario)!.mean;
        const r = error(m) / error(fresh);
        if (r > ratio) {
          ratio = r;
          ratioAt = scenario;
        }
        autocorrelation = Math.min(autocorrelation, m.backlogAutocorrelation);
        atLimit = Math.max(atLimit, m.atLimit);
        freshAutocorrelation = Math.min(freshAutocorrelation, fresh.backlogAutocorrelation);
        freshAtLimit = Math.max(freshAtLimit, fresh.atLimit);
      }
      const what = controller === "delay" ? "IADE" : "IAE";
      add(
        `Robustness (${point.label}): with a ${staleReading} s stale reading ${what} rises ≤ 1.5×`,
        `worst ${fmt(ratio)}× (${ratioAt})`,
        ratio <= 1.5,
      );
      add(
        `Robustness (${point.label}): no limit cycle with the stale reading (backlog autocorrelation > −0.3 at every lag; at a limit ≤ 5 % of samples)`,
        `smallest autocorrelation ${fmt(autocorrelation)}, at a limit ${fmt(atLimit * 100)} % (without the stale reading ${fmt(freshAutocorrelation)} and ${fmt(freshAtLimit * 100)} %)`,
        autocorrelation > -0.3 && !(atLimit > 0.05),
      );
    }
  }
  return { rows, lines };
}

/**
 * What the departures of the first sample after a capacity step can tell:
 * a busy worker finishes the message it holds at the old rate r₀
 * (exponential service: memoryless), then serves at the new rate r₁, so it
 * is expected to complete (1 − e^(−r₀h)) + r₁·(h − (1 − e^(−r₀h))/r₀)
 * messages in the sample of length h; the Poisson log-likelihood ratio of
 * that count for the drop, against the noise of one sample's count.
 */
function firstSampleEvidence(scenario: QueueScenario, facts: QueuePlantFacts): string {
  const spec = scenario.workerRate;
  if (typeof spec !== "object" || spec.kind !== "step") return "";
  const h = facts.sampleTime;
  const workers = facts.workers!;
  const r0 = spec.from;
  const r1 = spec.to;
  const first = 1 - Math.exp(-r0 * h);
  const perWorker = first + r1 * (h - first / r0);
  const count = workers * perWorker;
  const rho = r1 / r0;
  const evidence = count * Math.log(rho) + (1 - rho) * workers * r0 * h;
  const noise = Math.abs(Math.log(rho)) * Math.sqrt(count);
  return `Departures show the drop from the second sample after it: the messages in service at the step finish at the old speed, so a busy worker is expected to complete ${fmt(perWorker)} messages in the first sample against ${fmt(r0 * h)} before and ${fmt(r1 * h)} after, ${fmt(evidence, 2)} nats of evidence for the drop against a sample's noise of ${fmt(noise, 2)} nats; a controller that learns the capacity from departures can act on it from the second sample, so its reference is the two-samples-late oracle`;
}

function frontierFigures(
  scenarios: QueueScenario[],
  points: Point[],
  controllers: QueueController[],
  chosen: Map<QueueController, Point>,
): ScatterSpec[] {
  const shown = controllers.filter((c) => c !== "none");
  return scenarios.map((scenario) => {
    const series = shown.map((controller) => {
      const own = points.filter((p) => p.controller === controller && p.byScenario.has(scenario.name));
      const sorted = own
        .map((p) => ({ p, m: p.byScenario.get(scenario.name)!.mean }))
        .sort((a, b) => a.m.latencyP99 - b.m.latencyP99);
      const marked = sorted.findIndex((x) => x.p === chosen.get(controller));
      return {
        label: controller,
        points: sorted.map((x) => [x.m.latencyP99, 100 * x.m.goodput] as [number, number]),
        marked: marked >= 0 ? [marked] : [],
        dashed: !zmpControllers.includes(controller),
      };
    });
    // The region that matters: from the lowest p99 of a point at ≥ 97 % goodput to 2.5 times it.
    const good = series.flatMap((s) => s.points).filter((p) => p[1] >= 100 * goodputFloor);
    const least = good.length > 0 ? Math.min(...good.map((p) => p[0])) : 200;
    return {
      title: scenario.name,
      xLabel: "p99 sojourn (ms); beyond the axes: on the border",
      yLabel: "goodput (%)",
      series,
      yMin: 94,
      yMax: 100,
      xMin: Math.floor((0.8 * least) / 50) * 50,
      xMax: Math.ceil((2.5 * least) / 50) * 50,
      guide: 100 * goodputFloor,
    };
  });
}

function scenarioSection(
  scenario: QueueScenario,
  controllers: QueueController[],
  chosen: Map<QueueController, Point>,
  runs: RunRecord[],
  repeats: number,
  facts: QueuePlantFacts,
): ReportSection {
  const keys: (keyof RunMetrics)[] = [
    "latencyP99",
    "latencyP99After",
    "goodput",
    "shed",
    "iade",
    "tv",
    "duAutocorrelation",
  ];
  const better: Record<string, "low" | "high"> = {
    latencyP99: "low",
    latencyP99After: "low",
    goodput: "high",
    shed: "low",
    iade: "low",
    tv: "low",
    duAutocorrelation: "high",
  };
  const value = (key: keyof RunMetrics, m: RunMetrics) =>
    key === "goodput" || key === "shed" ? round(m[key] * 100, 4) : round(m[key]);
  const rows: TableSpec["rows"] = [];
  for (const controller of controllers) {
    const point = chosen.get(controller)!;
    const s = point.byScenario.get(scenario.name)!;
    rows.push([point.label, ...keys.map((k) => value(k, s.mean)), round(s.p99Sd), round(s.mean.ownGoal)]);
  }
  const baselines = controllers.filter((c) => !zmpControllers.includes(c) && c !== "none");
  if (baselines.length > 0) {
    rows.push([
      "best baseline",
      ...keys.map((k) => {
        const ranked = baselines
          .map((c) => ({ c, v: chosen.get(c)!.byScenario.get(scenario.name)!.mean[k] }))
          .filter((x) => Number.isFinite(x.v))
          .sort((a, b) => (better[k] === "low" ? a.v - b.v : b.v - a.v));
        return ranked.length > 0 ? ranked[0]!.c : "–";
      }),
      null,
      null,
    ]);
  }
  // Charts: the operating points of zmp and of the two best baselines by p99, on the first seed.
  const chartFor = controllers
    .filter((c) => c !== "none")
    .map((c) => ({ c, m: chosen.get(c)!.byScenario.get(scenario.name)!.mean }))
    .sort((a, b) => a.m.latencyP99 - b.m.latencyP99);
  const picks = [
    ...controllers.filter((c) => zmpControllers.includes(c)),
    ...chartFor
      .filter((x) => !zmpControllers.includes(x.c))
      .slice(0, 2)
      .map((x) => x.c),
  ];
  const indices = picks
    .map((c) => chosen.get(c)!.byScenario.get(scenario.name)!.runs[0]!)
    .filter((i) => runs[i]!.log.times.length > 0);
  const detail = indices.find((i) => runs[i]!.setup === "delay");
  const charts =
    indices.length > 0
      ? queueCharts(runs, indices, detail, { backlog: 6 * facts.setpoint, latency: 2000 })
      : [];
  return {
    title: `Scenario: ${scenario.name}`,
    text: `${scenario.description} Table: each controller at its operating point, mean over ${repeats} seeds (p99 sd: its spread over the seeds); the last row names the best baseline per column. Charts: zmp's operating points and the two baselines with the lowest p99, seed 1.`,
    charts,
    tables: [
      {
        title: `${scenario.name}: operating points`,
        columns: [
          "controller (operating point)",
          "p99 ms",
          "p99 after step ms",
          "goodput %",
          "shed %",
          "IADE s·s (D* 0.25 s)",
          "relative TV /s",
          "Δu lag-1 autocorr.",
          "p99 sd ms",
          "own goal",
        ],
        rows,
      },
    ],
  };
}

function setupSection(
  controllers: QueueController[],
  points: Point[],
  chosen: Map<QueueController, Point>,
  tuning: Map<Point, { p99: number; goodput: number }>,
  facts: QueuePlantFacts,
): ReportSection {
  const rows = controllers.map((c) => {
    const knob = queueKnob(c, facts);
    const point = chosen.get(c)!;
    const t = tuning.get(point)!;
    const setup = queueSetup(c, facts, point.params);
    return [
      c,
      queueRegulates[c],
      setup.actuator ?? "–",
      knob === null
        ? "–"
        : `${knob.name} (${knob.unit}): ${points
            .filter((p) => p.controller === c)
            .map((p) => p.value)
            .join(", ")}`,
      knob === null ? "–" : `${point.value} (p99 ${fmt(t.p99)} ms, goodput ${fmt(t.goodput * 100, 4)} %)`,
      queueOwnGoals[c] ?? "–",
      setup.note ?? "",
    ];
  });
  return {
    title: "Setups, knobs and operating points",
    text: "How each controller is wired, the knob its sweep turns, and the operating point chosen on the tuning seed (lowest p99 among the points with goodput ≥ 97 %, mean over the scenarios; the same rule for every controller).",
    charts: [],
    tables: [
      {
        title: "Setups",
        columns: [
          "controller",
          "regulates",
          "actuator",
          "knob and swept values",
          "operating point (tuning seed)",
          "own goal",
          "mapping",
        ],
        rows,
      },
    ],
  };
}
