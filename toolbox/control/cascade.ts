/**
 * Cascade control: two controllers in series, the outer (primary, slower)
 * loop's output becomes the inner (secondary, faster) loop's setpoint. For a
 * queue, the outer loop holds the backlog ("charge") at its setpoint by asking
 * for an admitted rate ("current"), and the inner loop makes the measured
 * admitted rate follow that request by moving the actuator (a token-bucket
 * rate), so an actuator that does not deliver what it is set to (bursty
 * producers, a coarse bucket) is corrected inside before the backlog feels it.
 * This is the nested-loop structure of Janert's queue case study in
 * *Feedback Control for Computer Systems* (O'Reilly 2013) and of cascade
 * control in Åström & Hägglund, *Advanced PID Control* (ISA 2006).
 *
 * A feedforward term can be added to the inner setpoint: kff times an
 * observed signal, e.g. the measured service rate, so the admitted rate the
 * outer loop asks for starts from "replace what left" and the outer loop only
 * trims the backlog (Åström & Hägglund 2006 on feedforward from a measured
 * disturbance).
 *
 * Windup between the loops: when the inner setpoint is bounded
 * (`innerSetpointMin`, `innerSetpointMax`), an outer integral that kept
 * growing past the bound would hold the inner setpoint there long after the
 * error reversed. With `trackLimits` (the default) the outer controller's
 * output limits follow the bounds minus the feedforward in force, so a `Pid`
 * outer loop stops integrating exactly where the inner setpoint saturates
 * (conditional integration). Limit the inner controller's output to what the
 * actuator can do as well (an admission rate cannot exceed what is offered),
 * or its own integral winds up. The inner loop must be faster than the
 * outer one (a closed-loop time constant several times shorter); the outer
 * loop then sees the inner one as a short lag and is tuned with it counted
 * in its dead time.
 */
import { type Controller, type ControllerParams, type Observation, observe } from "./controller.js";
import type { FeedforwardSignal } from "./pid.js";
import {
  bound,
  checkKeys,
  checkNumber,
  checkObject,
  checkOrder,
  fail,
  finite,
  flag,
  nullable,
  oneOf,
} from "./validate.js";

/** Observation fields the inner loop can measure. */
export type InnerSignal = "arrivalRate" | "serviceRate" | "delay" | "latency" | "inflight" | "measurement";

const innerSignals: readonly InnerSignal[] = [
  "arrivalRate",
  "serviceRate",
  "delay",
  "latency",
  "inflight",
  "measurement",
];
const feedforwardSignals: readonly FeedforwardSignal[] = [
  "arrivalRate",
  "serviceRate",
  "delay",
  "latency",
  "inflight",
];

/** Options of `Cascade`. */
export interface CascadeOptions {
  /** Outer (primary) controller: reads `measurement`; its output is the inner setpoint. Required. */
  outer: Controller;
  /** Inner (secondary) controller: reads `innerSignal`; its output is the cascade's output. Required. */
  inner: Controller;
  /** Observation field the inner loop measures (queues: the admitted `arrivalRate`, msg/s). Default `"arrivalRate"`. */
  innerSignal?: InnerSignal;
  /** Observation field added, times `kff`, to the inner setpoint; `null` = no feedforward. Default `null`. */
  feedforwardSignal?: FeedforwardSignal | null;
  /** Gain of the feedforward signal, inner-setpoint units per signal unit. Default 1. */
  kff?: number;
  /** Lowest inner setpoint, inner units; `null` = none. Default `null`. */
  innerSetpointMin?: number | null;
  /** Highest inner setpoint, inner units; `null` = none. Default `null`. */
  innerSetpointMax?: number | null;
  /**
   * The outer loop updates on every `outerEvery`-th call (the first call
   * included) with the time accumulated since its previous update; the inner
   * loop updates on every call. Integer ≥ 1. Default 1.
   */
  outerEvery?: number;
  /** Setpoint of the outer loop, measurement units. Default: the outer controller's setpoint. */
  setpoint?: number;
  /**
   * Set the outer controller's `outputMin`/`outputMax` (when it takes them,
   * as `Pid` does) to the inner setpoint bounds minus the feedforward before
   * each outer update, so its integral stops where the inner setpoint is
   * bounded. Default true.
   */
  trackLimits?: boolean;
}

/** The parameters `setParams` takes besides the children's (`outer.kp`, `inner.ki`, ...). */
const ownKeys = [
  "trackLimits",
  "innerSignal",
  "feedforwardSignal",
  "kff",
  "innerSetpointMin",
  "innerSetpointMax",
  "outerEvery",
] as const;
const optionKeys: readonly string[] = [...ownKeys, "outer", "inner", "setpoint"];

