/**
 * Who may do what in a CurveZMQ graph, by public key: the allow list with
 * roles. A key on the list may connect (the ZAP handler admits it); what it
 * may register is written next to it — the node names it may take, the
 * services it may provide, the queues it may pull, the topics it may
 * publish, the channels it may front (as a proxy or cache) — and whether it
 * may steer (call `*.control` services and `zmp.faults`). As with NATS
 * permissions, each is a list of names or prefixes (`sensor/*`); a key
 * listed with nothing else may do everything but steer.
 *
 * The allow file has one key per line, then its permissions:
 *
 *     # the graph's operator: everything, steering included
 *     rq:A]…40 characters…                      control
 *     # a worker: its own names, one queue, nothing else
 *     x7#y…40 characters…  name=worker-*  pull=jobs  provide=-  publish=-  front=-
 *
 * `#` is a Z85 character (about a third of keys hold one), so a line is a
 * key line when its first word is a 40-character Z85 key; otherwise a line
 * starting with `#` is a comment, and after a key, a word starting with `#`
 * begins a comment. No key starts with `#` (its first group of five would
 * exceed 32 bits), so a comment is never taken for a key.
 */
import { ForbiddenError } from "./errors.js";
import { checkKey } from "./keys.js";
import type { NodeRecord } from "./record.js";

/** What one key may do. Patterns: exact names, or prefixes ending with `*` (`*` alone: anything). */
export interface AllowEntry {
  /** The key's Z85 text (40 characters). */
  key: string;
  /** Node names it may register. Default: any. */
  name?: readonly string[];
  /** Services it may provide. Default: any. */
  provide?: readonly string[];
  /** Queues it may pull from. Default: any. */
  pull?: readonly string[];
  /** Topics it may publish (list in its record). Default: any. */
  publish?: readonly string[];
  /** Channels (services, queues, topic prefixes) it may front as a proxy or cache. Default: any. */
  front?: readonly string[];
  /** Whether it may call `*.control` services and `zmp.faults`. Default false. */
  control?: boolean;
}

const FIELDS = ["name", "provide", "pull", "publish", "front"] as const;
type Field = (typeof FIELDS)[number];

/** A permission's patterns, ready to match. */
class Patterns {
  readonly #any: boolean;
  readonly #exact: Set<string>;
  readonly #prefixes: string[];

  constructor(readonly source: readonly string[]) {
    this.#any = source.includes("*");
    this.#exact = new Set(source.filter((p) => !p.endsWith("*")));
    this.#prefixes = source.filter((p) => p.endsWith("*")).map((p) => p.slice(0, -1));
  }

  matches(name: string): boolean {
    return this.#any || this.#exact.has(name) || this.#prefixes.some((p) => name.startsWith(p));
  }
}

const ANY = new Patterns(["*"]);

/** The permissions of one key, compiled. */
interface Permissions {
  readonly name: Patterns;
  readonly provide: Patterns;
  readonly pull: Patterns;
  readonly publish: Patterns;
  readonly front: Patterns;
  readonly control: boolean;
}

/** Everything, steering included: the graph's own key (the directory's, the per-user credential). */
const ALL: Permissions = { name: ANY, provide: ANY, pull: ANY, publish: ANY, front: ANY, control: true };

/** Checks one allow entry (a key alone, or a key with permissions), naming what is wrong. */
export function checkAllowEntry(value: unknown, option: string): AllowEntry {
  if (typeof value === "string") return { key: checkKey(value, option) };
  if (value === null || typeof value !== "object")
    throw new TypeError(
      `Expected \`${option}\` to be a key or { key, name?, provide?, pull?, publish?, front?, control? }`,
    );
  const v = value as Record<string, unknown>;
  const entry: AllowEntry = { key: checkKey(v.key, `${option}.key`) };
  for (const field of FIELDS) {
    const list = v[field];
    if (list === undefined) continue;
    if (!Array.isArray(list) || list.some((p) => typeof p !== "string" || p.length === 0 || p.length > 129))
      throw new TypeError(
        `Expected \`${option}.${field}\` to be an array of names or prefixes ending with *`,
      );
    (entry as Record<Field, readonly string[]>)[field] = list as string[];
  }
  if (v.control !== undefined) {
    if (typeof v.control !== "boolean") throw new TypeError(`Expected \`${option}.control\` to be a boolean`);
    entry.control = v.control;
  }
  return entry;
}

