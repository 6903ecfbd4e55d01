/**
 * Bounds on the settings a running node takes from outside: a steering
 * `set` (any caller in the graph may send one) and the tuning page's
 * requests. Every number such a caller can change is checked against a
 * range before anything changes; NaN, ±Infinity (except where Infinity or
 * `null` means "no limit"), negative and absurd values are refused with a
 * `RangeError` (a `TypeError` for a value that is not a number) naming the
 * setting: ``Expected `speed` to be a number from 0.001 to 1000, got `1e+308` ``.
 *
 * The bounds sit far above any real use and below where a value stops
 * meaning what it says: Node's timers fire after 1 ms when asked to wait
 * more than 2^31 − 1 ms, so a longer timeout or service time would turn
 * into none; counters past 2^53 stop counting; a credit window of a billion
 * messages is no flow control; a setpoint or gain of 1e308 overflows to
 * Infinity in the first product. The table of every setting and its range
 * is in docs/security.md.
 */
import { checkNumber, fail } from "./control/validate.js";

/** Longest timeout or service time, ms: Node's `setTimeout` fires after 1 ms beyond it (about 24.8 days). */
export const MAX_TIMER_MS = 2 ** 31 - 1;
/** Highest rate, msg/s (a thousand times what a node here moves). */
export const MAX_RATE = 1e9;
/** Most messages, entries or topics a count setting may name (burst, capacity, sample…). */
export const MAX_COUNT = 1e9;
/** Longest time to live of a cache entry, ms: a year (`null` for no limit). */
export const MAX_TTL_MS = 365 * 86_400_000;
/** Largest byte limit: 2^53 − 1, past which integers are no longer exact. */
export const MAX_BYTES = Number.MAX_SAFE_INTEGER;
/** Largest credit window, messages per producer. */
export const MAX_WINDOW = 1_000_000;
/** Most retries of one forwarded call. */
export const MAX_RETRIES = 100;
/** Slowest and fastest speed factor of a queue worker. */
export const MIN_SPEED = 1e-3;
export const MAX_SPEED = 1e3;
/** Shortest and longest sample time of a feedback loop, seconds. */
export const MIN_SAMPLE_TIME = 1e-3;
export const MAX_SAMPLE_TIME = 86_400;
/**
 * Largest magnitude of a value in a loop's own units set from outside: a
 * setpoint, a manual output, a gain or a controller option. Products of two
 * such values (1e24) stay far from overflow (1.8e308).
 */
export const MAX_MAGNITUDE = 1e12;

/** A number from `min` to `max` (both included). */
export function between(name: string, value: unknown, min: number, max: number, unit = ""): number {
  const what = `a number from ${min} to ${max}${unit}`;
  return checkNumber(name, value, what, (v) => v >= min && v <= max);
}

/** A number greater than 0 and at most `max`. */
export function positiveUpTo(name: string, value: unknown, max: number, unit = ""): number {
  const what = `a positive number up to ${max}${unit}`;
  return checkNumber(name, value, what, (v) => v > 0 && v <= max);
}

/** An integer from `min` to `max`. */
export function integerBetween(name: string, value: unknown, min: number, max: number): number {
  const what = `an integer from ${min} to ${max}`;
  return checkNumber(name, value, what, (v) => Number.isInteger(v) && v >= min && v <= max);
}

/** A number from `min` to `max`, or `null` / +Infinity for "no limit" (returns +Infinity). */
export function upToOrUnlimited(name: string, value: unknown, min: number, max: number, unit = ""): number {
  if (value === null || value === Number.POSITIVE_INFINITY) return Number.POSITIVE_INFINITY;
  const what = `a number from ${min} to ${max}${unit}, or null for no limit`;
  return checkNumber(name, value, what, (v) => v >= min && v <= max);
}

/** A finite number of magnitude at most `MAX_MAGNITUDE`. */
export function magnitude(name: string, value: unknown): number {
  const what = `a number from -${MAX_MAGNITUDE} to ${MAX_MAGNITUDE}`;
  return checkNumber(name, value, what, (v) => Math.abs(v) <= MAX_MAGNITUDE);
}

/** Deepest nesting `checkMagnitudes` walks (a cascade's spec is three levels deep). */
const MAX_DEPTH = 8;

/**
 * Checks every number inside `value` (objects and arrays, to a depth of 8)
 * with `magnitude`, naming each by its path (`params.kp`,
 * `controller.options.inner.options.ki`). Other values pass: their owner
 * checks their type.
 */
export function checkMagnitudes(name: string, value: unknown, depth = 0): void {
  if (typeof value === "number") {
    magnitude(name, value);
    return;
  }
  if (value === null || typeof value !== "object") return;
  if (depth >= MAX_DEPTH) fail(name, `nested at most ${MAX_DEPTH} levels deep`, "…", true);
  for (const [key, item] of Object.entries(value)) checkMagnitudes(`${name}.${key}`, item, depth + 1);
}
