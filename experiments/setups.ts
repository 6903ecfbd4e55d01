/**
 * How each controller of toolbox/control is wired to the worker-pool plant
 * for the queue experiments: what it regulates, what it reads, which
 * actuator its output drives, the knob a sweep turns, and the goal it was
 * designed for. Every baseline runs in its native form, on the quantity it
 * was designed to regulate — not on zmp's objective:
 *
 * | controller   | regulates                      | actuator | native form here                                                      |
 * |--------------|--------------------------------|----------|-----------------------------------------------------------------------|
 * | delay        | sojourn delay (s), zmp         | window   | window = (D* + PI trim)·μ̂ (`DelayWindow`)                              |
 * | pid          | backlog (messages), zmp        | rate     | SIMC PI on the backlog + filtered service-rate feedforward            |
 * | pid-feedback | backlog                        | rate     | the same PI without feedforward (ablation)                            |
 * | cascade      | backlog                        | rate     | outer PI on backlog → admitted-rate setpoint → inner I loop           |
 * | fixed-window | nothing (a constant)           | window   | tail drop at a constant credit window                                 |
 * | fixed-rate   | nothing (a constant)           | rate     | a constant share of the nominal capacity                              |
 * | aimd         | congestion (sojourn > timeout) | window   | AIMDLimit: +1 per sample, ×0.9 when the sample's mean sojourn > timeout |
 * | pie          | queueing delay (RFC 8033)      | in path  | random drop at enqueue, p from queue/departure rate every 15 ms       |
 * | codel        | standing sojourn (RFC 8289)    | in path  | head drop at dequeue by the control law                               |
 * | gradient2    | latency gradient               | window   | Gradient2Limit's concurrency limit as the credit window              |
 * | vegas        | estimated queue (TCP Vegas)    | window   | VegasLimit's concurrency limit as the credit window                  |
 *
 * PIE and CoDel act on each message in the data path of the simulated
 * plant (`PieQueue`, `CodelQueue`), as the RFCs specify them; a live plant
 * has no in-path queue manager, and there they run as sampled loops on the
 * admission fraction (PIE on backlog/measured service rate, CoDel on the
 * measured sojourn). A credit window (admit while fewer than `window`
 * messages are in the system) is what a concurrency limit means in Netflix
 * concurrency-limits, where a request is rejected when inflight ≥ limit.
 *
 * Each controller has one aggressiveness knob (`queueKnobs`) that a sweep
 * turns over eight values: the setpoint of the zmp loops, the window, the
 * share, the targets of PIE, CoDel and AIMD, Gradient2's queue size, Vegas's
 * alpha. The zmp loops' setpoints follow the scenario's setpoint profile
 * (a setpoint step doubles D* and the backlog setpoint); the baselines'
 * knobs stay where they are set: they have no setpoint to follow.
 */
import {
  Aimd,
  Cascade,
  Codel,
  CodelQueue,
  type Controller,
  DelayWindow,
  FixedRate,
  FixedWindow,
  Gradient2,
  Pid,
  Pie,
  PieQueue,
  Vegas,
} from "../toolbox/control/index.js";
import { fail } from "../toolbox/control/validate.js";
import { ExperimentInputError } from "./experiment.js";
import { workerPoolColumns } from "./plants/worker-pool.js";
import type { ControlSetup, PlantSample, RunLog } from "./runner.js";

/** The controller names the queue experiments accept (`--controller`). */
export const queueControllers = Object.freeze([
  "none",
  "delay",
  "pid",
  "pid-feedback",
  "cascade",
  "fixed-window",
  "fixed-rate",
  "aimd",
  "pie",
  "codel",
  "gradient2",
  "vegas",
] as const);

export type QueueController = (typeof queueControllers)[number];

/** The zmp controllers (the rest are baselines, and `none`). */
export const zmpControllers: readonly QueueController[] = Object.freeze([
  "delay",
  "pid",
  "pid-feedback",
  "cascade",
]);

/** The baselines every comparison includes by default. */
export const baselineControllers: readonly QueueController[] = Object.freeze([
  "fixed-window",
  "fixed-rate",
  "aimd",
  "pie",
  "codel",
  "gradient2",
  "vegas",
]);

