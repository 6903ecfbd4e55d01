/**
 * CoDel, "Controlled Delay" (RFC 8289, Nichols, Jacobson et al., 2018),
 * adapted to a sampled loop.
 *
 * RFC 8289 (§3 describes the control loop, §5 gives the pseudocode): when the sojourn time has stayed at or above `target`
 * for a whole `interval` (and more than one message is queued), CoDel enters
 * the dropping state and drops one packet; it then drops the next ones at
 * times given by the control law drop_next = t + interval/√count, count being
 * the number of drops since it entered the state, and leaves the state as
 * soon as the sojourn time falls under `target`. On re-entry soon after
 * leaving (within 16 intervals) it resumes from the previous drop rate
 * (count = count − lastcount, the Linux variant the RFC's pseudocode uses).
 *
 * The adaptation, stated plainly: real CoDel runs at every dequeue with the
 * head packet's sojourn time. Here the state machine runs once per sample
 * with the sample's sojourn time (`observation.delay`), taken as constant
 * over the sample. Entering and leaving the dropping state therefore happen
 * at sample instants; the drops scheduled in between are counted at their
 * exact control-law times (the schedule does not drift with the sample
 * period), i.e. each is reported in the first sample at or after its time.
 * CoDel drops the packets that waited longest; this controller instead
 * reports how many drops the sample called for, as a fraction of that
 * sample's arrivals, so an admission actuator can shed the same number of
 * new messages. Output: admission fraction 1 − drops / (arrivalRate·dt),
 * in [0, 1].
 */
import type { Controller, ControllerParams, Observation } from "../controller.js";
import { observe } from "../controller.js";
import { checkKeys, finite, nonNegative, picker, positive } from "../validate.js";
import type { QueueDiscipline } from "./discipline.js";

export interface CodelOptions {
  /** Acceptable standing sojourn time TARGET, seconds, > 0; also readable as `setpoint`. Default 0.005 (RFC 8289 §4). */
  target?: number;
  /** Sliding window INTERVAL, seconds, > 0. Default 0.1 (RFC 8289 §4). */
  interval?: number;
  /**
   * Backlog at or under which the queue never counts as above target,
   * messages, ≥ 0 — the RFC's "bytes() <= MAXPACKET" in messages. Default 1.
   */
  maxPacket?: number;
  /** Time one `update(x)` without `dt` covers, seconds, > 0. Default 0.01. */
  sampleTime?: number;
}

/** The state behind the last output (`Codel.components`). */
export type CodelComponents = {
  /** Drops the last sample called for. */
  drops: number;
  /** Those drops per second of the sample, 1/s. */
  dropRate: number;
  /** Drops since the dropping state was entered (the control law's count). */
  count: number;
  /** 1 in the dropping state, else 0. */
  dropping: number;
  /** Time of the next scheduled drop, seconds since construction/reset (NaN when none). */
  dropNext: number;
  /** Sojourn time of the last sample, seconds. */
  delay: number;
};

const paramKeys = ["target", "interval", "maxPacket", "sampleTime"] as const;

interface CodelSettings {
  target: number;
  interval: number;
  maxPacket: number;
  sampleTime: number;
}

const defaults: CodelSettings = { target: 0.005, interval: 0.1, maxPacket: 1, sampleTime: 0.01 };

/**
 * CoDel on a sampled loop. Needs `observation.delay` (sojourn time, s) and
 * `observation.arrivalRate` (msg/s) to turn drops into a fraction.
 */
export class Codel implements Controller {
  readonly kind = "codel";
  #s: CodelSettings;
  /** Loop time, seconds since construction/reset. */
  #now = 0;
  #firstAboveTime = Number.NaN;
  #dropping = false;
  #dropNext = Number.NaN;
  #count = 0;
  #lastCount = 0;
  #drops = 0;
  #step = 0;
  #delay = 0;
  #output = 1;

  constructor(options: CodelOptions = {}) {
    checkKeys("Codel", options, paramKeys);
    this.#s = resolve(defaults, options);
  }

  /** The target sojourn time in seconds (the same value as `target`). */
  get setpoint(): number {
    return this.#s.target;
  }

  set setpoint(value: number) {
    this.#s = { ...this.#s, target: positive("setpoint", value) };
  }

