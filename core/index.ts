/** `zmp/core`: nodes and channels on ZeroMQ. Knows nothing of the toolbox. */
export { decode, encode } from "./codec.js";
export { Directory, type DirectoryOptions } from "./directory.js";
export type { DirectoryLimits } from "./directory-limits.js";
export { findDirectory } from "./discovery.js";
export { checkEndpoint, TRANSPORTS, type Transport } from "./endpoint.js";
export {
  BusyError,
  ClosedError,
  CodecError,
  ForbiddenError,
  HostExitError,
  LimitError,
  NameTakenError,
  PeerLostError,
  ProtocolError,
  RemoteError,
  SecurityError,
  TimeoutError,
  UnknownServiceError,
  ZmpError,
} from "./errors.js";
export type { FaultCounts, Faults } from "./faults.js";
export type { ForwarderStats, Tap, TopicForwarder } from "./forwarder.js";
export { Graph, type GraphOptions, type SpawnOptions } from "./graph.js";
export { type ExitInfo, HostedNode } from "./host.js";
export type { NodeInit, Teardown } from "./host-run.js";
export type { ChannelStats } from "./meter.js";
export { Node, type NodeState } from "./node.js";
export { metersTopic, type NodeStats, type RejectCounts } from "./node-meters.js";
export type { NodeOptions, TraceMode } from "./node-options.js";
export type { ConsumeOptions, PullOptions, PushOptions, QueueContext, QueueHandler } from "./queue.js";
export type { QueueConsumer } from "./queue-consumer.js";
export type { QueueReader } from "./queue-reader.js";
export type { FrontRecord, HostKind, NodeRecord, QueueRecord } from "./record.js";
export { keyPair, type SecurityOptions } from "./security.js";
export type { CallContext, CallOptions, Handler, ProvideOptions } from "./service.js";
export type { SubscribeOptions, Subscription, TopicMessage } from "./topic.js";
