/**
 * The soak's queue proxy, a hostable node module: toolbox's `QueueProxy`
 * (admission, shedding to a dead-letter topic, end-to-end acknowledgements,
 * steering on `<name>.control`) plus what the harness needs to account
 * exactly, on `<name>.soak`:
 *
 * - `{ op: "subscribers" }` resolves once the dead-letter topic has a
 *   subscriber connected, so no shed message is published before the
 *   harness can see it;
 * - `{ op: "credit" }` replies with the messages the proxy has in flight at
 *   each worker (node name → unacknowledged, window), read just before a
 *   worker is killed.
 */
import type { Node } from "../../core/index.js";
import { QueueProxy, type QueueProxyOptions } from "../../toolbox/proxy/queue-proxy.js";
import { serveSoak } from "./service.js";

/** In flight at one worker, as the proxy sees it. */
export interface WorkerCredit {
  /** Node name of the worker. */
  worker: string;
  window: number;
  /** Sent and not yet acknowledged. */
  inflight: number;
}

export default async function soakProxy(node: Node, args: QueueProxyOptions): Promise<() => Promise<void>> {
  const proxy = await QueueProxy.start(node, args);
  const deadLetter = args.deadLetter;
  serveSoak(node, {
    subscribers: async () => {
      if (deadLetter !== undefined) await node.waitForSubscribers(deadLetter, { timeoutMs: 10_000 });
      return { ok: true };
    },
    credit: (): WorkerCredit[] => {
      const names = new Map(node.nodes().map((n) => [n.id, n.name]));
      return node.credit(proxy.queue).map((c) => ({
        worker: names.get(c.puller) ?? c.puller,
        window: c.window,
        inflight: c.inflight,
      }));
    },
  });
  return () => proxy.close();
}
