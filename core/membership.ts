/**
 * A node's membership of the graph: its record in the directory and its
 * replica of everyone else's. It registers (resolving only once listed),
 * heartbeats every interval the directory asks for, re-registers when the
 * directory forgot it (a directory restart), sends its record again at the
 * end of a turn in which it changed (services, topics, queues, fronts), and
 * keeps the replica current from the directory's change notifications,
 * asking for the changes since its version when one was missed (the
 * directory answers with the whole directory when its log does not reach
 * back that far: the zguide's "Clone" pattern in small). Notifications that
 * arrive before the registration's reply are ignored: the reply carries the
 * state they describe.
 *
 * Wire (the directory's services, see wire.ts): REGISTER `{ record, token }`
 * → `{ version, nodes, next?, heartbeatMs }` (the first records);
 * HEARTBEAT `{ id, token, version }` → `{ known, version, heartbeatMs }` (the
 * interval in force); UPDATE
 * `{ record, token }` → `{ known, version }`; DEREGISTER `{ id, token }`;
 * SNAPSHOT `null` or `{ after }` → `{ version, nodes, next? }` (a page of
 * records), `{ since }` → `{ version, since, changes: [version, change, …],
 * more? }` or a first page of records; NOTIFY frames `[5, version, change,
 * …]`, or `[5, version]` alone (read the changes), directory → node. The
 * token is this start's secret: only its holder may change its record.
 */

import { decodeArray } from "./codec.js";
import { RateLimiter } from "./directory-limits.js";
import {
  CodecError,
  NameTakenError,
  PeerLostError,
  RemoteError,
  SecurityError,
  TimeoutError,
} from "./errors.js";
import { checkName, type DirectoryChange, type FrontRecord, type NodeRecord, parseRecord } from "./record.js";
import type { Replica } from "./replica.js";
import { DIRECTORY_ID, DirectoryService } from "./wire.js";

/** What membership needs from its node. */
export interface MembershipLink {
  readonly name: string;
  /** The directory's endpoint. */
  readonly directory: string;
  /** Whether the node is running (or starting: its first record goes out while it starts). */
  active(): boolean;
  running(): boolean;
  /** This start's instance id. */
  id(): string;
  /** This start's token (a secret: only the directory sees it). */
  token(): string;
  /** A proof, for the directory, that this node holds the key its record names (undefined without CurveZMQ). */
  proveKey(parts: readonly string[]): string | undefined;
  /** What the directory's register reply says of its allow list (a CurveZMQ graph). */
  policy(value: unknown): void;
  /** This node's record as it stands now. */
  record(): NodeRecord;
  /** Calls one of the directory's services. */
  call(peer: NodeRecord, service: string, request: unknown, timeoutMs: number): Promise<unknown>;
  /** What to check when the directory refuses this node's handshake (depends on where its keys came from). */
  readonly securityHint: string;
  /** The security handshake's verdict on `endpoint`, if it refused this node. */
  refusedHandshake(endpoint: string): Promise<string | undefined>;
  /** At every heartbeat, before it is sent (housekeeping). */
  beat(): void;
  /** Fetches a snapshot (the directory itself has none to fetch). */
  refresh(): Promise<void>;
  /** Where channels are routed changed here (this node fronts one, or stopped): queues re-route. */
  routesChanged(): void;
}

/** A page of the directory's records, as this side reads it. */
interface Page {
  version: number;
  nodes: unknown[];
  next?: number;
}

/** The register reply: the first records and the heartbeat interval. */
interface RegisterReply extends Page {
  heartbeatMs: number;
  /** In a CurveZMQ graph: the keys the directory lets in (absent: any), and those that may steer. */
  policy?: unknown;
}

/** Updates this node sends at most, per second and in a burst (the directory allows twice as many). */
const UPDATES_PER_SECOND = 10;
const UPDATE_BURST = 20;

