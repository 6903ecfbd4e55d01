/**
 * A queue worker as a hostable node module: it pulls messages from a queue
 * and "works" on each for a random service time, one message at a time (a
 * server of an M/M/c queue), so a pool of these is a real worker pool with a
 * known, adjustable capacity for live experiments and tests.
 *
 * ```ts
 * await graph.spawn(new URL("./queue-worker.ts", import.meta.url), {
 *   name: "worker-1", host: "process", args: { queue: "jobs", rate: 25, seed: 1 },
 * });
 * await node.call("worker-1.control", { op: "set", speed: 0.5 }); // capacity halves
 * ```
 *
 * Its control service `<node name>.control` (the steering convention of
 * toolbox/loop/steering.ts) reads and changes the worker while it runs:
 * `{ op: "stats" }` and `{ op: "set", rate?, serviceTimeMs?, speed?, window? }`
 * both reply with a {@link QueueWorkerState}.
 *
 * Service times are drawn from a seeded generator with mean
 * `serviceTimeMs / speed` when the message starts. Timers fire late by a
 * millisecond or so; a worker that goes straight from one message to the
 * next starts the next one when the previous was due, not when its timer
 * fired, so the lateness does not eat into the capacity.
 */
import type { Node } from "../../core/index.js";
// Single files, not the barrel: the barrel pulls in mathjs, seconds of start-up for every worker process.
import { checkShape, type DistributionShape, Random, sampleWithMean } from "../control/random.js";
import { checkKeys, checkNumber, fail, positive } from "../control/validate.js";
import { between, integerBetween, MAX_SPEED, MAX_WINDOW, MIN_SPEED } from "../limits.js";
import { serveControl } from "../steering.js";

/** Arguments of the queue worker (plain data, they cross to the host). */
export interface QueueWorkerArgs {
  /** Queue to pull from. Required. */
  queue: string;
  /** Messages per second at speed 1 (mean service time 1000/rate ms). Default 25; exclusive with `serviceTimeMs`. */
  rate?: number;
  /** Mean service time at speed 1, ms. Default 40; exclusive with `rate`. */
  serviceTimeMs?: number;
  /** Speed factor: the mean service time is divided by it (0.5 halves the capacity). Default 1. */
  speed?: number;
  /** Shape of the service-time distribution. Default exponential. */
  service?: DistributionShape;
  /** Credit window granted to each producer (see `QueueReader.window`). Default 1 000. */
  window?: number;
  /** Seed of the service times. Default 1. */
  seed?: number;
  /**
   * Takes no work before this many ms after its process (or thread) started:
   * a slow start-up on top of the host's own. Default 0.
   */
  startDelayMs?: number;
}

/** What the control service replies: the settings in force and the counters. */
export interface QueueWorkerState {
  queue: string;
  /** Messages per second at speed 1. */
  rate: number;
  /** Mean service time at speed 1, ms. */
  serviceTimeMs: number;
  speed: number;
  /** Credit window granted to each producer. */
  window: number;
  /** Messages handled. */
  handled: number;
  /** Time spent serving messages, ms (the message in service counted up to now). */
  busyMs: number;
  /** Time since the worker started taking work, ms. */
  upMs: number;
  /** When the state was read, ms since the epoch. */
  time: number;
}

const argKeys = ["queue", "rate", "serviceTimeMs", "speed", "service", "window", "seed", "startDelayMs"];
const controlKeys = ["rate", "serviceTimeMs", "speed", "window"];

/** A worker window: a positive integer. */
function windowOf(value: unknown): number {
  return checkNumber("window", value, "a positive integer", (v) => Number.isInteger(v) && v >= 1);
}

