/**
 * The checks of `zmp selftest`: it starts a small graph of its own (an
 * embedded directory, not advertised), with nodes in child processes and
 * worker threads, and checks services, topics, queues, meters and a provider killed mid-call across
 * them. Each check has a time budget, so a fault shows as a failed check,
 * never a hang; every node, host and temp file is gone when it returns, also
 * after a failure or an abort (Ctrl-C).
 *
 * The nodes it spawns are the modules in `selftest-nodes/`, resolved next to
 * this file (`.ts` from source through tsx, `.js` from the build).
 */
import { existsSync } from "node:fs";
import { dirname } from "node:path";
import { isDeepStrictEqual } from "node:util";
import { PeerLostError, RemoteError, TimeoutError } from "../../core/errors.js";
import { Graph } from "../../core/graph.js";
import type { HostedNode } from "../../core/host.js";
import type { Node } from "../../core/node.js";
import type { NodeStats } from "../../core/node-meters.js";
import { BuiltinService } from "../../core/wire.js";
import type { SourceArgs } from "./selftest-nodes/source.js";
import type { WorkerArgs, WorkerCounts } from "./selftest-nodes/worker.js";

export interface SelftestOptions {
  /** Fewer messages (1 000 per channel instead of 10 000) and ipc only (the full run adds tcp). Default false. */
  quick?: boolean;
  /** Called as each check finishes (to print it). */
  onCheck?: (check: CheckResult) => void;
  /** Ends the run early: the current check stops, everything started is stopped and removed. */
  signal?: AbortSignal;
}

/** One check: what it tested, whether it passed, how long it took, and why it failed. */
export interface CheckResult {
  /** `graph`, `services`, `topics`, `queues`, `meters`, `faults` or `cleanup` (with ` [tcp]` on the tcp pass). */
  group: string;
  name: string;
  ok: boolean;
  /** Duration of the check, ms. */
  ms: number;
  /** Why it failed (failed checks only). */
  reason?: string;
}

export interface SelftestResult {
  /** True when every check passed and the run was not aborted. */
  ok: boolean;
  passed: number;
  failed: number;
  /** The run was ended by the abort signal; `checks` holds those that finished. */
  aborted: boolean;
  /** Duration of the whole run, ms. */
  ms: number;
  checks: CheckResult[];
}

const ext = import.meta.url.endsWith(".ts") ? ".ts" : ".js";
/** URL of one of the selftest's node modules, next to this file in source and in the build. */
const nodeModule = (name: string): URL => new URL(`./selftest-nodes/${name}${ext}`, import.meta.url);

const TOPIC = "selftest/numbers";
const QUEUE = "selftest.jobs";
const WORKERS = ["worker-1", "worker-2"] as const;
/** Budget of one check, ms; of the start of the graph (child processes compile TypeScript from source), ms. */
const CHECK_MS = 5000;
const START_MS = 20_000;

/** A failed expectation inside a check. */
class CheckFailed extends Error {}

function expect(condition: unknown, message: string): asserts condition {
  if (!condition) throw new CheckFailed(message);
}

/** Runs the selftest; resolves with every check's result (it does not throw for a failed check). */
export async function selftest(options: SelftestOptions = {}): Promise<SelftestResult> {
  const started = performance.now();
  const checks: CheckResult[] = [];
  const signal = options.signal ?? new AbortController().signal;
  const report = (check: CheckResult): void => {
    checks.push(check);
    options.onCheck?.(check);
  };
  const transports = options.quick ? (["ipc"] as const) : (["ipc", "tcp"] as const);
  const n = options.quick ? 1000 : 10_000;
  for (const transport of transports) {
    if (signal.aborted) break;
    const suffix = transports.length > 1 && transport !== "ipc" ? ` [${transport}]` : "";
    await runPass({ transport, n, suffix, signal, report });
  }
  const failed = checks.filter((c) => !c.ok).length;
  return {
    ok: failed === 0 && !signal.aborted,
    passed: checks.length - failed,
    failed,
    aborted: signal.aborted,
    ms: performance.now() - started,
    checks,
  };
}

interface Pass {
  transport: "ipc" | "tcp";
  /** Messages per topic and queue check. */
  n: number;
  /** Appended to each group name (`" [tcp]"`). */
  suffix: string;
  signal: AbortSignal;
  report: (check: CheckResult) => void;
}

/** The nodes of one pass. */
interface Cast {
  graph: Graph;
  control: Node;
  provider: HostedNode;
  source: HostedNode;
  victim: HostedNode;
  workers: HostedNode[];
}

