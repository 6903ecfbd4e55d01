/**
 * Every ZeroMQ socket and observer the core opens in this thread, so they can
 * all be closed synchronously before the thread ends. In a worker thread,
 * ending with a socket or an observer still open aborts the whole process
 * (zeromq.js issue #411: "ZeroMQ doesn't exit cleanly within a
 * worker_thread"); closing observers first, then sockets, then exiting at
 * once avoids it. (A graceful stop closes sockets first instead — see
 * Node's teardown — because an observer closed before its socket keeps the
 * socket's connections open until the context ends.)
 */
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
