/**
 * The credit window as an actuator: credit-based flow control, the zguide's
 * FileMQ pattern, with the window set by a controller instead of by hand. A
 * puller grants each producer `window` unacknowledged messages; a smaller
 * window keeps fewer messages in flight at the puller (less queueing there,
 * shorter latency), a larger one keeps the puller busy across round trips.
 * The producers follow the new window with the puller's next acknowledgement
 * (`node.credit(queue)` shows it).
 */
import type { Node } from "../../core/index.js";
import { checkKeys, checkNumber, fail } from "../control/validate.js";
import { type Actuator, localActuator, serviceActuator } from "./actuator.js";

/** Anything with a settable credit window: a `QueueReader`, a `QueueConsumer`, a queue proxy. */
export interface CreditHolder {
  window: number;
}

/** Most credit a window actuator grants (Infinity and larger outputs are clamped to it). */
export const MAX_WINDOW = 1_000_000;

/** A window for an output: rounded, at least 1, at most `max`. */
function windowFor(value: number, max: number): number {
  if (Number.isNaN(value)) fail("window", "a number", value);
  return Math.min(max, Math.max(1, Math.round(value)));
}

function checkMax(value: unknown): number {
  return checkNumber(
    "maxWindow",
    value ?? MAX_WINDOW,
    "a positive integer",
    (v) => Number.isInteger(v) && v >= 1,
  );
}

/** Sets the window of a puller on this node (a reader or consumer); the output is rounded into [1, maxWindow]. */
export function creditWindowActuator(puller: CreditHolder, maxWindow?: number): Actuator {
  if (puller === null || typeof puller !== "object" || typeof puller.window !== "number")
    fail("puller", "a queue reader or consumer (something with a `window`)", puller, true);
  const max = checkMax(maxWindow);
  return localActuator(
    "window",
    (value) => {
      const window = windowFor(value, max);
      if (puller.window !== window) puller.window = window;
      return puller.window;
    },
    "credit window of a puller on this node",
  );
}

/** Options of `remoteCreditWindowActuator`. */
export interface RemoteCreditOptions {
  /** Pullers whose window is set (queue workers, a queue proxy); a function is asked at every apply. Required. */
  pullers: readonly string[] | (() => readonly string[]);
  /** Steering target on those nodes (`queue:jobs` for a queue proxy). Default: none. */
  target?: string;
  /** Largest window granted. Default 1 000 000. */
  maxWindow?: number;
  /** Longest wait for the replies, ms. Default 1 000. */
  timeoutMs?: number;
}

/** Sets the same window on every listed puller over its steering service (`{ op: "set", window }`). */
export function remoteCreditWindowActuator(node: Node, options: RemoteCreditOptions): Actuator {
  if (options === null || typeof options !== "object") fail("options", "an object", options, true);
  checkKeys("remoteCreditWindowActuator", options, ["pullers", "target", "maxWindow", "timeoutMs"]);
  const max = checkMax(options.maxWindow);
  return serviceActuator(node, {
    name: "window",
    targets: options.pullers,
    ...(options.target === undefined ? {} : { target: options.target }),
    split: "each",
    map: (v) => windowFor(v, max),
    ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
  });
}
