/**
 * A `zmp selftest` node: publishes numbered messages on `args.topic` and
 * pushes numbered messages onto `args.queue` when asked (`selftest.publish`,
 * `selftest.push` with `{ n, peers }`), once `peers` subscribers or pullers
 * are connected, so the receivers can count exactly.
 */
import type { Node } from "../../../core/node.js";

export interface SourceArgs {
  topic: string;
  queue: string;
}

/** Longest wait for the subscribers or pullers, ms. */
const WAIT_MS = 5000;

export default function source(node: Node, args: SourceArgs): void {
  node.advertise(args.topic);
  node.provide("selftest.publish", async ({ n, peers }: { n: number; peers: number }) => {
    await node.waitForSubscribers(args.topic, { subscribers: peers, timeoutMs: WAIT_MS });
    for (let i = 1; i <= n; i++) {
      node.publish(args.topic, i);
      // Let each turn's batch leave before the next: a burst beyond the high-water mark would drop.
      if (i % 200 === 0) await new Promise((resolve) => setImmediate(resolve));
    }
    return n;
  });
  node.provide("selftest.push", async ({ n, peers }: { n: number; peers: number }) => {
    const deadline = Date.now() + WAIT_MS;
    const pullers = (): number =>
      node.nodes().filter((r) => r.queues.some((q) => q.name === args.queue)).length;
    while (pullers() < peers) {
      if (Date.now() > deadline)
        throw new Error(`saw ${pullers()} of ${peers} pullers of \`${args.queue}\` after ${WAIT_MS} ms`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    for (let i = 1; i <= n; i++) await node.push(args.queue, i);
    return n;
  });
}