/** What the wiring needs to know about the plant (as an operator would, from its configuration). */
export interface QueuePlantFacts {
  /** Backlog setpoint at the start, messages (delay setpoints are this over the nominal capacity). */
  setpoint: number;
  /** Capacity at the start (workers × per-worker rate), msg/s. */
  nominalCapacity: number;
  /** Sample period of the loop, seconds. */
  sampleTime: number;
  /** Service time of one message at no load, seconds (Gradient2/Vegas before the first latency sample). */
  noLoadLatency: number;
  /** Workers in the pool (the delay window learns the service rate only with at least this backlog). Default: nominal capacity × no-load latency. */
  workers?: number;
  /** Whether the plant runs a queue discipline in its data path (the simulation does; a live graph does not). Default false. */
  inPath?: boolean;
}

/** Parameters each setup takes (numbers; unknown names throw). */
export const queueParams: Readonly<Record<QueueController, readonly string[]>> = Object.freeze({
  none: [],
  delay: ["delay", "kp", "ki", "rateTau", "changeThreshold", "graded"],
  pid: ["setpoint", "kp", "ki", "kd", "kff", "ffTau", "measurementTau"],
  "pid-feedback": ["setpoint", "kp", "ki", "kd", "measurementTau"],
  cascade: ["setpoint", "kp", "ki", "kff", "ffTau", "innerKi"],
  "fixed-window": ["window"],
  "fixed-rate": ["share"],
  aimd: ["timeout", "decreaseFactor"],
  pie: ["target", "alpha", "beta"],
  codel: ["target", "interval"],
  gradient2: ["queueSize", "smoothing"],
  vegas: ["alpha"],
});

/** The knob a sweep turns for each controller, its unit, and its eight values for a plant. */
export interface QueueKnob {
  /** The parameter (one of `queueParams[controller]`). */
  name: string;
  /** Unit, for tables. */
  unit: string;
  /** The values swept, in increasing aggressiveness order as they appear. */
  values: number[];
}

/** Multipliers of the nominal setpoint (backlog or delay) a setpoint-like knob sweeps. */
const setpointScale = [0.2, 0.32, 0.48, 0.64, 0.8, 1, 1.6, 4];

/** The sweep knob of `name` on a plant (null for `none`). */
export function queueKnob(name: QueueController, facts: QueuePlantFacts): QueueKnob | null {
  const r = facts.setpoint;
  const delay = r / facts.nominalCapacity;
  const round = (v: number) => Number(v.toPrecision(3));
  switch (name) {
    case "delay":
      return { name: "delay", unit: "s", values: setpointScale.map((f) => round(f * delay)) };
    case "pid":
    case "pid-feedback":
    case "cascade":
      return { name: "setpoint", unit: "msg", values: setpointScale.map((f) => round(f * r)) };
    case "fixed-window":
      return { name: "window", unit: "msg", values: setpointScale.map((f) => round(f * r)) };
    case "fixed-rate":
      return { name: "share", unit: "of capacity", values: [0.7, 0.8, 0.9, 0.95, 1, 1.05, 1.1, 1.2] };
    case "aimd":
      return { name: "timeout", unit: "s", values: setpointScale.map((f) => round(f * delay)) };
    case "pie":
      return { name: "target", unit: "s", values: [0.005, 0.015, 0.03, 0.05, 0.08, 0.12, 0.18, 0.25] };
    case "codel":
      return { name: "target", unit: "s", values: [0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.12, 0.16] };
    case "gradient2":
      return { name: "queueSize", unit: "msg", values: [1, 2, 4, 6, 8, 12, 16, 24] };
    case "vegas":
      return { name: "alpha", unit: "msg", values: [1, 2, 3, 4, 6, 8, 12, 16] };
    default:
      return null;
  }
}

/** One line per controller: what it regulates (report tables, docs). */
export const queueRegulates: Readonly<Record<QueueController, string>> = Object.freeze({
  none: "nothing: every offered message is admitted",
  delay: "the sojourn delay of a message, toward D* seconds (zmp)",
  pid: "the backlog, toward a number of messages (zmp)",
  "pid-feedback": "the backlog, without feedforward (ablation)",
  cascade: "the backlog, through an inner admitted-rate loop",
  "fixed-window": "nothing: a constant credit window (tail drop)",
  "fixed-rate": "nothing: a constant admission rate",
  aimd: "congestion: backs off when a sample's mean sojourn exceeds its timeout",
  pie: "the mean queueing delay, toward its target (RFC 8033)",
  codel: "the standing sojourn, under its target (RFC 8289)",
  gradient2: "the latency gradient: no queue growth over the long-term latency",
  vegas: "the estimated queue, between alpha and beta messages",
});

