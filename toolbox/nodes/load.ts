/**
 * A load generator as a hostable node module: pushes onto a queue, calls a
 * service and/or publishes on a topic, each `rate` times a second, so a graph
 * has traffic to watch while proxies and caches come and go
 * (`zmp run toolbox/nodes/load.ts --name load --args '{"queue":"jobs"}'`).
 *
 * What it sent and what failed is in its meters (`zmp stats load`): pushes
 * wait for the worker's acknowledgement (`confirm`), so the queue's backlog
 * and errors there are end to end; calls count their errors; a call or push
 * that fails is also reported on stderr.
 */
import type { Node } from "../../core/node.js";
import { checkName } from "../../core/record.js";
import { checkOptions, positive } from "../control/validate.js";

/** Arguments of the load generator (plain data). */
export interface LoadArgs {
  /** Queue to push onto (a counter 0, 1, 2… as the message). */
  queue?: string;
  /** Service to call (with `request`). */
  service?: string;
  /** Request sent to `service`. Default: the counter. */
  request?: unknown;
  /** Topic to publish on (the counter as the message). */
  topic?: string;
  /** Operations per second on each channel given. Default 100. */
  rate?: number;
}

export default function load(node: Node, args: LoadArgs = {}): () => Promise<void> {
  const o = checkOptions(args, ["queue", "service", "request", "topic", "rate"], "load arguments");
  const queue = o.queue === undefined ? undefined : checkName(o.queue, "queue");
  const service = o.service === undefined ? undefined : checkName(o.service, "service");
  const topic = o.topic === undefined ? undefined : checkName(o.topic, "topic");
  if (queue === undefined && service === undefined && topic === undefined)
    throw new TypeError("Expected at least one of `queue`, `service`, `topic` in the load arguments");
  const rate = positive("rate", o.rate, 100);
  if (topic !== undefined) node.advertise(topic);
  const pending = new Set<Promise<unknown>>();
  const track = (what: string, p: Promise<unknown>): void => {
    const tracked = p.catch((error: unknown) => {
      process.stderr.write(`load ${node.name}: ${what} failed: ${(error as Error).message}\n`);
    });
    pending.add(tracked);
    void tracked.finally(() => pending.delete(tracked));
  };
  let n = 0;
  const started = performance.now();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const tick = (): void => {
    // Catch up to the schedule: `rate` per second on average however late the timer fires.
    const due = Math.floor(((performance.now() - started) / 1000) * rate);
    for (; n < due; n++) {
      if (queue !== undefined) track(`push ${n}`, node.push(queue, n, { confirm: true }));
      if (service !== undefined)
        track(`call ${n}`, node.call(service, o.request === undefined ? n : o.request));
      if (topic !== undefined) node.publish(topic, n);
    }
    timer = setTimeout(tick, Math.max(1, Math.min(100, 1000 / rate)));
  };
  tick();
  return async () => {
    clearTimeout(timer);
    await Promise.all(pending);
  };
}
