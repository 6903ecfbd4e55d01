/**
 * Queues: work shared among the pullers of a queue, with credit-based flow
 * control (the zguide's credit-based flow control, as in FileMQ) and
 * acknowledgements.
 *
 * A producer sends a puller at most `window` unacknowledged messages (the
 * puller grants the window and can change it at any time; a feedback loop may
 * set it). It sends each message to the puller with the most free credit;
 * when no puller has credit it keeps up to `pushBuffer` messages itself, and
 * beyond that `push()` waits: the producer feels backpressure instead of
 * memory growing without bound.
 *
 * A message is *handled* when its consumer is done with it — the `for await`
 * loop asks for the next message, or the `consume` handler returns — and only
 * then acknowledged. So each queue knows its backlog (charge) exactly at each
 * end: a producer counts what it accepted and has not seen acknowledged
 * (waiting in its buffer, in flight, in the puller's buffer, in a handler, or
 * acknowledged but the acknowledgement still on its way back — the error is
 * at most one round trip of acknowledgements); a puller counts what it
 * received and has not acknowledged.
 *
 * Delivery is at-least-once: messages a puller had not acknowledged when it
 * crashed or disconnected are sent again to another puller; a puller that
 * stops gracefully finishes what it took and hands the rest back.
 *
 * Wire: PUSH `[3, queue, firstSeq, message, ...]` producer → puller;
 * ACK `[4, queue, window, ackedThrough, closing, seq, ...]` puller → producer
 * (`seq`s: acknowledged out of order beyond `ackedThrough`).
 */
import { type Encoded, encodedLength } from "./codec.js";
import { BusyError, ClosedError, CodecError, ProtocolError, TimeoutError } from "./errors.js";
import type { ChannelMeter, MeterGroup } from "./meter.js";
import type { Batch, Outbox } from "./outbox.js";
import type { NodeRecord } from "./record.js";
import { Kind } from "./wire.js";

export interface PushOptions {
  /** Give up waiting for room after this many ms (`TimeoutError`; the message was not accepted). Default: wait. */
  timeoutMs?: number;
  /**
   * Resolve only when a puller has handled (acknowledged) the message, not
   * when it is accepted. A proxy uses it to acknowledge upstream end to end.
   * Default false.
   */
  confirm?: boolean;
  /**
   * Called once with the message's outcome: without an argument when a
   * puller has handled (acknowledged) it, or with the error that means it
   * never will be — not accepted in time, cannot be encoded, the node
   * stopped. `push()` then resolves once the message is accepted or refused
   * and never rejects (the refusal goes to `onAck`). End-to-end
   * acknowledgement without a promise per message: a queue proxy passes its
   * own `context.defer()` here. Not together with `confirm`.
   */
  onAck?: (error?: Error) => void;
  /**
   * Accept the message at once even when the push buffer is full, instead of
   * waiting for room: for a caller whose inflow is already bounded, such as a
   * queue proxy forwarding what its producers' credit let in. The message
   * still counts in the backlog and is sent when a puller has credit; it goes
   * ahead of pushes waiting for room. Default false.
   */
  force?: boolean;
}

export interface PullOptions {
  /** Credit: unacknowledged messages each producer may have at this puller. Default 1 000. */
  window?: number;
  /**
   * Hand over each message as an {@link Encoded} — its bytes as received,
   * checked but not decoded — instead of its value: for consumers that pass
   * messages on (`push` sends an `Encoded` as those bytes) and decode only
   * the few they inspect (`encoded.decode()`). Default false.
   */
  encoded?: boolean;
}

export interface ConsumeOptions extends PullOptions {
  /** Messages handled at once. Default 1. */
  concurrency?: number;
}

/** What a queue handler learns about the message it handles. */
export interface QueueContext {
  readonly queue: string;
  /** Instance id of the producing node. */
  readonly producer: string;
  /**
   * Takes over the message's acknowledgement: the handler's return value is
   * then ignored, and the message counts as handled when the returned
   * function is called — without an argument, or with an error (counted in
   * the queue's `errors` and reported to `onError`, as a handler that
   * throws). Only its first call counts. For handlers that finish through a
   * callback rather than a promise (a queue proxy passes it as `push`'s
   * `onAck`). Call it at most once per message, during the handler.
   */
  defer(): (error?: unknown) => void;
}

export type QueueHandler<T = unknown> = (message: T, context: QueueContext) => unknown;

const RESOLVED = Promise.resolve();

/**
 * How a push that was refused before the producer took it (a stopped node, a
 * bad queue name) reports the refusal: to `onAck` when the caller asked for
 * every outcome there, else as a rejected promise.
 */
export function refusePush(error: Error, options: PushOptions | undefined): Promise<void> {
  const onAck = options?.onAck;
  if (typeof onAck !== "function") return Promise.reject(error);
  onAck(error);
  return RESOLVED;
}

/** A puller times one delivery in this many for its service-time percentiles (a power of two). */
export const SERVICE_TIME_SAMPLE = 16;

/**
 * Pushes that share one clock reading within a turn, for the latency meter.
 * The stamp of the last of them is late by the time 15 pushes take (a few µs
 * against latencies of hundreds of µs and more, under the histogram's 5 %
 * buckets); it saves a clock read per message, and lets an acknowledgement
 * record those messages' latency at once.
 */
