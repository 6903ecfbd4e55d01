/**
 * Additive increase / multiplicative decrease of an admission rate (or a
 * limit): the TCP congestion-avoidance rule (Chiu & Jain, "Analysis of the
 * increase and decrease algorithms for congestion avoidance in computer
 * networks", 1989; RFC 5681 §3.1), as Netflix concurrency-limits' AIMDLimit
 * applies it to a concurrency limit.
 *
 * Each sample is congested or not. Congested: output ← output · decreaseFactor
 * (once per congested sample). Otherwise: output ← output + increase · dt.
 * The congestion signal is `observation.congested` when the observation has
 * it (loss, drops, timeouts); otherwise the measurement above the setpoint
 * (backlog over its target) counts as congestion.
 */
import type { Controller, ControllerParams, Observation } from "../controller.js";
import { observe } from "../controller.js";
import { bound, checkKeys, checkNumber, checkOrder, finite, nonNegative, positive } from "../validate.js";

export interface AimdOptions {
  /** Output before the first update, output units (msg/s or a limit). Default 1. */
  initialOutput?: number;
  /** Additive increase per second of uncongested time, output units/s, ≥ 0. Default 1. */
  increase?: number;
  /** Multiplicative decrease on a congested sample, in (0, 1). Default 0.5 (TCP; AIMDLimit uses 0.9). */
  decreaseFactor?: number;
  /** Lower output limit, output units. Default 0. */
  outputMin?: number;
  /** Upper output limit, output units; `null` = none. Default `null`. */
  outputMax?: number | null;
  /**
   * Measurement above which a sample counts as congested when the
   * observation has no `congested` flag, measurement units. Default
   * `Infinity` (only the flag signals congestion).
   */
  setpoint?: number;
  /** dt used by `update(x)` without `dt`, seconds. Default 1. */
  sampleTime?: number;
}

const paramKeys = ["increase", "decreaseFactor", "outputMin", "outputMax", "sampleTime"] as const;

/** AIMD admission rate (or limit); `components` gives `{ congested }` (1 or 0) of the last sample. */
export class Aimd implements Controller {
  readonly kind = "aimd";
  /** Congestion threshold for the measurement (see `AimdOptions.setpoint`). */
  setpoint: number;
  #initialOutput: number;
  #output: number;
  #congested = 0;
  #increase: number;
  #decreaseFactor: number;
  #outputMin: number;
  #outputMax: number;
  #sampleTime: number;

  constructor(options: AimdOptions = {}) {
    checkKeys("Aimd", options, [...paramKeys, "initialOutput", "setpoint"]);
    this.#increase = nonNegative("increase", options.increase ?? 1);
    this.#decreaseFactor = factor(options.decreaseFactor ?? 0.5);
    this.#outputMin = finite("outputMin", options.outputMin ?? 0);
    this.#outputMax = bound("outputMax", options.outputMax ?? null, Number.POSITIVE_INFINITY);
    checkOrder("outputMin", this.#outputMin, "outputMax", this.#outputMax);
    this.#sampleTime = positive("sampleTime", options.sampleTime ?? 1);
    const setpoint = options.setpoint ?? Number.POSITIVE_INFINITY;
    this.setpoint = setpoint === Number.POSITIVE_INFINITY ? setpoint : finite("setpoint", setpoint);
    this.#initialOutput = finite("initialOutput", options.initialOutput ?? 1);
    this.#output = this.#clamp(this.#initialOutput);
  }

  get output(): number {
    return this.#output;
  }

  get components(): Readonly<{ congested: number }> {
    return { congested: this.#congested };
  }

  update(input: number | Observation, dt?: number): number {
    const observation = observe(input);
    const y = finite("measurement", observation.measurement);
    const step = dt === undefined ? this.#sampleTime : positive("dt", dt);
    const congested = observation.congested ?? y > this.setpoint;
    this.#congested = congested ? 1 : 0;
    const next = congested ? this.#output * this.#decreaseFactor : this.#output + this.#increase * step;
    this.#output = this.#clamp(next);
    return this.#output;
  }

  params(): ControllerParams {
    return {
      increase: this.#increase,
      decreaseFactor: this.#decreaseFactor,
      outputMin: this.#outputMin,
      outputMax: Number.isFinite(this.#outputMax) ? this.#outputMax : null,
      sampleTime: this.#sampleTime,
    };
  }

  setParams(params: Partial<Record<string, number | boolean | string | null>>): void {
    checkKeys("Aimd", params, paramKeys);
    const increase =
      params.increase === undefined ? this.#increase : nonNegative("increase", params.increase);
    const decrease =
      params.decreaseFactor === undefined ? this.#decreaseFactor : factor(params.decreaseFactor);
    const min = params.outputMin === undefined ? this.#outputMin : finite("outputMin", params.outputMin);
    const max =
      params.outputMax === undefined
        ? this.#outputMax
        : bound("outputMax", params.outputMax, Number.POSITIVE_INFINITY);
    checkOrder("outputMin", min, "outputMax", max);
    const sampleTime =
      params.sampleTime === undefined ? this.#sampleTime : positive("sampleTime", params.sampleTime);
    this.#increase = increase;
    this.#decreaseFactor = decrease;
    this.#outputMin = min;
    this.#outputMax = max;
    this.#sampleTime = sampleTime;
  }

  /** Back to `initialOutput`. */
  reset(): void {
    this.#output = this.#clamp(this.#initialOutput);
    this.#congested = 0;
  }

  #clamp(value: number): number {
    return Math.min(this.#outputMax, Math.max(this.#outputMin, value));
  }
}

function factor(value: unknown): number {
  return checkNumber("decreaseFactor", value, "a number in (0, 1)", (v) => v > 0 && v < 1);
}
