/**
 * The producing end of queues: a node's pushes, sent under the credit its
 * pullers grant (to the puller with the most free credit), buffered up to
 * `pushBuffer` when none has any, and counted in the backlog until
 * acknowledged; what a puller lost or handed back goes to another one.
 */
import { encodedLength } from "./codec.js";
import { ClosedError, ProtocolError, TimeoutError } from "./errors.js";
import type { ChannelMeter, MeterGroup } from "./meter.js";
import type { Batch, Outbox } from "./outbox.js";
import type { PushOptions } from "./queue.js";
import { ACK_FIRST_SEQ, readAck, writePushHead } from "./queue-wire.js";
import type { NodeRecord } from "./record.js";
import { SeqMap } from "./seq-map.js";

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

/**
 * Pushes that share one clock reading within a turn, for the latency meter.
 * The stamp of the last of them is late by the time 15 pushes take (a few µs
 * against latencies of hundreds of µs and more, under the histogram's 5 %
 * buckets); it saves a clock read per message, and lets an acknowledgement
 * record those messages' latency at once.
 */
const STAMP_USES = 16;

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
    const { queue, window, ackedThrough, closing } = readAck(frame);
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
    for (let k = ACK_FIRST_SEQ; k < frame.length; k++) {
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
    if (closing) this.#redeliver(state, stream);
    else this.#drain(state);
    if (dones === undefined) return;
    // What the credit sent leaves now, before the callbacks' work, not at the end of it: a
    // queue proxy's workers then get their next batch while the proxy acknowledges upstream.
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
  writePushHead(b, stream.queue, stream.nextSeq);
}
