/**
 * zmp's wire protocol on ROUTER sockets. After the routing frame every message
 * is ONE frame: a MessagePack array whose first element is the kind, followed
 * by the kind's fields and then its items (a batch: all the messages one node
 * sent to one peer in one event-loop turn).
 *
 *   CALL    [1, corr, service, request, corr, service, request, ...]
 *   REPLY   [2, corr, status, value, ...]           status 0 = ok, 1 = error, 2 = not run
 *   PUSH    [3, queue, firstSeq, message, message, ...]
 *   ACK     [4, queue, window, ackedThrough, seq, seq, ...]
 *   NOTIFY  [5, version, ...]                       directory -> node: read CHANGES since yours
 *   ERROR   [6, error]                              answer to a frame that could not be read
 *   KEYED   [7, corr, service, request, requestId, ...]   a call made with retries (deduplicated)
 *   AUTH    [8, corr, service, request, key, proof, ...]  a steering call, with the caller's key (steering-auth.ts)
 *
 * Topics use PUB/SUB: frame 1 is the topic (so ZeroMQ's prefix filter works),
 * frame 2 is `[publisherId, firstSeq, message, ...]`.
 */
import { randomBytes } from "node:crypto";

export const Kind = {
  CALL: 1,
  REPLY: 2,
  PUSH: 3,
  ACK: 4,
  NOTIFY: 5,
  ERROR: 6,
  KEYED_CALL: 7,
  AUTH_CALL: 8,
} as const;

export type KindCode = (typeof Kind)[keyof typeof Kind];

/**
 * Reply statuses. NOT_RUN: the provider is stopping and did not run the call,
 * so the caller may send it to another provider.
 */
export const Status = { OK: 0, ERROR: 1, NOT_RUN: 2 } as const;

/** Names of the built-in services every node provides. */
export const BuiltinService = {
  STATS: "zmp.stats",
  PING: "zmp.ping",
  /** Only on nodes started with `faultInjection: true`. */
  FAULTS: "zmp.faults",
} as const;

/** Names of the directory's services. */
export const DirectoryService = {
  REGISTER: "zmp.directory.register",
  HEARTBEAT: "zmp.directory.heartbeat",
  UPDATE: "zmp.directory.update",
  DEREGISTER: "zmp.directory.deregister",
  SNAPSHOT: "zmp.directory.snapshot",
  CHANGES: "zmp.directory.changes",
} as const;

/** The routing id under which every node reaches the directory. */
export const DIRECTORY_ID = "zmp.directory";

/**
 * The routing id a node announces on one connection it makes: its instance
 * id, `@`, and a random tag new for every connect. A peer's bound socket
 * never hands a live routing id to a second connection (no handover), so
 * ids must not repeat: a node that connects again while the peer still
 * holds its old connection (a host healed after a cut, whose FIN is still on
 * the way) would otherwise not be read at all. Random, so no one can claim
 * a node's next connection beforehand.
 */
export function connectionId(nodeId: string): string {
  return `${nodeId}@${randomBytes(6).toString("base64url")}`;
}

/** The node a connection's routing id claims to be (what precedes the last `@`); claimed, never proven. */
export function nodeOf(routingId: string): string {
  const at = routingId.lastIndexOf("@");
  return at < 0 ? routingId : routingId.slice(0, at);
}
