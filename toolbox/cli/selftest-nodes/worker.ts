/**
 * A `zmp selftest` node, run in a worker thread: counts the messages it
 * receives on `args.topic` and handles from `args.queue` (with the sum of
 * their numbers, so loss and duplicates both show), reports them with
 * `selftest.counts`, tells where it runs with `selftest.whoami`, and calls a
 * service on another node for the caller with `selftest.forward`.
 */
import { threadId } from "node:worker_threads";
import type { Node } from "../../../core/node.js";

export interface WorkerArgs {
  topic: string;
  queue: string;
  /** Credit window granted to each producer. */
  window: number;
}

/** What `selftest.counts` answers. */
export interface WorkerCounts {
  received: number;
  receivedSum: number;
  handled: number;
  handledSum: number;
}

export default function worker(node: Node, args: WorkerArgs): () => Promise<void> {
  const counts: WorkerCounts = { received: 0, receivedSum: 0, handled: 0, handledSum: 0 };
  const subscription = node.subscribe<number>(args.topic);
  const reading = (async () => {
    for await (const { data } of subscription) {
      counts.received++;
      counts.receivedSum += data;
    }
  })();
  const consumer = node.consume<number>(
    args.queue,
    (message) => {
      counts.handled++;
      counts.handledSum += message;
    },
    { window: args.window },
  );
  node.provide("selftest.counts", () => counts);
  node.provide("selftest.whoami", () => ({ node: node.name, pid: process.pid, threadId }));
  node.provide(
    "selftest.forward",
    ({ service, node: target, request }: { service: string; node: string; request: unknown }) =>
      node.call(service, request, { node: target, timeoutMs: 2000 }),
  );
  return async () => {
    subscription.close();
    await reading;
    await consumer.close();
  };
}
