/**
 * The topic forwarder's former names, kept only until `node.ts` imports
 * `forwarder.js` (its owner renames `Node.relay()` to `Node.forward()` then);
 * nothing else may import this file.
 */
export {
  type ForwarderLink as RelayLink,
  type ForwarderStats as RelayStats,
  TopicForwarder as TopicRelay,
} from "./forwarder.js";
