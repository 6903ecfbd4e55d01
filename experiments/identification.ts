/**
 * Model identification on a plant and controller tuning from the model, as
 * an engineer would do it on a live system.
 *
 * Backlog PID: an open-loop step test on the admission rate, a model fit
 * (`identifyIntegrating`: the backlog integrates admitted − served), and the
 * SIMC rule for integrating processes (Skogestad, "Simple analytic rules for
 * model reduction and PID controller tuning", J. Process Control 13 (2003))
 * on every delay the loop is known to have: θ_eff = θ (fitted, with the
 * meter's age and the actuator's lag, both 0 on the simulated plant) + h/2
 * (the hold) + τf (the measurement filter, one sample period, which keeps
 * the arrivals' Poisson noise off the P path), and the smallest τc whose
 * sampled loop (`simcSampled`: exact ZOH model and the filter) has
 * ωc·h ≤ 0.5 and Ms ≤ 1.6 both as fitted and with the reading
 * `stalenessBudget` (0.2 s) older: its delay margin then covers a meter
 * that lags by two samples with Ms to spare. A fitted dead time of ~0 would
 * otherwise give τc = h/2 and a near-deadbeat loop (kp·h ≈ 1, Ms ≈ 2.3),
 * and the rule without the budget (kp·h ≈ 0.47) has a delay margin of
 * about 0.19 s, which a 0.2 s stale reading uses up.
 *
 * Delay trim: an open-loop step of the credit window (as seconds of delay at
 * the measured service rate), a first-order-plus-dead-time fit of the
 * measured sojourn W̄ (`identifyFopdt`), and SIMC PI with τc = 10 s: the
 * trim only removes what Little's law with a filtered rate leaves over, so
 * it must stay well behind the feedforward (a 2 s rate filter) and the
 * sojourn's own dead time (a message reports its delay when it leaves).
 * Both designs print Ms, the gain margin and ωc·h of their sampled loop.
 */
import {
  type Controller,
  type ControllerParams,
  type FopdtFit,
  type IntegratingFit,
  type IntegratingModel,
  identifyFopdt,
  identifyIntegrating,
  type LoopMargins,
  loopMargins,
  type Observation,
  observe,
  type SampledDesign,
  simcSampled,
} from "../toolbox/control/index.js";
import type { ReportSection, RunRecord, SeriesSpec } from "./experiment.js";
import { computeMetrics } from "./metrics.js";
import { createPlant, type PlantMode } from "./plants/registry.js";
import { type RunLog, runOn } from "./runner.js";
import { type QueueScenario, queueSignals } from "./scenarios.js";
import { keyValueTable, type Progress } from "./sections.js";

/**
 * A controller whose output is a function of the time since its first update
 * and of what it observes: the input of an open-loop test.
 */
export class Schedule implements Controller {
  readonly kind = "schedule";
  setpoint = 0;
  readonly #plan: (time: number, observation: Observation) => number;
  #time = Number.NaN;
  #output = 0;

  constructor(plan: (time: number, observation: Observation) => number) {
    if (typeof plan !== "function")
      throw new TypeError(`Expected \`plan\` to be a function, got \`${String(plan)}\``);
    this.#plan = plan;
  }

  get output(): number {
    return this.#output;
  }

  get components(): Readonly<Record<string, number>> {
    return {};
  }

  update(input: number | Observation, dt?: number): number {
    this.#time = Number.isNaN(this.#time) ? 0 : this.#time + (dt ?? 0);
    this.#output = this.#plan(this.#time, observe(input));
    return this.#output;
  }

  params(): ControllerParams {
    return {};
  }

  setParams(params: Partial<Record<string, number | boolean | string | null>>): void {
    const key = Object.keys(params)[0];
    if (key !== undefined) throw new RangeError(`Unknown Schedule parameter \`${key}\`; it has none`);
  }

  reset(): void {
    this.#time = Number.NaN;
    this.#output = 0;
  }
}

