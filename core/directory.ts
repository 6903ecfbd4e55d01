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
 * frame, built once and sent unchanged to every node. In a large graph
 * notices are spaced (`NOTICE_SPACING_MS` per node listed): changes coming
 * faster share the next one, so a host running hundreds of nodes, which pays
 * a receive and a decode per node for every frame, reads a few frames a
 * second however fast the graph changes. A notice leaves early when it
 * reaches `NOTICE_BYTES`; one change bigger than that goes as the version
 * alone, and nodes read it. A node that missed
 * notifications asks for the changes since the version it has (SNAPSHOT
 * `{ since }`), answered from a bounded log of recent changes, or with the
 * directory's records, page by page, when the log no longer reaches back
 * that far.
 *
 * Who may change a record: the node that registered it, and no one else.
 * Each node instance makes a random token at start and registers with it;
 * heartbeats, updates and its deregistration carry it, and a request about a
 * record without its token is refused (`ForbiddenError`, counted). The
 * token never leaves the node's connection to the directory (in a CurveZMQ
 * graph, encrypted), so a peer cannot keep another's record alive, change
 * it or remove it, whatever routing id it announces. A node that
 * reconnects, or re-registers after the directory restarted, keeps its
 * token and so its record.
 *
 * What it holds is bounded (directory-limits.ts): records, their lists and
 * bytes, the change log, and registrations and updates per connection per
 * second. Every reply is at most a page (`limits.pageBytes`): a register
 * reply carries the first records, the rest is read with SNAPSHOT
 * `{ after }`.
 *
 * The heartbeat interval grows with the graph: past
 * `maxHeartbeatsPerSecond`, the directory doubles the interval it asks for
 * (in its register and heartbeat replies), so its idle cost stays bounded;
 * each node is evicted after 2.5 of the intervals it was last told.
 *
 * The directory is itself a zmp node (named `directory`) whose services are
 * the directory protocol, so it shares the node's framing, limits and meters.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import { BatchWriter, Encoded, encode } from "./codec.js";
import { userKeys } from "./credential.js";
import {
  type DirectoryLimits,
  limitError,
  RateLimiter,
  type ResolvedLimits,
  resolveLimits,
} from "./directory-limits.js";
import { checkEndpoint, makeIpcDir, removeIpcDir, transportOf } from "./endpoint.js";
import { ForbiddenError, LimitError, NameTakenError } from "./errors.js";
import { verify } from "./key-proof.js";
import { Node } from "./node.js";
import { checkInsecure, hostOfEndpoint, refuseOpenBind, warnInsecure } from "./node-options.js";
import { checkAllowEntry, Policy } from "./policy.js";
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
  /**
   * Heartbeat interval nodes are told to use while the graph is small, in ms.
   * Default 1 000. A node silent for 2.5 intervals is evicted (within 3).
   */
  heartbeatMs?: number;
  /**
   * Heartbeats per second the directory takes at most: when the graph
   * outgrows it, the interval nodes are told doubles (`heartbeatMs` × 2, × 4, …),
   * and it halves again when the graph shrinks well below. Eviction follows
   * the interval in force. Default 400 (1 000 nodes beat every 4 s).
   */
  maxHeartbeatsPerSecond?: number;
  /** How long closing sockets may keep sending, in ms. Default 500. */
  lingerMs?: number;
  /**
   * CurveZMQ: the directory's key pair and the node keys allowed to register.
   * Default: on tcp, the per-user credential (`~/.config/zmp/user-key.json`,
   * made on first use), admitting only it; on ipc, none (its folder is
   * private to the user).
   */
  security?: Omit<SecurityOptions, "directoryKey">;
  /**
   * Listen on tcp without a credential: any process that reaches it can
   * join, deregister nothing but its own, but provide any service and crash
   * the graph (see docs/security.md). `true` allows loopback only,
   * `"network"` any interface. Said as a warning at start. Default false.
   */
  insecure?: boolean | "network";
  /** What the directory holds at most (see `DirectoryLimits` for each default). */
  limits?: DirectoryLimits;
}

