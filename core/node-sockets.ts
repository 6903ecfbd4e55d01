/**
 * The three sockets of a node, their outboxes and read loops, and why each is
 * set up the way it is:
 *
 * - *inbound*, a bound ROUTER: calls and queue messages come in here, and
 *   replies and acknowledgements go back;
 * - *pub*, a bound XPUB: topics go out here, and subscriptions come in;
 * - *outbound*, a connecting ROUTER: calls and pushes go out to other nodes
 *   and to the directory, and their answers come back.
 *
 * Both ROUTERs carry the node's instance id as their routing id, so a peer
 * sees the same id whichever way a connection was made.
 */
import * as zmq from "zeromq";
import { advertised, bindAddress, type Transport } from "./endpoint.js";
import type { FaultInjector } from "./faults.js";
import { Outbox } from "./outbox.js";
import { client, type SecurityOptions, serve, zap } from "./security.js";
import { closeTracked, liveness, observe, trackObserver, trackSocket } from "./sockets.js";

/** Where and how a node's sockets bind and connect. */
export interface SocketPlan {
  /** This start's instance id (the routing id of both ROUTERs). */
  id: string;
  name: string;
  transport: Transport;
  ipcDir: string | undefined;
  bindHost: string;
  advertiseHost: string | undefined;
  /** Fixed endpoints for the inbound socket (the directory); default: one chosen from the plan. */
  bind: string[] | undefined;
  lingerMs: number;
  /** ZMTP heartbeat timeout, ms (0: off). */
  peerTimeoutMs: number;
  /** libzmq drops the connection of a peer sending a frame over this hard cap. */
  maxFrameBytes: number;
  /** Frames queued per connection of the inbound socket, each way (default: libzmq's 1 000). */
  highWaterMark: number | undefined;
  security: SecurityOptions | undefined;
}

/** What the node does with what its sockets read. */
export interface SocketHandlers {
  /** A message on the inbound socket (calls, queue messages): injected faults apply here. */
  inbound(frames: Buffer[]): void;
  /** A message on the outbound socket (replies, acknowledgements, directory notices). */
  outbound(frames: Buffer[]): void;
  /** Reads the XPUB socket's subscriptions until it closes. */
  subscriptions(pub: zmq.XPublisher): Promise<void>;
  /** Reads the outbound socket's monitor until it closes. */
  watch(observer: zmq.Observer): Promise<void>;
  /** A frame to `peer` could not be sent. */
  sendFailed(peer: string, error: unknown): void;
  /** The routing id of the outbound connection to `peer`. */
  routingId(peer: string): string;
  /** Faults injected at this node's receiving end. */
  readonly faults: FaultInjector;
}

export class NodeSockets {
  inbound: zmq.Router | undefined;
  pub: zmq.XPublisher | undefined;
  outbound: zmq.Router | undefined;
  /** The outbound socket's monitor. */
  observer: zmq.Observer | undefined;
  /** Frames to the peers connected to the inbound socket (replies, acknowledgements). */
  inbox: Outbox | undefined;
  /** Frames to the peers this node connected to (calls, pushes, the directory). */
  outbox: Outbox | undefined;
  /** Topic batches. */
  pubOutbox: Outbox | undefined;
  /** Where other nodes reach the inbound and the pub socket. */
  endpoint = "";
  pubEndpoint = "";
  #loops: Promise<void>[] = [];
  #zapDomain: string | undefined;
  /** The instance id, while CurveZMQ sockets are open (their ZAP domain). */
  #id: string | undefined;

