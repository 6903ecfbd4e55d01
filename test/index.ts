/** Test helpers shared by the suites (not part of the package). */
export * from "./helpers.js";
