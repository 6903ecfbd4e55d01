/**
 * Build any controller of `toolbox/control` by name, so an experiment or a
 * CLI flag (`--controller pie`) can pick one without importing its class.
 */
import { Aimd, type AimdOptions } from "./baselines/aimd.js";
import { Codel, type CodelOptions } from "./baselines/codel.js";
import { FixedRate, type FixedRateOptions } from "./baselines/fixed-rate.js";
import { Gradient2, type Gradient2Options } from "./baselines/gradient2.js";
import { Pie, type PieOptions } from "./baselines/pie.js";
import { Vegas, type VegasOptions } from "./baselines/vegas.js";
import type { Controller } from "./controller.js";
import { Pid, type PidOptions } from "./pid.js";
import { VelocityPid, type VelocityPidOptions } from "./velocity-pid.js";

/** The options each controller kind takes. */
export interface ControllerOptionsMap {
  pid: PidOptions;
  "velocity-pid": VelocityPidOptions;
  "fixed-rate": FixedRateOptions;
  aimd: AimdOptions;
  pie: PieOptions;
  gradient2: Gradient2Options;
  vegas: VegasOptions;
  codel: CodelOptions;
}

/** A controller name `createController` accepts; equal to the built controller's `kind`. */
export type ControllerKind = keyof ControllerOptionsMap;

/** Every kind `createController` accepts, in a stable order (for CLI help and sweeps). */
export const controllerKinds: readonly ControllerKind[] = Object.freeze([
  "pid",
  "velocity-pid",
  "fixed-rate",
  "aimd",
  "pie",
  "gradient2",
  "vegas",
  "codel",
]);

const factories: { [K in ControllerKind]: (options: ControllerOptionsMap[K]) => Controller } = {
  pid: (options) => new Pid(options),
  "velocity-pid": (options) => new VelocityPid(options),
  "fixed-rate": (options) => new FixedRate(options),
  aimd: (options) => new Aimd(options),
  pie: (options) => new Pie(options),
  gradient2: (options) => new Gradient2(options),
  vegas: (options) => new Vegas(options),
  codel: (options) => new Codel(options),
};

/**
 * Create a controller by kind. The options are the kind's constructor
 * options and are validated there (unknown keys throw a `RangeError`
 * naming the key); an unknown kind throws a `RangeError` listing the kinds.
 */
export function createController<K extends ControllerKind>(
  kind: K,
  options?: ControllerOptionsMap[K],
): Controller;
/** Create a controller from untyped input (a CLI flag, a config file); validated the same way. */
export function createController(kind: string, options?: Record<string, unknown>): Controller;
export function createController(kind: string, options: Record<string, unknown> = {}): Controller {
  if (!Object.hasOwn(factories, kind)) {
    throw new RangeError(
      `Unknown controller kind \`${kind}\`; expected one of ${controllerKinds.join(", ")}`,
    );
  }
  if (typeof options !== "object" || options === null || Array.isArray(options)) {
    throw new TypeError(`Expected the options of \`${kind}\` to be an object, got \`${String(options)}\``);
  }
  const factory = factories[kind as ControllerKind] as (options: Record<string, unknown>) => Controller;
  return factory(options);
}
