/**
 * A hostable node module running a last-value cache for topics (args: LastValueCacheOptions): start it in any host kind with
 * `graph.spawn(new URL("zmp/dist/toolbox/nodes/last-value-cache.js", …), { host, name, args })`
 * or `zmp run`. The node leaves the graph cleanly when stopped: the
 * teardown lets go of the channel before the node stops.
 */
import type { Node } from "../../core/node.js";
import { LastValueCache, type LastValueCacheOptions } from "../cache/last-value.js";

export default async function lastValueCacheNode(
  node: Node,
  args: LastValueCacheOptions,
): Promise<() => Promise<void>> {
  const running = await LastValueCache.start(node, args);
  return () => running.close();
}
