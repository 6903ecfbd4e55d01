/**
 * Endpoints: where a socket binds and how others reach it. zmp speaks three
 * ZeroMQ transports: `inproc` (same process, inline nodes only), `ipc` (unix
 * socket files in a private temp dir) and `tcp` (loopback by default; another
 * host when bound to a routable address).
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export type Transport = "inproc" | "ipc" | "tcp";
export const TRANSPORTS: readonly Transport[] = ["inproc", "ipc", "tcp"];

/** The longest unix socket path Linux accepts (sun_path is 108 bytes with its NUL). */
const MAX_IPC_PATH = 107;

/** Checks that `endpoint` is a `inproc://`, `ipc://` or `tcp://host:port` address, else throws naming the option. */
export function checkEndpoint(endpoint: unknown, option = "endpoint"): string {
  if (typeof endpoint !== "string" || !/^(inproc|ipc|tcp):\/\/.+/.test(endpoint)) {
    throw new TypeError(
      `Expected \`${option}\` to be an endpoint like tcp://127.0.0.1:5555, ipc:///path or inproc://name, got \`${String(endpoint)}\``,
    );
  }
  if (
    endpoint.startsWith("tcp://") &&
    !/^tcp:\/\/[^:]+:(\d+|\*)$/.test(endpoint.replace(/^tcp:\/\/\[[^\]]+\]/, "tcp://h"))
  ) {
    throw new TypeError(`Expected \`${option}\` to be tcp://host:port, got \`${endpoint}\``);
  }
  return endpoint;
}

/** The transport of an endpoint string. */
export function transportOf(endpoint: string): Transport {
  return endpoint.slice(0, endpoint.indexOf(":")) as Transport;
}

/** A short random id (base36), used in node ids and endpoint names. */
export function shortId(bytes = 6): string {
  return BigInt(`0x${randomBytes(bytes).toString("hex")}`).toString(36);
}

/** Makes a private temp directory for ipc socket files; the caller removes it with {@link removeIpcDir}. */
export function makeIpcDir(): string {
  return mkdtempSync(join(tmpdir(), "zmp-"));
}

/** Removes an ipc directory made by {@link makeIpcDir} (ignores one already gone). */
export function removeIpcDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

export interface BindPlan {
  transport: Transport;
  /** Directory for ipc socket files (required for ipc). */
  ipcDir?: string;
  /** Interface to bind tcp sockets on. Default `127.0.0.1` (loopback only). */
  bindHost?: string;
}

/**
 * The address to bind a new socket on, unique per call: `inproc://zmp-<id>`,
 * `ipc://<ipcDir>/<label>-<id>.sock` or `tcp://<bindHost>:*` (port chosen by
 * the OS, read back after binding).
 */
export function bindAddress(plan: BindPlan, label: string): string {
  const id = shortId();
  const safe = label.replace(/[^A-Za-z0-9_.-]/g, "_").slice(0, 24);
  switch (plan.transport) {
    case "inproc":
      return `inproc://zmp-${safe}-${id}`;
    case "ipc": {
      if (!plan.ipcDir) throw new TypeError("Expected `ipcDir` for the ipc transport");
      let path = join(plan.ipcDir, `${safe}-${id}.sock`);
      if (path.length > MAX_IPC_PATH) path = join(plan.ipcDir, `${id}.sock`);
      if (path.length > MAX_IPC_PATH)
        throw new RangeError(
          `Expected \`ipcDir\` to be short enough for a unix socket path, got \`${plan.ipcDir}\``,
        );
      return `ipc://${path}`;
    }
    case "tcp":
      return `tcp://${formatHost(plan.bindHost ?? "127.0.0.1")}:*`;
  }
}

/**
 * Rewrites a bound tcp endpoint for peers: a wildcard bind address
 * (`0.0.0.0`, `::`) is replaced by `advertiseHost`.
 */
export function advertised(endpoint: string, advertiseHost?: string): string {
  if (!endpoint.startsWith("tcp://") || advertiseHost === undefined) return endpoint;
  const port = endpoint.slice(endpoint.lastIndexOf(":") + 1);
  return `tcp://${formatHost(advertiseHost)}:${port}`;
}

function formatHost(host: string): string {
  return host.includes(":") && !host.startsWith("[") ? `[${host}]` : host;
}
