/**
 * The directory maps names to endpoints. Nodes register their record (name,
 * endpoints, services, topics, queues) and heartbeat; the directory evicts a
 * node that misses heartbeats for 2.5 intervals (so a SIGKILLed node is gone
 * within 3), refuses a second live node with a taken name, and notifies every
 * registered node of each change with a version number. It keeps no state on
 * disk: after a restart, nodes learn from their next heartbeat that it does
 * not know them and register again.
 *
 * Each record is encoded once, when it is registered or updated: replies
 * and notifications splice those bytes instead of encoding the directory
 * again for every node. The changes of one event-loop turn make one NOTIFY
 * frame, built once and sent unchanged to every node. A node that missed notifications asks for the changes since
 * the version it has (SNAPSHOT `{ since }`), answered from a bounded log of
 * recent changes, or with the whole directory when the log no longer
 * reaches back that far.
 *
 * The directory is itself a zmp node (named `directory`) whose services are
 * the directory protocol, so it shares the node's framing, limits and meters.
 */
import { BatchWriter, Encoded, encode } from "./codec.js";
import { checkEndpoint, makeIpcDir, removeIpcDir, transportOf } from "./endpoint.js";
import { NameTakenError } from "./errors.js";
import { Node } from "./node.js";
import { type DirectoryChange, type NodeRecord, parseRecord } from "./record.js";
import type { SecurityOptions } from "./security.js";
import type { CallContext } from "./service.js";
import { DirectoryService, Kind } from "./wire.js";

export interface DirectoryOptions {
  /**
   * Endpoints to bind, e.g. `tcp://0.0.0.0:5555` for a graph across hosts.
   * Default: one ipc endpoint in a private temp folder (removed at stop).
   */
  bind?: string | string[];
  /** Heartbeat interval nodes are told to use, in ms. Default 1 000. */
  heartbeatMs?: number;
  /** How long closing sockets may keep sending, in ms. Default 500. */
  lingerMs?: number;
  /** CurveZMQ: the directory's key pair and the node keys allowed to register. Default: none. */
  security?: Omit<SecurityOptions, "directoryKey">;
}

interface Entry {
  record: NodeRecord;
  /** The record as sent: encoded once per registration or update. */
  encoded: Encoded;
  lastSeen: number;
  /** The routing id of the node's connection here, where its notices go (the last it used). */
  connection: string;
}

/** A node is evicted after this many heartbeat intervals of silence (within 3, as promised). */
const EVICT_AFTER = 2.5;

/** Changes kept for nodes catching up (SNAPSHOT `{ since }`); older gaps get the whole directory. */
const LOG_CHANGES = 4096;

const encoded = (value: unknown): Encoded => new Encoded(encode(value));

export class Directory {
  readonly #node: Node;
  readonly #entries = new Map<string, Entry>();
  readonly #names = new Map<string, string>();
  readonly #heartbeatMs: number;
  readonly #endpoints: string[];
  readonly #ownDir: string | undefined;
  #version = 0;
  /** The last changes, encoded, with their versions: `#log[i]` is version `#logFrom + i`. */
  #log: Encoded[] = [];
  #logFrom = 1;
  /** This turn's changes, as a NOTIFY frame being written; sent at the end of the turn. */
  #notice: BatchWriter | undefined;
  #lastSweep = Date.now();
  #sweep: ReturnType<typeof setInterval> | undefined;
  #listeners = new Set<(version: number, change: DirectoryChange) => void>();

