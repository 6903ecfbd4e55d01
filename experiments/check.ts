/**
 * Argument checks shared by the experiments, failing the way the toolbox
 * does: a TypeError for a wrong type, a RangeError for a value out of range,
 * with the message ``Expected `name` to be what, got `value` ``.
 */

/** Throws ``Expected `name` to be what, got `value` `` (TypeError when `type`). */
export function fail(name: string, what: string, value: unknown, type = false): never {
  const shown = typeof value === "function" ? "function" : String(value);
  const message = `Expected \`${name}\` to be ${what}, got \`${shown}\``;
  throw type ? new TypeError(message) : new RangeError(message);
}

/** An object (not null, not a primitive). */
export function checkObject(name: string, value: unknown): void {
  if (value === null || typeof value !== "object") fail(name, "an object", value, true);
}

/** A finite number > 0. */
export function checkPositive(name: string, value: unknown): number {
  if (typeof value !== "number") fail(name, "a positive number", value, true);
  if (!(value > 0) || !Number.isFinite(value)) fail(name, "a positive number", value);
  return value;
}

/** A finite number ≥ 0. */
export function checkNonNegative(name: string, value: unknown): number {
  if (typeof value !== "number") fail(name, "a non-negative number", value, true);
  if (!(value >= 0) || !Number.isFinite(value)) fail(name, "a non-negative number", value);
  return value;
}

/** A finite number. */
export function checkFinite(name: string, value: unknown): number {
  if (typeof value !== "number") fail(name, "a finite number", value, true);
  if (!Number.isFinite(value)) fail(name, "a finite number", value);
  return value;
}

/** An integer ≥ `min`. */
export function checkInteger(name: string, value: unknown, min: number): number {
  const what = `an integer ≥ ${min}`;
  if (typeof value !== "number") fail(name, what, value, true);
  if (!Number.isInteger(value) || value < min) fail(name, what, value);
  return value;
}

/**
 * Quantile `q` of ascending `sorted` values by linear interpolation between
 * order statistics (Hyndman & Fan type 7, numpy's default); NaN when empty.
 */
export function quantile(sorted: ArrayLike<number>, q: number): number {
  const n = sorted.length;
  if (n === 0) return Number.NaN;
  const h = (n - 1) * q;
  const lo = Math.floor(h);
  const hi = Math.min(n - 1, lo + 1);
  return sorted[lo]! + (h - lo) * (sorted[hi]! - sorted[lo]!);
}
