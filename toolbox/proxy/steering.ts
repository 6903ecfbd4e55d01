/**
 * Steering over the wire: every node running a proxy or cache serves one
 * service, `<node name>.control`, taking `{ op, target?, ... }`:
 *
 * | op           | does                                                        | replies                 |
 * |--------------|-------------------------------------------------------------|-------------------------|
 * | `list`       | names what the node runs                                    | `[{ id, kind, name }]`  |
 * | `stats`      | statistics of `target`, or of everything                    | stats, or `{ id: stats }` |
 * | `pause`      | stops passing traffic on (each kind says how)               | `{ ok, targets }`       |
 * | `resume`     | passes traffic on again                                     | `{ ok, targets }`       |
 * | `stop`       | removes the proxy or cache from the graph (traffic goes direct) | `{ ok, targets }`   |
 * | `set`        | changes settings while running (`rate`, `capacity`, `tap`…) | the new stats           |
 * | `invalidate` | drops cache entries (`key`, `prefix`, `request`, `all`)     | `{ removed }`           |
 *
 * `target` is an id (`queue:jobs`, `cache:users.get`) or a bare channel name
 * when it is unambiguous; without one, `pause`, `resume` and `stop` act on
 * everything, and `set` / `invalidate` need the node to run exactly one
 * matching thing.
 */
import { BusyError } from "../../core/errors.js";
import type { Node } from "../../core/node.js";

/** What the control service can steer: a proxy or a cache. */
export interface Steerable {
  /** `<kind>:<channel>`: `service:add`, `queue:jobs`, `topic:sensor/`, `cache:users.get`, `lvc:sensor/`. */
  readonly id: string;
  readonly paused: boolean;
  pause(): void;
  resume(): void;
  stats(): object;
  /** Changes settings; throws on an unknown or invalid one. */
  set(values: Record<string, unknown>): void;
  /** Leaves the graph (unfronts) and releases what it holds. */
  close(): Promise<void>;
  /** Caches only: drops entries, returns how many. */
  invalidate?(what: Record<string, unknown>): number;
}

/** The steering service of a node: `<node name>.control`. */
export function controlService(node: string): string {
  return `${node}.control`;
}

/** A request to the steering service. */
export interface ControlRequest {
  op: "list" | "stats" | "pause" | "resume" | "stop" | "set" | "invalidate";
  /** Id (`queue:jobs`) or channel name (`jobs`); see the module comment for the default. */
  target?: string;
  [setting: string]: unknown;
}

const registries = new WeakMap<Node, Map<string, Steerable>>();

/**
 * Lists `item` on its node's steering service (providing the service with
 * the first item). Returns the function that unlists it.
 */
export function register(node: Node, item: Steerable): () => void {
  const items = registries.get(node) ?? new Map<string, Steerable>();
  registries.set(node, items);
  if (items.has(item.id)) throw new BusyError(`node \`${node.name}\` already runs \`${item.id}\``);
  const first = items.size === 0;
  items.set(item.id, item);
  if (first) node.provide(controlService(node.name), (request) => control(items, request));
  return () => {
    if (items.get(item.id) !== item) return;
    items.delete(item.id);
    if (items.size === 0 && node.state === "running") node.unprovide(controlService(node.name));
  };
}

/** What a node runs, as the steering service lists it (in code). */
export function steerables(node: Node): Steerable[] {
  return [...(registries.get(node)?.values() ?? [])];
}

function describe(item: Steerable): { id: string; kind: string; name: string } {
  const colon = item.id.indexOf(":");
  return { id: item.id, kind: item.id.slice(0, colon), name: item.id.slice(colon + 1) };
}

function pick(
  items: Map<string, Steerable>,
  target: unknown,
  op: string,
  need?: keyof Steerable,
): Steerable[] {
  const all = [...items.values()].filter((i) => need === undefined || typeof i[need] === "function");
  if (target === undefined) return all;
  if (typeof target !== "string")
    throw new TypeError(`Expected \`target\` to be a string, got \`${String(target)}\``);
  const exact = all.find((i) => i.id === target);
  if (exact !== undefined) return [exact];
  const byName = all.filter((i) => describe(i).name === target);
  if (byName.length === 1) return byName;
  const known = all.map((i) => i.id).join(", ") || "none";
  throw new RangeError(
    byName.length > 1
      ? `\`${target}\` is ambiguous for ${op}; use one of ${byName.map((i) => i.id).join(", ")}`
      : `no \`${target}\` here for ${op}; this node runs ${known}`,
  );
}

function one(items: Map<string, Steerable>, target: unknown, op: string, need?: keyof Steerable): Steerable {
  const found = pick(items, target, op, need);
  if (found.length === 1) return found[0]!;
  throw new RangeError(
    found.length === 0
      ? `nothing here takes ${op}`
      : `${op} needs a \`target\`: one of ${found.map((i) => i.id).join(", ")}`,
  );
}

async function control(items: Map<string, Steerable>, request: unknown): Promise<unknown> {
  if (request === null || typeof request !== "object" || Array.isArray(request))
    throw new TypeError(
      `Expected a control request \`{ op, target?, ... }\`, got \`${JSON.stringify(request)}\``,
    );
  const { op, target, ...rest } = request as ControlRequest;
  switch (op) {
    case "list":
      return [...items.values()].map(describe);
    case "stats": {
      if (target !== undefined) return one(items, target, op).stats();
      return Object.fromEntries([...items.values()].map((i) => [i.id, i.stats()]));
    }
    case "pause":
    case "resume": {
      const chosen = pick(items, target, op);
      for (const item of chosen) item[op]();
      return { ok: true, targets: chosen.map((i) => i.id) };
    }
    case "stop": {
      const chosen = pick(items, target, op);
      // Reply first: stopping may unprovide this very service.
      setImmediate(() => {
        for (const item of chosen) void item.close().catch(() => undefined);
      });
      return { ok: true, targets: chosen.map((i) => i.id) };
    }
    case "set": {
      const item = one(items, target, op);
      item.set(rest);
      return item.stats();
    }
    case "invalidate": {
      const item = one(items, target, op, "invalidate");
      return { removed: item.invalidate!(rest) };
    }
    default:
      throw new RangeError(
        `Expected \`op\` to be one of list, stats, pause, resume, stop, set, invalidate, got \`${String(op)}\``,
      );
  }
}
