/**
 * `npm run bench -- --scale`: graphs of 10, 100 and 1 000 nodes. For each
 * size, a fresh directory in a process of its own and a few host processes
 * (scale/host.ts) running a few threads each, every thread starting its share
 * of the nodes inline. Per size it measures:
 *
 * - **form**: from the first node starting to the last one listed (every
 *   node's `start()` resolves only once the directory lists it), the nodes
 *   of each thread starting 64 at a time;
 * - **per join**: the graph formed, ten more nodes join it one after the
 *   other (from another process): the median of their `start()`, the cost
 *   of one join at that size;
 * - **all see all**: until every node's replica lists every node;
 * - **call each**: one node joining afterwards calls `zmp.ping` on every
 *   node once (32 outstanding): the first call to a node opens the connection;
 * - **`zmp graph`**: the CLI listing the graph, as a user runs it (process
 *   start included: compare across sizes);
 * - **directory CPU idle**: the directory process's CPU over a few idle
 *   seconds (heartbeats only), in % of one core, with the heartbeat
 *   interval in force and the heartbeats it took per second;
 * - **per node**: the host processes' growth in resident memory, file
 *   descriptors, kernel sockets (listeners and connections) and ZeroMQ
 *   sockets (one mailbox eventfd each), divided by the nodes they run.
 *
 * Targets: 1 000 nodes form in ≤ 10 s, time per join within 2× from the
 * smallest to the largest graph, idle directory CPU ≤ 5 % of a core at the
 * largest.
 */
import { type ChildProcess, fork, spawn } from "node:child_process";
import { readdirSync, readFileSync, readlinkSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Graph } from "../../../core/index.js";
import { rawDir } from "../cases/setup.js";
import type { Cleanup } from "../cleanup.js";
import { sleep } from "../clock.js";
import { cpuMs } from "../measure.js";
import type { Formed } from "./group.js";

export interface ScaleOptions {
  sizes: number[];
  /** Host processes per graph. Default 2. */
  processes?: number;
  /** Threads per host process (the main one included). Default 2. */
  threads?: number;
  /** The directory's `maxHeartbeatsPerSecond`. Default: the directory's default. */
  maxHeartbeatsPerSecond?: number;
  /** Length of the idle window the directory's CPU is measured over, ms. Default 5 000. */
  idleMs?: number;
  log: (line: string) => void;
}

export interface ScaleRow {
  nodes: number;
  processes: number;
  threads: number;
  /** From the first start to the last node listed, ms. */
  formMs: number;
  /** Median `start()` of ten nodes joining the formed graph one at a time, ms. */
  perJoinMs: number;
  /** Median and largest `start()` of one node, ms. */
  startMedianMs: number;
  startMaxMs: number;
  /** From the first start until every node lists every node, ms. */
  allSeeAllMs: number;
  /** One node calling `zmp.ping` on every node once (32 outstanding), ms in all. */
  callEachMs: number;
  /** `zmp graph` as a process, wall time, ms. */
  graphCliMs: number;
  /** The directory process's CPU while the graph idles, % of one core. */
  directoryIdleCpu: number;
  /** The heartbeat interval the directory asked for with the graph formed, ms. */
  heartbeatMs: number;
  /** Heartbeats the directory took per second while the graph idled. */
  heartbeatsPerSecond: number;
  /** Growth of the host processes per node. */
  perNode: { rssKiB: number; fds: number; kernelSockets: number; zmqSockets: number };
  /** The directory process's file descriptors with the graph formed. */
  directoryFds: number;
}

export interface ScaleTarget {
  target: string;
  value: string;
  met: boolean;
}

const here = (file: string): string =>
  fileURLToPath(new URL(import.meta.url.endsWith(".ts") ? `./${file}.ts` : `./${file}.js`, import.meta.url));

/** A forked helper answering `{ id, op }` requests over the IPC channel. */
class Forked {
  readonly child: ChildProcess;
  #nextId = 0;
  readonly #waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  readonly ready: Promise<Record<string, unknown>>;

