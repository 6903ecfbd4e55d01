/**
 * A node: a named unit of execution with its sockets, registered in the
 * directory. Each node binds a ROUTER (services, queue messages) and an XPUB
 * (topics), and connects a second ROUTER, whose routing id is the node's
 * instance id, to the directory and to the peers it calls or pushes to.
 *
 * This file wires the concept files together (options, sockets, peers,
 * membership, services, topics, queues, meters, frame checks) and keeps
 * the lifecycle, the public methods (one-line delegations with their
 * documentation, about a fifth of the file) and the frame dispatch, the
 * hot path, which gains no indirection by staying here.
 */
import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import { decodeArray, decodeHead } from "./codec.js";
import { makeIpcDir, removeIpcDir, shortId } from "./endpoint.js";
import { ClosedError, CodecError, TimeoutError } from "./errors.js";
import { type FaultCounts, FaultInjector, type Faults } from "./faults.js";
import type { TopicForwarder } from "./forwarder.js";
import { FrameGuard } from "./frame-guard.js";
import { prove } from "./key-proof.js";
import { Membership } from "./membership.js";
import { emptySnapshot, metersTopic, NodeMeters, type NodeStats, type RejectCounts } from "./node-meters.js";
import {
  type InternalOptions,
  type NodeOptions,
  type ResolvedOptions,
  resolveOptions,
  SECURITY_HINTS,
  warnInsecure,
} from "./node-options.js";
import { NodeSockets, settleWithin } from "./node-sockets.js";
import { BATCH_BYTES } from "./outbox.js";
import { Peers } from "./peers.js";
import type { ConsumeOptions, PullOptions, PushOptions, QueueHandler } from "./queue.js";
import { QueueConsumer } from "./queue-consumer.js";
import { QueueProducer, refusePush } from "./queue-producer.js";
import { QueuePullers } from "./queue-pullers.js";
import type { QueueReader } from "./queue-reader.js";
import { PUSH_FIRST_MESSAGE, peekPushQueue } from "./queue-wire.js";
import { checkName, type DirectoryChange, type FrontRecord, type NodeRecord } from "./record.js";
import { Replica } from "./replica.js";
import type { CallOptions, Handler, ProvideOptions } from "./service.js";
import { type CallSettings, callSettings, ServiceClient, traced } from "./service-client.js";
import { ServiceServer } from "./service-server.js";
import { socketLimitError } from "./sockets.js";
import { controlKeys, readPolicy, SteeringAuth } from "./steering-auth.js";
import { type SubscribeOptions, type Subscription, TopicPublisher } from "./topic.js";
import { TopicLinks } from "./topic-links.js";
import { BuiltinService, DIRECTORY_ID, DirectoryService, Kind } from "./wire.js";

const BUILTIN = new Set<string>(Object.values(BuiltinService));

export type NodeState = "idle" | "starting" | "running" | "stopping" | "stopped";

export class Node {
  readonly name: string;
  readonly #o: ResolvedOptions;
  #state: NodeState = "idle";
  #id = "";
  /** This start's secret: only the node holding it may change its record in the directory. */
  #token = "";
  #startedAt = 0;
  readonly #net = new NodeSockets();
  #ownIpcDir: string | undefined;
  #startPromise: Promise<void> | undefined;
  #stopPromise: Promise<void> | undefined;
  #unsubscribeReplica: (() => void) | undefined;
  readonly #replica = new Replica();
  readonly #peers: Peers;
  readonly #server = new ServiceServer();
  readonly #client: ServiceClient;
  /** A call's settings when it passes no options (one object for all such calls). */
  readonly #callDefaults: CallSettings;
  readonly #membership: Membership;
  readonly rejects: RejectCounts = { malformed: 0, oversized: 0, forged: 0, forbidden: 0 };
  /** Who may steer this node, and its signature on the steering calls it makes (CurveZMQ nodes). */
  readonly #steering: SteeringAuth | undefined;
  readonly #publisher: TopicPublisher;
  readonly #topics: TopicLinks;
  readonly #producer: QueueProducer;
  readonly #pullers: QueuePullers;
  /** The queue name `push` checked last (a producer pushes to the same queue again and again). */
  #pushChecked: string | undefined;
  readonly #faults = new FaultInjector();
  readonly #meters: NodeMeters | undefined;
  /** Largest frame accepted: one message of `maxMessageSize` on top of a full batch. */
  readonly #frameLimit: number;
  readonly #frames: FrameGuard;

