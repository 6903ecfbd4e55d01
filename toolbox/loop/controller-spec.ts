/**
 * Bumpless transfer for controllers built from specs (Åström & Hägglund,
 * "Advanced PID Control", ch. 3; Beauregard's "Initialization"): a
 * controller that replaces another, or takes over from a manual output,
 * starts from the output in force. `bumplessStart` does it in place for
 * `Pid` (manual at that output, then auto: the integral absorbs the
 * difference) and `Cascade` (inner loop from the output, outer loop from the
 * inner measurement, so the inner setpoint starts where the inner loop
 * already is); `bumplessSpec` passes the output as `initialOutput` (velocity
 * PID, AIMD) or `initialLimit` (Gradient2, Vegas) before the controller is
 * built with `createController`. The other kinds (fixed rate, PIE, CoDel)
 * compute their output from their own state and cannot start elsewhere: a
 * switch to them is not bumpless.
 */
import { Cascade } from "../control/cascade.js";
import type { Controller, Observation } from "../control/controller.js";
import type { ControllerSpec } from "../control/controller-registry.js";
import { Pid } from "../control/pid.js";

/** The option through which each kind can start from a given output. */
const initialOption: Readonly<Record<string, string>> = {
  "velocity-pid": "initialOutput",
  aimd: "initialOutput",
  gradient2: "initialLimit",
  vegas: "initialLimit",
};

/**
 * The spec with `output` as the starting output of the kinds that take one
 * (a cascade's inner spec; an option given in the spec wins). A spec of
 * another shape is returned as is, for `createController` to refuse.
 */
export function bumplessSpec(spec: ControllerSpec, output: number | undefined): ControllerSpec {
  if (output === undefined || !Number.isFinite(output)) return spec;
  const options: Record<string, unknown> = { ...(spec.options ?? {}) };
  if (spec.kind === "cascade") {
    const inner = options.inner;
    if (inner === null || typeof inner !== "object" || typeof (inner as ControllerSpec).kind !== "string")
      return spec;
    return { kind: spec.kind, options: { ...options, inner: bumplessSpec(inner as ControllerSpec, output) } };
  }
  const key = initialOption[spec.kind];
  if (key === undefined || options[key] !== undefined) return spec;
  // A concurrency limit must stay positive.
  if (key === "initialLimit" && !(output > 0)) return spec;
  return { kind: spec.kind, options: { ...options, [key]: output } };
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
