/**
 * The pulling end of a queue at one node: the messages producers sent under
 * its credit, handed to one consumer (a `for await` loop, or a
 * {@link QueueConsumer}'s handlers), and acknowledged per producer once
 * handled; closing hands back what was not taken.
 */
import { BusyError } from "./errors.js";
import type { ChannelMeter } from "./meter.js";
import type { Outbox } from "./outbox.js";
import type { PullOptions } from "./queue.js";
import { PUSH_FIRST_MESSAGE, writeAck } from "./queue-wire.js";

const RESOLVED = Promise.resolve();

/** A puller times one delivery in this many for its service-time percentiles (a power of two). */
export const SERVICE_TIME_SAMPLE = 16;

/** One message at a puller, from its arrival to its acknowledgement. */
export interface Delivery {
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
      meter.messagesIn += frame.length - PUSH_FIRST_MESSAGE;
      meter.bytesIn += bytes;
    }
    for (let i = PUSH_FIRST_MESSAGE; i < frame.length; i++) {
      const delivery: Delivery = { producer, seq: firstSeq + i - PUSH_FIRST_MESSAGE, data: frame[i], t: 0 };
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
      const batch = inbox.batch(state.producer, `A${this.#ackKey++}`, (b) =>
        writeAck(b, this.queue, closing ? 0 : this.#window, state.doneThrough, closing, state.done),
      );
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

function checkWindow(value: number): number {
  if (!Number.isInteger(value) || value < 1)
    throw new RangeError(`Expected \`window\` to be a positive integer, got \`${String(value)}\``);
  return value;
}
