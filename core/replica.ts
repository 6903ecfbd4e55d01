/**
 * Each node's copy of the directory: a versioned map of node records kept up
 * to date by the directory's change notifications (and, when one was missed,
 * by a fresh snapshot — the zguide's "Clone" pattern in small). Lookups
 * (providers of a service, publishers of a topic, pullers of a queue) read
 * indexes rebuilt lazily after a change.
 */
import type { DirectoryChange, FrontRecord, NodeRecord } from "./record.js";

export type ReplicaListener = (change: DirectoryChange) => void;

export class Replica {
  #nodes = new Map<string, NodeRecord>();
  /** Nodes a snapshot lacked, kept until this time (ms) unless they reappear. */
  readonly #stale = new Map<string, number>();
  #version = -1;
  #services: Map<string, NodeRecord[]> | undefined;
  #pullers: Map<string, NodeRecord[]> | undefined;
  #listeners = new Set<ReplicaListener>();
  /** Routes by service and by queue name (two maps: no key string is built per call). */
  #routed = {
    service: new Map<string, readonly NodeRecord[]>(),
    queue: new Map<string, readonly NodeRecord[]>(),
  };
  /** Instance id of the node holding this replica (it may front channels itself). */
  self = "";
  /**
   * Whether the node holding this replica fronts a channel — known locally at
   * once, before the directory echoes it back.
   */
  frontsHere: (kind: FrontRecord["kind"], name: string) => boolean = () => false;

  /** Version of the directory state this replica reflects (−1 before the first snapshot). */
  get version(): number {
    return this.#version;
  }

  /**
   * Replaces the state with a snapshot and announces the differences. A node
   * the snapshot lacks is not taken for dead at once — after a directory
   * restart, nodes re-register one by one — but kept for `graceMs` (see
   * {@link expire}); only an explicit notice or the grace running out removes
   * it. With `graceMs` 0 it goes at once.
   */
  load(version: number, nodes: readonly NodeRecord[], graceMs = 0, now = Date.now()): void {
    const next = new Map(nodes.map((n) => [n.id, n]));
    const changes: DirectoryChange[] = [];
    for (const [id, old] of this.#nodes) {
      if (next.has(id)) {
        this.#stale.delete(id);
        if (next.get(id) !== old) changes.push({ op: "up", node: next.get(id)! });
      } else if (graceMs > 0) {
        next.set(id, old);
        if (!this.#stale.has(id)) this.#stale.set(id, now + graceMs);
      } else changes.push({ op: "down", id, reason: "gone from snapshot" });
    }
    for (const [id, node] of next) if (!this.#nodes.has(id)) changes.push({ op: "up", node });
    this.#nodes = next;
    if (graceMs === 0) this.#stale.clear();
    this.#version = version;
    this.#invalidate();
    for (const change of changes) this.#emit(change);
  }

  /** Removes the nodes a snapshot lacked whose grace has run out. */
  expire(now = Date.now()): void {
    for (const [id, until] of this.#stale) {
      if (until > now) continue;
      this.#stale.delete(id);
      if (this.#nodes.delete(id)) {
        this.#invalidate();
        this.#emit({ op: "down", id, reason: "did not re-register" });
      }
    }
  }

  /** Forgets everything (the node stopped). */
  clear(): void {
    this.#nodes = new Map();
    this.#stale.clear();
    this.#version = -1;
    this.#invalidate();
  }

  /**
   * Applies one notification. Returns false when it does not follow the
   * current version (a notification was missed): the caller fetches a snapshot.
   */
  apply(version: number, change: DirectoryChange): boolean {
    if (version <= this.#version) return true;
    if (version !== this.#version + 1) return false;
    this.#version = version;
    if (change.op === "up") {
      this.#nodes.set(change.node.id, change.node);
      this.#stale.delete(change.node.id);
    } else {
      this.#stale.delete(change.id);
      if (!this.#nodes.delete(change.id)) return true;
    }
    this.#invalidate();
    this.#emit(change);
    return true;
  }

  /** Forgets a node at once (its host was seen to exit); the directory's notice follows. */
  drop(id: string, reason: string): void {
    if (!this.#nodes.delete(id)) return;
    this.#invalidate();
    this.#emit({ op: "down", id, reason });
  }

  get(id: string): NodeRecord | undefined {
    return this.#nodes.get(id);
  }

  byName(name: string): NodeRecord | undefined {
    for (const node of this.#nodes.values()) if (node.name === name) return node;
    return undefined;
  }

  all(): NodeRecord[] {
    return [...this.#nodes.values()];
  }

  /** Live nodes providing `service`. */
  providers(service: string): readonly NodeRecord[] {
    if (this.#services === undefined) {
      this.#services = new Map();
      for (const node of this.#nodes.values())
        for (const s of node.services) {
          const list = this.#services.get(s);
          if (list === undefined) this.#services.set(s, [node]);
          else list.push(node);
        }
    }
    return this.#services.get(service) ?? [];
  }

  /** Live nodes pulling from `queue`. */
  pullers(queue: string): readonly NodeRecord[] {
    if (this.#pullers === undefined) {
      this.#pullers = new Map();
      for (const node of this.#nodes.values())
        for (const q of node.queues) {
          const list = this.#pullers.get(q.name);
          if (list === undefined) this.#pullers.set(q.name, [node]);
          else list.push(node);
        }
    }
    return this.#pullers.get(queue) ?? [];
  }

  /** Live nodes that publish a topic matching `prefix` (ZeroMQ prefix semantics). */
  publishers(prefix: string): NodeRecord[] {
    const result: NodeRecord[] = [];
    for (const node of this.#nodes.values())
      if (node.topics.some((t) => t.startsWith(prefix))) result.push(node);
    return result;
  }

  subscribe(listener: ReplicaListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Drops cached routes (this node's own fronts changed). */
  invalidateRoutes(): void {
    this.#routed.service.clear();
    this.#routed.queue.clear();
  }

  #invalidate(): void {
    this.#services = undefined;
    this.#pullers = undefined;
    this.invalidateRoutes();
  }

  /** Live nodes fronting a service or queue named `name`, or topics under a prefix of `name`. */
  fronting(kind: FrontRecord["kind"], name: string): NodeRecord[] {
    const result: NodeRecord[] = [];
    for (const node of this.#nodes.values()) {
      if (
        node.fronts.some(
          (f) => f.kind === kind && (kind === "topic" ? name.startsWith(f.name) : f.name === name),
        )
      )
        result.push(node);
    }
    return result;
  }

  /**
   * Where this node sends calls to `service` (or messages of a queue): to the
   * nodes fronting it when there are any, else to its providers (pullers). A
   * node that fronts it itself goes to the real ones, never to a front.
   */
  route(kind: "service" | "queue", name: string): readonly NodeRecord[] {
    const cache = this.#routed[kind];
    const cached = cache.get(name);
    if (cached !== undefined) return cached;
    const all = kind === "service" ? this.providers(name) : this.pullers(name);
    const fronts = this.fronting(kind, name);
    let routed: readonly NodeRecord[];
    if (this.frontsHere(kind, name)) routed = all.filter((n) => n.id !== this.self && !fronts.includes(n));
    else if (fronts.length === 0) routed = all;
    else routed = fronts.filter((n) => n.id !== this.self);
    cache.set(name, routed);
    return routed;
  }

  #emit(change: DirectoryChange): void {
    for (const listener of this.#listeners) listener(change);
  }
}
