/**
 * PIE, "Proportional Integral controller Enhanced" (RFC 8033, Pan et al.,
 * 2017), as a sampled admission controller.
 *
 * Every `tUpdate` seconds PIE moves its drop probability p by
 * (RFC 8033 §4.2)
 *
 *   Δp = α·(qdelay − target) + β·(qdelay − qdelay_old),
 *
 * scaled down while p is small (the auto-tuning table of §4.2, see
 * `pieAutoTuneScale`), capped at +2 % per update once p ≥ 10 % (§5.5 "Cap
 * Drop Adjustment"), decayed by 0.98 per update while the queue delay is 0
 * (§4.2), and bounded to [0, 1]. Drops are suspended while the burst
 * allowance lasts (§4.4: it starts at `maxBurst`, shrinks by `tUpdate` each
 * update, and is restored when p = 0 and both the current and the previous
 * delay are under target/2), and when the queue is clearly not congested
 * (§4.1 safeguard: previous delay < target/2 and p < 20 %, or at most
 * `minBacklog` messages queued).
 *
 * Output: the admission fraction 1 − p for the coming sample (1 when the
 * burst allowance or the §4.1 safeguard suspend drops), a number in [0, 1].
 * Multiply it by the arrival rate for an admitted rate. Per-packet random
 * drops, de-randomization (§5.4) and ECN marking (§5.1) have no meaning for
 * a fraction and are left out. `p` is in `components`.
 */
import type { Controller, ControllerParams, Observation } from "../controller.js";
import { observe } from "../controller.js";
import {
  checkKeys,
  checkNumber,
  finite,
  flag,
  nonNegative,
  nullable,
  picker,
  positive,
} from "../validate.js";
import type { QueueDiscipline } from "./discipline.js";

export interface PieOptions {
  /** Target queueing delay QDELAY_REF, seconds, > 0; also readable as `setpoint`. Default 0.015 (RFC 8033 §4.2). */
  target?: number;
  /** Period of the drop-probability update T_UPDATE, seconds, > 0. Default 0.015. */
  tUpdate?: number;
  /** Weight α of the delay error, 1/s, ≥ 0. Default 0.125. */
  alpha?: number;
  /** Weight β of the delay change, 1/s, ≥ 0. Default 1.25. */
  beta?: number;
  /** Burst allowance MAX_BURST, seconds, ≥ 0. Default 0.15. */
  maxBurst?: number;
  /** Scale Δp down while p is small (RFC 8033 §4.2 table). Default true. */
  autoTune?: boolean;
  /** Cap Δp at 0.02 per update once p ≥ 0.1 (RFC 8033 §5.5). Default true. */
  capDropAdjustment?: boolean;
  /**
   * Backlog at or under which nothing is dropped, messages, ≥ 0 — the RFC's
   * "queue_.byte_length() <= 2 * MEAN_PKTSIZE" counted in messages. Default 2.
   */
  minBacklog?: number;
  /**
   * Time one `update(x)` without `dt` covers, seconds; `null` = `tUpdate`
   * (one PIE period per call). Default `null`.
   */
  sampleTime?: number | null;
}

/** The state behind the last output (`Pie.components`). */
export type PieComponents = {
  /** Drop probability p, 0…1. */
  p: number;
  /** Drop probability applied to the coming sample (0 while drops are suspended), 0…1. */
  applied: number;
  /** Burst allowance left, seconds. */
  burstAllowance: number;
  /** Queueing delay of the last sample, seconds. */
  delay: number;
};

const paramKeys = [
  "target",
  "tUpdate",
  "alpha",
  "beta",
  "maxBurst",
  "autoTune",
  "capDropAdjustment",
  "minBacklog",
  "sampleTime",
] as const;

interface PieSettings {
  target: number;
  tUpdate: number;
  alpha: number;
  beta: number;
  maxBurst: number;
  autoTune: boolean;
  capDropAdjustment: boolean;
  minBacklog: number;
  sampleTime: number | null;
}

const defaults: PieSettings = {
  target: 0.015,
  tUpdate: 0.015,
  alpha: 0.125,
  beta: 1.25,
  maxBurst: 0.15,
  autoTune: true,
  capDropAdjustment: true,
  minBacklog: 2,
  sampleTime: null,
};