const STAMP_USES = 16;

// ------------------------------------------------------------------ producing

interface Sent {
  data: unknown;
  /**
   * When it was accepted (`now()`, ms), for the latency meter; 0 when metering
   * is off. A burst of pushes in one turn reads the clock once per
   * {@link STAMP_USES} messages (see QueueProducer.#stamp).
   */
  t0: number;
  /** Called when the message is acknowledged, or with an error if it never will be (push with `confirm`). */
  done?: (error?: Error) => void;
}

/** This producer's flow to one puller for one queue. */
interface Stream {
  puller: string;
  queue: string;
  window: number;
  nextSeq: number;
  ackedThrough: number;
  sacked: Set<number>;
  unacked: SeqMap<Sent>;
  /** The puller left gracefully; keep accounting until its closing acknowledgement. */
  retired: boolean;
  /**
   * The puller is not where this queue is routed now (a proxy fronts the
   * queue, or stopped fronting it): send nothing new, but keep accounting for
   * what it has until it acknowledges it.
   */
  unrouted: boolean;
}

interface Waiting {
  data: unknown;
  done: ((error?: Error) => void) | undefined;
  resolve: () => void;
  reject: (error: Error) => void;
  timer: ReturnType<typeof setTimeout> | undefined;
}

interface QueueState {
  /** Accepted but not yet sent (no credit anywhere). */
  pending: Sent[];
  pendingHead: number;
  /** Not yet accepted (buffer full): their push() waits. A FIFO from `waitingHead`. */
  waiting: Waiting[];
  waitingHead: number;
  streams: Stream[];
  meter: ChannelMeter | undefined;
  backlog: number;
  drained: (() => void)[];
}

/** What the producer needs from its node. */
export interface ProducerLink {
  outbox(): Outbox | undefined;
  pullers(queue: string): readonly NodeRecord[];
  connect(peer: NodeRecord): void;
  meters(): MeterGroup | undefined;
  now(): number;
}

