/**
 * A node's options: what each one means and its default, applied and checked
 * in one place (`resolveOptions`), so a bad option fails at construction with
 * a message naming it.
 */

import { userKeys } from "./credential.js";
import { checkEndpoint, type Transport, transportOf } from "./endpoint.js";
import { SecurityError } from "./errors.js";
import { checkName, type HostKind } from "./record.js";
import { checkSecurity, type SecurityOptions } from "./security.js";
import { type TraceMode, traceMode } from "./service-client.js";

/** What a refused handshake with the directory suggests, by where the node's keys came from. */
export const SECURITY_HINTS = {
  given: "is this node's public key in its allow list, and is `security.directoryKey` the directory's key?",
  user: "it does not take this user's key (~/.config/zmp/user-key.json): is it another user's graph (then give its key as `security.directoryKey` / --directory-key, and have yours allowed), or does it run without authentication (then insecure: true / --insecure here too)?",
  none: "it takes a key: give this node the graph's keys (or leave out insecure: true / --insecure, to use this user's own credential)",
} as const;

export type { TraceMode } from "./service-client.js";

export interface NodeOptions {
  /** The node's name, unique among live nodes of the graph. */
  name: string;
  /** Endpoint of the directory to register with (a `Graph` fills it in). */
  directory: string;
  /**
   * Transport for this node's own sockets. Default: the directory's transport
   * (`inproc` works only for nodes in the directory's thread).
   */
  transport?: Transport;
  /** Folder for ipc socket files. Default: a private temp folder, removed at stop. */
  ipcDir?: string;
  /** Interface tcp sockets bind on. Default `127.0.0.1` (loopback only). */
  bindHost?: string;
  /** Host name or address other hosts use to reach this node over tcp. Default: `bindHost`. */
  advertiseHost?: string;
  /** Where the node runs, as shown by `zmp graph`. Default `"inline"`. */
  host?: HostKind;
  /** Timeout of `call()` when the call gives none, in ms. Default 30 000. */
  callTimeoutMs?: number;
  /** Longest `stop()` waits for handlers in progress, in ms. Default 5 000. */
  drainTimeoutMs?: number;
  /** How long closing sockets may keep sending queued messages, in ms. Default 1 000. */
  lingerMs?: number;
  /** Largest message accepted, in bytes (bigger ones are refused with an error). Default 16 MiB. */
  maxMessageSize?: number;
  /**
   * How a failed call's error points at its caller. `"async"` (default): its
   * stack is taken where the call is awaited, so it lists the awaiting async
   * functions with file and line (V8's async stack traces) and costs nothing
   * for calls that succeed; a `.then()` chain keeps the error's own stack.
   * `true`: record the whole synchronous stack at every call (about 2 µs per
   * call), for callers that do not `await`. `false`: neither.
   */
  traceCalls?: TraceMode;
  /**
   * ERROR replies carry the handler's stack trace (with its file paths) to
   * the caller. Default: true when the node listens on ipc or inproc only
   * (only this user's processes reach it), false when it listens on tcp:
   * a remote caller gets the error's name, message and code, not the stack
   * (its `RemoteError` keeps its own, pointing at its call). `true` on tcp:
   * for debugging a graph you trust.
   */
  remoteStacks?: boolean;
  /** Longest `start()` waits for the directory, in ms. Default 10 000. */
  startTimeoutMs?: number;
  /**
   * Keep meters (counts, rates, backlogs, latency percentiles) for every
   * channel endpoint. Default true; `false` saves their small per-message cost.
   */
  metering?: boolean;
  /** ZeroMQ high-water mark of topic sockets, in frames (each a batch of messages). Default 1 000. */
  topicHighWaterMark?: number;
  /** Messages a producer keeps per queue when no puller has credit, before push() waits. Default 1 000. */
  pushBuffer?: number;
  /**
   * With a value, a connection whose peer sends nothing (not even ZMTP
   * heartbeats, sent every third of it) for this long is dropped, so calls on
   * a half-open connection to a host cut off the network fail at once with
   * `PeerLostError`. Default 0: off — the directory's heartbeats already
   * evict such a host within its bound and fail the calls then, and libzmq
   * 4.3.5 can abort (`!_io_error` in stream_engine_base.cpp) when a ZMTP
   * heartbeat fires on a connection that just failed.
   */
  peerTimeoutMs?: number;
  /**
   * Allow `injectFaults()` and the built-in `zmp.faults` service (drop and
   * delay incoming messages; for tests and experiments). Default false.
   */
  faultInjection?: boolean;
  /**
   * CurveZMQ key pair, the directory's public key and the public keys allowed
   * to connect: encrypted and authenticated traffic (see docs/security.md).
   * Default: on tcp (this node's sockets or its directory's), the per-user
   * credential (`~/.config/zmp/user-key.json`, made on first use): every
   * process of this user joins, any other is refused at the handshake. On
   * ipc and inproc: none (the socket folder is private to the user).
   */
  security?: SecurityOptions;
  /**
   * Run on tcp without a credential: anyone who can reach the node can call
   * it, steer it and crash it (see docs/security.md). `true` allows loopback
   * only; `"network"` also binding a non-loopback interface. Said as a
   * warning when the node starts. Default false.
   */
  insecure?: boolean | "network";
  /**
   * List this node in the directory. Default true. A node started with
   * `false` only calls, subscribes and pushes (CLI tools use it): it is not
   * listed, provides nothing and cannot pull from queues.
   */
  register?: boolean;
}

