/**
 * A hostable node module running a service cache (args: ServiceCacheOptions): start it in any host kind with
 * `graph.spawn(new URL("zmp/dist/toolbox/nodes/service-cache.js", …), { host, name, args })`
 * or `zmp run`. The node leaves the graph cleanly when stopped: the
 * teardown lets go of the channel before the node stops.
 */
import type { Node } from "../../core/node.js";
import { ServiceCache, type ServiceCacheOptions } from "../cache/service-cache.js";

export default async function serviceCacheNode(
  node: Node,
  args: ServiceCacheOptions,
): Promise<() => Promise<void>> {
  const running = await ServiceCache.start(node, args);
  return () => running.close();
}
