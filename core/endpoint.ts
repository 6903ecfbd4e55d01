/**
 * Endpoints: where a socket binds and how others reach it. zmp speaks three
 * ZeroMQ transports: `inproc` (same process, inline nodes only), `ipc` (unix
 * socket files in a private temp dir) and `tcp` (loopback by default; another
 * host when bound to a routable address).
 */
import { randomBytes } from "node:crypto";
import { lstatSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
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

/** A private temp folder's name: `zmp-<pid>-XXXXXX`, with the pid of the process that made it. */
const IPC_DIR = /^zmp-(\d+)-[A-Za-z0-9]{6}$/;

/**
 * Makes a private temp directory (0700) for ipc socket files,
 * `<tmpdir>/zmp-<pid>-XXXXXX`; the caller removes it with
 * {@link removeIpcDir}, or the next `Graph.open()` after this process died
 * ({@link removeStaleIpcDirs}).
 */
export function makeIpcDir(): string {
  return mkdtempSync(join(tmpdir(), `zmp-${process.pid}-`));
}

/** Removes an ipc directory made by {@link makeIpcDir} (ignores one already gone). */
export function removeIpcDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

/**
 * Removes the private temp folders that processes which no longer exist
 * left in `base` (default: the temp dir): a SIGKILLed or crashed process
 * cannot remove its own, and its socket files would stay forever. A folder
 * goes only when its name is `zmp-<pid>-XXXXXX`, it is a directory (not a
 * link) owned by this user, and no process `<pid>` exists (`kill(pid, 0)`
 * fails with ESRCH): a live process's folder, another user's, and anything
 * else are left alone. A pid the system gave to a new process keeps the old
 * folder until that one ends too. Never throws; returns what it removed.
 */
export function removeStaleIpcDirs(base = tmpdir()): string[] {
  const uid = process.getuid?.();
  if (uid === undefined) return [];
  const removed: string[] = [];
  let names: string[];
  try {
    names = readdirSync(base);
  } catch {
    return removed;
  }
  for (const name of names) {
    const pid = Number(IPC_DIR.exec(name)?.[1]);
    if (!(pid > 1) || pid === process.pid || alive(pid)) continue;
    const dir = join(base, name);
    try {
      const stat = lstatSync(dir);
      if (!stat.isDirectory() || stat.uid !== uid) continue;
      rmSync(dir, { recursive: true, force: true });
      removed.push(dir);
    } catch {
      // gone meanwhile, or not ours to remove
    }
  }
  return removed;
}

/** Whether a process `pid` exists (one of another user counts: EPERM). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code !== "ESRCH";
  }
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
