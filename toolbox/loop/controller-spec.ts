/**
 * Controllers as plain data, so a loop's controller can be chosen and
 * replaced over its service: `{ kind: "pid", options: { kp: 2, ki: 0.5 } }`
 * builds a `Pid` through `createController`; `{ kind: "cascade", options: {
 * outer: spec, inner: spec, ...CascadeOptions } }` builds a `Cascade` of two.
 *
 * Bumpless transfer (Åström & Hägglund, "Advanced PID Control", ch. 3;
 * Beauregard's "Initialization"): a controller that replaces another, or
 * takes over from a manual output, starts from the output in force.
 * `bumplessStart` does it in place for `Pid` (manual at that output, then auto:
 * the integral absorbs the difference) and `Cascade` (inner loop from the
 * output, outer loop from the inner measurement, so the inner setpoint starts
 * where the inner loop already is); `buildController` passes the output as
 * `initialOutput` (velocity PID, AIMD) or `initialLimit` (Gradient2, Vegas).
 * The other kinds (fixed rate, PIE, CoDel) compute their output from their
 * own state and cannot start elsewhere: a switch to them is not bumpless.
 */
import { Cascade } from "../control/cascade.js";
import type { Controller, Observation } from "../control/controller.js";
import { controllerKinds, createController } from "../control/controller-registry.js";
import { Pid } from "../control/pid.js";
import { fail } from "../control/validate.js";

/** A controller as plain data. */
export interface ControllerSpec {
  /** A kind `createController` builds (`pid`, `velocity-pid`, `pie`, ...) or `"cascade"`. */
  kind: string;
  /** The kind's options (plain data); for `cascade`, `outer` and `inner` are specs. Default `{}`. */
  options?: Record<string, unknown>;
}

/** Every kind a loop can run. */
export const loopControllerKinds: readonly string[] = Object.freeze([...controllerKinds, "cascade"]);

/** The option through which each kind can start from a given output. */
const initialOption: Readonly<Record<string, string>> = {
  "velocity-pid": "initialOutput",
  aimd: "initialOutput",
  gradient2: "initialLimit",
  vegas: "initialLimit",
};

/** Checks the shape of a spec (kinds and options are checked by the constructors). */
export function checkSpec(spec: unknown, name = "controller"): ControllerSpec {
  if (spec === null || typeof spec !== "object" || Array.isArray(spec))
    fail(name, "a controller spec `{ kind, options? }`", JSON.stringify(spec), true);
  const s = spec as ControllerSpec;
  if (typeof s.kind !== "string" || !loopControllerKinds.includes(s.kind))
    fail(`${name}.kind`, `one of ${loopControllerKinds.join(", ")}`, s.kind, typeof s.kind !== "string");
  if (
    s.options !== undefined &&
    (s.options === null || typeof s.options !== "object" || Array.isArray(s.options))
  )
    fail(`${name}.options`, "an object", JSON.stringify(s.options), true);
  return s;
}

/**
 * Builds the controller a spec describes. With `initialOutput` (a finite
 * number), kinds that can start from an output do (see the module comment;
 * an option given in the spec wins).
 */
export function buildController(spec: ControllerSpec, initialOutput?: number): Controller {
  const s = checkSpec(spec);
  const options: Record<string, unknown> = { ...(s.options ?? {}) };
  if (s.kind === "cascade") {
    const { outer, inner, ...rest } = options;
    return new Cascade({
      ...(rest as object),
      outer: buildController(checkSpec(outer, "controller.options.outer")),
      inner: buildController(checkSpec(inner, "controller.options.inner"), initialOutput),
    });
  }
  const key = initialOption[s.kind];
  if (
    key !== undefined &&
    initialOutput !== undefined &&
    Number.isFinite(initialOutput) &&
    options[key] === undefined
  ) {
    // A concurrency limit must stay positive.
    if (key !== "initialLimit" || initialOutput > 0) options[key] = initialOutput;
  }
  return createController(s.kind, options);
}

/**
 * Makes `controller`'s next output equal `output` (bumpless transfer) where
 * the controller can do it in place: `Pid`, and `Cascade` (inner from
 * `output`, outer from the observation's inner signal minus the
 * feedforward). Returns whether it could.
 */
export function bumplessStart(controller: Controller, output: number, observation?: Observation): boolean {
  if (!Number.isFinite(output)) return false;
  if (controller instanceof Pid) {
    controller.setManual(output);
    controller.mode = "auto";
    return true;
  }
  if (controller instanceof Cascade) {
    const inner = bumplessStart(controller.inner, output);
    const p = controller.params();
    const signal = observation?.[p.innerSignal as keyof Observation];
    const ff =
      p.feedforwardSignal === null
        ? 0
        : (p.kff as number) * Number(observation?.[p.feedforwardSignal as keyof Observation]);
    if (typeof signal === "number" && Number.isFinite(signal - ff))
      bumplessStart(controller.outer, signal - ff);
    return inner;
  }
  return false;
}

/**
 * The spec with `params` merged into its options (a cascade's `outer.kp`
 * goes to its outer spec), so a rebuilt controller keeps gains changed while
 * it ran.
 */
export function withParams(spec: ControllerSpec, params: Record<string, unknown>): ControllerSpec {
  const options: Record<string, unknown> = { ...(spec.options ?? {}) };
  for (const [key, value] of Object.entries(params)) {
    if (spec.kind === "cascade" && (key.startsWith("outer.") || key.startsWith("inner."))) {
      const side = key.slice(0, 5);
      options[side] = withParams(options[side] as ControllerSpec, { [key.slice(6)]: value });
    } else options[key] = value;
  }
  return { kind: spec.kind, options };
}