/** Hostable node module: pulls `args.queue` and serves each message for a random time. */
export default async function queueWorker(node: Node, args: QueueWorkerArgs): Promise<() => Promise<void>> {
  if (args === null || typeof args !== "object") fail("args", "an object", args, true);
  checkKeys("queue worker", args, argKeys);
  if (typeof args.queue !== "string") fail("queue", "a queue name", args.queue, true);
  if (args.rate !== undefined && args.serviceTimeMs !== undefined)
    fail("serviceTimeMs", "omitted when `rate` is given", args.serviceTimeMs);
  let meanMs =
    args.serviceTimeMs !== undefined
      ? positive("serviceTimeMs", args.serviceTimeMs)
      : 1000 / positive("rate", args.rate ?? 25);
  let speed = positive("speed", args.speed ?? 1);
  const shape = checkShape("service", args.service ?? { kind: "exponential" });
  const random = new Random(checkNumber("seed", args.seed ?? 1, "a finite number", Number.isFinite));
  const startDelayMs = checkNumber(
    "startDelayMs",
    args.startDelayMs ?? 0,
    "a non-negative number",
    (v) => v >= 0,
  );
  const window = windowOf(args.window ?? 1000);

  let handled = 0;
  let busyMs = 0;
  /** The message in service: when it (virtually) started and how long it takes, ms. */
  let current: { start: number; length: number } | undefined;
  /** When the previous message was due to end, and whether the next one follows it straight away. */
  let freeAt = 0;
  let continuing = false;
  const timers = new Set<ReturnType<typeof setTimeout>>();

  const serve = (): Promise<void> => {
    const now = performance.now();
    const start = continuing ? Math.min(now, freeAt) : now;
    const length = sampleWithMean(random, shape, meanMs / speed);
    current = { start, length };
    freeAt = start + length;
    return new Promise((resolve) => {
      const timer = setTimeout(
        () => {
          timers.delete(timer);
          busyMs += length;
          handled++;
          current = undefined;
          // Set until the end of this turn: the consumer starts a waiting message in it.
          continuing = true;
          setImmediate(() => {
            continuing = false;
          });
          resolve();
        },
        Math.max(0, freeAt - now),
      );
      timers.add(timer);
    });
  };

  const wait = startDelayMs - performance.now();
  if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
  const upSince = performance.now();
  const consumer = node.consume(args.queue, serve, { window });

  const state = (): QueueWorkerState => {
    const now = performance.now();
    return {
      queue: args.queue,
      rate: 1000 / meanMs,
      serviceTimeMs: meanMs,
      speed,
      window: consumer.window,
      handled,
      busyMs: busyMs + (current ? Math.min(current.length, Math.max(0, now - current.start)) : 0),
      upMs: now - upSince,
      time: Date.now(),
    };
  };

  const stopServing = serveControl(node, node.name, `worker:${args.queue}`, {
    stats: () => state(),
    set: (r) => {
      checkKeys("queue worker settings", r, controlKeys);
      if (r.rate !== undefined && r.serviceTimeMs !== undefined)
        fail("serviceTimeMs", "omitted when `rate` is given", r.serviceTimeMs);
      // Check everything before changing anything. The bounds keep a service time
      // (≤ 1e6 ms at speed 0.001: 1e9 ms) within what a timer can wait.
      const next = {
        meanMs:
          r.rate !== undefined
            ? 1000 / between("rate", r.rate, 1e-3, 1e6, " msg/s")
            : r.serviceTimeMs !== undefined
              ? between("serviceTimeMs", r.serviceTimeMs, 1e-3, 1e6, " ms")
              : meanMs,
        speed: r.speed !== undefined ? between("speed", r.speed, MIN_SPEED, MAX_SPEED) : speed,
        window: r.window !== undefined ? integerBetween("window", r.window, 1, MAX_WINDOW) : undefined,
      };
      meanMs = next.meanMs;
      speed = next.speed;
      if (next.window !== undefined && next.window !== consumer.window) consumer.window = next.window;
      return state();
    },
  });

  return async () => {
    stopServing();
    await consumer.close();
    for (const timer of timers) clearTimeout(timer);
  };
}