/** One pass of every check over one transport, in a graph of its own. */
async function runPass(pass: Pass): Promise<void> {
  const { signal } = pass;
  let graph: Graph | undefined;
  let cast: Cast | undefined;
  let starting: Promise<Cast> | undefined;
  let closed = false;

  /** Runs one check within its budget; false when it failed (or the run was aborted). */
  const check = async (group: string, name: string, body: () => Promise<unknown>, budgetMs = CHECK_MS) => {
    if (signal.aborted) return false;
    const t0 = performance.now();
    try {
      const result = await withBudget(body(), budgetMs, signal);
      const detail = typeof result === "string" ? result : undefined;
      pass.report({
        group: group + pass.suffix,
        name: detail ? `${name} (${detail})` : name,
        ok: true,
        ms: performance.now() - t0,
      });
      return true;
    } catch (error) {
      if (signal.aborted) return false;
      pass.report({
        group: group + pass.suffix,
        name,
        ok: false,
        ms: performance.now() - t0,
        reason: describe(error),
      });
      return false;
    }
  };

  try {
    const up = await check(
      "graph",
      "embedded directory, 3 nodes in child processes and 2 in worker threads start",
      async () => {
        graph = await Graph.open({
          advertise: false,
          transport: pass.transport,
          // An explicit tcp bind: Graph.open() would otherwise leave an unused temp folder behind.
          ...(pass.transport === "tcp" ? { bind: "tcp://127.0.0.1:*" } : {}),
          nodeDefaults: { drainTimeoutMs: 1000, lingerMs: 200 },
        });
        starting = startCast(graph);
        cast = await starting;
      },
      START_MS,
    );
    if (!up || cast === undefined) return;
    const c = cast;
    const ctl = c.control;
    const stats = (node: string): Promise<NodeStats> =>
      ctl.call<NodeStats>(BuiltinService.STATS, null, { node, timeoutMs: 2000 });
    let echoes = 0;

    await check("services", "call across processes", async () => {
      const request = { text: "zmp", list: [1, 2, 3] };
      const reply = await ctl.call<{ request: unknown; pid: number }>("selftest.echo", request, {
        node: "provider",
        timeoutMs: 2000,
      });
      echoes++;
      expect(isDeepStrictEqual(reply.request, request), `reply ${JSON.stringify(reply.request)}`);
      expect(reply.pid === c.provider.pid && reply.pid !== process.pid, `answered by pid ${reply.pid}`);
    });

    await check("services", "call into a worker thread", async () => {
      const reply = await ctl.call<{ pid: number; threadId: number }>("selftest.whoami", null, {
        node: WORKERS[0],
        timeoutMs: 2000,
      });
      expect(reply.pid === process.pid && reply.threadId > 0, `answered from ${JSON.stringify(reply)}`);
    });

    await check("services", "call from a thread to a process", async () => {
      const reply = await ctl.call<{ request: unknown; pid: number }>(
        "selftest.forward",
        { service: "selftest.echo", node: "provider", request: "forwarded" },
        { node: WORKERS[1], timeoutMs: 3000 },
      );
      echoes++;
      expect(reply.request === "forwarded" && reply.pid === c.provider.pid, `reply ${JSON.stringify(reply)}`);
    });

    await check("services", "a handler's error arrives as RemoteError", async () => {
      const error = await failure(ctl.call("selftest.fail", null, { node: "provider", timeoutMs: 2000 }));
      expect(error instanceof RemoteError, `got ${describe(error)}`);
      expect(
        error.node === "provider" && error.remoteName === "TypeError" && /always fails/.test(error.message),
        `got ${error.remoteName} from ${error.node}: ${error.message}`,
      );
      return `${error.remoteName} from ${error.node}`;
    });

    await check("services", "a slow call ends with TimeoutError at its timeout", async () => {
      const t0 = performance.now();
      const error = await failure(
        ctl.call("selftest.sleep", { ms: 3000 }, { node: "provider", timeoutMs: 100 }),
      );
      const ms = performance.now() - t0;
      expect(error instanceof TimeoutError, `got ${describe(error)}`);
      // Loose on purpose: a loaded machine delays timers, which must not change the outcome.
      expect(ms >= 95 && ms < 1500, `after ${ms.toFixed(0)} ms, expected about 100`);
    });

    await check(
      "topics",
      `${pass.n} messages published in a process reach 2 threads, exact count`,
      async () => {
        await ctl.call(
          "selftest.publish",
          { n: pass.n, peers: WORKERS.length },
          { node: "source", timeoutMs: 4000 },
        );
        const expected = (pass.n * (pass.n + 1)) / 2;
        const counts = await until(
          () => workerCounts(ctl),
          (all) => all.every((w) => w.received >= pass.n),
          2000,
        );
        for (const [i, w] of counts.entries())
          expect(
            w.received === pass.n && w.receivedSum === expected,
            `${WORKERS[i]} received ${w.received} of ${pass.n} (sum ${w.receivedSum}, expected ${expected})`,
          );
      },
    );

    await check(
      "queues",
      `${pass.n} messages pushed from a process, shared by 2 thread workers`,
      async () => {
        await ctl.call(
          "selftest.push",
          { n: pass.n, peers: WORKERS.length },
          { node: "source", timeoutMs: 4000 },
        );
        const expected = (pass.n * (pass.n + 1)) / 2;
        const counts = await until(
          () => workerCounts(ctl),
          (all) => all.reduce((s, w) => s + w.handled, 0) >= pass.n,
          3000,
        );
        const handled = counts.map((w) => w.handled);
        const sum = counts.reduce((s, w) => s + w.handledSum, 0);
        const total = handled.reduce((s, h) => s + h, 0);
        expect(
          total === pass.n && sum === expected,
          `handled ${handled.join(" + ")} = ${total} (sum ${sum}, expected ${expected})`,
        );
        expect(
          handled.every((h) => h > 0),
          `one worker handled nothing (${handled.join(" + ")})`,
        );
        return handled.join(" + ");
      },
    );

    await check("queues", "backlog returns to 0 at the producer and both pullers", async () => {
      const seen = await until(
        () => Promise.all([stats("source"), ...WORKERS.map(stats)]),
        ([s, ...w]) => s!.pushed[QUEUE]?.backlog === 0 && w.every((x) => x.pulled[QUEUE]?.backlog === 0),
        2000,
      );
      const peak = seen[0]!.pushed[QUEUE]?.backlogPeak ?? 0;
      expect(peak > 0, "the producer's backlog never rose above 0");
      return `peak ${peak}`;
    });

    await check("meters", "zmp.stats answers remotely with exact counts and a rate", async () => {
      const p = await stats("provider");
      const echo = p.services["selftest.echo"];
      const fail = p.services["selftest.fail"];
      expect(echo?.messagesIn === echoes, `provider counted ${echo?.messagesIn} echo calls, made ${echoes}`);
      expect(fail?.errors === 1, `provider counted ${fail?.errors} failed calls, expected 1`);
      // Rates are updated every 100 ms: the burst shows at the next tick.
      const s = await until(
        () => stats("source"),
        (x) => (x.published[TOPIC]?.rate ?? 0) > 0,
        1000,
      );
      const published = s.published[TOPIC];
      expect(published?.messagesOut === pass.n, `source counted ${published?.messagesOut} published`);
      expect((published?.rate ?? 0) > 0, `source's publish rate is ${published?.rate}`);
      return `${echoes} calls, 1 error, ${pass.n} published`;
    });

    await check("faults", "SIGKILL of a provider mid-call gives PeerLostError, not a hang", async () => {
      const pending = ctl.call("selftest.sleep", { ms: 60_000 }, { node: "victim", timeoutMs: 4000 });
      pending.catch(() => undefined);
      await until(
        () => stats("victim"),
        (s) => s.services["selftest.sleep"]?.inflight === 1,
        2000,
      );
      const t0 = performance.now();
      c.victim.kill("SIGKILL");
      const error = await failure(pending);
      const ms = performance.now() - t0;
      expect(error instanceof PeerLostError, `got ${describe(error)} after ${ms.toFixed(0)} ms`);
      return `${ms.toFixed(0)} ms after the kill`;
    });

    await check("faults", "the killed node leaves the directory", async () => {
      await until(
        () => c.graph.nodes(),
        (nodes) => !nodes.some((node) => node.name === "victim"),
        3000,
      );
      const exit = await c.victim.exited;
      expect(exit.signal === "SIGKILL" && !exit.expected, `victim exit ${JSON.stringify(exit)}`);
    });

    await check("cleanup", "every node stops, every host exits, the temp folder is removed", async () => {
      const folder = ipcFolder(c.graph.directory);
      const hosts = [c.provider, c.source, c.victim, ...c.workers];
      closed = true;
      await c.graph.close();
      const running = hosts.filter((h) => h.running || (h.host === "process" && alive(h.pid)));
      expect(running.length === 0, `still running: ${running.map((h) => h.name).join(", ")}`);
      expect(folder === undefined || !existsSync(folder), `${folder} is still there`);
    });
  } finally {
    if (!closed) await shutDown(graph, starting);
  }
}

