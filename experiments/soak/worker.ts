/**
 * The soak's worker, a hostable node module: it pulls the queue and records
 * the id of every message it handles in a file of its own (8 bytes each,
 * float64 little-endian), so the harness can count, after the run, which
 * messages were handled, how often, and by whom — also for a worker that was
 * SIGKILLed.
 *
 * The record is written before the message is acknowledged: a handler's
 * promise resolves only after `writeSync` has put its batch in the file
 * (the kernel's page cache, which a SIGKILL of this process does not undo),
 * and the queue acknowledges a message when its handler settles. So an id in
 * no file was never acknowledged by any worker; an id in two files was
 * handled by a worker killed after writing it and before its acknowledgement
 * reached the proxy (at-least-once).
 *
 * Capacity: with `rate` set, the worker is a deterministic server of `rate`
 * msg/s (each message ends 1/rate s after the previous one, or after its
 * arrival when the worker was idle), completing messages in batches on a
 * `tickMs` grid — a worker pool of known capacity that a feedback loop must
 * protect; without it, messages end in the turn after they arrive.
 *
 * Each message is `{ id, t }` (`t`: when it was pushed, `Date.now()` ms);
 * the worker keeps a cumulative histogram of `now − t` when it ends (end to
 * end, producer → proxy → worker, 1 ms resolution). `<name>.soak`
 * `{ op: "stats" }` replies with a {@link SoakWorkerStats}.
 */
import { closeSync, openSync, writeSync } from "node:fs";
import type { Node } from "../../core/index.js";
import { checkName } from "../../core/record.js";
import {
  checkOptions,
  fail,
  nonNegative,
  positive,
  positiveInteger,
} from "../../toolbox/control/validate.js";
import { type HistogramData, LatencyHistogram } from "./latency.js";
import { serveSoak } from "./service.js";

/** Arguments of the soak worker (plain data). */
export interface SoakWorkerArgs {
  /** Queue to pull. Required. */
  queue: string;
  /** File the handled ids are appended to. Required. */
  file: string;
  /** Messages per second this worker serves; omitted: as fast as it can. */
  rate?: number;
  /** Credit window granted to the proxy, messages. Default 1 000. */
  window?: number;
  /** Grid messages end on when `rate` is set, ms. Default 5. */
  tickMs?: number;
  /**
   * Holds each batch's acknowledgement this long after recording it, ms: the
   * gap between a message's effect and its acknowledgement, in which a kill
   * makes a duplicate (at-least-once), made wide enough to be hit. Default 0.
   */
  ackDelayMs?: number;
}

/** What `<name>.soak` `{ op: "stats" }` replies. */
export interface SoakWorkerStats {
  /** Messages handled (and recorded). */
  handled: number;
  /** Messages taken and not yet handled (recorded). */
  inService: number;
  window: number;
  /** End-to-end latency of the handled messages, ms (cumulative). */
  latency: HistogramData;
  pid: number;
  /** When read, ms since the epoch. */
  time: number;
}

/** A soak message. */
export interface SoakMessage {
  id: number;
  t: number;
}

interface Batch {
  /** When it ends, `performance.now()` ms (0: in the next turn). */
  at: number;
  ids: number[];
  stamps: number[];
  done: Promise<void>;
  resolve: () => void;
}

export default function soakWorker(node: Node, args: SoakWorkerArgs): () => Promise<void> {
  const o = checkOptions(
    args,
    ["queue", "file", "rate", "window", "tickMs", "ackDelayMs"],
    "soak worker args",
  );
  const queue = checkName(o.queue, "queue");
  if (typeof o.file !== "string" || o.file === "") fail("file", "a file path", o.file, true);
  const interval = o.rate === undefined ? 0 : 1000 / positive("rate", o.rate, 1);
  const window = positiveInteger("window", o.window, 1000);
  const tickMs = positive("tickMs", o.tickMs, 5);
  const ackDelayMs = nonNegative("ackDelayMs", o.ackDelayMs, 0);
  const fd = openSync(o.file, "a");
  const latency = new LatencyHistogram();
  const batches: Batch[] = [];
  let handled = 0;
  let inService = 0;
  let freeAt = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let immediate: ReturnType<typeof setImmediate> | undefined;

  const write = (ids: number[]): void => {
    const bytes = new Uint8Array(Float64Array.from(ids).buffer);
    let offset = 0;
    while (offset < bytes.length) offset += writeSync(fd, bytes, offset);
  };

  const end = (b: Batch): void => {
    write(b.ids); // recorded before the handlers settle, so before any acknowledgement
    const now = Date.now();
    for (const t of b.stamps) latency.record(now - t);
    handled += b.ids.length;
    inService -= b.ids.length;
    if (ackDelayMs > 0) setTimeout(b.resolve, ackDelayMs);
    else b.resolve();
  };

  /** Ends the batches that are due, then waits for the next one. */
  const run = (): void => {
    timer = undefined;
    immediate = undefined;
    const now = performance.now();
    while (batches.length > 0 && batches[0]!.at <= now + 0.5) end(batches.shift()!);
    arm();
  };

  const arm = (): void => {
    const next = batches[0];
    if (next === undefined || timer !== undefined || immediate !== undefined) return;
    if (next.at === 0) immediate = setImmediate(run);
    else timer = setTimeout(run, Math.max(0, next.at - performance.now()));
  };

  const handle = (message: SoakMessage): Promise<void> => {
    let at = 0;
    if (interval > 0) {
      freeAt = Math.max(freeAt, performance.now()) + interval;
      at = Math.ceil(freeAt / tickMs) * tickMs;
    }
    let b = batches[batches.length - 1];
    if (b === undefined || b.at !== at) {
      let resolve!: () => void;
      const done = new Promise<void>((r) => {
        resolve = r;
      });
      b = { at, ids: [], stamps: [], done, resolve };
      batches.push(b);
      arm();
    }
    b.ids.push(message.id);
    b.stamps.push(message.t);
    inService++;
    return b.done;
  };

  // Every message in the window is in service at once: the pacing above is the server.
  const consumer = node.consume(queue, handle, { window, concurrency: window });

  serveSoak(node, {
    stats: (): SoakWorkerStats => ({
      handled,
      inService,
      window,
      latency: latency.data(),
      pid: process.pid,
      time: Date.now(),
    }),
  });

  return async () => {
    await consumer.close(); // waits for the batches in service, which keep ending on their grid
    clearTimeout(timer);
    if (immediate !== undefined) clearImmediate(immediate);
    closeSync(fd);
  };
}
