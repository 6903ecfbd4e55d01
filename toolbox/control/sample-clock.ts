/**
 * The time base of the PID controllers (`Pid`, `VelocityPid`): decides the
 * `dt` of each update. Internal to `toolbox/control` (not exported from the
 * barrel); the rules are documented on `PidOptions.sampleTime` and `now`.
 */
import { describe, fail, positive } from "./validate.js";

/** A clock in seconds. */
export type Clock = () => number;

function defaultClock(): number {
  return globalThis.performance.now() / 1000;
}

/**
 * dt of an update, in order: the explicit `dt` argument; else the time since
 * the previous computed update on the injected clock `now` (or on
 * `performance.now()` when there is neither a clock nor a `sampleTime`),
 * skipping the update when less than `sampleTime` has passed (simple-pid's
 * rule); else `sampleTime` itself.
 */
export class SampleClock {
  readonly #now: Clock | null;
  #sampleTime: number | null;
  #lastTime = Number.NaN;
  #stepped = false;

  /** `now`: the injected clock or `null`; `sampleTime`: seconds or `null` (both already validated but `now`). */
  constructor(now: unknown, sampleTime: number | null) {
    if (now !== null && typeof now !== "function") fail("now", "a function returning seconds", now, true);
    this.#now = now as Clock | null;
    this.#sampleTime = sampleTime;
    this.restart();
  }

  /** Change the sample time; when `update(x)` now reads a clock it did not read before, the clock starts here. */
  set sampleTime(value: number | null) {
    const hadClock = this.#clock() !== null;
    this.#sampleTime = value;
    if (!hadClock) this.#start();
  }

  /** Forget the previous update: the next one starts a new interval from now. */
  restart(): void {
    this.#stepped = false;
    this.#start();
  }

  /** The dt of this update in seconds, or `null` when `sampleTime` says to skip it. */
  step(dt: number | undefined): number | null {
    if (dt !== undefined) {
      this.#stepped = true;
      return positive("dt", dt);
    }
    const clock = this.#clock();
    if (clock === null) {
      this.#stepped = true;
      return this.#sampleTime as number;
    }
    const t = clock();
    if (!Number.isFinite(t)) {
      throw new RangeError(`Expected the clock \`now()\` to return seconds, got \`${describe(t)}\``);
    }
    const elapsed = Number.isNaN(this.#lastTime) ? 0 : t - this.#lastTime;
    if (elapsed < 0) {
      throw new RangeError(`Expected the clock \`now()\` not to go backwards, got ${elapsed} s`);
    }
    if (this.#sampleTime !== null && elapsed < this.#sampleTime && this.#stepped) return null;
    this.#lastTime = t;
    this.#stepped = true;
    return elapsed;
  }

  /** The clock `update(x)` reads, or null when it uses `sampleTime` as dt. */
  #clock(): Clock | null {
    if (this.#now !== null) return this.#now;
    return this.#sampleTime === null ? defaultClock : null;
  }

  #start(): void {
    const clock = this.#clock();
    this.#lastTime = clock === null ? Number.NaN : clock();
  }
}
