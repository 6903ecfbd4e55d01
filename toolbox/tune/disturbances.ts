/**
 * Disturbances the tuning page can apply to the plant under a loop:
 *
 * - a capacity step: every queue worker of the loop's queue
 *   (toolbox/nodes/queue-worker.ts) gets a new `speed` over its control
 *   service (`speed: 0.5` halves the capacity);
 * - a burst: extra messages pushed onto the loop's queue, offered only when a
 *   load generator already feeds that queue (a node pushing onto it), so the
 *   burst lands where the regular load does — through the queue proxy when
 *   one fronts the queue. The load generator (toolbox/nodes/load.ts) has no
 *   control service, so the tuning server's own node pushes the burst.
 *
 * Workers are the nodes pulling the queue whose control service lists a
 * `worker:<queue>`; producers are the nodes (other than a front of the queue
 * and the server's own) whose meters show pushes onto it.
 */
import type { Node, NodeRecord } from "../../core/index.js";
import { statsOf } from "../loop/sensor.js";
import type { QueueWorkerState } from "../nodes/queue-worker.js";
import { callControl, controlService } from "../steering.js";

/** What the page can disturb, as found in the graph. */
export interface DisturbanceTargets {
  /** The queue acted on, or null when the loop's queue is unknown (then no disturbance is offered). */
  queue: string | null;
  /** The queue's workers and their speed now. */
  workers: { name: string; speed: number }[];
  /** Nodes feeding the queue (load generators); a burst is offered when there is one. */
  producers: string[];
}

/** Finds the workers and producers of `queue` among the records (see the module comment). */
export async function findTargets(
  node: Node,
  queue: string | null,
  timeoutMs: number,
): Promise<DisturbanceTargets> {
  if (queue === null) return { queue, workers: [], producers: [] };
  const records = node.nodes();
  const pullers = records.filter(
    (r) => r.queues.some((q) => q.name === queue) && r.services.includes(controlService(r.name)),
  );
  const workers = (
    await Promise.all(
      pullers.map(async (r) => {
        try {
          const list = await callControl<{ kind: string; name: string }[]>(
            node,
            r.name,
            { op: "list" },
            timeoutMs,
          );
          if (!list.some((e) => e.kind === "worker" && e.name === queue)) return null;
          const state = await callControl<QueueWorkerState>(node, r.name, { op: "stats" }, timeoutMs);
          return { name: r.name, speed: state.speed };
        } catch {
          return null; // gone, or not a worker: not offered
        }
      }),
    )
  ).filter((w): w is { name: string; speed: number } => w !== null);
  const fronts = (r: NodeRecord): boolean => r.fronts.some((f) => f.kind === "queue" && f.name === queue);
  const candidates = records.filter((r) => r.name !== node.name && !fronts(r));
  const producers = (
    await Promise.all(
      candidates.map(async (r) => {
        try {
          const stats = await statsOf(node, r.name, timeoutMs);
          return (stats.pushed[queue]?.messagesOut ?? 0) > 0 ? r.name : null;
        } catch {
          return null;
        }
      }),
    )
  ).filter((p): p is string => p !== null);
  workers.sort((a, b) => a.name.localeCompare(b.name));
  producers.sort();
  return { queue, workers, producers };
}

/** Sets every worker's speed; resolves with the speed each one reports (a worker that failed is left out). */
export async function setWorkerSpeed(
  node: Node,
  workers: readonly string[],
  speed: number,
  timeoutMs: number,
): Promise<{ name: string; speed: number }[]> {
  const replies = await Promise.allSettled(
    workers.map((name) => callControl<QueueWorkerState>(node, name, { op: "set", speed }, timeoutMs)),
  );
  return replies.flatMap((r, k) =>
    r.status === "fulfilled" ? [{ name: workers[k]!, speed: r.value.speed }] : [],
  );
}

/**
 * Pushes `count` messages (`{ burst: k }`) onto `queue` from `node`, in
 * chunks that wait for acceptance (a full queue makes it wait, never throw);
 * resolves when all are accepted, not handled.
 */
export async function pushBurst(node: Node, queue: string, count: number): Promise<void> {
  const chunk = 256;
  for (let k = 0; k < count; k += chunk) {
    const sends: Promise<void>[] = [];
    for (let j = k; j < Math.min(count, k + chunk); j++) sends.push(node.push(queue, { burst: j }));
    await Promise.all(sends);
  }
}
