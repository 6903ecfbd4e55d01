/**
 * A service proxy: a node takes over a service name in a running graph (it
 * fronts it), so every other node's calls come to it, and forwards each call
 * to a real provider. The core's client picks the provider with the fewest
 * calls outstanding from the proxy (load balancing by readiness, not blind
 * round robin) and tries a provider whose connection dropped last; the
 * proxy's view of the providers is its directory replica, so a provider that
 * stops heartbeating is dropped from it when the directory evicts it.
 *
 * For a service marked `idempotent`, a call whose provider dies mid-call
 * (`PeerLostError`: connection dropped, process killed, evicted) is sent
 * again to another provider, so a SIGKILLed worker behind the proxy costs no
 * request. Other services keep at-most-once: the caller gets the error.
 *
 * Pausing holds calls in the proxy until `resume()` (the callers' own
 * timeouts still run); `close()` lets go of the service with no failed call:
 * the callers move back to the providers, calls in flight finish here.
 */
import { BusyError, PeerLostError } from "../../core/errors.js";
import type { Node } from "../../core/node.js";
import { checkName } from "../../core/record.js";
import type { CallOptions } from "../../core/service.js";
import { checkNumber, checkOptions, fail, flag, nonNegative } from "../control/validate.js";
import { integerBetween, MAX_RETRIES, MAX_TIMER_MS, positiveUpTo } from "../limits.js";
import { register, type Steerable } from "../steering.js";
import { forwardedError } from "./errors.js";
import { PauseGate } from "./pause-gate.js";
import { replaceTap, type TapOptions, TapSink, type TapStats } from "./tap.js";

export interface ServiceProxyOptions {
  /** The service to take over. Required. */
  service: string;
  /**
   * The service may run a request twice without harm: a call whose provider
   * is lost mid-call is retried on another provider. Default false.
   */
  idempotent?: boolean;
  /** Retries of one call after its provider was lost (idempotent services only). Default 3. */
  retries?: number;
  /** Timeout of each forwarded call, ms. Default: the node's `callTimeoutMs`. */
  timeoutMs?: number;
  /** Copy each call (request, reply or error, time) to a topic or file. Default: no tap. */
  tap?: TapOptions;
  /** Serve steering on `<node name>.control`. Default true. */
  steering?: boolean;
}

/** Messages and bytes one way through a proxy. */
export interface DirectionStats {
  messages: number;
  bytes: number;
  /** Messages per second (EWMA, τ = 1 s); NaN when the node keeps no meters. */
  rate: number;
}

export interface ServiceProxyStats {
  kind: "service";
  id: string;
  node: string;
  /** When the stats were read, ms since the epoch (the sample's own timestamp). */
  time: number;
  service: string;
  paused: boolean;
  closed: boolean;
  idempotent: boolean;
  /** Calls received from callers. */
  calls: number;
  /** Calls answered with a reply. */
  replied: number;
  /** Calls answered with an error (after retries). */
  failed: number;
  /** Calls sent again to another provider after theirs was lost. */
  retried: number;
  /** Calls in the proxy now (held while paused, or awaiting a provider). */
  inflight: number;
  /** Calls held by a pause right now. */
  held: number;
  /** Requests callers → providers (bytes as sent to the providers). */
  forward: DirectionStats;
  /** Replies providers → callers (bytes as sent to the callers). */
  backward: DirectionStats;
  /** Latency of the forwarded calls (proxy → provider → proxy), ms; NaN without meters. */
  latencyP50: number;
  latencyP99: number;
  /** Providers the proxy forwards to, by node name (its replica's view). */
  providers: string[];
  tap: TapStats | null;
}

const OPTION_KEYS = ["service", "idempotent", "retries", "timeoutMs", "tap", "steering"];
/** Call options of a forwarded call: no stack capture (see `CallOptions.trace`). */
const UNTRACED = { trace: false } as const;

