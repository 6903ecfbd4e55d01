/**
 * How each controller of toolbox/control is wired to the worker-pool plant
 * for the queue experiments: what it reads and which actuator its output
 * drives. The rule is that every controller regulates the same thing (the
 * backlog, toward the same setpoint) with the actuator its algorithm was
 * designed for:
 *
 * | controller   | actuator  | mapping                                                                 |
 * |--------------|-----------|-------------------------------------------------------------------------|
 * | pid          | rate      | PI on backlog + feedforward of the measured service rate, msg/s; output limited to 1.2 × the measured offered rate (anti-windup) |
 * | pid-feedback | rate      | the same PI without feedforward (ablation)                              |
 * | cascade      | rate      | outer PI on backlog (+ service-rate feedforward) → admitted-rate setpoint; inner I loop on the measured admitted rate → token-bucket rate |
 * | fixed-rate   | rate      | share × nominal capacity                                                |
 * | aimd         | rate      | +increase·dt per sample, ×decreaseFactor when backlog > setpoint         |
 * | pie          | fraction  | admission probability 1 − p; PIE's delay = backlog / nominal capacity, target = setpoint / nominal capacity |
 * | codel        | fraction  | as PIE, drops turned into a fraction of the offered rate                 |
 * | gradient2    | window    | the concurrency limit is the credit window (messages in the system); limits 1…20 × setpoint, starting at the setpoint |
 * | vegas        | window    | as Gradient2                                                            |
 *
 * PIE and CoDel are delay controllers: they read the backlog expressed as
 * the delay it would cause at the nominal capacity (backlog/μ₀) with the
 * target setpoint/μ₀, so they hold the same backlog as the others instead of
 * a delay that would mean half the backlog after a capacity drop. The
 * admission fraction is applied per message as it arrives (PIE drops each
 * packet with probability p), which is the "fraction × arrival rate" the
 * admitted rate then has. Gradient2 and Vegas compute a concurrency limit; a
 * credit window (admit while fewer than `limit` messages are in the system)
 * is exactly what that limit means in Netflix concurrency-limits, where a
 * request is rejected when `inflight ≥ limit`. They have no setpoint.
 */
import {
  Aimd,
  Cascade,
  Codel,
  type Controller,
  FixedRate,
  Gradient2,
  Pid,
  Pie,
  Vegas,
} from "../toolbox/control/index.js";
import { fail } from "../toolbox/control/validate.js";
import { ExperimentInputError } from "./experiment.js";
import { workerPoolColumns } from "./plants/worker-pool.js";
import type { ControlSetup, PlantSample } from "./runner.js";

/** The controller names the queue experiments accept (`--controller`). */
export const queueControllers = Object.freeze([
  "none",
  "pid",
  "pid-feedback",
  "cascade",
  "fixed-rate",
  "aimd",
  "pie",
  "codel",
  "gradient2",
  "vegas",
] as const);

export type QueueController = (typeof queueControllers)[number];

/** What the wiring needs to know about the plant (as an operator would, from its configuration). */
export interface QueuePlantFacts {
  /** Backlog setpoint at the start, messages. */
  setpoint: number;
  /** Capacity at the start (workers × per-worker rate), msg/s. */
  nominalCapacity: number;
  /** Sample period of the loop, seconds. */
  sampleTime: number;
  /** Service time of one message at no load, seconds (Gradient2/Vegas before the first latency sample). */
  noLoadLatency: number;
}

/** Parameters each setup takes (numbers; unknown names throw). */
export const queueParams: Readonly<Record<QueueController, readonly string[]>> = Object.freeze({
  none: [],
  pid: ["kp", "ki", "kd", "kff"],
  "pid-feedback": ["kp", "ki", "kd"],
  cascade: ["kp", "ki", "kd", "kff", "innerKi"],
  "fixed-rate": ["share"],
  aimd: ["increase", "decreaseFactor"],
  pie: ["gainScale"],
  codel: ["interval"],
  gradient2: ["queueSize", "smoothing"],
  vegas: ["smoothing"],
});

function param(params: Readonly<Record<string, number>>, name: string, fallback?: number): number {
  const value = params[name] ?? fallback;
  if (value === undefined) fail(name, "given (the setup has no default for it)", value);
  if (typeof value !== "number" || !Number.isFinite(value))
    fail(name, "a finite number", value, typeof value !== "number");
  return value;
}