/** Requests the directory refused, by why (see `Directory.stats()`). */
export interface DirectoryRefusals {
  /** A limit (`limits.*`) was reached. */
  limit: number;
  /** A connection registered or updated faster than `limits.updatesPerSecond`. */
  rate: number;
  /** A request about a record without its token (another node's record). */
  forbidden: number;
  /** A malformed request (a bad record, no token). */
  malformed: number;
}

interface Entry {
  record: NodeRecord;
  /** The record as sent: encoded once per registration or update. */
  encoded: Encoded;
  lastSeen: number;
  /** The routing id of the node's connection here, where its notices go (the last it used). */
  connection: string;
  /** The heartbeat interval it was last told, ms. */
  toldMs: number;
  /** The interval its silence is measured in: the larger of the last two it was told (a reply may be lost). */
  evictMs: number;
  /** SHA-256 of the node's token. */
  token: Buffer;
  /** The key the node proved it holds when it registered (a CurveZMQ graph). */
  key: string | undefined;
  /** Order of registration: snapshot pages resume after it. */
  seq: number;
}

/** A node is evicted after this many heartbeat intervals of silence (within 3, as promised). */
const EVICT_AFTER = 2.5;

/** Changes kept for nodes catching up (SNAPSHOT `{ since }`) at most; `limits.changeLogBytes` bounds their bytes. */
const LOG_CHANGES = 4096;

/**
 * A turn's NOTIFY frame carries its changes up to this size; past it, only
 * the version (nodes read the changes, a page at a time). Every node queues
 * the frame, including nodes that do not read: their queues hold small
 * frames, whatever a burst of big records sends.
 */
const NOTICE_BYTES = 16 * 1024;

/**
 * Notices leave at least this many ms apart per node listed (1 000 nodes:
 * 100 ms), at most `NOTICE_SPACING_MAX_MS`: every notice costs each node a
 * receive and a decode, and a host of many nodes pays it once per node.
 */
const NOTICE_SPACING_MS = 0.1;
const NOTICE_SPACING_MAX_MS = 1000;

/** The first page, in a register reply (the rest is read with SNAPSHOT `{ after }`). */
const FIRST_PAGE_BYTES = 16 * 1024;

const encoded = (value: unknown): Encoded => new Encoded(encode(value));

function digest(token: string): Buffer {
  return createHash("sha256").update(token).digest();
}

/** The token of a request (16–128 characters), or a TypeError. */
function tokenOf(request: Record<string, unknown>): string {
  const token = request.token;
  if (typeof token !== "string" || token.length < 16 || token.length > 128)
    throw new TypeError("Expected `token` to be the node's token (16–128 characters)");
  return token;
}

function object(request: unknown, what: string): Record<string, unknown> {
  if (request === null || typeof request !== "object" || Array.isArray(request))
    throw new TypeError(`Expected ${what}`);
  return request as Record<string, unknown>;
}