  private constructor(options: DirectoryOptions) {
    const heartbeatMs = options.heartbeatMs ?? 1000;
    if (!(heartbeatMs >= 10) || !Number.isFinite(heartbeatMs))
      throw new RangeError(
        `Expected \`heartbeatMs\` to be a number >= 10, got \`${String(options.heartbeatMs)}\``,
      );
    this.#heartbeatMs = heartbeatMs;
    let bind = options.bind === undefined ? [] : Array.isArray(options.bind) ? options.bind : [options.bind];
    bind = bind.map((e) => checkEndpoint(e, "bind"));
    if (bind.length === 0) {
      this.#ownDir = makeIpcDir();
      bind = [`ipc://${this.#ownDir}/directory.sock`];
    }
    this.#endpoints = bind;
    this.#node = Node._internal({
      name: "directory",
      directory: "",
      isDirectory: true,
      bind,
      lingerMs: options.lingerMs ?? 500,
      ...(options.security ? { security: options.security } : {}),
    });
  }

  /** Starts a directory; resolves once it is bound and answering. */
  static async start(options: DirectoryOptions = {}): Promise<Directory> {
    const directory = new Directory(options);
    try {
      await directory.#start();
    } catch (error) {
      await directory.stop();
      throw error;
    }
    return directory;
  }

  /** The endpoints the directory listens on (tcp ports resolved). */
  get endpoints(): string[] {
    return this.#endpoints.map((e) => (e.endsWith(":*") || e.endsWith(":0") ? this.#node.endpoint : e));
  }

  /** The endpoint nodes in other threads, processes or hosts should use (the first non-inproc one). */
  get endpoint(): string {
    const all = this.endpoints;
    return all.find((e) => transportOf(e) !== "inproc") ?? all[0]!;
  }

  /** Heartbeat interval nodes use, ms. */
  get heartbeatMs(): number {
    return this.#heartbeatMs;
  }

  /** Current version (incremented at every change). */
  get version(): number {
    return this.#version;
  }

  /** Live nodes, as registered. */
  nodes(): NodeRecord[] {
    return [...this.#entries.values()].map((e) => e.record);
  }

  /** Called at every change (used by tests and the CLI). */
  onChange(listener: (version: number, change: DirectoryChange) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Removes a node at once (its host was seen to exit), and tells everyone. */
  evict(id: string, reason: string): boolean {
    const entry = this.#entries.get(id);
    if (entry === undefined) return false;
    this.#entries.delete(id);
    if (this.#names.get(entry.record.name) === id) this.#names.delete(entry.record.name);
    this.#announce({ op: "down", id, reason });
    return true;
  }

  /** Stops answering and closes the sockets. Nodes keep talking to each other. */
  async stop(): Promise<void> {
    clearInterval(this.#sweep);
    this.#sweep = undefined;
    await this.#node.stop();
    if (this.#ownDir !== undefined) removeIpcDir(this.#ownDir);
  }

  async #start(): Promise<void> {
    const node = this.#node;
    const serve = (service: string, handler: (request: unknown, context: CallContext) => unknown): void =>
      node._serve(service, handler);
    serve(DirectoryService.REGISTER, (request, context) => this.#register(request, context));
    serve(DirectoryService.HEARTBEAT, (request, context) => this.#heartbeat(request, context));
    serve(DirectoryService.UPDATE, (request, context) => this.#update(request, context));
    serve(DirectoryService.DEREGISTER, (request) => {
      const id = (request as { id?: unknown } | null)?.id;
      if (typeof id !== "string") throw new TypeError("Expected `id` to be a string");
      this.evict(id, "deregistered");
      return { version: this.#version };
    });
    serve(DirectoryService.SNAPSHOT, (request) => this.#snapshot(request));
    await node.start();
    this.#lastSweep = Date.now();
    this.#sweep = setInterval(() => this.#evictSilent(), Math.max(5, this.#heartbeatMs / 4));
    this.#sweep.unref();
  }

  #register(request: unknown, context: CallContext): unknown {
    const record = parseRecord(request);
    // A node registers itself only: its routing id is its instance id.
    if (record.id !== context.caller)
      throw new TypeError("a node can only register itself (id must be its routing id)");
    const holder = this.#names.get(record.name);
    if (holder !== undefined && holder !== record.id && this.#entries.has(holder)) {
      const other = this.#entries.get(holder)!.record;
      throw new NameTakenError(
        `the name \`${record.name}\` is held by a live node (pid ${other.pid} on ${other.hostname})`,
        record.name,
      );
    }
    const entry: Entry = {
      record,
      encoded: encoded(record),
      lastSeen: Date.now(),
      connection: context.connection,
    };
    this.#entries.set(record.id, entry);
    this.#names.set(record.name, record.id);
    this.#announce({ op: "up", node: record }, entry.encoded);
    return { version: this.#version, nodes: this.#encodedNodes(), heartbeatMs: this.#heartbeatMs };
  }

  /** The records as sent, without encoding any of them again. */
  #encodedNodes(): Encoded[] {
    const nodes: Encoded[] = [];
    for (const entry of this.#entries.values()) nodes.push(entry.encoded);
    return nodes;
  }

  /**
   * SNAPSHOT: with `{ since }` a version the log still reaches back to, the
   * changes after it (`{ version, since, changes: [version, change, …] }`);
   * otherwise the whole directory (`{ version, nodes }`).
   */
  #snapshot(request: unknown): unknown {
    const since = (request as { since?: unknown } | null)?.since;
    if (
      typeof since === "number" &&
      Number.isInteger(since) &&
      since >= this.#logFrom - 1 &&
      since <= this.#version
    ) {
      const changes: unknown[] = [];
      for (let v = since + 1; v <= this.#version; v++) changes.push(v, this.#log[v - this.#logFrom]!);
      return { version: this.#version, since, changes };
    }
    return { version: this.#version, nodes: this.#encodedNodes() };
  }

  #heartbeat(request: unknown, context: CallContext): unknown {
    const id = (request as { id?: unknown } | null)?.id;
    const entry = typeof id === "string" ? this.#entries.get(id) : undefined;
    if (entry !== undefined) {
      entry.lastSeen = Date.now();
      entry.connection = context.connection;
    }
    return { known: entry !== undefined, version: this.#version };
  }

  #update(request: unknown, context: CallContext): unknown {
    const record = parseRecord(request);
    if (record.id !== context.caller) throw new TypeError("a node can only update itself");
    const entry = this.#entries.get(record.id);
    if (entry === undefined) return { known: false, version: this.#version };
    entry.record = record;
    entry.encoded = encoded(record);
    entry.lastSeen = Date.now();
    entry.connection = context.connection;
    this.#announce({ op: "up", node: record }, entry.encoded);
    return { known: true, version: this.#version };
  }

  #evictSilent(): void {
    const now = Date.now();
    const interval = Math.max(5, this.#heartbeatMs / 4);
    const stall = now - this.#lastSweep - interval;
    this.#lastSweep = now;
    // If this process itself was stalled (GC, a blocked event loop), the heartbeats that
    // arrived meanwhile are still unread: do not count that time against the nodes.
    if (stall > this.#heartbeatMs / 2) {
      for (const entry of this.#entries.values()) entry.lastSeen += stall;
      return;
    }
    const limit = now - EVICT_AFTER * this.#heartbeatMs;
    for (const [id, entry] of this.#entries) if (entry.lastSeen < limit) this.evict(id, "missed heartbeats");
  }

  /** Tells every node of `change` (`record`: the changed node's record, already encoded). */
  #announce(change: DirectoryChange, record?: Encoded): void {
    const version = ++this.#version;
    // One encoding for every node it goes to.
    const sent = encoded(change.op === "up" ? { op: "up", node: record ?? change.node } : change);
    this.#log.push(sent);
    if (this.#log.length > LOG_CHANGES) {
      const drop = this.#log.length - LOG_CHANGES / 2;
      this.#log = this.#log.slice(drop);
      this.#logFrom += drop;
    }
    if (this.#notice === undefined) {
      this.#notice = new BatchWriter();
      this.#notice.append(Kind.NOTIFY);
      setImmediate(() => this.#sendNotice());
    }
    this.#notice.append(version);
    this.#notice.append(sent);
    for (const listener of this.#listeners) listener(version, change);
  }

  /** Sends this turn's changes, one frame for every node listed now. */
  #sendNotice(): void {
    const notice = this.#notice;
    this.#notice = undefined;
    if (notice === undefined) return;
    const connections: string[] = [];
    for (const entry of this.#entries.values()) connections.push(entry.connection);
    this.#node._broadcast(connections, notice.finish());
  }
}
