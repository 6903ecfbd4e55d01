/**
 * The core's ZeroMQ socket helpers: options and work-arounds every node
 * socket needs (ZMTP heartbeats, CURVE server keys, inproc wake-ups, monitor
 * names), the tracking of every socket and observer, and the context's
 * socket limit (raised to the open-file limit; hitting it explained).
 *
 * Every ZeroMQ socket and observer the core opens in this thread is tracked,
 * so they can all be closed synchronously before the thread ends. In a worker thread,
 * ending with a socket or an observer still open aborts the whole process
 * (zeromq.js issue #411: "ZeroMQ doesn't exit cleanly within a
 * worker_thread"); closing observers first, then sockets, then exiting at
 * once avoids it. (A graceful stop closes sockets first instead — see
 * Node's teardown — because an observer closed before its socket keeps the
 * socket's connections open until the context ends.)
 */
import { readdirSync, readFileSync } from "node:fs";
import * as zmq from "zeromq";

/**
 * The open-file limit of this process (its soft `RLIMIT_NOFILE`, `ulimit
 * -n`), read from /proc/self/limits; undefined where that cannot be read.
 */
export function openFileLimit(): number | undefined {
  try {
    const line = /^Max open files\s+(\S+)/m.exec(readFileSync("/proc/self/limits", "utf8"))?.[1];
    if (line === "unlimited") return Number.POSITIVE_INFINITY;
    const limit = Number(line);
    return Number.isInteger(limit) && limit > 0 ? limit : undefined;
  } catch {
    return undefined;
  }
}

/**
 * libzmq lets a context hold 1 023 sockets by default (`ZMQ_MAX_SOCKETS`,
 * zeromq.js `context.maxSockets`), and a node holds about five (two
 * ROUTERs, an XPUB, a SUB once it subscribes, an observer's pair of
 * monitor sockets), so about 200 nodes in one thread ran out — with
 * `EMFILE` ("Too many open file descriptors") although descriptors were
 * left. Every socket holds a descriptor too, so the limit that matters is
 * the process's open-file limit: the context of this thread gets that
 * (at most libzmq's own ceiling, `ZMQ_SOCKET_LIMIT`), set here, before the
 * core makes its first socket — libzmq reads it only then. Where the
 * open-file limit is unknown the default stays.
 */
function raiseSocketLimit(files: number | undefined): void {
  if (files === undefined) return;
  try {
    const limit = Math.min(files, zmq.context.maxSocketsLimit);
    if (limit > zmq.context.maxSockets) zmq.context.maxSockets = limit;
  } catch {
    // an option this libzmq refuses: its default stays
  }
}

/** The open-file limit when the core loaded (reading it later takes a descriptor, which may be what ran out). */
const fileLimit = openFileLimit();
raiseSocketLimit(fileLimit);

/**
 * `error` explained when it is libzmq's `EMFILE` on making a socket: which
 * limit was hit — the context's `maxSockets`, or the process's open-file
 * limit — and what to do; any other error as it is.
 */
export function socketLimitError(error: unknown): unknown {
  if ((error as { code?: unknown } | null)?.code !== "EMFILE") return error;
  const maxSockets = zmq.context.maxSockets;
  const held = tracked();
  // libzmq says EMFILE for both limits; descriptors left over mean the context's.
  let outOfFiles = false;
  try {
    outOfFiles = fileLimit !== undefined && readdirSync("/proc/self/fd").length >= fileLimit - 16;
  } catch (e) {
    outOfFiles = (e as { code?: unknown }).code === "EMFILE";
  }
  let cause: string;
  if (outOfFiles)
    cause = `the process has used all ${fileLimit} of its open files (\`ulimit -n\`): raise that limit`;
  else if (held >= maxSockets - 64)
    cause =
      `this thread's ZeroMQ context holds its limit of ${maxSockets} sockets ` +
      "(zeromq's `context.maxSockets`, libzmq's ZMQ_MAX_SOCKETS, which zmp raises to the open-file limit)";
  else
    cause =
      `this thread's ZeroMQ context is at its socket limit with ${held} sockets held by zmp: either ` +
      "libzmq kept its default of 1023 (a zeromq socket was made in this thread before zmp loaded and " +
      `raised \`context.maxSockets\` to ${maxSockets}; load zmp first, or set \`context.maxSockets\` ` +
      "before any socket), or other sockets of this thread hold the rest";
  const explained = new Error(
    `cannot open another ZeroMQ socket: ${cause}. A node holds about 5 sockets and 9 descriptors; ` +
      "more nodes belong in threads or processes (`graph.spawn` with `host`), each with a context of its own",
    { cause: error },
  );
  (explained as Error & { code: string }).code = "EMFILE";
  return explained;
}

