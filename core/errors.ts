/**
 * The named errors of zmp. Each sets `name`, takes `{ cause }`, and is
 * exported from the package root so callers can `instanceof`-test them.
 * Errors that report a failed call are created at the call site, so their
 * stack points at the caller (nats.js does the same).
 */

/** Base class of every zmp error. */
export class ZmpError extends Error {
  /** A stable machine-readable code, e.g. `"TIMEOUT"`, carried across the wire. */
  readonly code: string = "ZMP";
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** A call, wait or start did not finish within its `timeoutMs`. */
export class TimeoutError extends ZmpError {
  override readonly code = "TIMEOUT";
  constructor(
    message: string,
    readonly timeoutMs: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** The remote handler threw, or its result could not be encoded. */
export class RemoteError extends ZmpError {
  override readonly code = "REMOTE";
  constructor(
    message: string,
    /** Name of the node that raised it. */
    readonly node: string,
    /** `name` of the remote error (e.g. `"TypeError"`). */
    readonly remoteName: string,
    /** Stack of the remote error, as text (never evaluated); undefined from a node on tcp unless it sets `remoteStacks: true`. */
    readonly remoteStack: string | undefined,
    /** `code` of the remote error, when it had a string one. */
    readonly remoteCode?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** No live node provides the service (or the targeted node does not). */
export class UnknownServiceError extends ZmpError {
  override readonly code = "UNKNOWN_SERVICE";
  constructor(
    message: string,
    readonly service: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** The node, channel or graph was closed while the operation was pending or before it began. */
export class ClosedError extends ZmpError {
  override readonly code = "CLOSED";
}

/** A value could not be encoded, or a frame could not be decoded. */
export class CodecError extends ZmpError {
  override readonly code = "CODEC";
}

/** The peer serving a call went away (disconnected, crashed or was evicted) before replying. */
export class PeerLostError extends ZmpError {
  override readonly code = "PEER_LOST";
  constructor(
    message: string,
    readonly node: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Another live node already holds this name in the directory. */
export class NameTakenError extends ZmpError {
  override readonly code = "NAME_TAKEN";
  constructor(
    message: string,
    readonly nodeName: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** A hosted node's thread or process ended (or failed to start) before it was ready. */
export class HostExitError extends ZmpError {
  override readonly code = "HOST_EXIT";
  constructor(
    message: string,
    /** Exit code, or null when ended by a signal. */
    readonly exitCode: number | null,
    /** Signal name (e.g. `"SIGKILL"`), or null. */
    readonly signal: string | null,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** A CurveZMQ handshake was refused (key not allowed, or the wrong server key). */
export class SecurityError extends ZmpError {
  override readonly code = "SECURITY";
}

/** The caller may not do this: a setting no remote caller may change (a tap file), a role it lacks. */
export class ForbiddenError extends ZmpError {
  override readonly code = "FORBIDDEN";
}

/** A limit of the directory (or of a node) refused a request: `limit` names the option. */
export class LimitError extends ZmpError {
  override readonly code = "LIMIT";
  constructor(
    message: string,
    /** The option that set the limit, e.g. `"maxNodes"`. */
    readonly limit: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** A second concurrent consumer of a stream that allows one. */
export class BusyError extends ZmpError {
  override readonly code = "BUSY";
}

/** A message exceeds `maxMessageSize` (refused before sending, or by the receiving node). */
export class ProtocolError extends ZmpError {
  override readonly code = "PROTOCOL";
}

/** Plain-data view of an error for the wire: never carries code, only text. */
export interface ErrorData {
  name: string;
  message: string;
  stack?: string;
  code?: string;
}

/**
 * Turns anything thrown into wire data (name, message, code, and the stack
 * when `stack` is true: a stack names files and lines of the side that
 * threw, which a remote caller has no business reading by default).
 */
export function errorToData(error: unknown, stack = true): ErrorData {
  if (error instanceof Error) {
    const data: ErrorData = { name: error.name, message: error.message };
    if (stack && typeof error.stack === "string") data.stack = error.stack;
    const code = (error as { code?: unknown }).code;
    if (typeof code === "string") data.code = code;
    return data;
  }
  return { name: "Error", message: typeof error === "string" ? error : safeString(error) };
}

/** Reads wire data back into a `{ name, message, stack, code }` with string fields only. */
export function dataToErrorData(value: unknown): ErrorData {
  const v = (value ?? {}) as Record<string, unknown>;
  const data: ErrorData = {
    name: typeof v.name === "string" ? v.name : "Error",
    message: typeof v.message === "string" ? v.message : "unknown remote error",
  };
  if (typeof v.stack === "string") data.stack = v.stack;
  if (typeof v.code === "string") data.code = v.code;
  return data;
}

function safeString(value: unknown): string {
  try {
    return String(value);
  } catch {
    return Object.prototype.toString.call(value);
  }
}