  /** Admission fraction over the last sample. */
  get output(): number {
    return this.#output;
  }

  get components(): Readonly<CodelComponents> {
    return {
      drops: this.#drops,
      dropRate: this.#step > 0 ? this.#drops / this.#step : 0,
      count: this.#count,
      dropping: this.#dropping ? 1 : 0,
      dropNext: this.#dropping ? this.#dropNext : Number.NaN,
      delay: this.#delay,
    };
  }

  update(input: number | Observation, dt?: number): number {
    const observation = observe(input);
    const backlog = finite("measurement", observation.measurement);
    if (observation.delay === undefined) {
      throw new RangeError("Expected observation field `delay` (sojourn time, s) for CoDel");
    }
    const sojourn = nonNegative("delay", observation.delay);
    const arrivalRate = observation.arrivalRate;
    if (arrivalRate === undefined) {
      throw new RangeError("Expected observation field `arrivalRate` (msg/s) for CoDel's admission fraction");
    }
    nonNegative("arrivalRate", arrivalRate);
    const step = dt === undefined ? this.#s.sampleTime : positive("dt", dt);
    const { target, interval } = this.#s;
    const now = this.#now + step;
    this.#now = now;
    this.#step = step;
    this.#delay = sojourn;

    // RFC 8289 §5 dodequeue(): is it OK to drop?
    let okToDrop = false;
    if (sojourn < target || backlog <= this.#s.maxPacket) {
      this.#firstAboveTime = Number.NaN;
    } else if (Number.isNaN(this.#firstAboveTime)) {
      this.#firstAboveTime = now + interval;
    } else if (now >= this.#firstAboveTime) {
      okToDrop = true;
    }

    // RFC 8289 §5 dequeue(): the dropping state and the control law.
    let drops = 0;
    if (this.#dropping) {
      if (!okToDrop) {
        this.#dropping = false;
      } else {
        // The sojourn time is constant over the sample, so every drop
        // scheduled up to `now` happens and the state is kept.
        while (now >= this.#dropNext) {
          drops++;
          this.#count++;
          this.#dropNext = this.#controlLaw(this.#dropNext, this.#count);
        }
      }
    } else if (okToDrop) {
      drops++;
      this.#dropping = true;
      const delta = this.#count - this.#lastCount;
      this.#count = delta > 1 && now - this.#dropNext < 16 * interval ? delta : 1;
      this.#dropNext = this.#controlLaw(now, this.#count);
      this.#lastCount = this.#count;
    }
    this.#drops = drops;
    const arrivals = arrivalRate * step;
    this.#output = arrivals > 0 ? Math.max(0, 1 - drops / arrivals) : 1;
    return this.#output;
  }

  params(): ControllerParams {
    return { ...this.#s };
  }

  setParams(params: Partial<Record<string, number | boolean | string | null>>): void {
    checkKeys("Codel", params, paramKeys);
    this.#s = resolve(this.#s, params as CodelOptions);
  }

  reset(): void {
    this.#now = 0;
    this.#firstAboveTime = Number.NaN;
    this.#dropping = false;
    this.#dropNext = Number.NaN;
    this.#count = 0;
    this.#lastCount = 0;
    this.#drops = 0;
    this.#step = 0;
    this.#delay = 0;
    this.#output = 1;
  }

  /** RFC 8289 §5 control_law(): the next drop is interval/√count after t. */
  #controlLaw(t: number, count: number): number {
    return t + this.#s.interval / Math.sqrt(count);
  }
}

function resolve(base: CodelSettings, options: CodelOptions): CodelSettings {
  const pick = picker(base, options);
  return {
    target: positive("target", pick("target")),
    interval: positive("interval", pick("interval")),
    maxPacket: nonNegative("maxPacket", pick("maxPacket")),
    sampleTime: positive("sampleTime", pick("sampleTime")),
  };
}

/** Options of `CodelQueue`: CoDel's `target`, `interval` and `maxPacket`. */
export type CodelQueueOptions = Omit<CodelOptions, "sampleTime">;

/**
 * CoDel in the data path (RFC 8289 §5), the native form: at every dequeue
 * the head's sojourn time (its wait in the queue) is compared with
 * `target`; once it has stayed at or above target for a whole `interval`
 * (and more than `maxPacket` messages wait) CoDel enters the dropping
 * state, drops the head, and then drops heads at the times of the control
 * law drop_next = t + interval/√count until a head's sojourn falls under
 * target; re-entering within 16 intervals resumes from the previous drop
 * rate. Each `onDequeue` call is one head: a drop makes the queue offer
 * the next one, as the RFC's dequeue loop does.
 *
 * It also implements `Controller` so an experiment can log it: `update`
 * changes nothing and returns the share of dequeued messages served (not
 * dropped) since the previous `update`.
 */
export class CodelQueue implements QueueDiscipline, Controller {
  readonly kind = "codel";
  #s: Omit<CodelSettings, "sampleTime">;
  #firstAboveTime = Number.NaN;
  #dropping = false;
  #dropNext = Number.NaN;
  #count = 0;
  #lastCount = 0;
  #sojourn = 0;
  #dequeued = 0;
  #dropped = 0;
  #output = 1;