export class Directory {
  readonly #node: Node;
  readonly #entries = new Map<string, Entry>();
  readonly #names = new Map<string, string>();
  /** The interval while the graph is small (`heartbeatMs`), and the one in force now. */
  readonly #baseHeartbeatMs: number;
  #heartbeatMs: number;
  readonly #maxHeartbeatsPerSecond: number;
  readonly #endpoints: string[];
  readonly #ownDir: string | undefined;
  readonly #limits: ResolvedLimits;
  readonly #publicKey: string | undefined;
  /** The directory's key pair (a CurveZMQ graph): it checks the proofs nodes make of their keys. */
  readonly #keys: { publicKey: string; secretKey: string } | undefined;
  /** Who may do what, by key (undefined: any key, `allow` omitted, or no CurveZMQ). */
  readonly #policy: Policy | undefined;
  /** What nodes learn of the policy when they register: the keys let in, and those that may steer. */
  readonly #nodePolicy: { keys?: string[]; control: string[] } | undefined;
  #userCredential = false;
  /** tcp endpoints it listens on without a credential (insecure), for the warning at start. */
  #plainTcp: string[] = [];
  readonly #rates: RateLimiter;
  #version = 0;
  /** The last changes, encoded, with their versions: `#log[i]` is version `#logFrom + i`. */
  #log: Encoded[] = [];
  #logFrom = 1;
  #logBytes = 0;
  /** This turn's changes, as a NOTIFY frame being written; sent at the end of the turn. */
  #notice: BatchWriter | undefined;
  /** This turn's changes outgrew `NOTICE_BYTES`: its frame carries only the version. */
  #noticeFull = false;
  /** Changes not sent yet (their notice waits for the end of the turn or its spacing). */
  #pending = 0;
  #noticeTimer: ReturnType<typeof setTimeout> | undefined;
  /** When the last notice left (performance.now() ms). */
  #lastNotice = Number.NEGATIVE_INFINITY;
  /** Entries in registration order (by `seq`), rebuilt after a change when a page is asked for. */
  #ordered: Entry[] | undefined;
  #seq = 0;
  /** Heartbeats taken (from listed nodes) since start. */
  #heartbeats = 0;
  /** Bytes of all records (encoded). */
  #bytes = 0;
  readonly #refused: DirectoryRefusals = { limit: 0, rate: 0, forbidden: 0, malformed: 0 };
  #lastSweep = Date.now();
  #sweep: ReturnType<typeof setInterval> | undefined;
  #listeners = new Set<(version: number, change: DirectoryChange) => void>();

