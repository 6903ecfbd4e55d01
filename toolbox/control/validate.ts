/**
 * The argument checks every file of `toolbox/control` uses at its boundary,
 * so they all fail the same way: a `TypeError` when a value has the wrong
 * type, a `RangeError` when it is out of range, with a message that names the
 * option, says what was expected and shows what came,
 * ``Expected `sampleTime` to be a positive number, got `-1` `` (the form of
 * p-queue's constructor checks). Internal to `toolbox/control`: not exported
 * from the barrel.
 */

/** How a value reads in an error message: functions as `function`, everything else as `String(value)`. */
export function describe(value: unknown): string {
  return typeof value === "function" ? "function" : String(value);
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

/** A finite number. */
export function finite(name: string, value: unknown): number {
  return checkNumber(name, value, "a finite number", Number.isFinite);
}

/** A finite number ≥ 0. */
export function nonNegative(name: string, value: unknown): number {
  return checkNumber(name, value, "a non-negative number", (v) => Number.isFinite(v) && v >= 0);
}

/** A finite number > 0. */
export function positive(name: string, value: unknown): number {
  return checkNumber(name, value, "a positive number", (v) => Number.isFinite(v) && v > 0);
}

/** An output limit: a finite number, or `null` / the infinity `none` for "no limit" (returns `none`). */
export function bound(name: string, value: unknown, none: number): number {
  if (value === null || value === none) return none;
  return finite(name, value);
}

/** A positive rate where `null` or +Infinity mean "unlimited" (returns +Infinity). */
export function positiveOrUnlimited(name: string, value: unknown): number {
  if (value === null || value === Number.POSITIVE_INFINITY) return Number.POSITIVE_INFINITY;
  return positive(name, value);
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

/** A boolean. */
export function flag(name: string, value: unknown): boolean {
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