/** Options only the directory and graphs use: bind fixed endpoints, do not register, a given token. */
export interface InternalOptions {
  bind?: string[];
  isDirectory?: boolean;
  /**
   * The node's token (its secret toward the directory). A graph that starts a
   * node in another process makes it, so it can deregister the node if that
   * process dies. Default: random at each start.
   */
  token?: string;
  /** Frames queued per connection of the inbound socket, each way (the directory keeps it small). */
  highWaterMark?: number;
}

/** The options with their defaults applied. */
export interface ResolvedOptions {
  name: string;
  directory: string;
  transport: Transport;
  ipcDir: string | undefined;
  bindHost: string;
  advertiseHost: string | undefined;
  host: HostKind;
  callTimeoutMs: number;
  drainTimeoutMs: number;
  lingerMs: number;
  maxMessageSize: number;
  traceCalls: TraceMode;
  remoteStacks: boolean;
  startTimeoutMs: number;
  metering: boolean;
  faultInjection: boolean;
  peerTimeoutMs: number;
  security: SecurityOptions | undefined;
  /** Where `security` came from: given, the per-user credential, or none. */
  securitySource: "given" | "user" | "none";
  insecure: false | true | "network";
  topicHighWaterMark: number;
  pushBuffer: number;
  register: boolean;
  bind: string[] | undefined;
  isDirectory: boolean;
  token: string | undefined;
  highWaterMark: number | undefined;
}

function positive(value: unknown, option: string, fallback: number, allowInfinity = false): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !(value > 0) || (!allowInfinity && !Number.isFinite(value))) {
    throw new RangeError(`Expected \`${option}\` to be a positive number, got \`${String(value)}\``);
  }
  return value;
}

/** A boolean option, or its default when left out. */
function flag(value: unknown, option: string, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== "boolean")
    throw new TypeError(`Expected \`${option}\` to be true or false, got \`${String(value)}\``);
  return value;
}

/** Checks an `insecure` value. */
export function checkInsecure(value: unknown, option = "insecure"): false | true | "network" {
  if (value === undefined || value === false) return false;
  if (value === true || value === "network") return value;
  throw new TypeError(`Expected \`${option}\` to be true, false or "network", got \`${String(value)}\``);
}

/** Whether `host` names the loopback interface (127.0.0.0/8, ::1, localhost). */
export function isLoopback(host: string): boolean {
  const h = host.startsWith("[") ? host.slice(1, -1) : host;
  return h === "localhost" || h === "::1" || /^127\.\d+\.\d+\.\d+$/.test(h);
}

/**
 * Refuses an unauthenticated tcp bind on a non-loopback interface unless
 * `insecure` is `"network"` (Redis' protected mode): anyone on the network
 * could join, call, steer and crash the graph.
 */
export function refuseOpenBind(host: string, insecure: false | true | "network", what: string): void {
  if (insecure === "network" || isLoopback(host)) return;
  throw new SecurityError(
    `refusing to listen on ${host} without authentication (${what}): anyone on the network could join, call, steer and crash the graph. Leave out insecure to use the per-user credential, give keys (zmp keygen), or say insecure: "network" (--insecure-network) if the network itself is trusted`,
  );
}

