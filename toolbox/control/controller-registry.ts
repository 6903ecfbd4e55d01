/**
 * Build any controller of `toolbox/control` by name, so an experiment or a
 * CLI flag (`--controller pie`) can pick one without importing its class,
 * or from plain data (a spec), so a loop's controller can be chosen and
 * replaced over its service: `{ kind: "pid", options: { kp: 2, ki: 0.5 } }`;
 * `{ kind: "cascade", options: { outer: spec, inner: spec, ...CascadeOptions } }`
 * builds a `Cascade` of two.
 */
import { Aimd, type AimdOptions } from "./baselines/aimd.js";
import { Codel, type CodelOptions } from "./baselines/codel.js";
import { FixedRate, type FixedRateOptions } from "./baselines/fixed-rate.js";
import { FixedWindow, type FixedWindowOptions } from "./baselines/fixed-window.js";
import { Gradient2, type Gradient2Options } from "./baselines/gradient2.js";
import { Pie, type PieOptions } from "./baselines/pie.js";
import { Vegas, type VegasOptions } from "./baselines/vegas.js";
import { Cascade, type CascadeOptions } from "./cascade.js";
import type { Controller } from "./controller.js";
import { DelayWindow, type DelayWindowOptions } from "./delay-window.js";
import { Pid, type PidOptions } from "./pid.js";
import { fail } from "./validate.js";
import { VelocityPid, type VelocityPidOptions } from "./velocity-pid.js";

/** A controller as plain data. */
export interface ControllerSpec {
  /** One of `controllerKinds` (`pid`, `velocity-pid`, `pie`, ..., `cascade`). */
  kind: string;
  /** The kind's options (plain data); for `cascade`, `outer` and `inner` are specs. Default `{}`. */
  options?: Record<string, unknown>;
}

/** The options of a cascade built by kind: the two loops given as specs or as controllers. */
export interface CascadeSpecOptions extends Omit<CascadeOptions, "outer" | "inner"> {
  outer: ControllerSpec | Controller;
  inner: ControllerSpec | Controller;
}

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
  cascade: CascadeSpecOptions;
  "fixed-window": FixedWindowOptions;
  "delay-window": DelayWindowOptions;
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
  "cascade",
  "fixed-window",
  "delay-window",
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
  cascade: (options) => {
    const part = (value: ControllerSpec | Controller, name: string): Controller =>
      isController(value) ? value : createController(checkSpec(value, `options.${name}`));
    return new Cascade({
      ...options,
      outer: part(options.outer, "outer"),
      inner: part(options.inner, "inner"),
    });
  },
  "fixed-window": (options) => new FixedWindow(options),
  "delay-window": (options) => new DelayWindow(options),
};

function isController(value: unknown): value is Controller {
  return (
    value !== null &&
    typeof value === "object" &&
    typeof (value as Controller).update === "function" &&
    typeof (value as Controller).reset === "function"
  );
}

/** Checks the shape of a spec (kinds and options are checked by the constructors); `name` is used in messages. */
export function checkSpec(spec: unknown, name = "controller"): ControllerSpec {
  if (spec === null || typeof spec !== "object" || Array.isArray(spec))
    fail(name, "a controller spec `{ kind, options? }`", spec, true);
  const s = spec as ControllerSpec;
  if (typeof s.kind !== "string" || !(controllerKinds as readonly string[]).includes(s.kind))
    fail(`${name}.kind`, `one of ${controllerKinds.join(", ")}`, s.kind, typeof s.kind !== "string");
  if (
    s.options !== undefined &&
    (s.options === null || typeof s.options !== "object" || Array.isArray(s.options))
  )
    fail(`${name}.options`, "an object", s.options, true);
  return s;
}

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
/** Create the controller a spec describes (`{ kind, options? }`); validated the same way. */
export function createController(spec: ControllerSpec): Controller;
export function createController(
  kindOrSpec: string | ControllerSpec,
  options: Record<string, unknown> = {},
): Controller {
  if (typeof kindOrSpec !== "string") {
    const spec = checkSpec(kindOrSpec);
    return createController(spec.kind, spec.options ?? {});
  }
  const kind = kindOrSpec;
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
