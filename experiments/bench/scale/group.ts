/**
 * A group of the scale bench: many inline nodes in one thread, joining the
 * graph of a directory that runs elsewhere. A host process runs one group
 * in its main thread and the others in worker threads (group-worker.ts),
 * so a graph of a thousand nodes spreads over a few processes and threads.
 */
import { writeFileSync } from "node:fs";
import { Session } from "node:inspector";
import { monitorEventLoopDelay, PerformanceObserver } from "node:perf_hooks";
import { threadId } from "node:worker_threads";
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
    if (process.env.ZMP_SCALE_DEBUG) this.#debug();
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

  /** ZMP_SCALE_DEBUG: the thread's event-loop delay and its nodes, every 5 s. */
  #debug(): void {
    const delay = monitorEventLoopDelay({ resolution: 10 });
    delay.enable();
    let last = process.cpuUsage();
    let gcMs = 0;
    let gcMax = 0;
    new PerformanceObserver((list) => {
      for (const entry of list.getEntries()) {
        gcMs += entry.duration;
        gcMax = Math.max(gcMax, entry.duration);
      }
    }).observe({ entryTypes: ["gc"] });
    // ZMP_SCALE_PROFILE=dir: this thread's CPU profile over its first 40 s.
    const dir = process.env.ZMP_SCALE_PROFILE;
    if (dir) {
      const session = new Session();
      session.connect();
      session.post("Profiler.enable", () =>
        session.post("Profiler.start", () => {
          setTimeout(() => {
            session.post("Profiler.stop", (error, result) => {
              if (!error)
                writeFileSync(
                  `${dir}/group-${process.pid}-${threadId}.cpuprofile`,
                  JSON.stringify(result.profile),
                );
            });
          }, 40_000).unref();
        }),
      );
    }
    setInterval(() => {
      const cpu = process.cpuUsage();
      const busy = (cpu.user + cpu.system - last.user - last.system) / 50_000;
      last = cpu;
      process.stderr.write(
        `group ${threadId}: ${this.#nodes.length} nodes, loop delay p50 ${(delay.percentile(50) / 1e6).toFixed(0)} ms, p99 ${(delay.percentile(99) / 1e6).toFixed(0)} ms, max ${(delay.max / 1e6).toFixed(0)} ms; GC ${gcMs.toFixed(0)} ms (longest ${gcMax.toFixed(0)}); heap ${(process.memoryUsage().heapUsed / 2 ** 20).toFixed(0)} MiB; process CPU ${busy.toFixed(0)} %\n`,
      );
      delay.reset();
      gcMs = 0;
      gcMax = 0;
    }, 5000).unref();
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
