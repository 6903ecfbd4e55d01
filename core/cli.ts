/**
 * The core's command-line commands: `zmp directory`, `run`, `graph`, `call`,
 * `echo`, `hz`, `stats` and `selftest`. Each is a function of its arguments
 * returning an exit code; the root `cli.ts` dispatches to them. Errors a user
 * can cause print one clear line and exit non-zero: 2 for usage (a bad flag,
 * name, endpoint or JSON), 1 at run time (a directory that does not answer,
 * a node or service not found, a failed call).
 */
import { parseArgs } from "node:util";
import { keygenCommand, securityFlags, securityFrom } from "./cli-security.js";
import { Directory } from "./directory.js";
import { discoveryFile, findDirectory } from "./discovery.js";
import { checkEndpoint } from "./endpoint.js";
import { TimeoutError, ZmpError } from "./errors.js";
import { runHostedNode } from "./host-run.js";
import type { ChannelStats } from "./meter.js";
import { Node, type NodeStats } from "./node.js";
import { checkName, type NodeRecord } from "./record.js";
import { type CheckResult, selftest } from "./selftest.js";
import { BuiltinService, DirectoryService } from "./wire.js";

/** A CLI command: a one-line summary, a usage text, and the function that runs it. */
export interface Command {
  summary: string;
  usage: string;
  run(argv: string[]): Promise<number>;
}

/** An error to print as one line (no stack) with an exit code. */
export class UsageError extends Error {
  constructor(
    message: string,
    readonly exitCode = 2,
  ) {
    super(message);
    this.name = "UsageError";
  }
}

type Options = NonNullable<Parameters<typeof parseArgs>[0]>["options"];

/** Parsed flags: strings, booleans, or lists of them for `multiple` options. */
export interface Parsed {
  values: Record<string, string | boolean | (string | boolean)[] | undefined>;
  positionals: string[];
}

/** parseArgs with errors turned into one-line `UsageError`s that show the usage. */
export function parse(argv: string[], options: Options, usage: string, allowPositionals = true): Parsed {
  try {
    return parseArgs({ args: argv, options, allowPositionals, strict: true }) as Parsed;
  } catch (error) {
    throw usageError((error as Error).message.replace(/\s*\n\s*/g, " "), usage);
  }
}

/** A usage error (exit code 2) as one line: what is wrong, then the command's usage. */
export function usageError(message: string, usage: string): UsageError {
  return new UsageError(`${message}; usage: ${usage}`);
}

/** Reads a number option, with a clear error for anything else. */
export function numberOption(value: unknown, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (typeof value !== "string" || value.trim() === "" || !Number.isFinite(n)) {
    throw new UsageError(`--${name} expects a number, got "${String(value)}"`);
  }
  return n;
}

/** Reads a positive number option (a positive integer when `integer`), with a clear error otherwise. */
export function positiveOption(value: unknown, name: string, fallback: number, integer = false): number {
  if (value === undefined) return fallback;
  const n = numberOption(value, name, fallback);
  if (!(n > 0) || (integer && !Number.isInteger(n))) {
    throw new UsageError(
      `--${name} expects a positive ${integer ? "integer" : "number"}, got "${String(value)}"`,
    );
  }
  return n;
}

/** Parses a JSON argument with a clear error. */
export function jsonArgument(text: string | undefined, what: string): unknown {
  if (text === undefined) return null;
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new UsageError(`${what} is not valid JSON: ${(error as Error).message}`);
  }
}

