/**
 * A hostable node module running a topic proxy (args: TopicProxyOptions): start it in any host kind with
 * `graph.spawn(new URL("zmp/dist/toolbox/nodes/topic-proxy.js", …), { host, name, args })`
 * or `zmp run`. The node leaves the graph cleanly when stopped: the
 * teardown lets go of the channel before the node stops.
 */
import type { Node } from "../../core/node.js";
import { TopicProxy, type TopicProxyOptions } from "../proxy/topic-proxy.js";

export default async function topicProxyNode(
  node: Node,
  args: TopicProxyOptions,
): Promise<() => Promise<void>> {
  const running = await TopicProxy.start(node, args);
  return () => running.close();
}