  /**
   * Opens, binds and secures the sockets, then starts reading them. Each
   * socket is kept as soon as it exists, so {@link close} after a failure
   * part-way closes what was opened.
   */
  async open(plan: SocketPlan, on: SocketHandlers): Promise<void> {
    const { id, security, lingerMs, maxFrameBytes } = plan;
    const heartbeats = liveness(plan.peerTimeoutMs);
    const where = { transport: plan.transport, ipcDir: plan.ipcDir, bindHost: plan.bindHost };

    // Routing ids are what peers announce in their handshake, so any peer can announce a
    // live node's id (ids are public in every directory snapshot). With handover, libzmq
    // gives the id to the newcomer and leaves the old connection half-dead, unread (libzmq
    // issue 4407): one raw socket would cut a node off its directory, or take a proxy's
    // replies at a provider. Without it, a second connection announcing a live id is not
    // read. A node reconnecting keeps its connection's pipe on its own side (libzmq keeps a
    // connecting socket's pipe across reconnects), and the peer drops the old connection
    // when TCP reports it closed (the normal case: a restart, a FIN, a RST).
    const inbound = trackSocket(
      new zmq.Router({
        routingId: id,
        linger: lingerMs,
        maxMessageSize: maxFrameBytes,
        handover: false,
        ...(plan.highWaterMark !== undefined
          ? { sendHighWaterMark: plan.highWaterMark, receiveHighWaterMark: plan.highWaterMark }
          : {}),
        ...heartbeats,
      }),
    );
    this.inbound = inbound;
    if (security !== undefined) {
      this.#id = id;
      if (security.allow !== undefined) {
        await zap.register(id, security.allow);
        this.#zapDomain = id;
      }
      serve(inbound, security, id);
    }
    for (const address of plan.bind ?? [bindAddress(where, plan.name)]) await inbound.bind(address);
    this.endpoint = advertised(inbound.lastEndpoint ?? "", plan.advertiseHost);

    const pub = trackSocket(
      new zmq.XPublisher({ linger: lingerMs, verbosity: "allSubsUnsubs", ...heartbeats }),
    );
    this.pub = pub;
    if (security !== undefined) serve(pub, security, id);
    await pub.bind(bindAddress(where, `${plan.name}-pub`));
    this.pubEndpoint = advertised(pub.lastEndpoint ?? "", plan.advertiseHost);

    const outbound = trackSocket(
      new zmq.Router({
        routingId: id,
        mandatory: true,
        // Every connect names its peer (ZMQ_CONNECT_ROUTING_ID): an id a peer announces is
        // never taken here.
        handover: false,
        linger: lingerMs,
        maxMessageSize: maxFrameBytes,
        ...heartbeats,
      }),
    );
    this.outbound = outbound;
    if (security !== undefined) client(outbound, security);
    const observer = trackObserver(await observe(outbound));
    this.observer = observer;

    this.inbox = new Outbox(inbound);
    this.pubOutbox = new Outbox(pub, { destEncoding: "utf8" });
    this.outbox = new Outbox(outbound, {
      routingId: on.routingId,
      onSendError: (dest, _batch, error) => {
        if (dest !== undefined) on.sendFailed(dest, error);
      },
    });
    this.#loops = [
      // Injected faults hit what the node is sent (calls, queue and topic messages), not
      // the replies, acknowledgements and directory traffic coming back to it.
      read(inbound, on.inbound, on.faults),
      read(outbound, on.outbound),
      on.watch(observer),
      on.subscriptions(pub),
    ];
  }

  /**
   * The keys allowed to connect to this node's sockets from now on (a node
   * with CurveZMQ; its ZAP domain is its instance id).
   */
  async allow(keys: readonly string[]): Promise<void> {
    if (this.#zapDomain !== undefined) zap.update(this.#zapDomain, keys);
    else if (this.#id !== undefined) {
      await zap.register(this.#id, keys);
      this.#zapDomain = this.#id;
    }
  }

  /** Resolves when every outbox has handed its frames to ZeroMQ. */
  flushed(): Promise<unknown> {
    return Promise.all([this.inbox?.flushed(), this.outbox?.flushed(), this.pubOutbox?.flushed()]);
  }

  /** Stops the outboxes: nothing more is sent. */
  closeOutboxes(): void {
    this.inbox?.close();
    this.outbox?.close();
    this.pubOutbox?.close();
  }

  /**
   * Closes the sockets, waits (at most 1 s) for their read loops and `also`
   * to end, then the monitor. Safe after a partial {@link open}.
   */
  async close(also?: Promise<void>): Promise<void> {
    // Sockets first: closing an observer before its socket leaves libzmq's reaper waiting on
    // the monitor, and the sockets' connections then stay open. A closed socket stops its
    // monitor, which closes the observer and ends the watch loop.
    for (const socket of [this.inbound, this.outbound, this.pub]) closeTracked(socket);
    await settleWithin(Promise.allSettled([...this.#loops, also]), 1000);
    closeTracked(this.observer);
    this.#loops = [];
    if (this.#zapDomain !== undefined) await zap.unregister(this.#zapDomain);
    this.#zapDomain = undefined;
    this.#id = undefined;
    this.inbound = this.outbound = this.pub = this.observer = undefined;
    this.inbox = this.outbox = this.pubOutbox = undefined;
  }
}

/** Reads `socket` until it closes, handing each message to `onFrames`. */
async function read(
  socket: zmq.Router,
  onFrames: (frames: Buffer[]) => void,
  faults?: FaultInjector,
): Promise<void> {
  try {
    // receive() directly rather than `for await`: the iterator's async next() costs a promise,
    // a result object and a microtask hop per message before the frame is handled.
    while (!socket.closed) {
      const frames = await socket.receive();
      if (faults?.active) faults.apply(() => onFrames(frames));
      else onFrames(frames);
      // Microtask hops before reading again: the replies this frame produced, and the calls
      // made by the code its replies resumed, leave first (the outbox flushes in a
      // microtask), ahead of the syscalls that re-arm the socket's poller. A reply resumes
      // `traced()` (one hop), then its caller (two), whose next call's frame is flushed
      // at the third: four hops keep the socket's re-arming behind it.
      for (let hop = 0; hop < 4; hop++) await undefined;
    }
  } catch (error) {
    if (!socket.closed) throw error;
  }
}

/** Resolves when `promise` settles or after `ms`, whichever comes first; never rejects. */
export function settleWithin(promise: Promise<unknown>, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    const done = (): void => {
      clearTimeout(timer);
      resolve();
    };
    promise.then(done, done);
  });
}
