/**
 * Admission control at the producers (the other place for it is a queue
 * proxy in front of the queue): an `AdmissionGate` decides for each
 * message a producer is offered whether it goes on to the queue. Every
 * refusal is counted as *shed* — never silently lost — and the producer is
 * told (`admit()` returns false), so it can answer its own caller.
 *
 * The gate's actuators are its token-bucket `rate` (msg/s; the queue
 * proxy's `TokenBucket`: RFC 2697's committed rate with a burst of
 * max(1, rate × 0.05 s) unless set) and a random admission `fraction`
 * (PIE's and CoDel's output). `serveAdmission`
 * lets a loop on another node set them over the steering service
 * `<name>.control`; `admissionActuator` sets them on this node and
 * `remoteAdmissionActuator` on other nodes — remote gates or a queue proxy,
 * which speaks the same `{ op: "set", rate }`.
 */
import type { Node } from "../../core/index.js";
import { Random } from "../control/random.js";
import { checkKeys, checkNumber, fail, oneOf } from "../control/validate.js";
import { between, MAX_COUNT, MAX_RATE, upToOrUnlimited } from "../limits.js";
import { TokenBucket } from "../proxy/token-bucket.js";
import { serveControl } from "../steering.js";
import { type Actuator, localActuator, serviceActuator } from "./actuator.js";

/** Options of `AdmissionGate`. */
export interface AdmissionGateOptions {
  /** Messages admitted per second (token bucket); `Infinity` or `null` admits all. Default Infinity. */
  rate?: number | null;
  /** Bucket depth, messages (≥ 1). Default max(1, rate × 0.05 s), following the rate. */
  burst?: number;
  /** Share of offered messages admitted at random, after the bucket, 0…1. Default 1. */
  fraction?: number;
  /** Seed of the random stream `fraction` draws from. Default 1. */
  seed?: number;
  /** Clock, ms (monotonic). Default `performance.now`. */
  now?: () => number;
}

/** A gate's settings and counters (what its steering service replies). */
export interface AdmissionStats {
  kind: "admission";
  /** Admission rate in force, msg/s; `null`: unlimited. */
  rate: number | null;
  burst: number;
  fraction: number;
  /** Messages offered: admitted + shed. */
  offered: number;
  admitted: number;
  /** Refused (counted, never silently lost): by the bucket, by the fraction, by the producer's own checks. */
  shed: number;
  shedByRate: number;
  shedByFraction: number;
  shedOther: number;
  /** When the stats were read, ms since the epoch. */
  time: number;
}

function rateOf(value: unknown): number {
  if (value === null) return Number.POSITIVE_INFINITY;
  return checkNumber(
    "rate",
    value,
    "a non-negative number of msg/s (Infinity or null: unlimited)",
    (v) => v >= 0,
  );
}

function burstOf(value: unknown): number {
  return checkNumber("burst", value, "a number ≥ 1", (v) => v >= 1 && Number.isFinite(v));
}

function fractionOf(value: unknown): number {
  return checkNumber("fraction", value, "a number in [0, 1]", (v) => v >= 0 && v <= 1);
}

/**
 * A producer's admission gate: a token bucket and a random fraction. Call
 * `admit()` for each offered message; `false` means shed (already counted).
 */
export class AdmissionGate {
  /** The queue proxy's token bucket: the same admission arithmetic at a producer. */
  readonly #bucket: TokenBucket;
  #fraction: number;
  readonly #random: Random;
  readonly #counts = { offered: 0, admitted: 0, shedByRate: 0, shedByFraction: 0, shedOther: 0 };

