/**
 * A hostable node module running a service proxy (args: ServiceProxyOptions): start it in any host kind with
 * `graph.spawn(new URL("zmp/dist/toolbox/nodes/service-proxy.js", …), { host, name, args })`
 * or `zmp run`. The node leaves the graph cleanly when stopped: the
 * teardown lets go of the channel before the node stops.
 */
import type { Node } from "../../core/node.js";
import { ServiceProxy, type ServiceProxyOptions } from "../proxy/service-proxy.js";

export default async function serviceProxyNode(
  node: Node,
  args: ServiceProxyOptions,
): Promise<() => Promise<void>> {
  const running = await ServiceProxy.start(node, args);
  return () => running.close();
}