export class QueueProducer {
  readonly #link: ProducerLink;
  readonly #queues = new Map<string, QueueState>();
  #lastQueue: string | undefined;
  #lastState: QueueState | undefined;
  #stampAt = Number.NaN;
  #stampUses = 0;
  readonly #stampExpire = (): void => {
    this.#stampAt = Number.NaN;
  };
  /** Messages a producer holds per queue when no puller has credit. */
  pushBuffer = 1000;
  maxMessageSize = Number.POSITIVE_INFINITY;

  constructor(link: ProducerLink) {
    this.#link = link;
  }

  #state(queue: string): QueueState {
    // A producer pushes to one queue again and again: the last one found is checked first.
    if (queue === this.#lastQueue) return this.#lastState!;
    let state = this.#queues.get(queue);
    if (state === undefined) {
      state = {
        pending: [],
        pendingHead: 0,
        waiting: [],
        waitingHead: 0,
        streams: [],
        meter: this.#link.meters()?.get(queue),
        backlog: 0,
        drained: [],
      };
      this.#queues.set(queue, state);
      this.refresh(queue);
    }
    this.#lastQueue = queue;
    this.#lastState = state;
    return state;
  }

  /** Accepted messages of `queue` not yet acknowledged (the producer's view of the backlog). */
  backlog(queue: string): number {
    return this.#queues.get(queue)?.backlog ?? 0;
  }

  /** Per puller of `queue`: the credit window it granted and the messages unacknowledged there. */
  credit(queue: string): { puller: string; window: number; inflight: number }[] {
    const state = this.#queues.get(queue);
    if (state === undefined) return [];
    return state.streams.map((s) => ({
      puller: s.puller,
      window: s.window,
      inflight: s.nextSeq - 1 - s.ackedThrough - s.sacked.size,
    }));
  }

  /** Messages sent to `puller` (any queue) and not yet acknowledged. */
  unackedAt(puller: string): number {
    let n = 0;
    for (const state of this.#queues.values())
      for (const stream of state.streams) if (stream.puller === puller) n += stream.unacked.size;
    return n;
  }

  /** Queues this node has pushed to. */
  queues(): string[] {
    return [...this.#queues.keys()];
  }

  /** Pushes `data` (see `Node.push` and {@link PushOptions}). */
  push(queue: string, data: unknown, options?: PushOptions): Promise<void> {
    const timeoutMs = options?.timeoutMs;
    const onAck = options?.onAck;
    if (onAck !== undefined) {
      if (typeof onAck !== "function")
        return Promise.reject(new TypeError(`Expected \`onAck\` to be a function, got \`${String(onAck)}\``));
      if (options?.confirm === true) {
        const both = new TypeError("Expected either `confirm` or `onAck`, got both");
        onAck(both);
        return RESOLVED;
      }
      // Every outcome goes to onAck; the promise only says when the message was accepted or refused.
      let accepted: Promise<void>;
      try {
        accepted = this.#push(queue, data, timeoutMs, onAck, options?.force === true);
      } catch (error) {
        onAck(error as Error);
        return RESOLVED;
      }
      return accepted === RESOLVED ? RESOLVED : accepted.then(undefined, onAck);
    }
    if (options?.confirm === true) {
      // Resolves when acknowledged: the acceptance below is only the first step.
      return new Promise<void>((resolve, reject) => {
        this.#push(
          queue,
          data,
          timeoutMs,
          (error) => (error ? reject(error) : resolve()),
          options?.force === true,
        ).catch(reject);
      });
    }
    return this.#push(queue, data, timeoutMs, undefined, options?.force === true);
  }

  #push(
    queue: string,
    data: unknown,
    timeoutMs: number | undefined,
    done: Sent["done"],
    force = false,
  ): Promise<void> {
    const state = this.#state(queue);
    if (state.pendingHead === state.pending.length && state.waiting.length === state.waitingHead) {
      const stream = this.#pick(state);
      if (stream !== undefined) {
        this.#send(state, stream, { data, t0: state.meter !== undefined ? this.#stamp() : 0, done });
        state.backlog++;
        if (state.meter !== undefined) state.meter.backlog = state.backlog;
        return RESOLVED;
      }
    }
    if (
      force ||
      (state.pending.length - state.pendingHead < this.pushBuffer &&
        state.waiting.length === state.waitingHead)
    ) {
      try {
        this.#accept(state, data, done);
      } catch (error) {
        return Promise.reject(error);
      }
      return RESOLVED;
    }
    return new Promise<void>((resolve, reject) => {
      const w: Waiting = { data, done, resolve, reject, timer: undefined };
      if (timeoutMs !== undefined && Number.isFinite(timeoutMs)) {
        w.timer = setTimeout(() => {
          const i = state.waiting.indexOf(w, state.waitingHead);
          if (i >= 0) state.waiting.splice(i, 1);
          reject(
            new TimeoutError(
              `push to \`${queue}\` found no room within ${timeoutMs} ms (not accepted)`,
              timeoutMs,
            ),
          );
        }, timeoutMs);
      }
      state.waiting.push(w);
    });
  }

  /**
   * The push time for the latency meter: one clock reading serves up to
   * STAMP_USES pushes of the same turn; it expires at the end of the turn, so
   * a push after any wait reads the clock afresh.
   */
  #stamp(): number {
    if (this.#stampUses > 0 && !Number.isNaN(this.#stampAt)) {
      this.#stampUses--;
      return this.#stampAt;
    }
    if (Number.isNaN(this.#stampAt)) setImmediate(this.#stampExpire);
    this.#stampAt = this.#link.now();
    this.#stampUses = STAMP_USES - 1;
    return this.#stampAt;
  }

  /** Takes a message into the producer's own buffer; checks it can be encoded and its size. */
  #accept(state: QueueState, data: unknown, done: Sent["done"]): void {
    const size = encodedLength(data);
    if (size > this.maxMessageSize) {
      throw new ProtocolError(`message of ${size} bytes exceeds maxMessageSize ${this.maxMessageSize}`);
    }
    state.pending.push({ data, t0: state.meter !== undefined ? this.#stamp() : 0, done });
    state.backlog++;
    if (state.meter !== undefined) state.meter.backlog = state.backlog;
  }

  #pick(state: QueueState): Stream | undefined {
    let best: Stream | undefined;
    let bestFree = 0;
    for (const s of state.streams) {
      if (s.retired || s.unrouted) continue;
      const free = s.window - (s.nextSeq - 1 - s.ackedThrough - s.sacked.size);
      if (free > bestFree) {
        best = s;
        bestFree = free;
      }
    }
    return best;
  }

  /** Appends one message to the frame for `stream`; throws CodecError/ProtocolError without sending it. */
  #send(state: QueueState, stream: Stream, sent: Sent): void {
    const data = sent.data;
    const outbox = this.#link.outbox();
    if (outbox === undefined) throw new ClosedError("the node is not running");
    const batch = outbox.batch(stream.puller, stream.queue, startPush, stream);
    const mark = batch.writer.mark();
    const size = batch.writer.append(data);
    if (size > this.maxMessageSize) {
      batch.writer.rollback(mark);
      throw new ProtocolError(`message of ${size} bytes exceeds maxMessageSize ${this.maxMessageSize}`);
    }
    batch.items++;
    stream.unacked.set(stream.nextSeq++, sent);
    const meter = state.meter;
    if (meter !== undefined) {
      meter.messagesOut++;
      meter.bytesOut += size;
      meter.backlog = state.backlog;
      meter.inflight = state.backlog - (state.pending.length - state.pendingHead);
    }
    outbox.added(batch);
  }

  /** Sends buffered messages while some puller has credit, then admits waiting pushes. */
  #drain(state: QueueState): void {
    while (state.pendingHead < state.pending.length) {
      const stream = this.#pick(state);
      if (stream === undefined) break;
      const entry = state.pending[state.pendingHead]!;
      state.pending[state.pendingHead++] = undefined as unknown as Sent;
      try {
        this.#send(state, stream, entry);
      } catch (error) {
        // A buffered message that cannot be encoded (checked at push, so only if it was
        // mutated since): it can never be delivered. Count it as an error, do not hide it.
        state.backlog--;
        entry.done?.(error as Error);
        if (state.meter !== undefined) state.meter.errors++;
        process.emitWarning(
          `zmp: a message buffered for queue \`${stream.queue}\` cannot be sent: ${(error as Error).message}`,
        );
      }
    }
    if (state.pendingHead > 256 && state.pendingHead * 2 > state.pending.length) {
      state.pending = state.pending.slice(state.pendingHead);
      state.pendingHead = 0;
    }
    while (
      state.waitingHead < state.waiting.length &&
      state.pending.length - state.pendingHead < this.pushBuffer
    ) {
      // Taken from the head by index: shift() is linear in the length, quadratic for a long wait list.
      const w = state.waiting[state.waitingHead]!;
      state.waiting[state.waitingHead++] = undefined as unknown as Waiting;
      if (state.waitingHead === state.waiting.length) {
        state.waiting = [];
        state.waitingHead = 0;
      } else if (state.waitingHead > 256 && state.waitingHead * 2 > state.waiting.length) {
        state.waiting = state.waiting.slice(state.waitingHead);
        state.waitingHead = 0;
      }
      if (w.timer !== undefined) clearTimeout(w.timer);
      try {
        this.#accept(state, w.data, w.done);
      } catch (error) {
        w.reject(error as Error);
        continue;
      }
      w.resolve();
    }
    // Messages just accepted go out at once where credit allows.
    if (
      state.waiting.length === state.waitingHead &&
      state.pendingHead < state.pending.length &&
      this.#pick(state) !== undefined
    ) {
      this.#drain(state);
      return;
    }
    if (state.meter !== undefined) state.meter.backlog = state.backlog;
    this.#checkDrained(state);
  }

  /** Rebuilds the puller list of `queue` from the directory (a puller came or left). */
  refresh(queue: string): void {
    const state = this.#queues.get(queue);
    if (state === undefined) return;
    const pullers = this.#link.pullers(queue);
    const routed = new Set(pullers.map((p) => p.id));
    // A stream the route no longer includes is kept (its puller still numbers our messages
    // by it); it only stops taking new ones, and takes them again if the route comes back.
    for (const s of state.streams) s.unrouted = !routed.has(s.puller);
    for (const record of pullers) {
      if (state.streams.some((s) => s.puller === record.id)) continue;
      const window = record.queues.find((q) => q.name === queue)?.window ?? 1000;
      this.#link.connect(record);
      state.streams.push({
        puller: record.id,
        queue,
        window,
        nextSeq: 1,
        ackedThrough: 0,
        sacked: new Set(),
        unacked: new SeqMap<Sent>(),
        retired: false,
        unrouted: false,
      });
    }
    this.#drain(state);
  }

  /** Refreshes every queue (after a directory change). */
  refreshAll(): void {
    for (const queue of this.#queues.keys()) this.refresh(queue);
  }

  /** Handles an ACK frame from `puller`. */
  onAck(puller: string, frame: unknown[]): void {
    const [, queue, window, ackedThrough, closing] = frame as [number, unknown, unknown, unknown, unknown];
    if (typeof queue !== "string" || typeof window !== "number" || typeof ackedThrough !== "number") {
      throw new CodecError("malformed ACK frame");
    }
    const state = this.#queues.get(queue);
    const stream = state?.streams.find((s) => s.puller === puller);
    if (state === undefined || stream === undefined) return;
    stream.window = Math.max(0, Math.floor(window));
    const now = this.#link.now();
    let acked = 0;
    const meter = state.meter;
    // Messages stamped with the same push time are recorded together.
    let runT0 = Number.NaN;
    let run = 0;
    // Outcome callbacks run last, after the freed credit has sent what waits: a queue proxy's
    // callbacks acknowledge upstream (work proportional to the frame), and its workers should
    // not wait for that to get their next batch.
    let dones: ((error?: Error) => void)[] | undefined;
    const settle = (seq: number): void => {
      const sent = stream.unacked.get(seq);
      if (sent === undefined) return;
      stream.unacked.delete(seq);
      acked++;
      if (meter !== undefined) {
        if (sent.t0 === runT0) run++;
        else {
          if (run > 0) meter.latency.record(now - runT0, run);
          runT0 = sent.t0;
          run = 1;
        }
      }
      if (sent.done !== undefined) {
        dones ??= [];
        dones.push(sent.done);
      }
    };
    for (let seq = stream.ackedThrough + 1; seq <= ackedThrough; seq++) {
      settle(seq);
      if (stream.sacked.size > 0) stream.sacked.delete(seq);
    }
    if (ackedThrough > stream.ackedThrough) stream.ackedThrough = ackedThrough;
    for (let k = 5; k < frame.length; k++) {
      const seq = frame[k];
      if (typeof seq !== "number" || seq <= stream.ackedThrough || stream.sacked.has(seq)) continue;
      stream.sacked.add(seq);
      settle(seq);
    }
    while (stream.sacked.delete(stream.ackedThrough + 1)) stream.ackedThrough++;
    if (meter !== undefined && run > 0) meter.latency.record(now - runT0, run);
    state.backlog -= acked;
    if (meter !== undefined) meter.messagesIn += acked;
    const waited = state.pending.length - state.pendingHead;
    if (closing === true) this.#redeliver(state, stream);
    else this.#drain(state);
    if (dones === undefined) return;
    // What the credit sent leaves now, before the callbacks' work, not at the end of it
    // (A/B in the bench's queue proxy row: 0.56× → 0.60–0.62× zmp direct).
    if (waited > 0) this.#link.outbox()?.flushNow();
    // Every callback runs even if one throws: a throwing `onAck` is the caller's bug, not a bad
    // frame from the puller, so it is reported as a process warning and the node goes on.
    for (const done of dones) {
      try {
        done();
      } catch (error) {
        process.emitWarning(`zmp: an onAck callback of queue \`${queue}\` threw: ${String(error)}`);
      }
    }
  }

  /** A puller left gracefully: stop sending to it, and wait for its closing acknowledgement. */
  retire(puller: string): void {
    for (const state of this.#queues.values()) {
      const stream = state.streams.find((s) => s.puller === puller);
      if (stream !== undefined) stream.retired = true;
    }
  }

  /** A puller is gone (crashed, disconnected): what it had not acknowledged goes to another puller. */
  pullerLost(puller: string): void {
    for (const state of this.#queues.values()) {
      const stream = state.streams.find((s) => s.puller === puller);
      if (stream !== undefined) this.#redeliver(state, stream);
    }
  }

  #redeliver(state: QueueState, stream: Stream): void {
    state.streams = state.streams.filter((s) => s !== stream);
    const again = [...stream.unacked.entries()].sort((a, b) => a[0] - b[0]).map(([, sent]) => sent);
    stream.unacked.clear();
    if (again.length > 0) {
      // Back to the front of the buffer, in their original order (at-least-once).
      state.pending = [...again, ...state.pending.slice(state.pendingHead)];
      state.pendingHead = 0;
    }
    this.#drain(state);
  }

  /** Resolves when every accepted message of every queue is acknowledged. */
  drained(): Promise<void> {
    const open = [...this.#queues.values()].filter((s) => s.backlog > 0);
    return Promise.all(open.map((s) => new Promise<void>((resolve) => s.drained.push(resolve)))).then(
      () => undefined,
    );
  }

  #checkDrained(state: QueueState): void {
    if (state.backlog > 0 || state.drained.length === 0) return;
    const waiters = state.drained;
    state.drained = [];
    for (const resolve of waiters) resolve();
  }

  /** Rejects pushes still waiting for room (the node stops); returns messages accepted but never acknowledged. */
  close(): number {
    let unacknowledged = 0;
    for (const [queue, state] of this.#queues) {
      for (let i = state.waitingHead; i < state.waiting.length; i++) {
        const w = state.waiting[i]!;
        if (w.timer !== undefined) clearTimeout(w.timer);
        w.reject(new ClosedError(`push to \`${queue}\` was not accepted: the node stopped`));
      }
      const never = new ClosedError(
        `a message pushed to \`${queue}\` was not acknowledged before the node stopped`,
      );
      for (let i = state.pendingHead; i < state.pending.length; i++) state.pending[i]?.done?.(never);
      for (const stream of state.streams) for (const sent of stream.unacked.values()) sent.done?.(never);
      unacknowledged += state.backlog;
    }
    this.#queues.clear();
    this.#lastQueue = undefined;
    this.#lastState = undefined;
    return unacknowledged;
  }
}

