/**
 * Cache keys: a request's canonical text, so two requests that decode to the
 * same plain data get the same key however their objects' keys were ordered.
 *
 * The key of a call is `<service> <canonical request>` (service names cannot
 * hold a space). The canonical request is JSON with object keys sorted by
 * code unit and no whitespace — `{"b":1,"a":[1,"x"]}` becomes
 * `{"a":[1,"x"],"b":1}` — plus forms JSON lacks, none of which can start a
 * JSON value: `NaN`, `Infinity`, `-Infinity`, `12n` (bigint),
 * `b64"AAE="` (binary), `date"2024-05-01T00:00:00.000Z"` (a Date). Object
 * properties whose value is `undefined` are left out (they do not cross the
 * wire); `undefined` alone reads as `null`.
 *
 * A **prefix** of a key is any leading substring of it, so
 * `invalidate({ prefix: "users.get " })` drops every cached call of
 * `users.get`, and `{ prefix: 'users.get {"id":"u1' }` drops the calls whose
 * request's first key (in sorted order) is `id` with a value starting with
 * `u1` — `{"id":"u1"}` and `{"id":"u17","x":1}` alike.
 */

/** The canonical text of a plain-data value (see the module comment). */
export function canonical(value: unknown): string {
  return write(value, 0);
}

/** The cache key of a call: `<service> <canonical request>`. */
export function cacheKey(service: string, request: unknown): string {
  return `${service} ${canonical(request)}`;
}

const MAX_DEPTH = 100;

function write(value: unknown, depth: number): string {
  if (depth > MAX_DEPTH) throw new RangeError(`cannot key a request nested deeper than ${MAX_DEPTH}`);
  switch (typeof value) {
    case "undefined":
      return "null";
    case "boolean":
      return value ? "true" : "false";
    case "number":
      if (Number.isFinite(value)) return Object.is(value, -0) ? "0" : JSON.stringify(value);
      return String(value); // NaN, Infinity, -Infinity
    case "bigint":
      return `${value}n`;
    case "string":
      return JSON.stringify(value);
    case "object": {
      if (value === null) return "null";
      if (value instanceof Uint8Array) return `b64${JSON.stringify(Buffer.from(value).toString("base64"))}`;
      if (value instanceof Date)
        return `date${JSON.stringify(Number.isNaN(value.getTime()) ? "Invalid" : value.toISOString())}`;
      if (Array.isArray(value)) return `[${value.map((v) => write(v, depth + 1)).join(",")}]`;
      const proto = Object.getPrototypeOf(value);
      if (proto !== Object.prototype && proto !== null)
        throw new TypeError(`cannot key an instance of ${proto?.constructor?.name ?? "an unknown class"}`);
      const entries: string[] = [];
      for (const key of Object.keys(value).sort()) {
        const v = (value as Record<string, unknown>)[key];
        if (v !== undefined) entries.push(`${JSON.stringify(key)}:${write(v, depth + 1)}`);
      }
      return `{${entries.join(",")}}`;
    }
    default:
      throw new TypeError(`cannot key a ${typeof value}`);
  }
}