const backlogOnly = (sample: PlantSample) => ({ measurement: sample.observation.measurement });

/**
 * The setup of controller `name` on the worker pool. `params` holds its
 * tuning (`kp`, `ki`… for the PID setups — required, there is no default
 * tuning; the baselines' defaults are listed in `queueDefaults`).
 */
export function queueSetup(
  name: QueueController,
  context: QueuePlantFacts,
  params: Readonly<Record<string, number>> = {},
): ControlSetup {
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
  const mu = context.nominalCapacity;
  const r = context.setpoint;
  const max = 2 * mu;
  const p = { ...queueDefaults(name, context), ...params };
  let controller: Controller | null;
  let setup: Omit<ControlSetup, "label" | "controller">;
  switch (name) {
    case "none":
      return {
        label: name,
        controller: null,
        actuator: null,
        note: "no admission control: every offered message is admitted",
      };
    case "pid":
    case "pid-feedback": {
      const feedforward = name === "pid";
      controller = new Pid({
        kp: param(p, "kp"),
        ki: param(p, "ki"),
        kd: param(p, "kd", 0),
        setpoint: r,
        outputMin: 0,
        outputMax: max,
        feedforwardSignal: feedforward ? "serviceRate" : null,
        kff: feedforward ? param(p, "kff", 1) : 1,
      });
      setup = {
        actuator: "rate",
        before: limitToOffered(max),
        note: feedforward
          ? "token-bucket rate = PI(backlog error) + kff × measured service rate"
          : "token-bucket rate = PI(backlog error)",
      };
      break;
    }
    case "cascade": {
      const outer = new Pid({
        kp: param(p, "kp"),
        ki: param(p, "ki"),
        kd: param(p, "kd", 0),
        setpoint: r,
        outputMin: -max,
        outputMax: max,
      });
      const inner = new Pid({ kp: 0, ki: param(p, "innerKi"), outputMin: 0, outputMax: max });
      controller = new Cascade({
        outer,
        inner,
        innerSignal: "arrivalRate",
        feedforwardSignal: "serviceRate",
        kff: param(p, "kff", 1),
        innerSetpointMin: 0,
        innerSetpointMax: max,
      });
      setup = {
        actuator: "rate",
        note: "outer PI(backlog) + service-rate feedforward sets the admitted-rate setpoint; inner I loop on the measured admitted rate sets the token-bucket rate",
      };
      break;
    }
    case "fixed-rate":
      controller = new FixedRate({ capacity: mu, share: param(p, "share") });
      setup = { actuator: "rate", toSetpoint: null, note: "token-bucket rate = share × nominal capacity" };
      break;
    case "aimd":
      controller = new Aimd({
        initialOutput: mu,
        increase: param(p, "increase"),
        decreaseFactor: param(p, "decreaseFactor"),
        outputMin: 0,
        outputMax: max,
        setpoint: r,
        sampleTime: context.sampleTime,
      });
      setup = {
        actuator: "rate",
        observe: backlogOnly,
        note: "token-bucket rate: additive increase, ×decreaseFactor while backlog > setpoint",
      };
      break;
    case "pie": {
      const scale = param(p, "gainScale");
      controller = new Pie({
        target: r / mu,
        tUpdate: context.sampleTime,
        alpha: 0.125 * scale,
        beta: 1.25 * scale,
      });
      setup = {
        actuator: "fraction",
        observe: (s) => ({ measurement: s.observation.measurement, delay: s.observation.measurement / mu }),
        toSetpoint: (setpoint) => setpoint / mu,
        note: "admission fraction 1 − p; delay = backlog / nominal capacity",
      };
      break;
    }
    case "codel":
      controller = new Codel({
        target: r / mu,
        interval: param(p, "interval"),
        sampleTime: context.sampleTime,
      });
      setup = {
        actuator: "fraction",
        observe: (s) => ({
          measurement: s.observation.measurement,
          delay: s.observation.measurement / mu,
          arrivalRate: offeredRate(s),
        }),
        toSetpoint: (setpoint) => setpoint / mu,
        note: "admission fraction 1 − drops/offered; delay = backlog / nominal capacity",
      };
      break;
    case "gradient2":
    case "vegas": {
      controller =
        name === "gradient2"
          ? new Gradient2({
              initialLimit: r,
              minLimit: 1,
              maxConcurrency: 20 * r,
              queueSize: param(p, "queueSize"),
              smoothing: param(p, "smoothing"),
            })
          : new Vegas({ initialLimit: r, maxConcurrency: 20 * r, smoothing: param(p, "smoothing") });
      const noLoad = context.noLoadLatency;
      setup = {
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
      };
      break;
    }
  }
  return { label: name, controller, ...setup };
}

