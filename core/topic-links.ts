/**
 * The subscribing side of a node's topics: one SUB socket, connected to where
 * the topics its subscriptions (and its forwarders) want come from — the nodes
 * fronting a topic (topic proxies) if there are any, else its publishers —
 * and kept so as the graph changes. A connection no longer wanted is kept for
 * a grace period, so a subscriber switching to or from a proxy overlaps the
 * two paths (the sequence numbers remove the duplicates) instead of losing
 * messages. Each batch read is passed on unchanged where a forwarder covers
 * its topic, and delivered to the subscriptions it matches.
 */
import * as zmq from "zeromq";
import { decodeArray } from "./codec.js";
import { BusyError } from "./errors.js";
import type { FaultInjector } from "./faults.js";
import { TopicForwarder } from "./forwarder.js";
import type { ChannelMeter } from "./meter.js";
import { checkName, type NodeRecord } from "./record.js";
import type { Replica } from "./replica.js";
import { client, type SecurityOptions } from "./security.js";
import { closeTracked, kick, liveness, setServerKey, socketLimitError, trackSocket } from "./sockets.js";
import { type SubscribeOptions, Subscription, TopicSubscriber } from "./topic.js";

/** What the topic links need from their node. */
export interface TopicLinksLink {
  readonly replica: Replica;
  readonly security: SecurityOptions | undefined;
  /** ZMTP heartbeat timeout of connections, ms (0: off). */
  readonly peerTimeoutMs: number;
  /** ZeroMQ receive high-water mark of the SUB socket, in frames. */
  readonly highWaterMark: number;
  /** Largest frame libzmq lets in (bigger ones drop the connection). */
  readonly maxFrameBytes: number;
  /** Faults injected at this node's receiving end. */
  readonly faults: FaultInjector;
  /** This start's instance id. */
  id(): string;
  /** This node's own PUB endpoint and topics (a node may subscribe to what it publishes). */
  pubEndpoint(): string;
  ownTopics(): ReadonlySet<string>;
  /** How long an unwanted connection is kept, ms. */
  graceMs(): number;
  /** Whether the node has stopped (nothing to connect any more). */
  stopped(): boolean;
  /** Counts a frame that could not be read. */
  malformed(): void;
  /** Passes a batch on unchanged through this node's PUB socket. */
  forward(topic: string, body: Buffer): void;
  /** A forwarder of `prefix` closed while the node runs: stop fronting it. */
  forwarderClosed(prefix: string): void;
}

export class TopicLinks {
  readonly #link: TopicLinksLink;
  readonly subscriber = new TopicSubscriber();
  readonly #forwarders = new Set<TopicForwarder>();
  #sub: zmq.Subscriber | undefined;
  #loop: Promise<void> | undefined;
  /** Publisher endpoints the SUB socket is connected to. */
  readonly #connected = new Set<string>();
  /** Connections no longer wanted, closed after a grace period. */
  readonly #dropping = new Map<string, ReturnType<typeof setTimeout>>();

  constructor(link: TopicLinksLink) {
    this.#link = link;
  }

  /** The forwarders (topic proxies) this node runs. */
  get forwarders(): ReadonlySet<TopicForwarder> {
    return this.#forwarders;
  }

  /** A new subscription to topics under `prefix` (`""`: every topic). */
  subscribe<T>(prefix: string, options: SubscribeOptions, meter: ChannelMeter | undefined): Subscription<T> {
    if (prefix !== "") checkName(prefix, "prefix");
    const subscriptions = this.subscriber.subscriptions;
    const sub = new Subscription<T>(prefix, options, meter, (s) => {
      subscriptions.delete(s as Subscription<unknown>);
      if (![...subscriptions].some((o) => o.prefix === prefix)) {
        try {
          this.#sub?.unsubscribe(prefix);
        } catch {
          // socket closed
        }
        this.subscriber.prune();
      }
    });
    const socket = this.#socket();
    if (![...subscriptions].some((o) => o.prefix === prefix)) socket.subscribe(prefix);
    subscriptions.add(sub as Subscription<unknown>);
    this.sync();
    return sub;
  }

