/**
 * Who may steer a node. Steering services — every `<name>.control` (a
 * proxy's, a cache's, a loop's, a worker's) and `zmp.faults` — change what a
 * node does for everyone: pause it, stop it, redirect its traffic. In a
 * CurveZMQ graph they answer only callers whose key may steer: the node's
 * own, the directory's, and the keys the directory's allow list marks
 * `control`. A caller shows its key with each steering call (AUTH CALL
 * frames carry it and a proof made with it, key-proof.ts); a call without,
 * or with a key that may not steer, is refused with `ForbiddenError` and
 * counted. A graph without CurveZMQ has no keys to tell callers apart: its
 * steering services answer anyone who reaches them (docs/security.md).
 *
 * A proof names the callee's instance id, the service and the call's
 * correlation id, under a key only the caller's and the callee's key
 * holders can compute: the node that receives it cannot use it anywhere
 * else (another node, another service, another call), and nobody else
 * reads it (it travels inside CurveZMQ). It does not cover the request
 * itself, nor stop the callee from "replaying" to itself. A node holding
 * the callee's secret key could make such proofs on its own: nodes sharing
 * a key pair are one principal, and may steer one another anyway (their
 * own key may). Cost: about 5–10 µs to sign and 14 µs to check a steering
 * call, 2 ms for the first call between two keys; other calls pay one
 * `endsWith` (tens of ns), and nodes without CurveZMQ nothing.
 */
import { ForbiddenError } from "./errors.js";
import { prove, verify } from "./key-proof.js";
import type { AllowEntry } from "./policy.js";

/** Whether `service` steers a node (only callers that may steer may call it). */
export function isSteering(service: string): boolean {
  return service.endsWith(".control") || service === "zmp.faults";
}

/**
 * What a directory's register reply says of its allow list: the keys that
 * may steer, and (when it tells) the keys let in. Undefined when malformed.
 */
export function readPolicy(value: unknown): { control: string[]; keys: string[] | undefined } | undefined {
  const p = value as { keys?: unknown; control?: unknown } | null;
  const keyList = (v: unknown): string[] | undefined =>
    Array.isArray(v) && v.every((k) => typeof k === "string" && k.length === 40)
      ? (v as string[])
      : undefined;
  const control = keyList(p?.control);
  const keys = p?.keys === undefined ? undefined : keyList(p.keys);
  if (control === undefined || (p?.keys !== undefined && keys === undefined)) return undefined;
  return { control, keys };
}

/** The keys an allow list marks `control`. */
export function controlKeys(allow: readonly (string | AllowEntry)[] | undefined): string[] {
  return (allow ?? []).flatMap((a) => (typeof a !== "string" && a.control === true ? [a.key] : []));
}

/** The parts a steering call's proof covers: the callee, the service and the call's correlation id. */
function parts(callee: string, service: string, corr: number): string[] {
  return ["zmp steering call", callee, service, String(corr)];
}

export class SteeringAuth {
  readonly #keys: { publicKey: string; secretKey: string } | undefined;
  /** Keys that may steer this node (its own and the directory's always). */
  #control: Set<string>;
  readonly #refused: () => void;

  /**
   * `keys`: the node's key pair (undefined: a node without CurveZMQ, which
   * checks nothing); `refused`: counts a refused call.
   */
  constructor(
    keys: { publicKey: string; secretKey: string } | undefined,
    directoryKey: string | undefined,
    refused: () => void,
  ) {
    this.#keys = keys;
    this.#refused = refused;
    this.#control = new Set([keys?.publicKey, directoryKey].filter((k): k is string => k !== undefined));
  }

  /** The keys the directory's allow list lets steer (from its register reply). */
  setControlKeys(keys: readonly string[], directoryKey: string | undefined): void {
    this.#control = new Set([
      ...keys,
      ...[this.#keys?.publicKey, directoryKey].filter((k): k is string => k !== undefined),
    ]);
  }

  /** Whether calls this node sends to `service` carry a proof (it has a key, and the callee one too). */
  signs(service: string, calleeKey: string | undefined): boolean {
    return this.#keys !== undefined && calleeKey !== undefined && isSteering(service);
  }

  /** This node's key and its proof for a steering call to `callee` (holding `calleeKey`). */
  sign(calleeKey: string, callee: string, service: string, corr: number): [string, string] {
    const keys = this.#keys!;
    return [keys.publicKey, prove(keys, calleeKey, parts(callee, service, corr))];
  }

  /**
   * The verdict on a call to `service` on this node (`self`: its instance
   * id), made without a key (`key` undefined) or with `key` and `proof`:
   * undefined to run it, else the `ForbiddenError` to answer (counted).
   */
  check(
    self: string,
    service: string,
    corr: number,
    key?: unknown,
    proof?: unknown,
  ): ForbiddenError | undefined {
    if (this.#keys === undefined || !isSteering(service)) return undefined;
    let why: string | undefined;
    if (key === undefined) why = "this call carried no key";
    else if (typeof key !== "string" || !this.#control.has(key))
      why = "its key may not steer (no `control` in the allow list)";
    else if (!verify(this.#keys, key, parts(self, service, corr), proof))
      why = "its proof does not match its key";
    if (why === undefined) return undefined;
    this.#refused();
    return new ForbiddenError(
      `\`${service}\` steers this node and takes a caller whose key may steer: ${why}`,
    );
  }
}