  constructor(file: string, args: string[], cleanup: Cleanup) {
    this.child = fork(here(file), args, {
      execArgv: import.meta.url.endsWith(".ts") ? ["--import", import.meta.resolve("tsx")] : [],
      stdio: ["ignore", "inherit", "inherit", "ipc"],
    });
    cleanup.pid(this.child.pid);
    cleanup.add(file, () => this.close());
    this.ready = new Promise((resolve, reject) => {
      this.child.on("message", (m: { ready?: boolean; id?: number; result?: unknown; error?: string }) => {
        if (m.ready) return resolve(m as Record<string, unknown>);
        const w = this.#waiting.get(m.id!);
        this.#waiting.delete(m.id!);
        if (m.error !== undefined) w?.reject(new Error(m.error));
        else w?.resolve(m.result);
      });
      this.child.once("exit", (code, signal) => {
        const error = new Error(`${file} exited (${code ?? signal})`);
        reject(error);
        for (const w of this.#waiting.values()) w.reject(error);
        this.#waiting.clear();
      });
    });
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  request<T>(op: string, extra: Record<string, unknown> = {}): Promise<T> {
    if (!this.child.connected) return Promise.reject(new Error(`${op}: the helper process has exited`));
    const id = ++this.#nextId;
    return new Promise<T>((resolve, reject) => {
      this.#waiting.set(id, { resolve: resolve as (v: unknown) => void, reject });
      // With a callback, a send to a child that just died (EPIPE, before its "exit" event)
      // rejects this request; without one it is an 'error' event that ends the run.
      this.child.send({ id, op, ...extra }, (error) => {
        if (error === null) return;
        this.#waiting.delete(id);
        reject(error);
      });
    });
  }

  async close(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => this.child.once("exit", () => resolve()));
    if (this.child.connected) this.child.disconnect();
    const timer = setTimeout(() => this.child.kill("SIGKILL"), 10_000);
    await exited;
    clearTimeout(timer);
  }
}

/** File descriptors of a process by kind, and its resident memory. */
function footprint(pid: number): { fds: number; kernelSockets: number; zmqSockets: number; rssKiB: number } {
  let fds = 0;
  let kernelSockets = 0;
  let zmqSockets = 0;
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    let target: string;
    try {
      target = readlinkSync(`/proc/${pid}/fd/${fd}`);
    } catch {
      continue; // closed meanwhile
    }
    fds++;
    if (target.startsWith("socket:")) kernelSockets++;
    else if (target === "anon_inode:[eventfd]") zmqSockets++;
  }
  const rss = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return { fds, kernelSockets, zmqSockets, rssKiB: Number(rss?.[1] ?? Number.NaN) };
}

function sum(pids: number[]): ReturnType<typeof footprint> {
  const total = { fds: 0, kernelSockets: 0, zmqSockets: 0, rssKiB: 0 };
  for (const pid of pids) {
    const f = footprint(pid);
    total.fds += f.fds;
    total.kernelSockets += f.kernelSockets;
    total.zmqSockets += f.zmqSockets;
    total.rssKiB += f.rssKiB;
  }
  return total;
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s.length === 0 ? Number.NaN : s[Math.floor((s.length - 1) / 2)]!;
}

