/**
 * The node's connections to its peers. A node reaches other nodes (and the
 * directory) through one connecting ROUTER socket; this file keeps which peer
 * is connected at which endpoint, connects on first use, disconnects from
 * peers that left (ZeroMQ would otherwise reconnect forever), and reads the
 * socket's monitor: a dropped connection fails or moves what was in flight on
 * it, and a refused security handshake is remembered so the caller gets a
 * clear error instead of a bare timeout.
 *
 * A peer that deregistered (a graceful stop) is *retired*: the connection is
 * kept until the replies and acknowledgements it still owes are in, then
 * dropped at the next heartbeat ({@link Peers.sweep}).
 */
import type * as zmq from "zeromq";
import type { NodeRecord } from "./record.js";
import { kick, setServerKey, withoutOptionWarning } from "./sockets.js";
import { connectionId } from "./wire.js";

/** What the peer table needs from its node. */
export interface PeersLink {
  /** The connecting socket, while the node runs. */
  socket(): zmq.Router | undefined;
  /** This node's instance id (each connection announces it with a tag of its own). */
  id(): string;
  /** Whether connections carry CURVE (each connect then names the peer's public key). */
  readonly secured: boolean;
  /** Whether calls or queue messages to `peer` still await an answer. */
  busyWith(peer: string): boolean;
  /**
   * A catch-up with the directory when notices announced changes this node
   * has not read yet (undefined when it is level): a peer that deregistered
   * and then closed must be known to have left before its drop is judged.
   */
  catchUp(): Promise<void> | undefined;
  /**
   * The connection to `peer` dropped. `graceful`: the peer had deregistered,
   * so it answered everything it ran and what is still open never ran.
   */
  dropped(peer: string, graceful: boolean): void;
}

export class Peers {
  readonly #link: PeersLink;
  /** Endpoints the connecting socket is connected to, by peer id. */
  readonly #endpoints = new Map<string, string>();
  readonly #byEndpoint = new Map<string, string>();
  readonly #retired = new Set<string>();
  /**
   * The routing id each connection has on this side, by peer id, and back:
   * `<peer id>~<n>`, new for every connect. libzmq aborts the process when a
   * connect names a routing id still held by a connection being torn down
   * (router.cpp `!has_out_pipe`), and a connection dropped and made again at
   * once (a peer evicted and back, a call right after a drop) would do that.
   */
  readonly #wire = new Map<string, string>();
  readonly #byWire = new Map<string, string>();
  #connects = 0;
  /** Endpoints whose security handshake failed, with the monitor's event type. */
  readonly #handshakeFailures = new Map<string, string>();
  /** Endpoints connected whose handshake has not completed yet. */
  readonly #shaking = new Set<string>();
  /** Waiting for the monitor to report a handshake failure (see {@link refusedHandshake}). */
  #handshakeWaiters: (() => void)[] = [];

  constructor(link: PeersLink) {
    this.#link = link;
  }

