/**
 * The checks every frame from a peer passes before a node reads it: one
 * body frame, no larger than the node's frame limit (one message of
 * `maxMessageSize` on top of a full batch), a valid encoding. A refused
 * frame is counted in the node's `rejects` and, when the sender can be
 * answered (it reached the bound socket), answered with an ERROR that says
 * why; the node keeps running. Handlers run under {@link FrameGuard.guard},
 * so a throw while reading a peer's frame is treated the same way.
 */
import { decodeArray } from "./codec.js";
import { CodecError, errorToData, ProtocolError } from "./errors.js";
import type { RejectCounts } from "./node-meters.js";
import type { Outbox } from "./outbox.js";
import { Kind } from "./wire.js";

export interface FrameGuardLink {
  /** Largest body frame accepted, bytes. */
  limit: number;
  /** The node's `maxMessageSize`, named in the refusal. */
  maxMessageSize: number;
  /** Whether an ERROR answer carries the stack (see `remoteStacks`). */
  remoteStacks: boolean;
  rejects: RejectCounts;
  /** Where answers to senders on the bound socket go (undefined while closed). */
  inbox: () => Outbox | undefined;
}

export class FrameGuard {
  readonly #link: FrameGuardLink;

  constructor(link: FrameGuardLink) {
    this.#link = link;
  }

  /** Checks shape and size; decodes. Returns undefined (after counting and answering) when refused. */
  check(frames: Buffer[], identity: string | undefined): unknown[] | undefined {
    if (frames.length !== 2) {
      this.reject(identity, new CodecError(`malformed message: ${frames.length - 1} frames, expected 1`));
      return undefined;
    }
    const body = frames[1]!;
    const { limit, maxMessageSize, rejects } = this.#link;
    if (body.length > limit) {
      rejects.oversized++;
      this.reject(
        identity,
        new ProtocolError(
          `frame of ${body.length} bytes exceeds the limit of ${limit} (maxMessageSize ${maxMessageSize} plus one batch)`,
        ),
        false,
      );
      return undefined;
    }
    try {
      return decodeArray(body);
    } catch (error) {
      this.reject(identity, error as Error);
      return undefined;
    }
  }

  /** Runs `work` (reading a peer's frame); a throw refuses the frame. */
  guard(identity: string | undefined, work: () => void): void {
    try {
      work();
    } catch (error) {
      this.reject(identity, error as Error);
    }
  }

  /** Counts a refused frame and, when the sender can be answered, tells it why. */
  reject(identity: string | undefined, error: Error, count = true): void {
    if (count) this.#link.rejects.malformed++;
    const inbox = this.#link.inbox();
    if (identity === undefined || inbox === undefined) return;
    const batch = inbox.batch(identity, "E", (b) => b.writer.append(Kind.ERROR));
    batch.writer.append(errorToData(error, this.#link.remoteStacks));
    batch.items++;
    inbox.added(batch);
  }
}