/** The own goal each controller is scored on besides the common metrics: label and unit. */
export const queueOwnGoals: Readonly<Record<QueueController, string | null>> = Object.freeze({
  none: null,
  delay: "IADE against its own D* (s·s)",
  pid: "backlog IAE against its own setpoint (msg·s)",
  "pid-feedback": "backlog IAE against its own setpoint (msg·s)",
  cascade: "backlog IAE against its own setpoint (msg·s)",
  "fixed-window": null,
  "fixed-rate": null,
  aimd: "share of samples congested (%)",
  pie: "|mean queueing delay − target| (ms)",
  codel: "share of samples with the head's sojourn over target (%)",
  gradient2: "latency inflation: mean sojourn / no-load service time (×)",
  vegas: "latency inflation: mean sojourn / no-load service time (×)",
});

function param(params: Readonly<Record<string, number>>, name: string, fallback?: number): number {
  const value = params[name] ?? fallback;
  if (value === undefined) fail(name, "given (the setup has no default for it)", value);
  if (typeof value !== "number" || !Number.isFinite(value))
    fail(name, "a finite number", value, typeof value !== "number");
  return value;
}

const column = (name: string) => workerPoolColumns.findIndex((c) => c.name === name);
const offeredIndex = column("offeredRate");
const latencyIndex = column("latency");

/** The offered rate of the last period, from the worker pool's `offeredRate` column (live worker pools report the same columns). */
function offeredRate(sample: PlantSample): number {
  const v = sample.values[offeredIndex];
  return typeof v === "number" && Number.isFinite(v) ? v : 0;
}

/** A queue setup: the control setup plus the controller's own goal, computed from its run's log. */
export interface QueueSetup extends ControlSetup {
  /** The controller's own goal (see `queueOwnGoals`); NaN-returning for controllers without one. */
  ownGoal: (log: RunLog) => number;
}

const noGoal = (): number => Number.NaN;

/** ∫|target(t) − y| dt of a log, target a function of the sample's index. */
function iaeAgainst(log: RunLog, values: readonly number[], target: (k: number) => number): number {
  let sum = 0;
  for (let k = 1; k < log.times.length; k++) {
    const v = values[k]!;
    if (Number.isFinite(v)) sum += Math.abs(v - target(k)) * (log.times[k]! - log.times[k - 1]!);
  }
  return sum;
}

/** The per-period mean sojourn W̄ of a log (seconds), held when nothing left. */
function sojourns(log: RunLog): number[] {
  const raw = log.values[latencyIndex] ?? [];
  let held = Number.NaN;
  return log.times.map((_, k) => {
    const v = raw[k];
    if (typeof v === "number" && Number.isFinite(v)) held = v / 1000;
    return held;
  });
}

function meanOf(values: readonly number[]): number {
  let sum = 0;
  let n = 0;
  for (const v of values) {
    if (!Number.isFinite(v)) continue;
    sum += v;
    n++;
  }
  return n > 0 ? sum / n : Number.NaN;
}

/**
 * The setup of controller `name` on the worker pool. `params` holds its
 * settings: the PID family needs `kp` and `ki` (there is no default tuning:
 * `compare-controllers` identifies the plant and designs them); every other
 * parameter has the default `queueDefaults` lists.
 */
