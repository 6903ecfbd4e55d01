/** The package root: the core and the toolbox. */
export * from "./core/index.js";
export * from "./toolbox/index.js";
