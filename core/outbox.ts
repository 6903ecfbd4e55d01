/**
 * The outbox coalesces what a node sends to one peer in one event-loop turn
 * into one ZeroMQ frame per (peer, kind, channel), and sends the frames at the
 * end of the turn (`setImmediate`). The first frame of a turn leaves sooner,
 * when the running microtasks are done, so a lone message (a call, a reply)
 * waits for nothing; a burst of N messages costs one send, one promise and
 * one N-API crossing instead of N. (nats.js coalesces its writes the same
 * way; zeromq.js allows one pending send per socket, so frames are sent one
 * after another from a single writer.)
 */
/** A frame is sealed once it holds this many bytes (so frames stay near this size plus one message). */
export const BATCH_BYTES = 256 * 1024;

/** The one socket method the outbox uses (ROUTER, PUB...). */
export interface Sender {
  send(message: Buffer | Buffer[]): Promise<void>;
}

import { BatchWriter } from "./codec.js";

const RESOLVED = Promise.resolve();

export interface OutboxOptions {
  /** Most messages in one frame before it is sealed and a new one begun. Default 4096. */
  maxItems?: number;
  /** Frame size in bytes past which a frame is sealed. Default 256 KiB. */
  maxBytes?: number;
  /**
   * How a destination string becomes the first frame: `latin1` for routing ids
   * (byte-exact round trip of any identity), `utf8` for topics. Default `latin1`.
   */
  destEncoding?: "latin1" | "utf8";
  /** Called when a frame could not be sent (peer unreachable, socket closed). */
  onSendError?: (dest: string | undefined, batch: Batch, error: unknown) => void;
  /**
   * The routing id a destination has on the socket when it differs from the
   * destination itself (a connecting ROUTER names each connection afresh).
   */
  routingId?: (dest: string) => string;
}

/** A frame under construction for one destination. */
export class Batch {
  readonly writer: BatchWriter;
  /** Messages in the frame (head fields excluded). */
  items = 0;
  /** Owner data: what the channel needs to account for the frame after sending (sequence numbers...). */
  tag: unknown = undefined;
  /** A frame passed through as received (a forwarder), sent instead of the writer's content. */
  raw: Buffer | undefined = undefined;
  constructor(
    readonly dest: string | undefined,
    readonly key: string,
    initialBytes = 512,
    writer?: BatchWriter,
  ) {
    this.writer = writer ?? new BatchWriter(initialBytes);
  }
}

/** The key of an open frame in `Outbox.#open`. */
function mapKeyOf(batch: Batch): string {
  return batch.dest === undefined ? batch.key : `${batch.dest}\u0000${batch.key}`;
}

/** The writer of every forwarded frame: never written to (the frame is sent as received). */
const NO_WRITER = new BatchWriter(16);

export class Outbox {
  readonly #socket: Sender;
  readonly #destEncoding: "latin1" | "utf8";
  readonly #maxItems: number;
  readonly #maxBytes: number;
  readonly #onSendError: OutboxOptions["onSendError"];
  readonly #routingId: OutboxOptions["routingId"];
  #open = new Map<string, Batch>();
  /**
   * The open frame while it is the only one (a lone call or reply): kept out of
   * `#open`, so it costs no key string and no map operations.
   */
  #single: Batch | undefined;
  #ready: Batch[] = [];
  #scheduled = false;
  /** No frame has been scheduled since the last end of turn: the next one may leave at once. */
  #quiet = true;
  #sending = false;
  #closed = false;
  #idle: (() => void)[] = [];
  #last: Batch | undefined;
  /**
   * Size of the last frame sent per key (kind and channel), so the next one
   * starts with room for as much instead of doubling its way there. Bounded:
   * keys used once (acknowledgements) only churn it.
   */
  #sizes = new Map<string, number>();
  /** The first frame (routing id or topic) per destination, encoded once. Bounded like `#sizes`. */
  #heads = new Map<string, Buffer>();
  /** Frames handed to ZeroMQ so far. */
  framesSent = 0;
  /** Bytes handed to ZeroMQ so far. */
  bytesSent = 0;

  constructor(socket: Sender, options: OutboxOptions = {}) {
    this.#socket = socket;
    this.#destEncoding = options.destEncoding ?? "latin1";
    this.#maxItems = options.maxItems ?? 4096;
    this.#maxBytes = options.maxBytes ?? BATCH_BYTES;
    this.#onSendError = options.onSendError;
    this.#routingId = options.routingId;
  }

