/**
 * The service rate μ of a pool of workers, estimated from the departures
 * counted in each sample: the current a queue's charge drains at. It is
 * what the delay window multiplies by D* to get its credit window, so how
 * fast and how cleanly it follows a capacity change sets how far the delay
 * overshoots after one.
 *
 * Departures from busy workers are a Poisson count: c = served·dt with
 * mean μ·dt (8 workers at 200 msg/s give 20 per 0.1 s sample, σ ≈ 22 %).
 * The estimator
 *
 * - learns only from samples where the workers were busy (backlog ≥
 *   `busyBacklog` at both ends of the sample: an idle pool serves its
 *   arrivals, not its capacity);
 * - filters the rate between changes with a first-order lag of time
 *   constant `rateTau` (the level μ̂);
 * - detects a change with Page's CUSUM on the Poisson log-likelihood ratio
 *   of each busy sample's count, one statistic for a drop to ρ·μ̂ and one
 *   for a rise to μ̂/ρ (ρ = `changeRatio`):
 *
 *     drop: g ← max(0, g + c·ln ρ + (1 − ρ)·μ̂·dt)
 *     rise: g ← max(0, g − c·ln ρ + (1 − 1/ρ)·μ̂·dt)
 *
 *   in nats; past `changeThreshold` the level jumps to the mean of the
 *   samples since that statistic last left 0 (the change-point estimate),
 *   and the filter restarts there: it averages the samples since the change
 *   (gain 1/n) until that is slower than `rateTau`, so a level taken from
 *   two or three samples does not linger;
 * - acts on partial evidence of a drop (`graded`): before the alarm, the
 *   rate it gives out (`rate`) is the level lowered toward the mean since
 *   the drop began by the share w = (g − 1)/(h − 1) of the evidence
 *   (clamped to 0…1; one nat, a single sample 1.6σ low, moves nothing),
 *   and a rate that comes back up does so through a first-order lag of
 *   `releaseTau` (asymmetric: down at once, up slowly), so a sample that
 *   only looked like a drop dents the output briefly instead of making it
 *   reverse every sample.
 *
 * Why graded: a halved capacity gives about 1.5 nats in the first sample
 * after it (the workers finish the messages they had at the old speed)
 * and 3 in each one after; a threshold that keeps false alarms rarer than
 * once a minute (≈ 6 nats) is crossed in the third sample. Every sample of
 * that delay the window stays at the old capacity and admits messages that
 * will wait twice D*. Acting on the evidence as it builds takes most of
 * that back at the price of brief dips when a sample is merely slow
 * (docs/control.md gives the figures).
 */
import { checkKeys, checkNumber, nonNegative, nullable, positive } from "./validate.js";

/** Options of `ServiceRateEstimator`; every field has the default shown. */
export interface ServiceRateEstimatorOptions {
  /** Time constant of the filter between changes, seconds, > 0. Default 2. */
  rateTau?: number;
  /** The change the detector is tuned for: a drop to ρ·μ̂ or a rise to μ̂/ρ, 0 < ρ < 1. Default 0.5. */
  changeRatio?: number;
  /** Alarm threshold of the CUSUMs, nats (log-likelihood), > 0; `Infinity` turns detection off. Default 6. */
  changeThreshold?: number;
  /** Whether `rate` acts on partial evidence of a drop before the alarm. Default true. */
  graded?: boolean;
  /** Time constant with which `rate` comes back up, seconds, ≥ 0 (0: at once). Default 0.5. */
  releaseTau?: number;
  /** Backlog at or above which the workers count as busy (the estimator learns only then), messages, ≥ 0. Default 1. */
  busyBacklog?: number;
  /** Level before the first sample with a positive rate, msg/s; `null` = none (NaN). Default `null`. */
  initialRate?: number | null;
}

const keys = [
  "rateTau",
  "changeRatio",
  "changeThreshold",
  "graded",
  "releaseTau",
  "busyBacklog",
  "initialRate",
] as const;

interface Settings {
  rateTau: number;
  changeRatio: number;
  changeThreshold: number;
  graded: boolean;
  releaseTau: number;
  busyBacklog: number;
  initialRate: number | null;
}

const defaults: Settings = {
  rateTau: 2,
  changeRatio: 0.5,
  changeThreshold: 6,
  graded: true,
  releaseTau: 0.5,
  busyBacklog: 1,
  initialRate: null,
};

function resolve(base: Settings, options: Record<string, unknown>): Settings {
  const pick = (key: keyof Settings): unknown => (options[key] === undefined ? base[key] : options[key]);
  const graded = pick("graded");
  if (typeof graded !== "boolean") {
    throw new TypeError(`Expected \`graded\` to be a boolean, got \`${String(graded)}\``);
  }
  return {
    rateTau: positive("rateTau", pick("rateTau")),
    changeRatio: checkNumber(
      "changeRatio",
      pick("changeRatio"),
      "a number between 0 and 1",
      (v) => v > 0 && v < 1,
    ),
    changeThreshold: checkNumber(
      "changeThreshold",
      pick("changeThreshold"),
      "a positive number (nats) or Infinity",
      (v) => v > 0,
    ),
    graded,
    releaseTau: nonNegative("releaseTau", pick("releaseTau")),
    busyBacklog: nonNegative("busyBacklog", pick("busyBacklog")),
    initialRate: nullable(pick("initialRate"), (v) => positive("initialRate", v)),
  };
}

