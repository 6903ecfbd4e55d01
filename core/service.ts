/**
 * Services: request/reply between nodes over ROUTER sockets with correlation
 * ids, so one node has any number of calls outstanding (no REQ lock-step; the
 * zguide's "asynchronous client/server" pattern). Calls and replies sent to
 * one peer in one event-loop turn travel in one frame (see outbox.ts).
 */

import {
  ClosedError,
  CodecError,
  dataToErrorData,
  errorToData,
  PeerLostError,
  ProtocolError,
  RemoteError,
  TimeoutError,
  UnknownServiceError,
} from "./errors.js";
import type { ChannelMeter, MeterGroup } from "./meter.js";
import type { Outbox } from "./outbox.js";
import type { NodeRecord } from "./record.js";
import { Kind, Status } from "./wire.js";

/** What a handler learns about the call it serves. */
export interface CallContext {
  /** Instance id of the calling node. */
  readonly caller: string;
  /** The service name called. */
  readonly service: string;
}

/** Serves one service: returns the reply, or a promise of it. Throwing sends a `RemoteError` to the caller. */
export type Handler<Req = unknown, Res = unknown> = (
  request: Req,
  context: CallContext,
) => Res | Promise<Res>;

export interface CallOptions {
  /** Give up after this many milliseconds with a `TimeoutError` (per attempt with `retries`). Default: the node's `callTimeoutMs`. */
  timeoutMs?: number;
  /** Call this node (by name) rather than any provider. */
  node?: string;
  /**
   * Send the call again, up to this many times, when its provider is lost
   * mid-call (`PeerLostError`) or an attempt times out. Every attempt carries
   * the same request id (this node's id + a sequence), so a provider that
   * serves the service with `dedupe` runs it once and answers repeats from
   * its reply cache (the zguide's idempotency recipe): an exactly-once effect
   * as long as the retries reach that provider. Default 0 (at-most-once).
   */
  retries?: number;
  /**
   * How this call's error points at its caller (see `NodeOptions.traceCalls`:
   * `"async"`, `true`, `false`). Default: the node's `traceCalls`. A node that
   * forwards calls it received (a proxy, a cache) has no caller of its own
   * worth tracing and passes `false`.
   */
  trace?: boolean | "async";
}

export interface ProvideOptions {
  /**
   * Keep the replies of calls made with `retries` (by caller request id) for
   * `ttlMs` (default 60 000) and at most `maxEntries` (default 10 000): a
   * repeated request is answered from the cache, or joins the run in
   * progress, instead of running again.
   */
  dedupe?: boolean | { ttlMs?: number; maxEntries?: number };
}

/** The reply status a stopping node uses: the call was not run, so any provider may take it. */
export const NOT_RUN = 2;

// ------------------------------------------------------------------ server

export class ServiceServer {
  readonly handlers = new Map<string, Handler>();
  /** Reply caches of the services provided with `dedupe`. */
  readonly dedupe = new Map<string, ReplyCache>();
  /** Calls being handled right now. */
  inflight = 0;
  /** When true, new calls are answered NOT_RUN (the node is stopping). */
  refusing = false;
  #idle: (() => void)[] = [];
  #reply: Outbox | undefined;
  /** Per-service meters (undefined when metering is off). */
  meters: MeterGroup | undefined;
  /** Largest reply sent, in encoded bytes; a bigger one becomes an error reply. */
  maxMessageSize = Number.POSITIVE_INFINITY;

  /** Attaches the outbox of the bound ROUTER socket (at each start). */
  attach(outbox: Outbox | undefined): void {
    this.#reply = outbox;
  }

