/**
 * The core's ZeroMQ socket helpers: options and work-arounds every node
 * socket needs (ZMTP heartbeats, CURVE server keys, inproc wake-ups, monitor
 * names), and the tracking of every socket and observer.
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
import * as zmq from "zeromq";

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

/** Sets the CURVE server key for the socket's next connect. */
export function setServerKey(socket: zmq.Socket, key: string | undefined): void {
  withoutOptionWarning(() => {
    (socket as zmq.Socket & { curveServerKey: string | null }).curveServerKey = key ?? null;
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
      if ((error as { code?: string }).code !== "EADDRINUSE" || attempt >= 100) throw error;
      await new Promise((resolve) => setTimeout(resolve, 5 + attempt));
    }
  }
}
