/**
 * A `zmp selftest` node: a service provider. `selftest.echo` answers with the
 * request and where it ran, `selftest.fail` always throws a TypeError (to
 * check RemoteError), `selftest.sleep` answers after `ms` (to check timeouts
 * and a provider killed mid-call), or at once when the node stops, so a
 * sleep the caller gave up on does not hold the stop up.
 */
import { threadId } from "node:worker_threads";
import type { Node } from "../../../core/node.js";

export default function provider(node: Node): () => void {
  const sleepers = new Set<() => void>();
  node.provide("selftest.echo", (request: unknown) => ({
    request,
    node: node.name,
    pid: process.pid,
    threadId,
  }));
  node.provide("selftest.fail", () => {
    throw new TypeError("selftest.fail always fails");
  });
  node.provide("selftest.sleep", async ({ ms }: { ms: number }) => {
    await new Promise<void>((resolve) => {
      const wake = (): void => {
        clearTimeout(timer);
        sleepers.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      sleepers.add(wake);
    });
    return ms;
  });
  return () => {
    for (const wake of [...sleepers]) wake();
  };
}
