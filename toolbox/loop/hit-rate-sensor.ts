/**
 * The hit rate of a service cache, read through the cache's steering service
 * (`{ op: "stats", target: "cache:<service>" }` on `<cache node>.control`):
 * the measurement a loop sizing the cache holds at a target.
 */
import type { Node } from "../../core/index.js";
import { checkKeys, fail, oneOf } from "../control/validate.js";
import { callControl } from "../steering.js";
import { checkTimeout, type Reading, type Sensor } from "./sensor.js";

/** Options of `hitRateSensor`. */
export interface HitRateSensorOptions {
  /** Name of the node running the cache. Required. */
  cache: string;
  /** The cached service (the steering target is `cache:<service>`). Required. */
  service: string;
  /**
   * `"sample"`: hits / lookups since the previous sample (the cache's
   * cumulative counters differenced: the rate over exactly the loop's
   * period). `"window"`: the cache's own windowed `hitRate` (the last 9–10 s
   * by default). Default `"sample"`.
   */
  over?: "sample" | "window";
  /** Longest wait for the cache's stats, ms. Default 500. */
  timeoutMs?: number;
}

/** The fields of a service cache's stats this sensor reads (toolbox/cache's `ServiceCacheStats`). */
interface CacheStats {
  hits: number;
  lookups: number;
  hitRate: number;
  capacity: number | null;
  size?: number;
  entries?: number;
  time?: number;
}

/**
 * Hit rate of a service cache (0…1) as `measurement`; values add `hits`,
 * `lookups`, `lookupRate` (per second) and `capacity`. A sample period with
 * no lookup falls back to the cache's windowed rate; when that is NaN too
 * (no lookup in its window) the read fails and the loop holds its output.
 */
export function hitRateSensor(node: Node, options: HitRateSensorOptions): Sensor {
  if (options === null || typeof options !== "object") fail("options", "an object", options, true);
  checkKeys("hitRateSensor", options, ["cache", "service", "over", "timeoutMs"]);
  const { cache, service } = options;
  if (typeof cache !== "string") fail("cache", "a node name", cache, true);
  if (typeof service !== "string") fail("service", "a service name", service, true);
  const over = oneOf("over", options.over ?? "sample", ["sample", "window"] as const);
  const timeoutMs = checkTimeout("timeoutMs", options.timeoutMs, 500);
  let before: { hits: number; lookups: number; at: number } | undefined;
  return {
    description: `hit rate of cache ${service} at ${cache}`,
    async read(): Promise<Reading> {
      const sent = Date.now();
      const s = await callControl<CacheStats>(
        node,
        cache,
        { op: "stats", target: `cache:${service}` },
        timeoutMs,
      );
      const at = typeof s.time === "number" ? s.time : (sent + Date.now()) / 2;
      const lookups = before === undefined ? 0 : s.lookups - before.lookups;
      const dt = before === undefined ? 0 : (at - before.at) / 1000;
      let hitRate = s.hitRate;
      if (over === "sample" && lookups > 0) hitRate = (s.hits - before!.hits) / lookups;
      before = { hits: s.hits, lookups: s.lookups, at };
      if (!Number.isFinite(hitRate))
        throw new RangeError(`cache \`${service}\` at \`${cache}\` had no lookup to measure a hit rate on`);
      return {
        time: at,
        observation: { measurement: hitRate },
        values: {
          hitRate,
          hits: s.hits,
          lookups: s.lookups,
          lookupRate: dt > 0 && lookups >= 0 ? lookups / dt : Number.NaN,
          capacity: s.capacity ?? Number.POSITIVE_INFINITY,
        },
      };
    },
  };
}
