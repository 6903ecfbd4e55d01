/**
 * `toolbox/loop`: feedback loops on a live graph — sensors reading any node's
 * meters, actuators acting on the graph (admission rate, credit window,
 * worker pool size, cache capacity, another loop's setpoint), and the
 * `FeedbackLoop` that samples, runs a controller of `toolbox/control`,
 * applies, logs and publishes, tunable over its service.
 */
export { type Actuator, localActuator, type ServiceActuatorOptions, serviceActuator } from "./actuator.js";
export {
  type AdmissionField,
  AdmissionGate,
  type AdmissionGateOptions,
  type AdmissionStats,
  admissionActuator,
  type RemoteAdmissionOptions,
  remoteAdmissionActuator,
  serveAdmission,
} from "./admission.js";
export { type CacheCapacityOptions, cacheCapacityActuator } from "./cache-capacity.js";
export { bumplessSpec, bumplessStart } from "./controller-spec.js";
export {
  type CreditHolder,
  creditWindowActuator,
  MAX_WINDOW,
  type RemoteCreditOptions,
  remoteCreditWindowActuator,
} from "./credit.js";
export {
  FeedbackLoop,
  type FeedbackLoopOptions,
  type LoopChanges,
  type LoopLog,
  type LoopMode,
  type LoopSample,
  type LoopState,
  loopTopic,
} from "./feedback-loop.js";
export { type HitRateSensorOptions, hitRateSensor } from "./hit-rate-sensor.js";
export { loopSetpointActuator } from "./loop-setpoint.js";
export {
  type QueueProxySensorOptions,
  type QueueSensorOptions,
  queueProxySensor,
  queueSensor,
} from "./queue-sensor.js";
export {
  type MeterGroupName,
  type MeterSensorOptions,
  meterSensor,
  type Reading,
  type Sensor,
  statsOf,
} from "./sensor.js";
export {
  type ActuatorSpec,
  actuatorKinds,
  createActuator,
  createSensor,
  type SensorSpec,
  sensorKinds,
} from "./specs.js";
export { WorkerPoolActuator, type WorkerPoolActuatorOptions } from "./worker-pool.js";