/** `zmp graph --json` against `directory`, as a user runs it; wall time in ms. */
function graphCli(directory: string, cleanup: Cleanup): Promise<number> {
  const cli = fileURLToPath(new URL("../../../cli.ts", import.meta.url));
  const t = performance.now();
  const child = spawn(
    process.execPath,
    [
      "--import",
      import.meta.resolve("tsx"),
      cli,
      "graph",
      "--json",
      "--directory",
      directory,
      "--timeout-ms",
      "30000",
    ],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  cleanup.pid(child.pid);
  let stderr = "";
  child.stderr!.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  return new Promise((resolve, reject) => {
    child.once("exit", (code) => {
      if (code === 0) resolve(performance.now() - t);
      else reject(new Error(`zmp graph exited with ${code}: ${stderr.trim()}`));
    });
  });
}

/** One graph of `size` nodes, measured, then closed. */
async function measure(size: number, options: ScaleOptions, cleanup: Cleanup): Promise<ScaleRow> {
  const processes = options.processes ?? 2;
  const threads = options.threads ?? 2;
  const log = options.log;
  const dir = rawDir(cleanup);
  const directoryHost = new Forked(
    "directory-host",
    [
      `ipc://${dir}/directory.sock`,
      ...(options.maxHeartbeatsPerSecond === undefined ? [] : [String(options.maxHeartbeatsPerSecond)]),
    ],
    cleanup,
  );
  const { endpoint } = (await directoryHost.ready) as { endpoint: string };
  const hosts = Array.from({ length: processes }, () => new Forked("host", [String(threads)], cleanup));
  await Promise.all(hosts.map((h) => h.ready));
  const hostPids = hosts.map((h) => h.pid);
  log(
    `scale ${size}: ${processes} host process(es) × ${threads} thread(s) ready (child pids ${cleanup.pids.join(" ")})`,
  );
  // Let the hosts' and workers' start-up settle before the baseline is read.
  await sleep(500);
  const before = sum(hostPids);

  const names = Array.from({ length: size }, (_, i) => `scale-${size}-${i}`);
  const t0 = performance.timeOrigin + performance.now();
  const formed = await Promise.all(
    hosts.map((h, p) =>
      h.request<Formed>("form", { directory: endpoint, names: names.filter((_, i) => i % processes === p) }),
    ),
  );
  const formMs = Math.max(...formed.map((f) => f.formedAt)) - t0;
  const startMs = formed.flatMap((f) => f.startMs);
  log(`scale ${size}: formed in ${(formMs / 1000).toFixed(2)} s`);
  // A graph whose nodes do not all see each other within 2 minutes is a finding: NaN, and the log says so.
  const seenAt = await Promise.all(hosts.map((h) => h.request<number>("seen", { total: size }))).then(
    (times) => Math.max(...times),
    (error: unknown) => {
      log(`scale ${size}: ${(error as Error).message}`);
      return Number.NaN;
    },
  );
  const allSeeAllMs = seenAt - t0;
  log(`scale ${size}: every node sees every other after ${(allSeeAllMs / 1000).toFixed(2)} s`);

  const graph = await Graph.open({ directory: endpoint, advertise: false });
  cleanup.add("scale caller graph", () => graph.close());
  const joins: number[] = [];
  for (let i = 0; i < 10; i++) {
    const t = performance.now();
    await graph.node(`scale-${size}-join-${i}`);
    joins.push(performance.now() - t);
  }
  const perJoinMs = median(joins);
  log(`scale ${size}: one more node joins in ${perJoinMs.toFixed(1)} ms (median of 10)`);
  const caller = await graph.node(`scale-${size}-caller`);
  let next = 0;
  const tc = performance.now();
  await Promise.all(
    Array.from({ length: Math.min(32, size) }, async () => {
      while (next < names.length)
        await caller.call("zmp.ping", null, { node: names[next++]!, timeoutMs: 30_000 });
    }),
  );
  const callEachMs = performance.now() - tc;
  await graph.close();
  log(`scale ${size}: called each node in ${callEachMs.toFixed(0)} ms`);

  // A failure here is a finding, not the end of the run: the row says NaN and the log why.
  const graphCliMs = await graphCli(endpoint, cleanup).catch((error: unknown) => {
    log(`scale ${size}: ${(error as Error).message}`);
    return Number.NaN;
  });
  log(`scale ${size}: zmp graph took ${graphCliMs.toFixed(0)} ms`);

  // Idle: let the CLI's and the caller's departure settle, then read the directory's CPU.
  await sleep(1000);
  const idleMs = options.idleMs ?? 5000;
  type Stats = { heartbeatMs: number; heartbeats: number };
  const stats0 = await directoryHost.request<Stats>("stats");
  const cpu0 = cpuMs([directoryHost.pid]);
  await sleep(idleMs);
  const directoryIdleCpu = ((cpuMs([directoryHost.pid]) - cpu0) / idleMs) * 100;
  const stats1 = await directoryHost.request<Stats>("stats");
  const heartbeatsPerSecond = ((stats1.heartbeats - stats0.heartbeats) * 1000) / idleMs;
  const after = sum(hostPids);
  const directoryFds = footprint(directoryHost.pid).fds;

  await Promise.all(hosts.map((h) => h.request("close")));
  await Promise.all([...hosts, directoryHost].map((h) => h.close()));
  const per = (k: keyof typeof before): number => (after[k] - before[k]) / size;
  return {
    nodes: size,
    processes,
    threads,
    formMs,
    perJoinMs,
    startMedianMs: median(startMs),
    startMaxMs: Math.max(...startMs),
    allSeeAllMs,
    callEachMs,
    graphCliMs,
    directoryIdleCpu,
    heartbeatMs: stats1.heartbeatMs,
    heartbeatsPerSecond,
    perNode: {
      rssKiB: per("rssKiB"),
      fds: per("fds"),
      kernelSockets: per("kernelSockets"),
      zmqSockets: per("zmqSockets"),
    },
    directoryFds,
  };
}

/** Measures every size in turn, each in a fresh graph; every process is closed after its size. */
export async function runScale(options: ScaleOptions, cleanupFor: () => Cleanup): Promise<ScaleRow[]> {
  const rows: ScaleRow[] = [];
  for (const size of options.sizes) {
    const cleanup = cleanupFor();
    try {
      rows.push(await measure(size, options, cleanup));
    } finally {
      await cleanup.run();
    }
  }
  return rows;
}

/** The scale targets, checked on the rows (the largest size for the absolute ones). */
export function scaleTargets(rows: ScaleRow[]): ScaleTarget[] {
  if (rows.length === 0) return [];
  const largest = rows.reduce((a, b) => (b.nodes > a.nodes ? b : a));
  const smallest = rows.reduce((a, b) => (b.nodes < a.nodes ? b : a));
  const growth = largest.perJoinMs / smallest.perJoinMs;
  return [
    {
      target: `${largest.nodes} nodes form in ≤ 10 s`,
      value: `${(largest.formMs / 1000).toFixed(2)} s`,
      met: largest.nodes >= 1000 && largest.formMs <= 10_000,
    },
    {
      target: `time per join within 2× from ${smallest.nodes} to ${largest.nodes} nodes`,
      value: `${growth.toFixed(2)}× (${smallest.perJoinMs.toFixed(2)} → ${largest.perJoinMs.toFixed(2)} ms)`,
      met: largest.nodes >= 1000 && growth <= 2,
    },
    {
      target: `idle directory CPU ≤ 5 % of a core at ${largest.nodes} nodes`,
      value: `${largest.directoryIdleCpu.toFixed(1)} %`,
      met: largest.nodes >= 1000 && largest.directoryIdleCpu <= 5,
    },
  ];
}

/** The rows and targets as text (markdown with `markdown`). */
export function scaleTable(rows: ScaleRow[], markdown = false): string {
  const head = [
    "nodes",
    "form",
    "one more joins",
    "start p50 / max",
    "all see all",
    "call each",
    "zmp graph",
    "directory CPU idle",
    "heartbeat",
    "memory/node",
    "fds/node",
    "kernel sockets/node",
    "ZeroMQ sockets/node",
    "directory fds",
  ];
  const body = rows.map((r) => [
    String(r.nodes),
    `${(r.formMs / 1000).toFixed(2)} s`,
    `${r.perJoinMs.toFixed(2)} ms`,
    `${r.startMedianMs.toFixed(0)} / ${r.startMaxMs.toFixed(0)} ms`,
    `${(r.allSeeAllMs / 1000).toFixed(2)} s`,
    `${r.callEachMs.toFixed(0)} ms (${(r.callEachMs / r.nodes).toFixed(2)} ms/node)`,
    `${(r.graphCliMs / 1000).toFixed(2)} s`,
    `${r.directoryIdleCpu.toFixed(1)} %`,
    `${(r.heartbeatMs / 1000).toFixed(0)} s, ${r.heartbeatsPerSecond.toFixed(0)}/s`,
    `${(r.perNode.rssKiB / 1024).toFixed(2)} MiB`,
    r.perNode.fds.toFixed(1),
    r.perNode.kernelSockets.toFixed(1),
    r.perNode.zmqSockets.toFixed(1),
    String(r.directoryFds),
  ]);
  const targets = scaleTargets(rows).map((t) => `${t.met ? "met" : "NOT met"}: ${t.target} (${t.value})`);
  if (markdown) {
    return [
      `| ${head.join(" | ")} |`,
      `| ${head.map(() => "---").join(" | ")} |`,
      ...body.map((b) => `| ${b.join(" | ")} |`),
      "",
      ...targets.map((t) => `- ${t}`),
    ].join("\n");
  }
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]): string =>
    cells
      .map((c, i) => c.padEnd(widths[i]!))
      .join("  ")
      .trimEnd();
  return [line(head), line(widths.map((w) => "-".repeat(w))), ...body.map(line), "", ...targets].join("\n");
}
