/**
 * A feedback loop as a hostable node module: the sensor, actuator and
 * controller are given as plain data in the args, so a loop can run in its
 * own process (`graph.spawn(..., { host: "process" })` or `zmp run`) and be
 * tuned over its service `<name>.control` while it runs.
 *
 * ```ts
 * await graph.spawn(new URL("./feedback-loop.ts", import.meta.url), {
 *   name: "backlog-loop",
 *   args: {
 *     sensor: { kind: "queue", queue: "jobs", producers: ["producer"] },
 *     actuator: { kind: "admission", nodes: ["producer"] },
 *     controller: { kind: "pid", options: { kp: 2, ki: 4, outputMin: 0 } },
 *     setpoint: 50,
 *     sampleTime: 0.1,
 *   },
 * });
 * ```
 */
import type { Node } from "../../core/index.js";
import type { ControllerSpec } from "../control/controller-registry.js";
import { checkKeys, fail } from "../control/validate.js";
import { FeedbackLoop } from "../loop/feedback-loop.js";
import { type ActuatorSpec, createActuator, createSensor, type SensorSpec } from "../loop/specs.js";

/** Arguments of the feedback-loop node (plain data). */
export interface FeedbackLoopArgs {
  /** Loop name (service `<name>.control`, topic `loop/<name>/samples`). Default: the node's name. */
  name?: string;
  /** Required. */
  sensor: SensorSpec;
  /** Required. */
  actuator: ActuatorSpec;
  /** Required. */
  controller: ControllerSpec;
  /** Seconds between samples. Default 0.1. */
  sampleTime?: number;
  /** Default: the controller's. */
  setpoint?: number;
  /** The actuator's value at the start, for a bumpless start. Default none. */
  initialOutput?: number;
  /** Samples kept in memory. Default 10 000. */
  logSize?: number;
  /** Start paused. Default false. */
  paused?: boolean;
  sensorTimeoutMs?: number;
  actuatorTimeoutMs?: number;
  maxDt?: number;
}

const argKeys = [
  "name",
  "sensor",
  "actuator",
  "controller",
  "sampleTime",
  "setpoint",
  "initialOutput",
  "logSize",
  "paused",
  "sensorTimeoutMs",
  "actuatorTimeoutMs",
  "maxDt",
];

/** Hostable node module: runs a `FeedbackLoop` described by `args` until the node stops. */
export default async function feedbackLoopNode(
  node: Node,
  args: FeedbackLoopArgs,
): Promise<() => Promise<void>> {
  if (args === null || typeof args !== "object") fail("args", "an object", args, true);
  checkKeys("feedback loop", args, argKeys);
  const { sensor, actuator, ...rest } = args;
  const built = await createActuator(node, actuator);
  let loop: FeedbackLoop;
  try {
    loop = new FeedbackLoop(node, { ...rest, sensor: createSensor(node, sensor), actuator: built });
    await loop.start();
  } catch (error) {
    await built.close?.();
    throw error;
  }
  return async () => {
    await loop.stop();
    await built.close?.();
  };
}
