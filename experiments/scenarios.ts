/**
 * Scenarios: what happens to the plant during an experiment (capacity step,
 * load step, burst, ramp, setpoint step, noise, and combinations), written as
 * plain data so they go verbatim into summary.json, and turned into the
 * `signals` of toolbox/control when a run starts.
 *
 * Noise is seeded: a noise term without its own `seed` draws one from the
 * run's seed and the term's position in the scenario (its path, e.g.
 * `load.terms[1]`), so the same run seed gives the same noise, and a new seed
 * new noise, without renumbering other terms.
 */
import { signals, uniformAt } from "../toolbox/control/index.js";
import type { Signal } from "../toolbox/control/signals.js";
import { fail, finite, integerAtLeast, positive } from "../toolbox/control/validate.js";

/** A signal of time as plain data (each kind maps to the `signals` function of the same name). */
export type SignalSpec =
  | number
  | { kind: "step"; at: number; from: number; to: number }
  | { kind: "ramp"; start: number; end: number; from: number; to: number }
  | { kind: "burst"; start: number; duration: number; height: number; base?: number; period?: number }
  | { kind: "sinusoid"; amplitude: number; period: number; offset?: number; phase?: number }
  | { kind: "noise"; sd: number; mean?: number; sampleTime?: number; seed?: number }
  | { kind: "piecewise"; times: number[]; values: number[] }
  | { kind: "sum"; terms: SignalSpec[] }
  | { kind: "clamp"; signal: SignalSpec; min?: number; max?: number };

/** The step the step-response metrics (overshoot, settling time) are measured on. */
export interface StepMark {
  /** Which input steps: the per-worker rate (a capacity step), the offered load, the setpoint... */
  signal: string;
  /** Time of the step, seconds. */
  at: number;
}

/** A scenario for the worker-pool plant (producers → queue proxy → workers). */
export interface QueueScenario {
  model: "worker-pool";
  /** Short stable name: "capacity-step". */
  name: string;
  /** One sentence for the report. */
  description: string;
  /** Default run length, seconds. */
  duration: number;
  /** Workers at the start. */
  workers: number;
  /** Service rate of one worker, msg/s. */
  workerRate: SignalSpec;
  /** Offered load, msg/s. */
  load: SignalSpec;
  /** Backlog setpoint, messages. */
  setpoint: SignalSpec;
  /** Most messages in the system (a ZeroMQ high-water mark); `null` = unbounded. */
  bufferSize: number | null;
  /** The step the overshoot and settling time refer to; `null` when there is none. */
  step: StepMark | null;
}

/** A scenario for the cache plant (an LRU cache in front of a Zipf-distributed key stream). */
export interface CacheScenario {
  model: "cache";
  name: string;
  description: string;
  duration: number;
  /** Requests per second. */
  requestRate: SignalSpec;
  /** Number of distinct keys. */
  keys: number;
  /** Zipf exponent of key popularity (larger: more skewed, easier to cache). */
  zipf: SignalSpec;
  /** Popularity shift: the key of popularity rank r is (r + shift) mod keys. */
  shift: SignalSpec;
  /** Target hit rate, 0…1. */
  setpoint: SignalSpec;
  /** Cache capacity at the start, entries. */
  initialCapacity: number;
  step: StepMark | null;
}

export type Scenario = QueueScenario | CacheScenario;