/**
 * The factor RFC 8033 §4.2 applies to Δp for the current drop probability p,
 * so that p grows gently from zero: 1/2048 below 10⁻⁶, 1/512 below 10⁻⁵,
 * 1/128 below 10⁻⁴, 1/32 below 10⁻³, 1/8 below 10⁻², 1/2 below 10⁻¹, else 1.
 */
export function pieAutoTuneScale(p: number): number {
  if (p < 0.000001) return 1 / 2048;
  if (p < 0.00001) return 1 / 512;
  if (p < 0.0001) return 1 / 128;
  if (p < 0.001) return 1 / 32;
  if (p < 0.01) return 1 / 8;
  if (p < 0.1) return 1 / 2;
  return 1;
}

/**
 * PIE admission controller. Needs the queueing delay: `observation.delay`,
 * or, per RFC 8033 §4.3, the backlog over the departure rate
 * (`measurement / serviceRate`) when only `serviceRate` is given.
 */
export class Pie implements Controller {
  readonly kind = "pie";
  #s: PieSettings;
  #p = 0;
  #applied = 0;
  #qdelayOld = 0;
  #delay = 0;
  #burstAllowance: number;
  /** Time since the last PIE period, seconds. */
  #elapsed = 0;

  constructor(options: PieOptions = {}) {
    checkKeys("Pie", options, paramKeys);
    this.#s = resolve(defaults, options);
    this.#burstAllowance = this.#s.maxBurst;
  }

  /** The target queueing delay in seconds (the same value as `target`). */
  get setpoint(): number {
    return this.#s.target;
  }

  set setpoint(value: number) {
    this.#s = { ...this.#s, target: positive("setpoint", value) };
  }

  /** Admission fraction 1 − p for the coming sample. */
  get output(): number {
    return 1 - this.#applied;
  }