  /** Resolves when no call is being handled. */
  idle(): Promise<void> {
    if (this.inflight === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  /** Handles a CALL frame `[1, corr, service, request, ...]` from `caller`. */
  onCalls(caller: string, frame: unknown[]): void {
    const n = frame.length;
    if ((n - 1) % 3 !== 0)
      throw new CodecError(`malformed CALL frame: ${n - 1} fields is not a multiple of 3`);
    for (let k = 1; k < n; k += 3) {
      const corr = frame[k];
      const service = frame[k + 1];
      if (typeof corr !== "number" || typeof service !== "string") {
        throw new CodecError("malformed CALL frame: expected (number, string, value) triples");
      }
      this.#call(caller, corr, service, frame[k + 2]);
    }
  }

  /** Handles a KEYED CALL frame `[7, corr, service, request, requestId, ...]` (calls made with retries). */
  onKeyedCalls(caller: string, frame: unknown[]): void {
    const n = frame.length;
    if ((n - 1) % 4 !== 0)
      throw new CodecError(`malformed KEYED CALL frame: ${n - 1} fields is not a multiple of 4`);
    for (let k = 1; k < n; k += 4) {
      const corr = frame[k];
      const service = frame[k + 1];
      const key = frame[k + 3];
      if (
        typeof corr !== "number" ||
        typeof service !== "string" ||
        typeof key !== "string" ||
        key.length > 300
      ) {
        throw new CodecError(
          "malformed KEYED CALL frame: expected (number, string, value, string) quadruples",
        );
      }
      const cache = this.dedupe.get(service);
      if (cache === undefined || this.refusing) {
        this.#call(caller, corr, service, frame[k + 2]);
        continue;
      }
      const id = `${caller}\u0000${key}`;
      const entry = cache.get(id);
      if (entry?.done) {
        this.#send(caller, corr, entry.status, entry.value);
        continue;
      }
      if (entry !== undefined) {
        entry.waiting.push([caller, corr]); // a repeat while the first run is still going
        continue;
      }
      cache.start(id);
      this.#call(caller, corr, service, frame[k + 2], (status, value) =>
        cache.finish(id, status, value, (c, r) => this.#send(c, r, status, value)),
      );
    }
  }

  #call(
    caller: string,
    corr: number,
    service: string,
    request: unknown,
    settled?: (status: number, value: unknown) => void,
  ): void {
    if (this.refusing) {
      this.#send(caller, corr, NOT_RUN, { name: "ClosedError", message: "node is stopping", code: "CLOSED" });
      return;
    }
    const handler = this.handlers.get(service);
    if (handler === undefined) {
      this.#send(caller, corr, Status.ERROR, {
        name: "UnknownServiceError",
        message: `this node does not provide \`${service}\``,
        code: "UNKNOWN_SERVICE",
      });
      return;
    }
    this.inflight++;
    const meter = this.meters?.get(service);
    let t0 = 0;
    if (meter !== undefined) {
      meter.messagesIn++;
      meter.inflight++;
      meter.backlog = meter.inflight;
      t0 = performance.now();
    }
    let result: unknown;
    try {
      result = handler(request, { caller, service });
    } catch (error) {
      this.#done(caller, corr, Status.ERROR, errorToData(error), meter, t0, settled);
      return;
    }
    if (
      result !== null &&
      typeof result === "object" &&
      typeof (result as PromiseLike<unknown>).then === "function"
    ) {
      (result as PromiseLike<unknown>).then(
        (value) => this.#done(caller, corr, Status.OK, value, meter, t0, settled),
        (error: unknown) => this.#done(caller, corr, Status.ERROR, errorToData(error), meter, t0, settled),
      );
    } else this.#done(caller, corr, Status.OK, result, meter, t0, settled);
  }

  #done(
    caller: string,
    corr: number,
    status: number,
    value: unknown,
    meter: ChannelMeter | undefined,
    t0: number,
    settled?: (status: number, value: unknown) => void,
  ): void {
    const sent = this.#send(caller, corr, status, value);
    // A repeat gets the same answer, including the error a reply that could not be encoded became.
    if (settled !== undefined) {
      if (sent.encoded) settled(status, value);
      else
        settled(Status.ERROR, {
          name: "CodecError",
          message: "the reply could not be encoded",
          code: "CODEC",
        });
    }
    if (meter !== undefined) {
      meter.inflight--;
      meter.backlog = meter.inflight;
      meter.messagesOut++;
      meter.bytesOut += sent.bytes;
      if (!sent.ok) meter.errors++;
      meter.serviceTime.record(performance.now() - t0);
    }
    if (--this.inflight === 0 && this.#idle.length > 0) {
      const idle = this.#idle;
      this.#idle = [];
      for (const resolve of idle) resolve();
    }
  }

  /** Appends one reply; says whether it went out as a success and how many bytes its value took. */
  #send(
    caller: string,
    corr: number,
    status: number,
    value: unknown,
  ): { ok: boolean; bytes: number; encoded: boolean } {
    const outbox = this.#reply;
    if (outbox === undefined) return { ok: false, bytes: 0, encoded: true }; // socket gone: the caller's timeout or peer-loss handling answers it
    const batch = outbox.batch(caller, "R", (b) => b.writer.append(Kind.REPLY));
    const w = batch.writer;
    const mark = w.mark();
    let result = { ok: status === Status.OK, bytes: 0, encoded: true };
    try {
      w.append(corr);
      w.append(status);
      const size = w.append(value);
      result.bytes = size;
      if (size > this.maxMessageSize) {
        throw new ProtocolError(`reply of ${size} bytes exceeds maxMessageSize ${this.maxMessageSize}`);
      }
    } catch (error) {
      // The handler's value is not plain data or too big: tell the caller instead of losing the reply.
      w.rollback(mark);
      w.append(corr);
      w.append(Status.ERROR);
      w.append(
        error instanceof ProtocolError
          ? errorToData(error)
          : {
              name: "CodecError",
              message: `the reply could not be encoded: ${(error as Error).message}`,
              code: "CODEC",
            },
      );
      result = { ok: false, bytes: 0, encoded: false };
    }
    batch.items++;
    outbox.added(batch);
    return result;
  }
}

