/**
 * The calling side of services: picks a provider (the least loaded, or a
 * named node), sends calls with correlation ids, matches replies, times calls
 * out, retries them on another provider when asked, and fails them when
 * their provider is lost.
 */
import { randomBytes } from "node:crypto";
import {
  ClosedError,
  CodecError,
  dataToErrorData,
  PeerLostError,
  ProtocolError,
  RemoteError,
  TimeoutError,
  UnknownServiceError,
} from "./errors.js";
import type { ChannelMeter, MeterGroup } from "./meter.js";
import type { Batch, Outbox } from "./outbox.js";
import type { NodeRecord } from "./record.js";
import type { CallOptions } from "./service.js";
import type { SteeringAuth } from "./steering-auth.js";
import { Kind, Status } from "./wire.js";

/** How a failed call's error points at its caller (see `NodeOptions.traceCalls`). */
export type TraceMode = boolean | "async";

/** Checks a `traceCalls` / `trace` value. */
export function traceMode(value: unknown, name: string, fallback: TraceMode): TraceMode {
  if (value === undefined) return fallback;
  if (value === true || value === false || value === "async") return value;
  throw new TypeError(`Expected \`${name}\` to be true, false or "async", got \`${String(value)}\``);
}

/** A call's options checked, with the node's defaults applied. */
export interface CallSettings {
  timeoutMs: number;
  retries: number;
  trace: TraceMode;
}

/** Checks a call's options (RangeError or TypeError naming the option) and applies the defaults. */
export function callSettings(
  options: CallOptions | undefined,
  defaultTimeoutMs: number,
  defaultTrace: TraceMode,
): CallSettings {
  const timeoutMs = options?.timeoutMs ?? defaultTimeoutMs;
  if (!(timeoutMs > 0))
    throw new RangeError(`Expected \`timeoutMs\` to be a positive number, got \`${timeoutMs}\``);
  const retries = options?.retries ?? 0;
  if (!Number.isInteger(retries) || retries < 0)
    throw new RangeError(`Expected \`retries\` to be a non-negative integer, got \`${retries}\``);
  return { timeoutMs, retries, trace: traceMode(options?.trace, "trace", defaultTrace) };
}

/**
 * Awaits a call's reply; on failure, takes the error's stack here, in the
 * continuation, where V8 lists the async functions awaiting this call (the
 * caller's file and line). Nothing is captured when the call succeeds.
 */
export async function traced(reply: Promise<unknown>): Promise<unknown> {
  try {
    return await reply;
  } catch (error) {
    if (error instanceof Error) {
      const own = error.stack;
      Error.captureStackTrace(error, traced);
      // Not awaited from an async function (a .then() chain): no frames here; keep its own.
      if (!/\n\s+at /.test(error.stack ?? "")) error.stack = own;
    }
    throw error;
  }
}

/** Starts a frame with its kind (one function for every frame: no closure per call). */
function openFrame(batch: Batch, kind: number): void {
  batch.writer.append(kind);
}

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
  /**
   * The middle of this node's request ids (`<id>:<secret>:<n>`): a peer that
   * announces this node's id where it is not connected must not guess the
   * request ids of its future retried calls and fill a reply cache for them.
   */
  readonly #keySecret = randomBytes(9).toString("base64url");
  /** Control-plane calls (directory protocol) among the pending ones, not counted in `inflight`. */
  #internal = 0;
  /** Capture the caller's whole stack at each call (about 2 µs); `traceCalls: true` of the node. */
  traceCalls = true;
  /** Largest request sent, in encoded bytes. */
  maxMessageSize = Number.POSITIVE_INFINITY;
  /** Per-service meters of calls made (undefined when metering is off). */
  meters: MeterGroup | undefined;
  /** Signs steering calls with this node's key (undefined: a node without CurveZMQ). */
  steering: SteeringAuth | undefined;

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
        key: retries > 0 ? `${this.#link.id()}:${this.#keySecret}:${++this.#keySeq}` : undefined,
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
    // A steering call carries this node's key and proof (no request id: not deduplicated).
    const signed = this.steering?.signs(p.service, peer.publicKey) === true;
    const keyed = !signed && p.key !== undefined;
    const batch = signed
      ? outbox.batch(peer.id, "A", openFrame, Kind.AUTH_CALL)
      : keyed
        ? outbox.batch(peer.id, "K", openFrame, Kind.KEYED_CALL)
        : outbox.batch(peer.id, "C", openFrame, Kind.CALL);
    const w = batch.writer;
    const mark = w.mark();
    const corr = ++this.#corr;
    let size = 0;
    try {
      w.append(corr);
      w.append(p.service);
      size = w.append(p.request);
      if (keyed) w.append(p.key);
      if (signed) {
        const [key, proof] = this.steering!.sign(peer.publicKey!, peer.id, p.service, corr);
        w.append(key);
        w.append(proof);
      }
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

  /**
   * Handles a REPLY frame `[2, corr, status, value, ...]` that came from
   * `peer`. A reply counts only from the peer its call went to: correlation
   * ids are small sequential numbers, and any peer this node is connected
   * to could otherwise answer calls made to another. Returns how many
   * replies were refused for that.
   */
  onReplies(peer: string, frame: unknown[]): number {
    const n = frame.length;
    if ((n - 1) % 3 !== 0) throw new CodecError("malformed REPLY frame");
    let forged = 0;
    for (let k = 1; k < n; k += 3) {
      const p = this.#pending.get(frame[k] as number);
      if (p === undefined) continue; // timed out or failed already
      if (p.peer !== peer) {
        forged++;
        continue;
      }
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
      } else if (status === Status.NOT_RUN) {
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
    return forged;
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
