/**
 * The argument checks of zmp's toolbox and experiments, in one place, so
 * every boundary fails the same way: a `TypeError` when a value has the wrong
 * type, a `RangeError` when it is out of range, with a message that names the
 * option, says what was expected and shows what came,
 * ``Expected `sampleTime` to be a positive number, got `-1` `` (the form of
 * p-queue's constructor checks). Misspelt option names are refused rather
 * than ignored.
 *
 * Pure and dependency-free, so `toolbox/control` stays runnable in a browser
 * page; public as `validate` from `zmp/control` for code that builds on the
 * toolbox and wants the same errors. Number checks take an optional
 * `fallback`, returned when the value is `undefined` (an option left out).
 */

/** How a value reads in an error message: functions as `function`, objects as JSON, the rest as `String(value)`. */
export function describe(value: unknown): string {
  if (typeof value === "function") return "function";
  if (typeof value === "object" && value !== null) {
    try {
      return JSON.stringify(value);
    } catch {
      return String(value);
    }
  }
  return String(value);
}

/**
 * Throws ``Expected `name` to be what, got `value` ``: a `TypeError` when
 * `type` is true (the value has the wrong type), else a `RangeError`.
 */
export function fail(name: string, what: string, value: unknown, type = false): never {
  const message = `Expected \`${name}\` to be ${what}, got \`${describe(value)}\``;
  throw type ? new TypeError(message) : new RangeError(message);
}

/** `value` as a number that passes `ok`: TypeError when it is not a number, RangeError when `ok` fails. */
export function checkNumber(name: string, value: unknown, what: string, ok: (v: number) => boolean): number {
  if (typeof value !== "number") fail(name, what, value, true);
  if (!ok(value)) fail(name, what, value);
  return value;
}

/** A finite number (`fallback` when `undefined` and a fallback is given). */
export function finite(name: string, value: unknown, fallback?: number): number {
  if (value === undefined && fallback !== undefined) return fallback;
  return checkNumber(name, value, "a finite number", Number.isFinite);
}

/** A finite number ≥ 0. */
export function nonNegative(name: string, value: unknown, fallback?: number): number {
  if (value === undefined && fallback !== undefined) return fallback;
  return checkNumber(name, value, "a non-negative number", (v) => Number.isFinite(v) && v >= 0);
}

/** A finite number > 0. */
export function positive(name: string, value: unknown, fallback?: number): number {
  if (value === undefined && fallback !== undefined) return fallback;
  return checkNumber(name, value, "a positive number", (v) => Number.isFinite(v) && v > 0);
}

/** An integer ≥ 1. */
export function positiveInteger(name: string, value: unknown, fallback?: number): number {
  if (value === undefined && fallback !== undefined) return fallback;
  return checkNumber(name, value, "a positive integer", (v) => Number.isInteger(v) && v >= 1);
}

/** An integer ≥ `min`. */
export function integerAtLeast(name: string, value: unknown, min: number): number {
  return checkNumber(name, value, `an integer ≥ ${min}`, (v) => Number.isInteger(v) && v >= min);
}

/** A number from 0 to 1. */
export function fraction(name: string, value: unknown, fallback?: number): number {
  if (value === undefined && fallback !== undefined) return fallback;
  return checkNumber(name, value, "a number from 0 to 1", (v) => v >= 0 && v <= 1);
}

/** An output limit: a finite number, or `null` / the infinity `none` for "no limit" (returns `none`). */
export function bound(name: string, value: unknown, none: number): number {
  if (value === null || value === none) return none;
  return finite(name, value);
}

/** A positive rate where `null` or +Infinity mean "unlimited" (returns +Infinity). */
export function positiveOrUnlimited(name: string, value: unknown, fallback?: number): number {
  if (value === undefined && fallback !== undefined) return fallback;
  if (value === null || value === Number.POSITIVE_INFINITY) return Number.POSITIVE_INFINITY;
  return positive(name, value);
}

/** A number ≥ 0 where `null` or +Infinity mean "unlimited" (returns +Infinity). */
export function nonNegativeOrUnlimited(name: string, value: unknown, fallback?: number): number {
  if (value === undefined && fallback !== undefined) return fallback;
  if (value === null) return Number.POSITIVE_INFINITY;
  return checkNumber(name, value, "a non-negative number or Infinity", (v) => v >= 0);
}

/** `null` passes through; anything else goes through `check`. */
export function nullable<T>(value: unknown, check: (v: unknown) => T): T | null {
  return value === null ? null : check(value);
}

/** One of the strings `choices`. */
export function oneOf<T extends string>(name: string, value: unknown, choices: readonly T[]): T {
  if (typeof value !== "string" || !choices.includes(value as T)) {
    fail(name, `one of ${choices.join(", ")}`, value, typeof value !== "string");
  }
  return value as T;
}

/** A boolean (`fallback` when `undefined` and a fallback is given). */
export function flag(name: string, value: unknown, fallback?: boolean): boolean {
  if (value === undefined && fallback !== undefined) return fallback;
  if (typeof value !== "boolean") fail(name, "a boolean", value, true);
  return value;
}

/** An options object (not `null`, not a primitive). */
export function checkObject(name: string, value: unknown): void {
  if (value === null || typeof value !== "object") fail(name, "an object", value, true);
}

/** Throws a RangeError naming the first key of `options` that is not in `allowed` (a typo is not silently ignored). */
export function checkKeys(owner: string, options: object, allowed: readonly string[]): void {
  for (const key of Object.keys(options)) {
    if (!allowed.includes(key)) {
      throw new RangeError(`Unknown ${owner} option \`${key}\`; expected one of ${allowed.join(", ")}`);
    }
  }
}

/**
 * An options object whose keys are all in `known`, `undefined` reading as
 * `{}`: a TypeError for a non-object or an unknown key, naming `what`
 * (``Unknown option `retrys` in service proxy settings; expected one of …``).
 */
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

/** Throws a RangeError unless `low` ≤ `high` (a pair of limits such as `outputMin`/`outputMax`). */
export function checkOrder(lowName: string, low: number, highName: string, high: number): void {
  if (low > high) {
    throw new RangeError(
      `Expected \`${lowName}\` ≤ \`${highName}\`, got ${lowName} = ${low} and ${highName} = ${high}`,
    );
  }
}

/**
 * Reads option `key` from `options`, falling back to `base[key]` when it is
 * undefined: the one place defaults (or the current settings, in
 * `setParams`) meet the caller's options. The value is still unchecked.
 */
export function picker<T extends object>(base: T, options: object): <K extends keyof T>(key: K) => unknown {
  const given = options as Record<PropertyKey, unknown>;
  return (key) => (given[key] === undefined ? base[key] : given[key]);
}
