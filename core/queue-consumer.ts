/**
 * A pool of handlers on one queue's reader: `concurrency` messages handled
 * at a time, each acknowledged when its handler returns, its promise
 * settles, or its deferred acknowledgement is called.
 */
import { BusyError } from "./errors.js";
import type { QueueContext, QueueHandler } from "./queue.js";
import type { Delivery, QueueReader } from "./queue-reader.js";

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
