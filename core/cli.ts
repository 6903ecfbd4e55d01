/**
 * The core's command-line commands (`zmp directory`, `zmp run`, `zmp graph`,
 * `zmp call`...). Each is a function of its arguments returning an exit code;
 * the root `cli.ts` dispatches to them. Errors a user can cause (a bad name,
 * endpoint or JSON, a directory that does not answer) print one clear line
 * and exit non-zero.
 */
import { parseArgs } from "node:util";
import { Directory } from "./directory.js";
import { findDirectory } from "./discovery.js";
import { checkEndpoint } from "./endpoint.js";
import { ZmpError } from "./errors.js";
import { runHostedNode } from "./host-run.js";
import { Node } from "./node.js";
import { checkName, type NodeRecord } from "./record.js";
import { DirectoryService } from "./wire.js";

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

/** parseArgs with errors turned into `UsageError`s that show the usage. */
export function parse(argv: string[], options: Options, usage: string, allowPositionals = true): Parsed {
  try {
    return parseArgs({ args: argv, options, allowPositionals, strict: true }) as Parsed;
  } catch (error) {
    throw new UsageError(`${(error as Error).message}\nusage: ${usage}`);
  }
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

/** Parses a JSON argument with a clear error. */
export function jsonArgument(text: string | undefined, what: string): unknown {
  if (text === undefined) return null;
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new UsageError(`${what} is not valid JSON: ${(error as Error).message}`);
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
    return checkEndpoint(endpoint, "directory");
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

/**
 * Starts an unlisted node for a CLI command (it calls and subscribes but is
 * not shown in the graph). A directory that does not answer is a clear error.
 */
export async function cliNode(directory: string, timeoutMs = 3000): Promise<Node> {
  const node = new Node({
    name: `zmp-cli.${process.pid}`,
    directory,
    register: false,
    startTimeoutMs: timeoutMs,
    traceCalls: false,
    lingerMs: 200,
  });
  try {
    await node.start();
  } catch (error) {
    throw new UsageError(`cannot reach the directory at ${directory}: ${(error as Error).message}`, 1);
  }
  return node;
}

/** Runs `work` with a CLI node, always stopping it. */
export async function withCliNode<T>(directoryFlag: unknown, work: (node: Node) => Promise<T>): Promise<T> {
  const node = await cliNode(resolveDirectory(directoryFlag));
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

/** Fetches the directory's list of live nodes. */
export async function listNodes(node: Node): Promise<NodeRecord[]> {
  const reply = (await node._callDirectory(DirectoryService.SNAPSHOT, null)) as { nodes: NodeRecord[] };
  return reply.nodes;
}

const directoryCommand: Command = {
  summary: "run a standalone directory (for graphs across terminals or hosts)",
  usage: "zmp directory [--bind tcp://0.0.0.0:5555]... [--heartbeat-ms 1000]",
  async run(argv) {
    const { values } = parse(
      argv,
      { bind: { type: "string", multiple: true }, "heartbeat-ms": { type: "string" } },
      this.usage,
      false,
    );
    const bind = (values.bind as string[] | undefined) ?? ["tcp://127.0.0.1:5555"];
    for (const b of bind) {
      try {
        checkEndpoint(b, "bind");
      } catch (error) {
        throw new UsageError((error as Error).message);
      }
    }
    const heartbeatMs = numberOption(values["heartbeat-ms"], "heartbeat-ms", 1000);
    const directory = await Directory.start({ bind, heartbeatMs }).catch((error: Error) => {
      throw new UsageError(`cannot start the directory on ${bind.join(", ")}: ${error.message}`, 1);
    });
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
    "zmp run MODULE --name NAME [--directory ENDPOINT] [--args JSON] [--export NAME] [--bind-host H] [--advertise-host H]",
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
      },
      this.usage,
    );
    const module = positionals[0];
    if (module === undefined || positionals.length > 1)
      throw new UsageError(`expected one MODULE\nusage: ${this.usage}`);
    if (typeof values.name !== "string") throw new UsageError(`--name is required\nusage: ${this.usage}`);
    try {
      checkName(values.name, "name");
    } catch (error) {
      throw new UsageError((error as Error).message);
    }
    const directory = resolveDirectory(values.directory);
    const { pathToFileURL } = await import("node:url");
    const { resolve } = await import("node:path");
    const url = /^[a-z][a-z0-9+.-]*:/i.test(module) ? module : pathToFileURL(resolve(module)).href;
    const running = await runHostedNode({
      module: url,
      exportName: values.export as string | undefined,
      host: "remote",
      args: jsonArgument(values.args as string | undefined, "--args"),
      node: {
        name: values.name,
        directory,
        ...(values["bind-host"]
          ? { bindHost: values["bind-host"] as string, transport: "tcp" as const }
          : {}),
        ...(values["advertise-host"] ? { advertiseHost: values["advertise-host"] as string } : {}),
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

const graphCommand: Command = {
  summary: "list the live nodes of a graph with their services, topics and queues",
  usage: "zmp graph [--directory ENDPOINT] [--json]",
  async run(argv) {
    const { values } = parse(
      argv,
      { directory: { type: "string" }, json: { type: "boolean" } },
      this.usage,
      false,
    );
    return withCliNode(values.directory, async (node) => {
      const nodes = (await listNodes(node)).sort((a, b) => a.name.localeCompare(b.name));
      if (values.json) {
        process.stdout.write(`${JSON.stringify(nodes, null, 2)}\n`);
        return 0;
      }
      const rows = nodes.map((n) => [
        n.name,
        n.host,
        String(n.pid),
        n.endpoint,
        n.services.join(",") || "-",
        n.topics.join(",") || "-",
        n.queues.map((q) => q.name).join(",") || "-",
      ]);
      process.stdout.write(
        `${table(["NODE", "HOST", "PID", "ENDPOINT", "SERVICES", "TOPICS", "QUEUES"], rows)}\n`,
      );
      return 0;
    });
  },
};

const callCommand: Command = {
  summary: "call a service once and print the reply as JSON",
  usage: "zmp call SERVICE [JSON] [--node NAME] [--timeout-ms 5000] [--directory ENDPOINT]",
  async run(argv) {
    const { values, positionals } = parse(
      argv,
      { directory: { type: "string" }, node: { type: "string" }, "timeout-ms": { type: "string" } },
      this.usage,
    );
    const [service, json, ...rest] = positionals;
    if (service === undefined || rest.length > 0)
      throw new UsageError(`expected SERVICE [JSON]\nusage: ${this.usage}`);
    try {
      checkName(service, "service");
    } catch (error) {
      throw new UsageError((error as Error).message);
    }
    const request = jsonArgument(json, "the request");
    const timeoutMs = numberOption(values["timeout-ms"], "timeout-ms", 5000);
    return withCliNode(values.directory, async (node) => {
      try {
        const reply = await node.call(service, request, {
          timeoutMs,
          node: values.node as string | undefined,
        });
        process.stdout.write(`${JSON.stringify(reply, jsonReplacer, 2)}\n`);
        return 0;
      } catch (error) {
        if (error instanceof ZmpError) throw new UsageError(`${error.name}: ${error.message}`, 1);
        throw error;
      }
    });
  },
};

/** JSON for binary values prints them as base64 rather than byte arrays. */
export function jsonReplacer(_key: string, value: unknown): unknown {
  if (value && typeof value === "object" && (value as { type?: unknown }).type === "Buffer") {
    return { base64: Buffer.from((value as { data: number[] }).data).toString("base64") };
  }
  return value;
}

export const coreCommands: Record<string, Command> = {
  directory: directoryCommand,
  run: runCommand,
  graph: graphCommand,
  call: callCommand,
};
