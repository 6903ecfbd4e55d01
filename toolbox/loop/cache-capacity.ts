/**
 * Cache capacity as an actuator: a loop holding a target hit rate sizes a
 * service cache through its steering service (`{ op: "set", target:
 * "cache:<service>", capacity }` on `<cache node>.control`).
 */
import type { Node } from "../../core/index.js";
import { checkKeys, checkNumber, fail } from "../control/validate.js";
import { type Actuator, serviceActuator } from "./actuator.js";

/** Options of `cacheCapacityActuator`. */
export interface CacheCapacityOptions {
  /** Name of the node running the cache. Required. */
  cache: string;
  /** The cached service (the steering target is `cache:<service>`). Required. */
  service: string;
  /** Smallest capacity set, entries (integer ≥ 1). Default 1. */
  min?: number;
  /** Largest capacity set, entries. Default 10 000 000. */
  max?: number;
  /** Longest wait for the reply, ms. Default 1 000. */
  timeoutMs?: number;
}

/** Sets a service cache's capacity (entries; the output rounded into [min, max]); returns the capacity in force. */
export function cacheCapacityActuator(node: Node, options: CacheCapacityOptions): Actuator {
  if (options === null || typeof options !== "object") fail("options", "an object", options, true);
  checkKeys("cacheCapacityActuator", options, ["cache", "service", "min", "max", "timeoutMs"]);
  const { cache, service } = options;
  if (typeof cache !== "string") fail("cache", "a node name", cache, true);
  if (typeof service !== "string") fail("service", "a service name", service, true);
  const min = checkNumber("min", options.min ?? 1, "an integer ≥ 1", (v) => Number.isInteger(v) && v >= 1);
  const max = checkNumber("max", options.max ?? 10_000_000, `a number ≥ min (${min})`, (v) => v >= min);
  return serviceActuator(node, {
    name: "capacity",
    targets: [cache],
    target: `cache:${service}`,
    map: (v) => Math.min(max, Math.max(min, Math.round(v))),
    ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
  });
}
