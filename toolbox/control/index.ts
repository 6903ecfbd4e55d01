/**
 * `zmp/control`: the control-theory half of zmp. Pure TypeScript maths: no
 * I/O, no zeromq, deterministic; runs in Node, a browser page or a notebook.
 */
export type { Controller, ControllerParams, Observation } from "./controller.js";
export { observe } from "./controller.js";