/** A queue scenario frozen at its t = 0 conditions (no steps, no noise), for tests on a steady plant. */
export function steadyScenario(scenario: QueueScenario, seed: number): QueueScenario {
  const s = queueSignals(scenario, seed);
  return {
    ...scenario,
    name: `${scenario.name}/steady`,
    description: `${scenario.name} held at its t = 0 conditions`,
    load: s.load(0),
    workerRate: s.workerRate(0),
    setpoint: s.setpoint(0),
    step: null,
  };
}

/** Options of `queueStepTest`. */
export interface StepTestOptions {
  /** Sample period, seconds. Required. */
  sampleTime: number;
  /** Seconds at the nominal rate, measuring the service rate (the balance input). Default 5. */
  measureTime?: number;
  /** Seconds at the balance input before the step. Default 2. */
  holdTime?: number;
  /** Seconds after the step. Default 3. */
  stepTime?: number;
  /**
   * Step size as a fraction of the balance input. Default −0.75: a step
   * down, always feasible (a step up cannot admit more than is offered).
   */
  stepSize?: number;
  /** Samples done/planned, for progress bars. */
  onSample?: (done: number, total: number) => void;
}

/** An open-loop step test on a queue and the integrating model fitted to it. */
export interface QueueStepTest {
  /** The whole test, logged like any run (label "step-test"). */
  log: RunLog;
  /** The measured service rate the test balanced at, msg/s. */
  balance: number;
  /** Step size, msg/s. */
  step: number;
  /** Time the step was applied, seconds. */
  stepAt: number;
  /** Fitted model k·e^{−θs}/s (k: backlog slope per unit rate, ≈ 1; θ: dead time, s). */
  fit: IntegratingFit;
}

/**
 * Runs a step test on a queue at the scenario's t = 0 conditions, starting
 * with a deep queue (backlog 10 × setpoint, at most half the buffer: every
 * worker stays busy through the test): the
 * admission rate is held at the nominal capacity while the service rate is
 * measured, then at that measured rate (the balance), then stepped by
 * `stepSize` (down by default); the backlog record from the balance hold on
 * is fitted by `identifyIntegrating`. The load must exceed the capacity
 * (otherwise there is nothing for admission control to do).
 */
export async function queueStepTest(
  mode: PlantMode,
  scenario: QueueScenario,
  seed: number,
  options: StepTestOptions,
): Promise<QueueStepTest> {
  const h = options.sampleTime;
  const measureTime = options.measureTime ?? 5;
  const holdTime = options.holdTime ?? 2;
  const stepTime = options.stepTime ?? 3;
  const stepSize = options.stepSize ?? -0.75;
  const steady = steadyScenario(scenario, seed);
  const signals = queueSignals(steady, seed);
  const nominal = steady.workers * signals.workerRate(0);
  const setpoint = signals.setpoint(0);
  const plant = await createPlant(mode, "worker-pool", {
    scenario: steady,
    signals,
    seed,
    initialBacklog: Math.round(Math.min(10 * setpoint, (steady.bufferSize ?? Number.POSITIVE_INFINITY) / 2)),
  });
  let served = 0;
  let periods = 0;
  let balance = Number.NaN;
  const stepAt = measureTime + holdTime;
  const schedule = new Schedule((t, observation) => {
    if (t < measureTime - 1e-9) {
      if (t > 0) {
        served += observation.serviceRate ?? 0;
        periods++;
      }
      return nominal;
    }
    if (Number.isNaN(balance)) balance = periods > 0 ? served / periods : nominal;
    return t < stepAt - 1e-9 ? balance : balance * (1 + stepSize);
  });
  const setup = { label: "step-test", controller: schedule, actuator: "rate", toSetpoint: null };
  const runOptions = {
    setpoint,
    duration: measureTime + holdTime + stepTime,
    sampleTime: h,
    // An open-loop schedule needs no measured rates before it acts.
    warmup: 0,
    ...(options.onSample ? { onSample: options.onSample } : {}),
  };
  let log: RunLog;
  try {
    log = await runOn(plant, setup, { ...runOptions, loopName: "step-test" });
  } finally {
    await plant.close?.();
  }
  const first = log.times.findIndex((t) => t >= measureTime - 1e-9);
  const fit = identifyIntegrating({
    times: log.times.slice(first).map((t) => t - log.times[first]!),
    input: log.applied.slice(first),
    measurement: log.measurement.slice(first),
  });
  return { log, balance, step: balance * stepSize, stepAt, fit };
}

