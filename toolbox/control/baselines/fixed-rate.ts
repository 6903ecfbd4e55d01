/**
 * The static baseline: admit a constant rate, a chosen share of the measured
 * capacity, whatever the queue does. It is what the Netflix concurrency-limits
 * README describes as the traditional practice the adaptive limiters replace:
 * find the rate at which the service tips over and enforce "say 75% of this
 * value" with a token bucket.
 */
import type { Controller, ControllerParams, Observation } from "../controller.js";
import { checkKeys, finite, nonNegative } from "../validate.js";

export interface FixedRateOptions {
  /** Capacity the share applies to, e.g. the service rate at saturation, msg/s, ≥ 0. Default 1 (output is then the share itself). */
  capacity?: number;
  /** Share of `capacity` to admit, ≥ 0 (above 1 overloads on purpose). Default 0.75. */
  share?: number;
  /** Kept for the `Controller` interface; a fixed rate ignores it. Default 0. */
  setpoint?: number;
}

const paramKeys = ["capacity", "share"] as const;

/** Fixed admission rate: output = share · capacity, in the units of `capacity` (msg/s). */
export class FixedRate implements Controller {
  readonly kind = "fixed-rate";
  /** Unused: a fixed rate does not look at the measurement. */
  setpoint: number;
  #capacity: number;
  #share: number;

  constructor(options: FixedRateOptions = {}) {
    checkKeys("FixedRate", options, [...paramKeys, "setpoint"]);
    this.#capacity = nonNegative("capacity", options.capacity ?? 1);
    this.#share = nonNegative("share", options.share ?? 0.75);
    this.setpoint = finite("setpoint", options.setpoint ?? 0);
  }

  get output(): number {
    return this.#share * this.#capacity;
  }

  get components(): Readonly<{ share: number; capacity: number }> {
    return { share: this.#share, capacity: this.#capacity };
  }

  /** Returns share · capacity; the input is only checked. */
  update(input: number | Observation, _dt?: number): number {
    finite("measurement", typeof input === "number" ? input : input.measurement);
    return this.output;
  }

  params(): ControllerParams {
    return { capacity: this.#capacity, share: this.#share };
  }

  setParams(params: Partial<Record<string, number | boolean | string | null>>): void {
    checkKeys("FixedRate", params, paramKeys);
    const capacity =
      params.capacity === undefined ? this.#capacity : nonNegative("capacity", params.capacity);
    const share = params.share === undefined ? this.#share : nonNegative("share", params.share);
    this.#capacity = capacity;
    this.#share = share;
  }

  /** Nothing to forget. */
  reset(): void {}
}