/** A CUSUM statistic and the samples behind it since it last left 0. */
interface Side {
  g: number;
  sum: number;
  n: number;
}

const cleared = (): Side => ({ g: 0, sum: 0, n: 0 });

/**
 * Service-rate estimator for a pool of workers (see the module comment).
 * Feed it every sample with `update(backlog, servedRate, dt)`; read `level`
 * (μ̂) and `rate` (what to act on).
 *
 * @example
 * const mu = new ServiceRateEstimator({ busyBacklog: 8 });
 * mu.update(backlog, observation.serviceRate, 0.1);
 * const window = 0.25 * mu.rate; // messages that wait 0.25 s
 */
export class ServiceRateEstimator {
  #s: Settings;
  #level = Number.NaN;
  #rate = Number.NaN;
  #down: Side = cleared();
  #up: Side = cleared();
  /** Samples since the last detected change (the restarted filter's count). */
  #since = Number.POSITIVE_INFINITY;
  #lastBacklog = Number.NaN;
  #drops = 0;
  #rises = 0;

  constructor(options: ServiceRateEstimatorOptions = {}) {
    checkKeys("ServiceRateEstimator", options, keys);
    this.#s = resolve(defaults, options as Record<string, unknown>);
  }

  /** The filtered level μ̂, msg/s (NaN before the first positive rate or `initialRate`). */
  get level(): number {
    return this.#level;
  }

  /** The rate to act on, msg/s: the level, lowered by the evidence of a drop and released slowly (see the module comment). */
  get rate(): number {
    return this.#rate;
  }

  /** Changes detected so far: drops and rises (alarms of each CUSUM). */
  get changes(): { drops: number; rises: number } {
    return { drops: this.#drops, rises: this.#rises };
  }

  /** Evidence of a drop so far: the drop CUSUM, nats. */
  get evidence(): number {
    return this.#down.g;
  }

  /**
   * One sample: `backlog` (messages in the system at its end), `served`
   * (departures per second over it, ≥ 0) and its length `dt` (seconds).
   * Returns `rate`.
   */
  update(backlog: number, served: number, dt: number): number {
    const s = this.#s;
    const busy = backlog >= s.busyBacklog && this.#lastBacklog >= s.busyBacklog;
    this.#lastBacklog = backlog;
    if (Number.isNaN(this.#level)) {
      if (served > 0) this.#level = served;
      else if (s.initialRate !== null) this.#level = s.initialRate;
    } else if (busy) this.#learn(served, dt);
    if (Number.isNaN(this.#level)) return this.#rate;
    let target = this.#level;
    const h = s.changeThreshold;
    if (s.graded && this.#down.n > 0 && Number.isFinite(h)) {
      const from = Math.min(1, h / 2);
      const w = Math.min(1, Math.max(0, (this.#down.g - from) / (h - from)));
      target -= w * Math.max(0, target - this.#down.sum / this.#down.n);
    }
    if (Number.isNaN(this.#rate) || target <= this.#rate || s.releaseTau === 0) this.#rate = target;
    else this.#rate += (1 - Math.exp(-dt / s.releaseTau)) * (target - this.#rate);
    return this.#rate;
  }

  /** One busy sample: the two CUSUMs, then an alarm's jump or the (restarted) filter. */
  #learn(served: number, dt: number): void {
    const s = this.#s;
    const expected = Math.max(this.#level, 1e-9) * dt;
    const count = served * dt;
    const lnRatio = Math.log(s.changeRatio);
    const track = (side: Side, llr: number) => {
      side.g = Math.max(0, side.g + llr);
      if (side.g === 0) {
        side.sum = 0;
        side.n = 0;
      } else {
        side.sum += served;
        side.n++;
      }
    };
    track(this.#down, count * lnRatio + (1 - s.changeRatio) * expected);
    track(this.#up, -count * lnRatio + (1 - 1 / s.changeRatio) * expected);
    const alarm =
      this.#down.g > s.changeThreshold ? this.#down : this.#up.g > s.changeThreshold ? this.#up : null;
    if (alarm !== null) {
      if (alarm === this.#down) this.#drops++;
      else this.#rises++;
      this.#level = alarm.sum / alarm.n;
      this.#since = alarm.n;
      this.#down = cleared();
      this.#up = cleared();
      return;
    }
    this.#since++;
    const gain = Math.max(1 / this.#since, 1 - Math.exp(-dt / s.rateTau));
    this.#level += gain * (served - this.#level);
  }

  /** The settings in force (plain data). */
  params(): Required<ServiceRateEstimatorOptions> {
    return { ...this.#s };
  }

  /** Changes settings while running; the level and the evidence are kept. */
  setParams(params: ServiceRateEstimatorOptions): void {
    checkKeys("ServiceRateEstimator", params, keys);
    this.#s = resolve(this.#s, params as Record<string, unknown>);
  }

  /** Forgets everything learnt. */
  reset(): void {
    this.#level = Number.NaN;
    this.#rate = Number.NaN;
    this.#down = cleared();
    this.#up = cleared();
    this.#since = Number.POSITIVE_INFINITY;
    this.#lastBacklog = Number.NaN;
    this.#drops = 0;
    this.#rises = 0;
  }
}
