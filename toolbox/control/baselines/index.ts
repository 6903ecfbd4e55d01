/** The baseline controllers zmp's PID loops are compared against (issue 4 §6). */
export type { AimdOptions } from "./aimd.js";
export { Aimd } from "./aimd.js";
export type { CodelComponents, CodelOptions } from "./codel.js";
export { Codel } from "./codel.js";
export type { FixedRateOptions } from "./fixed-rate.js";
export { FixedRate } from "./fixed-rate.js";
export type { Gradient2Components, Gradient2Options } from "./gradient2.js";
export { Gradient2 } from "./gradient2.js";
export type { PieComponents, PieOptions } from "./pie.js";
export { Pie, pieAutoTuneScale } from "./pie.js";
export type { VegasComponents, VegasOptions } from "./vegas.js";
export { Vegas, vegasLog10 } from "./vegas.js";
