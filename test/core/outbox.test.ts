import { describe, expect, it } from "vitest";
import { decode } from "../../core/codec.js";
import { Outbox } from "../../core/outbox.js";

/** A socket that records what it is given. */
function recorder(): { frames: unknown[][]; send(message: Buffer | Buffer[]): Promise<void> } {
  const frames: unknown[][] = [];
  return {
    frames,
    send(message) {
      const body = Array.isArray(message) ? message[1]! : message;
      frames.push(decode(body) as unknown[]);
      return Promise.resolve();
    },
  };
}

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

function add(outbox: Outbox, key: string, value: number): void {
  const batch = outbox.batch("peer", key, (b) => b.writer.append(key));
  batch.writer.append(value);
  batch.items++;
  outbox.added(batch);
}

describe("outbox", () => {
  it("outbox – the first frame of a turn leaves once the running microtasks are done", async () => {
    const socket = recorder();
    const outbox = new Outbox(socket);
    add(outbox, "a", 1);
    add(outbox, "a", 2); // same synchronous run: same frame
    await Promise.resolve();
    await Promise.resolve();
    expect(socket.frames).toEqual([["a", 1, 2]]);
  });

  it("outbox – frames begun later in the turn coalesce until its end", async () => {
    const socket = recorder();
    const outbox = new Outbox(socket);
    add(outbox, "a", 1);
    await Promise.resolve();
    for (let i = 2; i <= 4; i++) {
      add(outbox, "b", i);
      await Promise.resolve();
    }
    expect(socket.frames).toEqual([["a", 1]]);
    await turn();
    expect(socket.frames).toEqual([
      ["a", 1],
      ["b", 2, 3, 4],
    ]);
    // The next turn starts quiet again.
    add(outbox, "c", 5);
    await Promise.resolve();
    await Promise.resolve();
    expect(socket.frames.at(-1)).toEqual(["c", 5]);
    await outbox.flushed();
  });
});
