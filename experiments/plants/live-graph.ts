/**
 * The one live graph an experiment's runs share: opened on first use,
 * advertised in the per-user discovery file (core/discovery.ts; skipped
 * when ZMP_NO_ADVERTISE=1, as in tests), so `zmp graph` and `zmp tune` in
 * another terminal find it and follow its loops from one run to the next
 * instead of losing them when a run's plant closes. The experiment (or the
 * CLI) closes it at the end with `closeLiveGraph`.
 */
import { Graph } from "../../core/index.js";

let shared: Promise<Graph> | undefined;
let runs = 0;

/** The shared live graph, opened on the first call. */
export function liveGraph(): Promise<Graph> {
  shared ??= Graph.open({ heartbeatMs: 500 });
  return shared;
}

/** A number for the next run's node and queue names (`proxy-3`, `work-3`): unique within the shared graph. */
export function nextLiveRun(): number {
  return ++runs;
}

/** Closes the shared graph if one is open (its directory leaves the discovery file). Twice is a no-op. */
export async function closeLiveGraph(): Promise<void> {
  const open = shared;
  shared = undefined;
  if (open === undefined) return;
  const graph = await open.catch(() => undefined);
  await graph?.close();
}
