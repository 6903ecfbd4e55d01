/**
 * `zmp cache`: drop a service cache or a topic last-value cache into a
 * running graph from another terminal, steer it, and take it out again with
 * Ctrl-C.
 */
import { LastValueCache } from "../cache/last-value.js";
import { ServiceCache } from "../cache/service-cache.js";
import { nameArgument, UsageError } from "./command.js";
import {
  familyCommand,
  integerFlag,
  nonNegativeFlag,
  optional,
  positiveFlag,
  type Runnable,
} from "./standalone.js";

const runnables: Record<string, Runnable> = {
  service: {
    family: "cache",
    what: "service cache",
    usage:
      "zmp cache service NAME [--capacity 1000] [--max-bytes B] [--ttl-ms MS] [--cache-errors] [--invalidate-on TOPIC] [--timeout-ms MS]",
    options: [
      ["NAME", "the service whose replies to cache"],
      ["--capacity N", "most entries held (default 1000; Infinity for no limit)"],
      ["--max-bytes B", "most bytes of replies held, encoded (default Infinity)"],
      ["--ttl-ms MS", "how long a reply is served from memory (default: until evicted or invalidated)"],
      ["--cache-errors", "also cache the provider's own errors, like replies"],
      [
        "--invalidate-on TOPIC",
        "messages on TOPIC invalidate entries (a string: a key prefix; or { key }, { prefix }, { request }, { all: true })",
      ],
      ["--timeout-ms MS", "timeout of each backend call (default: the node's callTimeoutMs)"],
    ],
    tap: false,
    flags: {
      capacity: { type: "string" },
      "max-bytes": { type: "string" },
      "ttl-ms": { type: "string" },
      "cache-errors": { type: "boolean" },
      "invalidate-on": { type: "string" },
      "timeout-ms": { type: "string" },
    },
    channel: "service",
    prepare: (service, v, tap) => {
      if (tap !== undefined)
        throw new UsageError("a service cache has no tap (put a proxy in front to tap calls)");
      const topic =
        v["invalidate-on"] === undefined ? undefined : nameArgument(v["invalidate-on"], "--invalidate-on");
      const options = {
        service,
        ...optional("capacity", nonNegativeFlag(v.capacity, "capacity")),
        ...optional("maxBytes", nonNegativeFlag(v["max-bytes"], "max-bytes")),
        ...optional("ttlMs", positiveFlag(v["ttl-ms"], "ttl-ms")),
        ...(v["cache-errors"] === true ? { cacheErrors: true } : {}),
        ...optional("invalidationTopic", topic),
        ...optional("timeoutMs", positiveFlag(v["timeout-ms"], "timeout-ms")),
      };
      return (node) => ServiceCache.start(node, options);
    },
  },
  topic: {
    family: "cache",
    what: "last-value cache",
    usage: "zmp cache topic PREFIX [--max-topics 10000]",
    options: [
      ["PREFIX", "the topics whose last value to keep and replay to new subscribers"],
      [
        "--max-topics N",
        "most topics remembered, the least recently published forgotten first (default 10000)",
      ],
    ],
    tap: false,
    flags: { "max-topics": { type: "string" } },
    channel: "prefix",
    prepare: (prefix, v, tap) => {
      if (tap !== undefined)
        throw new UsageError("a last-value cache has no tap (use `zmp proxy topic --tap`)");
      const maxTopics = integerFlag(v["max-topics"], "max-topics", 1);
      return (node) => LastValueCache.start(node, { prefix, ...optional("maxTopics", maxTopics) });
    },
  },
};

export const cacheCommand = familyCommand(
  "cache",
  "drop a service cache or a topic last-value cache into a running graph, or steer one",
  runnables,
  ["stats", "pause", "resume", "stop", "set", "invalidate"],
);
