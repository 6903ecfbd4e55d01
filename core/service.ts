/**
 * Services: request/reply between nodes over ROUTER sockets with correlation
 * ids, so one node has any number of calls outstanding (no REQ lock-step; the
 * zguide's "asynchronous client/server" pattern). Calls and replies sent to
 * one peer in one event-loop turn travel in one frame (see outbox.ts).
 *
 * This file holds the types callers and providers see; the serving side is
 * service-server.ts (with its reply cache for deduplicated calls, reply-cache.ts),
 * the calling side service-client.ts.
 */

/** What a handler learns about the call it serves. */
export interface CallContext {
  /**
   * Instance id of the calling node, as the caller announced it: a claim,
   * never proof of who calls (see docs/security.md).
   */
  readonly caller: string;
  /** Routing id of the connection the call came on (replies go back on it). */
  readonly connection: string;
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
