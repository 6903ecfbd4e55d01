/**
 * How commands print: aligned tables, a node's meters per channel endpoint
 * (`zmp stats`), the graph with rates and backlogs (`zmp graph`), and the
 * number formats they share.
 */
import type { ChannelStats } from "../../core/meter.js";
import type { NodeStats } from "../../core/node-meters.js";
import type { NodeRecord } from "../../core/record.js";
import { BuiltinService } from "../../core/wire.js";

/** Formats rows as aligned columns. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]): string =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!)))
      .join("  ")
      .trimEnd();
  return [line(header), ...rows.map(line)].join("\n");
}

/** The kinds of channel endpoint a node reports, in display order, with their `NodeStats` key. */
const CHANNEL_KINDS = [
  ["service", "services"],
  ["call", "calls"],
  ["publish", "published"],
  ["subscribe", "subscribed"],
  ["push", "pushed"],
  ["pull", "pulled"],
] as const;

/** One channel endpoint of a node: its kind, name and meters (undefined when the node did not answer). */
export interface ChannelRow {
  kind: (typeof CHANNEL_KINDS)[number][0];
  name: string;
  stats: ChannelStats | undefined;
}

/** Built-in channels (`zmp.stats`, the directory's services), left out of tables unless asked for. */
const isBuiltin = (name: string): boolean => name.startsWith("zmp.");

/**
 * The channel endpoints of a node, from its directory record (services,
 * published topics, pulled queues) and its meters (everything it used),
 * sorted by kind then name. Built-in `zmp.*` channels only with `all`.
 */
export function channelRows(
  record: NodeRecord | undefined,
  stats: NodeStats | undefined,
  all = false,
): ChannelRow[] {
  const rows = new Map<string, ChannelRow>();
  const add = (kind: ChannelRow["kind"], name: string, s: ChannelStats | undefined): void => {
    if (!all && isBuiltin(name)) return;
    const key = `${kind}\u0000${name}`;
    const row = rows.get(key);
    if (row === undefined) rows.set(key, { kind, name, stats: s });
    else if (s !== undefined) row.stats = s;
  };
  // A listed channel with no meter yet has carried no traffic: zero meters, not unknown.
  const idle = stats === undefined ? undefined : IDLE;
  for (const name of record?.services ?? []) add("service", name, idle);
  for (const name of record?.topics ?? []) add("publish", name, idle);
  for (const q of record?.queues ?? []) add("pull", q.name, idle);
  if (stats !== undefined) {
    for (const [kind, key] of CHANNEL_KINDS)
      for (const [name, s] of Object.entries(stats[key] ?? {})) add(kind, name, s);
  }
  const order = CHANNEL_KINDS.map(([kind]) => kind as string);
  return [...rows.values()].sort(
    (a, b) => order.indexOf(a.kind) - order.indexOf(b.kind) || a.name.localeCompare(b.name),
  );
}

const IDLE: ChannelStats = {
  messagesIn: 0,
  messagesOut: 0,
  bytesIn: 0,
  bytesOut: 0,
  drops: 0,
  errors: 0,
  inflight: 0,
  backlog: 0,
  backlogPeak: 0,
  rate: 0,
  rateIn: 0,
  rateOut: 0,
  latencyP50: Number.NaN,
  latencyP99: Number.NaN,
  serviceTimeP50: Number.NaN,
  serviceTimeP99: Number.NaN,
};

/** A rate in msg/s: one decimal below 100, whole numbers above. */
export function formatRate(rate: number | null | undefined): string {
  if (typeof rate !== "number" || !Number.isFinite(rate)) return "-";
  return rate < 100 ? rate.toFixed(1) : Math.round(rate).toString();
}

/** A duration in ms with three significant digits, `-` when there is none (NaN or null). */
export function formatMs(ms: number | null | undefined): string {
  if (typeof ms !== "number" || !Number.isFinite(ms)) return "-";
  return ms >= 100 ? Math.round(ms).toString() : ms.toPrecision(3);
}

/** The two percentiles as `p50/p99`, `-` when there is none. */
function formatPair(p50: number | null | undefined, p99: number | null | undefined): string {
  const a = formatMs(p50);
  return a === "-" ? "-" : `${a}/${formatMs(p99)}`;
}

/** `NodeStats` as a table of its channel endpoints, with a title line and the reject counts. */
export function statsTable(stats: NodeStats, record?: NodeRecord, all = false): string {
  const title = `node ${stats.name} (${stats.id}): ${stats.host} host, pid ${stats.pid}, up ${(stats.uptimeMs / 1000).toFixed(1)} s`;
  const rows = channelRows(record, stats, all).map(({ kind, name, stats: s }) => {
    const c = s ?? IDLE;
    return [
      kind,
      name,
      formatRate(c.rate),
      String(c.messagesIn),
      String(c.messagesOut),
      String(c.backlog),
      String(c.backlogPeak),
      String(c.inflight),
      String(c.drops),
      String(c.errors),
      formatPair(c.latencyP50, c.latencyP99),
      formatPair(c.serviceTimeP50, c.serviceTimeP99),
    ];
  });
  const body =
    rows.length === 0
      ? "(no channels yet)"
      : table(
          [
            "KIND",
            "CHANNEL",
            "RATE/s",
            "IN",
            "OUT",
            "BACKLOG",
            "PEAK",
            "INFLIGHT",
            "DROPS",
            "ERRORS",
            "LATENCY p50/p99 ms",
            "SERVICE p50/p99 ms",
          ],
          rows,
        );
  const r = stats.rejects;
  const rejects = `rejected frames: ${r.malformed} malformed, ${r.oversized} oversized; refused: ${r.forged ?? 0} forged replies, ${r.forbidden ?? 0} steering calls`;
  return `${title}\n${body}\n${rejects}`;
}

/** A node's record with its meters (`null` when it did not answer `zmp.stats` in time). */
export interface GraphEntry extends NodeRecord {
  stats: NodeStats | null;
}

/** The graph as one line per node and an indented line per channel endpoint with its rate and backlog. */
export function graphTable(entries: GraphEntry[], all = false): string {
  const rows: string[][] = [];
  let silent = 0;
  for (const e of entries) {
    if (e.stats === null) silent++;
    rows.push([e.name, e.host, String(e.pid), "", "", e.endpoint]);
    for (const { kind, name, stats } of channelRows(e, e.stats ?? undefined, all)) {
      rows.push([
        `  ${kind} ${name}`,
        "",
        "",
        stats === undefined ? "?" : formatRate(stats.rate),
        stats === undefined ? "?" : String(stats.backlog),
        "",
      ]);
    }
    // Channels the node fronts as a proxy or cache (their meters are those of its own channels).
    for (const f of e.fronts ?? []) rows.push([`  fronts ${f.kind} ${f.name || '""'}`, "", "", "-", "-", ""]);
  }
  const text =
    entries.length === 0
      ? "(no nodes)"
      : table(["NODE / CHANNEL", "HOST", "PID", "RATE/s", "BACKLOG", "ENDPOINT"], rows);
  const note = silent > 0 ? `\n? = the node did not answer ${BuiltinService.STATS} in time` : "";
  return `${text}${note}`;
}

/** A duration: `3 ms` below a second, `1.24 s` above. */
export function formatDuration(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(2)} s`;
}
