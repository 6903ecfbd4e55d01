/**
 * Steering a running proxy or cache from the command line: `zmp proxy|cache
 * stats|pause|resume|stop|set|invalidate NODE …`, a call to its steering
 * service `<node>.control`.
 */
import { RemoteError, UnknownServiceError, ZmpError } from "../../core/errors.js";
import { controlService } from "../steering.js";
import {
  helpText,
  jsonArgument,
  jsonReplacer,
  nameArgument,
  type OptionHelp,
  parse,
  positiveOption,
  UsageError,
  usageError,
} from "./command.js";
import { table } from "./format.js";
import { DIRECTORY_TIMEOUT_MS, graphFlagsHelp, withCliNode } from "./graph-client.js";

/** The usage line of one steering op. */
export function steerUsage(family: "proxy" | "cache", op: string): string {
  if (op === "set") return `zmp ${family} set NODE JSON [--target ID] [--json] [--directory ENDPOINT]`;
  if (op === "invalidate")
    return `zmp ${family} invalidate NODE (--key K | --prefix P | --request JSON | --all) [--target ID] [--directory ENDPOINT]`;
  return `zmp ${family} ${op} NODE [--target ID] [--json] [--directory ENDPOINT]`;
}

const OP_SUMMARY: Record<string, string> = {
  stats: "print the statistics of what runs on NODE (a table; --json for every figure)",
  pause: "stop passing traffic on (a queue proxy holds messages, a service proxy holds calls)",
  resume: "pass traffic on again",
  stop: "take it out of the graph (traffic goes direct again, nothing is lost)",
  set: "change settings while it runs, e.g. '{\"rate\": 100}' (prints the new stats)",
  invalidate: "drop cache entries",
};

/** `--help` of one steering op. */
export function steerHelp(family: "proxy" | "cache", op: string): string {
  const options: OptionHelp[] = [
    ["NODE", `the node running the ${family} (its --name)`],
    ...(op === "set" ? ([["JSON", "the settings, a JSON object"]] as OptionHelp[]) : []),
    ...(op === "invalidate"
      ? ([
          ["--key K", "the entry cached under key K"],
          ["--prefix P", "every entry whose key starts with P"],
          ["--request JSON", "the entry of this request"],
          ["--all", "every entry"],
        ] as OptionHelp[])
      : []),
    ["--target ID", "when the node runs several things: which one (`queue:jobs`, or a channel name)"],
    ["--json", "print the reply as JSON"],
    graphFlagsHelp[0]!,
    ["--timeout-ms MS", "longest wait for the directory and the reply (default 3000)"],
  ];
  return helpText({ summary: OP_SUMMARY[op] ?? op, usage: steerUsage(family, op), options });
}

const steerFlags = {
  directory: { type: "string" },
  target: { type: "string" },
  json: { type: "boolean" },
  "timeout-ms": { type: "string" },
  insecure: { type: "boolean" },
} as const;

export async function steer(family: "proxy" | "cache", op: string, argv: string[]): Promise<number> {
  const invalidate = op === "invalidate";
  const usage = steerUsage(family, op);
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
    throw usageError(`expected ${op === "set" ? "NODE and JSON" : "one NODE"}`, usage);
  const nodeName = nameArgument(positionals[0], "NODE");
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
    if (given.length !== 1) throw usageError("give exactly one of --key, --prefix, --request, --all", usage);
    if (values.key !== undefined) request.key = values.key;
    if (values.prefix !== undefined) request.prefix = values.prefix;
    if (values.request !== undefined) request.request = jsonArgument(values.request as string, "--request");
    if (values.all === true) request.all = true;
  }
  const timeoutMs = positiveOption(values["timeout-ms"], "timeout-ms", DIRECTORY_TIMEOUT_MS);
  return withCliNode(
    values.directory,
    async (node) => {
      let reply: unknown;
      try {
        reply = await node.call(controlService(nodeName), request, { timeoutMs });
      } catch (error) {
        if (error instanceof UnknownServiceError)
          throw new UsageError(
            `no proxy or cache runs on a node named "${nodeName}" (no service ${controlService(nodeName)})`,
            1,
          );
        // The node refused the request itself (an unknown setting, a bad value): a usage error.
        if (error instanceof RemoteError) {
          const refused = error.remoteName === "TypeError" || error.remoteName === "RangeError";
          const message = error.message.replace(/^.*?failed on node `[^`]*`: /, "");
          throw new UsageError(
            refused ? message.replace(`${error.remoteName}: `, "") : message,
            refused ? 2 : 1,
          );
        }
        if (error instanceof ZmpError) throw new UsageError(`${error.name}: ${error.message}`, 1);
        throw error;
      }
      process.stdout.write(
        `${values.json ? JSON.stringify(reply, jsonReplacer, 2) : replyText(op, reply)}\n`,
      );
      return 0;
    },
    DIRECTORY_TIMEOUT_MS,
    values.insecure,
  );
}

/** The reply of `op` as a person reads it (`--json` prints it as it came). */
function replyText(op: string, reply: unknown): string {
  if (op === "stats" || op === "set") return statsText(reply);
  const r = (reply ?? {}) as { targets?: string[]; removed?: number };
  if (op === "invalidate") return `removed ${r.removed ?? 0} entr${r.removed === 1 ? "y" : "ies"}`;
  const done = { pause: "paused", resume: "resumed", stop: "stopping" }[op] ?? op;
  return `${done}: ${(r.targets ?? []).join(", ") || "nothing runs there"}`;
}

/** Steering stats as a table: one row per proxy or cache on the node ("-" where a kind has no such figure). */
function statsText(reply: unknown): string {
  const items: Record<string, unknown>[] =
    reply !== null && typeof reply === "object" && "id" in (reply as object)
      ? [reply as Record<string, unknown>]
      : Object.values((reply ?? {}) as Record<string, Record<string, unknown>>);
  const num = (v: unknown): string =>
    typeof v === "number" ? (Number.isInteger(v) ? String(v) : v.toFixed(3)) : v == null ? "-" : String(v);
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
