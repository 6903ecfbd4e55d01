/**
 * The toolbox's command-line commands, `zmp proxy …` and `zmp cache …`:
 * drop a proxy or a cache into a running graph from another terminal, steer
 * it, and take it out again with Ctrl-C — the graph's other nodes keep
 * running and lose nothing.
 *
 *   zmp proxy service NAME [--idempotent] [--retries N] [--timeout-ms MS]
 *   zmp proxy queue NAME [--rate R] [--burst B] [--fraction F] [--window W] [--concurrency C] [--dead-letter TOPIC]
 *   zmp proxy topic PREFIX
 *   zmp cache service NAME [--capacity N] [--max-bytes B] [--ttl-ms MS] [--cache-errors] [--invalidate-on TOPIC]
 *   zmp cache topic PREFIX [--max-topics N]
 *     (each also: [--name NODE] [--tap] [--tap-topic T] [--tap-file F] [--sample N]
 *      [--directory ENDPOINT] [--bind-host H] [--advertise-host H] [--start-timeout-ms MS])
 *   zmp proxy|cache stats|pause|resume|stop NODE [--target ID] [--json]
 *   zmp proxy|cache set NODE JSON [--target ID]
 *   zmp cache invalidate NODE (--key K | --prefix P | --request JSON | --all) [--target ID]
 *
 * Steering goes to the service `<node>.control` (see proxy/steering.ts), so
 * `zmp call <node>.control '{"op":"stats"}'` works as well. Errors a user
 * can cause print one line and exit non-zero: 2 for usage, 1 at run time.
 */
import {
  type Command,
  jsonArgument,
  jsonReplacer,
  numberOption,
  parse,
  resolveDirectory,
  table,
  UsageError,
  untilSignal,
  withCliNode,
} from "../core/cli.js";
import { NameTakenError, RemoteError, TimeoutError, UnknownServiceError, ZmpError } from "../core/errors.js";
import { Node } from "../core/node.js";
import { checkName } from "../core/record.js";
import { LastValueCache } from "./cache/last-value.js";
import { ServiceCache } from "./cache/service-cache.js";
import { QueueProxy } from "./proxy/queue-proxy.js";
import { ServiceProxy } from "./proxy/service-proxy.js";
import type { TapOptions } from "./proxy/tap.js";
import { TopicProxy } from "./proxy/topic-proxy.js";
import { controlService, type Steerable } from "./steering.js";

type Values = Record<string, string | boolean | (string | boolean)[] | undefined>;

/** Flags every running proxy or cache takes. */
const runFlags = {
  name: { type: "string" },
  directory: { type: "string" },
  tap: { type: "boolean" },
  "tap-topic": { type: "string" },
  "tap-file": { type: "string" },
  sample: { type: "string" },
  "bind-host": { type: "string" },
  "advertise-host": { type: "string" },
  "start-timeout-ms": { type: "string" },
} as const;

const runUsage =
  "[--name NODE] [--tap] [--tap-topic TOPIC] [--tap-file FILE] [--sample N] [--directory ENDPOINT] [--bind-host H] [--advertise-host H] [--start-timeout-ms 3000]";

/** One kind of thing `zmp proxy`/`zmp cache` can run. */
interface Runnable {
  /** `proxy` or `cache`: the default node name's first part. */
  family: "proxy" | "cache";
  what: string;
  usage: string;
  flags: Record<string, { type: "string" | "boolean" }>;
  /** What the positional names: a service, a queue, or a topic prefix (which may be empty). */
  channel: "service" | "queue" | "prefix";
  /** Checks the flags (before anything connects) and returns what starts it on a node. */
  prepare(channel: string, values: Values, tap: TapOptions | undefined): (node: Node) => Promise<Steerable>;
}