/** Checks a node, service or topic name given on the command line (a bad one is a usage error). */
export function nameArgument(value: string, what: string): string {
  try {
    return checkName(value, what);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

/** The directory to use: `--directory`, `ZMP_DIRECTORY`, or the newest running graph on this machine. */
export function resolveDirectory(flag: unknown): string {
  const endpoint = typeof flag === "string" ? flag : findDirectory();
  if (endpoint === undefined) {
    throw new UsageError(
      "no directory found: start a graph first (e.g. `npm start`), or pass --directory tcp://host:port (or set ZMP_DIRECTORY)",
      1,
    );
  }
  try {
    return checkEndpoint(endpoint, directorySource(flag));
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

/** Where the directory endpoint comes from, as the name of the flag, variable or file. */
function directorySource(flag: unknown): string {
  if (typeof flag === "string") return "--directory";
  if (process.env.ZMP_DIRECTORY) return "ZMP_DIRECTORY";
  return discoveryFile();
}

/** Default longest wait for the directory, ms (`--timeout-ms` changes it). */
export const DIRECTORY_TIMEOUT_MS = 3000;

/**
 * Starts an unlisted node for a CLI command (it calls and subscribes but is
 * not shown in the graph). A directory that does not answer within
 * `timeoutMs` is a clear error (exit code 1); `source` says where its
 * endpoint came from.
 */
export async function cliNode(
  directory: string,
  timeoutMs = DIRECTORY_TIMEOUT_MS,
  source = "--directory",
): Promise<Node> {
  const security = securityFrom({});
  const node = new Node({
    name: `zmp-cli.${process.pid}`,
    directory,
    ...(security ? { security, transport: "tcp" as const } : {}),
    register: false,
    startTimeoutMs: timeoutMs,
    traceCalls: false,
    lingerMs: 200,
  });
  try {
    await node.start();
  } catch (error) {
    if (error instanceof TimeoutError) {
      throw new UsageError(
        `the directory at ${directory} (from ${source}) did not answer within ${timeoutMs} ms: is the graph running?`,
        1,
      );
    }
    throw new UsageError(`cannot reach the directory at ${directory}: ${(error as Error).message}`, 1);
  }
  return node;
}

/** Runs `work` with a CLI node, always stopping it. */
export async function withCliNode<T>(
  directoryFlag: unknown,
  work: (node: Node) => Promise<T>,
  timeoutMs = DIRECTORY_TIMEOUT_MS,
): Promise<T> {
  const node = await cliNode(resolveDirectory(directoryFlag), timeoutMs, directorySource(directoryFlag));
  try {
    return await work(node);
  } finally {
    await node.stop();
  }
}

/** Formats rows as aligned columns. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]): string =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!)))
      .join("  ")
      .trimEnd();
  return [line(header), ...rows.map(line)].join("\n");
}

/** Waits for SIGINT/SIGTERM. */
export function untilSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const done = (signal: NodeJS.Signals): void => {
      process.off("SIGINT", done);
      process.off("SIGTERM", done);
      resolve(signal);
    };
    process.on("SIGINT", done);
    process.on("SIGTERM", done);
  });
}

/**
 * An abort signal for a long-running command: it fires on SIGINT/SIGTERM
 * (Ctrl-C) and when stdout's reader goes away (`zmp echo x | head`), so the
 * command can stop its node and exit cleanly. `dispose()` removes the handlers.
 */
export function stopSignal(): { signal: AbortSignal; dispose: () => void } {
  const controller = new AbortController();
  const stop = (): void => controller.abort();
  const onError = (error: NodeJS.ErrnoException): void => {
    if (error.code === "EPIPE") stop();
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
  process.stdout.on("error", onError);
  return {
    signal: controller.signal,
    dispose: () => {
      process.off("SIGINT", stop);
      process.off("SIGTERM", stop);
      process.stdout.off("error", onError);
    },
  };
}

/** Resolves after `ms`, or at once when `signal` aborts. */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = (): void => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done);
  });
}

/** Fetches the directory's list of live nodes. */
export async function listNodes(node: Node): Promise<NodeRecord[]> {
  const reply = (await node._callDirectory(DirectoryService.SNAPSHOT, null)) as { nodes: NodeRecord[] };
  return reply.nodes;
}

/** Turns a failed call into a one-line runtime error (exit code 1). */
function callFailed(error: unknown): never {
  if (error instanceof ZmpError) throw new UsageError(`${error.name}: ${error.message}`, 1);
  throw error;
}

// ------------------------------------------------------------------ formatting meters