export function queueSetup(
  name: QueueController,
  facts: QueuePlantFacts,
  params: Readonly<Record<string, number>> = {},
): QueueSetup {
  if (!(queueControllers as readonly string[]).includes(name)) {
    fail("controller", `one of ${queueControllers.join(", ")}`, name);
  }
  for (const key of Object.keys(params)) {
    if (!queueParams[name].includes(key)) {
      throw new RangeError(
        `Unknown parameter \`${key}\` for controller \`${name}\`; expected one of ${queueParams[name].join(", ") || "(none)"}`,
      );
    }
  }
  const mu = facts.nominalCapacity;
  const r0 = facts.setpoint;
  const h = facts.sampleTime;
  const max = 2 * mu;
  const workers = facts.workers ?? Math.max(1, Math.round(mu * facts.noLoadLatency));
  const p = { ...queueDefaults(name, facts), ...params };
  const label = name;
  switch (name) {
    case "none":
      return {
        label,
        controller: null,
        actuator: null,
        note: "no admission control: every offered message is admitted",
        ownGoal: noGoal,
      };
    case "delay": {
      const delay = param(p, "delay");
      const controller = new DelayWindow({
        setpoint: delay,
        kp: param(p, "kp"),
        ki: param(p, "ki"),
        rateTau: param(p, "rateTau"),
        changeThreshold: param(p, "changeThreshold"),
        graded: param(p, "graded") !== 0,
        busyBacklog: workers,
        rateFloor: 0.05 * mu,
        windowMin: 1,
      });
      // D*(t) follows the scenario's setpoint profile: a setpoint step doubles it.
      const target = (r: number) => (delay * r) / r0;
      return {
        label,
        controller,
        actuator: "window",
        toSetpoint: target,
        observe: (s) => ({
          measurement: s.observation.measurement,
          serviceRate: s.observation.serviceRate ?? 0,
          ...(s.observation.latency === undefined ? {} : { latency: s.observation.latency }),
        }),
        note: `credit window = (D* + PI trim on the measured sojourn)·μ̂; μ̂ the service rate while ≥ ${workers} messages are in the system (filter ${param(p, "rateTau")} s, change detection at ${param(p, "changeThreshold")} nats${param(p, "graded") !== 0 ? ", acting on partial evidence of a drop" : ""})`,
        ownGoal: (log) => iaeAgainst(log, sojourns(log), (k) => target(log.setpoint[k]!)),
      };
    }
    case "pid":
    case "pid-feedback": {
      const feedforward = name === "pid";
      const setpoint = param(p, "setpoint");
      const controller = new Pid({
        kp: param(p, "kp"),
        ki: param(p, "ki"),
        kd: param(p, "kd", 0),
        setpoint,
        outputMin: 0,
        outputMax: max,
        feedforwardSignal: feedforward ? "serviceRate" : null,
        kff: feedforward ? param(p, "kff") : 1,
        feedforwardTau: feedforward ? param(p, "ffTau") : 0,
        measurementTau: param(p, "measurementTau"),
      });
      const target = (r: number) => (setpoint * r) / r0;
      const capacity = busyServiceRate(workers, mu);
      return {
        label,
        controller,
        actuator: "rate",
        toSetpoint: target,
        ...(feedforward
          ? { observe: (sample: PlantSample) => ({ ...sample.observation, serviceRate: capacity(sample) }) }
          : {}),
        before: limitToOffered(max),
        note: feedforward
          ? `token-bucket rate = PI(backlog filtered over ${param(p, "measurementTau")} s) + kff × the service rate measured while ≥ ${workers} messages are in the system, filtered over ${param(p, "ffTau")} s; limited to 1.2 × the offered rate (followed up at once, down over ${offeredTau} s)`
          : `token-bucket rate = PI(backlog filtered over ${param(p, "measurementTau")} s); limited to 1.2 × the offered rate (followed up at once, down over ${offeredTau} s)`,
        ownGoal: (log) => iaeAgainst(log, log.measurement, (k) => target(log.setpoint[k]!)),
      };
    }
    case "cascade": {
      const setpoint = param(p, "setpoint");
      const offered = filteredOffered();
      const innerKi = param(p, "innerKi");
      const outer = new Pid({
        kp: param(p, "kp"),
        ki: param(p, "ki"),
        setpoint,
        outputMin: -max,
        outputMax: max,
      });
      const inner = new Pid({ kp: 0, ki: innerKi, outputMin: 0, outputMax: max });
      const controller = new Cascade({
        outer,
        inner,
        innerSignal: "arrivalRate",
        feedforwardSignal: "serviceRate",
        kff: param(p, "kff"),
        innerSetpointMin: 0,
        innerSetpointMax: max,
      });
      const target = (r: number) => (setpoint * r) / r0;
      return {
        label,
        controller,
        actuator: "rate",
        toSetpoint: target,
        // Both loops stop at what can be admitted: the inner output and the inner setpoint.
        before: (sample, c) => {
          const cap = Math.min(max, Math.max(1, 1.2 * offered(sample)));
          c.setParams({ innerSetpointMax: cap, "inner.outputMax": cap });
        },
        note: `outer PI(backlog) + service-rate feedforward → admitted-rate setpoint (limited to 1.2 × offered); inner I loop (closed-loop τ ${Number((1 / innerKi).toPrecision(3))} s) on the admitted rate → token-bucket rate`,
        ownGoal: (log) => iaeAgainst(log, log.measurement, (k) => target(log.setpoint[k]!)),
      };
    }
    case "fixed-window": {
      const window = param(p, "window");
      return {
        label,
        controller: new FixedWindow({ window }),
        actuator: "window",
        toSetpoint: null,
        note: `constant credit window of ${window} messages (tail drop)`,
        ownGoal: noGoal,
      };
    }
    case "fixed-rate":
      return {
        label,
        controller: new FixedRate({ capacity: mu, share: param(p, "share") }),
        actuator: "rate",
        toSetpoint: null,
        note: "token-bucket rate = share × nominal capacity",
        ownGoal: noGoal,
      };
    case "aimd": {
      const timeout = param(p, "timeout");
      const controller = new Aimd({
        initialOutput: r0,
        increase: 1 / h,
        decreaseFactor: param(p, "decreaseFactor"),
        outputMin: 1,
        outputMax: 20 * r0,
        sampleTime: h,
      });
      return {
        label,
        controller,
        actuator: "window",
        toSetpoint: null,
        observe: (s) => ({
          measurement: s.observation.measurement,
          congested: (s.observation.latency ?? 0) > timeout,
        }),
        note: `credit window: +1 message per sample, ×${param(p, "decreaseFactor")} when the sample's mean sojourn exceeds ${timeout} s (AIMDLimit)`,
        ownGoal: (log) => 100 * meanOf(log.components.congested ?? []),
      };
    }
    case "pie": {
      const target = param(p, "target");
      const rfc = { target, alpha: param(p, "alpha"), beta: param(p, "beta"), tUpdate: 0.015 };
      const ownGoal = (log: RunLog) => 1000 * Math.abs(meanOf(log.components.delay ?? []) - target);
      if (facts.inPath) {
        const discipline = new PieQueue(rfc);
        return {
          label,
          controller: discipline,
          discipline,
          actuator: "aqm",
          toSetpoint: null,
          note: `in the data path (RFC 8033): random drop at enqueue, p every 15 ms from queue / departure rate, target ${target} s`,
          ownGoal,
        };
      }
      return {
        label,
        controller: new Pie(rfc),
        actuator: "fraction",
        toSetpoint: null,
        observe: (s) => ({
          measurement: s.observation.measurement,
          delay:
            (s.observation.serviceRate ?? 0) > 0 ? s.observation.measurement / s.observation.serviceRate! : 0,
        }),
        note: `sampled (no in-path queue manager on this plant): admission fraction 1 − p, delay = backlog / measured service rate, target ${target} s`,
        ownGoal,
      };
    }
    case "codel": {
      const target = param(p, "target");
      const interval = param(p, "interval");
      const ownGoal = (log: RunLog) =>
        100 *
        meanOf(
          (log.components.delay ?? []).map((d) => (Number.isFinite(d) ? (d >= target ? 1 : 0) : Number.NaN)),
        );
      if (facts.inPath) {
        const discipline = new CodelQueue({ target, interval });
        return {
          label,
          controller: discipline,
          discipline,
          actuator: "aqm",
          toSetpoint: null,
          note: `in the data path (RFC 8289): head drop at dequeue by the control law, target ${target} s, interval ${interval} s`,
          ownGoal,
        };
      }
      return {
        label,
        controller: new Codel({ target, interval, sampleTime: h }),
        actuator: "fraction",
        toSetpoint: null,
        observe: (s) => ({
          measurement: s.observation.measurement,
          delay: Number.isFinite(s.observation.latency ?? Number.NaN) ? s.observation.latency! : 0,
          arrivalRate: offeredRate(s),
        }),
        note: `sampled (no in-path queue manager on this plant): admission fraction 1 − drops/offered on the measured sojourn, target ${target} s`,
        ownGoal,
      };
    }
    case "gradient2":
    case "vegas": {
      const controller: Controller =
        name === "gradient2"
          ? new Gradient2({
              initialLimit: r0,
              minLimit: 1,
              maxConcurrency: 20 * r0,
              queueSize: param(p, "queueSize"),
              smoothing: param(p, "smoothing"),
            })
          : new Vegas({
              initialLimit: r0,
              maxConcurrency: 20 * r0,
              alpha: param(p, "alpha"),
              beta: 2 * param(p, "alpha"),
            });
      const noLoad = facts.noLoadLatency;
      return {
        label,
        controller,
        actuator: "window",
        toSetpoint: null,
        observe: (s) => {
          const latency = s.observation.latency;
          return {
            measurement: s.observation.measurement,
            latency: latency !== undefined && latency > 0 ? latency : noLoad,
            inflight: s.observation.inflight ?? s.observation.measurement,
            congested: s.observation.congested ?? false,
          };
        },
        note: "credit window = concurrency limit (admit while fewer messages are in the system)",
        ownGoal: (log) => meanOf(sojourns(log)) / noLoad,
      };
    }
  }
}

