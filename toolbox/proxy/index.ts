/** Proxies you can drop into a running graph: service, queue (broker) and topic, with steering and a tap. */
export {
  QueueProxy,
  type QueueProxyOptions,
  type QueueProxyStats,
} from "./queue-proxy.js";
export {
  type DirectionStats,
  ServiceProxy,
  type ServiceProxyOptions,
  type ServiceProxyStats,
} from "./service-proxy.js";
export { type TapOptions, type TapStats, tapTopic } from "./tap.js";
export { TokenBucket, type TokenBucketOptions } from "./token-bucket.js";
export { TopicProxy, type TopicProxyOptions, type TopicProxyStats } from "./topic-proxy.js";
