/**
 * The queue wire format, written and read here only. After the routing frame
 * each message is one MessagePack array (see wire.ts):
 *
 *   PUSH  [3, queue, firstSeq, message, message, …]                    producer → puller
 *   ACK   [4, queue, window, ackedThrough, closing, seq, seq, …]       puller → producer
 *
 * A producer numbers its messages to one puller and queue from 1; a PUSH
 * frame carries the number of its first message. An ACK grants `window`
 * (credit: unacknowledged messages the producer may have at this puller),
 * acknowledges every message through `ackedThrough`, and each `seq` after
 * the head individually (handled out of order). `closing`: the puller stops
 * taking this queue; what it did not acknowledge goes elsewhere (a *hand
 * back*: window 0, nothing acknowledged, closing).
 */
import { decodeHead } from "./codec.js";
import { CodecError } from "./errors.js";
import type { Batch, Outbox } from "./outbox.js";
import { Kind } from "./wire.js";

/** Index of the first message in a decoded PUSH frame. */
export const PUSH_FIRST_MESSAGE = 3;

/** Index of the first individually acknowledged sequence number in a decoded ACK frame. */
export const ACK_FIRST_SEQ = 5;

/** Writes a PUSH frame's head; its messages follow. */
export function writePushHead(batch: Batch, queue: string, firstSeq: number): void {
  const w = batch.writer;
  w.append(Kind.PUSH);
  w.append(queue);
  w.append(firstSeq);
}

/** The head of a decoded PUSH frame; throws `CodecError` when malformed. */
export function readPushHead(frame: readonly unknown[]): { queue: string; firstSeq: number } {
  const queue = frame[1];
  const firstSeq = frame[2];
  if (typeof queue !== "string" || typeof firstSeq !== "number") throw new CodecError("malformed PUSH frame");
  return { queue, firstSeq };
}

/**
 * The queue of an undecoded PUSH frame, read from its head only (cheap: for
 * routing frames whose messages are passed on encoded); undefined for any
 * other frame.
 */
export function peekPushQueue(body: Uint8Array): string | undefined {
  const head = decodeHead(body, 2);
  return head?.[0] === Kind.PUSH && typeof head[1] === "string" ? head[1] : undefined;
}

/** Writes a whole ACK frame. */
export function writeAck(
  batch: Batch,
  queue: string,
  window: number,
  ackedThrough: number,
  closing: boolean,
  seqs: Iterable<number> = [],
): void {
  const w = batch.writer;
  w.append(Kind.ACK);
  w.append(queue);
  w.append(window);
  w.append(ackedThrough);
  w.append(closing);
  for (const seq of seqs) w.append(seq);
}

/** The head of a decoded ACK frame; throws `CodecError` when malformed. */
export function readAck(frame: readonly unknown[]): {
  queue: string;
  window: number;
  ackedThrough: number;
  closing: boolean;
} {
  const [, queue, window, ackedThrough, closing] = frame;
  if (typeof queue !== "string" || typeof window !== "number" || typeof ackedThrough !== "number")
    throw new CodecError("malformed ACK frame");
  return { queue, window, ackedThrough, closing: closing === true };
}

/**
 * Hands a PUSH frame back to its producer unread (this node does not pull
 * from `queue`, or no longer): an ACK with no credit, nothing acknowledged,
 * closing — the producer sends those messages to another puller.
 */
export function handBack(inbox: Outbox, producer: string, queue: string, firstSeq: number): void {
  const batch = inbox.batch(producer, `back:${queue}:${firstSeq}`, (b) => writeAck(b, queue, 0, 0, true));
  inbox.added(batch);
}