/** Time constant of the offered-rate filter behind the admission limit, seconds. */
const offeredTau = 1;

/**
 * The offered rate a limit can follow: the per-period count (Poisson, σ ≈
 * 20 % at 240 msg/s over 0.1 s) followed upward at once and downward
 * through a first-order filter of `offeredTau` seconds (exact for a rate
 * held over the sample; it starts at the first reading). Rising at once
 * matters: a limit that lags a rising load (a symmetric 1 s filter lags a
 * 0.5 s load swing by most of its size) sheds messages while the backlog
 * is below its setpoint and the loop asks for more — on the noise
 * scenario that held the backlog PI at its limit in 8 % of the samples;
 * falling slowly keeps the limit from jumping with the counts' noise.
 */
function filteredOffered(): (sample: PlantSample) => number {
  let value = Number.NaN;
  let last = Number.NaN;
  return (sample) => {
    const offered = offeredRate(sample);
    const dt = sample.time - last;
    last = sample.time;
    value =
      Number.isNaN(value) || !(dt > 0) || offered > value
        ? offered
        : value + (1 - Math.exp(-dt / offeredTau)) * (offered - value);
    return value;
  };
}

/**
 * Anti-windup against the real actuator range: a token bucket cannot admit
 * more than is offered, so the PID's upper limit follows the offered rate
 * (× 1.2 for its Poisson noise), within [0, max]. At that limit the PID's
 * conditional integration stops, instead of winding up while the rate it
 * asks for is not there to admit. The offered rate rises at once and falls
 * filtered (`filteredOffered`): a limit that followed each period's count
 * down would make the applied rate jump with the arrivals' noise whenever
 * it binds, though any rate above the offered one admits the same messages;
 * one that lagged a rising load would shed what the loop wants admitted.
 */
