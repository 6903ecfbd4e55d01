/**
 * A queue proxy (the zguide's broker, PULL/PUSH in ZeroMQ terms): a node
 * fronts a queue, so producers push to it and it pushes on to the real
 * workers. It is the place where the queue's backlog lives and is measured:
 * `backlog` counts messages it received and that no worker has handled yet.
 *
 * End to end: the proxy acknowledges a message to its producer only when a
 * worker has acknowledged it (its push's `onAck` settles the handler through
 * `context.defer()`), so a message is never lost between the two hops; a
 * worker that dies makes the proxy send its messages to another worker, a
 * proxy that dies makes the producers send theirs to another puller
 * (at-least-once, the core's queue guarantee).
 *
 * The hop is cheap: messages pass through as the bytes they arrived in
 * (`encoded: true`, checked but neither decoded nor re-encoded), and each
 * acknowledgement is a callback, not a promise. Admission works on counts;
 * only the tap and the dead-letter topic decode a message, when they use it.
 *
 * Admission control (the actuator of a backlog loop): each offered message must get a
 * token from a token bucket (`rate` msg/s, `burst`) and pass a random
 * `fraction`; a refused message is *shed*: counted, optionally published on
 * a dead-letter topic, and acknowledged to its producer (it will not be
 * redelivered) — never silently lost. `rate`, `burst`, `fraction` and the
 * credit `window` can be changed while messages flow.
 *
 * Pausing holds admitted messages in the proxy (they count in its backlog;
 * producers feel backpressure once their credit is used up); `close()` lets
 * go of the queue without losing a message.
 */
import type { Encoded } from "../../core/codec.js";
import type { Node } from "../../core/node.js";
import type { QueueContext } from "../../core/queue.js";
import type { QueueConsumer } from "../../core/queue-consumer.js";
import { checkName } from "../../core/record.js";
import {
  checkOptions,
  fail,
  flag,
  fraction as fractionOption,
  positiveInteger,
} from "../control/validate.js";
import { between, integerBetween, MAX_COUNT, MAX_RATE, MAX_WINDOW, upToOrUnlimited } from "../limits.js";
import { register, type Steerable } from "../steering.js";
import { PauseGate } from "./pause-gate.js";
import type { DirectionStats } from "./service-proxy.js";
import { replaceTap, type TapOptions, type TapSink, type TapStats } from "./tap.js";
import { TokenBucket } from "./token-bucket.js";

export interface QueueProxyOptions {
  /** The queue to front. Required. */
  queue: string;
  /** Admission rate, messages per second (token bucket); `Infinity` or `null` admits all. Default Infinity. */
  rate?: number | null;
  /** Token-bucket depth, messages. Default max(1, rate × 0.05 s). */
  burst?: number;
  /** Share of offered messages admitted at random, after the bucket (0…1). Default 1. */
  fraction?: number;
  /**
   * Credit the proxy grants each producer: messages unacknowledged at the
   * proxy. Default 3 000, three times a worker's default credit: the proxy
   * holds the next batches while a worker handles one, so neither waits for
   * the other's round trip; more keeps more messages alive (the measurements
   * behind the choice are in docs/benchmarks.md).
   */
  window?: number;
  /** Messages forwarded downstream at once, awaiting a worker's acknowledgement. Default 10 000. */
  concurrency?: number;
  /** Topic each shed message is published on, as `{ queue, reason, message, time }`. Default: none. */
  deadLetter?: string;
  /** Copy each offered message (with whether it was admitted) to a topic or file. Default: no tap. */
  tap?: TapOptions;
  /** Serve steering on `<node name>.control`. Default true. */
  steering?: boolean;
  /** Clock of the token bucket, ms. Default `performance.now`. */
  now?: () => number;
  /** Uniform random numbers in [0, 1) for `fraction`. Default `Math.random`. */
  random?: () => number;
}

