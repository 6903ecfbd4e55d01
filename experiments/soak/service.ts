/**
 * The soak's own service on each of its nodes: `<node name>.soak`, taking
 * `{ op, ... }` like the steering convention's `<name>.control` (which the
 * queue proxy already serves on its node, so the soak's cannot share it).
 */
import type { Node } from "../../core/index.js";

/** The soak service of node `name`. */
export function soakService(name: string): string {
  return `${name}.soak`;
}

/** Handlers by op; each gets the request without `op`. */
export type SoakHandlers = Record<string, (request: Record<string, unknown>) => unknown>;

/** Serves `<node name>.soak` with `handlers`; an unknown op is refused with a message listing the known ones. */
export function serveSoak(node: Node, handlers: SoakHandlers): void {
  const ops = Object.keys(handlers).join(", ");
  node.provide(soakService(node.name), (request: unknown) => {
    const { op, ...rest } = (request ?? {}) as { op?: unknown };
    const handler = typeof op === "string" && Object.hasOwn(handlers, op) ? handlers[op] : undefined;
    if (handler === undefined)
      throw new RangeError(`Expected \`op\` to be one of ${ops}, got \`${String(op)}\``);
    return handler(rest);
  });
}

/** Calls `<name>.soak` on node `name`. */
export function callSoak<T>(node: Node, name: string, op: string, timeoutMs = 5000): Promise<T> {
  return node.call<T>(soakService(name), { op }, { timeoutMs, node: name });
}
