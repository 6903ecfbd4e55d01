/** `zmp/toolbox`: nodes built on the core (proxy, cache, feedback loops) and the control maths. */
export * from "./cache/index.js";
export * from "./control/index.js";
export * from "./loop/index.js";
export * from "./proxy/index.js";
export {
  type ControlHandlers,
  type ControlRequest,
  callControl,
  controlService,
  type Steerable,
  serveControl,
  steerables,
} from "./steering.js";
export * from "./tune/index.js";