interface CascadeSettings {
  trackLimits: boolean;
  innerSignal: InnerSignal;
  feedforwardSignal: FeedforwardSignal | null;
  kff: number;
  innerSetpointMin: number;
  innerSetpointMax: number;
  outerEvery: number;
}

function isController(value: unknown): value is Controller {
  return (
    value !== null &&
    typeof value === "object" &&
    typeof (value as Controller).update === "function" &&
    typeof (value as Controller).reset === "function"
  );
}

function resolve(base: CascadeSettings, options: Record<string, unknown>): CascadeSettings {
  const pick = (key: keyof CascadeSettings): unknown =>
    options[key] === undefined ? base[key] : options[key];
  const s: CascadeSettings = {
    trackLimits: flag("trackLimits", pick("trackLimits")),
    innerSignal: oneOf("innerSignal", pick("innerSignal"), innerSignals),
    feedforwardSignal: nullable(pick("feedforwardSignal"), (v) =>
      oneOf("feedforwardSignal", v, feedforwardSignals),
    ),
    kff: finite("kff", pick("kff")),
    innerSetpointMin: bound("innerSetpointMin", pick("innerSetpointMin"), Number.NEGATIVE_INFINITY),
    innerSetpointMax: bound("innerSetpointMax", pick("innerSetpointMax"), Number.POSITIVE_INFINITY),
    outerEvery: checkNumber(
      "outerEvery",
      pick("outerEvery"),
      "an integer ≥ 1",
      (v) => Number.isInteger(v) && v >= 1,
    ),
  };
  checkOrder("innerSetpointMin", s.innerSetpointMin, "innerSetpointMax", s.innerSetpointMax);
  return s;
}

/** Prefixes component or parameter names: `p` of the outer loop becomes `outerP`. */
function prefixed(prefix: string, name: string): string {
  return prefix + name.charAt(0).toUpperCase() + name.slice(1);
}

/**
 * Cascade of two controllers (see the module comment). Implements
 * `Controller`: `setpoint` is the outer loop's; `output` the inner loop's;
 * `components` holds `innerSetpoint`, `innerMeasurement`, `ff` and the
 * children's components prefixed `outer…`/`inner…` (`outerP`, `innerI`);
 * `params()` reports the children's parameters as `outer.kp`, `inner.ki`...,
 * which `setParams` also accepts.
 *
 * @example
 * const cascade = new Cascade({
 *   outer: new Pid({ kp: 2, ki: 0.5, setpoint: 50 }),            // backlog → admitted rate
 *   inner: new Pid({ kp: 0, ki: 5, outputMin: 0 }),               // admitted rate → bucket rate
 *   feedforwardSignal: "serviceRate",
 * });
 * const rate = cascade.update({ measurement: backlog, arrivalRate, serviceRate }, 0.1);
 */
export class Cascade implements Controller {
  readonly kind = "cascade";
  readonly outer: Controller;
  readonly inner: Controller;
  #s: CascadeSettings;
  #calls = 0;
  #pendingDt = 0;
  #outerOutput = Number.NaN;
  #innerSetpoint = Number.NaN;
  #innerMeasurement = Number.NaN;
  #ff = 0;

