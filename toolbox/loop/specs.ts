/**
 * Sensors and actuators as plain data, so a feedback loop can be described
 * in a hosted node's args, a config file or a service request:
 * `createSensor(node, { kind: "queue", queue: "jobs", producers: ["p"] })`,
 * `await createActuator(node, { kind: "admission", nodes: ["proxy"], target: "queue:jobs" })`.
 */
import { Graph, type Node } from "../../core/index.js";
import { fail, oneOf } from "../control/validate.js";
import { type Actuator, type ServiceActuatorOptions, serviceActuator } from "./actuator.js";
import { type RemoteAdmissionOptions, remoteAdmissionActuator } from "./admission.js";
import { type CacheCapacityOptions, cacheCapacityActuator } from "./cache-capacity.js";
import { type RemoteCreditOptions, remoteCreditWindowActuator } from "./credit.js";
import { type HitRateSensorOptions, hitRateSensor } from "./hit-rate-sensor.js";
import { loopSetpointActuator } from "./loop-setpoint.js";
import {
  type QueueProxySensorOptions,
  type QueueSensorOptions,
  queueProxySensor,
  queueSensor,
} from "./queue-sensor.js";
import { type MeterSensorOptions, meterSensor, type Sensor } from "./sensor.js";
import { WorkerPoolActuator, type WorkerPoolActuatorOptions } from "./worker-pool.js";

/** A sensor as plain data: `kind` plus that sensor's options. */
export type SensorSpec =
  | ({ kind: "queue" } & QueueSensorOptions)
  | ({ kind: "queue-proxy" } & QueueProxySensorOptions)
  | ({ kind: "meter" } & MeterSensorOptions)
  | ({ kind: "hit-rate" } & HitRateSensorOptions);

/** An actuator as plain data: `kind` plus that actuator's options. */
export type ActuatorSpec =
  | ({ kind: "admission" } & RemoteAdmissionOptions)
  | ({ kind: "window" } & Omit<RemoteCreditOptions, "pullers"> & { pullers: string[] })
  | ({ kind: "workers" } & Omit<WorkerPoolActuatorOptions, "module" | "beforeStop" | "spawn"> & {
        module: string;
        /** The pool's workers start with these args (the same for all). */
        args?: unknown;
      })
  | ({ kind: "capacity" } & CacheCapacityOptions)
  | { kind: "setpoint"; loop: string; timeoutMs?: number }
  | ({ kind: "service" } & Omit<ServiceActuatorOptions, "targets" | "map"> & { targets: string[] });

/** Sensor kinds `createSensor` accepts. */
export const sensorKinds = ["queue", "queue-proxy", "meter", "hit-rate"] as const;
/** Actuator kinds `createActuator` accepts. */
export const actuatorKinds = ["admission", "window", "workers", "capacity", "setpoint", "service"] as const;

function split<T extends { kind: string }>(spec: T, name: string): [string, Omit<T, "kind">] {
  if (spec === null || typeof spec !== "object" || Array.isArray(spec))
    fail(name, "an object `{ kind, ... }`", JSON.stringify(spec), true);
  const { kind, ...rest } = spec;
  return [kind, rest];
}

/** Builds the sensor a spec describes, reading through `node`. */
export function createSensor(node: Node, spec: SensorSpec): Sensor {
  const [kind, options] = split(spec, "sensor");
  switch (oneOf("sensor.kind", kind, sensorKinds)) {
    case "queue":
      return queueSensor(node, options as QueueSensorOptions);
    case "queue-proxy":
      return queueProxySensor(node, options as QueueProxySensorOptions);
    case "meter":
      return meterSensor(node, options as MeterSensorOptions);
    case "hit-rate":
      return hitRateSensor(node, options as HitRateSensorOptions);
  }
}

/**
 * Builds the actuator a spec describes, acting through `node`. A `workers`
 * actuator opens a graph on the node's directory to spawn its workers from;
 * its `close()` stops them and closes that graph.
 */
export async function createActuator(node: Node, spec: ActuatorSpec): Promise<Actuator> {
  const [kind, options] = split(spec, "actuator");
  switch (oneOf("actuator.kind", kind, actuatorKinds)) {
    case "admission":
      return remoteAdmissionActuator(node, options as RemoteAdmissionOptions);
    case "window":
      return remoteCreditWindowActuator(node, options as RemoteCreditOptions);
    case "capacity":
      return cacheCapacityActuator(node, options as CacheCapacityOptions);
    case "setpoint": {
      const o = options as { loop: string; timeoutMs?: number };
      return loopSetpointActuator(node, o.loop, o.timeoutMs);
    }
    case "service":
      return serviceActuator(node, options as ServiceActuatorOptions);
    case "workers": {
      const graph = await Graph.open({ directory: node.directory, advertise: false });
      try {
        const pool = new WorkerPoolActuator(graph, options as WorkerPoolActuatorOptions);
        return {
          name: pool.name,
          description: pool.description,
          apply: (value) => pool.apply(value),
          close: async () => {
            await pool.close();
            await graph.close();
          },
        };
      } catch (error) {
        await graph.close();
        throw error;
      }
    }
  }
}