export class Membership {
  readonly #link: MembershipLink;
  readonly #replica: Replica;
  /** The directory, as a peer the service client can call. */
  readonly directoryPeer: NodeRecord;
  #heartbeat: ReturnType<typeof setInterval> | undefined;
  #heartbeatMs = 1000;
  #beating = false;
  #registering: Promise<void> | undefined;
  #updateScheduled = false;
  /** The last update: settles with the directory's refusal, if it refused it. */
  #synced: Promise<Error | undefined> = Promise.resolve(undefined);
  #refreshing: Promise<void> | undefined;
  #again: Promise<void> | undefined;
  /** The channels this node fronts, by `kind:name`. */
  readonly #fronts = new Map<string, FrontRecord>();
  readonly #updates = new RateLimiter(UPDATES_PER_SECOND, UPDATE_BURST, 1);
  /** The highest version the directory's notices announced. */
  #hinted = -1;

  constructor(link: MembershipLink, replica: Replica) {
    this.#link = link;
    this.#replica = replica;
    replica.frontsHere = (kind, name) => this.#fronts.has(`${kind}:${name}`);
    this.directoryPeer = {
      id: DIRECTORY_ID,
      name: "directory",
      host: "inline",
      pid: 0,
      hostname: "",
      endpoint: link.directory,
      pubEndpoint: "",
      services: [],
      topics: [],
      queues: [],
      fronts: [],
      startedAt: 0,
    };
  }

