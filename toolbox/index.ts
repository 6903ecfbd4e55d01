/** `zmp/toolbox`: nodes built on the core (proxy, cache, feedback loops) and the control maths. */
export * from "./control/index.js";