// ------------------------------------------------------------------ client

interface Pending {
  corr: number;
  peer: string;
  peerName: string;
  service: string;
  request: unknown;
  timeoutMs: number;
  target: string | undefined;
  tried: string[] | undefined;
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
  timer: ReturnType<typeof setTimeout> | undefined;
  site: { stack?: string } | undefined;
  /** When the call was made (performance.now()), and its meter once sent. */
  t0: number;
  meter: ChannelMeter | undefined;
  /** Control-plane call (directory protocol): not bound by maxMessageSize. */
  internal: boolean;
  /** Request id of a call made with retries (same on every attempt). */
  key: string | undefined;
  /** Attempts left after this one. */
  retries: number;
}

/** What the client needs from its node. */
export interface ClientLink {
  /** This node's instance id (request ids of calls with retries start with it). */
  id(): string;
  /** Outbox of the connecting ROUTER socket, or undefined when stopped. */
  outbox(): Outbox | undefined;
  /** Live providers of a service (from the node's replica). */
  providers(service: string): readonly NodeRecord[];
  /** Makes sure the connecting socket is connected to `peer`. */
  connect(peer: NodeRecord): void;
  /** Asks the directory for a fresh snapshot (after a lookup miss). */
  refresh(): Promise<void>;
}

export class ServiceClient {
  readonly #link: ClientLink;
  readonly #pending = new Map<number, Pending>();
  /** Calls outstanding per peer id: the load balancer picks the least loaded provider. */
  readonly #outstanding = new Map<string, number>();
  #corr = 0;
  #rotate = 0;
  readonly #suspects = new Set<string>();
  #keySeq = 0;
  /** Control-plane calls (directory protocol) among the pending ones, not counted in `inflight`. */
  #internal = 0;
  /** Capture the caller's whole stack at each call (about 2 µs); `traceCalls: true` of the node. */
  traceCalls = true;
  /** Largest request sent, in encoded bytes. */
  maxMessageSize = Number.POSITIVE_INFINITY;
  /** Per-service meters of calls made (undefined when metering is off). */
  meters: MeterGroup | undefined;

  constructor(link: ClientLink) {
    this.#link = link;
  }

  /** The node's own calls in flight (the directory protocol's are not counted). */
  get inflight(): number {
    return this.#pending.size - this.#internal;
  }

  /** Calls in flight to one peer. */
  outstanding(peer: string): number {
    return this.#outstanding.get(peer) ?? 0;
  }