/** Several step tests and the model they agree on. */
export interface QueueIdentification {
  /** The tests, one per seed (seed, seed + 1, ...). */
  tests: QueueStepTest[];
  /** The model: the median gain and the median dead time of the fits (robust to one noisy test). */
  model: { gain: number; theta: number };
}

function median(values: number[]): number {
  const sorted = values.slice().sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/**
 * Runs `repeats` step tests (default 3; seeds `seed`, `seed + 1`, ...) and
 * takes the median gain and dead time: one test on a stochastic queue can
 * place the kink of the ramp a sample or two off, which moves θ — and the
 * SIMC gains — a lot.
 */
export async function identifyQueue(
  mode: PlantMode,
  scenario: QueueScenario,
  seed: number,
  options: StepTestOptions & { repeats?: number },
): Promise<QueueIdentification> {
  const repeats = options.repeats ?? 3;
  if (!Number.isInteger(repeats) || repeats < 1) {
    throw new RangeError(`Expected \`repeats\` to be an integer ≥ 1, got \`${repeats}\``);
  }
  const { repeats: _, ...testOptions } = options;
  const tests: QueueStepTest[] = [];
  for (let i = 0; i < repeats; i++) tests.push(await queueStepTest(mode, scenario, seed + i, testOptions));
  return {
    tests,
    model: { gain: median(tests.map((t) => t.fit.gain)), theta: median(tests.map((t) => t.fit.theta)) },
  };
}

/**
 * The age of reading the backlog loop is designed to tolerate, seconds: a
 * meter that lags by two samples (the robustness runs of
 * `compare-controllers` read the plant that much late).
 */
export const stalenessBudget = 0.2;

/** Options of `tuneQueuePid`. */
export interface QueueTuningOptions {
  /** τc as given instead of searched for, seconds. */
  tauC?: number;
  /** The Pid's measurement filter, seconds. Default one sample period. */
  measurementTau?: number;
  /** Staleness budget, seconds. Default `stalenessBudget` (0.2). */
  staleness?: number;
}

/** PI gains for a queue from its fitted model, and how they were obtained. */
export interface QueueTuning {
  /** The sampled design: gains, τc, θ_eff and the loop's margins on the model, as fitted and with the budget. */
  design: SampledDesign;
  /** Dead time used: θ + h/2 + τf. */
  thetaEffective: number;
  /** The gains for `Pid`, and the measurement filter they were designed with. */
  gains: { kp: number; ki: number; kd: number; measurementTau: number };
  /** The rule without the filter and the budget (Ms ≤ 1.6, ωc·h ≤ 0.5 only), for comparison. */
  unbudgeted: SampledDesign;
  /** Skogestad's plain τc = θ + h/2 on the same model, for comparison. */
  plain: SampledDesign;
}

/**
 * SIMC PI for the fitted integrating model on a loop sampled every
 * `sampleTime` seconds (see the module comment): θ_eff = θ + h/2 + τf and
 * the smallest τc with ωc·h ≤ 0.5 and Ms ≤ 1.6, as fitted and with the
 * staleness budget; `tauC` overrides the search.
 */
export function tuneQueuePid(
  model: IntegratingModel,
  sampleTime: number,
  options: QueueTuningOptions = {},
): QueueTuning {
  const measurementTau = options.measurementTau ?? sampleTime;
  const staleness = options.staleness ?? stalenessBudget;
  const design = simcSampled(model, sampleTime, {
    measurementTau,
    staleness,
    ...(options.tauC === undefined ? {} : { tauC: options.tauC }),
  });
  // The rule without filter and budget picks its τc alone; its margins are then shown with the budget too.
  const unbudgeted = simcSampled(model, sampleTime, { tauC: simcSampled(model, sampleTime).tauC, staleness });
  const plain = simcSampled(model, sampleTime, { tauC: model.theta + sampleTime / 2, staleness });
  return {
    design,
    thetaEffective: design.thetaEffective,
    gains: { kp: design.kp, ki: design.ki, kd: 0, measurementTau },
    unbudgeted,
    plain,
  };
}

/**
 * The cascade's outer PI: the inner admitted-rate loop (an integral loop of
 * gain `innerKi`, closed-loop time constant 1/innerKi) is part of what the
 * outer loop drives, so it counts in the outer model's dead time (the half
 * rule for a lag), and the outer loop comes out several times slower than
 * the inner one, as a cascade needs. No measurement filter, no budget.
 */
export function tuneCascadeOuter(model: IntegratingModel, sampleTime: number, innerKi: number): QueueTuning {
  return tuneQueuePid({ gain: model.gain, theta: model.theta + 1 / innerKi }, sampleTime, {
    measurementTau: 0,
    staleness: 0,
  });
}

/** Rows of a margins table: the design's figures on its model. */
export function marginRows(
  label: string,
  d: { tauC: number; kp: number; ki: number; margins: LoopMargins; staleMargins?: LoopMargins },
): (string | number | null)[] {
  const m = d.margins;
  const r = (v: number) => (Number.isFinite(v) ? Number(v.toPrecision(3)) : null);
  return [
    label,
    r(d.tauC),
    r(d.kp),
    r(d.ki),
    r(m.ms),
    r(m.gainMargin),
    r(m.phaseMargin),
    r(m.crossoverPerSample),
    r(m.delayMargin),
    d.staleMargins === undefined ? null : r(d.staleMargins.ms),
    d.staleMargins === undefined ? null : r(d.staleMargins.gainMargin),
  ];
}

const marginColumns = [
  "design",
  "τc s",
  "kp",
  "ki 1/s",
  "Ms",
  "gain margin",
  "phase margin °",
  "ωc·h",
  "delay margin s",
  `Ms, reading ${stalenessBudget} s late`,
  `gain margin, reading ${stalenessBudget} s late`,
];

/** The identification and tuning of the PID family for a queue experiment, as report parts. */
export interface QueuePidDesign {
  identification: QueueIdentification;
  tuning: QueueTuning;
  /** The step tests as run records (they go into data.csv and the report). */
  records: RunRecord[];
  /** The section describing the design. */
  section: ReportSection;
}

/**
 * Identifies the queue (three step tests on seeds seed + 1000, + 1001, +
 * 1002, so they never share random streams with the evaluation runs) and
 * tunes the PI by SIMC. `firstIndex` is the index the first step-test record
 * will have in the experiment's runs (charts refer to runs by index).
 */
/**
 * Step tests a PID design runs: three seeded ones on the simulated plant (the
 * median model), one on the live graph, where each test starts a pool of
 * worker processes and runs in real time (one keeps `npm start` under a minute).
 */
export function stepTestRepeats(mode: PlantMode): number {
  return mode === "live" ? 1 : 3;
}

export async function designQueuePid(
  mode: PlantMode,
  scenario: QueueScenario,
  seed: number,
  sampleTime: number,
  firstIndex: number,
  progress?: Progress,
  options: QueueTuningOptions = {},
): Promise<QueuePidDesign> {
  const identification = await identifyQueue(mode, scenario, seed + 1000, {
    repeats: stepTestRepeats(mode),
    sampleTime,
    ...(progress ? { onSample: progress.run("step tests") } : {}),
  });
  const tuning = tuneQueuePid(identification.model, sampleTime, options);
  const steady = steadyScenario(scenario, seed);
  const records = identification.tests.map(
    (test, i): RunRecord => ({
      label: `step-test-${i + 1}`,
      controller: "schedule",
      scenario: steady.name,
      seed: seed + 1000 + i,
      actuator: "rate",
      note: "open loop: nominal rate, then the measured service rate, then a step down",
      gains: { balance: test.balance, step: test.step, stepAt: test.stepAt },
      metrics: computeMetrics(test.log, { step: null }),
      log: test.log,
    }),
  );
  const fits = identification.tests.map((t, i) => [
    `step test ${i + 1}`,
    Number(t.balance.toPrecision(4)),
    Number(t.fit.gain.toPrecision(3)),
    Number(t.fit.theta.toPrecision(3)),
    Number(t.fit.fit.toPrecision(3)),
  ]);
  const { design, thetaEffective } = tuning;
  const section: ReportSection = {
    title: "Identification and tuning",
    text:
      "Open-loop step tests on the plant at the scenario's starting conditions: the admission rate is held at the nominal capacity while the service rate is measured, then at that balance, then stepped down by 75 %. " +
      "identifyIntegrating fits backlog = k·∫(rate − balance)(t − θ) dt; the median k and θ of the tests give the model. " +
      `SIMC for integrating processes (Skogestad 2003) on every known delay, θ_eff = θ + h/2 (the hold) + τf (the Pid's measurement filter, ${tuning.gains.measurementTau} s), with the smallest τc whose sampled loop (exact ZOH model, the filter, the Pid's discretization) has ωc·h ≤ 0.5 and Ms ≤ 1.6 both as fitted and with the reading ${stalenessBudget} s older (the staleness budget). The rule without filter and budget, and Skogestad's plain τc = θ + h/2, are shown for comparison.`,
    charts: [
      {
        title: "Step tests: backlog",
        unit: "messages",
        series: records.map(
          (r, i): SeriesSpec => ({ label: r.label, run: firstIndex + i, field: "measurement" }),
        ),
      },
      {
        title: "Step tests: admission rate applied",
        unit: "msg/s",
        series: records.map(
          (r, i): SeriesSpec => ({ label: r.label, run: firstIndex + i, field: "applied" }),
        ),
      },
    ],
    tables: [
      {
        title: "Model fits",
        columns: ["test", "balance msg/s", "k", "θ s", "fit %"],
        rows: [
          ...fits,
          [
            "median",
            null,
            Number(identification.model.gain.toPrecision(3)),
            Number(identification.model.theta.toPrecision(3)),
            null,
          ],
        ],
        caption:
          "k: backlog slope per unit of admission rate (1 for a queue that admits what it is set to); θ: dead time; fit: 100·(1 − ‖y − ŷ‖/‖y − ȳ‖).",
      },
      keyValueTable("SIMC PI (sampled)", {
        "θ fitted (s)": identification.model.theta,
        "hold h/2 (s)": sampleTime / 2,
        "measurement filter τf (s)": tuning.gains.measurementTau,
        "θ_eff (s)": thetaEffective,
        "staleness budget (s)": stalenessBudget,
        "τc (s)": design.tauC,
        kp: design.kp,
        "ki (1/s)": design.ki,
        "Ti (s)": design.kp / design.ki,
      }),
      {
        title: "Robustness of the sampled loop on the identified model",
        columns: marginColumns,
        rows: [
          marginRows(
            `chosen: τf ${tuning.gains.measurementTau} s, Ms ≤ 1.6 also ${stalenessBudget} s late`,
            design,
          ),
          marginRows("without filter and budget: Ms ≤ 1.6, ωc·h ≤ 0.5", tuning.unbudgeted),
          marginRows("plain SIMC τc = θ + h/2", tuning.plain),
        ],
        caption:
          "Ms = max|1/(1 + L)|, gain margin, ωc·h and delay margin (PM/ωc) of the loop the Pid runs at h (loopMargins: exact zero-order-hold model with the fitted dead time; backward-Euler integral; the measurement filter), and Ms and the gain margin with the staleness budget added to the dead time.",
      },
    ],
  };
  return { identification, tuning, records, section };
}

/** The delay trim's identified model and design (`designDelayTrim`). */
export interface DelayTrimDesign {
  /** The open-loop window step test, logged like any run. */
  log: RunLog;
  /** FOPDT fit of the measured sojourn against the window expressed as seconds of delay. */
  fit: FopdtFit;
  /** The PI design on the fit (τc = `tauC`), with its sampled margins. */
  design: SampledDesign;
  /** The section describing the design. */
  section: ReportSection;
}

/**
 * Identifies the window → sojourn dynamics of a queue and designs the delay
 * window's trim (see the module comment): from the scenario's starting
 * conditions (a deep queue, the load over capacity), the credit window is
 * held at D*·μ₀ for 8 s, then stepped to 1.3·D*·μ₀ for 8 s; the input is the
 * window over μ₀ (seconds), the output the per-period mean sojourn W̄. SIMC
 * PI on the fit with τc = `tauC` (default 10 s).
 */
export async function designDelayTrim(
  mode: PlantMode,
  scenario: QueueScenario,
  seed: number,
  sampleTime: number,
  delay: number,
  tauC = 10,
): Promise<DelayTrimDesign> {
  const steady = steadyScenario(scenario, seed);
  const signals = queueSignals(steady, seed);
  const mu = steady.workers * signals.workerRate(0);
  const base = delay * mu;
  const plant = await createPlant(mode, "worker-pool", {
    scenario: steady,
    signals,
    seed,
    initialBacklog: Math.round(base),
  });
  const hold = 8;
  const schedule = new Schedule((t) => (t < hold - 1e-9 ? base : 1.3 * base));
  const setup = { label: "window-step", controller: schedule, actuator: "window", toSetpoint: null };
  const options = { setpoint: steady.setpoint as number, duration: 2 * hold, sampleTime, warmup: 0 };
  let log: RunLog;
  try {
    log = await runOn(plant, setup, { ...options, loopName: "window-step" });
  } finally {
    await plant.close?.();
  }
  const latency = log.values[log.columns.findIndex((c) => c.name === "latency")]!;
  const from = log.times.findIndex((t) => t >= hold - 2 - 1e-9);
  let held = delay;
  const times: number[] = [];
  const input: number[] = [];
  const output: number[] = [];
  for (let k = from; k < log.times.length; k++) {
    if (Number.isFinite(latency[k]!)) held = latency[k]! / 1000;
    times.push(log.times[k]! - log.times[from]!);
    input.push(log.applied[k]! / mu);
    output.push(held);
  }
  const fit = identifyFopdt({ times, input, measurement: output });
  const model = { gain: fit.gain, tau: Math.max(fit.tau, 1e-3), theta: fit.theta };
  const design = simcSampled(model, sampleTime, { tauC });
  const section: ReportSection = {
    title: "Delay loop: identification and trim design",
    text:
      `Open-loop step of the credit window at the scenario's starting conditions: ${Number(base.toPrecision(3))} messages (D* = ${delay} s at ${Number(mu.toPrecision(3))} msg/s) for ${hold} s, then 1.3 times that. ` +
      "identifyFopdt fits the per-period mean sojourn W̄ against the window in seconds of delay (window/μ₀). The trim is SIMC PI on that model with τc = 10 s: a bias corrector kept well behind the 2 s rate filter that does the regulation, and behind the sojourn's own dead time.",
    charts: [],
    tables: [
      keyValueTable("Window → sojourn model (FOPDT)", {
        "K (s/s)": fit.gain,
        "τ (s)": fit.tau,
        "θ (s)": fit.theta,
        "fit %": fit.fit,
      }),
      {
        title: "Trim PI and the robustness of its sampled loop on the model",
        columns: marginColumns,
        rows: [marginRows("trim: SIMC, τc = 10 s", design)],
        caption: "Ms, gain margin and ωc·h of the trim's sampled loop on the identified model (loopMargins).",
      },
    ],
  };
  return { log, fit, design, section };
}

/** Margins of given PI gains on an integrating model at sample time h (for reports). */
export function pidMargins(
  model: IntegratingModel,
  gains: { kp: number; ki: number },
  sampleTime: number,
): LoopMargins {
  return loopMargins(model, gains, { sampleTime });
}
