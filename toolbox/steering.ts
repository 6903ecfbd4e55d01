/**
 * Steering over the wire, one convention for the whole toolbox: a node that
 * can be steered serves `<name>.control`, taking `{ op, target?, ... }` and
 * replying with plain data, so one client drives a queue proxy, a cache, a
 * queue worker, an admission gate or a feedback loop alike.
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
 * Other ops (a loop's `log`, `mode`…) are listed by the service that takes
 * them. `target` is an id (`queue:jobs`, `cache:users.get`) or a bare channel
 * name when it is unambiguous.
 *
 * Two servers share it: `register` lists proxies and caches on their node's
 * service `<node name>.control` (several per node; without a target, `pause`,
 * `resume` and `stop` act on everything, and `set` / `invalidate` need the
 * node to run exactly one matching thing); `serveControl` serves one thing
 * (a loop, a worker, an admission gate) under a name of its own with its own
 * ops. `callControl` is the client.
 *
 * What a caller may change: any caller that reaches the service may send
 * `set`, so a `set` never opens a file — a tap with a `file` is refused with
 * a `ForbiddenError` (file taps are set by local code, or by `--tap-file`
 * when a proxy starts) — and every number it sets is range-checked by the
 * thing it sets (`toolbox/limits.ts`).
 */
import { BusyError, ForbiddenError } from "../core/errors.js";
import type { Node } from "../core/node.js";

/** The steering service of `name` (a node, or a loop serving under its own name): `<name>.control`. */
export function controlService(name: string): string {
  return `${name}.control`;
}

/** A request to a steering service. */
export interface ControlRequest {
  /** `list`, `stats`, `pause`, `resume`, `stop`, `set`, `invalidate`, or an op the service lists (`log`…). */
  op: string;
  /** Id (`queue:jobs`) or channel name (`jobs`) of what to act on when the node runs several things. */
  target?: string;
  [field: string]: unknown;
}

/** What `register` can steer: a proxy or a cache. */
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

/** Calls `<name>.control` from `node` (a node steering itself answers locally through the same path). */
export function callControl<T = unknown>(
  node: Node,
  name: string,
  request: ControlRequest,
  timeoutMs: number,
): Promise<T> {
  return node.call<T>(controlService(name), request, { timeoutMs });
}

/** `{ id, kind, name }` of an id `<kind>:<name>`, as `list` replies. */
function describe(id: string): { id: string; kind: string; name: string } {
  const colon = id.indexOf(":");
  return { id, kind: id.slice(0, colon), name: id.slice(colon + 1) };
}

/** The request as a `ControlRequest`, or a TypeError naming what came. */
function parseRequest(request: unknown): ControlRequest {
  if (request === null || typeof request !== "object" || Array.isArray(request))
    throw new TypeError(
      `Expected a control request \`{ op, target?, ... }\`, got \`${JSON.stringify(request)}\``,
    );
  return request as ControlRequest;
}

function unknownOp(op: unknown, ops: string): RangeError {
  return new RangeError(`Expected \`op\` to be one of ${ops}, got \`${String(op)}\``);
}

// ---------------------------------------------------------------- one thing

/** Handlers of a steering service, by op; each gets the request without `op` and `target`. */
export type ControlHandlers = Record<string, (request: Record<string, unknown>) => unknown>;

/**
 * Serves `<name>.control` on `node` for the one thing `id` with `handlers`
 * (by op), plus `list` when not given. Throws a `BusyError` when the node
 * already serves that service (a proxy steered on the same name): two
 * servers cannot share one service. Returns the function that stops serving.
 */
export function serveControl(node: Node, name: string, id: string, handlers: ControlHandlers): () => void {
  const service = controlService(name);
  if (node.services.includes(service))
    throw new BusyError(`node \`${node.name}\` already serves \`${service}\`; give this one another name`);
  const all: ControlHandlers = { list: () => [describe(id)], ...handlers };
  const ops = Object.keys(all).join(", ");
  node.provide(service, (request: unknown) => {
    const { op, target, ...rest } = parseRequest(request);
    if (target !== undefined && target !== id && target !== describe(id).name)
      throw new RangeError(`no \`${String(target)}\` here; this node runs ${id}`);
    const handler = typeof op === "string" && Object.hasOwn(all, op) ? all[op] : undefined;
    if (handler === undefined) throw unknownOp(op, ops);
    return handler(rest);
  });
  return () => {
    if (node.state === "running" || node.state === "stopping") node.unprovide(service);
  };
}

// ---------------------------------------------------- proxies and caches

const registries = new WeakMap<Node, Map<string, Steerable>>();

/**
 * Lists `item` on its node's steering service `<node name>.control`
 * (providing the service with the first item). Returns the function that
 * unlists it.
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

/** What a node runs, as its steering service lists it (in code). */
export function steerables(node: Node): Steerable[] {
  return [...(registries.get(node)?.values() ?? [])];
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
  const byName = all.filter((i) => describe(i.id).name === target);
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

/**
 * Throws a `ForbiddenError` when a `set` over the wire names a tap file:
 * the proxy would open any path it names for append, as its own user.
 */
function refuseTapFile(settings: Record<string, unknown>, id: string): void {
  const tap = settings.tap;
  if (tap === null || typeof tap !== "object") return;
  const file = (tap as { file?: unknown }).file;
  if (file === undefined) return;
  throw new ForbiddenError(
    `a tap file cannot be set over the steering service (\`${id}\`, file \`${String(file)}\`): ` +
      "set it in code or with --tap-file when the proxy starts; a tap topic can be set here",
  );
}

async function control(items: Map<string, Steerable>, request: unknown): Promise<unknown> {
  const { op, target, ...rest } = parseRequest(request);
  switch (op) {
    case "list":
      return [...items.values()].map((i) => describe(i.id));
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
      refuseTapFile(rest, item.id);
      item.set(rest);
      return item.stats();
    }
    case "invalidate": {
      const item = one(items, target, op, "invalidate");
      return { removed: item.invalidate!(rest) };
    }
    default:
      throw unknownOp(op, "list, stats, pause, resume, stop, set, invalidate");
  }
}