function limitToOffered(max: number): (sample: PlantSample, controller: Controller) => void {
  const offered = filteredOffered();
  return (sample, controller) => {
    const cap = Math.min(max, Math.max(1, 1.2 * offered(sample)));
    controller.setParams({ outputMax: cap });
  };
}

/**
 * The service rate a backlog loop's feedforward reads: the measured one
 * while the workers are busy (backlog ≥ `workers` at both ends of the
 * period), else the last such value, starting at the nominal capacity. An
 * idle pool serves what it is given, so its service rate is the admitted
 * rate: fed forward, it would tell the loop to admit what it admitted,
 * and at start-up (or with a reading from before anything was served) it
 * reads 0 while the PI winds up to make up for it.
 */
function busyServiceRate(workers: number, nominal: number): (sample: PlantSample) => number {
  let value = nominal;
  let lastBacklog = Number.NaN;
  return (sample) => {
    const o = sample.observation;
    const busy = o.measurement >= workers && lastBacklog >= workers;
    lastBacklog = o.measurement;
    if (busy && typeof o.serviceRate === "number" && Number.isFinite(o.serviceRate)) value = o.serviceRate;
    return value;
  };
}

/**
 * The settings of a setup when nothing is given: the published defaults
 * where one exists (RFC 8033's PIE α = 0.125, β = 1.25 and 15 ms target;
 * RFC 8289's CoDel 5 ms target and 100 ms interval; AIMDLimit's backoff 0.9;
 * Gradient2's queue size 4 and smoothing 0.2; Vegas's alpha 3), and for the
 * rest a stated choice: the zmp loops and the fixed window at the plant's
 * nominal setpoint, the AIMD timeout at its delay, a fixed rate of 90 % of
 * the nominal capacity, the PID's feedforward filtered over 1 s (ten
 * samples: the σ ≈ 22 % of a 0.1 s count falls to ≈ 5 %), its measurement
 * filtered over one sample period (what its design, `tuneQueuePid`, counts
 * in the dead time), the delay trim integrating at 0.1 /s
 * (`designDelayTrim` gives the value it uses), the delay window's change
 * detection at 6 nats, acting on partial evidence of a drop (`graded` 1;
 * 0 waits for the alarm).
 */
