/**
 * Another loop's setpoint as an actuator: cascade control across the graph.
 * An outer loop on the backlog sets the setpoint of an inner loop on the
 * admitted rate (Janert's queue case study), each loop a node with its own
 * sample time, both tunable and observable on their own services and
 * topics. (Within one loop, the `cascade` controller kind does the same with
 * one sensor and one actuator.)
 */
import type { Node } from "../../core/index.js";
import { fail } from "../control/validate.js";
import { type Actuator, serviceActuator } from "./actuator.js";

/** Sets the setpoint of the feedback loop named `loop` (over `<loop>.control`); returns the setpoint in force. */
export function loopSetpointActuator(node: Node, loop: string, timeoutMs?: number): Actuator {
  if (typeof loop !== "string") fail("loop", "a loop name", loop, true);
  const actuator = serviceActuator(node, {
    name: "setpoint",
    targets: [loop],
    ...(timeoutMs === undefined ? {} : { timeoutMs }),
  });
  return { ...actuator, description: `setpoint of loop ${loop}` };
}