/** The kinds of channel endpoint a node reports, in display order, with their `NodeStats` key. */
const CHANNEL_KINDS = [
  ["service", "services"],
  ["call", "calls"],
  ["publish", "published"],
  ["subscribe", "subscribed"],
  ["push", "pushed"],
  ["pull", "pulled"],
] as const;

/** One channel endpoint of a node: its kind, name and meters (undefined when the node did not answer). */
export interface ChannelRow {
  kind: (typeof CHANNEL_KINDS)[number][0];
  name: string;
  stats: ChannelStats | undefined;
}

/** Built-in channels (`zmp.stats`, the directory's services), left out of tables unless asked for. */
const isBuiltin = (name: string): boolean => name.startsWith("zmp.");

/**
 * The channel endpoints of a node, from its directory record (services,
 * published topics, pulled queues) and its meters (everything it used),
 * sorted by kind then name. Built-in `zmp.*` channels only with `all`.
 */
export function channelRows(
  record: NodeRecord | undefined,
  stats: NodeStats | undefined,
  all = false,
): ChannelRow[] {
  const rows = new Map<string, ChannelRow>();
  const add = (kind: ChannelRow["kind"], name: string, s: ChannelStats | undefined): void => {
    if (!all && isBuiltin(name)) return;
    const key = `${kind}\u0000${name}`;
    const row = rows.get(key);
    if (row === undefined) rows.set(key, { kind, name, stats: s });
    else if (s !== undefined) row.stats = s;
  };
  // A listed channel with no meter yet has carried no traffic: zero meters, not unknown.
  const idle = stats === undefined ? undefined : IDLE;
  for (const name of record?.services ?? []) add("service", name, idle);
  for (const name of record?.topics ?? []) add("publish", name, idle);
  for (const q of record?.queues ?? []) add("pull", q.name, idle);
  if (stats !== undefined) {
    for (const [kind, key] of CHANNEL_KINDS)
      for (const [name, s] of Object.entries(stats[key] ?? {})) add(kind, name, s);
  }
  const order = CHANNEL_KINDS.map(([kind]) => kind as string);
  return [...rows.values()].sort(
    (a, b) => order.indexOf(a.kind) - order.indexOf(b.kind) || a.name.localeCompare(b.name),
  );
}

const IDLE: ChannelStats = {
  messagesIn: 0,
  messagesOut: 0,
  bytesIn: 0,
  bytesOut: 0,
  drops: 0,
  errors: 0,
  inflight: 0,
  backlog: 0,
  backlogPeak: 0,
  rate: 0,
  rateIn: 0,
  rateOut: 0,
  latencyP50: Number.NaN,
  latencyP99: Number.NaN,
  serviceTimeP50: Number.NaN,
  serviceTimeP99: Number.NaN,
};

/** A rate in msg/s: one decimal below 100, whole numbers above. */
export function formatRate(rate: number | null | undefined): string {
  if (typeof rate !== "number" || !Number.isFinite(rate)) return "-";
  return rate < 100 ? rate.toFixed(1) : Math.round(rate).toString();
}

/** A duration in ms with three significant digits, `-` when there is none (NaN or null). */
export function formatMs(ms: number | null | undefined): string {
  if (typeof ms !== "number" || !Number.isFinite(ms)) return "-";
  return ms >= 100 ? Math.round(ms).toString() : ms.toPrecision(3);
}

/** The two percentiles as `p50/p99`, `-` when there is none. */
function formatPair(p50: number | null | undefined, p99: number | null | undefined): string {
  const a = formatMs(p50);
  return a === "-" ? "-" : `${a}/${formatMs(p99)}`;
}