export function queueDefaults(name: QueueController, facts: QueuePlantFacts): Record<string, number> {
  const r = facts.setpoint;
  const delay = r / facts.nominalCapacity;
  switch (name) {
    case "delay":
      return { delay, kp: 0, ki: 0.1, rateTau: 2, changeThreshold: 6, graded: 1 };
    case "pid":
      return { setpoint: r, kff: 1, ffTau: 1, measurementTau: facts.sampleTime };
    case "pid-feedback":
      return { setpoint: r, measurementTau: facts.sampleTime };
    case "cascade":
      return { setpoint: r, kff: 1, ffTau: 0.5, innerKi: 0.5 / facts.sampleTime };
    case "fixed-window":
      return { window: r };
    case "fixed-rate":
      return { share: 0.9 };
    case "aimd":
      return { timeout: delay, decreaseFactor: 0.9 };
    case "pie":
      return { target: 0.015, alpha: 0.125, beta: 1.25 };
    case "codel":
      return { target: 0.005, interval: 0.1 };
    case "gradient2":
      return { queueSize: 4, smoothing: 0.2 };
    case "vegas":
      return { alpha: 3 };
    default:
      return {};
  }
}

/** The setups whose gains come from an identified model (`kp`, `ki`): the PID family. */
export function isPidSetup(name: string): boolean {
  return name === "pid" || name === "pid-feedback" || name === "cascade";
}

/**
 * Splits parameter overrides among the selected controllers: each gets the
 * keys it takes. A key no selected controller takes throws a RangeError (a
 * `--kp` with only `--controller pie` is a mistake, not a no-op).
 */
export function paramsFor(
  controllers: readonly QueueController[],
  params: Readonly<Record<string, number>>,
): Map<QueueController, Record<string, number>> {
  const out = new Map<QueueController, Record<string, number>>();
  for (const name of controllers) out.set(name, {});
  for (const [key, value] of Object.entries(params)) {
    const takers = controllers.filter((name) => queueParams[name].includes(key));
    if (takers.length === 0) {
      throw new RangeError(
        `Parameter \`${key}\` is not used by ${controllers.join(", ")}; ${controllers
          .map((c) => `${c} takes ${queueParams[c].join(", ") || "nothing"}`)
          .join("; ")}`,
      );
    }
    for (const name of takers) out.get(name)![key] = value;
  }
  return out;
}

/** Checks a list of controller names against the queue setups. */
export function checkQueueControllers(
  names: readonly string[],
  allowed: readonly string[],
): QueueController[] {
  for (const name of names) {
    if (!allowed.includes(name)) fail("controller", `one of ${allowed.join(", ")}`, name);
  }
  return names as QueueController[];
}

/**
 * Checks the controllers and parameter overrides of a queue experiment
 * before anything runs: builds each setup once (with placeholder gains where
 * the PID family's are still to be tuned) so a bad value fails at once.
 * Throws an `ExperimentInputError` with the controller's own message.
 */
export function checkQueueInputs(
  controllers: readonly string[],
  allowed: readonly string[],
  params: Readonly<Record<string, number>>,
  facts: QueuePlantFacts,
): Map<QueueController, Record<string, number>> {
  try {
    const names = checkQueueControllers(controllers, allowed);
    const split = paramsFor(names, params);
    for (const name of names) {
      const own = { ...split.get(name)! };
      if (isPidSetup(name)) {
        own.kp ??= 1;
        own.ki ??= 1;
      }
      queueSetup(name, facts, own);
    }
    return split;
  } catch (error) {
    if (error instanceof RangeError || error instanceof TypeError)
      throw new ExperimentInputError(error.message);
    throw error;
  }
}