/**
 * Starts the controller (inline), the provider, source and victim (processes)
 * and two workers (threads). If one fails, the others are stopped before it rejects.
 */
async function startCast(graph: Graph): Promise<Cast> {
  const source: SourceArgs = { topic: TOPIC, queue: QUEUE };
  const work: WorkerArgs = { topic: TOPIC, queue: QUEUE, window: 100 };
  const spawn = (module: string, name: string, host: "process" | "thread", args?: unknown) =>
    graph.spawn(nodeModule(module), { name, host, args, startTimeoutMs: START_MS, stopTimeoutMs: 3000 });
  const hosts = await Promise.allSettled([
    spawn("provider", "provider", "process"),
    spawn("source", "source", "process", source),
    spawn("provider", "victim", "process"),
    ...WORKERS.map((name) => spawn("worker", name, "thread", work)),
  ]);
  const started = hosts.flatMap((h) => (h.status === "fulfilled" ? [h.value] : []));
  const failed = hosts.find((h): h is PromiseRejectedResult => h.status === "rejected");
  if (failed !== undefined) {
    await Promise.all(started.map((h) => h.stop()));
    throw failed.reason;
  }
  const [provider, sourceNode, victim, ...workers] = started;
  return {
    graph,
    control: await graph.node("selftest"),
    provider: provider!,
    source: sourceNode!,
    victim: victim!,
    workers,
  };
}