/** Sockets the core holds open in this thread, an observer counting two (its own and libzmq's monitor). */
function tracked(): number {
  return sockets.size + 2 * observers.size;
}

interface Closable {
  close(): void;
  readonly closed: boolean;
}

const sockets = new Set<Closable>();
const observers = new Set<Closable>();

/** Registers a socket; it is forgotten when closed through {@link closeTracked}. */
export function trackSocket<T extends Closable>(socket: T): T {
  sockets.add(socket);
  return socket;
}

/** Registers a socket's event observer (closed before any socket). */
export function trackObserver<T extends Closable>(observer: T): T {
  observers.add(observer);
  return observer;
}

/** Closes one socket or observer and forgets it. */
export function closeTracked(item: Closable | undefined): void {
  if (item === undefined) return;
  observers.delete(item);
  sockets.delete(item);
  safeClose(item);
}

function safeClose(item: Closable): void {
  try {
    if (!item.closed) item.close();
  } catch {
    // An observer whose socket already went away reports ENOTSOCK: it is closed either way.
  }
}

/**
 * Closes every open socket first — so their connections really close and
 * peers see the disconnect at once — then waits (at most `waitMs`) for their
 * observers to stop with them, and closes what is left: safe for a thread
 * to end right after.
 */
export async function closeAllSocketsSoon(waitMs = 200): Promise<void> {
  for (const s of sockets) safeClose(s);
  sockets.clear();
  const deadline = Date.now() + waitMs;
  while ([...observers].some((o) => !o.closed) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  for (const o of observers) safeClose(o);
  observers.clear();
}

/** Closes every open observer, then every open socket, synchronously. */
export function closeAllSockets(): void {
  for (const o of observers) safeClose(o);
  observers.clear();
  for (const s of sockets) safeClose(s);
  sockets.clear();
}

/** ZMTP heartbeat options (RFC 37) dropping a connection silent for `timeoutMs`. */
export function liveness(timeoutMs: number): Partial<{
  heartbeatInterval: number;
  heartbeatTimeout: number;
  heartbeatTimeToLive: number;
}> {
  if (!(timeoutMs > 0) || !Number.isFinite(timeoutMs)) return {};
  const t = Math.round(timeoutMs);
  return { heartbeatInterval: Math.max(1, Math.round(t / 3)), heartbeatTimeout: t, heartbeatTimeToLive: t };
}

/**
 * zeromq.js warns (`process.emitWarning`) whenever an option is set on a
 * socket that already has endpoints, although some options are meant for the
 * very next connect, which follows at once. Runs `set` with exactly that
 * synchronous warning silenced.
 */
export function withoutOptionWarning<T>(set: () => T): T {
  const emitWarning = process.emitWarning;
  process.emitWarning = () => undefined;
  try {
    return set();
  } finally {
    process.emitWarning = emitWarning;
  }
}

/**
 * Sets the CURVE server key for the socket's next connect, or, without one,
 * makes that connect a plain one (a peer that runs without CURVE: a node on
 * ipc, a directory in its private folder). libzmq takes the mechanism of
 * each connect from the options at that moment.
 */
export function setServerKey(socket: zmq.Socket, key: string | undefined): void {
  withoutOptionWarning(() => {
    const s = socket as zmq.Socket & { curveServerKey: string | null; curveServer: boolean };
    if (key === undefined) s.curveServer = false;
    else s.curveServerKey = key;
  });
}

/**
 * An inproc connect is carried out at once in this thread, and a receive
 * already pending on the socket then never wakes (zeromq.js waits for an edge
 * on ZMQ_FD that the connect consumed). Reading ZMQ_EVENTS (`readable`)
 * re-arms it. Harmless for other transports.
 */
export function kick(socket: zmq.Socket, endpoint: string): void {
  // Only for inproc: on a tcp/ipc connect, a message may already wait in the pipe when
  // ZMQ_EVENTS is read here, and reading it then swallows the edge the pending receive needs.
  if (endpoint.startsWith("inproc://")) void socket.readable;
}

/**
 * Opens an event observer on `socket`. zeromq.js names the monitor endpoint
 * after the observer's memory address; right after another socket closed,
 * libzmq may still hold that name (its reaper closes monitors asynchronously)
 * and the new observer fails with EADDRINUSE. Retry briefly.
 */
export async function observe(socket: zmq.Socket): Promise<zmq.Observer> {
  for (let attempt = 0; ; attempt++) {
    try {
      return new zmq.Observer(socket);
    } catch (error) {
      if ((error as { code?: string }).code !== "EADDRINUSE" || attempt >= 100) throw socketLimitError(error);
      await new Promise((resolve) => setTimeout(resolve, 5 + attempt));
    }
  }
}