  /** A new forwarder of topics under `prefix` (the node fronts the prefix); BusyError if there is one. */
  forward(prefix: string, node: string): TopicForwarder {
    if (prefix !== "") checkName(prefix, "prefix");
    if ([...this.#forwarders].some((f) => f.prefix === prefix))
      throw new BusyError(`node \`${node}\` already forwards \`${prefix}\``);
    const sub = this.#socket();
    const forwarder = new TopicForwarder(prefix, {
      subscribe: (p) => sub.subscribe(p),
      unsubscribe: (p) => {
        if (!sub.closed) sub.unsubscribe(p);
      },
      closed: (r) => {
        this.#forwarders.delete(r);
        this.#link.forwarderClosed(prefix);
        this.sync();
      },
      send: (topic, body) => this.#link.forward(topic, body),
    });
    this.#forwarders.add(forwarder);
    this.sync();
    return forwarder;
  }

  /**
   * Connects the SUB socket to where the topics it wants come from (see the
   * module comment); called after every directory change.
   */
  sync(): void {
    const sub = this.#sub;
    const link = this.#link;
    if (sub === undefined || link.stopped() || sub.closed) return;
    const self = link.id();
    const prefixes = [...this.subscriber.prefixes().keys()];
    const forwarded = [...this.#forwarders].map((f) => f.prefix);
    const wanted = new Set<string>();
    const keys = new Map<string, string | undefined>();
    const consider = (node: NodeRecord, topic: string): void => {
      const own = prefixes.some((p) => topic.startsWith(p));
      const forwarding = forwarded.some((p) => topic.startsWith(p));
      if (!own && !forwarding) return;
      const fronts = link.replica.fronting("topic", topic);
      const fronted = fronts.length > 0 && !fronts.some((f) => f.id === self);
      if (fronted && !forwarding) {
        for (const f of fronts) {
          if (!f.pubEndpoint) continue;
          wanted.add(f.pubEndpoint);
          keys.set(f.pubEndpoint, f.publicKey);
        }
      } else if (!fronts.some((f) => f.id === node.id)) {
        wanted.add(node.pubEndpoint);
        keys.set(node.pubEndpoint, node.publicKey);
      }
    };
    for (const node of link.replica.all()) {
      if (node.id === self || !node.pubEndpoint) continue;
      for (const topic of node.topics) consider(node, topic);
    }
    if (prefixes.some((p) => [...link.ownTopics()].some((t) => t.startsWith(p)))) {
      wanted.add(link.pubEndpoint());
      keys.set(link.pubEndpoint(), link.security?.publicKey);
    }
    for (const endpoint of wanted) {
      const dropping = this.#dropping.get(endpoint);
      if (dropping !== undefined) {
        clearTimeout(dropping);
        this.#dropping.delete(endpoint);
      }
      if (this.#connected.has(endpoint)) continue;
      if (link.security !== undefined) setServerKey(sub, keys.get(endpoint));
      sub.connect(endpoint);
      kick(sub, endpoint);
      this.#connected.add(endpoint);
    }
    const graceMs = link.graceMs();
    for (const endpoint of this.#connected) {
      if (wanted.has(endpoint) || this.#dropping.has(endpoint)) continue;
      const timer = setTimeout(() => {
        this.#dropping.delete(endpoint);
        this.#connected.delete(endpoint);
        try {
          if (!sub.closed) sub.disconnect(endpoint);
        } catch {
          // already gone
        }
      }, graceMs);
      timer.unref();
      this.#dropping.set(endpoint, timer);
    }
  }

  /** Ends every subscription and forwarder and forgets pending disconnections (the node stops). */
  closeAll(): void {
    this.subscriber.closeAll();
    for (const forwarder of [...this.#forwarders]) forwarder.close();
    for (const timer of this.#dropping.values()) clearTimeout(timer);
    this.#dropping.clear();
  }

  /** Closes the SUB socket; returns its read loop, which ends with it. */
  closeSocket(): Promise<void> | undefined {
    closeTracked(this.#sub);
    const loop = this.#loop;
    this.#sub = undefined;
    this.#loop = undefined;
    this.#connected.clear();
    return loop;
  }

  #socket(): zmq.Subscriber {
    if (this.#sub !== undefined) return this.#sub;
    const link = this.#link;
    let created: zmq.Subscriber;
    try {
      created = new zmq.Subscriber({
        linger: 0,
        ...liveness(link.peerTimeoutMs),
        receiveHighWaterMark: link.highWaterMark,
        maxMessageSize: link.maxFrameBytes,
      });
    } catch (error) {
      throw socketLimitError(error);
    }
    const sub = trackSocket(created);
    this.#sub = sub;
    if (link.security !== undefined) client(sub, link.security);
    this.#loop = this.#receive(sub);
    return sub;
  }

  async #receive(sub: zmq.Subscriber): Promise<void> {
    const faults = this.#link.faults;
    try {
      for await (const frames of sub) {
        if (frames.length !== 2) {
          this.#link.malformed();
          continue;
        }
        try {
          const topic = frames[0]!.toString("utf8");
          const body = frames[1]!;
          if (faults.active) faults.apply(() => this.#guard(topic, body));
          else this.#onBatch(topic, body);
        } catch {
          this.#link.malformed();
        }
      }
    } catch (error) {
      if (!sub.closed) throw error;
    }
  }

  #guard(topic: string, body: Buffer): void {
    try {
      this.#onBatch(topic, body);
    } catch {
      this.#link.malformed();
    }
  }

  /** One topic batch from the SUB socket: passed on unchanged where a forwarder covers it, delivered where we subscribe. */
  #onBatch(topic: string, body: Buffer): void {
    let batch: unknown[] | undefined;
    if (this.#forwarders.size > 0) {
      for (const forwarder of this.#forwarders) {
        if (!forwarder._covers(topic)) continue;
        batch ??= decodeArray(body);
        forwarder.onBatch?.(topic, batch);
        if (forwarder._pass(batch.length - 2, body.length)) this.#link.forward(topic, body);
        forwarder.tap?.(topic, batch.slice(2));
      }
    }
    for (const sub of this.subscriber.subscriptions) {
      if (topic.startsWith(sub.prefix)) {
        this.subscriber.onBatch(topic, batch ?? decodeArray(body), body.length);
        return;
      }
    }
  }
}
