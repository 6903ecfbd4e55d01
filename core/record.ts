/**
 * What the directory knows about a node, and the checks applied to records
 * arriving from the wire (a record is data from a peer: it is validated field
 * by field, never trusted).
 */
import { LimitError } from "./errors.js";

/** Where a node's code runs. `remote` is a node that joined from another host or terminal. */
export type HostKind = "inline" | "thread" | "process" | "remote";
export const HOST_KINDS: readonly HostKind[] = ["inline", "thread", "process", "remote"];

/** A queue a node pulls from, with the credit window it grants each producer. */
export interface QueueRecord {
  name: string;
  /** Messages a producer may have unacknowledged at this puller. */
  window: number;
}

/**
 * A channel this node fronts as a proxy or cache: the nodes that use the
 * channel go through it (callers of a service, producers of a queue,
 * subscribers of topics under a prefix), while the fronting node itself
 * reaches the real providers, pullers or publishers.
 */
export interface FrontRecord {
  kind: "service" | "queue" | "topic";
  /** Service or queue name; for topics, a prefix. */
  name: string;
}

export interface NodeRecord {
  /** Unique instance id (also its ZeroMQ routing id); changes at every start. */
  id: string;
  /** The node's name, unique among live nodes. */
  name: string;
  host: HostKind;
  pid: number;
  hostname: string;
  /** ROUTER endpoint for services and queue messages. */
  endpoint: string;
  /** XPUB endpoint for topics. */
  pubEndpoint: string;
  services: string[];
  /** Topics this node has published on. */
  topics: string[];
  /** Queues this node pulls from. */
  queues: QueueRecord[];
  /** Channels this node fronts (proxies, caches). */
  fronts: FrontRecord[];
  /** The node's CURVE public key (Z85), in a secured graph. */
  publicKey?: string;
  /** When the node started, ms since the epoch. */
  startedAt: number;
}

/** Checks a Z85 CURVE key (40 characters of the Z85 alphabet). */
function checkKey(key: unknown, field: string): string {
  if (typeof key !== "string" || !/^[0-9a-zA-Z.\-:+=^!/*?&<>()[\]{}@%$#]{40}$/.test(key))
    throw new TypeError(`Expected record field \`${field}\` to be a Z85 key`);
  return key;
}

/** A change the directory announces. */
export type DirectoryChange = { op: "up"; node: NodeRecord } | { op: "down"; id: string; reason: string };

const NAME = /^[A-Za-z0-9_.:/@+-]{1,128}$/;

/** Checks a node or channel name: 1–128 characters of `A-Z a-z 0-9 _ . : / @ + -`. */
export function checkName(value: unknown, what = "name"): string {
  if (typeof value !== "string" || !NAME.test(value)) {
    throw new TypeError(
      `Expected \`${what}\` to be 1–128 characters of A-Z a-z 0-9 _ . : / @ + -, got \`${String(value).slice(0, 200)}\``,
    );
  }
  return value;
}

function str(v: unknown, field: string, max = 1024): string {
  if (typeof v !== "string" || v.length > max)
    throw new TypeError(`Expected record field \`${field}\` to be a string`);
  return v;
}

function list(v: unknown, field: string, maxLength: number): unknown[] {
  if (!Array.isArray(v)) throw new TypeError(`Expected record field \`${field}\` to be an array`);
  if (v.length > maxLength)
    throw new LimitError(
      `record field \`${field}\` lists ${v.length} entries, more than the limit of ${maxLength}`,
      "maxListLength",
    );
  return v;
}

function strings(v: unknown, field: string, maxLength: number): string[] {
  return list(v, field, maxLength).map((x, i) => checkName(x, `${field}[${i}]`));
}

/** An instance id: the node's name, `#`, and a base-36 tag (what `Node.start()` makes). */
const INSTANCE_ID = /^(.+)#[0-9a-z]{1,20}$/;

/**
 * Validates a record received from the wire; throws `TypeError` naming the
 * bad field, or `LimitError` for a list longer than `maxListLength`
 * (default 10 000; the directory applies its own, lower limit).
 */
export function parseRecord(value: unknown, maxListLength = 10_000): NodeRecord {
  if (value === null || typeof value !== "object" || Array.isArray(value))
    throw new TypeError("Expected a node record object");
  const v = value as Record<string, unknown>;
  const host = v.host;
  if (!HOST_KINDS.includes(host as HostKind))
    throw new TypeError(`Expected record field \`host\` to be one of ${HOST_KINDS.join(", ")}`);
  if (!Number.isInteger(v.pid)) throw new TypeError("Expected record field `pid` to be an integer");
  if (typeof v.startedAt !== "number")
    throw new TypeError("Expected record field `startedAt` to be a number");
  const queues = list(v.queues, "queues", maxListLength).map((q, i) => {
    const r = (q ?? {}) as Record<string, unknown>;
    if (!Number.isInteger(r.window) || (r.window as number) < 1)
      throw new TypeError(`Expected record field \`queues[${i}].window\` to be a positive integer`);
    return { name: checkName(r.name, `queues[${i}].name`), window: r.window as number };
  });
  const fronts = list(v.fronts ?? [], "fronts", maxListLength).map((f, i) => {
    const r = (f ?? {}) as Record<string, unknown>;
    if (r.kind !== "service" && r.kind !== "queue" && r.kind !== "topic")
      throw new TypeError(`Expected record field \`fronts[${i}].kind\` to be service, queue or topic`);
    const kind: FrontRecord["kind"] = r.kind;
    return { kind, name: kind === "topic" && r.name === "" ? "" : checkName(r.name, `fronts[${i}].name`) };
  });
  const name = checkName(v.name, "name");
  const id = str(v.id, "id", 255);
  if (INSTANCE_ID.exec(id)?.[1] !== name)
    throw new TypeError(
      `Expected record field \`id\` to be the node's name, \`#\` and a tag, got \`${id.slice(0, 60)}\``,
    );
  return {
    id,
    name,
    host: host as HostKind,
    pid: v.pid as number,
    hostname: str(v.hostname, "hostname", 255),
    endpoint: str(v.endpoint, "endpoint"),
    pubEndpoint: str(v.pubEndpoint, "pubEndpoint"),
    services: strings(v.services, "services", maxListLength),
    topics: strings(v.topics, "topics", maxListLength),
    queues,
    fronts,
    ...(v.publicKey !== undefined ? { publicKey: checkKey(v.publicKey, "publicKey") } : {}),
    startedAt: v.startedAt as number,
  };
}