const RUNNABLES: Record<"proxy" | "cache", Record<string, Runnable>> = {
  proxy: {
    service: {
      family: "proxy",
      what: "service proxy",
      usage: "zmp proxy service NAME [--idempotent] [--retries 3] [--timeout-ms MS]",
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
          v["dead-letter"] === undefined ? undefined : name(v["dead-letter"], "--dead-letter");
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
      flags: {},
      channel: "prefix",
      prepare: (prefix, _v, tap) => (node) => TopicProxy.start(node, { prefix, ...(tap ? { tap } : {}) }),
    },
  },
  cache: {
    service: {
      family: "cache",
      what: "service cache",
      usage:
        "zmp cache service NAME [--capacity 1000] [--max-bytes B] [--ttl-ms MS] [--cache-errors] [--invalidate-on TOPIC] [--timeout-ms MS]",
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
          v["invalidate-on"] === undefined ? undefined : name(v["invalidate-on"], "--invalidate-on");
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
      flags: { "max-topics": { type: "string" } },
      channel: "prefix",
      prepare: (prefix, v, tap) => {
        if (tap !== undefined)
          throw new UsageError("a last-value cache has no tap (use `zmp proxy topic --tap`)");
        const maxTopics = integerFlag(v["max-topics"], "max-topics", 1);
        return (node) => LastValueCache.start(node, { prefix, ...optional("maxTopics", maxTopics) });
      },
    },
  },
};

function optional<K extends string, V>(key: K, value: V | undefined): Partial<Record<K, V>> {
  return value === undefined ? {} : ({ [key]: value } as Record<K, V>);
}

function name(value: unknown, what: string): string {
  try {
    return checkName(value, what);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

function positiveFlag(value: unknown, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const n = numberOption(value, flag, 0);
  if (!(n > 0)) throw new UsageError(`--${flag} expects a positive number, got "${String(value)}"`);
  return n;
}

function nonNegativeFlag(value: unknown, flag: string): number | undefined {
  if (value === undefined) return undefined;
  if (value === "Infinity" || value === "inf") return Number.POSITIVE_INFINITY;
  const n = numberOption(value, flag, 0);
  if (!(n >= 0))
    throw new UsageError(`--${flag} expects a non-negative number (or Infinity), got "${String(value)}"`);
  return n;
}

function integerFlag(value: unknown, flag: string, min: number): number | undefined {
  if (value === undefined) return undefined;
  const n = numberOption(value, flag, 0);
  if (!Number.isInteger(n) || n < min)
    throw new UsageError(`--${flag} expects an integer ≥ ${min}, got "${String(value)}"`);
  return n;
}

function fractionFlag(value: unknown): number | undefined {
  if (value === undefined) return undefined;
  const n = numberOption(value, "fraction", 1);
  if (!(n >= 0 && n <= 1))
    throw new UsageError(`--fraction expects a number from 0 to 1, got "${String(value)}"`);
  return n;
}

/** The tap options from `--tap`, `--tap-topic`, `--tap-file` and `--sample`, or undefined for no tap. */
function tapFlags(values: Values): TapOptions | undefined {
  const sample = integerFlag(values.sample, "sample", 1);
  const topic =
    values["tap-topic"] !== undefined
      ? name(values["tap-topic"], "--tap-topic")
      : values.tap === true
        ? true
        : undefined;
  const file = values["tap-file"] as string | undefined;
  if (topic === undefined && file === undefined) {
    if (sample !== undefined) throw new UsageError("--sample needs --tap, --tap-topic or --tap-file");
    return undefined;
  }
  return {
    ...(topic !== undefined ? { topic } : {}),
    ...(file !== undefined ? { file } : {}),
    ...optional("sample", sample),
  };
}

/** The default node name: `proxy.jobs`, `cache.users.get`, `proxy.sensor` (trailing slashes dropped), `proxy.all`. */
export function defaultNodeName(family: "proxy" | "cache", channel: string): string {
  const base = channel.replace(/\/+$/, "") || "all";
  return `${family}.${base}`.slice(0, 128);
}

/** Runs a proxy or cache in this process until Ctrl-C or a `stop` over its steering service. */
async function runStandalone(runnable: Runnable, argv: string[]): Promise<number> {
  const usage = `${runnable.usage} ${runUsage}`;
  const { values, positionals } = parse(argv, { ...runFlags, ...runnable.flags }, usage);
  const prefix = runnable.channel === "prefix";
  if (positionals.length !== 1)
    throw new UsageError(`expected one ${prefix ? "PREFIX" : "NAME"}\nusage: ${usage}`);
  const channel = positionals[0]!;
  if (!(prefix && channel === "")) name(channel, runnable.channel);
  const nodeName = name(values.name ?? defaultNodeName(runnable.family, channel), "--name");
  const tap = tapFlags(values);
  const start = runnable.prepare(channel, values, tap);
  const startTimeoutMs = positiveFlag(values["start-timeout-ms"], "start-timeout-ms") ?? 3000;
  const directory = resolveDirectory(values.directory);
  const node = new Node({
    name: nodeName,
    directory,
    host: "remote",
    startTimeoutMs,
    ...(typeof values["bind-host"] === "string"
      ? { bindHost: values["bind-host"], transport: "tcp" as const }
      : {}),
    ...(typeof values["advertise-host"] === "string" ? { advertiseHost: values["advertise-host"] } : {}),
  });
  try {
    await node.start();
  } catch (error) {
    if (error instanceof NameTakenError)
      throw new UsageError(`a node named "${nodeName}" is already in the graph: pick another with --name`, 1);
    if (error instanceof TimeoutError)
      throw new UsageError(
        `the directory at ${directory} did not answer within ${startTimeoutMs} ms: is the graph running?`,
        1,
      );
    throw new UsageError(`cannot join the graph at ${directory}: ${(error as Error).message}`, 1);
  }
  let running: Steerable;
  try {
    running = await start(node);
  } catch (error) {
    await node.stop();
    if (error instanceof UsageError) throw error;
    throw new UsageError(
      `cannot start the ${runnable.what}: ${(error as Error).message}`,
      error instanceof RangeError || error instanceof TypeError ? 2 : 1,
    );
  }
  const stats = running.stats() as { tap?: { topic: string | null; file: string | null } | null };
  const lines = [
    `${runnable.what} for "${channel}" running on node ${nodeName} (${node.id})`,
    `steer it: zmp ${runnable.family} stats ${nodeName}   (or zmp call ${controlService(nodeName)} '{"op":"stats"}')`,
  ];
  if (stats.tap?.topic) lines.push(`watch the tap: zmp echo ${stats.tap.topic}`);
  if (stats.tap?.file) lines.push(`tap file: ${stats.tap.file}`);
  lines.push("Ctrl-C takes it out of the graph (nothing is lost)");
  process.stdout.write(`${lines.join("\n")}\n`);
  // Ends on a signal, or when a `stop` over the steering service closed it.
  let stopped = false;
  const closedByStop = new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      if ((running as { closed?: boolean }).closed === true || stopped) {
        clearInterval(timer);
        resolve();
      }
    }, 100);
  });
  const signal = untilSignal();
  await Promise.race([signal, closedByStop]);
  stopped = true;
  await running.close();
  await node.stop();
  process.stdout.write(`${runnable.what} for "${channel}" left the graph\n`);
  return 0;
}