  call(
    service: string,
    request: unknown,
    timeoutMs: number,
    target: string | undefined,
    retries = 0,
    trace = this.traceCalls,
  ): Promise<unknown> {
    let site: { stack?: string } | undefined;
    if (trace) {
      site = {};
      Error.captureStackTrace(site, ServiceClient.prototype.call);
    }
    return new Promise((resolve, reject) => {
      const p: Pending = {
        corr: 0,
        peer: "",
        peerName: "",
        service,
        request,
        timeoutMs,
        target,
        tried: undefined,
        resolve,
        reject,
        timer: undefined,
        site,
        t0: 0,
        meter: undefined,
        internal: false,
        key: retries > 0 ? `${this.#link.id()}:${++this.#keySeq}` : undefined,
        retries,
      };
      if (Number.isFinite(timeoutMs)) {
        p.timer = setTimeout(() => this.#timeout(p), timeoutMs);
      }
      this.#dispatch(p, true);
    });
  }

  /** Calls one peer directly by instance id (used for the directory). */
  callPeer(peer: NodeRecord, service: string, request: unknown, timeoutMs: number): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const p: Pending = {
        corr: 0,
        peer: "",
        peerName: peer.name,
        service,
        request,
        timeoutMs,
        target: undefined,
        tried: undefined,
        resolve,
        reject,
        timer: undefined,
        site: undefined,
        t0: 0,
        meter: undefined,
        internal: true,
        key: undefined,
        retries: 0,
      };
      if (Number.isFinite(timeoutMs)) p.timer = setTimeout(() => this.#timeout(p), timeoutMs);
      this.#send(p, peer);
    });
  }

  /** Picks a provider and sends; on a lookup miss, refreshes the replica once before failing. */
  #dispatch(p: Pending, mayRefresh: boolean): void {
    const provider = this.#pick(p);
    if (provider !== undefined) {
      this.#send(p, provider);
      return;
    }
    if (mayRefresh) {
      this.#link.refresh().then(
        () => {
          if (!this.#settled(p)) this.#dispatch(p, false);
        },
        () => {
          if (!this.#settled(p)) this.#dispatch(p, false);
        },
      );
      return;
    }
    const where =
      p.target === undefined ? "no live node provides it" : `node \`${p.target}\` does not provide it`;
    this.#fail(p, new UnknownServiceError(`cannot call \`${p.service}\`: ${where}`, p.service));
  }

  #settled(p: Pending): boolean {
    // A pending call that timed out has no timer and no pending entry but is marked by corr = -1.
    return p.corr === -1;
  }

  #pick(p: Pending): NodeRecord | undefined {
    const all = this.#link.providers(p.service);
    let best: NodeRecord | undefined;
    let bestLoad = Number.POSITIVE_INFINITY;
    const n = all.length;
    if (n === 0) return undefined;
    const start = this.#rotate++ % n;
    for (let i = 0; i < n; i++) {
      const node = all[(start + i) % n]!;
      if (p.target !== undefined && node.name !== p.target) continue;
      if (p.tried?.includes(node.id)) continue;
      // A provider whose connection dropped is tried last, until it answers or re-registers.
      const load = (this.#outstanding.get(node.id) ?? 0) + (this.#suspects.has(node.id) ? 1e9 : 0);
      if (load < bestLoad) {
        best = node;
        bestLoad = load;
        if (load === 0) break;
      }
    }
    return best;
  }

  #send(p: Pending, peer: NodeRecord): void {
    const outbox = this.#link.outbox();
    if (outbox === undefined) {
      this.#fail(p, new ClosedError(`cannot call \`${p.service}\`: the node is not running`));
      return;
    }
    this.#link.connect(peer);
    const keyed = p.key !== undefined;
    const batch = keyed
      ? outbox.batch(peer.id, "K", (b) => b.writer.append(Kind.KEYED_CALL))
      : outbox.batch(peer.id, "C", (b) => b.writer.append(Kind.CALL));
    const w = batch.writer;
    const mark = w.mark();
    const corr = ++this.#corr;
    let size = 0;
    try {
      w.append(corr);
      w.append(p.service);
      size = w.append(p.request);
      if (keyed) w.append(p.key);
      if (size > this.maxMessageSize && !p.internal) {
        throw new ProtocolError(`request of ${size} bytes exceeds maxMessageSize ${this.maxMessageSize}`);
      }
    } catch (error) {
      w.rollback(mark);
      this.#fail(p, error as Error);
      return;
    }
    batch.items++;
    outbox.added(batch);
    p.corr = corr;
    p.peer = peer.id;
    p.peerName = peer.name;
    this.#pending.set(corr, p);
    if (p.internal) this.#internal++;
    this.#outstanding.set(peer.id, (this.#outstanding.get(peer.id) ?? 0) + 1);
    if (this.meters !== undefined && !p.internal && p.meter === undefined) {
      const meter = this.meters.get(p.service);
      p.meter = meter;
      p.t0 = performance.now();
      meter.messagesOut++;
      meter.bytesOut += size;
      meter.inflight++;
      meter.backlog = meter.inflight;
    }
  }

  /** Handles a REPLY frame `[2, corr, status, value, ...]`. */
  onReplies(frame: unknown[]): void {
    const n = frame.length;
    if ((n - 1) % 3 !== 0) throw new CodecError("malformed REPLY frame");
    for (let k = 1; k < n; k += 3) {
      const p = this.#pending.get(frame[k] as number);
      if (p === undefined) continue; // timed out or failed already
      this.#release(p);
      if (this.#suspects.size > 0) this.#suspects.delete(p.peer);
      const status = frame[k + 1];
      const value = frame[k + 2];
      if (status === Status.OK) {
        p.corr = -1;
        if (p.timer !== undefined) clearTimeout(p.timer);
        const meter = p.meter;
        if (meter !== undefined) {
          meter.messagesIn++;
          meter.inflight--;
          meter.backlog = meter.inflight;
          meter.latency.record(performance.now() - p.t0);
        }
        p.resolve(value);
      } else if (status === NOT_RUN) {
        // The provider refused without running the call (it is stopping): any other provider may take it.
        this.#exclude(p);
        this.#dispatch(p, true);
      } else {
        const data = dataToErrorData(value);
        if (data.code === "UNKNOWN_SERVICE") {
          // The provider no longer has the service (our replica was behind): try another one.
          this.#exclude(p);
          this.#dispatch(p, true);
          continue;
        }
        this.#fail(
          p,
          new RemoteError(
            `\`${p.service}\` failed on node \`${p.peerName}\`: ${data.name}: ${data.message}`,
            p.peerName,
            data.name,
            data.stack,
            data.code,
          ),
        );
      }
    }
  }

  /** Remembers that `p`'s current provider refused it, so the retry goes elsewhere. */
  #exclude(p: Pending): void {
    if (p.tried === undefined) p.tried = [p.peer];
    else p.tried.push(p.peer);
  }

  /** Fails every call in flight to `peer` (it disconnected, crashed or was evicted). */
  peerLost(peer: string, reason: string): void {
    for (const p of [...this.#pending.values()]) {
      if (p.peer !== peer) continue;
      this.#release(p);
      this.#fail(
        p,
        new PeerLostError(`\`${p.service}\` on node \`${p.peerName}\` got no reply: ${reason}`, p.peerName),
      );
    }
  }

  /** The connection to `peer` dropped: prefer other providers until it answers or re-registers. */
  suspect(peer: string): void {
    this.#suspects.add(peer);
  }

  /** `peer` answered or (re)registered: it is a normal candidate again. */
  trust(peer: string): void {
    this.#suspects.delete(peer);
  }

  /**
   * A provider that stopped gracefully closed with calls of ours unanswered:
   * it answers every call it runs before closing, so these never ran — send
   * them to another provider.
   */
  retryElsewhere(peer: string): void {
    for (const p of [...this.#pending.values()]) {
      if (p.peer !== peer) continue;
      this.#release(p);
      this.#exclude(p);
      this.#dispatch(p, true);
    }
  }

  /** Fails every call in flight (the node is stopping). */
  closeAll(): void {
    for (const p of [...this.#pending.values()]) {
      this.#release(p);
      this.#fail(p, new ClosedError(`\`${p.service}\` was cancelled: the calling node stopped`));
    }
  }

  #release(p: Pending): void {
    if (this.#pending.delete(p.corr) && p.internal) this.#internal--;
    const left = (this.#outstanding.get(p.peer) ?? 1) - 1;
    if (left <= 0) this.#outstanding.delete(p.peer);
    else this.#outstanding.set(p.peer, left);
  }

  #timeout(p: Pending): void {
    p.timer = undefined;
    if (this.#pending.get(p.corr) === p) this.#release(p);
    const where = p.peerName ? ` (node \`${p.peerName}\`)` : "";
    this.#fail(
      p,
      new TimeoutError(`\`${p.service}\`${where} did not answer within ${p.timeoutMs} ms`, p.timeoutMs),
    );
  }

  #fail(p: Pending, error: Error): void {
    if (p.corr === -1) return;
    if (p.retries > 0 && (error instanceof PeerLostError || error instanceof TimeoutError)) {
      // Another attempt with the same request id; a lost provider is not asked again first.
      p.retries--;
      if (error instanceof PeerLostError && p.peer) this.#exclude(p);
      if (p.timer !== undefined) clearTimeout(p.timer);
      if (Number.isFinite(p.timeoutMs)) p.timer = setTimeout(() => this.#timeout(p), p.timeoutMs);
      this.#dispatch(p, true);
      return;
    }
    p.corr = -1;
    if (p.timer !== undefined) clearTimeout(p.timer);
    const meter = p.meter;
    if (meter !== undefined) {
      meter.errors++;
      meter.inflight--;
      meter.backlog = meter.inflight;
      if (error instanceof RemoteError) meter.messagesIn++;
    }
    if (p.site?.stack !== undefined) {
      // Point the stack at the caller: the error's own frames are timers and socket loops.
      const header = `${error.name}: ${error.message}`;
      error.stack = header + p.site.stack.slice(p.site.stack.indexOf("\n"));
    }
    p.reject(error);
  }
}

/** A service's reply cache for deduplicated calls (by caller + request id), LRU-bounded with a TTL. */
export class ReplyCache {
  readonly #entries = new Map<
    string,
    { done: boolean; status: number; value: unknown; expires: number; waiting: [string, number][] }
  >();
  readonly #ttlMs: number;
  readonly #max: number;

  constructor(ttlMs = 60_000, maxEntries = 10_000) {
    if (!(ttlMs > 0))
      throw new RangeError(`Expected \`dedupe.ttlMs\` to be a positive number, got \`${ttlMs}\``);
    if (!Number.isInteger(maxEntries) || maxEntries < 1)
      throw new RangeError(`Expected \`dedupe.maxEntries\` to be a positive integer, got \`${maxEntries}\``);
    this.#ttlMs = ttlMs;
    this.#max = maxEntries;
  }

  get(
    id: string,
  ): { done: boolean; status: number; value: unknown; waiting: [string, number][] } | undefined {
    const entry = this.#entries.get(id);
    if (entry?.done && entry.expires < Date.now()) {
      this.#entries.delete(id);
      return undefined;
    }
    return entry;
  }

  start(id: string): void {
    this.#entries.set(id, { done: false, status: 0, value: undefined, expires: 0, waiting: [] });
    while (this.#entries.size > this.#max) {
      const oldest = this.#entries.keys().next().value as string;
      this.#entries.delete(oldest);
    }
  }

  /** Records the reply and answers the repeats that arrived while it ran. */
  finish(id: string, status: number, value: unknown, answer: (caller: string, corr: number) => void): void {
    const entry = this.#entries.get(id);
    if (entry === undefined) return;
    entry.done = true;
    entry.status = status;
    entry.value = value;
    entry.expires = Date.now() + this.#ttlMs;
    for (const [caller, corr] of entry.waiting) answer(caller, corr);
    entry.waiting = [];
  }

  get size(): number {
    return this.#entries.size;
  }
}