/** FNV-1a hash of a string, 32 bits (stable noise seeds from a term's path). */
function hash(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** The seed of the noise term at `path` for run seed `seed`. */
export function noiseSeed(seed: number, path: string): number {
  return Math.floor(uniformAt(seed, hash(path)) * 4294967296);
}

/**
 * Turns a signal spec into a `Signal` of toolbox/control; `seed` seeds noise
 * terms without their own seed, `path` names the spec in error messages and
 * in noise seeds.
 */
export function toSignal(spec: SignalSpec, seed: number, path = "signal"): Signal {
  if (typeof spec === "number") return signals.constant(finite(path, spec));
  if (spec === null || typeof spec !== "object") fail(path, "a number or a signal spec object", spec, true);
  switch (spec.kind) {
    case "step":
      return signals.step({ at: spec.at, from: spec.from, to: spec.to });
    case "ramp":
      return signals.ramp({ start: spec.start, end: spec.end, from: spec.from, to: spec.to });
    case "burst":
      return signals.burst({
        start: spec.start,
        duration: spec.duration,
        height: spec.height,
        base: spec.base ?? 0,
        period: spec.period ?? Number.POSITIVE_INFINITY,
      });
    case "sinusoid":
      return signals.sinusoid({
        amplitude: spec.amplitude,
        period: spec.period,
        offset: spec.offset ?? 0,
        phase: spec.phase ?? 0,
      });
    case "noise":
      return signals.noise({
        sd: spec.sd,
        mean: spec.mean ?? 0,
        sampleTime: spec.sampleTime ?? 0.1,
        seed: spec.seed ?? noiseSeed(seed, path),
      });
    case "piecewise":
      return signals.piecewise(spec.times, spec.values);
    case "sum":
      return signals.sum(...spec.terms.map((term, i) => toSignal(term, seed, `${path}.terms[${i}]`)));
    case "clamp":
      return signals.clamp(
        toSignal(spec.signal, seed, `${path}.signal`),
        spec.min ?? Number.NEGATIVE_INFINITY,
        spec.max ?? Number.POSITIVE_INFINITY,
      );
    default:
      return fail(
        `${path}.kind`,
        "a signal kind (step, ramp, burst, sinusoid, noise, piecewise, sum, clamp)",
        (spec as { kind: unknown }).kind,
      );
  }
}

/** The signals of a queue scenario for one run seed. */
export interface QueueSignals {
  load: Signal;
  workerRate: Signal;
  setpoint: Signal;
}

/** Resolves a queue scenario's signals (rates are clamped at 0: noise never makes them negative). */
export function queueSignals(scenario: QueueScenario, seed: number): QueueSignals {
  return {
    load: signals.clamp(toSignal(scenario.load, seed, "load"), 0),
    workerRate: signals.clamp(toSignal(scenario.workerRate, seed, "workerRate"), 0),
    setpoint: toSignal(scenario.setpoint, seed, "setpoint"),
  };
}

/** The signals of a cache scenario for one run seed. */
export interface CacheSignals {
  requestRate: Signal;
  zipf: Signal;
  shift: Signal;
  setpoint: Signal;
}

/** Resolves a cache scenario's signals. */
export function cacheSignals(scenario: CacheScenario, seed: number): CacheSignals {
  return {
    requestRate: signals.clamp(toSignal(scenario.requestRate, seed, "requestRate"), 0),
    zipf: signals.clamp(toSignal(scenario.zipf, seed, "zipf"), 0),
    shift: toSignal(scenario.shift, seed, "shift"),
    setpoint: toSignal(scenario.setpoint, seed, "setpoint"),
  };
}

// ---- The queue scenarios ----

/** Options shared by the queue scenario builders; every field has the default shown. */
export interface QueueBase {
  /** Workers at the start. Default 8. */
  workers?: number;
  /** Per-worker service rate, msg/s. Default 25 (8 workers: 200 msg/s). */
  workerRate?: number;
  /** Offered load, msg/s. Default 240 (20 % over capacity: admission control has work to do). */
  load?: number;
  /** Backlog setpoint, messages. Default 50 (0.25 s of work at 200 msg/s). */
  setpoint?: number;
  /** Buffer, messages; `null` = unbounded. Default 1000 (ZeroMQ's default high-water mark). */
  bufferSize?: number | null;
  /** Run length, seconds. Default 60. */
  duration?: number;
  /** Time of the scenario's event, seconds. Default duration/3. */
  at?: number;
}

interface Resolved {
  workers: number;
  workerRate: number;
  load: number;
  setpoint: number;
  bufferSize: number | null;
  duration: number;
  at: number;
}

function base(options: QueueBase): Resolved {
  const duration = positive("duration", options.duration ?? 60);
  const bufferSize = options.bufferSize === undefined ? 1000 : options.bufferSize;
  return {
    workers: integerAtLeast("workers", options.workers ?? 8, 1),
    workerRate: positive("workerRate", options.workerRate ?? 25),
    load: positive("load", options.load ?? 240),
    setpoint: positive("setpoint", options.setpoint ?? 50),
    bufferSize: bufferSize === null ? null : integerAtLeast("bufferSize", bufferSize, 1),
    duration,
    at: positive("at", options.at ?? Math.round(duration / 3)),
  };
}

function queue(name: string, description: string, r: Resolved, parts: Partial<QueueScenario>): QueueScenario {
  return {
    model: "worker-pool",
    name,
    description,
    duration: r.duration,
    workers: r.workers,
    workerRate: r.workerRate,
    load: r.load,
    setpoint: r.setpoint,
    bufferSize: r.bufferSize,
    step: null,
    ...parts,
  };
}

/** Worker capacity drops by `1 − factor` at `at` (default: halves), the headline disturbance. */
export function capacityStep(options: QueueBase & { factor?: number } = {}): QueueScenario {
  const r = base(options);
  const factor = positive("factor", options.factor ?? 0.5);
  return queue(
    "capacity-step",
    `Every worker slows to ${factor * 100} % of its rate at t = ${r.at} s (capacity ${r.workers * r.workerRate} → ${r.workers * r.workerRate * factor} msg/s) under ${r.load} msg/s offered.`,
    r,
    {
      workerRate: { kind: "step", at: r.at, from: r.workerRate, to: r.workerRate * factor },
      step: { signal: "workerRate", at: r.at },
    },
  );
}

/** The offered load steps from `load` to `to` (default 1.5 × load) at `at`. */
export function loadStep(options: QueueBase & { to?: number } = {}): QueueScenario {
  const r = base(options);
  const to = positive("to", options.to ?? r.load * 1.5);
  return queue("load-step", `Offered load steps ${r.load} → ${to} msg/s at t = ${r.at} s.`, r, {
    load: { kind: "step", at: r.at, from: r.load, to },
    step: { signal: "load", at: r.at },
  });
}

/** A burst of `height` msg/s (default = load) on top of the load for `length` s (default 3) at `at`. */
export function burst(options: QueueBase & { height?: number; length?: number } = {}): QueueScenario {
  const r = base(options);
  const height = positive("height", options.height ?? r.load);
  const length = positive("length", options.length ?? 3);
  return queue("burst", `A ${length} s burst of +${height} msg/s on ${r.load} msg/s at t = ${r.at} s.`, r, {
    load: { kind: "burst", start: r.at, duration: length, height, base: r.load },
    step: { signal: "load", at: r.at },
  });
}

/** The offered load ramps from `load` to `to` (default 2 × load) between `at` and `end` (default 2·at). */
export function ramp(options: QueueBase & { to?: number; end?: number } = {}): QueueScenario {
  const r = base(options);
  const to = positive("to", options.to ?? r.load * 2);
  const end = positive("end", options.end ?? 2 * r.at);
  return queue("ramp", `Offered load ramps ${r.load} → ${to} msg/s between t = ${r.at} and ${end} s.`, r, {
    load: { kind: "ramp", start: r.at, end, from: r.load, to },
  });
}

/** The backlog setpoint steps from `setpoint` to `to` (default 2 × setpoint) at `at`. */
export function setpointStep(options: QueueBase & { to?: number } = {}): QueueScenario {
  const r = base(options);
  const to = positive("to", options.to ?? r.setpoint * 2);
  return queue(
    "setpoint-step",
    `The backlog setpoint steps ${r.setpoint} → ${to} messages at t = ${r.at} s.`,
    r,
    {
      setpoint: { kind: "step", at: r.at, from: r.setpoint, to },
      step: { signal: "setpoint", at: r.at },
    },
  );
}

/**
 * Noisy load and capacity: white noise of `loadSd` msg/s (default 20 % of the
 * load) held 0.5 s on the load, and `rateSd` (default 10 % of the worker
 * rate) held 1 s on every worker's rate.
 */
export function noise(options: QueueBase & { loadSd?: number; rateSd?: number } = {}): QueueScenario {
  const r = base(options);
  const loadSd = positive("loadSd", options.loadSd ?? r.load * 0.2);
  const rateSd = positive("rateSd", options.rateSd ?? r.workerRate * 0.1);
  return queue(
    "noise",
    `Load ${r.load} ± ${loadSd} msg/s and worker rate ${r.workerRate} ± ${rateSd} msg/s (white noise).`,
    r,
    {
      load: { kind: "sum", terms: [r.load, { kind: "noise", sd: loadSd, sampleTime: 0.5 }] },
      workerRate: { kind: "sum", terms: [r.workerRate, { kind: "noise", sd: rateSd, sampleTime: 1 }] },
    },
  );
}

/** The capacity step with noisy load and capacity and a load burst afterwards: everything at once. */
export function combined(options: QueueBase & { factor?: number } = {}): QueueScenario {
  const r = base(options);
  const factor = positive("factor", options.factor ?? 0.5);
  const burstAt = r.at + (r.duration - r.at) / 2;
  return queue(
    "combined",
    `Capacity halves at t = ${r.at} s under noisy load (±20 %) and worker rate (±10 %), with a 3 s burst of +${r.load / 2} msg/s at t = ${burstAt} s.`,
    r,
    {
      load: {
        kind: "sum",
        terms: [
          r.load,
          { kind: "noise", sd: r.load * 0.2, sampleTime: 0.5 },
          { kind: "burst", start: burstAt, duration: 3, height: r.load / 2 },
        ],
      },
      workerRate: {
        kind: "sum",
        terms: [
          { kind: "step", at: r.at, from: r.workerRate, to: r.workerRate * factor },
          { kind: "noise", sd: r.workerRate * 0.1, sampleTime: 1 },
        ],
      },
      step: { signal: "workerRate", at: r.at },
    },
  );
}

/** The queue scenario builders by name (CLI: `--scenario NAME`). */
export const queueScenarios: Readonly<Record<string, (options?: QueueBase) => QueueScenario>> = Object.freeze(
  {
    "capacity-step": capacityStep,
    "load-step": loadStep,
    burst,
    ramp,
    "setpoint-step": setpointStep,
    noise,
    combined,
  },
);

// ---- The cache scenario ----

/** Options of `cacheShift`; every field has the default shown. */
export interface CacheBase {
  /** Requests per second. Default 2000. */
  requestRate?: number;
  /** Distinct keys. Default 20000. */
  keys?: number;
  /** Zipf exponent at the start. Default 1. */
  zipf?: number;
  /** Zipf exponent after `at2` (flatter demand: a bigger cache is needed). Default 0.8. */
  zipfLater?: number;
  /** Target hit rate. Default 0.75. */
  setpoint?: number;
  /** Capacity at the start, entries. Default 1000. */
  initialCapacity?: number;
  /** Run length, seconds. Default 90. */
  duration?: number;
}

/**
 * Shifting demand in front of a cache: at duration/3 the popular keys change
 * (the popularity ranking rotates by half the key space: every hot key goes
 * cold), at 2·duration/3 popularity flattens (Zipf exponent 1 → 0.8), so the
 * capacity that holds the target hit rate grows.
 */
export function cacheShift(options: CacheBase = {}): CacheScenario {
  const duration = positive("duration", options.duration ?? 90);
  const keys = integerAtLeast("keys", options.keys ?? 20000, 2);
  const at1 = Math.round(duration / 3);
  const at2 = Math.round((2 * duration) / 3);
  const zipf = positive("zipf", options.zipf ?? 1);
  const zipfLater = positive("zipfLater", options.zipfLater ?? 0.8);
  const setpoint = positive("setpoint", options.setpoint ?? 0.75);
  if (setpoint >= 1) fail("setpoint", "a hit rate below 1", setpoint);
  return {
    model: "cache",
    name: "cache-shift",
    description: `Zipf(${zipf}) demand over ${keys} keys; the hot keys change at t = ${at1} s and popularity flattens to Zipf(${zipfLater}) at t = ${at2} s.`,
    duration,
    requestRate: positive("requestRate", options.requestRate ?? 2000),
    keys,
    zipf: { kind: "step", at: at2, from: zipf, to: zipfLater },
    shift: { kind: "step", at: at1, from: 0, to: Math.floor(keys / 2) },
    setpoint,
    initialCapacity: integerAtLeast("initialCapacity", options.initialCapacity ?? 1000, 1),
    step: { signal: "zipf", at: at2 },
  };
}
