/**
 * What `zmp proxy` and `zmp cache` share: running one proxy or cache in
 * this process as a node of a running graph, until Ctrl-C or a `stop` over
 * its steering service (the graph's other nodes keep running and lose
 * nothing), and the family command that also steers them (steer.ts).
 *
 * Steering goes to the service `<node>.control` (toolbox/steering.ts), so
 * `zmp call <node>.control '{"op":"stats"}'` works as well.
 */
import { NameTakenError, TimeoutError } from "../../core/errors.js";
import { Node } from "../../core/node.js";
import type { TapOptions } from "../proxy/tap.js";
import { controlService, type Steerable } from "../steering.js";
import {
  type Command,
  helpText,
  nameArgument,
  numberOption,
  type OptionHelp,
  parse,
  UsageError,
  usageError,
} from "./command.js";
import { graphFlagsHelp, resolveDirectory } from "./graph-client.js";
import { securityFlags, securityFlagsHelp, securityFrom } from "./security-flags.js";
import { untilSignal } from "./signals.js";
import { steer, steerHelp, steerUsage } from "./steer.js";

export type Values = Record<string, string | boolean | (string | boolean)[] | undefined>;

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
  ...securityFlags,
} as const;

/** The usage of `runFlags` (taps only where the kind has one). */
function runUsage(tap: boolean): string {
  return `[--name NODE]${tap ? " [--tap] [--tap-topic TOPIC] [--tap-file FILE] [--sample N]" : ""} [--directory ENDPOINT] [--bind-host H] [--advertise-host H] [--start-timeout-ms 3000] [--keys FILE --directory-key KEY] [--insecure]`;
}

/** How `--help` lists `runFlags` (taps only where the kind has one). */
function runFlagsHelp(tap: boolean): OptionHelp[] {
  return [
    ["--name NODE", "this node's name in the graph (default: proxy.CHANNEL or cache.CHANNEL)"],
    ...(tap
      ? ([
          ["--tap", "publish a copy of the traffic on a tap topic (zmp echo shows it)"],
          ["--tap-topic TOPIC", "the tap topic (--tap alone: tap/<node name>/<channel>)"],
          ["--tap-file FILE", "append a copy of the traffic to FILE, one JSON line per message"],
          ["--sample N", "tap one message in N (default 1)"],
        ] as OptionHelp[])
      : []),
    graphFlagsHelp[0]!,
    ["--bind-host H", "bind on this interface over tcp (default: ipc, this machine only)"],
    ["--advertise-host H", "the address other hosts reach this node at"],
    ["--start-timeout-ms MS", "longest wait for the directory (default 3000)"],
    ...securityFlagsHelp,
  ];
}

/** One kind of thing `zmp proxy`/`zmp cache` can run. */
export interface Runnable {
  /** `proxy` or `cache`: the default node name's first part. */
  family: "proxy" | "cache";
  what: string;
  usage: string;
  /** The kind's own options, as `--help` lists them. */
  options: readonly OptionHelp[];
  /** Whether it takes `--tap`. */
  tap: boolean;
  flags: Record<string, { type: "string" | "boolean" }>;
  /** What the positional names: a service, a queue, or a topic prefix (which may be empty). */
  channel: "service" | "queue" | "prefix";
  /** Checks the flags (before anything connects) and returns what starts it on a node. */
  prepare(channel: string, values: Values, tap: TapOptions | undefined): (node: Node) => Promise<Steerable>;
}

export function optional<K extends string, V>(key: K, value: V | undefined): Partial<Record<K, V>> {
  return value === undefined ? {} : ({ [key]: value } as Record<K, V>);
}

export function positiveFlag(value: unknown, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const n = numberOption(value, flag, 0);
  if (!(n > 0)) throw new UsageError(`--${flag} expects a positive number, got "${String(value)}"`);
  return n;
}

export function nonNegativeFlag(value: unknown, flag: string): number | undefined {
  if (value === undefined) return undefined;
  if (value === "Infinity" || value === "inf") return Number.POSITIVE_INFINITY;
  const n = numberOption(value, flag, 0);
  if (!(n >= 0))
    throw new UsageError(`--${flag} expects a non-negative number (or Infinity), got "${String(value)}"`);
  return n;
}

