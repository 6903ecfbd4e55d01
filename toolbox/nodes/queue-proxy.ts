/**
 * A hostable node module running a queue proxy, the broker (args: QueueProxyOptions): start it in any host kind with
 * `graph.spawn(new URL("zmp/dist/toolbox/nodes/queue-proxy.js", …), { host, name, args })`
 * or `zmp run`. The node leaves the graph cleanly when stopped: the
 * teardown lets go of the channel before the node stops.
 */
import type { Node } from "../../core/node.js";
import { QueueProxy, type QueueProxyOptions } from "../proxy/queue-proxy.js";

export default async function queueProxyNode(
  node: Node,
  args: QueueProxyOptions,
): Promise<() => Promise<void>> {
  const running = await QueueProxy.start(node, args);
  return () => running.close();
}