/**
 * After a failure or an abort: waits for hosts still starting, kills the
 * child processes (no draining), then closes the graph, which stops the
 * threads and removes its temp folder. Threads are stopped rather than
 * killed: a killed thread leaves its connections half-open, and every other
 * node of this process then takes its full 1 s teardown bound to stop.
 */
async function shutDown(graph: Graph | undefined, starting: Promise<unknown> | undefined): Promise<void> {
  if (graph === undefined) return;
  await starting?.catch(() => undefined);
  for (const hosted of graph.hosted()) if (hosted.host === "process") hosted.kill();
  await graph.close().catch(() => undefined);
}

function workerCounts(ctl: Node): Promise<WorkerCounts[]> {
  return Promise.all(
    WORKERS.map((node) => ctl.call<WorkerCounts>("selftest.counts", null, { node, timeoutMs: 2000 })),
  );
}

/** Polls `read` until `done` holds, then returns the value; after `timeoutMs` returns the last value. */
async function until<T>(read: () => Promise<T>, done: (value: T) => boolean, timeoutMs: number): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value) || performance.now() > deadline) return value;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** What `promise` rejected with; a check failure when it resolved. */
async function failure(promise: Promise<unknown>): Promise<Error> {
  try {
    const value = await promise;
    throw new CheckFailed(`expected an error, got ${JSON.stringify(value)}`);
  } catch (error) {
    if (error instanceof CheckFailed) throw error;
    return error as Error;
  }
}

/** Settles like `promise`, or rejects after `ms` or when `signal` aborts. */
function withBudget<T>(promise: Promise<T>, ms: number, signal: AbortSignal): Promise<T> {
  return new Promise((resolve, reject) => {
    const abort = (): void => {
      clearTimeout(timer);
      reject(new Error("interrupted"));
    };
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", abort);
      reject(new CheckFailed(`no result within ${ms} ms`));
    }, ms);
    signal.addEventListener("abort", abort, { once: true });
    promise.then(
      (value) => {
        clearTimeout(timer);
        signal.removeEventListener("abort", abort);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        signal.removeEventListener("abort", abort);
        reject(error);
      },
    );
  });
}

/** An error as one line: its message for a failed expectation, else `Name: message`. */
function describe(error: unknown): string {
  if (error instanceof CheckFailed) return error.message;
  if (error instanceof Error) return `${error.name}: ${error.message.split("\n")[0]}`;
  return String(error);
}

/** The private folder of an ipc directory endpoint (`ipc:///tmp/zmp-x/directory.sock`). */
function ipcFolder(endpoint: string): string | undefined {
  return endpoint.startsWith("ipc://") ? dirname(endpoint.slice("ipc://".length)) : undefined;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