/** `NodeStats` as a table of its channel endpoints, with a title line and the reject counts. */
export function statsTable(stats: NodeStats, record?: NodeRecord, all = false): string {
  const title = `node ${stats.name} (${stats.id}): ${stats.host} host, pid ${stats.pid}, up ${(stats.uptimeMs / 1000).toFixed(1)} s`;
  const rows = channelRows(record, stats, all).map(({ kind, name, stats: s }) => {
    const c = s ?? IDLE;
    return [
      kind,
      name,
      formatRate(c.rate),
      String(c.messagesIn),
      String(c.messagesOut),
      String(c.backlog),
      String(c.backlogPeak),
      String(c.inflight),
      String(c.drops),
      String(c.errors),
      formatPair(c.latencyP50, c.latencyP99),
      formatPair(c.serviceTimeP50, c.serviceTimeP99),
    ];
  });
  const body =
    rows.length === 0
      ? "(no channels yet)"
      : table(
          [
            "KIND",
            "CHANNEL",
            "RATE/s",
            "IN",
            "OUT",
            "BACKLOG",
            "PEAK",
            "INFLIGHT",
            "DROPS",
            "ERRORS",
            "LATENCY p50/p99 ms",
            "SERVICE p50/p99 ms",
          ],
          rows,
        );
  const rejects = `rejected frames: ${stats.rejects.malformed} malformed, ${stats.rejects.oversized} oversized`;
  return `${title}\n${body}\n${rejects}`;
}

/** A node's record with its meters (`null` when it did not answer `zmp.stats` in time). */
export interface GraphEntry extends NodeRecord {
  stats: NodeStats | null;
}

/** The graph as one line per node and an indented line per channel endpoint with its rate and backlog. */
export function graphTable(entries: GraphEntry[], all = false): string {
  const rows: string[][] = [];
  let silent = 0;
  for (const e of entries) {
    if (e.stats === null) silent++;
    rows.push([e.name, e.host, String(e.pid), "", "", e.endpoint]);
    for (const { kind, name, stats } of channelRows(e, e.stats ?? undefined, all)) {
      rows.push([
        `  ${kind} ${name}`,
        "",
        "",
        stats === undefined ? "?" : formatRate(stats.rate),
        stats === undefined ? "?" : String(stats.backlog),
        "",
      ]);
    }
    // Channels the node fronts as a proxy or cache (their meters are those of its own channels).
    for (const f of e.fronts ?? []) rows.push([`  fronts ${f.kind} ${f.name || '""'}`, "", "", "-", "-", ""]);
  }
  const text =
    entries.length === 0
      ? "(no nodes)"
      : table(["NODE / CHANNEL", "HOST", "PID", "RATE/s", "BACKLOG", "ENDPOINT"], rows);
  const note = silent > 0 ? `\n? = the node did not answer ${BuiltinService.STATS} in time` : "";
  return `${text}${note}`;
}

// ------------------------------------------------------------------ topic rate

/** What `zmp hz` reports: rate and inter-arrival statistics over the window (NaN where undefined). */
export interface RateReport {
  /** Messages that arrived within the window. */
  count: number;
  /** Messages per second: 1 / mean inter-arrival time (NaN with fewer than two messages). */
  rate: number;
  /** Shortest, longest and standard deviation of the inter-arrival times, seconds. */
  min: number;
  max: number;
  std: number;
}

/**
 * Arrival times over a sliding window, as `rostopic hz` keeps them: the rate
 * is one over the mean inter-arrival time of the messages in the window.
 */
export class ArrivalWindow {
  readonly #windowMs: number;
  #times: number[] = [];
  #head = 0;

  /** `windowMs`: how far back arrivals count, ms. */
  constructor(windowMs: number) {
    if (!(windowMs > 0))
      throw new RangeError(`Expected \`windowMs\` to be a positive number, got \`${windowMs}\``);
    this.#windowMs = windowMs;
  }

  /** Records an arrival at `now` (ms, monotonic). */
  add(now: number): void {
    this.#times.push(now);
  }