  private constructor(options: DirectoryOptions) {
    const heartbeatMs = options.heartbeatMs ?? 1000;
    if (!(heartbeatMs >= 10) || !Number.isFinite(heartbeatMs))
      throw new RangeError(
        `Expected \`heartbeatMs\` to be a number >= 10, got \`${String(options.heartbeatMs)}\``,
      );
    this.#baseHeartbeatMs = heartbeatMs;
    this.#heartbeatMs = heartbeatMs;
    const rate = options.maxHeartbeatsPerSecond ?? 400;
    if (!(rate > 0) || !Number.isFinite(rate))
      throw new RangeError(
        `Expected \`maxHeartbeatsPerSecond\` to be a positive number, got \`${String(options.maxHeartbeatsPerSecond)}\``,
      );
    this.#maxHeartbeatsPerSecond = rate;
    this.#limits = resolveLimits(options.limits);
    this.#rates = new RateLimiter(
      this.#limits.updatesPerSecond,
      this.#limits.updateBurst,
      2 * this.#limits.maxNodes + 1024,
    );
    let bind = options.bind === undefined ? [] : Array.isArray(options.bind) ? options.bind : [options.bind];
    bind = bind.map((e) => checkEndpoint(e, "bind"));
    if (bind.length === 0) {
      this.#ownDir = makeIpcDir();
      bind = [`ipc://${this.#ownDir}/directory.sock`];
    }
    this.#endpoints = bind;
    const insecure = checkInsecure(options.insecure, "insecure");
    if (options.security !== undefined && insecure !== false)
      throw new TypeError("Expected either `security` or `insecure`, got both");
    const tcp = bind.filter((e) => transportOf(e) === "tcp");
    let security = options.security;
    if (security === undefined && tcp.length > 0 && insecure === false) {
      const user = userKeys();
      security = { ...user, allow: [user.publicKey] };
      this.#userCredential = true;
    }
    if (security === undefined) {
      for (const endpoint of tcp)
        refuseOpenBind(hostOfEndpoint(endpoint), insecure, "a directory, insecure: true");
      this.#plainTcp = tcp;
    }
    this.#publicKey = security?.publicKey;
    this.#keys =
      security === undefined ? undefined : { publicKey: security.publicKey, secretKey: security.secretKey };
    if (security?.allow !== undefined) {
      this.#policy = new Policy(
        security.allow.map((a, i) => checkAllowEntry(a, `security.allow[${i}]`)),
        [security.publicKey],
      );
      this.#nodePolicy = { keys: this.#policy.keys(), control: this.#policy.controlKeys() };
    } else if (security !== undefined) this.#nodePolicy = { control: [security.publicKey] };
    this.#node = Node._internal({
      name: "directory",
      directory: "",
      isDirectory: true,
      bind,
      lingerMs: options.lingerMs ?? 500,
      // Requests are small (a record at most); replies are pages. A peer sending bigger frames
      // is cut off by libzmq, and what one connection can queue here each way stays small:
      // 100 frames of at most a page or a record, whatever a flood of connections sends.
      maxMessageSize: Math.max(2 * this.#limits.maxRecordBytes, this.#limits.pageBytes + 1024),
      highWaterMark: 100,
      ...(security ? { security } : {}),
    });
  }

  /** The directory's CurveZMQ public key (nodes give it as `security.directoryKey`), or undefined when it runs without. */
  get publicKey(): string | undefined {
    return this.#publicKey;
  }

  /** Whether its key pair is the per-user credential (the default on tcp). */
  get usesUserCredential(): boolean {
    return this.#userCredential;
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

  /** Heartbeat interval nodes are told to use now, ms (`heartbeatMs`, doubled as the graph outgrows `maxHeartbeatsPerSecond`). */
  get heartbeatMs(): number {
    return this.#heartbeatMs;
  }

  /** Current version (incremented at every change). */
  get version(): number {
    return this.#version;
  }

  /** The limits in force, defaults applied. */
  get limits(): Readonly<ResolvedLimits> {
    return this.#limits;
  }

  /** Live nodes, as registered. */
  nodes(): NodeRecord[] {
    return [...this.#entries.values()].map((e) => e.record);
  }

  /**
   * What the directory holds and what it refused, as plain data; with the
   * heartbeat interval in force and the heartbeats taken since start.
   */
  stats(): {
    nodes: number;
    bytes: number;
    changeLog: { changes: number; bytes: number };
    rateBuckets: number;
    heartbeatMs: number;
    heartbeats: number;
    refused: DirectoryRefusals;
  } {
    return {
      nodes: this.#entries.size,
      bytes: this.#bytes,
      changeLog: { changes: this.#log.length, bytes: this.#logBytes },
      rateBuckets: this.#rates.size,
      heartbeatMs: this.#heartbeatMs,
      heartbeats: this.#heartbeats,
      refused: { ...this.#refused },
    };
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
    this.#bytes -= entry.encoded.byteLength;
    this.#ordered = undefined;
    if (this.#names.get(entry.record.name) === id) this.#names.delete(entry.record.name);
    this.#scaleHeartbeat();
    this.#announce({ op: "down", id, reason });
    return true;
  }

  /** Stops answering and closes the sockets. Nodes keep talking to each other. */
  async stop(): Promise<void> {
    clearInterval(this.#sweep);
    this.#sweep = undefined;
    clearTimeout(this.#noticeTimer);
    this.#noticeTimer = undefined;
    await this.#node.stop();
    if (this.#ownDir !== undefined) removeIpcDir(this.#ownDir);
  }

  async #start(): Promise<void> {
    const node = this.#node;
    const serve = (service: string, handler: (request: unknown, context: CallContext) => unknown): void =>
      node._serve(service, (request, context) => {
        try {
          return handler(request, context);
        } catch (error) {
          this.#count(error);
          throw error;
        }
      });
    serve(DirectoryService.REGISTER, (request, context) => this.#register(request, context));
    serve(DirectoryService.HEARTBEAT, (request, context) => this.#heartbeat(request, context));
    serve(DirectoryService.UPDATE, (request, context) => this.#update(request, context));
    serve(DirectoryService.DEREGISTER, (request) => this.#deregister(request));
    serve(DirectoryService.SNAPSHOT, (request) => this.#snapshot(request));
    await node.start();
    if (this.#plainTcp.length > 0)
      warnInsecure(`the directory at ${this.endpoints.filter((e) => transportOf(e) === "tcp").join(", ")}`);
    this.#lastSweep = Date.now();
    this.#sweep = setInterval(() => this.#evictSilent(), Math.max(5, this.#baseHeartbeatMs / 4));
    this.#sweep.unref();
  }

  #count(error: unknown): void {
    if (error instanceof LimitError) {
      if (error.limit === "updatesPerSecond") this.#refused.rate++;
      else this.#refused.limit++;
    } else if (error instanceof ForbiddenError) this.#refused.forbidden++;
    else if (!(error instanceof NameTakenError)) this.#refused.malformed++;
  }

  /** A record from a request, checked against the limits, and encoded once. */
  #parse(value: unknown): { record: NodeRecord; encoded: Encoded } {
    const record = parseRecord(value, this.#limits.maxListLength);
    // Nodes connect to a listed node with CURVE when its record names a key, in plain text
    // otherwise: in a secured graph every record names one.
    if (this.#publicKey !== undefined && record.publicKey === undefined)
      throw new ForbiddenError("this graph runs CurveZMQ: a record must list its node's public key");
    const bytes = encoded(record);
    if (bytes.byteLength > this.#limits.maxRecordBytes)
      throw limitError(
        "maxRecordBytes",
        this.#limits.maxRecordBytes,
        `a record of ${bytes.byteLength} bytes`,
      );
    return { record, encoded: bytes };
  }

  #throttle(context: CallContext): void {
    if (!this.#rates.take(context.connection))
      throw limitError(
        "updatesPerSecond",
        this.#limits.updatesPerSecond,
        "too many registrations and updates from this connection",
      );
  }

  /** The entry of `id` if `token` is its token; ForbiddenError if it is another's; undefined if none. */
  #own(id: unknown, token: string): Entry | undefined {
    if (typeof id !== "string") throw new TypeError("Expected `id` to be a string");
    const entry = this.#entries.get(id);
    if (entry === undefined) return undefined;
    if (!timingSafeEqual(entry.token, digest(token)))
      throw new ForbiddenError(`the record of \`${id}\` belongs to another node (its token does not match)`);
    return entry;
  }

  /**
   * In a CurveZMQ graph: the key a registering node holds. Its record names
   * it, the allow list must let it in, the node proves it holds it (a proof
   * of the record's id and token under the key it shares with this
   * directory, key-proof.ts), and the allow list must let it take the
   * record's name, services, queues, topics and fronts. A node registering
   * again keeps its key. Throws `ForbiddenError` naming what failed.
   */
  #checkKey(
    record: NodeRecord,
    token: string,
    proof: unknown,
    existing: Entry | undefined,
  ): string | undefined {
    if (this.#keys === undefined) return undefined;
    const key = record.publicKey!;
    if (existing?.key !== undefined && existing.key !== key)
      throw new ForbiddenError("a registered node cannot change its key");
    if (this.#policy !== undefined && !this.#policy.admits(key))
      throw new ForbiddenError(`key ${key.slice(0, 8)}… is not in the directory's allow list`);
    if (!verify(this.#keys, key, ["zmp register", record.id, token], proof))
      throw new ForbiddenError(
        `the record names key ${key.slice(0, 8)}… but comes without a proof that its sender holds it`,
      );
    this.#policy?.checkRecord(key, record);
    return key;
  }

  /** Checks that `delta` more bytes fit `limits.maxBytes`, and counts them. */
  #reserve(delta: number, name: string): void {
    if (this.#bytes + delta > this.#limits.maxBytes)
      throw limitError("maxBytes", this.#limits.maxBytes, `cannot list \`${name}\` (the directory is full)`);
    this.#bytes += delta;
  }

  #register(request: unknown, context: CallContext): unknown {
    const r = object(request, "a registration `{ record, token }`");
    const token = tokenOf(r);
    this.#throttle(context);
    const { record, encoded: bytes } = this.#parse(r.record);
    // A node registers itself only: the id its connection announces is the record's.
    if (record.id !== context.caller)
      throw new ForbiddenError("a node can only register itself (its connection announces another id)");
    const existing = this.#own(record.id, token);
    const key = this.#checkKey(record, token, r.proof, existing);
    const holder = this.#names.get(record.name);
    if (holder !== undefined && holder !== record.id && this.#entries.has(holder)) {
      const other = this.#entries.get(holder)!.record;
      throw new NameTakenError(
        `the name \`${record.name}\` is held by a live node (pid ${other.pid} on ${other.hostname})`,
        record.name,
      );
    }
    if (existing === undefined && this.#entries.size >= this.#limits.maxNodes)
      throw limitError("maxNodes", this.#limits.maxNodes, `cannot list \`${record.name}\``);
    if (existing !== undefined && existing.record.name !== record.name)
      throw new ForbiddenError("a registered node cannot change its name");
    this.#reserve(bytes.byteLength - (existing?.encoded.byteLength ?? 0), record.name);
    if (existing !== undefined) {
      existing.record = record;
      existing.encoded = bytes;
      existing.lastSeen = Date.now();
      existing.connection = context.connection;
      this.#tell(existing);
    } else {
      this.#scaleHeartbeat(this.#entries.size + 1);
      this.#entries.set(record.id, {
        record,
        encoded: bytes,
        lastSeen: Date.now(),
        connection: context.connection,
        toldMs: this.#heartbeatMs,
        evictMs: this.#heartbeatMs,
        token: digest(token),
        key,
        seq: ++this.#seq,
      });
      this.#ordered = undefined;
    }
    this.#names.set(record.name, record.id);
    this.#announce({ op: "up", node: record }, bytes);
    // The first records only: the node reads the rest page by page, so a registration
    // answers in a few kilobytes however big the graph.
    return {
      ...this.#page(0, FIRST_PAGE_BYTES, false),
      heartbeatMs: this.#heartbeatMs,
      ...(this.#nodePolicy ? { policy: this.#nodePolicy } : {}),
    };
  }

  /**
   * SNAPSHOT: `null` or `{ after }`: a page of records (`{ version, nodes,
   * next? }`; `next`: where the following page starts). `{ since }` a
   * version the log still reaches back to: the changes after it, a page at a
   * time (`{ version, since, changes: [version, change, …], more? }`);
   * otherwise the first page of records.
   */
  #snapshot(request: unknown): unknown {
    if (request === null || request === undefined) return this.#page(0, this.#limits.pageBytes, true);
    const r = object(request, "`null`, `{ after }` or `{ since }`");
    if (r.after !== undefined) {
      if (typeof r.after !== "number" || !Number.isInteger(r.after) || r.after < 0)
        throw new TypeError("Expected `after` to be the `next` of a previous page");
      return this.#page(r.after, this.#limits.pageBytes, true);
    }
    const since = r.since;
    if (
      typeof since === "number" &&
      Number.isInteger(since) &&
      since >= this.#logFrom - 1 &&
      since <= this.#version
    ) {
      const changes: unknown[] = [];
      let bytes = 0;
      let v = since + 1;
      for (; v <= this.#version; v++) {
        const change = this.#log[v - this.#logFrom]!;
        if (changes.length > 0 && bytes + change.byteLength > this.#limits.pageBytes) break;
        changes.push(v, change);
        bytes += change.byteLength;
      }
      return v <= this.#version
        ? { version: this.#version, since, changes, more: true }
        : { version: this.#version, since, changes };
    }
    return this.#page(0, this.#limits.pageBytes, true);
  }

  /**
   * Records registered after `after`, up to `maxBytes` (at least one when
   * `atLeastOne`: a record fits a page), without encoding any again.
   */
  #page(
    after: number,
    maxBytes: number,
    atLeastOne: boolean,
  ): { version: number; nodes: Encoded[]; next?: number } {
    this.#ordered ??= [...this.#entries.values()];
    const ordered = this.#ordered;
    let lo = 0;
    let hi = ordered.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (ordered[mid]!.seq <= after) lo = mid + 1;
      else hi = mid;
    }
    const nodes: Encoded[] = [];
    let bytes = 0;
    let i = lo;
    for (; i < ordered.length; i++) {
      const entry = ordered[i]!;
      const size = entry.encoded.byteLength;
      if ((nodes.length > 0 || !atLeastOne) && bytes + size > maxBytes) break;
      nodes.push(entry.encoded);
      bytes += size;
    }
    if (i >= ordered.length) return { version: this.#version, nodes };
    return { version: this.#version, nodes, next: i > 0 ? ordered[i - 1]!.seq : after };
  }

  #heartbeat(request: unknown, context: CallContext): unknown {
    const r = object(request, "a heartbeat `{ id, token, version }`");
    const entry = this.#own(r.id, tokenOf(r));
    if (entry === undefined) return { known: false, version: this.#version - this.#pending };
    entry.lastSeen = Date.now();
    entry.connection = context.connection;
    this.#tell(entry);
    this.#heartbeats++;
    // The version already sent: changes still waiting for their notice are not missing yet,
    // and a node taking them for missed would ask for them.
    return { known: true, version: this.#version - this.#pending, heartbeatMs: this.#heartbeatMs };
  }

  /** Records that `entry`'s node is told the interval in force now. */
  #tell(entry: Entry): void {
    entry.evictMs = Math.max(entry.toldMs, this.#heartbeatMs);
    entry.toldMs = this.#heartbeatMs;
  }

  /**
   * The interval in force for a graph of `nodes`: doubled while the nodes
   * would beat more than `maxHeartbeatsPerSecond` times a second, halved
   * when the graph falls below three quarters of what the halved interval
   * allows (no flapping at a boundary). Nodes learn it at their next beat.
   */
  #scaleHeartbeat(nodes = this.#entries.size): void {
    const rate = this.#maxHeartbeatsPerSecond;
    while ((nodes * 1000) / this.#heartbeatMs > rate) this.#heartbeatMs *= 2;
    while (
      this.#heartbeatMs > this.#baseHeartbeatMs &&
      (nodes * 1000) / (this.#heartbeatMs / 2) < 0.75 * rate
    )
      this.#heartbeatMs /= 2;
  }

  #update(request: unknown, context: CallContext): unknown {
    const r = object(request, "an update `{ record, token }`");
    const token = tokenOf(r);
    this.#throttle(context);
    const { record, encoded: bytes } = this.#parse(r.record);
    const entry = this.#own(record.id, token);
    if (entry === undefined) return { known: false, version: this.#version };
    if (entry.record.name !== record.name)
      throw new ForbiddenError("a registered node cannot change its name");
    if (entry.key !== undefined) {
      if (record.publicKey !== entry.key) throw new ForbiddenError("a registered node cannot change its key");
      this.#policy?.checkRecord(entry.key, record);
    }
    this.#reserve(bytes.byteLength - entry.encoded.byteLength, record.name);
    entry.record = record;
    entry.encoded = bytes;
    entry.lastSeen = Date.now();
    entry.connection = context.connection;
    this.#announce({ op: "up", node: record }, bytes);
    return { known: true, version: this.#version };
  }

  #deregister(request: unknown): unknown {
    const r = object(request, "a deregistration `{ id, token }`");
    if (this.#own(r.id, tokenOf(r)) !== undefined) this.evict(r.id as string, "deregistered");
    return { version: this.#version };
  }

  #evictSilent(): void {
    const now = Date.now();
    const interval = Math.max(5, this.#baseHeartbeatMs / 4);
    const stall = now - this.#lastSweep - interval;
    this.#lastSweep = now;
    // If this process itself was stalled (GC, a blocked event loop), the heartbeats that
    // arrived meanwhile are still unread: do not count that time against the nodes.
    if (stall > this.#baseHeartbeatMs / 2) {
      for (const entry of this.#entries.values()) entry.lastSeen += stall;
      return;
    }
    for (const [id, entry] of this.#entries)
      if (entry.lastSeen < now - EVICT_AFTER * entry.evictMs) this.evict(id, "missed heartbeats");
    this.#rates.sweep(now);
  }

  /** Tells every node of `change` (`record`: the changed node's record, already encoded). */
  #announce(change: DirectoryChange, record?: Encoded): void {
    const version = ++this.#version;
    // One encoding for every node it goes to.
    const sent = encoded(change.op === "up" ? { op: "up", node: record ?? change.node } : change);
    this.#log.push(sent);
    this.#logBytes += sent.byteLength;
    if (this.#log.length > LOG_CHANGES || this.#logBytes > this.#limits.changeLogBytes) {
      // Trim to half of either bound, so trims are rare.
      let drop = Math.max(0, this.#log.length - LOG_CHANGES / 2);
      let bytes = this.#logBytes;
      for (let i = 0; i < drop; i++) bytes -= this.#log[i]!.byteLength;
      while (drop < this.#log.length - 1 && bytes > this.#limits.changeLogBytes / 2)
        bytes -= this.#log[drop++]!.byteLength;
      this.#log = this.#log.slice(drop);
      this.#logFrom += drop;
      this.#logBytes = bytes;
    }
    // A notice that this change would take past NOTICE_BYTES leaves now, with the changes it has.
    if (this.#notice !== undefined && !this.#noticeFull && this.#pending > 0)
      if (this.#notice.byteLength + sent.byteLength > NOTICE_BYTES) this.#sendNotice();
    if (this.#notice === undefined) {
      const notice = new BatchWriter();
      this.#notice = notice;
      notice.append(Kind.NOTIFY);
      this.#noticeFull = false;
      const spacing = Math.min(NOTICE_SPACING_MAX_MS, NOTICE_SPACING_MS * this.#entries.size);
      const wait = this.#lastNotice + spacing - performance.now();
      // Unless it left early (full): then a later notice is being written, with its own timer.
      const send = (): void => {
        if (this.#notice === notice) this.#sendNotice();
      };
      if (wait <= 0) setImmediate(send);
      else this.#noticeTimer = setTimeout(send, wait);
    }
    this.#pending++;
    if (!this.#noticeFull) {
      this.#notice.append(version);
      this.#notice.append(sent);
      this.#noticeFull = this.#notice.byteLength > NOTICE_BYTES;
    }
    for (const listener of this.#listeners) listener(version, change);
  }

  /** Sends this turn's changes (or, past `NOTICE_BYTES`, its version), one frame for every node listed now. */
  #sendNotice(): void {
    let notice = this.#notice;
    this.#notice = undefined;
    clearTimeout(this.#noticeTimer);
    this.#noticeTimer = undefined;
    if (notice === undefined) return;
    this.#pending = 0;
    this.#lastNotice = performance.now();
    if (this.#noticeFull) {
      notice = new BatchWriter();
      notice.append(Kind.NOTIFY);
      notice.append(this.#version);
    }
    const connections: string[] = [];
    for (const entry of this.#entries.values()) connections.push(entry.connection);
    this.#node._broadcast(connections, notice.finish());
  }
}