// ------------------------------------------------------------------ steering

const steerFlags = {
  directory: { type: "string" },
  target: { type: "string" },
  json: { type: "boolean" },
  "timeout-ms": { type: "string" },
} as const;

async function steer(family: "proxy" | "cache", op: string, argv: string[]): Promise<number> {
  const invalidate = op === "invalidate";
  const usage =
    op === "set"
      ? `zmp ${family} set NODE JSON [--target ID] [--json] [--directory ENDPOINT]`
      : invalidate
        ? `zmp ${family} invalidate NODE (--key K | --prefix P | --request JSON | --all) [--target ID] [--directory ENDPOINT]`
        : `zmp ${family} ${op} NODE [--target ID] [--json] [--directory ENDPOINT]`;
  const extra: Record<string, { type: "string" | "boolean" }> = invalidate
    ? {
        key: { type: "string" },
        prefix: { type: "string" },
        request: { type: "string" },
        all: { type: "boolean" },
      }
    : {};
  const { values, positionals } = parse(argv, { ...steerFlags, ...extra }, usage);
  const expected = op === "set" ? 2 : 1;
  if (positionals.length !== expected)
    throw new UsageError(`expected ${op === "set" ? "NODE and JSON" : "one NODE"}\nusage: ${usage}`);
  const nodeName = name(positionals[0], "NODE");
  const request: Record<string, unknown> = { op };
  if (typeof values.target === "string") request.target = values.target;
  if (op === "set") {
    const settings = jsonArgument(positionals[1], "the settings");
    if (settings === null || typeof settings !== "object" || Array.isArray(settings))
      throw new UsageError(`the settings must be a JSON object, e.g. '{"rate": 100}'`);
    Object.assign(request, settings);
  }
  if (invalidate) {
    const given = ["key", "prefix", "request", "all"].filter((k) => values[k] !== undefined);
    if (given.length !== 1)
      throw new UsageError(`give exactly one of --key, --prefix, --request, --all\nusage: ${usage}`);
    if (values.key !== undefined) request.key = values.key;
    if (values.prefix !== undefined) request.prefix = values.prefix;
    if (values.request !== undefined) request.request = jsonArgument(values.request as string, "--request");
    if (values.all === true) request.all = true;
  }
  const timeoutMs = positiveFlag(values["timeout-ms"], "timeout-ms") ?? 3000;
  return withCliNode(values.directory, async (node) => {
    let reply: unknown;
    try {
      reply = await node.call(controlService(nodeName), request, { timeoutMs });
    } catch (error) {
      if (error instanceof UnknownServiceError)
        throw new UsageError(
          `no proxy or cache runs on a node named "${nodeName}" (no service ${controlService(nodeName)})`,
          1,
        );
      if (error instanceof RemoteError)
        throw new UsageError(error.message.replace(/^.*?failed on node `[^`]*`: /, ""), 1);
      if (error instanceof ZmpError) throw new UsageError(`${error.name}: ${error.message}`, 1);
      throw error;
    }
    if (values.json || op !== "stats") process.stdout.write(`${JSON.stringify(reply, jsonReplacer, 2)}\n`);
    else process.stdout.write(`${statsText(reply)}\n`);
    return 0;
  });
}

/** Steering stats as a table: one row per proxy or cache on the node. */
function statsText(reply: unknown): string {
  const items: Record<string, unknown>[] =
    reply !== null && typeof reply === "object" && "id" in (reply as object)
      ? [reply as Record<string, unknown>]
      : Object.values((reply ?? {}) as Record<string, Record<string, unknown>>);
  const num = (v: unknown): string =>
    typeof v === "number" ? (Number.isInteger(v) ? String(v) : v.toFixed(3)) : v === null ? "-" : String(v);
  const rows = items.map((s) => {
    const fwd = (s.forward ?? {}) as Record<string, unknown>;
    const back = (s.backward ?? {}) as Record<string, unknown>;
    const details = DETAILS[String(s.kind)] ?? [];
    return [
      String(s.id),
      s.closed ? "stopped" : s.paused ? "paused" : "running",
      num(fwd.messages),
      num(fwd.bytes),
      num(back.messages),
      details.map((k) => `${k}=${num(s[k])}`).join(" "),
    ];
  });
  return table(["id", "state", "fwd msgs", "fwd bytes", "back msgs", "details"], rows);
}

const DETAILS: Record<string, string[]> = {
  service: ["calls", "replied", "failed", "retried", "held", "latencyP50", "latencyP99"],
  queue: ["offered", "admitted", "shed", "handled", "backlog", "held", "rate", "burst", "fraction", "window"],
  topic: ["frames", "dropped"],
  cache: ["hits", "misses", "coalesced", "hitRate", "entries", "bytes", "capacity", "evictions", "savedMs"],
  lvc: ["topics", "replayed", "subscriptions", "dropped"],
};

// ------------------------------------------------------------------ commands

function familyCommand(family: "proxy" | "cache"): Command {
  const runnables = RUNNABLES[family];
  const steering =
    family === "cache"
      ? ["stats", "pause", "resume", "stop", "set", "invalidate"]
      : ["stats", "pause", "resume", "stop", "set"];
  const kinds = Object.keys(runnables);
  return {
    summary:
      family === "proxy"
        ? "drop a service, queue or topic proxy into a running graph (Ctrl-C takes it out), or steer one"
        : "drop a service cache or a topic last-value cache into a running graph, or steer one",
    usage: [
      ...Object.values(runnables).map((r) => `${r.usage} ${runUsage}`),
      ...steering.map(
        (op) => `zmp ${family} ${op} NODE${op === "set" ? " JSON" : ""} [--target ID] [--directory ENDPOINT]`,
      ),
    ].join("\n       "),
    async run(argv) {
      const [sub, ...rest] = argv;
      const runnable = sub === undefined ? undefined : runnables[sub];
      if (runnable !== undefined) return runStandalone(runnable, rest);
      if (sub !== undefined && steering.includes(sub)) return steer(family, sub, rest);
      throw new UsageError(
        `${sub === undefined ? "expected" : `unknown subcommand "${sub}"; expected`} one of ${[...kinds, ...steering].join(", ")}\nusage: ${this.usage}`,
      );
    },
  };
}

export const toolboxCommands: Record<string, Command> = {
  proxy: familyCommand("proxy"),
  cache: familyCommand("cache"),
};
