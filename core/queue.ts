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
 * This file holds the options and handler types of queues; the producer
 * (queue-producer.ts), the puller's reader (queue-reader.ts), the handler
 * pool (queue-consumer.ts) and the wire format (queue-wire.ts) have files of
 * their own.
 */
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