  constructor(options: NodeOptions) {
    this.#o = resolveOptions(options as NodeOptions & InternalOptions);
    this.name = this.#o.name;
    // The directory is sent requests one or two at a time, never batches of messages.
    this.#frameLimit = this.#o.maxMessageSize + (this.#o.isDirectory ? 0 : BATCH_BYTES) + 1024;
    this.#server.maxMessageSize = this.#o.maxMessageSize;
    this.#frames = new FrameGuard({
      limit: this.#frameLimit,
      maxMessageSize: this.#o.maxMessageSize,
      remoteStacks: this.#o.remoteStacks,
      rejects: this.rejects,
      inbox: () => this.#net.inbox,
    });
    this.#server.stacks = this.#o.remoteStacks;
    const security = this.#o.security;
    if (security !== undefined) {
      this.#steering = new SteeringAuth(security, security.directoryKey, () => {
        this.rejects.forbidden++;
      });
      this.#server.steering = this.#steering;
    }
    this.#peers = new Peers({
      socket: () => this.#net.outbound,
      id: () => this.#id,
      secured: this.#o.security !== undefined,
      busyWith: (peer) => this.#client.outstanding(peer) > 0 || this.#producer.unackedAt(peer) > 0,
      catchUp: () => this.#membership.catchUp(),
      dropped: (peer, graceful) => {
        // Gracefully: what is still open never ran and may go elsewhere. Otherwise whatever
        // was in flight on the connection is lost (at-most-once).
        this.#client.suspect(peer);
        if (graceful) this.#client.retryElsewhere(peer);
        else this.#client.peerLost(peer, "the connection to it dropped");
        this.#producer.pullerLost(peer);
      },
    });
    this.#membership = new Membership(
      {
        name: this.name,
        directory: this.#o.directory,
        securityHint: SECURITY_HINTS[this.#o.securitySource],
        active: () => this.#state === "running" || this.#state === "starting",
        running: () => this.#state === "running",
        id: () => this.#id,
        token: () => this.#token,
        proveKey: (parts) => {
          const security = this.#o.security;
          if (security?.directoryKey === undefined) return undefined;
          return prove(security, security.directoryKey, parts);
        },
        policy: (value) => this.#applyPolicy(value),
        record: () => this.#record(),
        call: (peer, service, request, timeoutMs) => this.#client.callPeer(peer, service, request, timeoutMs),
        refusedHandshake: (endpoint) => this.#peers.refusedHandshake(endpoint),
        beat: () => this.#peers.sweep(),
        refresh: () => this.#refresh(),
        routesChanged: () => this.#producer.refreshAll(),
      },
      this.#replica,
    );
    this.#client = new ServiceClient({
      id: () => this.#id,
      outbox: () => this.#net.outbox,
      // Every node serves the built-in services (zmp.stats, zmp.ping).
      providers: (service) =>
        BUILTIN.has(service) ? this.#replica.all() : this.#replica.route("service", service),
      connect: (peer) => this.#peers.connect(peer),
      refresh: () => this.#refresh(),
    });
    this.#client.traceCalls = this.#o.traceCalls === true;
    this.#callDefaults = callSettings(undefined, this.#o.callTimeoutMs, this.#o.traceCalls);
    this.#client.steering = this.#steering;
    this.#client.maxMessageSize = this.#o.maxMessageSize;
    if (this.#o.metering) {
      this.#meters = new NodeMeters();
      this.#client.meters = this.#meters.calls;
      this.#server.meters = this.#meters.services;
    }
    this.#publisher = new TopicPublisher(
      () => this.#id,
      () => this.#membership.scheduleUpdate(),
    );
    this.#publisher.meters = this.#meters?.published;
    this.#publisher.onChange = (prefix, delta) => {
      for (const forwarder of this.#topics.forwarders) forwarder._downstream(prefix, delta);
    };
    this.#publisher.maxMessageSize = this.#o.maxMessageSize;
    this.#topics = new TopicLinks({
      replica: this.#replica,
      security: this.#o.security,
      peerTimeoutMs: this.#o.peerTimeoutMs,
      highWaterMark: this.#o.topicHighWaterMark,
      maxFrameBytes: Math.min(2 * this.#frameLimit, 2 ** 31 - 1),
      faults: this.#faults,
      id: () => this.#id,
      pubEndpoint: () => this.#net.pubEndpoint,
      ownTopics: () => this.#publisher.topics,
      graceMs: () => Math.max(500, 2 * this.#membership.heartbeatMs),
      stopped: () => this.#state === "stopped",
      malformed: () => {
        this.rejects.malformed++;
      },
      forward: (topic, body) => this.#net.pubOutbox?.forward(topic, body),
      forwarderClosed: (prefix) => {
        if (this.#state === "running") void this.unfront("topic", prefix);
      },
    });
    this.#producer = new QueueProducer({
      outbox: () => this.#net.outbox,
      pullers: (queue) => this.#replica.route("queue", queue),
      connect: (peer) => this.#peers.connect(peer),
      meters: () => this.#meters?.pushed,
      now: () => performance.now(),
    });
    this.#pullers = new QueuePullers({
      name: this.name,
      inbox: () => this.#net.inbox,
      meter: (queue) => this.#meters?.pulled.get(queue),
      changed: () => this.#membership.scheduleUpdate(),
    });
    this.#producer.pushBuffer = this.#o.pushBuffer;
    this.#producer.maxMessageSize = this.#o.maxMessageSize;
    this.#server.serveBuiltin(BuiltinService.PING, () => ({
      name: this.name,
      id: this.#id,
      pid: process.pid,
    }));
    this.#server.serveBuiltin(BuiltinService.STATS, () => this.stats());
    if (this.#o.faultInjection)
      this.#server.serveBuiltin(BuiltinService.FAULTS, (request) =>
        this.injectFaults((request ?? {}) as Faults),
      );
  }

  /** Lifecycle state. */
  get state(): NodeState {
    return this.#state;
  }

  /** This start's instance id (also the ZeroMQ routing id); empty before the first start. */
  get id(): string {
    return this.#id;
  }

  /** Endpoint of the node's ROUTER socket (services, queues). */
  get endpoint(): string {
    return this.#net.endpoint;
  }

  /** Endpoint of the node's XPUB socket (topics). */
  get pubEndpoint(): string {
    return this.#net.pubEndpoint;
  }

  /** Endpoint of the directory this node registers with. */
  get directory(): string {
    return this.#o.directory;
  }

  /**
   * Binds the sockets and registers with the directory. Resolves only when the
   * node is reachable and listed; rejects (and leaves nothing open) if the
   * directory refuses the name or does not answer within `startTimeoutMs`.
   * Calling it again while starting or running returns the same promise.
   */
  start(): Promise<void> {
    if (this.#state === "running") return Promise.resolve();
    if (this.#state === "starting") return this.#startPromise!;
    if (this.#state === "stopping") return this.#stopPromise!.then(() => this.start());
    this.#state = "starting";
    this.#startPromise = this.#start().then(
      () => {
        this.#state = "running";
      },
      async (error: unknown) => {
        // Explained before the teardown frees what ran out.
        const explained = socketLimitError(error);
        await this.#teardown();
        this.#state = "stopped";
        throw explained;
      },
    );
    return this.#startPromise;
  }

  async #start(): Promise<void> {
    const o = this.#o;
    this.#id = o.isDirectory ? DIRECTORY_ID : `${o.name}#${shortId()}`;
    this.#token = o.token ?? randomBytes(24).toString("base64url");
    this.#replica.self = this.#id;
    this.#server.self = this.#id;
    this.#startedAt = Date.now();
    let ipcDir = o.ipcDir;
    if (o.transport === "ipc" && ipcDir === undefined && o.bind === undefined)
      ipcDir = this.#ownIpcDir = makeIpcDir();
    if (o.security !== undefined) this.#membership.directoryPeer.publicKey = o.security.directoryKey;
    await this.#net.open(
      {
        id: this.#id,
        name: o.name,
        transport: o.transport,
        ipcDir,
        bindHost: o.bindHost,
        advertiseHost: o.advertiseHost,
        bind: o.bind,
        lingerMs: o.lingerMs,
        peerTimeoutMs: o.peerTimeoutMs,
        // Frames between the frame limit and this cap are read and answered with a clear error.
        maxFrameBytes: Math.min(2 * this.#frameLimit, 2 ** 31 - 1),
        highWaterMark: o.highWaterMark,
        security: o.security,
      },
      {
        inbound: (frames) => this.#onInbound(frames),
        outbound: (frames) => this.#onOutbound(frames),
        subscriptions: (pub) => this.#publisher.readSubscriptions(pub, () => this.rejects.malformed++),
        watch: (observer) => this.#peers.watch(observer),
        routingId: (peer) => this.#peers.routingId(peer),
        sendFailed: (peer, error) =>
          this.#client.peerLost(peer, `could not send: ${(error as Error).message}`),
        faults: this.#faults,
      },
    );
    if (o.insecure !== false && o.transport === "tcp" && !o.isDirectory)
      warnInsecure(`node \`${o.name}\` at ${this.#net.endpoint}`);
    this.#publisher.attach(this.#net.pubOutbox);
    this.#server.attach(this.#net.inbox);
    this.#server.refusing = false;
    this.#meters?.start();
    this.#unsubscribeReplica = this.#replica.subscribe((change) => this.#onChange(change));

    if (o.isDirectory) return;
    if (o.register) await this.#membership.register(o.startTimeoutMs, true);
    else await this.#refresh(o.startTimeoutMs, true);
  }

  /**
   * Deregisters, refuses new calls (callers retry them elsewhere), waits for
   * calls in progress (at most `drainTimeoutMs`), then closes the sockets with
   * a bounded linger. Calling it twice is a no-op; `start()` may follow.
   */
  stop(): Promise<void> {
    if (this.#state === "idle" || this.#state === "stopped") return Promise.resolve();
    if (this.#state === "stopping") return this.#stopPromise!;
    if (this.#state === "starting")
      return this.#startPromise!.then(
        () => this.stop(),
        () => undefined,
      );
    this.#state = "stopping";
    this.#stopPromise = this.#stop().finally(() => {
      this.#state = "stopped";
    });
    return this.#stopPromise;
  }

  async #stop(): Promise<void> {
    const o = this.#o;
    await this.#membership.leave(
      !o.isDirectory && o.register ? this.#id : undefined,
      Math.min(1000, o.drainTimeoutMs),
    );
    this.#server.refusing = true;
    // Pullers finish what they took and hand the rest back; producers wait (bounded) until
    // what they accepted is acknowledged.
    await settleWithin(
      Promise.all([this.#server.idle(), ...this.#pullers.close(), this.#producer.drained()]),
      o.drainTimeoutMs,
    );
    const unacknowledged = this.#producer.close();
    if (unacknowledged > 0) {
      process.emitWarning(
        `zmp: node \`${this.name}\` stopped with ${unacknowledged} queue message(s) accepted but not acknowledged within drainTimeoutMs`,
      );
    }
    this.#topics.subscriber.closeAll();
    this.#client.closeAll();
    await settleWithin(this.#net.flushed(), o.lingerMs);
    await this.#teardown();
  }

  /** Closes whatever is open; safe after a partial start. */
  async #teardown(): Promise<void> {
    this.#membership.stop();
    this.#unsubscribeReplica?.();
    this.#unsubscribeReplica = undefined;
    this.#server.attach(undefined);
    this.#publisher.attach(undefined);
    this.#meters?.stop();
    this.#faults.clear();
    this.#faults.set({});
    this.#net.closeOutboxes();
    this.#client.closeAll();
    this.#topics.closeAll();
    this.#producer.close();
    this.#pullers.clear();
    await this.#net.close(this.#topics.closeSocket());
    this.#peers.clear();
    this.#replica.clear();
    if (this.#ownIpcDir !== undefined) {
      removeIpcDir(this.#ownIpcDir);
      this.#ownIpcDir = undefined;
    }
  }

  // ---------------------------------------------------------------- services

  /**
   * Serves `service` with `handler`. The handler's return value (or the value
   * its promise resolves to) is the reply; a throw becomes a `RemoteError` at
   * the caller. Registration reaches the directory asynchronously; await
   * {@link synced} to know it has. With `dedupe`, calls made with `retries`
   * run once per request id (repeats get the cached reply).
   */
  provide<Req = unknown, Res = unknown>(
    service: string,
    handler: Handler<Req, Res>,
    options: ProvideOptions = {},
  ): void {
    checkName(service, "service");
    if (!this.#o.register)
      throw new TypeError(`node \`${this.name}\` was made with register: false and cannot provide services`);
    this.#server.provide(service, handler as Handler, options);
    this.#membership.scheduleUpdate();
  }

  /** Stops serving `service` (calls in progress finish). */
  unprovide(service: string): void {
    if (this.#server.unprovide(service)) this.#membership.scheduleUpdate();
  }

  /** Services this node provides (the built-in `zmp.*` ones excluded). */
  get services(): string[] {
    return this.#server.services();
  }

  /**
   * Calls `service` on a live provider (the one with the fewest calls
   * outstanding from this node) and resolves with its reply. Rejects with
   * `TimeoutError`, `RemoteError`, `UnknownServiceError`, `PeerLostError`,
   * `CodecError` or `ClosedError`.
   */
  call<Res = unknown>(service: string, request?: unknown, options?: CallOptions): Promise<Res> {
    // A stopping node still calls: its handlers finish their work while it drains.
    if (this.#state !== "running" && this.#state !== "stopping") {
      return Promise.reject(
        new ClosedError(`cannot call \`${service}\`: node \`${this.name}\` is ${this.#state}`),
      );
    }
    let settings: CallSettings;
    if (options === undefined) settings = this.#callDefaults;
    else
      try {
        settings = callSettings(options, this.#o.callTimeoutMs, this.#o.traceCalls);
      } catch (error) {
        return Promise.reject(error);
      }
    const { timeoutMs, retries, trace } = settings;
    const reply = this.#client.call(
      service,
      request ?? null,
      timeoutMs,
      options?.node,
      retries,
      trace === true,
    );
    return (trace === "async" ? traced(reply) : reply) as Promise<Res>;
  }

  /**
   * Resolves when at least `providers` live nodes (default 1) provide
   * `service`; rejects with `TimeoutError` after `timeoutMs` (default 10 000).
   */
  waitFor(service: string, options: { providers?: number; timeoutMs?: number } = {}): Promise<void> {
    return this.#membership.waitFor(service, options.providers ?? 1, options.timeoutMs ?? 10_000);
  }

  /** Live nodes as this node's replica of the directory lists them. */
  nodes(): NodeRecord[] {
    return this.#replica.all();
  }

  /** Resolves when the directory holds this node's current services. */
  synced(): Promise<void> {
    return this.#membership.synced();
  }

  /**
   * Fronts a channel: from now on the other nodes' calls to this service,
   * pushes to this queue, or subscriptions to topics under this prefix come to
   * this node (a proxy or a cache), while this node itself reaches the real
   * providers, pullers and publishers. Traffic already in flight completes
   * where it was going, so a front can join or leave a running graph without
   * losing a message. Resolves when the directory has it.
   */
  front(kind: FrontRecord["kind"], name: string): Promise<void> {
    return this.#membership.front(kind, name);
  }

  /** Stops fronting a channel (traffic returns to the real endpoints). Resolves when the directory has it. */
  unfront(kind: FrontRecord["kind"], name: string): Promise<void> {
    return this.#membership.unfront(kind, name);
  }

  /** Calls in flight from this node, and calls being handled by it. */
  get inflight(): { calls: number; handling: number } {
    return { calls: this.#client.inflight, handling: this.#server.inflight };
  }

  // ---------------------------------------------------------------- topics

  /**
   * Publishes `message` on `topic`. Never blocks: it leaves at the end of the
   * turn with the other messages of its topic, and ZeroMQ drops it for a
   * subscriber whose connection is at its high-water mark (the subscriber
   * counts the drop). Throws `CodecError` if it is not plain data.
   */
  publish(topic: string, message: unknown): void {
    if (this.#state !== "running" && this.#state !== "stopping")
      throw new ClosedError(`cannot publish on \`${topic}\`: node \`${this.name}\` is ${this.#state}`);
    if (!this.#publisher.topics.has(topic)) checkName(topic, "topic");
    this.#publisher.publish(topic, message);
  }

  /** Lists `topic` in the directory before publishing on it, so subscribers connect early. */
  advertise(topic: string): void {
    checkName(topic, "topic");
    if (this.#publisher.topics.has(topic)) return;
    this.#publisher.topics.add(topic);
    this.#membership.scheduleUpdate();
  }

  /**
   * Subscribes to every topic that starts with `prefix` (ZeroMQ prefix
   * matching: `"sensor/"` matches `"sensor/temp"`; `""` matches all), on every
   * node that publishes one, including nodes that start later.
   */
  subscribe<T = unknown>(prefix: string, options: SubscribeOptions = {}): Subscription<T> {
    if (this.#state !== "running")
      throw new ClosedError(`cannot subscribe: node \`${this.name}\` is ${this.#state}`);
    return this.#topics.subscribe<T>(prefix, options, this.#meters?.subscribed.get(prefix));
  }

  /**
   * Resolves when at least `subscribers` connections (default 1) subscribe to
   * a prefix of `topic` on this node — a publisher that must not lose its
   * first messages to the subscribers' connection time awaits it.
   */
  async waitForSubscribers(
    topic: string,
    options: { subscribers?: number; timeoutMs?: number } = {},
  ): Promise<void> {
    const want = options.subscribers ?? 1;
    const timeoutMs = options.timeoutMs ?? 10_000;
    const error = new TimeoutError(
      `waited ${timeoutMs} ms for ${want} subscriber(s) of \`${topic}\``,
      timeoutMs,
    );
    this.advertise(topic);
    await this.#publisher.waitForSubscribers(topic, want, timeoutMs, error, () => this.#state === "running");
  }

  /**
   * Injects faults at this node's receiving end — drops a share of incoming
   * frames, delays the rest in order — or clears them with `{}`. Needs
   * `faultInjection: true`. Returns what the injector did so far.
   */
  injectFaults(faults: Faults): FaultCounts {
    if (!this.#o.faultInjection)
      throw new TypeError(`node \`${this.name}\` was not started with faultInjection: true`);
    this.#faults.set(faults);
    return this.faultCounts();
  }

  /** Frames dropped and delayed by injected faults so far. */
  faultCounts(): FaultCounts {
    return { ...this.#faults.counts };
  }

  /**
   * Makes this node a topic proxy for topics under `prefix` (an XSUB/XPUB
   * forwarder): it fronts the prefix, subscribes upstream to what its
   * subscribers ask for, and passes batches through unchanged. Resolves once
   * the directory lists the front.
   */
  async forward(prefix: string): Promise<TopicForwarder> {
    if (this.#state !== "running")
      throw new ClosedError(`cannot forward: node \`${this.name}\` is ${this.#state}`);
    const forwarder = this.#topics.forward(prefix, this.name);
    await this.front("topic", prefix);
    return forwarder;
  }

  // ---------------------------------------------------------------- queues

  /**
   * Pushes `message` onto `queue`, to be handled by one of its pullers.
   * Resolves when the message is accepted (sent under a puller's credit, or
   * kept in this node's `pushBuffer`); waits while the queue is full. From
   * then on it counts in the queue's backlog until a puller acknowledges it.
   */
  push(queue: string, message: unknown, options?: PushOptions): Promise<void> {
    if (this.#state !== "running" && this.#state !== "stopping") {
      return refusePush(
        new ClosedError(`cannot push to \`${queue}\`: node \`${this.name}\` is ${this.#state}`),
        options,
      );
    }
    try {
      if (queue !== this.#pushChecked) this.#pushChecked = checkName(queue, "queue");
      return this.#producer.push(queue, message, options);
    } catch (error) {
      return refusePush(error as Error, options);
    }
  }

  /**
   * Pulls from `queue`: `for await (const m of node.pull("jobs")) ...`. A
   * message is acknowledged (handled) when the loop asks for the next one.
   * The node is listed as a puller of `queue` with a credit `window`.
   */
  pull<T = unknown>(queue: string, options: PullOptions = {}): QueueReader<T> {
    if (this.#state !== "running")
      throw new ClosedError(`cannot pull from \`${queue}\`: node \`${this.name}\` is ${this.#state}`);
    if (!this.#o.register)
      throw new TypeError(`node \`${this.name}\` was made with register: false and cannot pull`);
    return this.#pullers.open<T>(queue, options);
  }

  /**
   * Handles each message of `queue` with `handler`, `concurrency` at a time;
   * a message is acknowledged when its handler returns or its promise settles.
   */
  consume<T = unknown>(
    queue: string,
    handler: QueueHandler<T>,
    options: ConsumeOptions & { onError?: (error: unknown, message: T) => void } = {},
  ): QueueConsumer<T> {
    if (typeof handler !== "function") throw new TypeError("Expected `handler` to be a function");
    const reader = this.pull<T>(queue, options);
    return new QueueConsumer<T>(reader, handler, options.concurrency ?? 1, options.onError);
  }

  /**
   * This node's view of `queue` as a producer: for each puller, the credit
   * window it granted and the messages unacknowledged there.
   */
  credit(queue: string): { puller: string; window: number; inflight: number }[] {
    return this.#producer.credit(queue);
  }

  // ---------------------------------------------------------------- meters

  /**
   * This node's meters as plain data: per channel endpoint, counts, backlog
   * (charge) and its peak, rate (current, EWMA with τ = 1 s) and latency
   * percentiles. Also served remotely as the built-in `zmp.stats` service.
   */
  stats(): NodeStats {
    return {
      name: this.name,
      id: this.#id,
      host: this.#o.host,
      pid: process.pid,
      time: Date.now(),
      uptimeMs: this.#startedAt > 0 ? Date.now() - this.#startedAt : 0,
      ...(this.#meters?.snapshot() ?? emptySnapshot()),
      rejects: { ...this.rejects },
    };
  }

  /**
   * Publishes `stats()` every `periodMs` on the topic `zmp/meters/<name>`, so a
   * controller on another node can sample them. Returns a function that stops it.
   */
  streamMeters(periodMs = 1000): () => void {
    if (!(periodMs > 0))
      throw new RangeError(`Expected \`periodMs\` to be a positive number, got \`${periodMs}\``);
    const topic = metersTopic(this.name);
    this.advertise(topic);
    const timer = setInterval(() => {
      if (this.#state === "running") this.publish(topic, this.stats());
    }, periodMs);
    timer.unref();
    return () => clearInterval(timer);
  }

  // ---------------------------------------------------------------- directory

  #record(): NodeRecord {
    return {
      id: this.#id,
      name: this.name,
      host: this.#o.host,
      pid: process.pid,
      hostname: hostname(),
      endpoint: this.#net.endpoint,
      pubEndpoint: this.#net.pubEndpoint,
      services: this.services,
      topics: [...this.#publisher.topics],
      queues: this.#pullers.records(),
      fronts: this.#membership.fronts(),
      ...(this.#o.security ? { publicKey: this.#o.security.publicKey } : {}),
      startedAt: this.#startedAt,
    };
  }

  /**
   * What the directory said of its allow list: the keys that may steer this
   * node, and (unless this node was given its own `allow`) the keys that may
   * connect to it — its directory's members, not just its own key. Ignores
   * anything malformed (counted).
   */
  #applyPolicy(value: unknown): void {
    const policy = readPolicy(value);
    if (policy === undefined) {
      this.rejects.malformed++;
      return;
    }
    const { allow, directoryKey } = this.#o.security!;
    const own = this.#o.securitySource === "given" ? allow : undefined;
    this.#steering?.setControlKeys([...policy.control, ...controlKeys(own)], directoryKey);
    if (own === undefined && policy.keys !== undefined)
      void this.#net.allow(policy.keys).catch(() => undefined);
  }

  /** Fetches a snapshot of the directory (the directory itself has none to fetch). */
  #refresh(timeoutMs = 2000, first = false): Promise<void> {
    if (this.#o.isDirectory) return Promise.resolve();
    return this.#membership.refresh(timeoutMs, first);
  }

  #onChange(change: DirectoryChange): void {
    this.#topics.sync();
    if (change.op === "down") {
      if (change.reason === "deregistered") {
        // A graceful stop: the peer drains what it has — replies to our calls, and for a
        // puller its closing acknowledgement handing back what it will not handle. Keep
        // the connection until those are in (or the connection drops).
        this.#producer.retire(change.id);
        this.#peers.left(change.id, true);
      } else {
        this.#client.peerLost(change.id, `it left the graph (${change.reason})`);
        this.#producer.pullerLost(change.id);
        this.#peers.left(change.id, false);
      }
    }
    if (change.op === "up") this.#client.trust(change.node.id);
    // Queues follow the route: new pullers or fronts, or fronts gone.
    this.#producer.refreshAll();
  }

  // ---------------------------------------------------------------- receiving

  #onInbound(frames: Buffer[]): void {
    const identity = frames[0]!.toString("latin1");
    if (this.#pullers.anyEncoded && this.#onEncodedPush(identity, frames)) return;
    const body = this.#frames.check(frames, identity);
    if (body === undefined) return;
    switch (body[0]) {
      case Kind.CALL:
        this.#frames.guard(identity, () => this.#server.onCalls(identity, body));
        return;
      case Kind.KEYED_CALL:
        this.#frames.guard(identity, () => this.#server.onKeyedCalls(identity, body));
        return;
      case Kind.AUTH_CALL:
        this.#frames.guard(identity, () => this.#server.onAuthCalls(identity, body));
        return;
      case Kind.PUSH:
        this.#frames.guard(identity, () => this.#pullers.onPush(identity, body, frames[1]!.length));
        return;
      default:
        this.#frames.reject(
          identity,
          new CodecError(`unexpected frame kind ${String(body[0])} on the service socket`),
        );
    }
  }

  /**
   * A PUSH frame for a reader that takes its messages encoded: its messages
   * are checked but not decoded (codec `decodeArray(…, PUSH_FIRST_MESSAGE)`). Returns false
   * for any other frame, which is then read as usual.
   */
  #onEncodedPush(identity: string, frames: Buffer[]): boolean {
    const body = frames[1];
    if (frames.length !== 2 || body === undefined || body.length > this.#frameLimit) return false;
    const queue = peekPushQueue(body);
    if (queue === undefined || !this.#pullers.takesEncoded(queue)) return false;
    let batch: unknown[];
    try {
      batch = decodeArray(body, PUSH_FIRST_MESSAGE);
    } catch (error) {
      this.#frames.reject(identity, error as Error);
      return true;
    }
    this.#frames.guard(identity, () => this.#pullers.onPush(identity, batch, body.length));
    return true;
  }

  #onOutbound(frames: Buffer[]): void {
    // A frame of a connection already dropped (late replies of calls failed with it) has no peer.
    const peer = this.#peers.peerOf(frames[0]!.toString("latin1"));
    if (peer === undefined) return;
    // The directory's notices go to membership as received: it decodes each frame once per thread.
    if (peer === DIRECTORY_ID && frames.length === 2 && frames[1]!.length <= this.#frameLimit) {
      const frame = frames[1]!;
      if (decodeHead(frame, 1)?.[0] === Kind.NOTIFY) {
        this.#frames.guard(undefined, () => this.#membership.onNotify(frame));
        return;
      }
    }
    const body = this.#frames.check(frames, undefined);
    if (body === undefined) return;
    switch (body[0]) {
      case Kind.REPLY:
        this.#frames.guard(undefined, () => {
          this.rejects.forged += this.#client.onReplies(peer, body);
        });
        return;
      case Kind.ACK:
        this.#frames.guard(undefined, () => this.#producer.onAck(peer, body));
        return;
      case Kind.NOTIFY:
        return; // only the directory sends notices (read above)
      case Kind.ERROR:
        // A peer could not read something we sent: a bug or a version mismatch; count it.
        this.rejects.malformed++;
        return;
      default:
        this.rejects.malformed++;
    }
  }

  /**
   * @internal The directory sends one frame, unchanged, to many nodes on the
   * bound socket, after what this turn already queued for them (replies).
   */
  _broadcast(identities: readonly string[], body: Buffer): void {
    const inbox = this.#net.inbox;
    if (inbox === undefined) return;
    inbox.flushNow();
    for (const identity of identities) inbox.forward(identity, body);
  }

  /** @internal Call one of the directory's own services. */
  _callDirectory(service: string, request: unknown, timeoutMs = 3000): Promise<unknown> {
    return this.#membership.call(service, request, timeoutMs);
  }

  /**
   * @internal Ask the directory to remove a node this process started (its
   * host was seen to exit): the graph gave it its token.
   */
  _deregister(id: string, token: string): Promise<unknown> {
    return this.#membership.call(DirectoryService.DEREGISTER, { id, token }, 2000);
  }

  /** @internal The directory's live nodes, read page by page. */
  _snapshot(timeoutMs = 3000): Promise<NodeRecord[]> {
    return this.#membership.snapshot(timeoutMs);
  }

  /** @internal Serve a built-in (`zmp.`) service; not announced to the directory. */
  _serve(service: string, handler: Handler): void {
    this.#server.serveBuiltin(service, handler);
  }

  /** @internal Forget a node at once (its host was seen to exit). */
  _drop(id: string, reason: string): void {
    this.#replica.drop(id, reason);
  }

  /** @internal Construct a node with internal options (the directory). */
  static _internal(options: NodeOptions & InternalOptions): Node {
    return new Node(options);
  }
}