/** The head of a PUSH frame: its messages are numbered from the stream's next sequence number. */
function startPush(b: Batch, stream: Stream): void {
  b.writer.append(Kind.PUSH);
  b.writer.append(stream.queue);
  b.writer.append(stream.nextSeq);
}

/**
 * A stream's unacknowledged messages by sequence number. Sequence numbers are
 * handed out in order and mostly acknowledged in order, so this is a window
 * over an array (no hashing, no entry objects): `set` appends at the end,
 * `delete` clears a slot and moves the start past cleared slots.
 */
class SeqMap<V> {
  #items: (V | undefined)[] = [];
  /** Index in #items of sequence number #base. */
  #head = 0;
  #base = 1;
  #size = 0;

  get size(): number {
    return this.#size;
  }

  get(seq: number): V | undefined {
    const i = seq - this.#base + this.#head;
    return i >= this.#head && i < this.#items.length ? this.#items[i] : undefined;
  }

  has(seq: number): boolean {
    return this.get(seq) !== undefined;
  }

  set(seq: number, value: V): void {
    if (this.#size === 0) {
      this.#items = [];
      this.#head = 0;
      this.#base = seq;
    } else if (seq < this.#base) {
      // Before the window (not done by the producer, which numbers in order): widen it.
      const gap = this.#base - seq;
      this.#items = [...new Array<V | undefined>(gap), ...this.#items.slice(this.#head)];
      this.#head = 0;
      this.#base = seq;
    }
    const i = seq - this.#base + this.#head;
    while (this.#items.length < i) this.#items.push(undefined);
    if (i === this.#items.length) this.#items.push(value);
    else {
      if (this.#items[i] === undefined) this.#size++;
      this.#items[i] = value;
      return;
    }
    this.#size++;
  }

  delete(seq: number): boolean {
    const i = seq - this.#base + this.#head;
    if (i < this.#head || i >= this.#items.length || this.#items[i] === undefined) return false;
    this.#items[i] = undefined;
    this.#size--;
    const items = this.#items;
    while (this.#head < items.length && items[this.#head] === undefined) {
      this.#head++;
      this.#base++;
    }
    if (this.#head > 1024 && this.#head * 2 > items.length) {
      this.#items = items.slice(this.#head);
      this.#head = 0;
    }
    return true;
  }

  clear(): void {
    this.#items = [];
    this.#head = 0;
    this.#size = 0;
  }

  /** Entries in sequence order. */
  *entries(): IterableIterator<[number, V]> {
    const items = this.#items;
    for (let i = this.#head; i < items.length; i++) {
      const value = items[i];
      if (value !== undefined) yield [this.#base + i - this.#head, value];
    }
  }

  *values(): IterableIterator<V> {
    for (const [, value] of this.entries()) yield value;
  }
}

// ------------------------------------------------------------------ pulling

interface Delivery {
  producer: string;
  seq: number;
  data: unknown;
  t: number;
}

/** Per-producer acknowledgement state at a puller. */
interface AckState {
  producer: string;
  doneThrough: number;
  done: Set<number>;
  /** Listed in the reader's #dirty: its acknowledgement goes out at the next flush. */
  dirty: boolean;
}

/** What a reader needs from its node. */
export interface ReaderLink {
  inbox(): Outbox | undefined;
  now(): number;
  /** The reader's window changed or it closed: update the directory record. */
  changed(): void;
  /** The reader closed. */
  removed(reader: QueueReader<unknown>): void;
}

/**
 * The messages of one queue at one puller: an `AsyncIterable` where a message
 * counts as handled (and is acknowledged) when the loop asks for the next one.
 * One consumer at a time; `close()` (or `break`) hands back what is buffered.
 */
export class QueueReader<T = unknown> implements AsyncIterable<T> {
  readonly queue: string;
  /** Messages are handed over as {@link Encoded} bytes, not decoded ({@link PullOptions.encoded}). */
  readonly encoded: boolean;
  #window: number;
  #buffer: Delivery[] = [];
  #head = 0;
  /** A `for await` waiting for the next message. */
  #wake: ((d: Delivery | undefined) => void) | undefined;
  #current: Delivery | undefined;
  #closed = false;
  #iterating = false;
  #handling = 0;
  #idle: (() => void)[] = [];
  readonly #acks = new Map<string, AckState>();
  /** Producers with acknowledgements to send (each listed once: `AckState.dirty`). */
  #dirty: AckState[] = [];
  #ackScheduled = false;
  #ackKey = 0;
  readonly #link: ReaderLink;
  readonly meter: ChannelMeter | undefined;
  #sampled = 0;

  constructor(queue: string, options: PullOptions, meter: ChannelMeter | undefined, link: ReaderLink) {
    this.queue = queue;
    this.#window = checkWindow(options.window ?? 1000);
    this.encoded = options.encoded === true;
    this.meter = meter;
    this.#link = link;
  }

  /** Credit granted to each producer (unacknowledged messages). Changing it takes effect at once. */
  get window(): number {
    return this.#window;
  }

  set window(value: number) {
    this.#window = checkWindow(value);
    for (const state of this.#acks.values()) this.#markDirty(state);
    this.#scheduleAck();
    this.#link.changed();
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Received and not yet acknowledged (buffered + being handled): the puller's backlog. */
  get backlog(): number {
    return this.#buffer.length - this.#head + this.#handling;
  }

  /** @internal Messages arriving from `producer`. */
  _receive(producer: string, firstSeq: number, frame: unknown[], bytes: number): void {
    if (this.#closed) return; // the closing acknowledgement already handed these back
    let state = this.#acks.get(producer);
    if (state === undefined) {
      // A producer numbers its flow to this reader from 1: a first frame with a later number
      // means earlier ones were lost on the way, and they stay unacknowledged.
      state = { producer, doneThrough: 0, done: new Set(), dirty: false };
      this.#acks.set(producer, state);
    }
    const meter = this.meter;
    if (meter !== undefined) {
      meter.messagesIn += frame.length - 3;
      meter.bytesIn += bytes;
    }
    for (let i = 3; i < frame.length; i++) {
      const delivery: Delivery = { producer, seq: firstSeq + i - 3, data: frame[i], t: 0 };
      const wake = this.#wake;
      if (wake !== undefined) {
        this.#wake = undefined;
        this.#take(delivery);
        wake(delivery);
      } else this.#buffer.push(delivery);
    }
    if (meter !== undefined) meter.backlog = this.backlog;
    this._onArrival?.();
  }

  /**
   * Takes the next buffered delivery for a handler (used by `consume`).
   * `now`: the time, when the caller just read the clock (the previous
   * handler's acknowledgement), so a loop of handlers reads it once per message.
   */
  _next(now = Number.NaN): Delivery | undefined {
    if (this.#head >= this.#buffer.length) return undefined;
    const d = this.#buffer[this.#head]!;
    this.#buffer[this.#head++] = undefined as unknown as Delivery;
    if (this.#head > 1024 && this.#head * 2 > this.#buffer.length) {
      this.#buffer = this.#buffer.slice(this.#head);
      this.#head = 0;
    }
    this.#take(d, now);
    return d;
  }

  /**
   * A handler starts on `d`. One delivery in {@link SERVICE_TIME_SAMPLE} is
   * timed (`d.t`) for the service-time percentiles — reading the clock for
   * every message would be most of a metered queue's cost — and weighs for
   * that many. Counts stay exact.
   */
  #take(d: Delivery, now = Number.NaN): void {
    this.#handling++;
    const meter = this.meter;
    if (meter !== undefined) {
      meter.inflight = this.#handling;
      if ((++this.#sampled & (SERVICE_TIME_SAMPLE - 1)) === 0)
        d.t = Number.isNaN(now) ? this.#link.now() : now;
      else d.t = Number.NaN;
    }
  }

  /**
   * Acknowledges one delivery (its handler is done). Returns the time it read
   * for the service-time meter (NaN when metering is off), for {@link _next}.
   */
  _ack(d: Delivery, failed = false): number {
    this.#handling--;
    const meter = this.meter;
    let now = Number.NaN;
    if (meter !== undefined) {
      meter.messagesOut++;
      if (!Number.isNaN(d.t)) {
        now = this.#link.now();
        meter.serviceTime.record(now - d.t, SERVICE_TIME_SAMPLE);
      }
      meter.inflight = this.#handling;
      meter.backlog = this.backlog;
      if (failed) meter.errors++;
    }
    const state = this.#acks.get(d.producer);
    if (state !== undefined) {
      if (d.seq === state.doneThrough + 1) {
        state.doneThrough++;
        if (state.done.size > 0) while (state.done.delete(state.doneThrough + 1)) state.doneThrough++;
      } else if (d.seq > state.doneThrough) state.done.add(d.seq);
      if (!state.dirty) this.#markDirty(state);
      this.#scheduleAck();
    }
    if (this.#handling === 0 && this.#idle.length > 0) {
      const idle = this.#idle;
      this.#idle = [];
      for (const resolve of idle) resolve();
    }
    return now;
  }

  /** Resolves when no message is being handled. */
  _idle(): Promise<void> {
    if (this.#handling === 0) return RESOLVED;
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  /** @internal Wakes a waiting consumer when messages arrive (consume's workers). */
  _onArrival: (() => void) | undefined;

  #markDirty(state: AckState): void {
    if (state.dirty) return;
    state.dirty = true;
    this.#dirty.push(state);
  }

  #scheduleAck(): void {
    if (this.#ackScheduled) return;
    this.#ackScheduled = true;
    setImmediate(this.#flushLater);
  }

  readonly #flushLater = (): void => this.#flushAcks(false);

  #flushAcks(closing: boolean): void {
    this.#ackScheduled = false;
    const inbox = this.#link.inbox();
    if (inbox === undefined) return;
    const states = closing ? [...this.#acks.values()] : this.#dirty;
    for (const state of this.#dirty) state.dirty = false;
    this.#dirty = [];
    for (const state of states) {
      // A key of its own per acknowledgement frame: its fields are all in the head.
      const batch = inbox.batch(state.producer, `A${this.#ackKey++}`, (b) => {
        const w = b.writer;
        w.append(Kind.ACK);
        w.append(this.queue);
        w.append(closing ? 0 : this.#window);
        w.append(state.doneThrough);
        w.append(closing);
        for (const seq of state.done) w.append(seq);
      });
      inbox.added(batch);
    }
  }

  [Symbol.asyncIterator](): AsyncIterator<T> {
    if (this.#iterating) throw new BusyError(`queue \`${this.queue}\` already has a consumer here`);
    this.#iterating = true;
    return {
      next: () => {
        let now = Number.NaN;
        if (this.#current !== undefined) {
          now = this._ack(this.#current);
          this.#current = undefined;
        }
        return this.#nextValue(now);
      },
      return: async () => {
        if (this.#current !== undefined) {
          this._ack(this.#current);
          this.#current = undefined;
        }
        this.#iterating = false;
        await this.close();
        return { value: undefined, done: true };
      },
    };
  }

  #nextValue(now: number): Promise<IteratorResult<T>> {
    const d = this._next(now);
    if (d !== undefined) {
      this.#current = d;
      if (this.meter !== undefined) this.meter.backlog = this.backlog;
      return Promise.resolve({ value: d.data as T, done: false });
    }
    if (this.#closed) {
      this.#iterating = false;
      return Promise.resolve({ value: undefined, done: true });
    }
    return new Promise((resolve) => {
      this.#wake = (d) => {
        if (d === undefined) {
          this.#iterating = false;
          resolve({ value: undefined, done: true });
          return;
        }
        this.#current = d; // acknowledged when the loop asks for the next one
        resolve({ value: d.data as T, done: false });
      };
    });
  }

  /**
   * Stops taking messages: waits for those being handled, acknowledges them,
   * and hands back the rest (the producers send them to another puller).
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.(undefined);
    if (this.#current !== undefined) {
      this._ack(this.#current);
      this.#current = undefined;
    }
    await this._idle();
    this.#buffer = [];
    this.#head = 0;
    this.#flushAcks(true);
    if (this.meter !== undefined) this.meter.backlog = 0;
    this.#link.removed(this as QueueReader<unknown>);
  }
}

/**
 * Runs a handler on each message of a queue, `concurrency` at a time; a
 * message is acknowledged when its handler returns (or its promise settles).
 * A handler that throws is counted in the queue's `errors` and reported to
 * `onError`; its message counts as handled (not redelivered, so a poison
 * message cannot loop).
 */
export class QueueConsumer<T = unknown> {
  readonly #reader: QueueReader<T>;
  readonly #handler: QueueHandler<T>;
  readonly #concurrency: number;
  readonly #onError: ((error: unknown, message: T) => void) | undefined;
  #active = 0;
  #pumping = false;
  /** What a deferred acknowledgement calls (one function for all messages, see HandlerContext). */
  readonly #settleDeferred = (d: Delivery, failed: boolean, error: unknown): void =>
    this.#settled(d, failed, error);

  constructor(
    reader: QueueReader<T>,
    handler: QueueHandler<T>,
    concurrency: number,
    onError?: (error: unknown, message: T) => void,
  ) {
    if (!Number.isInteger(concurrency) || concurrency < 1)
      throw new RangeError(
        `Expected \`concurrency\` to be a positive integer, got \`${String(concurrency)}\``,
      );
    this.#reader = reader;
    this.#handler = handler;
    this.#concurrency = concurrency;
    this.#onError = onError;
    reader._onArrival = () => this.#pump();
    this.#pump();
  }

  get queue(): string {
    return this.#reader.queue;
  }

  /** The credit window granted to producers (see {@link QueueReader.window}). */
  get window(): number {
    return this.#reader.window;
  }

  set window(value: number) {
    this.#reader.window = value;
  }

  /** Stops taking messages, waits for handlers in progress, hands back the rest. */
  close(): Promise<void> {
    return this.#reader.close();
  }

  #pump(): void {
    // Handlers that finish synchronously are acknowledged in this loop: no closure per
    // message and no recursion (a frame of thousands of messages would nest that deep).
    if (this.#pumping) return;
    this.#pumping = true;
    try {
      let now = Number.NaN;
      while (this.#active < this.#concurrency && !this.#reader.closed) {
        const d = this.#reader._next(now);
        if (d === undefined) return;
        this.#active++;
        now = this.#run(d);
      }
    } finally {
      this.#pumping = false;
    }
  }

  /** Runs the handler on `d`; returns the acknowledgement's clock reading if it finished at once, else NaN. */
  #run(d: Delivery): number {
    const context = new HandlerContext(this.#reader.queue, d, this.#settleDeferred);
    let result: unknown;
    try {
      result = this.#handler(d.data as T, context);
    } catch (error) {
      // Deferred and already acknowledged through its callback: only report the throw.
      if (context._end(true) === "settled") {
        this.#onError?.(error, d.data as T);
        return Number.NaN;
      }
      return this.#done(d, true, error);
    }
    // Deferred: acknowledged when its callback is called (or already was).
    if (context._end(false) !== "running") return Number.NaN;
    if (
      result !== null &&
      typeof result === "object" &&
      typeof (result as PromiseLike<unknown>).then === "function"
    ) {
      (result as PromiseLike<unknown>).then(
        () => this.#settled(d, false, undefined),
        (error: unknown) => this.#settled(d, true, error),
      );
      return Number.NaN;
    }
    return this.#done(d, false, undefined);
  }

  /** A handler finished: report a failure, acknowledge. */
  #done(d: Delivery, failed: boolean, error: unknown): number {
    if (failed) this.#onError?.(error, d.data as T);
    this.#active--;
    return this.#reader._ack(d, failed);
  }

  /** An asynchronous handler settled: acknowledge, then take the next messages. */
  #settled(d: Delivery, failed: boolean, error: unknown): void {
    this.#done(d, failed, error);
    this.#pump();
  }
}

/**
 * What a consumer's handler learns about its message; `defer()` hands the
 * message's acknowledgement to a callback (no promise, no closure per message
 * unless deferred).
 */
class HandlerContext implements QueueContext {
  readonly queue: string;
  readonly producer: string;
  readonly #delivery: Delivery;
  readonly #settle: (d: Delivery, failed: boolean, error: unknown) => void;
  #state: "running" | "deferred" | "settled" | "ended" = "running";

  constructor(
    queue: string,
    delivery: Delivery,
    settle: (d: Delivery, failed: boolean, error: unknown) => void,
  ) {
    this.queue = queue;
    this.producer = delivery.producer;
    this.#delivery = delivery;
    this.#settle = settle;
  }

  defer(): (error?: unknown) => void {
    if (this.#state !== "running")
      throw new BusyError(
        this.#state === "ended"
          ? "defer() must be called while the handler runs"
          : "defer() was already called for this message",
      );
    this.#state = "deferred";
    return (error?: unknown): void => {
      if (this.#state !== "deferred") return;
      this.#state = "settled";
      this.#settle(this.#delivery, error !== undefined, error);
    };
  }

  /**
   * @internal The handler returned (or threw): says what it did with the
   * acknowledgement — "running": kept it; "deferred": its callback will
   * settle it; "settled": the callback already did. From now on `defer()`
   * throws; after a throw the consumer settles the message, and a deferred
   * callback called later is ignored.
   */
  _end(threw: boolean): "running" | "deferred" | "settled" {
    const state = this.#state;
    if (state === "running" || (threw && state === "deferred")) this.#state = "ended";
    return state === "ended" ? "running" : state;
  }
}

function checkWindow(value: number): number {
  if (!Number.isInteger(value) || value < 1)
    throw new RangeError(`Expected \`window\` to be a positive integer, got \`${String(value)}\``);
  return value;
}