  /**
   * The open frame for `key` (one per destination, kind and channel), made
   * with `init(batch, arg)` writing the head fields when there is none.
   * Append messages to `batch.writer` and count them in `batch.items`, then
   * call {@link added}. (`arg` spares a hot path a closure per message.)
   */
  batch<A = undefined>(
    dest: string | undefined,
    key: string,
    init: (batch: Batch, arg: A) => void,
    arg?: A,
  ): Batch {
    const last = this.#last;
    if (last !== undefined && last.key === key && last.dest === dest) return last;
    const single = this.#single;
    if (single === undefined && this.#open.size === 0) {
      const batch = new Batch(dest, key, this.#sizes.get(key));
      init(batch, arg as A);
      this.#single = batch;
      this.#schedule();
      this.#last = batch;
      return batch;
    }
    if (single !== undefined) {
      if (single.key === key && single.dest === dest) {
        this.#last = single;
        return single;
      }
      this.#single = undefined;
      this.#open.set(mapKeyOf(single), single);
    }
    const mapKey = dest === undefined ? key : `${dest}\u0000${key}`;
    let batch = this.#open.get(mapKey);
    if (batch === undefined) {
      batch = new Batch(dest, key, this.#sizes.get(key));
      init(batch, arg as A);
      this.#open.set(mapKey, batch);
      this.#schedule();
    }
    this.#last = batch;
    return batch;
  }

  /** Seals `batch` once it is full; call after appending to it. */
  added(batch: Batch): void {
    if (batch.items >= this.#maxItems || batch.writer.byteLength >= this.#maxBytes) this.#seal(batch);
  }

  /** Frames sealed or open but not yet handed to ZeroMQ. */
  get pending(): number {
    return this.#ready.length + this.#open.size + (this.#single === undefined ? 0 : 1);
  }

  /** Resolves when everything added so far has been handed to ZeroMQ. */
  flushed(): Promise<void> {
    if (
      !this.#scheduled &&
      !this.#sending &&
      this.#single === undefined &&
      this.#open.size === 0 &&
      this.#ready.length === 0
    )
      return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  /**
   * Queues a frame received elsewhere to be sent unchanged (a forwarder passes on
   * topic batches this way, keeping their publisher's sequence numbers).
   */
  forward(dest: string, body: Buffer): void {
    const batch = new Batch(dest, "", 0, NO_WRITER);
    batch.raw = body;
    this.#ready.push(batch);
    if (!this.#sending) void this.#send();
  }

  /** Sends what is open right now instead of at the end of the turn. */
  flushNow(): void {
    this.#flush();
  }

  /** Stops accepting frames; what is not yet sent is reported through `onSendError`. */
  close(): void {
    this.#closed = true;
  }

  #seal(batch: Batch): void {
    if (this.#single === batch) this.#single = undefined;
    else {
      const mapKey = mapKeyOf(batch);
      if (this.#open.get(mapKey) === batch) this.#open.delete(mapKey);
    }
    if (this.#last === batch) this.#last = undefined;
    this.#ready.push(batch);
    if (!this.#sending) void this.#send();
  }

  #remember(key: string, size: number): void {
    if (this.#sizes.size >= 64 && !this.#sizes.has(key)) this.#sizes.clear();
    // A little more than last time (most frames of a key are alike; a bigger one still grows),
    // but at most twice the last estimate: one large frame among small ones of its key (a
    // snapshot among heartbeat replies) must not make every later frame start at its size,
    // while a stream of large frames gets there in a few frames.
    const want = Math.max(512, Math.min(size + (size >>> 4), this.#maxBytes + 1024));
    this.#sizes.set(key, Math.min(want, 2 * (this.#sizes.get(key) ?? 512)));
  }

  #head(to: string): Buffer {
    let head = this.#heads.get(to);
    if (head === undefined) {
      if (this.#heads.size >= 1024) this.#heads.clear();
      head = Buffer.from(to, this.#destEncoding);
      this.#heads.set(to, head);
    }
    return head;
  }

  #schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    if (this.#quiet) {
      // The first frame of a turn (a lone call or reply) leaves when the current run of
      // microtasks ends, not at the end of the turn: what the same code adds synchronously or
      // from the promise callbacks already queued still joins it. Frames begun later in the
      // turn wait for its end as usual, so a burst costs at most one extra frame.
      this.#quiet = false;
      void RESOLVED.then(this.#flushLater);
      setImmediate(this.#endTurn);
    } else setImmediate(this.#flushLater);
  }

  readonly #flushLater = (): void => this.#flush();
  readonly #endTurn = (): void => {
    this.#quiet = true;
  };

  #flush(): void {
    this.#scheduled = false;
    this.#last = undefined;
    if (this.#single !== undefined) {
      this.#ready.push(this.#single);
      this.#single = undefined;
    }
    if (this.#open.size > 0) {
      for (const batch of this.#open.values()) this.#ready.push(batch);
      this.#open.clear();
    }
    if (!this.#sending) void this.#send();
  }

  async #send(): Promise<void> {
    this.#sending = true;
    try {
      while (this.#ready.length > 0) {
        const frames = this.#ready;
        this.#ready = [];
        for (const batch of frames) {
          if (this.#closed) {
            this.#onSendError?.(batch.dest, batch, new Error("socket closed"));
            continue;
          }
          const body = batch.raw ?? batch.writer.finish();
          if (batch.raw === undefined) this.#remember(batch.key, body.length);
          try {
            if (batch.dest === undefined) await this.#socket.send(body);
            else {
              const to = this.#routingId === undefined ? batch.dest : this.#routingId(batch.dest);
              await this.#socket.send([this.#head(to), body]);
            }
            this.framesSent++;
            this.bytesSent += body.length;
          } catch (error) {
            this.#onSendError?.(batch.dest, batch, error);
          }
        }
      }
    } finally {
      this.#sending = false;
      if (!this.#scheduled && this.#single === undefined && this.#open.size === 0) {
        const idle = this.#idle;
        this.#idle = [];
        for (const resolve of idle) resolve();
      }
    }
  }
}