export class ServiceProxy implements Steerable {
  readonly node: Node;
  readonly service: string;
  readonly id: string;
  #idempotent: boolean;
  #retries: number;
  #timeoutMs: number | undefined;
  #tap: TapSink | undefined;
  #closed = false;
  readonly #gate = new PauseGate();
  #inflight = 0;
  #idle: (() => void)[] = [];
  #counts = { calls: 0, replied: 0, failed: 0, retried: 0 };
  #unregister: (() => void) | undefined;
  #closing: Promise<void> | undefined;

  private constructor(node: Node, options: ServiceProxyOptions) {
    const o = checkOptions(options, OPTION_KEYS, "service proxy options");
    this.node = node;
    this.service = checkName(o.service, "service");
    if (this.service.startsWith("zmp."))
      fail("service", "a service outside the reserved zmp. prefix", o.service);
    this.id = `service:${this.service}`;
    this.#idempotent = flag("idempotent", o.idempotent, false);
    this.#retries = nonNegative("retries", o.retries, 3);
    if (!Number.isInteger(this.#retries)) fail("retries", "a non-negative integer", o.retries);
    this.#timeoutMs =
      o.timeoutMs === undefined
        ? undefined
        : checkNumber("timeoutMs", o.timeoutMs, "a positive number", (v) => v > 0);
    if (o.tap !== undefined) this.#tap = new TapSink(node, o.tap, this.service);
  }

  /**
   * Takes over `options.service` on `node` and resolves once the directory
   * lists the front (callers move to the proxy as their replicas learn it).
   */
  static async start(node: Node, options: ServiceProxyOptions): Promise<ServiceProxy> {
    const proxy = new ServiceProxy(node, options);
    const steering = flag("steering", options.steering, true);
    if (node.services.includes(proxy.service))
      throw new BusyError(`node \`${node.name}\` already serves \`${proxy.service}\``);
    node.provide(proxy.service, (request) => proxy.#forward(request));
    if (steering) proxy.#unregister = register(node, proxy);
    try {
      await node.front("service", proxy.service);
    } catch (error) {
      await proxy.close();
      throw error;
    }
    return proxy;
  }

  get paused(): boolean {
    return this.#gate.paused;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Whether a lost call is retried on another provider. */
  get idempotent(): boolean {
    return this.#idempotent;
  }

  /** Holds incoming calls in the proxy until `resume()` (their callers' timeouts still run). */
  pause(): void {
    if (!this.#closed) this.#gate.pause();
  }

  /** Forwards held calls and new ones again. */
  resume(): void {
    this.#gate.resume();
  }

  /** Changes `idempotent`, `retries`, `timeoutMs` or `tap` (an object, or null to remove it). */
  set(values: Record<string, unknown>): void {
    checkOptions(values, ["idempotent", "retries", "timeoutMs", "tap"], "service proxy settings");
    const idempotent = flag("idempotent", values.idempotent, this.#idempotent);
    const retries =
      values.retries === undefined
        ? this.#retries
        : integerBetween("retries", values.retries, 0, MAX_RETRIES);
    const timeoutMs =
      values.timeoutMs === undefined
        ? this.#timeoutMs
        : values.timeoutMs === null
          ? undefined
          : positiveUpTo("timeoutMs", values.timeoutMs, MAX_TIMER_MS, " ms");
    if (values.tap !== undefined) this.#tap = replaceTap(this.node, this.#tap, values.tap, this.service);
    this.#idempotent = idempotent;
    this.#retries = retries;
    this.#timeoutMs = timeoutMs;
  }

  /** Live providers the proxy forwards to (its directory replica's view), by node name. */
  providers(): string[] {
    return this.node
      .nodes()
      .filter((n) => n.id !== this.node.id && n.services.includes(this.service))
      .filter((n) => !n.fronts.some((f) => f.kind === "service" && f.name === this.service))
      .map((n) => n.name)
      .sort();
  }

  stats(): ServiceProxyStats {
    const meters = this.node.stats();
    const served = meters.services[this.service];
    const called = meters.calls[this.service];
    return {
      kind: "service",
      id: this.id,
      node: this.node.name,
      time: Date.now(),
      service: this.service,
      paused: this.#gate.paused,
      closed: this.#closed,
      idempotent: this.#idempotent,
      ...this.#counts,
      inflight: this.#inflight,
      held: this.#gate.held,
      forward: {
        messages: called?.messagesOut ?? this.#counts.calls,
        bytes: called?.bytesOut ?? 0,
        rate: called?.rateOut ?? Number.NaN,
      },
      backward: {
        messages: served?.messagesOut ?? this.#counts.replied + this.#counts.failed,
        bytes: served?.bytesOut ?? 0,
        rate: served?.rateOut ?? Number.NaN,
      },
      latencyP50: called?.latencyP50 ?? Number.NaN,
      latencyP99: called?.latencyP99 ?? Number.NaN,
      providers: this.providers(),
      tap: this.#tap?.stats() ?? null,
    };
  }

  /**
   * Lets go of the service: unfronts it (callers go to the providers again),
   * finishes the calls already here, then stops serving the name. No call
   * fails: a caller that still reaches the proxy afterwards is sent on by its
   * own node. Safe to call twice.
   */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    this.#closed = true;
    this.resume();
    // Held calls go out while the proxy still fronts the service (its own route skips itself).
    await new Promise((resolve) => setImmediate(resolve));
    await leave(this.node, this.service);
    if (this.#inflight > 0) await new Promise<void>((resolve) => this.#idle.push(resolve));
    this.#unregister?.();
    await this.#tap?.close();
  }

  #forward(request: unknown): Promise<unknown> {
    // The common case (running, no tap, no retries) in one promise chain, without the two
    // async frames of the general path.
    if (this.#gate.paused || this.#tap !== undefined || this.#idempotent) return this.#forwardFully(request);
    this.#counts.calls++;
    this.#inflight++;
    return this.node.call(this.service, request, this.#callOptions()).then(this.#replied, this.#failed);
  }

  readonly #replied = (reply: unknown): unknown => {
    this.#counts.replied++;
    this.#left();
    return reply;
  };

  readonly #failed = (error: unknown): never => {
    this.#counts.failed++;
    this.#left();
    throw forwardedError(error, this.service);
  };

  #left(): void {
    if (--this.#inflight === 0 && this.#idle.length > 0) {
      const idle = this.#idle;
      this.#idle = [];
      for (const resolve of idle) resolve();
    }
  }

  #callOptions(): CallOptions {
    // No stack capture per forwarded call: the proxy's own stack says nothing to its callers.
    return this.#timeoutMs === undefined ? UNTRACED : { timeoutMs: this.#timeoutMs, trace: false };
  }

  async #forwardFully(request: unknown): Promise<unknown> {
    this.#counts.calls++;
    this.#inflight++;
    const t0 = performance.now();
    try {
      if (this.#gate.paused) await this.#gate.wait();
      const reply = await this.#call(request);
      this.#counts.replied++;
      this.#tap?.offer(() => ({ service: this.service, request, reply, ms: performance.now() - t0 }));
      return reply;
    } catch (error) {
      this.#counts.failed++;
      this.#tap?.offer(() => ({
        service: this.service,
        request,
        error: { name: (error as Error).name, message: (error as Error).message },
        ms: performance.now() - t0,
      }));
      throw forwardedError(error, this.service);
    } finally {
      this.#left();
    }
  }

  async #call(request: unknown): Promise<unknown> {
    const options = this.#callOptions();
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.node.call(this.service, request, options);
      } catch (error) {
        // The provider went away mid-call: the request may or may not have run there.
        if (!(error instanceof PeerLostError) || !this.#idempotent || attempt >= this.#retries) throw error;
        this.#counts.retried++;
      }
    }
  }
}

/**
 * Lets go of a fronted service: stops serving the name and unfronts it in one
 * directory update, and resolves when the directory has it. Calls already
 * being handled finish; a caller whose replica still points at the node gets
 * "unknown service" from it and its node sends the call on to a provider (the
 * core retries that case), so no call fails. Stopping to serve at the same
 * time matters: a node that still provided the service after unfronting would
 * be one of its own providers and could forward calls to itself.
 */
export async function leave(node: Node, service: string): Promise<void> {
  node.unprovide(service);
  if (node.state === "running") await node.unfront("service", service).catch(() => undefined);
}
