/**
 * Encrypted, authenticated graphs with CurveZMQ (RFC 26/CURVEZMQ, ZMTP 3
 * CURVE). Every node and the directory have a CURVE key pair; every socket a
 * node binds is a CURVE server, every connection it makes authenticates the
 * server by the public key the directory lists for it (the directory's own
 * key is configured out of band, like its endpoint). A ZAP handler
 * (RFC 27/ZAP) admits only clients whose public key is allowed.
 */
import * as zmq from "zeromq";
import { checkKey, z85Encode } from "./keys.js";
import { type AllowEntry, checkAllowEntry } from "./policy.js";

export { checkKey, keyPair, z85Encode } from "./keys.js";

import { closeTracked, trackSocket } from "./sockets.js";

/** A node's (or the directory's) CURVE settings. Keys are Z85 text (40 characters). */
export interface SecurityOptions {
  /** This node's public key. */
  publicKey: string;
  /** This node's secret key. */
  secretKey: string;
  /** The directory's public key (nodes only; the directory itself ignores it). */
  directoryKey?: string;
  /**
   * Public keys allowed to connect to this node's sockets, each alone or
   * with what it may do (`AllowEntry`: names it may register, services it
   * may provide, queues it may pull, topics it may publish, channels it may
   * front, whether it may steer; see docs/security.md). Omitted: any CURVE
   * client may connect (traffic is still encrypted, but not authenticated).
   */
  allow?: readonly (string | AllowEntry)[];
}

/** Validates security options at the boundary. */
export function checkSecurity(options: SecurityOptions, isDirectory: boolean): SecurityOptions {
  if (options === null || typeof options !== "object")
    throw new TypeError("Expected `security` to be an object");
  checkKey(options.publicKey, "security.publicKey");
  checkKey(options.secretKey, "security.secretKey");
  if (!isDirectory) checkKey(options.directoryKey, "security.directoryKey");
  if (options.allow !== undefined) {
    if (!Array.isArray(options.allow))
      throw new TypeError("Expected `security.allow` to be an array of keys");
    for (const [i, k] of options.allow.entries()) checkAllowEntry(k, `security.allow[${i}]`);
  }
  return options;
}

/** Makes a bound socket a CURVE server in `domain` (the ZAP domain its allow list is kept under). */
export function serve(socket: zmq.Socket, security: SecurityOptions, domain: string): void {
  const s = socket as zmq.Socket & {
    curveServer: boolean;
    curveSecretKey: string;
    curvePublicKey: string;
    zapDomain: string;
  };
  s.curveServer = true;
  s.curvePublicKey = security.publicKey;
  s.curveSecretKey = security.secretKey;
  s.zapDomain = domain;
}

/** Gives a connecting socket its own key pair (the server key is set per connection). */
export function client(socket: zmq.Socket, security: SecurityOptions): void {
  const s = socket as zmq.Socket & { curvePublicKey: string; curveSecretKey: string };
  s.curvePublicKey = security.publicKey;
  s.curveSecretKey = security.secretKey;
}

// ------------------------------------------------------------------ ZAP

/**
 * The ZAP handler of this thread's ZeroMQ context (one per context: libzmq
 * asks `inproc://zeromq.zap.01`). Each node registers its ZAP domain with its
 * allow list; a client whose key is not on the list of the domain it
 * connects to is refused (status 400). Domains without a list admit any
 * CURVE client.
 */
class ZapHandler {
  #socket: zmq.Reply | undefined;
  readonly #domains = new Map<string, Set<string>>();
  /** Refusals per domain (for meters and tests). */
  readonly refused = new Map<string, number>();
  #starting: Promise<void> | undefined;
  /** The read loop runs (at most one: a socket allows one pending receive). */
  #serving = false;

  async register(domain: string, allow: readonly (string | AllowEntry)[] | undefined): Promise<void> {
    if (allow === undefined) return;
    this.#domains.set(domain, new Set(allow.map((a) => (typeof a === "string" ? a : a.key))));
    if (this.#socket === undefined || this.#socket.closed) {
      this.#socket = undefined;
      this.#starting ??= this.#start().finally(() => {
        this.#starting = undefined;
      });
      await this.#starting;
    }
    if (!this.#serving) void this.#serve(this.#socket!);
  }

  /**
   * Binds the handler once for the life of the thread. It is never closed:
   * libzmq keeps an inproc name until every pipe to it is gone, and the
   * pipes of CURVE sessions still closing could hold it for seconds, so a
   * handler closed and bound again could find its name taken. An idle bound
   * socket does not keep the process alive; the read loop stops when no
   * domain is left (see {@link unregister}).
   */
  async #start(): Promise<void> {
    const socket = trackSocket(new zmq.Reply({ linger: 0, receiveTimeout: IDLE_CHECK_MS }));
    // Another copy of zmp in this thread (or a handler of the application's own) may hold the
    // name: retry briefly, then report it.
    const deadline = Date.now() + 3000;
    for (;;) {
      try {
        await socket.bind("inproc://zeromq.zap.01");
        break;
      } catch (error) {
        if ((error as { code?: string }).code !== "EADDRINUSE" || Date.now() > deadline) {
          closeTracked(socket);
          throw error;
        }
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    }
    this.#socket = socket;
  }

  /** Replaces the keys a registered domain admits (the directory's allow list, once a node registered). */
  update(domain: string, keys: readonly string[]): void {
    if (this.#domains.has(domain)) this.#domains.set(domain, new Set(keys));
  }

  /**
   * Forgets a domain. With none left the read loop ends within
   * `IDLE_CHECK_MS` (a pending read would keep the process alive); a later
   * `register` starts it again on the same socket.
   */
  async unregister(domain: string): Promise<void> {
    this.#domains.delete(domain);
    await this.#starting?.catch(() => undefined);
  }

  async #serve(socket: zmq.Reply): Promise<void> {
    this.#serving = true;
    try {
      while (this.#domains.size > 0 && !socket.closed) {
        let frames: Buffer[];
        try {
          frames = await socket.receive();
        } catch (error) {
          if ((error as { code?: string }).code === "EAGAIN") continue; // idle: check the domains again
          if (socket.closed) return;
          throw error;
        }
        // RFC 27: version, request id, domain, address, identity, mechanism, credentials...
        const [version, requestId, domainFrame, , , mechanism, credential] = frames;
        const domain = domainFrame?.toString() ?? "";
        const allowed = this.#domains.get(domain);
        let ok = true;
        if (allowed !== undefined) {
          ok =
            mechanism?.toString() === "CURVE" &&
            credential?.length === 32 &&
            allowed.has(z85Encode(credential));
        }
        if (!ok) this.refused.set(domain, (this.refused.get(domain) ?? 0) + 1);
        await socket.send([
          version ?? "1.0",
          requestId ?? "",
          ok ? "200" : "400",
          ok ? "OK" : "key not allowed",
          ok && credential?.length === 32 ? z85Encode(credential) : "",
          "",
        ]);
      }
    } catch (error) {
      if (!socket.closed) throw error;
    } finally {
      this.#serving = false;
    }
  }
}

/** How often an idle ZAP handler checks whether any domain is left, ms. */
const IDLE_CHECK_MS = 100;

/** This thread's ZAP handler. */
export const zap = new ZapHandler();
