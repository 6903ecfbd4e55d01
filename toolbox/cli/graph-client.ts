/**
 * How a command reaches a running graph: which directory (`--directory`,
 * `ZMP_DIRECTORY`, or the newest graph advertised on this machine), and an
 * unlisted node of its own that calls and subscribes without appearing in
 * `zmp graph`.
 */
import { discoveryFile, findDirectory } from "../../core/discovery.js";
import { checkEndpoint } from "../../core/endpoint.js";
import { TimeoutError, ZmpError } from "../../core/errors.js";
import { Node } from "../../core/node.js";
import type { NodeRecord } from "../../core/record.js";
import { type OptionHelp, UsageError } from "./command.js";
import { securityFrom } from "./security-flags.js";

/** Flags every command that talks to a graph takes: where its directory is, and the longest wait for an answer. */
export const graphFlags = {
  directory: { type: "string" },
  "timeout-ms": { type: "string" },
  insecure: { type: "boolean" },
} as const;

/** How `--help` lists `graphFlags`. */
export const graphFlagsHelp: readonly OptionHelp[] = [
  [
    "--directory ENDPOINT",
    "the graph's directory (default: ZMP_DIRECTORY, else the newest graph started on this machine)",
  ],
  ["--timeout-ms MS", "longest wait for the directory and for replies (default 3000)"],
  ["--insecure", "join a tcp graph that runs without a credential (or ZMP_INSECURE=1)"],
];

/** The directory to use: `--directory`, `ZMP_DIRECTORY`, or the newest running graph on this machine. */
export function resolveDirectory(flag: unknown): string {
  const endpoint = typeof flag === "string" ? flag : findDirectory();
  if (endpoint === undefined) {
    throw new UsageError(
      "no running graph found on this machine: start one (`npm start` in the zmp repository, `zmp directory`, or Graph.open() in a program), or pass --directory tcp://host:port (or set ZMP_DIRECTORY)",
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
export function directorySource(flag: unknown): string {
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
  insecureFlag: unknown = undefined,
): Promise<Node> {
  const { security, insecure } = securityFrom({ insecure: insecureFlag === true });
  const node = new Node({
    name: `zmp-cli.${process.pid}`,
    directory,
    ...(security ? { security, transport: "tcp" as const } : {}),
    ...(insecure ? { insecure } : {}),
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
  insecureFlag: unknown = undefined,
): Promise<T> {
  const node = await cliNode(
    resolveDirectory(directoryFlag),
    timeoutMs,
    directorySource(directoryFlag),
    insecureFlag,
  );
  try {
    return await work(node);
  } finally {
    await node.stop();
  }
}

/** Fetches the directory's list of live nodes. */
export async function listNodes(node: Node): Promise<NodeRecord[]> {
  return node._snapshot();
}

/** Turns a failed call into a one-line runtime error (exit code 1). */
export function callFailed(error: unknown): never {
  if (error instanceof ZmpError) throw new UsageError(`${error.name}: ${error.message}`, 1);
  throw error;
}

/** The live node named `name`, or a runtime error listing the live ones. */
export async function findNode(node: Node, name: string): Promise<NodeRecord> {
  const nodes = await listNodes(node);
  const record = nodes.find((n) => n.name === name);
  if (record !== undefined) return record;
  const live = nodes.map((n) => n.name).sort();
  throw new UsageError(
    `no node named "${name}" in the graph (live nodes: ${live.length > 0 ? live.join(", ") : "none"})`,
    1,
  );
}