export function integerFlag(value: unknown, flag: string, min: number): number | undefined {
  if (value === undefined) return undefined;
  const n = numberOption(value, flag, 0);
  if (!Number.isInteger(n) || n < min)
    throw new UsageError(`--${flag} expects an integer ≥ ${min}, got "${String(value)}"`);
  return n;
}

export function fractionFlag(value: unknown): number | undefined {
  if (value === undefined) return undefined;
  const n = numberOption(value, "fraction", 1);
  if (!(n >= 0 && n <= 1))
    throw new UsageError(`--fraction expects a number from 0 to 1, got "${String(value)}"`);
  return n;
}

/** The tap options from `--tap`, `--tap-topic`, `--tap-file` and `--sample`, or undefined for no tap. */
export function tapFlags(values: Values): TapOptions | undefined {
  const sample = integerFlag(values.sample, "sample", 1);
  const topic =
    values["tap-topic"] !== undefined
      ? nameArgument(values["tap-topic"], "--tap-topic")
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
export async function runStandalone(runnable: Runnable, argv: string[]): Promise<number> {
  const usage = `${runnable.usage} ${runUsage(runnable.tap)}`;
  const { values, positionals } = parse(argv, { ...runFlags, ...runnable.flags }, usage);
  const prefix = runnable.channel === "prefix";
  if (positionals.length !== 1) throw usageError(`expected one ${prefix ? "PREFIX" : "NAME"}`, usage);
  const channel = positionals[0]!;
  if (!(prefix && channel === "")) nameArgument(channel, runnable.channel);
  const nodeName = nameArgument(values.name ?? defaultNodeName(runnable.family, channel), "--name");
  const tap = tapFlags(values);
  const start = runnable.prepare(channel, values, tap);
  const startTimeoutMs = positiveFlag(values["start-timeout-ms"], "start-timeout-ms") ?? 3000;
  const directory = resolveDirectory(values.directory);
  const { security, insecure } = securityFrom(values);
  const node = new Node({
    name: nodeName,
    directory,
    host: "remote",
    startTimeoutMs,
    ...(typeof values["bind-host"] === "string"
      ? { bindHost: values["bind-host"], transport: "tcp" as const }
      : {}),
    ...(typeof values["advertise-host"] === "string" ? { advertiseHost: values["advertise-host"] } : {}),
    ...(security ? { security, transport: "tcp" as const } : {}),
    ...(insecure ? { insecure } : {}),
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

/**
 * `zmp proxy` or `zmp cache`: the first argument picks a kind to run
 * (`runnables`) or a steering op (`ops`).
 */
export function familyCommand(
  family: "proxy" | "cache",
  summary: string,
  runnables: Record<string, Runnable>,
  ops: readonly string[],
): Command {
  const kinds = Object.keys(runnables);
  return {
    summary,
    usage: [
      ...Object.values(runnables).map((r) => `${r.usage} [options]`),
      ...ops.map((op) => steerUsage(family, op)),
    ].join("\n       "),
    help(argv) {
      const sub = argv.find((a) => !a.startsWith("-"));
      const runnable = sub === undefined ? undefined : runnables[sub];
      if (runnable !== undefined)
        return helpText({
          summary: `run a ${runnable.what} in this process until Ctrl-C (nothing is lost when it leaves)`,
          usage: `${runnable.usage} ${runUsage(runnable.tap)}`,
          options: [...runnable.options, ...runFlagsHelp(runnable.tap)],
        });
      if (sub !== undefined && ops.includes(sub)) return steerHelp(family, sub);
      return `${helpText(this)}\nzmp ${family} KIND --help or zmp ${family} OP --help shows its options (kinds: ${kinds.join(", ")}; ops: ${ops.join(", ")}).\n`;
    },
    async run(argv) {
      const [sub, ...rest] = argv;
      const runnable = sub === undefined ? undefined : runnables[sub];
      if (runnable !== undefined) return runStandalone(runnable, rest);
      if (sub !== undefined && ops.includes(sub)) return steer(family, sub, rest);
      throw new UsageError(
        `${sub === undefined ? "expected" : `unknown subcommand "${sub}"; expected`} one of ${[...kinds, ...ops].join(", ")}; usage: zmp ${family} --help`,
      );
    },
  };
}