export interface QueueProxyStats {
  kind: "queue";
  id: string;
  node: string;
  /** When the stats were read, ms since the epoch (the sample's own timestamp). */
  time: number;
  queue: string;
  paused: boolean;
  closed: boolean;
  /** Admission settings in force (`rate` null: unlimited). */
  rate: number | null;
  burst: number;
  fraction: number;
  window: number;
  concurrency: number;
  /** Messages producers offered (received by the proxy's handler): `admitted + shed`. */
  offered: number;
  admitted: number;
  /** Refused by admission control: acknowledged to the producer, counted here, never forwarded. */
  shed: number;
  shedByRate: number;
  shedByFraction: number;
  /** Admitted messages a worker acknowledged. */
  handled: number;
  /** Admitted messages that could not be forwarded (the proxy stopped before a worker acknowledged them). */
  failed: number;
  /** Charge: messages received from producers and not yet handled by a worker (nor shed). */
  backlog: number;
  /** Admitted messages held by a pause right now. */
  held: number;
  /** Rate of messages handled downstream, msg/s (EWMA, τ = 1 s); NaN without meters. */
  handledRate: number;
  /** Rate of messages offered by producers, msg/s (EWMA, τ = 1 s); NaN without meters. */
  offeredRate: number;
  /** Messages proxy → workers, bytes as sent. */
  forward: DirectionStats;
  /** Acknowledgements workers → proxy (bytes not metered: 0). */
  backward: DirectionStats;
  /** Push → acknowledged by a worker, ms; NaN without meters. */
  latencyP50: number;
  latencyP99: number;
  /** Workers the proxy forwards to, by node name (its replica's view). */
  workers: string[];
  deadLetter: string | null;
  tap: TapStats | null;
}

const OPTION_KEYS = [
  "queue",
  "rate",
  "burst",
  "fraction",
  "window",
  "concurrency",
  "deadLetter",
  "tap",
  "steering",
  "now",
  "random",
];
const SETTINGS = ["rate", "burst", "fraction", "window", "deadLetter", "tap"];
const CONFIRM = { confirm: true } as const;

