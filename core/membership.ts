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
 * Wire (the directory's services, see wire.ts): REGISTER record → `{ version,
 * nodes, heartbeatMs }`; HEARTBEAT `{ id, version }` → `{ known, version }`;
 * UPDATE record → `{ known, version }`; DEREGISTER `{ id }`; SNAPSHOT
 * `{ since }` → `{ version, since, changes: [version, change, …] }` or
 * `{ version, nodes }`; NOTIFY frames `[5, version, change, …]` directory → node.
 */
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
  /** This node's record as it stands now. */
  record(): NodeRecord;
  /** Calls one of the directory's services. */
  call(peer: NodeRecord, service: string, request: unknown, timeoutMs: number): Promise<unknown>;
  /** The security handshake's verdict on `endpoint`, if it refused this node. */
  refusedHandshake(endpoint: string): Promise<string | undefined>;
  /** At every heartbeat, before it is sent (housekeeping). */
  beat(): void;
  /** Fetches a snapshot (the directory itself has none to fetch). */
  refresh(): Promise<void>;
  /** Where channels are routed changed here (this node fronts one, or stopped): queues re-route. */
  routesChanged(): void;
}

/** Replies of the directory's services, as this side reads them. */
interface RegisterReply {
  version: number;
  nodes: unknown[];
  heartbeatMs: number;
}

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
  #synced: Promise<void> = Promise.resolve();
  #refreshing: Promise<void> | undefined;
  /** The channels this node fronts, by `kind:name`. */
  readonly #fronts = new Map<string, FrontRecord>();

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
        reply = (await this.#call(
          DirectoryService.REGISTER,
          this.#link.record(),
          timeoutMs,
        )) as RegisterReply;
      } catch (error) {
        if (error instanceof RemoteError && error.remoteCode === "NAME_TAKEN") {
          const name = this.#link.name;
          throw new NameTakenError(`cannot start node \`${name}\`: ${error.message}`, name, { cause: error });
        }
        throw await this.#contactFailure(error, first, timeoutMs);
      }
      // Re-registering (the directory restarted): nodes not yet back get a grace period.
      this.#replica.load(reply.version, reply.nodes.map(parseRecord), first ? 0 : 3 * reply.heartbeatMs);
      this.#heartbeatMs = reply.heartbeatMs;
      clearInterval(this.#heartbeat);
      this.#heartbeat = setInterval(() => this.#beat(), this.#heartbeatMs);
      this.#heartbeat.unref();
    })().finally(() => {
      this.#registering = undefined;
    });
    return this.#registering;
  }

  /**
   * Brings the replica up to the directory's version: the changes since its
   * own, or a whole snapshot (coalesced: one request at a time).
   */
  refresh(timeoutMs = 2000, first = false): Promise<void> {
    if (this.#refreshing) return this.#refreshing;
    const since = this.#replica.version;
    this.#refreshing = this.#call(DirectoryService.SNAPSHOT, since >= 0 ? { since } : null, timeoutMs)
      .then(
        (reply) => {
          const r = reply as { version: number; since?: number; changes?: unknown[]; nodes?: unknown[] };
          if (Array.isArray(r.changes)) {
            // Notifications applied meanwhile are skipped (apply ignores old versions).
            if (typeof r.since === "number" && r.since <= this.#replica.version) {
              if (this.#applyChanges(r.changes, 0)) return;
            }
            // Changes that do not follow this replica: take the whole state.
            return this.#snapshot(timeoutMs);
          }
          if (!Array.isArray(r.nodes)) throw new CodecError("malformed SNAPSHOT reply");
          this.#replica.load(r.version, r.nodes.map(parseRecord), 3 * this.#heartbeatMs);
        },
        async (error: unknown) => {
          throw await this.#contactFailure(error, first, timeoutMs);
        },
      )
      .finally(() => {
        this.#refreshing = undefined;
      });
    return this.#refreshing;
  }

  /** Loads the whole directory into the replica. */
  async #snapshot(timeoutMs: number): Promise<void> {
    const r = (await this.#call(DirectoryService.SNAPSHOT, null, timeoutMs)) as {
      version: number;
      nodes: unknown[];
    };
    this.#replica.load(r.version, r.nodes.map(parseRecord), 3 * this.#heartbeatMs);
  }

  /**
   * Applies `[version, change, version, change, …]` from index `from`;
   * false when one does not follow the replica's version (the caller then
   * takes a whole snapshot). Throws CodecError when malformed.
   */
  #applyChanges(list: unknown[], from: number): boolean {
    for (let k = from; k + 1 < list.length; k += 2) {
      const version = list[k];
      const change = list[k + 1] as { op?: unknown; id?: unknown; reason?: unknown; node?: unknown };
      if (typeof version !== "number") throw new CodecError("malformed directory change");
      const parsed: DirectoryChange =
        change?.op === "up"
          ? { op: "up", node: parseRecord(change.node) }
          : { op: "down", id: String(change?.id), reason: String(change?.reason ?? "") };
      if (!this.#replica.apply(version, parsed)) return false;
    }
    return true;
  }

  /** Sends the current record to the directory at the end of the turn (services changed). */
  scheduleUpdate(): void {
    if (!this.#link.active()) return;
    if (this.#updateScheduled) return;
    this.#updateScheduled = true;
    this.#synced = new Promise<void>((resolve) => {
      setImmediate(() => {
        this.#updateScheduled = false;
        if (!this.#link.active()) return resolve();
        const send = (): Promise<void> =>
          this.#call(DirectoryService.UPDATE, this.#link.record(), this.#heartbeatMs * 3).then((r) => {
            if ((r as { known: boolean }).known === false) return this.register(this.#heartbeatMs * 3, false);
          });
        (this.#registering ?? Promise.resolve()).then(send).then(resolve, () => resolve());
      });
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

  /** Resolves when the directory holds this node's current record. */
  synced(): Promise<void> {
    return this.#synced;
  }

  /** Stops heartbeating and asks the directory to remove this node (errors ignored). */
  async leave(id: string | undefined, timeoutMs: number): Promise<void> {
    this.stop();
    if (id === undefined) return;
    await this.#call(DirectoryService.DEREGISTER, { id }, timeoutMs).catch(() => undefined);
  }

  /** Stops heartbeating. */
  stop(): void {
    clearInterval(this.#heartbeat);
    this.#heartbeat = undefined;
  }

  /** Applies a NOTIFY frame `[kind, version, change, version, change, …]`; throws CodecError when malformed. */
  onNotify(body: unknown[]): void {
    // Before the registration's reply (or the first snapshot) there is no state to apply
    // changes to: the reply brings the state, at a version that covers them.
    if (this.#replica.version < 0) return;
    if (!this.#applyChanges(body, 1)) void this.refresh().catch(() => undefined);
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
    if (this.#beating || !this.#link.running()) return;
    this.#beating = true;
    const id = this.#link.id();
    this.#call(DirectoryService.HEARTBEAT, { id, version: this.#replica.version }, this.#heartbeatMs * 2)
      .then((reply) => {
        const r = reply as { known: boolean; version: number };
        if (!r.known) return this.register(this.#heartbeatMs * 2, false);
        // Not awaited: catching up (slow in a large, busy graph) must not delay the next beat,
        // or the directory takes this node for dead.
        if (r.version !== this.#replica.version) void this.refresh().catch(() => undefined);
      })
      .catch(() => undefined) // directory unreachable: keep beating, re-register when it answers
      .finally(() => {
        this.#beating = false;
      });
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
        `cannot start node \`${name}\`: the directory at ${directory} refused the security handshake (${refused}): is this node's public key in its allow list, and is \`security.directoryKey\` the directory's key?`,
        { cause: error },
      );
    }
    if (error instanceof TimeoutError) {
      return new TimeoutError(
        `cannot start node \`${name}\`: the directory at ${directory} did not answer within ${timeoutMs} ms`,
        timeoutMs,
        { cause: error },
      );
    }
    return error;
  }
}