  get components(): Readonly<PieComponents> {
    return { p: this.#p, applied: this.#applied, burstAllowance: this.#burstAllowance, delay: this.#delay };
  }

  update(input: number | Observation, dt?: number): number {
    const observation = observe(input);
    const backlog = finite("measurement", observation.measurement);
    const delay = queueDelay(observation, backlog);
    const s = this.#s;
    this.#delay = delay;
    this.#elapsed += dt === undefined ? (s.sampleTime ?? s.tUpdate) : positive("dt", dt);
    // Run one RFC update per whole tUpdate elapsed (tolerating rounding of sums of dt).
    while (this.#elapsed >= s.tUpdate * (1 - 1e-9)) {
      this.#elapsed = Math.max(0, this.#elapsed - s.tUpdate);
      this.#calculateDropProbability(delay);
    }
    const suspended =
      this.#burstAllowance > 0 ||
      (this.#qdelayOld < s.target / 2 && this.#p < 0.2) ||
      backlog <= s.minBacklog;
    this.#applied = suspended ? 0 : this.#p;
    return 1 - this.#applied;
  }

  params(): ControllerParams {
    return { ...this.#s };
  }

  setParams(params: Partial<Record<string, number | boolean | string | null>>): void {
    checkKeys("Pie", params, paramKeys);
    this.#s = resolve(this.#s, params as PieOptions);
  }

  reset(): void {
    this.#p = 0;
    this.#applied = 0;
    this.#qdelayOld = 0;
    this.#delay = 0;
    this.#elapsed = 0;
    this.#burstAllowance = this.#s.maxBurst;
  }

  /** RFC 8033 §4.2 calculate_drop_prob, plus the §4.4 burst allowance bookkeeping. */
  #calculateDropProbability(qdelay: number): void {
    const s = this.#s;
    let dp = s.alpha * (qdelay - s.target) + s.beta * (qdelay - this.#qdelayOld);
    if (s.autoTune) dp *= pieAutoTuneScale(this.#p);
    if (s.capDropAdjustment && this.#p >= 0.1 && dp > 0.02) dp = 0.02;
    let p = this.#p + dp;
    // Decay p exponentially when the queue has been empty for two updates (1 − 1/64 would do).
    if (qdelay === 0 && this.#qdelayOld === 0) p *= 0.98;
    p = Math.min(1, Math.max(0, p));
    if (this.#burstAllowance > 0) {
      this.#burstAllowance =
        this.#burstAllowance > s.tUpdate * (1 + 1e-9) ? this.#burstAllowance - s.tUpdate : 0;
    }
    if (p === 0 && qdelay < s.target / 2 && this.#qdelayOld < s.target / 2) this.#burstAllowance = s.maxBurst;
    this.#p = p;
    this.#qdelayOld = qdelay;
  }
}

function queueDelay(observation: Observation, backlog: number): number {
  if (observation.delay !== undefined) return nonNegative("delay", observation.delay);
  const rate = observation.serviceRate;
  if (rate !== undefined && Number.isFinite(rate) && rate > 0) return Math.max(0, backlog) / rate;
  throw new RangeError(
    "Expected observation field `delay` (queueing delay, s), or `serviceRate` > 0 to estimate it, for PIE",
  );
}

function resolve(base: PieSettings, options: PieOptions): PieSettings {
  const pick = picker(base, options);
  return {
    target: positive("target", pick("target")),
    tUpdate: positive("tUpdate", pick("tUpdate")),
    alpha: nonNegative("alpha", pick("alpha")),
    beta: nonNegative("beta", pick("beta")),
    maxBurst: nonNegative("maxBurst", pick("maxBurst")),
    autoTune: flag("autoTune", pick("autoTune")),
    capDropAdjustment: flag("capDropAdjustment", pick("capDropAdjustment")),
    minBacklog: nonNegative("minBacklog", pick("minBacklog")),
    sampleTime: nullable(pick("sampleTime"), (v) => positive("sampleTime", v)),
  };
}

/** Options of `PieQueue`: PIE's own (`tUpdate` is the timer period) plus the departure-rate estimator's. */
export interface PieQueueOptions extends Omit<PieOptions, "sampleTime"> {
  /**
   * Queue length at which a departure-rate measurement cycle starts, and
   * the messages it counts before it ends, ≥ 1 — RFC 8033's DQ_THRESHOLD
   * (16 KB) in messages of about 1.5 KB. Default 10.
   */
  dqThreshold?: number;
  /** Weight of a new measurement in the averaged departure rate, in (0, 1]. Default 1/8 (Linux sch_pie). */
  dqWeight?: number;
}

/**
 * PIE in the data path (RFC 8033), the native form: every `tUpdate`
 * seconds the drop probability p is recomputed from the queueing delay
 * qdelay = queue length / avg_dq_rate — the departure-rate estimate of
 * §4.3 and Appendix B: a measurement cycle starts when the queue holds
 * `dqThreshold` messages and ends after `dqThreshold` more have left, its
 * rate (messages over the cycle's duration) averaged with weight `dqWeight`;
 * before the first cycle the delay reads 0. Each arriving message is then
 * dropped with probability p unless drops are suspended (§4.1 drop_early:
 * burst allowance left, or qdelay_old < target/2 with p < 20 %, or at most
 * `minBacklog` messages waiting). The update itself is `Pie`'s (§4.2 with
 * the auto-tuning table, §5.5 cap, decay while idle, §4.4 burst allowance).
 *
 * It also implements `Controller` so an experiment can log it: `update`
 * changes nothing and returns the admission share 1 − p in force.
 */
export class PieQueue implements QueueDiscipline, Controller {
  readonly kind = "pie";
  readonly #pie: Pie;
  #dqThreshold: number;
  #dqWeight: number;
  #nextUpdate: number;
  #avgDqRate = 0;
  /** Messages counted in the current measurement cycle; −1 when none runs. */
  #dqCount = -1;
  #dqStart = 0;
  #delay = 0;

  constructor(options: PieQueueOptions = {}) {
    const { dqThreshold, dqWeight, ...pie } = options;
    checkKeys(
      "PieQueue",
      pie,
      paramKeys.filter((k) => k !== "sampleTime"),
    );
    this.#pie = new Pie(pie);
    this.#dqThreshold = checkNumber(
      "dqThreshold",
      dqThreshold ?? 10,
      "an integer ≥ 1",
      (v) => Number.isInteger(v) && v >= 1,
    );
    this.#dqWeight = checkNumber("dqWeight", dqWeight ?? 1 / 8, "a number in (0, 1]", (v) => v > 0 && v <= 1);
    this.#nextUpdate = this.#pie.params().tUpdate as number;
  }

  /** The target queueing delay, seconds. */
  get setpoint(): number {
    return this.#pie.setpoint;
  }

  set setpoint(value: number) {
    this.#pie.setpoint = value;
  }

  /** The admission share 1 − p for messages arriving now (drops are random at enqueue). */
  get output(): number {
    return 1 - (this.#pie.components.p ?? 0);
  }

  get components(): Readonly<Record<string, number>> {
    const c = this.#pie.components;
    return { p: c.p, burstAllowance: c.burstAllowance, delay: this.#delay, departureRate: this.#avgDqRate };
  }

  advance(now: number, queued: number): void {
    const tUpdate = this.#pie.params().tUpdate as number;
    while (now >= this.#nextUpdate - 1e-12) {
      this.#delay = this.#avgDqRate > 0 ? queued / this.#avgDqRate : 0;
      this.#pie.update({ measurement: queued, delay: this.#delay }, tUpdate);
      this.#nextUpdate += tUpdate;
    }
  }

  onEnqueue(now: number, queued: number, random: () => number): boolean {
    this.advance(now, queued);
    const c = this.#pie.components;
    const target = this.#pie.setpoint;
    const minBacklog = this.#pie.params().minBacklog as number;
    if (c.burstAllowance > 0 || c.p === 0) return false;
    if (c.delay < target / 2 && c.p < 0.2) return false;
    if (queued <= minBacklog) return false;
    return random() < c.p;
  }

  onDequeue(now: number, _sojourn: number, queued: number): boolean {
    this.advance(now, queued + 1);
    // Departure-rate estimation (RFC 8033 Appendix B): a cycle starts with a long enough queue.
    if (this.#dqCount < 0 && queued + 1 >= this.#dqThreshold) {
      this.#dqCount = 0;
      this.#dqStart = now;
    }
    if (this.#dqCount >= 0) {
      this.#dqCount++;
      if (this.#dqCount >= this.#dqThreshold) {
        const span = now - this.#dqStart;
        if (span > 0) {
          const rate = this.#dqCount / span;
          this.#avgDqRate =
            this.#avgDqRate === 0 ? rate : (1 - this.#dqWeight) * this.#avgDqRate + this.#dqWeight * rate;
        }
        if (queued < this.#dqThreshold) this.#dqCount = -1;
        else {
          this.#dqCount = 0;
          this.#dqStart = now;
        }
      }
    }
    return false;
  }

  /** Changes nothing (the queue acts through the hooks); returns the admission share 1 − p. */
  update(input: number | Observation, _dt?: number): number {
    finite("measurement", observe(input).measurement);
    return this.output;
  }

  params(): ControllerParams {
    const { sampleTime: _, ...pie } = this.#pie.params();
    return { ...pie, dqThreshold: this.#dqThreshold, dqWeight: this.#dqWeight };
  }

  setParams(params: Partial<Record<string, number | boolean | string | null>>): void {
    const { dqThreshold, dqWeight, ...pie } = params;
    checkKeys(
      "PieQueue",
      pie,
      paramKeys.filter((k) => k !== "sampleTime"),
    );
    const threshold =
      dqThreshold === undefined
        ? this.#dqThreshold
        : checkNumber("dqThreshold", dqThreshold, "an integer ≥ 1", (v) => Number.isInteger(v) && v >= 1);
    const weight =
      dqWeight === undefined
        ? this.#dqWeight
        : checkNumber("dqWeight", dqWeight, "a number in (0, 1]", (v) => v > 0 && v <= 1);
    this.#pie.setParams(pie);
    this.#dqThreshold = threshold;
    this.#dqWeight = weight;
  }

  reset(): void {
    this.#pie.reset();
    this.#nextUpdate = this.#pie.params().tUpdate as number;
    this.#avgDqRate = 0;
    this.#dqCount = -1;
    this.#dqStart = 0;
    this.#delay = 0;
  }
}
