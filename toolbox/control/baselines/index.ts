/** The baseline controllers and queue disciplines zmp's loops are compared against. */
export type { AimdOptions } from "./aimd.js";
export { Aimd } from "./aimd.js";
export type { CodelComponents, CodelOptions, CodelQueueOptions } from "./codel.js";
export { Codel, CodelQueue } from "./codel.js";
export type { QueueDiscipline } from "./discipline.js";
export type { FixedRateOptions } from "./fixed-rate.js";
export { FixedRate } from "./fixed-rate.js";
export type { FixedWindowOptions } from "./fixed-window.js";
export { FixedWindow } from "./fixed-window.js";
export type { Gradient2Components, Gradient2Options } from "./gradient2.js";
export { Gradient2 } from "./gradient2.js";
export type { PieComponents, PieOptions, PieQueueOptions } from "./pie.js";
export { Pie, PieQueue, pieAutoTuneScale } from "./pie.js";
export type { VegasComponents, VegasOptions } from "./vegas.js";
export { Vegas, vegasLog10 } from "./vegas.js";
