/**
 * The control-service convention the loop speaks on both sides: a node that
 * can be steered serves `<name>.control` and takes `{ op, target?, ... }`,
 * replying with plain data — the same shape as the proxies' and caches'
 * steering service (`list`, `stats`, `set`, `pause`, `resume`, `stop`), so
 * one client drives a queue proxy, a cache, a queue worker, an admission gate
 * or a feedback loop alike. `serveControl` is the small server side used by
 * the loop's own nodes; `callControl` the client side used by its sensors and
 * actuators.
 */
import { BusyError, type Node } from "../../core/index.js";

/** A request to a control service. */
export interface ControlRequest {
  /** `list`, `stats`, `set`, `pause`, `resume`, `stop`, `log`… (each service lists its own). */
  op: string;
  /** What to act on when the node runs several things (`queue:jobs`, `cache:users.get`). */
  target?: string;
  [field: string]: unknown;
}

/** The control service of `name`: `<name>.control`. */
export function controlServiceOf(name: string): string {
  return `${name}.control`;
}

/** Calls `<name>.control` on the node `name` (its own node answers locally through the same path). */
export function callControl<T = unknown>(
  node: Node,
  name: string,
  request: ControlRequest,
  timeoutMs: number,
): Promise<T> {
  return node.call<T>(controlServiceOf(name), request, { timeoutMs });
}

/** Handlers of a control service, by op; each gets the request without `op`. */
export type ControlHandlers = Record<string, (request: Record<string, unknown>) => unknown>;

/**
 * Serves `<name>.control` on `node` with `handlers` (by op), plus `list`
 * (`[{ id, kind, name }]`) when not given. Throws a `BusyError` when the node
 * already serves that service (a proxy steered on the same name): two
 * handlers cannot share one service. Returns the function that stops serving.
 */
export function serveControl(node: Node, name: string, id: string, handlers: ControlHandlers): () => void {
  const service = controlServiceOf(name);
  if (node.services.includes(service))
    throw new BusyError(`node \`${node.name}\` already serves \`${service}\`; give this one another name`);
  const colon = id.indexOf(":");
  const all: ControlHandlers = {
    list: () => [{ id, kind: id.slice(0, colon), name: id.slice(colon + 1) }],
    ...handlers,
  };
  const ops = Object.keys(all).join(", ");
  node.provide(service, (request: unknown) => {
    if (request === null || typeof request !== "object" || Array.isArray(request))
      throw new TypeError(`Expected a control request \`{ op, ... }\`, got \`${JSON.stringify(request)}\``);
    const { op, target, ...rest } = request as ControlRequest;
    if (target !== undefined && target !== id && target !== id.slice(colon + 1))
      throw new RangeError(`no \`${String(target)}\` here; this node runs ${id}`);
    const handler = typeof op === "string" && Object.hasOwn(all, op) ? all[op] : undefined;
    if (handler === undefined)
      throw new RangeError(`Expected \`op\` to be one of ${ops}, got \`${String(op)}\``);
    return handler(rest);
  });
  return () => {
    if (node.state === "running" || node.state === "stopping") node.unprovide(service);
  };
}