/**
 * Parses an allow file (see the top of this file); throws `TypeError`
 * naming the line and what is wrong with it. `source` names the file.
 */
export function parseAllowFile(text: string, source: string): AllowEntry[] {
  const entries: AllowEntry[] = [];
  const lines = text.split(/\r?\n/);
  for (const [i, line] of lines.entries()) {
    const where = `line ${i + 1} of ${source}`;
    const words = line
      .trim()
      .split(/\s+/)
      .filter((w) => w.length > 0);
    if (words.length === 0) continue;
    const first = words[0]!;
    let isKey = true;
    try {
      checkKey(first, where);
    } catch {
      isKey = false;
    }
    if (!isKey) {
      if (first.startsWith("#")) continue;
      throw new TypeError(`${where}: expected a 40-character Z85 key first, got \`${first.slice(0, 60)}\``);
    }
    const entry: AllowEntry = { key: first };
    for (const word of words.slice(1)) {
      if (word.startsWith("#")) break;
      if (word === "control") {
        entry.control = true;
        continue;
      }
      const eq = word.indexOf("=");
      const field = word.slice(0, eq);
      if (eq < 0 || (!(FIELDS as readonly string[]).includes(field) && field !== "control"))
        throw new TypeError(
          `${where}: expected \`control\` or name=, provide=, pull=, publish=, front= after the key, got \`${word}\``,
        );
      const value = word.slice(eq + 1);
      if (field === "control") {
        if (value !== "yes" && value !== "no")
          throw new TypeError(`${where}: expected control=yes or control=no`);
        entry.control = value === "yes";
        continue;
      }
      (entry as Record<Field, readonly string[]>)[field as Field] =
        value === "" || value === "-" ? [] : value.split(",").filter((p) => p.length > 0);
    }
    entries.push(entry);
  }
  return entries;
}

/**
 * The allow list with roles, compiled. `full` keys (the graph's own) may do
 * everything; a key on neither list is not let in.
 */
export class Policy {
  readonly #byKey = new Map<string, Permissions>();

  constructor(entries: readonly (string | AllowEntry)[], full: readonly string[] = []) {
    for (const value of entries) {
      const entry = typeof value === "string" ? { key: value } : value;
      this.#byKey.set(entry.key, {
        name: entry.name ? new Patterns(entry.name) : ANY,
        provide: entry.provide ? new Patterns(entry.provide) : ANY,
        pull: entry.pull ? new Patterns(entry.pull) : ANY,
        publish: entry.publish ? new Patterns(entry.publish) : ANY,
        front: entry.front ? new Patterns(entry.front) : ANY,
        control: entry.control === true,
      });
    }
    for (const key of full) this.#byKey.set(key, ALL);
  }

  /** The keys let in. */
  keys(): string[] {
    return [...this.#byKey.keys()];
  }

  /** Whether `key` may connect. */
  admits(key: string): boolean {
    return this.#byKey.has(key);
  }

  /** Whether `key` may call `*.control` services and `zmp.faults`. */
  mayControl(key: string | undefined): boolean {
    return key !== undefined && this.#byKey.get(key)?.control === true;
  }

  /**
   * Checks what a record lists against the permissions of the key that
   * registers it; throws `ForbiddenError` naming the first thing it may not.
   */
  checkRecord(key: string, record: NodeRecord): void {
    const p = this.#byKey.get(key);
    const deny = (what: string): never => {
      throw new ForbiddenError(`key ${key.slice(0, 8)}… may not ${what} (see its line in the allow list)`);
    };
    if (p === undefined) deny("join this graph");
    if (!p!.name.matches(record.name)) deny(`register the name \`${record.name}\``);
    for (const s of record.services) if (!p!.provide.matches(s)) deny(`provide \`${s}\``);
    for (const q of record.queues) if (!p!.pull.matches(q.name)) deny(`pull from \`${q.name}\``);
    for (const t of record.topics) if (!p!.publish.matches(t)) deny(`publish \`${t}\``);
    for (const f of record.fronts) if (!p!.front.matches(f.name)) deny(`front the ${f.kind} \`${f.name}\``);
  }

  /** The keys that may steer (sent to nodes, which authorise `*.control` calls by them). */
  controlKeys(): string[] {
    return [...this.#byKey].filter(([, p]) => p.control).map(([key]) => key);
  }
}
