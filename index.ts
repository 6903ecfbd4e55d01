/**
 * `zmp`: the core — nodes and channels on ZeroMQ. The rest is imported by
 * name: `zmp/toolbox` (proxies, caches, feedback loops, tuning page, and the
 * control maths), `zmp/control` (the control maths alone) and
 * `zmp/experiments`.
 */
export * from "./core/index.js";
