/** Caches you can drop into a running graph: a service cache and a last-value cache for topics. */
export { HitWindow } from "./hit-window.js";
export { cacheKey, canonical } from "./key.js";
export {
  LastValueCache,
  type LastValueCacheOptions,
  type LastValueCacheStats,
} from "./last-value.js";
export { type LruEntry, type LruOptions, LruStore } from "./lru.js";
export {
  type Invalidation,
  ServiceCache,
  type ServiceCacheOptions,
  type ServiceCacheStats,
} from "./service-cache.js";
