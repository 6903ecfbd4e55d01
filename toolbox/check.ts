/**
 * Option checks shared by the toolbox nodes (proxy, cache), so they fail the
 * same way as the core and `toolbox/control`: a `TypeError` for a wrong type,
 * a `RangeError` for a value out of range, naming the option, what was
 * expected and what came — ``Expected `rate` to be a non-negative number, got `-1` ``.
 * Misspelt option names are refused rather than ignored. Internal: not
 * exported from the barrel.
 */
import { checkName } from "../core/record.js";

function show(value: unknown): string {
  if (typeof value === "function") return "function";
  if (typeof value === "string") return value;
  try {
    return typeof value === "object" && value !== null ? JSON.stringify(value) : String(value);
  } catch {
    return String(value);
  }
}

/** Throws ``Expected `name` to be what, got `value` `` (TypeError when `type`, else RangeError). */
export function fail(name: string, what: string, value: unknown, type = false): never {
  const message = `Expected \`${name}\` to be ${what}, got \`${show(value)}\``;
  throw type ? new TypeError(message) : new RangeError(message);
}

/** An options object (undefined reads as `{}`) whose keys are all in `known`. */
export function checkOptions<T extends object>(
  value: T | undefined,
  known: readonly string[],
  what: string,
): T {
  if (value === undefined) return {} as T;
  if (value === null || typeof value !== "object" || Array.isArray(value))
    fail(what, "an object", value, true);
  for (const key of Object.keys(value)) {
    if (!known.includes(key))
      throw new TypeError(`Unknown option \`${key}\` in ${what}; expected one of ${known.join(", ")}`);
  }
  return value;
}

function number(name: string, value: unknown, what: string, ok: (v: number) => boolean): number {
  if (typeof value !== "number") fail(name, what, value, true);
  if (!ok(value)) fail(name, what, value);
  return value;
}

/** A number ≥ 0, +Infinity allowed when `infinite` (a rate meaning "unlimited"). */
export function nonNegative(name: string, value: unknown, fallback: number, infinite = false): number {
  if (value === undefined) return fallback;
  if (infinite && value === null) return Number.POSITIVE_INFINITY;
  return number(
    name,
    value,
    infinite ? "a non-negative number or Infinity" : "a non-negative number",
    (v) => v >= 0 && (infinite || Number.isFinite(v)),
  );
}

/** A finite number > 0 (or +Infinity when `infinite`). */
export function positive(name: string, value: unknown, fallback: number, infinite = false): number {
  if (value === undefined) return fallback;
  return number(name, value, "a positive number", (v) => v > 0 && (infinite || Number.isFinite(v)));
}

/** An integer ≥ 1. */
export function positiveInteger(name: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  return number(name, value, "a positive integer", (v) => Number.isInteger(v) && v >= 1);
}

/** A number in [0, 1]. */
export function fraction(name: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  return number(name, value, "a number from 0 to 1", (v) => v >= 0 && v <= 1);
}

/** A boolean. */
export function flag(name: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== "boolean") fail(name, "a boolean", value, true);
  return value;
}

/** A channel name (service, queue, topic) as the core accepts it. */
export function channelName(name: string, value: unknown): string {
  return checkName(value, name);
}

/** A topic prefix: a channel name, or `""` for every topic. */
export function prefixName(name: string, value: unknown): string {
  if (value === "") return "";
  return checkName(value, name);
}
