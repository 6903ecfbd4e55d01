/**
 * `toolbox/tune`: the live tuning page of a running feedback loop — an HTTP
 * server on 127.0.0.1 streaming the loop's samples to uPlot charts and
 * passing gains, setpoint, controller, mode and disturbances to the loop's
 * control service (`zmp tune`).
 */
export { startTuneDemo, type TuneDemo, type TuneDemoOptions } from "./demo.js";
export type { DisturbanceTargets } from "./disturbances.js";
export { findLoops, type LoopInfo } from "./loops.js";
export type { TunePageHandle } from "./page-script.js";
export { TuneServer, type TuneServerOptions } from "./server.js";
export type { SessionSnapshot } from "./session.js";
export {
  type CapacityStep,
  type DisturbanceInfo,
  latestStep,
  type StepOptions,
  type StepReport,
} from "./steps.js";