  /** Statistics of the arrivals in the window ending at `now` (ms). */
  report(now: number): RateReport {
    const from = now - this.#windowMs;
    while (this.#head < this.#times.length && this.#times[this.#head]! < from) this.#head++;
    if (this.#head > 1024 && this.#head * 2 > this.#times.length) {
      this.#times = this.#times.slice(this.#head);
      this.#head = 0;
    }
    const t = this.#times;
    const count = t.length - this.#head;
    if (count < 2) return { count, rate: Number.NaN, min: Number.NaN, max: Number.NaN, std: Number.NaN };
    const n = count - 1;
    const mean = (t[t.length - 1]! - t[this.#head]!) / n;
    let min = Number.POSITIVE_INFINITY;
    let max = 0;
    let squares = 0;
    for (let i = this.#head + 1; i < t.length; i++) {
      const d = t[i]! - t[i - 1]!;
      if (d < min) min = d;
      if (d > max) max = d;
      squares += (d - mean) ** 2;
    }
    return {
      count,
      rate: mean > 0 ? 1000 / mean : Number.NaN,
      min: min / 1000,
      max: max / 1000,
      std: Math.sqrt(squares / n) / 1000,
    };
  }
}

/** A seconds value for `zmp hz`, with `digits` decimals as rostopic prints them. */
const seconds = (s: number, digits = 3): string => (Number.isFinite(s) ? `${s.toFixed(digits)} s` : "-");

// ------------------------------------------------------------------ commands

const directoryCommand: Command = {
  summary: "run a standalone directory (for graphs across terminals or hosts)",
  usage: "zmp directory [--bind tcp://0.0.0.0:5555]... [--heartbeat-ms 1000] [--keys FILE --allow FILE]",
  async run(argv) {
    const { values } = parse(
      argv,
      { bind: { type: "string", multiple: true }, "heartbeat-ms": { type: "string" }, ...securityFlags },
      this.usage,
      false,
    );
    const security = securityFrom(values, true);
    const bind = (values.bind as string[] | undefined) ?? ["tcp://127.0.0.1:5555"];
    for (const b of bind) {
      try {
        checkEndpoint(b, "--bind");
      } catch (error) {
        throw new UsageError((error as Error).message);
      }
    }
    const heartbeatMs = positiveOption(values["heartbeat-ms"], "heartbeat-ms", 1000);
    const directory = await Directory.start({ bind, heartbeatMs, ...(security ? { security } : {}) }).catch(
      (error: Error) => {
        throw new UsageError(`cannot start the directory on ${bind.join(", ")}: ${error.message}`, 1);
      },
    );
    process.stdout.write(
      `directory listening on ${directory.endpoints.join(", ")} (heartbeat ${heartbeatMs} ms)\n`,
    );
    process.stdout.write(
      `join it with: --directory ${directory.endpoint}  (or ZMP_DIRECTORY=${directory.endpoint})\n`,
    );
    directory.onChange((_version, change) => {
      const what =
        change.op === "up"
          ? `up   ${change.node.name} (${change.node.host}, pid ${change.node.pid})`
          : `down ${change.id} (${change.reason})`;
      process.stdout.write(`${new Date().toISOString()} ${what}\n`);
    });
    await untilSignal();
    await directory.stop();
    return 0;
  },
};

const runCommand: Command = {
  summary: "run a node module here and join it to a graph (another terminal or host)",
  usage:
    "zmp run MODULE --name NAME [--directory ENDPOINT] [--args JSON] [--export NAME] [--bind-host H] [--advertise-host H] [--keys FILE --directory-key KEY --allow FILE]",
  async run(argv) {
    const { values, positionals } = parse(
      argv,
      {
        name: { type: "string" },
        directory: { type: "string" },
        args: { type: "string" },
        export: { type: "string" },
        "bind-host": { type: "string" },
        "advertise-host": { type: "string" },
        ...securityFlags,
      },
      this.usage,
    );
    const security = securityFrom(values);
    const module = positionals[0];
    if (module === undefined || positionals.length > 1) throw usageError("expected one MODULE", this.usage);
    if (typeof values.name !== "string") throw usageError("--name is required", this.usage);
    nameArgument(values.name, "--name");
    const args = jsonArgument(values.args as string | undefined, "--args");
    const directory = resolveDirectory(values.directory);
    const { pathToFileURL } = await import("node:url");
    const { resolve } = await import("node:path");
    const url = /^[a-z][a-z0-9+.-]*:/i.test(module) ? module : pathToFileURL(resolve(module)).href;
    const running = await runHostedNode({
      module: url,
      exportName: values.export as string | undefined,
      host: "remote",
      args,
      node: {
        name: values.name,
        directory,
        ...(values["bind-host"]
          ? { bindHost: values["bind-host"] as string, transport: "tcp" as const }
          : {}),
        ...(values["advertise-host"] ? { advertiseHost: values["advertise-host"] as string } : {}),
        ...(security ? { security, transport: "tcp" as const } : {}),
      },
    }).catch((error: Error) => {
      throw new UsageError(`node ${values.name} failed to start: ${error.message}`, 1);
    });
    process.stdout.write(
      `node ${values.name} (${running.node.id}) running at ${running.node.endpoint}; Ctrl-C stops it\n`,
    );
    await untilSignal();
    await running.stop();
    return 0;
  },
};

/** Flags every command that talks to a graph takes: where its directory is, and the longest wait for an answer. */
const graphFlags = {
  directory: { type: "string" },
  "timeout-ms": { type: "string" },
} as const;

const graphCommand: Command = {
  summary: "list the live nodes of a graph with their channels, rates and backlogs",
  usage: "zmp graph [--json] [--all] [--directory ENDPOINT] [--timeout-ms 3000]",
  async run(argv) {
    const { values } = parse(
      argv,
      { ...graphFlags, json: { type: "boolean" }, all: { type: "boolean" } },
      this.usage,
      false,
    );
    const timeoutMs = positiveOption(values["timeout-ms"], "timeout-ms", DIRECTORY_TIMEOUT_MS);
    return withCliNode(
      values.directory,
      async (node) => {
        const nodes = (await listNodes(node)).sort((a, b) => a.name.localeCompare(b.name));
        // Ask every node at once; a node that does not answer within a third of the timeout shows `?`.
        const entries: GraphEntry[] = await Promise.all(
          nodes.map(async (record) => ({
            ...record,
            stats: await node
              .call<NodeStats>(BuiltinService.STATS, null, {
                node: record.name,
                timeoutMs: timeoutMs / 3,
              })
              .catch(() => null),
          })),
        );
        if (values.json) process.stdout.write(`${JSON.stringify(entries, jsonReplacer, 2)}\n`);
        else process.stdout.write(`${graphTable(entries, values.all === true)}\n`);
        return 0;
      },
      timeoutMs,
    );
  },
};

const callCommand: Command = {
  summary: "call a service once and print the reply as JSON",
  usage: "zmp call SERVICE [JSON] [--node NAME] [--timeout-ms 5000] [--directory ENDPOINT]",
  async run(argv) {
    const { values, positionals } = parse(argv, { ...graphFlags, node: { type: "string" } }, this.usage);
    const [service, json, ...rest] = positionals;
    if (service === undefined || rest.length > 0) throw usageError("expected SERVICE [JSON]", this.usage);
    nameArgument(service, "service");
    if (typeof values.node === "string") nameArgument(values.node, "--node");
    const request = jsonArgument(json, "the request");
    const timeoutMs = positiveOption(values["timeout-ms"], "timeout-ms", 5000);
    return withCliNode(
      values.directory,
      async (node) => {
        const reply = await node
          .call(service, request, { timeoutMs, node: values.node as string | undefined })
          .catch(callFailed);
        process.stdout.write(`${JSON.stringify(reply, jsonReplacer, 2)}\n`);
        return 0;
      },
      timeoutMs,
    );
  },
};

const echoCommand: Command = {
  summary: "print the messages on a topic (prefix) until Ctrl-C or --count messages",
  usage: "zmp echo TOPIC [--count N] [--json] [--directory ENDPOINT] [--timeout-ms 3000]",
  async run(argv) {
    const { values, positionals } = parse(
      argv,
      { ...graphFlags, count: { type: "string" }, json: { type: "boolean" } },
      this.usage,
    );
    const prefix = topicArgument(positionals, this.usage);
    const count = positiveOption(values.count, "count", Number.POSITIVE_INFINITY, true);
    const timeoutMs = positiveOption(values["timeout-ms"], "timeout-ms", DIRECTORY_TIMEOUT_MS);
    return withCliNode(
      values.directory,
      async (node) => {
        warnIfUnpublished(node, prefix);
        const { signal, dispose } = stopSignal();
        const subscription = node.subscribe(prefix);
        signal.addEventListener("abort", () => subscription.close());
        try {
          let seen = 0;
          for await (const { topic, data } of subscription) {
            const text = values.json
              ? JSON.stringify({ topic, data }, jsonReplacer)
              : `${topic}: ${JSON.stringify(data, jsonReplacer)}`;
            process.stdout.write(`${text}\n`);
            if (++seen >= count) break;
          }
        } finally {
          subscription.close();
          dispose();
        }
        return 0;
      },
      timeoutMs,
    );
  },
};

const hzCommand: Command = {
  summary: "print the message rate on a topic (prefix) once a second, like rostopic hz",
  usage: "zmp hz TOPIC [--window S] [--count N] [--json] [--directory ENDPOINT] [--timeout-ms 3000]",
  async run(argv) {
    const { values, positionals } = parse(
      argv,
      { ...graphFlags, window: { type: "string" }, count: { type: "string" }, json: { type: "boolean" } },
      this.usage,
    );
    const prefix = topicArgument(positionals, this.usage);
    const windowS = positiveOption(values.window, "window", 10);
    const count = positiveOption(values.count, "count", Number.POSITIVE_INFINITY, true);
    const timeoutMs = positiveOption(values["timeout-ms"], "timeout-ms", DIRECTORY_TIMEOUT_MS);
    return withCliNode(
      values.directory,
      async (node) => {
        warnIfUnpublished(node, prefix);
        const { signal, dispose } = stopSignal();
        const subscription = node.subscribe(prefix);
        const arrivals = new ArrivalWindow(windowS * 1000);
        let received = 0;
        const reading = (async () => {
          for await (const _ of subscription) {
            arrivals.add(performance.now());
            received++;
          }
        })();
        try {
          let reported = 0;
          for (let reports = 0; reports < count; reports++) {
            await sleep(1000, signal);
            if (signal.aborted) break;
            const r = arrivals.report(performance.now());
            if (values.json) {
              process.stdout.write(`${JSON.stringify({ topic: prefix, windowSeconds: windowS, ...r })}\n`);
            } else if (r.count < 2) {
              process.stdout.write(
                received === reported
                  ? "no new messages\n"
                  : `too few messages for a rate (${r.count} in the last ${windowS} s)\n`,
              );
            } else {
              process.stdout.write(
                `${prefix}: average rate ${formatRate(r.rate)} msg/s  min ${seconds(r.min)}  max ${seconds(r.max)}  std dev ${seconds(r.std, 5)}  window ${r.count}\n`,
              );
            }
            reported = received;
          }
        } finally {
          subscription.close();
          await reading;
          dispose();
        }
        return 0;
      },
      timeoutMs,
    );
  },
};

const statsCommand: Command = {
  summary: "show a node's meters: per channel endpoint, rate, backlog, counts and latencies",
  usage: "zmp stats NODE [--json] [--watch S] [--count N] [--all] [--directory ENDPOINT] [--timeout-ms 3000]",
  async run(argv) {
    const { values, positionals } = parse(
      argv,
      {
        ...graphFlags,
        json: { type: "boolean" },
        watch: { type: "string" },
        count: { type: "string" },
        all: { type: "boolean" },
      },
      this.usage,
    );
    const [name, ...rest] = positionals;
    if (name === undefined || rest.length > 0) throw usageError("expected one NODE", this.usage);
    nameArgument(name, "node");
    const watchS = positiveOption(values.watch, "watch", 0);
    const count = positiveOption(values.count, "count", watchS > 0 ? Number.POSITIVE_INFINITY : 1, true);
    if (values.count !== undefined && watchS === 0) throw usageError("--count needs --watch S", this.usage);
    const timeoutMs = positiveOption(values["timeout-ms"], "timeout-ms", DIRECTORY_TIMEOUT_MS);
    return withCliNode(
      values.directory,
      async (node) => {
        const { signal, dispose } = stopSignal();
        try {
          for (let sample = 0; sample < count && !signal.aborted; sample++) {
            if (sample > 0) {
              await sleep(watchS * 1000, signal);
              if (signal.aborted) break;
            }
            const record = await findNode(node, name);
            const stats = await node
              .call<NodeStats>(BuiltinService.STATS, null, { node: name, timeoutMs })
              .catch(callFailed);
            if (values.json) {
              process.stdout.write(`${JSON.stringify(stats, jsonReplacer, watchS > 0 ? 0 : 2)}\n`);
            } else {
              // On a terminal, --watch redraws in place; piped, samples follow each other.
              const clear = watchS > 0 && process.stdout.isTTY ? "\x1b[2J\x1b[H" : sample > 0 ? "\n" : "";
              process.stdout.write(`${clear}${statsTable(stats, record, values.all === true)}\n`);
            }
          }
        } finally {
          dispose();
        }
        return 0;
      },
      timeoutMs,
    );
  },
};

const selftestCommand: Command = {
  summary: "start a small graph in child processes and threads and check that everything works",
  usage: "zmp selftest [--quick] [--json]",
  async run(argv) {
    const { values } = parse(
      argv,
      { quick: { type: "boolean" }, json: { type: "boolean" } },
      this.usage,
      false,
    );
    const { signal, dispose } = stopSignal();
    const print = (check: CheckResult): void => {
      if (values.json) return;
      const reason = check.ok ? "" : `: ${check.reason ?? "failed"}`;
      process.stdout.write(
        `${check.ok ? "ok  " : "FAIL"}  ${check.group}: ${check.name} (${formatDuration(check.ms)})${reason}\n`,
      );
    };
    try {
      const result = await selftest({ quick: values.quick === true, signal, onCheck: print });
      if (values.json) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
      else {
        const summary = `${result.passed} passed, ${result.failed} failed in ${formatDuration(result.ms)}`;
        process.stdout.write(
          result.aborted ? `selftest interrupted: ${summary}\n` : `selftest: ${summary}\n`,
        );
      }
      if (result.aborted) return 130;
      return result.failed === 0 ? 0 : 1;
    } finally {
      dispose();
    }
  },
};

/** A duration: `3 ms` below a second, `1.24 s` above. */
function formatDuration(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(2)} s`;
}

/** The one TOPIC positional of `echo` and `hz` (a topic or a prefix of topics). */
function topicArgument(positionals: string[], usage: string): string {
  const [topic, ...rest] = positionals;
  if (topic === undefined || rest.length > 0) throw usageError("expected one TOPIC", usage);
  return nameArgument(topic, "topic");
}

/** Says on stderr when no node publishes a matching topic yet (the command still waits for one). */
function warnIfUnpublished(node: Node, prefix: string): void {
  const publishers = node.nodes().filter((n) => n.topics.some((t) => t.startsWith(prefix)));
  if (publishers.length === 0)
    process.stderr.write(`zmp: no node publishes a topic starting with "${prefix}" yet; waiting for one\n`);
}

/** The live node named `name`, or a runtime error listing the live ones. */
async function findNode(node: Node, name: string): Promise<NodeRecord> {
  const nodes = await listNodes(node);
  const record = nodes.find((n) => n.name === name);
  if (record !== undefined) return record;
  const live = nodes.map((n) => n.name).sort();
  throw new UsageError(
    `no node named "${name}" in the graph (live nodes: ${live.length > 0 ? live.join(", ") : "none"})`,
    1,
  );
}

/** JSON for binary values prints them as base64 rather than byte arrays. */
export function jsonReplacer(_key: string, value: unknown): unknown {
  if (value && typeof value === "object" && (value as { type?: unknown }).type === "Buffer") {
    return { base64: Buffer.from((value as { data: number[] }).data).toString("base64") };
  }
  return value;
}

export const coreCommands: Record<string, Command> = {
  keygen: keygenCommand,
  directory: directoryCommand,
  run: runCommand,
  graph: graphCommand,
  call: callCommand,
  echo: echoCommand,
  hz: hzCommand,
  stats: statsCommand,
  selftest: selftestCommand,
};