  constructor(options: CodelQueueOptions = {}) {
    checkKeys("CodelQueue", options, ["target", "interval", "maxPacket"]);
    const { sampleTime: _, ...settings } = resolve(defaults, options);
    this.#s = settings;
  }

  /** The target sojourn time, seconds. */
  get setpoint(): number {
    return this.#s.target;
  }

  set setpoint(value: number) {
    this.#s = { ...this.#s, target: positive("setpoint", value) };
  }

  /** Share of the dequeued messages served over the last `update` period. */
  get output(): number {
    return this.#output;
  }

  get components(): Readonly<Record<string, number>> {
    return {
      dropping: this.#dropping ? 1 : 0,
      count: this.#count,
      delay: this.#sojourn,
      dropNext: this.#dropping ? this.#dropNext : Number.NaN,
    };
  }

  advance(_now: number, queued: number): void {
    // RFC 8289 dodequeue(): an empty queue resets the above-target timer.
    if (queued === 0) this.#firstAboveTime = Number.NaN;
  }

  onEnqueue(): boolean {
    return false;
  }

  onDequeue(now: number, sojourn: number, queued: number): boolean {
    this.#sojourn = sojourn;
    this.#dequeued++;
    const { target, interval, maxPacket } = this.#s;
    // dodequeue(): is it OK to drop this head?
    let okToDrop = false;
    if (sojourn < target || queued <= maxPacket) this.#firstAboveTime = Number.NaN;
    else if (Number.isNaN(this.#firstAboveTime)) this.#firstAboveTime = now + interval;
    else if (now >= this.#firstAboveTime) okToDrop = true;
    let drop = false;
    if (this.#dropping) {
      if (!okToDrop) this.#dropping = false;
      else if (now >= this.#dropNext) {
        drop = true;
        this.#count++;
        this.#dropNext = this.#dropNext + interval / Math.sqrt(this.#count);
      }
    } else if (okToDrop) {
      drop = true;
      this.#dropping = true;
      const delta = this.#count - this.#lastCount;
      this.#count = delta > 1 && now - this.#dropNext < 16 * interval ? delta : 1;
      this.#dropNext = now + interval / Math.sqrt(this.#count);
      this.#lastCount = this.#count;
    }
    if (drop) this.#dropped++;
    return drop;
  }

  /** Changes nothing (the queue acts through the hooks); returns the share served since the last call. */
  update(input: number | Observation, _dt?: number): number {
    finite("measurement", observe(input).measurement);
    this.#output = this.#dequeued > 0 ? 1 - this.#dropped / this.#dequeued : 1;
    this.#dequeued = 0;
    this.#dropped = 0;
    return this.#output;
  }

  params(): ControllerParams {
    return { ...this.#s };
  }

  setParams(params: Partial<Record<string, number | boolean | string | null>>): void {
    checkKeys("CodelQueue", params, ["target", "interval", "maxPacket"]);
    const { sampleTime: _, ...settings } = resolve({ ...this.#s, sampleTime: 1 }, params as CodelOptions);
    this.#s = settings;
  }

  reset(): void {
    this.#firstAboveTime = Number.NaN;
    this.#dropping = false;
    this.#dropNext = Number.NaN;
    this.#count = 0;
    this.#lastCount = 0;
    this.#sojourn = 0;
    this.#dequeued = 0;
    this.#dropped = 0;
    this.#output = 1;
  }
}