  /** Connects to `peer` unless already connected. */
  connect(peer: NodeRecord): void {
    if (this.#endpoints.has(peer.id)) return;
    const socket = this.#link.socket()!;
    if (this.#link.secured) setServerKey(socket, peer.publicKey);
    // ZMQ_CONNECT_ROUTING_ID names the peer on this side; ZMQ_ROUTING_ID is what this
    // connection announces to the peer. Both are meant for the very next connect, which
    // follows at once.
    const wire = `${peer.id}~${++this.#connects}`;
    withoutOptionWarning(() => {
      socket.routingId = connectionId(this.#link.id());
      socket.connect(peer.endpoint, { routingId: wire });
    });
    kick(socket, peer.endpoint);
    this.#endpoints.set(peer.id, peer.endpoint);
    this.#byEndpoint.set(peer.endpoint, peer.id);
    this.#wire.set(peer.id, wire);
    this.#byWire.set(wire, peer.id);
  }

  /** The routing id of the connection to `peer` on the connecting socket (`peer` itself when not connected). */
  routingId(peer: string): string {
    return this.#wire.get(peer) ?? peer;
  }

  /** The peer a routing id of the connecting socket stands for (undefined: no current connection). */
  peerOf(routingId: string): string | undefined {
    return this.#byWire.get(routingId);
  }

  /**
   * A peer left the graph. Gracefully (`deregistered`) and still owing
   * answers: keep the connection until they are in; otherwise disconnect now.
   */
  left(id: string, graceful: boolean): void {
    if (graceful && this.#link.busyWith(id)) this.#retired.add(id);
    else this.forget(id);
  }

  /** Disconnects from a peer that left (ZeroMQ would otherwise keep reconnecting). */
  forget(id: string): void {
    this.#retired.delete(id);
    const endpoint = this.#endpoints.get(id);
    if (endpoint === undefined) return;
    this.#endpoints.delete(id);
    this.#byEndpoint.delete(endpoint);
    const wire = this.#wire.get(id);
    this.#wire.delete(id);
    if (wire !== undefined) this.#byWire.delete(wire);
    try {
      this.#link.socket()?.disconnect(endpoint);
    } catch {
      // already disconnected
    }
  }

  /** Retired peers whose last answers came in are disconnected (called at each heartbeat). */
  sweep(): void {
    if (this.#retired.size === 0) return;
    for (const id of this.#retired) if (!this.#link.busyWith(id)) this.forget(id);
  }

  /**
   * Reads the connecting socket's events with our own loop: zeromq.js's
   * `events.on()` mode leaves an unhandled rejection behind when the observer
   * closes mid-read. Ends when the observer closes.
   */
  async watch(observer: zmq.Observer): Promise<void> {
    try {
      for await (const event of observer) {
        if (event.type === "connect") this.#shaking.add(event.address);
        else if (event.type === "handshake") this.#shaking.delete(event.address);
        else if (event.type === "disconnect") {
          // Closed before its handshake completed: the peer would not take this node's
          // credential (a wrong server key, or CURVE against a plain peer) — no auth error
          // comes back for that.
          if (this.#shaking.delete(event.address))
            this.#handshakeFailed(event.address, "closed during the handshake");
          this.#onDisconnect(event.address);
        } else if (event.type === "handshake:error:auth" || event.type === "handshake:error:protocol")
          this.#handshakeFailed(event.address, event.type);
      }
    } catch {
      // closed
    }
  }

  /**
   * After a first contact with `endpoint` failed (lost or timed out): the
   * security handshake's verdict, if it refused this node. The monitor reports
   * it asynchronously, sometimes after the failed send that the refusal
   * caused, so this waits up to `graceMs` for it (a plain node meeting a
   * CURVE directory is refused at the handshake too).
   */
  async refusedHandshake(endpoint: string, graceMs = 1000): Promise<string | undefined> {
    if (this.#handshakeFailures.has(endpoint)) return this.#handshakeFailures.get(endpoint);
    await new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.#handshakeWaiters = this.#handshakeWaiters.filter((w) => w !== done);
        resolve();
      };
      const timer = setTimeout(done, graceMs);
      this.#handshakeWaiters.push(done);
    });
    return this.#handshakeFailures.get(endpoint);
  }

  #handshakeFailed(address: string, why: string): void {
    this.#handshakeFailures.set(address, why);
    const waiters = this.#handshakeWaiters;
    this.#handshakeWaiters = [];
    for (const wake of waiters) wake();
  }

  /** Forgets every connection (the node stopped; its socket is closed). */
  clear(): void {
    this.#endpoints.clear();
    this.#byEndpoint.clear();
    this.#wire.clear();
    this.#byWire.clear();
    this.#retired.clear();
  }

  #onDisconnect(address: string, caughtUp = false): void {
    const peer = this.#byEndpoint.get(address);
    if (peer === undefined) return;
    // The monitor can report the drop before we have read the replies that came in just
    // before it (they wait in the socket): read what is queued first.
    const socket = this.#link.socket();
    if (socket !== undefined && !socket.closed && socket.readable) {
      setImmediate(() => this.#onDisconnect(address, caughtUp));
      return;
    }
    // The directory's notice that the peer left is a version to read: read it first.
    const catchUp = caughtUp ? undefined : this.#link.catchUp();
    if (catchUp !== undefined) {
      const judge = (): void => this.#onDisconnect(address, true);
      catchUp.then(judge, judge);
      return;
    }
    const graceful = this.#retired.has(peer);
    this.#link.dropped(peer, graceful);
    // Not left to libzmq's reconnect, which would announce the same routing id again: a
    // peer that has not yet noticed the old connection died would not read the new one.
    // The next call or push connects afresh, with an id of its own.
    this.forget(peer);
  }
}
