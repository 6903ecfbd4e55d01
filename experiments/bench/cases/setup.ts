/** What the cases share: a graph and a temp folder for raw ipc sockets, both closed by the case's cleanup. */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Graph, keyPair } from "../../../core/index.js";
import type { Cleanup } from "../cleanup.js";

/**
 * A graph with an embedded directory, not advertised to the CLI; closed by
 * `cleanup`. With `curve`, a secured graph: every connection runs CurveZMQ
 * (what a tcp graph does by default). Without, a tcp graph runs `insecure`:
 * the plain rows compare zmp with raw sockets, both in plain text.
 */
export async function benchGraph(transport: "ipc" | "tcp", cleanup: Cleanup, curve = false): Promise<Graph> {
  const graph = await Graph.open({
    transport,
    advertise: false,
    ...(curve ? { security: keyPair() } : transport === "tcp" ? { insecure: true } : {}),
  });
  cleanup.add("zmp graph", () => graph.close());
  return graph;
}

/** A private folder for raw ipc socket files; removed by `cleanup` (or, once this process is gone, by the next Graph.open). */
export function rawDir(cleanup: Cleanup): string {
  const dir = mkdtempSync(join(tmpdir(), `zmp-${process.pid}-`));
  cleanup.add("raw ipc folder", () => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A message of `size` bytes (zmp sends it as its message, raw as the frame). */
export function payload(size: number): Buffer {
  return Buffer.alloc(size, 0x5a);
}