/** Applies defaults and validates options in one place. */
export function resolveOptions(options: NodeOptions & InternalOptions): ResolvedOptions {
  if (options === null || typeof options !== "object") throw new TypeError("Expected node options object");
  const isDirectory = options.isDirectory === true;
  const name = checkName(options.name, "name");
  const directory = isDirectory ? "" : checkEndpoint(options.directory, "directory");
  const firstBind = options.bind?.[0];
  const transport =
    options.transport ?? (firstBind !== undefined ? transportOf(firstBind) : transportOf(directory));
  if (!["inproc", "ipc", "tcp"].includes(transport))
    throw new TypeError(`Expected \`transport\` to be inproc, ipc or tcp, got \`${String(transport)}\``);
  const insecure = checkInsecure(options.insecure);
  let security = options.security === undefined ? undefined : checkSecurity(options.security, isDirectory);
  let securitySource: ResolvedOptions["securitySource"] = security === undefined ? "none" : "given";
  const bindHost = options.bindHost ?? (firstBind?.startsWith("tcp://") ? hostOf(firstBind) : "127.0.0.1");
  const directoryOnTcp = !isDirectory && transportOf(directory) === "tcp";
  if (security !== undefined && insecure !== false)
    throw new TypeError("Expected either `security` or `insecure`, got both");
  if (
    security === undefined &&
    insecure === false &&
    !isDirectory &&
    (transport === "tcp" || directoryOnTcp)
  ) {
    const user = userKeys();
    security = {
      ...user,
      ...(directoryOnTcp ? { directoryKey: user.publicKey } : {}),
      allow: [user.publicKey],
    };
    securitySource = "user";
  }
  if (security === undefined && transport === "tcp" && !isDirectory)
    refuseOpenBind(bindHost, insecure, `node \`${name}\`, insecure: true`);
  return {
    name,
    directory,
    transport,
    ipcDir: options.ipcDir ?? (options.bind !== undefined ? dirOf(options.bind) : undefined),
    bindHost,
    advertiseHost: options.advertiseHost,
    host: options.host ?? "inline",
    callTimeoutMs: positive(options.callTimeoutMs, "callTimeoutMs", 30_000, true),
    drainTimeoutMs: positive(options.drainTimeoutMs, "drainTimeoutMs", 5_000),
    lingerMs: positive(options.lingerMs, "lingerMs", 1_000),
    maxMessageSize: positive(options.maxMessageSize, "maxMessageSize", 16 * 1024 * 1024),
    traceCalls: traceMode(options.traceCalls, "traceCalls", "async"),
    remoteStacks: flag(
      options.remoteStacks,
      "remoteStacks",
      transport !== "tcp" && !(options.bind ?? []).some((e) => transportOf(e) === "tcp"),
    ),
    startTimeoutMs: positive(options.startTimeoutMs, "startTimeoutMs", 10_000),
    metering: options.metering ?? true,
    peerTimeoutMs:
      options.peerTimeoutMs === 0 ? 0 : positive(options.peerTimeoutMs, "peerTimeoutMs", 0, true),
    faultInjection: options.faultInjection === true,
    security,
    securitySource,
    insecure,
    topicHighWaterMark: positive(options.topicHighWaterMark, "topicHighWaterMark", 1000),
    pushBuffer: positive(options.pushBuffer, "pushBuffer", 1000),
    register: options.register ?? true,
    bind: options.bind,
    isDirectory,
    token: options.token,
    highWaterMark: options.highWaterMark,
  };
}

/** The host part of a `tcp://host:port` endpoint. */
export function hostOfEndpoint(tcpEndpoint: string): string {
  return hostOf(tcpEndpoint);
}

const warned = new Set<string>();

/**
 * Says, once per process and thing, that `what` runs on tcp without a
 * credential (`process.emitWarning`, code `ZMP_INSECURE`).
 */
export function warnInsecure(what: string): void {
  if (warned.has(what)) return;
  warned.add(what);
  process.emitWarning(
    `zmp: ${what} runs without authentication (insecure): any process that reaches it can join the graph, call and steer its nodes, and crash them`,
    { code: "ZMP_INSECURE" },
  );
}

function hostOf(tcpEndpoint: string): string {
  const rest = tcpEndpoint.slice("tcp://".length);
  const host = rest.slice(0, rest.lastIndexOf(":"));
  return host.startsWith("[") ? host.slice(1, -1) : host;
}

function dirOf(endpoints: string[]): string | undefined {
  const ipc = endpoints.find((e) => e.startsWith("ipc://"));
  if (ipc === undefined) return undefined;
  const path = ipc.slice("ipc://".length);
  return path.slice(0, path.lastIndexOf("/"));
}
