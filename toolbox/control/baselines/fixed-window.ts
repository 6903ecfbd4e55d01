/**
 * The trivial baseline of credit-based flow control: a constant credit
 * window — admit a message only while fewer than `window` are in the system
 * (waiting plus in service), refuse the rest (tail drop at the window). It
 * is the zguide's credit-based flow control with a fixed credit, and what a
 * ZeroMQ high-water mark does on its own. Under sustained overload it holds
 * the backlog at the window with no actuator motion at all.
 */
import type { Controller, ControllerParams, Observation } from "../controller.js";
import { checkKeys, finite, positive } from "../validate.js";

export interface FixedWindowOptions {
  /** Credit window, messages, > 0. Default 50. */
  window?: number;
  /** Kept for the `Controller` interface; a fixed window ignores it. Default 0. */
  setpoint?: number;
}

/** Fixed credit window: output = `window`, messages. */
export class FixedWindow implements Controller {
  readonly kind = "fixed-window";
  /** Unused: a fixed window does not look at the measurement. */
  setpoint: number;
  #window: number;

  constructor(options: FixedWindowOptions = {}) {
    checkKeys("FixedWindow", options, ["window", "setpoint"]);
    this.#window = positive("window", options.window ?? 50);
    this.setpoint = finite("setpoint", options.setpoint ?? 0);
  }

  get output(): number {
    return this.#window;
  }

  get components(): Readonly<{ window: number }> {
    return { window: this.#window };
  }

  /** Returns the window; the input is only checked. */
  update(input: number | Observation, _dt?: number): number {
    finite("measurement", typeof input === "number" ? input : input.measurement);
    return this.#window;
  }

  params(): ControllerParams {
    return { window: this.#window };
  }

  setParams(params: Partial<Record<string, number | boolean | string | null>>): void {
    checkKeys("FixedWindow", params, ["window"]);
    if (params.window !== undefined) this.#window = positive("window", params.window);
  }

  /** Nothing to forget. */
  reset(): void {}
}
