/**
 * A group of the scale bench: many inline nodes in one thread, joining the
 * graph of a directory that runs elsewhere. A host process runs one group
 * in its main thread and the others in worker threads (group-worker.ts),
 * so a graph of a thousand nodes spreads over a few processes and threads.
 */
import * as zmq from "zeromq";
import { Graph, type Node } from "../../../core/index.js";

/** What a group reports once its nodes are started. */
export interface Formed {
  /** When the last of its nodes was listed (epoch ms). */
  formedAt: number;
  /** How long each node's `start()` took, ms. */
  startMs: number[];
}

/** Nodes of one group start at most this many at a time (as a launcher of many nodes would). */
const STARTING = 64;

export class ScaleGroup {
  #graph: Graph | undefined;
  readonly #nodes: Node[] = [];

  /** Starts one node per name in the graph of `directory`. */
  async form(directory: string, names: string[]): Promise<Formed> {
    // Four or five ZeroMQ sockets per node: past libzmq's default of 1 023 per context.
    zmq.context.maxSockets = 65_536;
    this.#graph = await Graph.open({ directory, advertise: false });
    const graph = this.#graph;
    const startMs: number[] = [];
    let next = 0;
    const starter = async (): Promise<void> => {
      while (next < names.length) {
        const name = names[next++]!;
        const t = performance.now();
        this.#nodes.push(await graph.node(name, { startTimeoutMs: 300_000 }));
        startMs.push(performance.now() - t);
      }
    };
    await Promise.all(Array.from({ length: Math.min(STARTING, names.length) }, starter));
    return { formedAt: performance.timeOrigin + performance.now(), startMs };
  }

  /** Resolves (epoch ms) once every node of the group lists at least `total` nodes in its replica. */
  async seen(total: number, timeoutMs = 120_000): Promise<number> {
    const deadline = performance.now() + timeoutMs;
    let report = performance.now() + 5000;
    while (this.#nodes.some((n) => n.nodes().length < total)) {
      // ZMP_SCALE_DEBUG: how far behind the group is, every 5 s.
      if (process.env.ZMP_SCALE_DEBUG && performance.now() > report) {
        report += 5000;
        const counts = this.#nodes.map((n) => n.nodes().length);
        process.stderr.write(
          `group: ${counts.filter((c) => c < total).length} lagging, min ${Math.min(...counts)}\n`,
        );
      }
      if (performance.now() > deadline)
        throw new Error(`nodes did not see all ${total} nodes within ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    return performance.timeOrigin + performance.now();
  }

  /** Stops every node and leaves the graph. */
  async close(): Promise<void> {
    await this.#graph?.close();
    this.#graph = undefined;
  }
}

/** A command to a group, and its answer. */
export type GroupCommand =
  | { op: "form"; directory: string; names: string[] }
  | { op: "seen"; total: number }
  | { op: "close" };

export function runCommand(group: ScaleGroup, command: GroupCommand): Promise<unknown> {
  switch (command.op) {
    case "form":
      return group.form(command.directory, command.names);
    case "seen":
      return group.seen(command.total);
    case "close":
      return group.close();
  }
}