const offeredIndex = workerPoolColumns.findIndex((c) => c.name === "offeredRate");

/**
 * Anti-windup against the real actuator range: a token bucket cannot admit
 * more than is offered, so the PID's upper limit follows the offered rate
 * measured over the last period (× 1.2 for its Poisson noise), within
 * [0, max]. At that limit the PID's conditional integration stops, instead
 * of winding up while the rate it asks for is not there to admit.
 */
function limitToOffered(max: number): (sample: PlantSample, controller: Controller) => void {
  return (sample, controller) => {
    const cap = Math.min(max, Math.max(1, 1.2 * offeredRate(sample)));
    controller.setParams({ outputMax: cap });
  };
}

/** The offered rate of the last period, from the worker pool's `offeredRate` column (live worker pools report the same columns). */
function offeredRate(sample: PlantSample): number {
  const v = sample.values[offeredIndex];
  return typeof v === "number" && Number.isFinite(v) ? v : 0;
}

/**
 * The baselines' parameters when nothing is tuned: the published defaults
 * where one exists (AIMDLimit's backoff 0.9, Gradient2's queue size 4 and
 * smoothing 0.2, CoDel's 100 ms interval, PIE's RFC 8033 α and β), and for
 * the rest a stated choice: fixed rate at 90 % of the nominal capacity,
 * additive increase of 5 % of the nominal capacity per second.
 */
export function queueDefaults(name: QueueController, context: QueuePlantFacts): Record<string, number> {
  switch (name) {
    case "fixed-rate":
      return { share: 0.9 };
    case "aimd":
      return { increase: 0.05 * context.nominalCapacity, decreaseFactor: 0.9 };
    case "pie":
      return { gainScale: 1 };
    case "codel":
      return { interval: 0.1 };
    case "gradient2":
      return { queueSize: 4, smoothing: 0.2 };
    case "vegas":
      return { smoothing: 1 };
    case "cascade":
      return { kff: 1, innerKi: 0.5 / context.sampleTime };
    case "pid":
      return { kff: 1 };
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
  context: QueuePlantFacts,
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
      queueSetup(name, context, own);
    }
    return split;
  } catch (error) {
    if (error instanceof RangeError || error instanceof TypeError)
      throw new ExperimentInputError(error.message);
    throw error;
  }
}

/**
 * The parameter grid a baseline is tuned over by `compare-controllers` (on a
 * seed of its own): the baselines get their best setting for the scenarios,
 * which makes the comparison with the model-tuned PID conservative. Empty
 * for the PID family (tuned from the identified model) and `none`.
 */
export function queueGrid(name: QueueController, context: QueuePlantFacts): Record<string, number>[] {
  const grid = (axes: Record<string, readonly number[]>): Record<string, number>[] => {
    let points: Record<string, number>[] = [{}];
    for (const [key, values] of Object.entries(axes)) {
      points = points.flatMap((p) => values.map((v) => ({ ...p, [key]: v })));
    }
    return points;
  };
  const mu = context.nominalCapacity;
  switch (name) {
    case "fixed-rate":
      return grid({ share: [0.5, 0.6, 0.7, 0.8, 0.9, 1] });
    case "aimd":
      return grid({
        increase: [0.01, 0.02, 0.05, 0.1, 0.2].map((f) => f * mu),
        decreaseFactor: [0.5, 0.75, 0.9],
      });
    case "pie":
      return grid({ gainScale: [0.25, 0.5, 1, 2, 4, 8, 16, 32] });
    case "codel":
      return grid({ interval: [0.02, 0.05, 0.1, 0.2] });
    case "gradient2":
      return grid({ queueSize: [1, 2, 4, 8, 16], smoothing: [0.1, 0.2, 0.5] });
    case "vegas":
      return grid({ smoothing: [0.1, 0.2, 0.5, 1] });
    default:
      return [];
  }
}