  constructor(options: CascadeOptions) {
    checkObject("options", options);
    checkKeys("Cascade", options, optionKeys);
    if (!isController(options.outer)) fail("outer", "a Controller", options.outer, true);
    if (!isController(options.inner)) fail("inner", "a Controller", options.inner, true);
    if (options.outer === options.inner)
      fail("inner", "a different controller from `outer`", "the same controller");
    this.outer = options.outer;
    this.inner = options.inner;
    this.#s = resolve(
      {
        trackLimits: true,
        innerSignal: "arrivalRate",
        feedforwardSignal: null,
        kff: 1,
        innerSetpointMin: Number.NEGATIVE_INFINITY,
        innerSetpointMax: Number.POSITIVE_INFINITY,
        outerEvery: 1,
      },
      options as unknown as Record<string, unknown>,
    );
    if (options.setpoint !== undefined) this.outer.setpoint = finite("setpoint", options.setpoint);
  }

  /** The outer loop's setpoint, measurement units. */
  get setpoint(): number {
    return this.outer.setpoint;
  }

  set setpoint(value: number) {
    this.outer.setpoint = finite("setpoint", value);
  }

  /** The inner loop's last output. */
  get output(): number {
    return this.inner.output;
  }

  get components(): Readonly<Record<string, number>> {
    const out: Record<string, number> = {
      innerSetpoint: this.#innerSetpoint,
      innerMeasurement: this.#innerMeasurement,
      ff: this.#ff,
    };
    for (const [name, value] of Object.entries(this.outer.components)) out[prefixed("outer", name)] = value;
    for (const [name, value] of Object.entries(this.inner.components)) out[prefixed("inner", name)] = value;
    return out;
  }

  /**
   * One cascade step: the outer loop (on its turn) turns the measurement into
   * a request, feedforward is added and the result bounded into the inner
   * setpoint, and the inner loop turns the inner measurement into the output.
   * `dt` is passed to the inner loop as is and to the outer loop summed over
   * the calls since its previous update (without `dt` each child uses its own
   * `sampleTime`).
   */
  update(input: number | Observation, dt?: number): number {
    const observation = observe(input);
    finite("measurement", observation.measurement);
    const s = this.#s;
    this.#ff =
      s.feedforwardSignal === null ? 0 : s.kff * this.#field(observation, s.feedforwardSignal, "feedforward");
    if (this.#calls % s.outerEvery === 0) {
      const outerDt = dt === undefined ? undefined : this.#pendingDt + dt;
      if (s.trackLimits) this.#trackOuterLimits();
      this.#outerOutput = this.outer.update(observation, outerDt);
      this.#pendingDt = 0;
    } else if (dt !== undefined) {
      this.#pendingDt += dt;
    }
    this.#calls++;
    const request = this.#outerOutput + this.#ff;
    this.#innerSetpoint = Math.min(s.innerSetpointMax, Math.max(s.innerSetpointMin, request));
    this.inner.setpoint = this.#innerSetpoint;
    this.#innerMeasurement = this.#field(observation, s.innerSignal, "inner measurement");
    return this.inner.update({ ...observation, measurement: this.#innerMeasurement }, dt);
  }

  params(): ControllerParams {
    const s = this.#s;
    const out: Record<string, number | boolean | string | null> = {
      trackLimits: s.trackLimits,
      innerSignal: s.innerSignal,
      feedforwardSignal: s.feedforwardSignal,
      kff: s.kff,
      innerSetpointMin: Number.isFinite(s.innerSetpointMin) ? s.innerSetpointMin : null,
      innerSetpointMax: Number.isFinite(s.innerSetpointMax) ? s.innerSetpointMax : null,
      outerEvery: s.outerEvery,
    };
    for (const [key, value] of Object.entries(this.outer.params())) out[`outer.${key}`] = value;
    for (const [key, value] of Object.entries(this.inner.params())) out[`inner.${key}`] = value;
    return out;
  }

  /**
   * Changes parameters while running: `outer.<key>` and `inner.<key>` go to
   * the children's `setParams` (bumpless as theirs are), the rest are the
   * cascade's own options. Unknown keys throw a RangeError naming the key;
   * nothing changes when any key is rejected by the cascade's own checks.
   */
  setParams(params: Partial<Record<string, number | boolean | string | null>>): void {
    checkObject("params", params);
    const own: Record<string, unknown> = {};
    const outer: Record<string, number | boolean | string | null> = {};
    const inner: Record<string, number | boolean | string | null> = {};
    for (const [key, value] of Object.entries(params)) {
      if (value === undefined) continue;
      if (key.startsWith("outer.")) outer[key.slice(6)] = value;
      else if (key.startsWith("inner.")) inner[key.slice(6)] = value;
      else if ((ownKeys as readonly string[]).includes(key)) own[key] = value;
      else {
        throw new RangeError(
          `Unknown Cascade parameter \`${key}\`; expected one of ${ownKeys.join(", ")}, outer.<key>, inner.<key>`,
        );
      }
    }
    const next = resolve(this.#s, own);
    if (Object.keys(outer).length > 0) this.outer.setParams(outer);
    if (Object.keys(inner).length > 0) this.inner.setParams(inner);
    this.#s = next;
  }

  /** Resets both loops and the outer-loop schedule. */
  reset(): void {
    this.outer.reset();
    this.inner.reset();
    this.#calls = 0;
    this.#pendingDt = 0;
    this.#outerOutput = Number.NaN;
    this.#innerSetpoint = Number.NaN;
    this.#innerMeasurement = Number.NaN;
    this.#ff = 0;
  }

  /** The outer output limits that keep the inner setpoint within its bounds, given the feedforward. */
  #trackOuterLimits(): void {
    const s = this.#s;
    if (!Number.isFinite(s.innerSetpointMin) && !Number.isFinite(s.innerSetpointMax)) return;
    const keys = Object.keys(this.outer.params());
    if (!keys.includes("outputMin") || !keys.includes("outputMax")) return;
    const lo = s.innerSetpointMin - this.#ff;
    const hi = s.innerSetpointMax - this.#ff;
    this.outer.setParams({
      outputMin: Number.isFinite(lo) ? lo : null,
      outputMax: Number.isFinite(hi) ? hi : null,
    });
  }

  #field(observation: Observation, field: InnerSignal, role: string): number {
    const value = observation[field];
    if (typeof value !== "number" || !Number.isFinite(value)) {
      throw new RangeError(
        `Expected observation field \`${field}\` (the ${role} signal) to be a finite number, got \`${String(value)}\``,
      );
    }
    return value;
  }
}