  constructor(options: AdmissionGateOptions = {}) {
    if (options === null || typeof options !== "object") fail("options", "an object", options, true);
    checkKeys("AdmissionGate", options, ["rate", "burst", "fraction", "seed", "now"]);
    if (options.now !== undefined && typeof options.now !== "function")
      fail("now", "a function", options.now, true);
    this.#bucket = new TokenBucket({
      rate: options.rate === undefined ? Number.POSITIVE_INFINITY : rateOf(options.rate),
      ...(options.burst === undefined ? {} : { burst: burstOf(options.burst) }),
      ...(options.now === undefined ? {} : { now: options.now }),
    });
    this.#fraction = fractionOf(options.fraction ?? 1);
    this.#random = new Random(checkNumber("seed", options.seed ?? 1, "a finite number", Number.isFinite));
  }

  /** Messages per second admitted (Infinity: unlimited). A change keeps the tokens earned so far (up to the new burst). */
  get rate(): number {
    return this.#bucket.rate;
  }

  set rate(value: number) {
    this.#bucket.rate = rateOf(value);
  }

  /** Bucket depth, messages. */
  get burst(): number {
    return this.#bucket.burst;
  }

  set burst(value: number) {
    this.#bucket.burst = burstOf(value);
  }

  /** Share of offered messages admitted at random, 0…1. */
  get fraction(): number {
    return this.#fraction;
  }

  set fraction(value: number) {
    this.#fraction = fractionOf(value);
  }

  /** One message offered: true to send it on; false when it is shed (counted). */
  admit(): boolean {
    const c = this.#counts;
    c.offered++;
    if (!this.#bucket.take()) {
      c.shedByRate++;
      return false;
    }
    if (this.#fraction < 1 && this.#random.next() >= this.#fraction) {
      c.shedByFraction++;
      return false;
    }
    c.admitted++;
    return true;
  }

  /** Counts an offered message the producer refused by a check of its own (no credit, full buffer) as shed. */
  refuse(): void {
    this.#counts.offered++;
    this.#counts.shedOther++;
  }

  /** Settings and counters as plain data. */
  stats(): AdmissionStats {
    const c = this.#counts;
    return {
      kind: "admission",
      rate: this.rate === Number.POSITIVE_INFINITY ? null : this.rate,
      burst: this.burst,
      fraction: this.#fraction,
      offered: c.offered,
      admitted: c.admitted,
      shed: c.shedByRate + c.shedByFraction + c.shedOther,
      shedByRate: c.shedByRate,
      shedByFraction: c.shedByFraction,
      shedOther: c.shedOther,
      time: Date.now(),
    };
  }

  /** Changes `rate` (null: unlimited), `burst` and `fraction` together; checks all before applying any. */
  set(values: { rate?: number | null; burst?: number; fraction?: number }): void {
    checkKeys("admission settings", values, ["rate", "burst", "fraction"]);
    // What a remote caller sends through `serveAdmission`: bounded (toolbox/limits.ts).
    const rate =
      values.rate === undefined ? undefined : upToOrUnlimited("rate", values.rate, 0, MAX_RATE, " msg/s");
    const burst = values.burst === undefined ? undefined : between("burst", values.burst, 1, MAX_COUNT);
    const fraction = values.fraction === undefined ? undefined : fractionOf(values.fraction);
    if (rate !== undefined) this.rate = rate;
    if (burst !== undefined) this.burst = burst;
    if (fraction !== undefined) this.fraction = fraction;
  }
}

/**
 * Serves `gate` on `<name>.control` (default name: the node's): `{ op:
 * "stats" }` and `{ op: "set", rate?, burst?, fraction? }` reply with its
 * `AdmissionStats`. Returns the function that stops serving.
 */
export function serveAdmission(node: Node, gate: AdmissionGate, name = node.name): () => void {
  return serveControl(node, name, `admission:${name}`, {
    stats: () => gate.stats(),
    set: (values) => {
      gate.set(values as Parameters<AdmissionGate["set"]>[0]);
      return gate.stats();
    },
  });
}

/** The admission setting a loop moves: the bucket's `rate` (msg/s) or the admitted `fraction`. */
export type AdmissionField = "rate" | "fraction";

/** An actuator on a gate of this node: sets its `rate` (clamped at 0; Infinity unlimited) or `fraction` (clamped to 0…1). */
export function admissionActuator(gate: AdmissionGate, field: AdmissionField = "rate"): Actuator {
  if (!(gate instanceof AdmissionGate)) fail("gate", "an AdmissionGate", gate, true);
  oneOf("field", field, ["rate", "fraction"] as const);
  return localActuator(
    field,
    (value) => {
      if (Number.isNaN(value)) fail(field, "a number", value);
      if (field === "rate") {
        gate.rate = Math.max(0, value);
        return gate.rate;
      }
      gate.fraction = Math.min(1, Math.max(0, value));
      return gate.fraction;
    },
    `admission ${field} at ${field === "rate" ? "a token bucket" : "a gate"} on this node`,
  );
}

/** Options of `remoteAdmissionActuator`. */
export interface RemoteAdmissionOptions {
  /** Nodes serving the admission: producers with a served gate, or the queue proxy. Required. */
  nodes: readonly string[];
  /** Steering target on those nodes (`queue:jobs` for a queue proxy). Default: none. */
  target?: string;
  /** `rate` (split evenly among the nodes, the sum returned) or `fraction` (the same everywhere). Default `rate`. */
  field?: AdmissionField;
  /** Longest wait for the replies, ms. Default 1 000. */
  timeoutMs?: number;
}

/**
 * An admission actuator on other nodes, over their steering service: gates
 * served with `serveAdmission`, or a queue proxy (`{ nodes: ["proxy"],
 * target: "queue:jobs" }`). A rate is shared evenly among the nodes.
 */
export function remoteAdmissionActuator(node: Node, options: RemoteAdmissionOptions): Actuator {
  if (options === null || typeof options !== "object") fail("options", "an object", options, true);
  checkKeys("remoteAdmissionActuator", options, ["nodes", "target", "field", "timeoutMs"]);
  const field = oneOf("field", options.field ?? "rate", ["rate", "fraction"] as const);
  return serviceActuator(node, {
    name: field,
    targets: options.nodes,
    ...(options.target === undefined ? {} : { target: options.target }),
    split: field === "rate" ? "share" : "each",
    // The gates refuse a finite rate past MAX_RATE: that much is no limit, so it goes as one.
    map:
      field === "rate"
        ? (v) => (v > MAX_RATE ? Number.POSITIVE_INFINITY : Math.max(0, v))
        : (v) => Math.min(1, Math.max(0, v)),
    ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
  });
}
