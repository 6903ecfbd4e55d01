/**
 * The queues a node pulls from: one reader per queue, listed in the node's
 * record with its credit window; PUSH frames are handed to their queue's
 * reader, and frames for a queue the node does not (or no longer) pull from
 * are handed back to their producer, which sends them to another puller.
 */
import { BusyError } from "./errors.js";
import type { ChannelMeter } from "./meter.js";
import type { Outbox } from "./outbox.js";
import type { PullOptions } from "./queue.js";
import { QueueReader } from "./queue-reader.js";
import { handBack, readPushHead } from "./queue-wire.js";
import { checkName, type QueueRecord } from "./record.js";

/** What the pullers need from their node. */
export interface PullersLink {
  readonly name: string;
  inbox(): Outbox | undefined;
  /** The meter of `queue`'s pulling end, when metering. */
  meter(queue: string): ChannelMeter | undefined;
  /** The record changed (a reader came, left, or changed its window). */
  changed(): void;
}

export class QueuePullers {
  readonly #link: PullersLink;
  readonly #readers = new Map<string, QueueReader<unknown>>();
  /** Readers taking their messages encoded (PullOptions.encoded): PUSH frames are peeked at for them. */
  #encoded = 0;

  constructor(link: PullersLink) {
    this.#link = link;
  }

  /** Whether some reader takes its messages encoded (frames must then be peeked at). */
  get anyEncoded(): boolean {
    return this.#encoded > 0;
  }

  /** Whether the reader of `queue` takes its messages encoded. */
  takesEncoded(queue: string): boolean {
    return this.#readers.get(queue)?.encoded === true;
  }

  /** A new reader of `queue`; BusyError if there is one. */
  open<T>(queue: string, options: PullOptions): QueueReader<T> {
    checkName(queue, "queue");
    if (this.#readers.has(queue))
      throw new BusyError(`node \`${this.#link.name}\` already pulls from \`${queue}\``);
    const link = this.#link;
    const reader = new QueueReader<T>(queue, options, link.meter(queue), {
      inbox: () => link.inbox(),
      now: () => performance.now(),
      changed: () => link.changed(),
      removed: (r) => {
        if (this.#readers.get(queue) === r) {
          this.#readers.delete(queue);
          if (r.encoded) this.#encoded--;
          link.changed();
        }
      },
    });
    this.#readers.set(queue, reader as QueueReader<unknown>);
    if (reader.encoded) this.#encoded++;
    link.changed();
    return reader;
  }

  /** The queues pulled, as the node's record lists them. */
  records(): QueueRecord[] {
    return [...this.#readers.values()].map((r) => ({ name: r.queue, window: r.window }));
  }

  /** A decoded PUSH frame from `producer`; throws `CodecError` when malformed. */
  onPush(producer: string, frame: unknown[], bytes: number): void {
    const { queue, firstSeq } = readPushHead(frame);
    const reader = this.#readers.get(queue);
    // Closing: its closing acknowledgement will hand these back with everything else unhandled.
    if (reader?.closed) return;
    if (reader === undefined) {
      const inbox = this.#link.inbox();
      if (inbox !== undefined) handBack(inbox, producer, queue, firstSeq);
      return;
    }
    reader._receive(producer, firstSeq, frame, bytes);
  }

  /** Closes every reader: each finishes what it took and hands the rest back. */
  close(): Promise<void>[] {
    return [...this.#readers.values()].map((r) => r.close());
  }

  /** Forgets every reader (the node is torn down). */
  clear(): void {
    for (const reader of this.#readers.values()) void reader.close();
    this.#readers.clear();
    this.#encoded = 0;
  }
}
