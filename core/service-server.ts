/**
 * The serving side of services: runs the handlers of the calls a node
 * receives (many at a time), answers each in the frame of replies to its
 * caller, refuses new calls while the node stops (they are not run, so the
 * caller may send them to another provider), and deduplicates calls made
 * with retries when the service asks for it.
 */
import { CodecError, errorToData, ProtocolError } from "./errors.js";
import type { ChannelMeter, MeterGroup } from "./meter.js";
import type { Batch, Outbox } from "./outbox.js";
import { ReplyCache } from "./reply-cache.js";
import type { Handler, ProvideOptions } from "./service.js";
import type { SteeringAuth } from "./steering-auth.js";
import { Kind, nodeOf, Status } from "./wire.js";

/** Starts a REPLY frame (one function for every reply: no closure per call). */
function openReplies(batch: Batch): void {
  batch.writer.append(Kind.REPLY);
}

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
  /** Who may call steering services (`*.control`, `zmp.faults`); undefined: anyone. */
  steering: SteeringAuth | undefined;
  /** This node's instance id (steering proofs name it). */
  self = "";
  /** ERROR replies carry the handler's stack (`remoteStacks` of the node). */
  stacks = true;

  /**
   * Serves `service` with `handler` (a name the node checked), with a reply
   * cache when `options.dedupe` asks for one. Services under `zmp.` are the
   * node's own (see {@link serveBuiltin}).
   */
  provide(service: string, handler: Handler, options: ProvideOptions): void {
    if (typeof handler !== "function") throw new TypeError("Expected `handler` to be a function");
    if (service.startsWith("zmp."))
      throw new TypeError(`Expected \`service\` not to use the reserved prefix zmp., got \`${service}\``);
    const dedupe = options.dedupe;
    if (dedupe) {
      const o = dedupe === true ? {} : dedupe;
      this.dedupe.set(service, new ReplyCache(o.ttlMs, o.maxEntries));
    } else this.dedupe.delete(service);
    this.handlers.set(service, handler);
  }

  /** Serves one of the built-in `zmp.` services (stats, ping, the directory's protocol). */
  serveBuiltin(service: string, handler: Handler): void {
    this.handlers.set(service, handler);
  }

  /** Stops serving `service` (calls in progress finish); false when it was not served. */
  unprovide(service: string): boolean {
    this.dedupe.delete(service);
    return this.handlers.delete(service);
  }

  /** Services provided (the built-in `zmp.*` ones excluded). */
  services(): string[] {
    return [...this.handlers.keys()].filter((s) => !s.startsWith("zmp."));
  }

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

  /** Handles an AUTH CALL frame `[8, corr, service, request, key, proof, ...]` (steering calls). */
  onAuthCalls(caller: string, frame: unknown[]): void {
    const n = frame.length;
    if ((n - 1) % 5 !== 0)
      throw new CodecError(`malformed AUTH CALL frame: ${n - 1} fields is not a multiple of 5`);
    for (let k = 1; k < n; k += 5) {
      const corr = frame[k];
      const service = frame[k + 1];
      if (typeof corr !== "number" || typeof service !== "string")
        throw new CodecError("malformed AUTH CALL frame: expected (number, string, value, key, proof)");
      const refused = this.steering?.check(this.self, service, corr, frame[k + 3], frame[k + 4]);
      if (refused !== undefined) this.#send(caller, corr, Status.ERROR, errorToData(refused, this.stacks));
      else this.#call(caller, corr, service, frame[k + 2], undefined, true);
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
      // The request id alone: it starts with the caller's instance id and carries a secret
      // of the caller's, and it stays the same when a retry comes on a new connection.
      const id = key;
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
    authorized = false,
  ): void {
    if (!authorized && this.steering !== undefined) {
      const refused = this.steering.check(this.self, service, corr);
      if (refused !== undefined) {
        this.#send(caller, corr, Status.ERROR, errorToData(refused, this.stacks));
        return;
      }
    }
    if (this.refusing) {
      this.#send(caller, corr, Status.NOT_RUN, {
        name: "ClosedError",
        message: "node is stopping",
        code: "CLOSED",
      });
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
      result = handler(request, { caller: nodeOf(caller), connection: caller, service });
    } catch (error) {
      this.#done(caller, corr, Status.ERROR, errorToData(error, this.stacks), meter, t0, settled);
      return;
    }
    if (
      result !== null &&
      typeof result === "object" &&
      typeof (result as PromiseLike<unknown>).then === "function"
    ) {
      (result as PromiseLike<unknown>).then(
        (value) => this.#done(caller, corr, Status.OK, value, meter, t0, settled),
        (error: unknown) =>
          this.#done(caller, corr, Status.ERROR, errorToData(error, this.stacks), meter, t0, settled),
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
    const batch = outbox.batch(caller, "R", openReplies);
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
          ? errorToData(error, this.stacks)
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