  /** A catch-up when the directory's notices are ahead of the replica (see `PeersLink.catchUp`), else undefined. */
  catchUp(): Promise<void> | undefined {
    if (this.#hinted <= this.#replica.version) return undefined;
    return this.refresh().catch(() => undefined);
  }

  /** The heartbeat interval the directory asked for, in ms (1 000 until registered). */
  get heartbeatMs(): number {
    return this.#heartbeatMs;
  }

  /**
   * Registers this node and loads the directory's state into the replica;
   * then heartbeats. `first`: the node is starting, so a refusal or silence
   * becomes a clear error naming the directory. Coalesced: one at a time.
   */
  register(timeoutMs: number, first: boolean): Promise<void> {
    if (this.#registering) return this.#registering;
    this.#registering = (async () => {
      let reply: RegisterReply;
      try {
        const record = this.#link.record();
        const token = this.#link.token();
        const proof = this.#link.proveKey(["zmp register", record.id, token]);
        reply = (await this.#call(
          DirectoryService.REGISTER,
          { record, token, ...(proof !== undefined ? { proof } : {}) },
          timeoutMs,
        )) as RegisterReply;
      } catch (error) {
        if (error instanceof RemoteError && error.remoteCode === "NAME_TAKEN") {
          const name = this.#link.name;
          throw new NameTakenError(`cannot start node \`${name}\`: ${error.message}`, name, { cause: error });
        }
        throw await this.#contactFailure(error, first, timeoutMs);
      }
      if (!validInterval(reply.heartbeatMs)) throw new CodecError("malformed register reply");
      this.#heartbeatMs = reply.heartbeatMs;
      if (reply.policy !== undefined) this.#link.policy(reply.policy);
      // Listed from now on: beat while the directory's records load (seconds, in a large graph
      // on a busy machine), or the directory takes this node for dead before it has started.
      this.#startBeating();
      try {
        // Re-registering (the directory restarted): nodes not yet back get a grace period.
        await this.#load(reply, first ? 0 : 3 * reply.heartbeatMs, timeoutMs);
      } catch (error) {
        if (first) this.stop(); // the start fails
        throw await this.#contactFailure(error, first, timeoutMs); // the pages after the first
      }
    })().finally(() => {
      this.#registering = undefined;
    });
    return this.#registering;
  }

  /**
   * Brings the replica up to the directory's version: the changes since its
   * own, or the directory's records page by page (coalesced: one request at
   * a time; one asked for while another runs gets one that starts after it).
   */
  refresh(timeoutMs = 2000, first = false): Promise<void> {
    // One in flight started before this request may miss what the caller needs (a call that
    // found no provider, after a notice): a second one follows it, shared by all who ask meanwhile.
    if (this.#refreshing) {
      this.#again ??= this.#refreshing
        .catch(() => undefined)
        .then(() => {
          this.#again = undefined;
          return this.refresh(timeoutMs, first);
        });
      return this.#again;
    }
    this.#refreshing = this.#sync(timeoutMs)
      .catch(async (error: unknown) => {
        throw await this.#contactFailure(error, first, timeoutMs);
      })
      .finally(() => {
        this.#refreshing = undefined;
      });
    return this.#refreshing;
  }

  async #sync(timeoutMs: number): Promise<void> {
    for (;;) {
      const since = this.#replica.version;
      const r = (await this.#call(DirectoryService.SNAPSHOT, since >= 0 ? { since } : null, timeoutMs)) as {
        version: number;
        since?: number;
        changes?: unknown[];
        more?: boolean;
        nodes?: unknown[];
        next?: number;
      };
      if (Array.isArray(r.changes)) {
        // Notifications applied meanwhile are skipped (apply ignores old versions).
        if (
          typeof r.since === "number" &&
          r.since <= this.#replica.version &&
          this.#applyChanges(r.changes, 0)
        ) {
          if (r.more === true) continue;
          return;
        }
        // Changes that do not follow this replica: take the whole state.
        const page = (await this.#call(DirectoryService.SNAPSHOT, null, timeoutMs)) as Page;
        return this.#load(page, 3 * this.#heartbeatMs, timeoutMs);
      }
      return this.#load(r as Page, 3 * this.#heartbeatMs, timeoutMs);
    }
  }

  /**
   * Loads the directory's records, starting with the page `first`: reads
   * the pages that follow, then (when there were several, read at different
   * versions) the changes since the first page's version, which put right
   * what moved meanwhile.
   */
  async #load(first: Page, graceMs: number, timeoutMs: number): Promise<void> {
    if (!Array.isArray(first.nodes)) throw new CodecError("malformed page of records");
    const nodes = [...first.nodes];
    let next = first.next;
    while (next !== undefined) {
      const page = (await this.#call(DirectoryService.SNAPSHOT, { after: next }, timeoutMs)) as Page;
      if (!Array.isArray(page.nodes)) throw new CodecError("malformed page of records");
      nodes.push(...page.nodes);
      next = page.next;
    }
    this.#replica.load(
      first.version,
      nodes.map((n) => sharedRecord(n)),
      graceMs,
    );
    this.#hinted = first.version; // versions start again when the directory restarts
    if (first.next !== undefined) await this.#sync(timeoutMs);
  }

  /** The directory's live nodes, read page by page (the replica is left as it is). */
  async snapshot(timeoutMs: number): Promise<NodeRecord[]> {
    const nodes: unknown[] = [];
    let next: number | undefined;
    do {
      const page = (await this.#call(
        DirectoryService.SNAPSHOT,
        next === undefined ? null : { after: next },
        timeoutMs,
      )) as Page;
      if (!Array.isArray(page.nodes)) throw new CodecError("malformed page of records");
      nodes.push(...page.nodes);
      next = page.next;
    } while (next !== undefined);
    return nodes.map((n) => parseRecord(n));
  }

  /**
   * Applies `[version, change, version, change, …]` from index `from`;
   * false when one does not follow the replica's version (the caller then
   * takes a whole snapshot). Throws CodecError when malformed.
   */
  #applyChanges(list: unknown[], from: number): boolean {
    for (let k = from; k + 1 < list.length; k += 2) {
      const version = list[k];
      if (typeof version !== "number") throw new CodecError("malformed directory change");
      if (!this.#replica.apply(version, parseChange(list[k + 1]))) return false;
    }
    return true;
  }

  /**
   * Sends the current record to the directory at the end of the turn
   * (services changed); the changes of one turn share one update, and
   * updates keep within what the directory allows a connection (a burst of
   * changes waits a little and goes as one).
   */
  scheduleUpdate(): void {
    if (!this.#link.active()) return;
    if (this.#updateScheduled) return;
    this.#updateScheduled = true;
    this.#synced = new Promise<Error | undefined>((resolve) => {
      const go = (): void => {
        this.#updateScheduled = false;
        if (!this.#link.active()) {
          resolve(undefined);
          return;
        }
        const send = (): Promise<void> =>
          this.#call(
            DirectoryService.UPDATE,
            { record: this.#link.record(), token: this.#link.token() },
            this.#heartbeatMs * 3,
          ).then((r) => {
            if ((r as { known: boolean }).known === false) return this.register(this.#heartbeatMs * 3, false);
          });
        (this.#registering ?? Promise.resolve()).then(send).then(
          () => resolve(undefined),
          (error: unknown) => {
            if (!(error instanceof RemoteError)) return resolve(undefined); // unreachable: the heartbeat re-sends it
            // Refused for its rate (another burst meanwhile): send the record again shortly.
            if (error.remoteCode === "LIMIT" && error.message.includes("updatesPerSecond")) {
              setTimeout(() => this.scheduleUpdate(), 200);
              return resolve(undefined);
            }
            // Refused as it is (a role it lacks, a limit it exceeds): the directory keeps the
            // record it had. Said once, and synced() rejects with it.
            if (error.remoteCode === "FORBIDDEN" || error.remoteCode === "LIMIT") {
              process.emitWarning(
                `zmp: the directory refused node \`${this.#link.name}\`'s record: ${error.message}`,
                {
                  code: "ZMP_REFUSED",
                },
              );
              return resolve(error);
            }
            resolve(undefined);
          },
        );
      };
      if (this.#updates.take("self")) setImmediate(go);
      else setTimeout(go, 1000 / UPDATES_PER_SECOND);
    });
  }

  /**
   * Resolves when at least `want` live nodes provide `service` (by this
   * node's replica); rejects with `TimeoutError` after `timeoutMs`. The error
   * is made here, at the call site, so its stack points at the caller.
   */
  waitFor(service: string, want: number, timeoutMs: number): Promise<void> {
    const site = new TimeoutError(
      `waited ${timeoutMs} ms for ${want} provider(s) of \`${service}\``,
      timeoutMs,
    );
    return new Promise((resolve, reject) => {
      const check = (): boolean => this.#replica.providers(service).length >= want;
      if (this.#link.running() && check()) return resolve();
      const done = (error?: Error): void => {
        clearTimeout(timer);
        clearInterval(poll);
        unsubscribe();
        if (error) reject(error);
        else resolve();
      };
      const unsubscribe = this.#replica.subscribe(() => {
        if (check()) done();
      });
      const timer = setTimeout(() => done(site), timeoutMs);
      const refresh = (): void => {
        if (!this.#link.running()) return;
        this.#link.refresh().then(
          () => check() && done(),
          () => undefined,
        );
      };
      // Notifications can be missed (directory restart): ask for a snapshot now and then.
      const poll = setInterval(refresh, 250);
      refresh();
    });
  }

  /** The channels this node fronts, as its record lists them. */
  fronts(): FrontRecord[] {
    return [...this.#fronts.values()];
  }

  /** Fronts a channel (see `Node.front`); resolves when the directory has it. */
  front(kind: FrontRecord["kind"], name: string): Promise<void> {
    if (kind !== "service" && kind !== "queue" && kind !== "topic")
      throw new TypeError(`Expected \`kind\` to be service, queue or topic, got \`${String(kind)}\``);
    if (!(kind === "topic" && name === "")) checkName(name, kind === "topic" ? "prefix" : kind);
    this.#fronts.set(`${kind}:${name}`, { kind, name });
    this.#routesChanged();
    return this.synced();
  }

  /** Stops fronting a channel; resolves when the directory has it. */
  unfront(kind: FrontRecord["kind"], name: string): Promise<void> {
    if (this.#fronts.delete(`${kind}:${name}`)) this.#routesChanged();
    return this.synced();
  }

  #routesChanged(): void {
    this.#replica.invalidateRoutes();
    this.#link.routesChanged();
    this.scheduleUpdate();
  }

  /**
   * Resolves when the directory holds this node's current record; rejects
   * when it refused it (a role its key lacks, a limit it exceeds: the
   * directory keeps the record it had).
   */
  synced(): Promise<void> {
    return this.#synced.then((error) => {
      if (error !== undefined) throw error;
    });
  }

  /** Stops heartbeating and asks the directory to remove this node (errors ignored). */
  async leave(id: string | undefined, timeoutMs: number): Promise<void> {
    this.stop();
    if (id === undefined) return;
    await this.#call(DirectoryService.DEREGISTER, { id, token: this.#link.token() }, timeoutMs).catch(
      () => undefined,
    );
  }

  /** Stops heartbeating. */
  stop(): void {
    clearInterval(this.#heartbeat);
    this.#heartbeat = undefined;
    this.#hinted = -1;
  }

  /**
   * Applies a NOTIFY frame `[kind, version, change, version, change, …]`
   * (as received: decoded once per thread, see `readNotice`), or reads the
   * changes when it carries only the version (`[kind, version]`); throws
   * CodecError when malformed.
   */
  onNotify(frame: Buffer): void {
    const notice = readNotice(frame);
    if (notice.last > this.#hinted) this.#hinted = notice.last;
    // Before the registration's reply (or the first snapshot) there is no state to apply
    // changes to: the reply brings the state, at a version that covers them.
    if (this.#replica.version < 0 || notice.last <= this.#replica.version) return;
    const changes = notice.changes;
    let follows = changes.length > 0;
    for (let k = 0; follows && k < changes.length; k += 2)
      follows = this.#replica.apply(changes[k] as number, changes[k + 1] as DirectoryChange);
    if (!follows) void this.refresh().catch(() => undefined);
  }

  /** Calls one of the directory's services. */
  call(service: string, request: unknown, timeoutMs: number): Promise<unknown> {
    return this.#call(service, request, timeoutMs);
  }

  #call(service: string, request: unknown, timeoutMs: number): Promise<unknown> {
    return this.#link.call(this.directoryPeer, service, request, timeoutMs);
  }

  #beat(): void {
    this.#link.beat();
    this.#replica.expire();
    if (this.#beating || !this.#link.active()) return;
    this.#beating = true;
    const id = this.#link.id();
    // A reply later than this is not waited for: the next beat goes out on time (a lost reply
    // must not silence the node for longer than an interval).
    this.#call(
      DirectoryService.HEARTBEAT,
      { id, token: this.#link.token(), version: this.#replica.version },
      this.#heartbeatMs * 0.8,
    )
      .then((reply) => {
        const r = reply as { known: boolean; version: number; heartbeatMs?: unknown };
        if (!r.known) return this.register(this.#heartbeatMs * 2, false);
        this.#setInterval(r.heartbeatMs);
        // Not awaited: catching up (slow in a large, busy graph) must not delay the next beat,
        // or the directory takes this node for dead. The directory reports the version it has
        // sent notices for, so a notice still on its way is not taken for a missed one.
        // While registering, the registration's own reading brings the replica up to date.
        if (this.#registering === undefined && r.version > this.#replica.version)
          void this.refresh().catch(() => undefined);
      })
      .catch(() => undefined) // directory unreachable: keep beating, re-register when it answers
      .finally(() => {
        this.#beating = false;
      });
  }

  #startBeating(): void {
    clearInterval(this.#heartbeat);
    this.#heartbeat = setInterval(() => this.#beat(), this.#heartbeatMs);
    this.#heartbeat.unref();
  }

  /** Takes the interval a heartbeat reply asks for (the directory lengthens it as the graph grows). */
  #setInterval(heartbeatMs: unknown): void {
    if (!validInterval(heartbeatMs) || heartbeatMs === this.#heartbeatMs) return;
    this.#heartbeatMs = heartbeatMs;
    if (this.#heartbeat !== undefined) this.#startBeating();
  }

  /**
   * What a failed request to the directory (register or snapshot) is thrown
   * as: on the first contact, a refused handshake becomes a `SecurityError`
   * and a timeout a `TimeoutError` naming the directory; anything else as it is.
   */
  async #contactFailure(error: unknown, first: boolean, timeoutMs: number): Promise<unknown> {
    if (!first) return error;
    const { name, directory } = this.#link;
    const refused =
      error instanceof TimeoutError || error instanceof PeerLostError
        ? await this.#link.refusedHandshake(directory)
        : undefined;
    if (refused !== undefined) {
      return new SecurityError(
        `cannot start node \`${name}\`: the directory at ${directory} refused the security handshake (${refused}): ${this.#link.securityHint}`,
        { cause: error },
      );
    }
    if (error instanceof TimeoutError) {
      return new TimeoutError(
        `cannot start node \`${name}\`: the directory at ${directory} did not answer within ${timeoutMs} ms (\`startTimeoutMs\`)`,
        timeoutMs,
        { cause: error },
      );
    }
    return error;
  }
}

/**
 * The records this thread's replicas hold, by id: a record read again (a
 * page, a change) equal to the one held is that same object, so the nodes
 * of one process (each with a replica of the whole graph) hold each record
 * once, not once per node. Records are never changed once parsed. Held
 * weakly: a record no replica holds any more (its node left) is freed.
 */
const records = new Map<string, WeakRef<NodeRecord>>();
/** Past this many ids, the ids of freed records are dropped (then past twice what is left). */
let pruneAt = 1024;

function sharedRecord(value: unknown): NodeRecord {
  const record = parseRecord(value);
  const held = records.get(record.id)?.deref();
  if (held !== undefined && sameRecord(held, record)) return held;
  records.set(record.id, new WeakRef(record));
  if (records.size > pruneAt) {
    for (const [id, ref] of records) if (ref.deref() === undefined) records.delete(id);
    pruneAt = Math.max(1024, 2 * records.size);
  }
  return record;
}

function sameStrings(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function sameRecord(a: NodeRecord, b: NodeRecord): boolean {
  if (
    a.name !== b.name ||
    a.host !== b.host ||
    a.pid !== b.pid ||
    a.hostname !== b.hostname ||
    a.endpoint !== b.endpoint ||
    a.pubEndpoint !== b.pubEndpoint ||
    a.publicKey !== b.publicKey ||
    a.startedAt !== b.startedAt ||
    a.queues.length !== b.queues.length ||
    a.fronts.length !== b.fronts.length ||
    !sameStrings(a.services, b.services) ||
    !sameStrings(a.topics, b.topics)
  )
    return false;
  for (let i = 0; i < a.queues.length; i++)
    if (a.queues[i]!.name !== b.queues[i]!.name || a.queues[i]!.window !== b.queues[i]!.window) return false;
  for (let i = 0; i < a.fronts.length; i++)
    if (a.fronts[i]!.kind !== b.fronts[i]!.kind || a.fronts[i]!.name !== b.fronts[i]!.name) return false;
  return true;
}

/** A NOTIFY frame read: its last version, and its changes `[version, change, …]` (none: read them). */
interface Notice {
  frame: Buffer;
  last: number;
  changes: readonly unknown[];
}

/**
 * The last NOTIFY frames this thread decoded. The directory sends one
 * frame, unchanged, to every node, so the nodes of one process (hundreds,
 * in a large graph) receive the same bytes: each frame is decoded and its
 * records parsed once, and the nodes share the result (records are never
 * changed once parsed). A frame is reused only when its bytes are equal.
 */
const notices: Notice[] = [];
const NOTICES_KEPT = 8;

function readNotice(frame: Buffer): Notice {
  for (const notice of notices) if (notice.frame.equals(frame)) return notice;
  const body = decodeArray(frame);
  const last = body[body.length % 2 === 0 ? body.length - 1 : body.length - 2];
  if (typeof last !== "number" || !Number.isInteger(last)) throw new CodecError("malformed NOTIFY frame");
  const changes: unknown[] = [];
  if (body.length > 2) {
    for (let k = 1; k + 1 < body.length; k += 2) {
      if (typeof body[k] !== "number") throw new CodecError("malformed directory change");
      changes.push(body[k], parseChange(body[k + 1]));
    }
  }
  const notice = { frame, last, changes };
  notices.unshift(notice);
  if (notices.length > NOTICES_KEPT) notices.pop();
  return notice;
}

/** A heartbeat interval a directory may ask for: 10 ms to an hour. */
function validInterval(value: unknown): value is number {
  return typeof value === "number" && value >= 10 && value <= 3_600_000;
}

/** A change as the directory sends it (NOTIFY, SNAPSHOT `{ since }`), checked. */
function parseChange(value: unknown): DirectoryChange {
  const change = value as { op?: unknown; id?: unknown; reason?: unknown; node?: unknown } | null;
  if (change?.op === "up") return { op: "up", node: sharedRecord(change.node) };
  if (change?.op !== "down" || typeof change.id !== "string")
    throw new CodecError("malformed directory change");
  return { op: "down", id: change.id, reason: String(change.reason ?? "") };
}
