/**
 * The one interface every controller of `toolbox/control` implements (PID,
 * velocity PID, PIE, AIMD, Gradient2, Vegas, CoDel, fixed rate), so a loop or
 * an experiment can swap them without knowing which one runs.
 *
 * Vocabulary (the README's concept table): the *measurement* is the controlled variable
 * as sampled (for queue loops: the backlog, "charge", in messages); the
 * *setpoint* is its target; the *output* is what the loop applies to its
 * actuator (an admission rate in msg/s, a credit window, a worker count...).
 * Times are in seconds.
 */

/**
 * Everything a loop may observe at one sample. Only `measurement` is required;
 * controllers that need another signal (PIE needs `delay`, Gradient2 needs
 * `latency`) document it and throw a `RangeError` naming the field when it is
 * missing.
 */
export interface Observation {
  /** The controlled variable, in setpoint units (queue loops: backlog, messages). */
  measurement: number;
  /** Queueing delay / sojourn time, seconds (PIE, CoDel). */
  delay?: number;
  /** Round-trip or service latency of recent requests, seconds (Gradient2, Vegas). */
  latency?: number;
  /** Measured arrival (offered) rate, msg/s (feedforward, rate baselines). */
  arrivalRate?: number;
  /** Measured departure (service) rate, msg/s. */
  serviceRate?: number;
  /** Requests in flight (concurrency), for limit controllers. */
  inflight?: number;
  /** The sample saw loss, drops or timeouts (AIMD's congestion signal). */
  congested?: boolean;
}

/** A controller's tunable parameters as plain data (gains, limits, targets). */
export type ControllerParams = Readonly<Record<string, number | boolean | string | null>>;

export interface Controller {
  /** Short stable name used in logs and reports: "pid", "pie", "aimd", ... */
  readonly kind: string;
  /** Target for the measurement, in measurement units. Changing it is bumpless. */
  setpoint: number;
  /**
   * Compute the next output. `input` is the measurement alone or a full
   * observation; `dt` is the time since the previous update in seconds (when
   * omitted the controller uses its fixed `sampleTime` or its injected clock).
   */
  update(input: number | Observation, dt?: number): number;
  /** The last output returned by `update` (or the initial output before any). */
  readonly output: number;
  /**
   * The parts the last output was made of, for logging: PID gives
   * `{ p, i, d, ff }`; other controllers give their internal state (PIE its
   * drop probability, Gradient2 its gradient...). Plain numbers only.
   */
  readonly components: Readonly<Record<string, number>>;
  /** Current parameters as plain data (for logs, reports and services). */
  params(): ControllerParams;
  /**
   * Change parameters while running, without a bump in the output (PID
   * rescales its integral; others keep their state). Unknown keys throw a
   * `RangeError` naming the key.
   */
  setParams(params: Partial<Record<string, number | boolean | string | null>>): void;
  /** Forget all state (integral, filters, history); the next update starts afresh. */
  reset(): void;
}

/** Turns `number | Observation` into an `Observation`. */
export function observe(input: number | Observation): Observation {
  return typeof input === "number" ? { measurement: input } : input;
}
