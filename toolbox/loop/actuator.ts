/**
 * Actuators: what a feedback loop moves. An actuator takes the loop's output
 * (after the loop's `toActuator` mapping) and returns the value really in
 * force after its own rounding and clamping (an admission rate, a credit
 * window, a worker count, a cache capacity), which the loop logs as
 * `applied`.
 *
 * `localActuator` wraps a setter on this node; `serviceActuator` sets a field
 * on other nodes through their steering service (`{ op: "set", target?,
 * <field>: value }` on `<node>.control`), which queue proxies, caches, queue
 * workers, admission gates and feedback loops all serve.
 */
import type { Node } from "../../core/index.js";
import { checkKeys, fail, oneOf } from "../control/validate.js";
import { callControl } from "../steering.js";
import { checkTimeout } from "./sensor.js";

/** Something a loop can move. */
export interface Actuator {
  /** What it moves, one word, for logs and the state: `rate`, `window`, `workers`, `capacity`, `setpoint`. */
  readonly name: string;
  /** In words: "admission rate at producer". */
  readonly description: string;
  /** Sets it; returns (or resolves with) the value in force after the actuator's own rounding and clamping. */
  apply(value: number): number | Promise<number>;
  /** Releases what it holds (processes it started). Optional. */
  close?(): void | Promise<void>;
}

/** An actuator calling `set(value)` on this node; `set` returns the value in force. */
export function localActuator(name: string, set: (value: number) => number, description = name): Actuator {
  if (typeof name !== "string") fail("name", "a string", name, true);
  if (typeof set !== "function") fail("set", "a function", set, true);
  return { name, description, apply: (value) => set(value) };
}

/** Options of `serviceActuator`. */
export interface ServiceActuatorOptions {
  /** What it moves (`rate`, `window`, `capacity`...). Required. */
  name: string;
  /** The setting changed on each target. Default: `name`. */
  field?: string;
  /** Names of the nodes to set it on (a function is asked at every apply: pools change). Required. */
  targets: readonly string[] | (() => readonly string[]);
  /** The steering target inside each node (`queue:jobs`, `cache:users.get`). Default: none. */
  target?: string;
  /**
   * `"each"`: every node gets the value; `"share"`: each gets value / nodes
   * (an admission rate split among producers) and `apply` returns the sum.
   * Default `"each"`.
   */
  split?: "each" | "share";
  /** Turns each node's value before sending (round a window to an integer). Default: as is. */
  map?: (value: number) => number;
  /** Longest wait for the nodes' replies, ms. Default 1 000. */
  timeoutMs?: number;
}

/**
 * Sets `field` on each target node over its steering service and returns the
 * value in force: the field of the replies (a `null` reads as unlimited,
 * Infinity), summed with `split: "share"`, else the first. Rejects when a
 * node does not answer or refuses the value (the loop counts an actuator
 * error and holds).
 */
export function serviceActuator(node: Node, options: ServiceActuatorOptions): Actuator {
  if (options === null || typeof options !== "object") fail("options", "an object", options, true);
  checkKeys("serviceActuator", options, ["name", "field", "targets", "target", "split", "map", "timeoutMs"]);
  const { name, target, map } = options;
  if (typeof name !== "string") fail("name", "a string", name, true);
  const field = options.field ?? name;
  const split = oneOf("split", options.split ?? "each", ["each", "share"] as const);
  const targets = options.targets;
  if (typeof targets !== "function" && !Array.isArray(targets))
    fail("targets", "an array of node names or a function", targets, true);
  if (map !== undefined && typeof map !== "function") fail("map", "a function", map, true);
  const timeoutMs = checkTimeout("timeoutMs", options.timeoutMs, 1000);
  const list = (): readonly string[] => (typeof targets === "function" ? targets() : targets);
  return {
    name,
    description: `${field} at ${typeof targets === "function" ? "a changing set of nodes" : targets.join(", ")}`,
    async apply(value) {
      const nodes = list();
      if (nodes.length === 0) throw new RangeError(`no node to set \`${field}\` on`);
      let each = split === "share" ? value / nodes.length : value;
      if (map !== undefined) each = map(each);
      const replies = await Promise.all(
        nodes.map((n) =>
          callControl<Record<string, unknown>>(
            node,
            n,
            { op: "set", ...(target === undefined ? {} : { target }), [field]: each },
            timeoutMs,
          ),
        ),
      );
      const applied = replies.map((r) => {
        const v = r?.[field];
        return v === null ? Number.POSITIVE_INFINITY : typeof v === "number" ? v : Number.NaN;
      });
      return split === "share" ? applied.reduce((a, b) => a + b, 0) : applied[0]!;
    },
  };
}
