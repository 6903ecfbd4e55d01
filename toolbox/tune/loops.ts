/**
 * Finding the feedback loops of a graph from its directory: a loop publishes
 * on `loop/<name>/samples` (it advertises the topic when it starts) and
 * serves `<name>.control`, so the nodes' records name every running loop
 * without calling anything.
 */
import type { NodeRecord } from "../../core/index.js";
import { loopTopic } from "../loop/feedback-loop.js";
import { controlService } from "../steering.js";

/** A loop found in the directory. */
export interface LoopInfo {
  /** The loop's name. */
  name: string;
  /** The node running it. */
  node: string;
  /** Its control service, `<name>.control`. */
  service: string;
  /** Its samples topic, `loop/<name>/samples`. */
  topic: string;
}

const SAMPLES = /^loop\/(.+)\/samples$/;

/** The loops the records list (a `loop/<name>/samples` topic and a `<name>.control` service on one node), by name. */
export function findLoops(records: readonly NodeRecord[]): LoopInfo[] {
  const loops = new Map<string, LoopInfo>();
  for (const record of records) {
    for (const topic of record.topics) {
      const name = SAMPLES.exec(topic)?.[1];
      if (name === undefined || loops.has(name)) continue;
      const service = controlService(name);
      if (!record.services.includes(service)) continue;
      loops.set(name, { name, node: record.name, service, topic: loopTopic(name) });
    }
  }
  return [...loops.values()].sort((a, b) => a.name.localeCompare(b.name));
}

/**
 * The queue a loop's sensor reads, from its description (`backlog of queue
 * jobs at proxy proxy`, `backlog of queue jobs at producer`), or null.
 */
export function queueOfSensor(description: string): string | null {
  return /\bqueue (\S+)/.exec(description)?.[1] ?? null;
}