export class QueueProxy implements Steerable {
  readonly node: Node;
  readonly queue: string;
  readonly id: string;
  readonly concurrency: number;
  readonly #bucket: TokenBucket;
  readonly #random: () => number;
  #fraction: number;
  #deadLetter: string | undefined;
  #tap: TapSink | undefined;
  #consumer: QueueConsumer<Encoded> | undefined;
  #closed = false;
  readonly #gate = new PauseGate();
  #counts = { offered: 0, admitted: 0, shedByRate: 0, shedByFraction: 0, handled: 0, failed: 0 };
  #unregister: (() => void) | undefined;
  #closing: Promise<void> | undefined;
  /** The node keeps meters: handled messages are counted from them, not with a promise per message. */
  #metered = false;
  readonly #onHandled = (): void => {
    this.#counts.handled++;
  };
  readonly #handler = (message: Encoded, context: QueueContext): Promise<void> | undefined =>
    this.#handle(message, context);
  readonly #onFailed = (): void => {
    this.#counts.failed++;
  };

  private constructor(node: Node, options: QueueProxyOptions) {
    const o = checkOptions(options, OPTION_KEYS, "queue proxy options");
    this.node = node;
    this.queue = checkName(o.queue, "queue");
    this.id = `queue:${this.queue}`;
    this.#bucket = new TokenBucket({
      rate: o.rate,
      ...(o.burst !== undefined ? { burst: o.burst } : {}),
      ...(o.now !== undefined ? { now: o.now } : {}),
    });
    this.#fraction = fractionOption("fraction", o.fraction, 1);
    this.concurrency = positiveInteger("concurrency", o.concurrency, 10_000);
    if (o.random !== undefined && typeof o.random !== "function")
      fail("random", "a function", o.random, true);
    this.#random = o.random ?? Math.random;
    this.#deadLetter = o.deadLetter === undefined ? undefined : checkName(o.deadLetter, "deadLetter");
    if (this.#deadLetter !== undefined) node.advertise(this.#deadLetter);
    if (o.tap !== undefined) this.#tap = replaceTap(node, undefined, o.tap, this.queue);
  }

  /**
   * Fronts `options.queue` on `node` and resolves once the directory lists the
   * front (producers move to the proxy as their replicas learn it).
   */
  static async start(node: Node, options: QueueProxyOptions): Promise<QueueProxy> {
    const proxy = new QueueProxy(node, options);
    const window = positiveInteger("window", options.window, 3000);
    const steering = flag("steering", options.steering, true);
    // Pull first, then front: producers that move to the proxy find a puller there.
    proxy.#consumer = node.consume(proxy.queue, proxy.#handler, {
      concurrency: proxy.concurrency,
      window,
      encoded: true,
      onError: proxy.#onFailed,
    });
    // A metered node counts the workers' acknowledgements itself (pushed.messagesIn).
    proxy.#metered = node.stats().pulled[proxy.queue] !== undefined;
    if (steering) proxy.#unregister = register(node, proxy);
    try {
      await node.front("queue", proxy.queue);
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

  /** Admission rate in msg/s (Infinity: unlimited); settable while running. */
  get rate(): number {
    return this.#bucket.rate;
  }

  set rate(value: number) {
    this.#bucket.rate = value;
  }

  /** Token-bucket depth, messages; settable while running. */
  get burst(): number {
    return this.#bucket.burst;
  }

  set burst(value: number) {
    this.#bucket.burst = value;
  }

  /** Share of offered messages admitted at random (0…1); settable while running. */
  get fraction(): number {
    return this.#fraction;
  }

  set fraction(value: number) {
    this.#fraction = fractionOption("fraction", value, 1);
  }

  /** Credit granted to each producer; settable while running. */
  get window(): number {
    return this.#consumer?.window ?? 0;
  }

  set window(value: number) {
    if (this.#consumer !== undefined) this.#consumer.window = positiveInteger("window", value, 1);
  }

  /** Messages shed so far (by rate and by fraction). */
  get shed(): number {
    return this.#counts.shedByRate + this.#counts.shedByFraction;
  }

  /** Holds admitted messages in the proxy until `resume()`. */
  pause(): void {
    if (!this.#closed) this.#gate.pause();
  }

  /** Forwards held messages and new ones again. */
  resume(): void {
    this.#gate.resume();
  }

  /**
   * Changes settings while running: `rate` (null: unlimited), `burst`,
   * `fraction`, `window`, `deadLetter` (null: none), `tap` (null: none).
   * Checks them all before applying any.
   */
  set(values: Record<string, unknown>): void {
    checkOptions(values, SETTINGS, "queue proxy settings");
    const rate =
      values.rate === undefined ? undefined : upToOrUnlimited("rate", values.rate, 0, MAX_RATE, " msg/s");
    const burst = values.burst === undefined ? undefined : between("burst", values.burst, 1, MAX_COUNT);
    const fraction = fractionOption("fraction", values.fraction, this.#fraction);
    const window =
      values.window === undefined ? undefined : integerBetween("window", values.window, 1, MAX_WINDOW);
    const deadLetter =
      values.deadLetter === undefined
        ? this.#deadLetter
        : values.deadLetter === null
          ? undefined
          : checkName(values.deadLetter, "deadLetter");
    if (values.tap !== undefined) this.#tap = replaceTap(this.node, this.#tap, values.tap, this.queue);
    if (rate !== undefined) this.#bucket.rate = rate;
    if (burst !== undefined) this.#bucket.burst = burst;
    this.#fraction = fraction;
    if (window !== undefined) this.window = window;
    if (deadLetter !== undefined && deadLetter !== this.#deadLetter) this.node.advertise(deadLetter);
    this.#deadLetter = deadLetter;
  }

  /** Live workers the proxy forwards to (its directory replica's view), by node name. */
  workers(): string[] {
    return this.node
      .nodes()
      .filter((n) => n.id !== this.node.id && n.queues.some((q) => q.name === this.queue))
      .filter((n) => !n.fronts.some((f) => f.kind === "queue" && f.name === this.queue))
      .map((n) => n.name)
      .sort();
  }

  /** Charge: messages received from producers and not yet handled by a worker (nor shed). */
  get backlog(): number {
    const pulled = this.node.stats().pulled[this.queue];
    if (pulled !== undefined) return pulled.backlog;
    const c = this.#counts;
    return c.admitted - this.#handled(undefined) - c.failed;
  }

  stats(): QueueProxyStats {
    const meters = this.node.stats();
    const pushed = meters.pushed[this.queue];
    const pulled = meters.pulled[this.queue];
    const c = this.#counts;
    const handled = this.#handled(pushed?.messagesIn);
    const rate = this.#bucket.rate;
    return {
      kind: "queue",
      id: this.id,
      node: this.node.name,
      time: Date.now(),
      queue: this.queue,
      paused: this.#gate.paused,
      closed: this.#closed,
      rate: rate === Number.POSITIVE_INFINITY ? null : rate,
      burst: this.#bucket.burst,
      fraction: this.#fraction,
      window: this.window,
      concurrency: this.concurrency,
      offered: c.offered,
      admitted: c.admitted,
      shed: c.shedByRate + c.shedByFraction,
      shedByRate: c.shedByRate,
      shedByFraction: c.shedByFraction,
      handled,
      failed: c.failed,
      backlog: pulled?.backlog ?? c.admitted - handled - c.failed,
      held: this.#gate.held,
      handledRate: pushed?.rateIn ?? Number.NaN,
      offeredRate: pulled?.rateIn ?? Number.NaN,
      forward: {
        messages: pushed?.messagesOut ?? c.admitted,
        bytes: pushed?.bytesOut ?? 0,
        rate: pushed?.rateOut ?? Number.NaN,
      },
      backward: { messages: handled, bytes: 0, rate: pushed?.rateIn ?? Number.NaN },
      latencyP50: pushed?.latencyP50 ?? Number.NaN,
      latencyP99: pushed?.latencyP99 ?? Number.NaN,
      workers: this.workers(),
      deadLetter: this.#deadLetter ?? null,
      tap: this.#tap?.stats() ?? null,
    };
  }

  /**
   * Lets go of the queue: forwards what it holds and waits for the workers'
   * acknowledgements, hands back to their producers what arrives meanwhile,
   * then unfronts (producers push to the workers again). No message is lost
   * or repeated. Safe to call twice.
   */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    this.#closed = true;
    this.resume();
    // Stop pulling while still fronting: the proxy's own route to the queue excludes itself
    // only while it fronts, and a handler forwarding to its own closing reader would wait
    // forever. Messages producers send meanwhile are handed back with the closing
    // acknowledgement and go out again once the front is gone (one directory update: the
    // reader's removal and the unfront coalesce).
    await this.#consumer?.close();
    if (this.node.state === "running") await this.node.unfront("queue", this.queue).catch(() => undefined);
    this.#unregister?.();
    await this.#tap?.close();
  }

  #handle(message: Encoded, context: QueueContext): Promise<void> | undefined {
    const c = this.#counts;
    c.offered++;
    let reason: "rate" | "fraction" | undefined;
    if (!this.#bucket.take()) reason = "rate";
    else if (this.#fraction < 1 && this.#random() >= this.#fraction) reason = "fraction";
    if (this.#tap !== undefined) {
      const admitted = reason === undefined;
      this.#tap.offer(() => ({ queue: this.queue, message: message.decode(), admitted }));
    }
    if (reason !== undefined) {
      this.#shed(message, reason);
      return undefined; // acknowledged to the producer: shed, not lost
    }
    c.admitted++;
    if (this.#gate.paused) return this.#hold(message);
    // The hot path: the message is acknowledged upstream when a worker acknowledged it (end to
    // end), through a callback rather than a promise per message.
    // `force`: the producers' credit already bounds what the proxy takes in, so a forward never
    // waits for room in the node's push buffer (a promise per message when workers lag).
    const ack = context.defer();
    void this.node.push(this.queue, message, {
      onAck: this.#metered ? ack : this.#counted(ack),
      force: true,
    });
    return undefined;
  }

  /** Without meters: counts a worker's acknowledgement before passing it on. */
  #counted(ack: (error?: unknown) => void): (error?: Error) => void {
    return (error?: Error): void => {
      if (error === undefined) this.#counts.handled++;
      ack(error);
    };
  }

  async #hold(message: Encoded): Promise<void> {
    await this.#gate.wait();
    const forwarded = this.node.push(this.queue, message, CONFIRM);
    await (this.#metered ? forwarded : forwarded.then(this.#onHandled));
  }

  /** Admitted messages a worker acknowledged: the node's meter when it keeps one, else our own count. */
  #handled(acknowledged: number | undefined): number {
    return this.#metered ? (acknowledged ?? 0) : this.#counts.handled;
  }

  #shed(message: Encoded, reason: "rate" | "fraction"): void {
    if (reason === "rate") this.#counts.shedByRate++;
    else this.#counts.shedByFraction++;
    const topic = this.#deadLetter;
    if (topic === undefined || this.node.state !== "running") return;
    try {
      this.node.publish(topic, { queue: this.queue, reason, message: message.decode(), time: Date.now() });
    } catch {
      // a message too big to republish: still counted as shed
    }
  }
}
