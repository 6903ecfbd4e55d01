/**
 * `zmp proxy`: drop a service, queue or topic proxy into a running graph from
 * another terminal, steer it, and take it out again with Ctrl-C.
 */
import { QueueProxy } from "../proxy/queue-proxy.js";
import { ServiceProxy } from "../proxy/service-proxy.js";
import { TopicProxy } from "../proxy/topic-proxy.js";
import { nameArgument } from "./command.js";
import {
  familyCommand,
  fractionFlag,
  integerFlag,
  nonNegativeFlag,
  optional,
  positiveFlag,
  type Runnable,
} from "./standalone.js";

const runnables: Record<string, Runnable> = {
  service: {
    family: "proxy",
    what: "service proxy",
    usage: "zmp proxy service NAME [--idempotent] [--retries 3] [--timeout-ms MS]",
    options: [
      ["NAME", "the service to front"],
      ["--idempotent", "a call whose provider is lost mid-call is retried on another provider"],
      ["--retries N", "retries of a call whose provider was lost, idempotent services only (default 3)"],
      ["--timeout-ms MS", "timeout of each forwarded call (default: the node's callTimeoutMs)"],
    ],
    tap: true,
    flags: {
      idempotent: { type: "boolean" },
      retries: { type: "string" },
      "timeout-ms": { type: "string" },
    },
    channel: "service",
    prepare: (service, v, tap) => {
      const options = {
        service,
        ...(v.idempotent === true ? { idempotent: true } : {}),
        ...optional("retries", integerFlag(v.retries, "retries", 0)),
        ...optional("timeoutMs", positiveFlag(v["timeout-ms"], "timeout-ms")),
        ...(tap ? { tap } : {}),
      };
      return (node) => ServiceProxy.start(node, options);
    },
  },
  queue: {
    family: "proxy",
    what: "queue proxy",
    usage:
      "zmp proxy queue NAME [--rate MSG_PER_S] [--burst N] [--fraction 0..1] [--window 3000] [--concurrency 10000] [--dead-letter TOPIC]",
    options: [
      ["NAME", "the queue to front"],
      ["--rate R", "admit at most R msg/s (token bucket; default unlimited)"],
      ["--burst N", "tokens the bucket holds (default: 0.05 s of --rate, at least 1)"],
      ["--fraction F", "admit this fraction of messages, 0 to 1 (default 1)"],
      ["--window N", "credit granted to each producer (default 3000)"],
      ["--concurrency N", "messages at the workers at once (default 10000)"],
      [
        "--dead-letter TOPIC",
        "publish each shed message here (shed messages are acknowledged, never redelivered)",
      ],
    ],
    tap: true,
    flags: {
      rate: { type: "string" },
      burst: { type: "string" },
      fraction: { type: "string" },
      window: { type: "string" },
      concurrency: { type: "string" },
      "dead-letter": { type: "string" },
    },
    channel: "queue",
    prepare: (queue, v, tap) => {
      const deadLetter =
        v["dead-letter"] === undefined ? undefined : nameArgument(v["dead-letter"], "--dead-letter");
      const options = {
        queue,
        ...optional("rate", nonNegativeFlag(v.rate, "rate")),
        ...optional("burst", positiveFlag(v.burst, "burst")),
        ...optional("fraction", fractionFlag(v.fraction)),
        ...optional("window", integerFlag(v.window, "window", 1)),
        ...optional("concurrency", integerFlag(v.concurrency, "concurrency", 1)),
        ...optional("deadLetter", deadLetter),
        ...(tap ? { tap } : {}),
      };
      return (node) => QueueProxy.start(node, options);
    },
  },
  topic: {
    family: "proxy",
    what: "topic proxy",
    usage: "zmp proxy topic PREFIX",
    options: [["PREFIX", 'the topics to front ("" for all)']],
    tap: true,
    flags: {},
    channel: "prefix",
    prepare: (prefix, _v, tap) => (node) => TopicProxy.start(node, { prefix, ...(tap ? { tap } : {}) }),
  },
};

export const proxyCommand = familyCommand(
  "proxy",
  "drop a service, queue or topic proxy into a running graph (Ctrl-C takes it out), or steer one",
  runnables,
  ["stats", "pause", "resume", "stop", "set"],
);
