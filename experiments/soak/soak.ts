/**
 * The soak: producers → queue proxy → worker processes, with a
 * feedback loop holding the proxy's backlog at its setpoint by moving the
 * admission rate, for a bounded time, with a worker SIGKILLed part-way and
 * replaced. Every message carries a unique id, and afterwards the ledger
 * accounts for each one (ledger.ts): handled, or shed by admission, never
 * lost, and handled twice only where at-least-once allows it. The RSS and
 * CPU of every process are sampled from `/proc` throughout (memory.ts).
 *
 * Layout, all in child processes but the harness (which also hosts the
 * embedded directory and records the dead letters):
 *
 * - `producers` × producer.ts, `rate / producers` msg/s each;
 * - proxy.ts (toolbox's QueueProxy, dead letters on `soak/dead`);
 * - `workers` × worker.ts, each a server of `capacity · rate / workers`
 *   msg/s that records the ids it handles before acknowledging them;
 * - toolbox/nodes/feedback-loop.ts: a PI controller on the proxy's backlog
 *   with the measured service rate as feedforward, acting on the proxy's
 *   token-bucket rate, 10 samples a second.
 *
 * After `duration` seconds the producers stop, the queue drains (every push
 * acknowledged end to end), the loop stops, and the ledger and the checks
 * are computed. Everything started is stopped and the record folder removed
 * (unless given), also when the run fails.
 */
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from "node:fs";
import { cpus, loadavg, platform, release, tmpdir, totalmem } from "node:os";
import { join } from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import { Graph, type HostedNode, type NodeStats } from "../../core/index.js";
import { fail, integerAtLeast, nonNegative, positive } from "../../toolbox/control/validate.js";
import type { LoopState } from "../../toolbox/loop/feedback-loop.js";
import type { QueueProxyStats } from "../../toolbox/proxy/queue-proxy.js";
import { LatencyHistogram } from "./latency.js";
import { account, ID_SPAN, type Ledger } from "./ledger.js";
import { type MemoryGrowth, memoryGrowth, readProcess } from "./memory.js";
import type { SoakProducerStats } from "./producer.js";
import type { WorkerCredit } from "./proxy.js";
import { callSoak } from "./service.js";
import type { SoakMessage, SoakWorkerStats } from "./worker.js";

const QUEUE = "soak";
const DEAD_LETTERS = "soak/dead";
const LOOP = "backlog";
const MiB = 1024 * 1024;

const fromSource = import.meta.url.endsWith(".ts");
const ext = fromSource ? "ts" : "js";
const modules = {
  producer: new URL(`./producer.${ext}`, import.meta.url),
  proxy: new URL(`./proxy.${ext}`, import.meta.url),
  worker: new URL(`./worker.${ext}`, import.meta.url),
  loop: new URL(`../../toolbox/nodes/feedback-loop.${ext}`, import.meta.url),
};

/** Options of a soak run; every one has a default. */
export interface SoakOptions {
  /** Seconds of load. Default 180. */
  duration?: number;
  /** Messages per second offered, over all producers. Default 80 000. */
  rate?: number;
  /** Producer processes (the rate is shared evenly). Default 2. */
  producers?: number;
  /** Worker processes. Default 3. */
  workers?: number;
  /** The workers' total capacity as a share of `rate` (below 1: the loop must shed the rest). Default 0.8. */
  capacity?: number;
  /** Second at which a worker is SIGKILLed (and a replacement started); null: no kill. Default duration / 2. */
  killAt?: number | null;
  /** Credit window each worker grants the proxy, messages. Default 1 000. */
  window?: number;
  /** Backlog the loop holds at the proxy, messages. Default 0.1 s of capacity. */
  setpoint?: number;
  /**
   * Workers hold each acknowledgement this long after recording the message,
   * ms: widens the gap in which the kill makes duplicates (worker.ts). Default 0.
   */
  ackDelayMs?: number;
  /**
   * Warm-up as a share of `duration`: excluded from the loop figures, and from
   * each process's memory growth (counted from the process's own start). Default 0.2.
   */
  warmup?: number;
  /** RSS growth after warm-up beyond which a process is flagged, MiB. Default 32 (why: docs/guarantees.md, "Soak"). */
  rssLimitMiB?: number;
  /** Seconds between samples of meters, RSS and CPU. Default 1. */
  sampleInterval?: number;
  /** Folder for the record files, kept after the run. Default: a temp folder, removed. */
  dir?: string;
  /** Progress lines. Default: none. */
  log?: (line: string) => void;
  /** Ends the run early: it rejects with an AbortError after stopping everything it started. */
  signal?: AbortSignal;
}

/** The options in force (defaults applied). */
export interface SoakSettings {
  duration: number;
  rate: number;
  producers: number;
  workers: number;
  capacity: number;
  /** Capacity of one worker, msg/s. */
  workerRate: number;
  killAt: number | null;
  window: number;
  setpoint: number;
  ackDelayMs: number;
  warmup: number;
  rssLimitMiB: number;
  sampleInterval: number;
  /** PI gains of the loop (1/s and 1/s²) and its sample time (s). */
  loop: { kp: number; ki: number; sampleTime: number };
}

/** One process of the run, its samples, and its memory growth. */
export interface SoakProcess {
  name: string;
  role: "harness" | "producer" | "proxy" | "worker" | "loop";
  pid: number;
  /** When it started and ended, s since the load started (negative: before). */
  start: number;
  end: number;
  killed: boolean;
  times: number[];
  /** RSS, bytes. */
  rss: number[];
  /** CPU seconds since it started. */
  cpu: number[];
  /** Over the load period, after its own warm-up. */
  memory: MemoryGrowth;
  /** Mean CPU use over the load period, % of one core. */
  cpuPercent: number;
  /** `memory.growth` above the limit. */
  flagged: boolean;
}

/** A pass/fail check with what it compared. */
export interface SoakCheck {
  name: string;
  ok: boolean;
  detail: string;
}

/** Per-sample series of the run (index i: `time[i]` s since the load started). */
export interface SoakSeries {
  time: number[];
  /** Proxy counters (cumulative). */
  offered: number[];
  admitted: number[];
  shed: number[];
  handled: number[];
  /** The proxy's backlog (charge), messages. */
  backlog: number[];
  /** Admission rate in force at the proxy, msg/s (null: unlimited). */
  admissionRate: (number | null)[];
  /** The proxy's push → worker acknowledgement latency, ms (5–10 s window). */
  latencyP50: number[];
  latencyP99: number[];
  /** The machine's one-minute load average (other work on it shows here). */
  load: number[];
}

/** What a soak run measured. */
export interface SoakResult {
  ok: boolean;
  date: string;
  machine: string;
  /** One-minute load average before the run, its largest during the run, and after it. */
  load: [number, number, number];
  settings: SoakSettings;
  counts: {
    offered: number;
    accepted: number;
    shed: number;
    /** Distinct ids handled. */
    handled: number;
    duplicates: number;
    lost: number;
    /** Messages the proxy sent again after the kill (forwarded − admitted). */
    redelivered: number;
    /** Dead letters received, and dropped on the way (must be 0). */
    deadLetters: number;
    deadLetterDrops: number;
    /** Messages the producers fell behind their schedule by (backpressure). */
    behind: number;
  };
  ledger: Ledger;
  /** The proxy's own counters at the end. */
  proxy: Pick<QueueProxyStats, "offered" | "admitted" | "shed" | "handled" | "failed" | "backlog"> & {
    forwarded: number;
  };
  kill: {
    at: number;
    worker: string;
    window: number;
    /** In flight at the victim just before the kill, as the proxy saw it (null: not read). */
    inflightBefore: number | null;
    /** Seconds until its replacement was ready. */
    replacedAfter: number;
    replacement: string;
  } | null;
  throughput: {
    /** Seconds of load, and of draining after it. */
    seconds: number;
    drainSeconds: number;
    /** Every push acknowledged and the proxy empty within the drain deadline (90 s). */
    drained: boolean;
    /** Means over the load period, msg/s. */
    offeredRate: number;
    acceptedRate: number;
    handledRate: number;
    /** Largest handled rate over one sample interval, msg/s. */
    peakHandledRate: number;
  };
  /** End to end (producer push → worker done), ms, over the handled messages the workers reported. */
  latency: { count: number; p50: number; p90: number; p99: number; p999: number; max: number };
  loop: {
    setpoint: number;
    /** After warm-up: mean backlog, mean |backlog − setpoint|, and the share of samples within ±20 % of the setpoint. */
    backlogMean: number;
    backlogMeanError: number;
    withinBand: number;
    samples: number;
    errors: LoopState["errors"];
    overruns: number;
  };
  processes: SoakProcess[];
  series: SoakSeries;
  checks: SoakCheck[];
  /** Sample reads that failed or timed out (a starved process answers late), by what was read. */
  sampleErrors: Record<string, number>;
}

/** Applies defaults and checks every option, naming the one that is wrong. */
export function soakSettings(options: SoakOptions = {}): SoakSettings {
  if (options === null || typeof options !== "object") fail("options", "an object", options, true);
  const duration = positive("duration", options.duration ?? 180);
  const rate = positive("rate", options.rate ?? 80_000);
  const producers = integerAtLeast("producers", options.producers ?? 2, 1);
  const workers = integerAtLeast("workers", options.workers ?? 3, 1);
  if (producers > 64) fail("producers", "at most 64", producers);
  if (workers > 64) fail("workers", "at most 64", workers);
  const capacity = positive("capacity", options.capacity ?? 0.8);
  const killAt = options.killAt === undefined ? duration / 2 : options.killAt;
  if (killAt !== null) {
    positive("killAt", killAt);
    if (killAt >= duration) fail("killAt", `a second before the end (${duration})`, killAt);
  }
  const window = integerAtLeast("window", options.window ?? 1000, 1);
  const workerRate = (capacity * rate) / workers;
  const setpoint = positive("setpoint", options.setpoint ?? Math.round(0.1 * capacity * rate));
  const ackDelayMs = nonNegative("ackDelayMs", options.ackDelayMs ?? 0);
  const warmup = options.warmup ?? 0.2;
  if (typeof warmup !== "number" || !(warmup >= 0 && warmup < 1)) fail("warmup", "a share in [0, 1)", warmup);
  const rssLimitMiB = positive("rssLimitMiB", options.rssLimitMiB ?? 32);
  const sampleInterval = positive("sampleInterval", options.sampleInterval ?? 1);
  return {
    duration,
    rate,
    producers,
    workers,
    capacity,
    workerRate,
    killAt,
    window,
    setpoint,
    ackDelayMs,
    warmup,
    rssLimitMiB,
    sampleInterval,
    // The backlog integrates admitted − served (gain 1): PI with ωn = 1 rad/s, ζ = 1; the
    // measured service rate as feedforward does the bulk, the PI only corrects.
    loop: { kp: 2, ki: 1, sampleTime: 0.1 },
  };
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));

/** Time-bounded: rejects after `ms` with a message naming `what`. */
function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} took over ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/** Polls `check` until true (resolves true) or the deadline (false); a check that throws counts as false. */
async function settled(check: () => boolean | Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (
      await Promise.resolve()
        .then(check)
        .catch(() => false)
    )
      return true;
    if (Date.now() > deadline) return false;
    await sleep(50);
  }
}

/** Polls `check` until true or the deadline (then throws naming `what`). */
async function until(
  check: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(50);
  }
}

interface Tracked {
  name: string;
  role: SoakProcess["role"];
  pid: number;
  /** When it was started, `performance.now()` ms. */
  startedAt: number;
  end: number | undefined;
  killed: boolean;
  times: number[];
  rss: number[];
  cpu: number[];
}

/** Appends the ids of the dead letters it is given to a record file, in batches. */
class DeadLetterFile {
  readonly #fd: number;
  #ids: number[] = [];
  count = 0;

  constructor(file: string) {
    this.#fd = openSync(file, "a");
  }

  add(id: number): void {
    this.#ids.push(id);
    this.count++;
    if (this.#ids.length >= 8192) this.flush();
  }

  flush(): void {
    if (this.#ids.length === 0) return;
    const bytes = new Uint8Array(Float64Array.from(this.#ids).buffer);
    this.#ids = [];
    let offset = 0;
    while (offset < bytes.length) offset += writeSync(this.#fd, bytes, offset);
  }

  close(): void {
    this.flush();
    closeSync(this.#fd);
  }
}

/** Runs a soak (see the module comment) and returns its figures; rejects only when the run itself fails. */
export async function runSoak(options: SoakOptions = {}): Promise<SoakResult> {
  const s = soakSettings(options);
  const log = options.log ?? (() => undefined);
  const signal = options.signal;
  signal?.throwIfAborted();
  /** Waits `ms`, or rejects at once when the run is aborted. */
  const pause = (ms: number): Promise<void> => delay(Math.max(0, ms), undefined, { signal });
  const load0 = loadavg()[0]!;
  const date = new Date();
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), "zmp-soak-"));
  const graph = await Graph.open({ advertise: false });
  let deadFile: DeadLetterFile | undefined;
  let sampler: ReturnType<typeof setInterval> | undefined;
  let killTimer: ReturnType<typeof setTimeout> | undefined;
  let flushDead: ReturnType<typeof setInterval> | undefined;
  try {
    const harness = await graph.node("harness");
    deadFile = new DeadLetterFile(join(dir, "dead-letters.bin"));
    const dead = harness.subscribe<{ message: SoakMessage }>(DEAD_LETTERS, { highWaterMark: 1_000_000 });
    const deadDone = (async () => {
      for await (const { data } of dead) deadFile!.add(data.message.id);
    })();
    flushDead = setInterval(() => deadFile?.flush(), 200);

    // t = 0 when the producers start; a process started before has a negative start time.
    let t0 = Number.NaN;
    const now = (): number => (performance.now() - t0) / 1000;
    const tracked: Tracked[] = [];
    const track = (name: string, role: Tracked["role"], pid: number): Tracked => {
      const t: Tracked = {
        name,
        role,
        pid,
        startedAt: performance.now(),
        end: undefined,
        killed: false,
        times: [],
        rss: [],
        cpu: [],
      };
      tracked.push(t);
      return t;
    };
    const hosts = new Map<string, { hosted: HostedNode; tracked: Tracked }>();
    const spawn = async (
      role: Tracked["role"],
      name: string,
      module: URL,
      args: unknown,
    ): Promise<HostedNode> => {
      const hosted = await graph.spawn(module, { name, host: "process", args });
      const t = track(name, role, hosted.pid);
      hosts.set(name, { hosted, tracked: t });
      hosted.on("exit", () => {
        t.end ??= now();
      });
      return hosted;
    };
    track("harness", "harness", process.pid);

    log(`soak: starting ${s.workers} workers, the proxy, the loop and ${s.producers} producers…`);
    const workerArgs = (name: string) => ({
      queue: QUEUE,
      file: join(dir, `${name}.bin`),
      rate: s.workerRate,
      window: s.window,
      ackDelayMs: s.ackDelayMs,
    });
    const workerNames: string[] = [];
    for (let i = 1; i <= s.workers; i++) workerNames.push(`worker-${i}`);
    await Promise.all(workerNames.map((name) => spawn("worker", name, modules.worker, workerArgs(name))));
    await spawn("proxy", "proxy", modules.proxy, {
      queue: QUEUE,
      deadLetter: DEAD_LETTERS,
      // Producers' credit at the proxy: room for the setpoint and more, so the loop — not
      // backpressure — decides what goes on.
      window: Math.max(10_000, Math.ceil((4 * s.setpoint) / s.producers)),
    });
    await within(callSoak(harness, "proxy", "subscribers"), 15_000, "the dead-letter subscription");
    await until(
      async () => {
        const p = await harness.call<QueueProxyStats>(
          "proxy.control",
          { op: "stats", target: `queue:${QUEUE}` },
          { timeoutMs: 2000, node: "proxy" },
        );
        return workerNames.every((w) => p.workers.includes(w));
      },
      "the proxy to know every worker",
      10_000,
    );
    await spawn("loop", "loop", modules.loop, {
      name: LOOP,
      sensor: { kind: "queue-proxy", proxy: "proxy", queue: QUEUE, timeoutMs: 1000 },
      actuator: { kind: "admission", nodes: ["proxy"], target: `queue:${QUEUE}` },
      controller: {
        kind: "pid",
        options: {
          kp: s.loop.kp,
          ki: s.loop.ki,
          outputMin: 0,
          outputMax: 2 * s.rate,
          feedforwardSignal: "serviceRate",
        },
      },
      setpoint: s.setpoint,
      sampleTime: s.loop.sampleTime,
      // A log that fills within the warm-up, so it adds nothing to the memory after it.
      logSize: 100,
      sensorTimeoutMs: 500,
      actuatorTimeoutMs: 500,
    });
    const producerNames: string[] = [];
    for (let i = 0; i < s.producers; i++) producerNames.push(`producer-${i + 1}`);
    await Promise.all(
      producerNames.map((name, i) =>
        spawn("producer", name, modules.producer, {
          queue: QUEUE,
          base: i * ID_SPAN,
          rate: s.rate / s.producers,
        }),
      ),
    );
    await Promise.all(producerNames.map((name) => callSoak(harness, name, "start", 15_000)));
    t0 = performance.now(); // the load is on
    log(`soak: load on: ${s.rate} msg/s for ${s.duration} s`);

    // ---------------------------------------------------------------- sampling
    const series: SoakSeries = {
      time: [],
      offered: [],
      admitted: [],
      shed: [],
      handled: [],
      backlog: [],
      admissionRate: [],
      latencyP50: [],
      latencyP99: [],
      load: [],
    };
    const sampleErrors: Record<string, number> = {};
    const failed = (what: string): void => {
      sampleErrors[what] = (sampleErrors[what] ?? 0) + 1;
    };
    const workerStats = new Map<string, SoakWorkerStats>();
    const loopSamples: { time: number; backlog: number }[] = [];
    let sampling = false;
    const sample = async (): Promise<void> => {
      if (sampling) return; // the previous one is still waiting for answers
      sampling = true;
      try {
        const t = now();
        for (const p of tracked) {
          if (p.end !== undefined) continue;
          const r = readProcess(p.pid);
          if (r === undefined) continue;
          p.times.push(t);
          p.rss.push(r.rss);
          p.cpu.push(r.cpu);
        }
        const reads: Promise<void>[] = [
          harness
            .call<QueueProxyStats>(
              "proxy.control",
              { op: "stats", target: `queue:${QUEUE}` },
              { timeoutMs: 2000, node: "proxy" },
            )
            .then((p) => {
              series.time.push(t);
              series.offered.push(p.offered);
              series.admitted.push(p.admitted);
              series.shed.push(p.shed);
              series.handled.push(p.handled);
              series.backlog.push(p.backlog);
              series.admissionRate.push(p.rate);
              series.latencyP50.push(p.latencyP50);
              series.latencyP99.push(p.latencyP99);
              series.load.push(loadavg()[0]!);
            })
            .catch(() => failed("proxy")),
          harness
            .call<LoopState>(`${LOOP}.control`, { op: "stats" }, { timeoutMs: 2000, node: "loop" })
            .then((l) => {
              const m = l.last?.measurement;
              if (typeof m === "number" && Number.isFinite(m)) loopSamples.push({ time: t, backlog: m });
            })
            .catch(() => failed("loop")),
        ];
        for (const [name, h] of hosts) {
          if (h.tracked.role !== "worker" || h.tracked.end !== undefined) continue;
          reads.push(
            callSoak<SoakWorkerStats>(harness, name, "stats", 2000)
              .then((w) => void workerStats.set(name, w))
              .catch(() => {
                if (!h.tracked.killed) failed("worker");
              }),
          );
        }
        await Promise.all(reads);
      } finally {
        sampling = false;
      }
    };
    await sample();
    sampler = setInterval(() => void sample(), s.sampleInterval * 1000);

    // ---------------------------------------------------------------- the kill
    let kill: SoakResult["kill"] = null;
    let killDone: Promise<void> = Promise.resolve();
    if (s.killAt !== null) {
      const at = s.killAt;
      killDone = new Promise<void>((resolve, reject) => {
        killTimer = setTimeout(() => {
          const victim = workerNames[0]!;
          const replacement = `worker-${s.workers + 1}`;
          (async () => {
            let inflightBefore: number | null = null;
            try {
              const credit = await within(
                callSoak<WorkerCredit[]>(harness, "proxy", "credit", 1000),
                1000,
                "the credit read",
              );
              inflightBefore = credit.find((c) => c.worker === victim)?.inflight ?? null;
            } catch {
              failed("credit");
            }
            const h = hosts.get(victim)!;
            const killedAt = now();
            h.tracked.killed = true;
            h.hosted.kill("SIGKILL");
            log(`soak: ${victim} SIGKILLed at ${killedAt.toFixed(1)} s; starting ${replacement}`);
            await spawn("worker", replacement, modules.worker, workerArgs(replacement));
            workerNames.push(replacement);
            kill = {
              at: killedAt,
              worker: victim,
              window: s.window,
              inflightBefore,
              replacedAfter: now() - killedAt,
              replacement,
            };
          })().then(resolve, reject);
        }, at * 1000);
      });
      killDone.catch(() => undefined);
    }

    // ---------------------------------------------------------------- the run
    const progressEvery = Math.max(10, Math.round(s.duration / 12));
    for (let next = progressEvery; next < s.duration; next += progressEvery) {
      await pause(t0 + next * 1000 - performance.now());
      const i = series.time.length - 1;
      if (i >= 0)
        log(
          `soak: ${next} s  handled ${series.handled[i]!.toLocaleString("en")}  shed ${series.shed[i]!.toLocaleString("en")}  backlog ${series.backlog[i]}`,
        );
    }
    await pause(t0 + s.duration * 1000 - performance.now());
    await killDone;

    // ---------------------------------------------------------------- drain
    // A producer that cannot stop (a push waiting for room that never comes) still reports what
    // it offered; a queue that does not drain, or dead letters that do not all come, fail a
    // check after the deadline and the ledger names what is missing — the run goes on to it.
    const producerStats = await Promise.all(
      producerNames.map((name) =>
        callSoak<SoakProducerStats>(harness, name, "stop", 30_000).catch(() =>
          callSoak<SoakProducerStats>(harness, name, "stats"),
        ),
      ),
    );
    const loadSeconds = now();
    log("soak: load off; draining…");
    const offered = producerStats.map((p) => p.offered);
    const totalOffered = offered.reduce((a, b) => a + b, 0);
    const pushedBacklog = async (name: string): Promise<number> => {
      const st = await harness.call<NodeStats>("zmp.stats", null, { node: name, timeoutMs: 5000 });
      return st.pushed[QUEUE]?.backlog ?? 0;
    };
    const proxyStats = async (): Promise<QueueProxyStats> =>
      harness.call<QueueProxyStats>(
        "proxy.control",
        { op: "stats", target: `queue:${QUEUE}` },
        { timeoutMs: 5000, node: "proxy" },
      );
    const drained =
      (await settled(
        async () => (await Promise.all(producerNames.map(pushedBacklog))).every((b) => b === 0),
        60_000,
      )) &&
      (await settled(async () => {
        const p = await proxyStats();
        return p.offered === totalOffered && p.backlog === 0 && p.handled + p.failed === p.admitted;
      }, 30_000));
    const drainSeconds = now() - loadSeconds;
    clearInterval(sampler);
    sampler = undefined;
    while (sampling) await sleep(10);
    await sample();
    const loopState = await harness.call<LoopState>(`${LOOP}.control`, { op: "stats" }, { node: "loop" });
    await hosts.get("loop")!.hosted.stop();
    const finalProxy = await proxyStats();
    for (const name of workerNames) {
      if (hosts.get(name)!.tracked.killed) continue;
      workerStats.set(name, await callSoak<SoakWorkerStats>(harness, name, "stats"));
    }
    await settled(() => deadFile!.count >= finalProxy.shed, 15_000);
    const deadDrops = harness.stats().subscribed[DEAD_LETTERS]?.drops ?? 0;
    dead.close();
    await deadDone;
    clearInterval(flushDead);
    deadFile.close();
    const deadCount = deadFile.count;
    deadFile = undefined;
    const end = now();
    for (const t of tracked) if (!t.killed) t.end ??= end;
    await graph.close();

    // ---------------------------------------------------------------- accounts
    log("soak: accounting…");
    const k = kill as SoakResult["kill"];
    const ledger = account({
      offered,
      workers: workerNames.map((name) => ({ name, file: join(dir, `${name}.bin`) })),
      shedFile: join(dir, "dead-letters.bin"),
      ...(k ? { killed: { name: k.worker, window: k.window } } : {}),
    });
    const latency = new LatencyHistogram();
    for (const w of workerStats.values()) latency.add(w.latency);
    const processes = tracked.map((t) => processFigures(t, t0, loadSeconds, s));
    const loop = loopFigures(loopSamples, loopState, s);
    const peakHandledRate = peakRate(series.time, series.handled);
    const result: SoakResult = {
      ok: false,
      date: date.toISOString().slice(0, 16).replace("T", " ") + " UTC",
      machine: `${cpus().length} × ${cpus()[0]?.model.trim() ?? "CPU"}, ${Math.round(totalmem() / 2 ** 30)} GiB, ${platform()} ${release()}, Node ${process.versions.node}`,
      load: [load0, Math.max(load0, ...series.load), loadavg()[0]!],
      settings: s,
      counts: {
        offered: totalOffered,
        accepted: finalProxy.admitted,
        shed: finalProxy.shed,
        handled: ledger.handled,
        duplicates: ledger.duplicates,
        lost: ledger.lost,
        redelivered: finalProxy.forward.messages - finalProxy.admitted,
        deadLetters: deadCount,
        deadLetterDrops: deadDrops,
        behind: producerStats.reduce((a, p) => a + p.behind, 0),
      },
      ledger,
      proxy: {
        offered: finalProxy.offered,
        admitted: finalProxy.admitted,
        shed: finalProxy.shed,
        handled: finalProxy.handled,
        failed: finalProxy.failed,
        backlog: finalProxy.backlog,
        forwarded: finalProxy.forward.messages,
      },
      kill: k,
      throughput: {
        seconds: loadSeconds,
        drainSeconds,
        drained,
        offeredRate: totalOffered / loadSeconds,
        acceptedRate: finalProxy.admitted / loadSeconds,
        handledRate: ledger.handled / loadSeconds,
        peakHandledRate,
      },
      latency: {
        count: latency.count,
        p50: latency.quantile(0.5),
        p90: latency.quantile(0.9),
        p99: latency.quantile(0.99),
        p999: latency.quantile(0.999),
        max: latency.max(),
      },
      loop,
      processes,
      series,
      checks: [],
      sampleErrors,
    };
    result.checks = soakChecks(result, producerStats);
    result.ok = result.checks.every((c) => c.ok);
    return result;
  } finally {
    clearInterval(sampler);
    clearInterval(flushDead);
    clearTimeout(killTimer);
    await graph.close().catch(() => undefined);
    try {
      deadFile?.close();
    } catch {
      // already closed
    }
    if (options.dir === undefined) rmSync(dir, { recursive: true, force: true });
  }
}

/** Memory and CPU figures of one process over the load period. */
function processFigures(t: Tracked, t0: number, loadSeconds: number, s: SoakSettings): SoakProcess {
  const keep = t.times.map((time) => time >= 0 && time <= loadSeconds + s.sampleInterval / 2);
  const times = t.times.filter((_, i) => keep[i]);
  const rss = t.rss.filter((_, i) => keep[i]);
  const cpu = t.cpu.filter((_, i) => keep[i]);
  const memory = memoryGrowth(times, rss, s.warmup * s.duration);
  const span = times.length > 1 ? times[times.length - 1]! - times[0]! : 0;
  const cpuPercent = span > 0 ? ((cpu[cpu.length - 1]! - cpu[0]!) / span) * 100 : Number.NaN;
  return {
    name: t.name,
    role: t.role,
    pid: t.pid,
    start: (t.startedAt - t0) / 1000,
    end: t.end ?? loadSeconds,
    killed: t.killed,
    times: t.times,
    rss: t.rss,
    cpu: t.cpu,
    memory,
    cpuPercent,
    flagged: memory.growth > s.rssLimitMiB * MiB,
  };
}

/** The loop's tracking after warm-up, from the backlog it measured at each harness sample. */
function loopFigures(
  samples: { time: number; backlog: number }[],
  state: LoopState,
  s: SoakSettings,
): SoakResult["loop"] {
  const after = samples.filter((x) => x.time >= s.duration * s.warmup && x.time <= s.duration);
  const n = after.length;
  const mean = (f: (x: { backlog: number }) => number): number =>
    n > 0 ? after.reduce((a, x) => a + f(x), 0) / n : Number.NaN;
  return {
    setpoint: s.setpoint,
    backlogMean: mean((x) => x.backlog),
    backlogMeanError: mean((x) => Math.abs(x.backlog - s.setpoint)),
    withinBand: mean((x) => (Math.abs(x.backlog - s.setpoint) <= 0.2 * s.setpoint ? 1 : 0)),
    samples: state.samples,
    errors: state.errors,
    overruns: state.overruns,
  };
}

/** The largest count difference per second between consecutive samples. */
function peakRate(times: number[], counts: number[]): number {
  let peak = 0;
  for (let i = 1; i < times.length; i++) {
    const dt = times[i]! - times[i - 1]!;
    if (dt > 0.5) peak = Math.max(peak, (counts[i]! - counts[i - 1]!) / dt);
  }
  return peak;
}

const count = (n: number): string => n.toLocaleString("en");
const fixedSeconds = (x: number): string => `${x.toFixed(1)} s`;

/** The pass/fail checks of a run. */
export function soakChecks(r: SoakResult, producers: SoakProducerStats[]): SoakCheck[] {
  const c = r.counts;
  const l = r.ledger;
  const p = r.proxy;
  const checks: SoakCheck[] = [];
  const check = (name: string, ok: boolean, detail: string): void => {
    checks.push({ name, ok, detail });
  };
  const sample = l.lostSample.map((id) => `producer-${Math.floor(id / ID_SPAN) + 1} #${id % ID_SPAN}`);
  check(
    "lost = 0",
    l.lost === 0,
    `${count(l.lost)} offered ids neither handled nor shed${sample.length > 0 ? ` (e.g. ${sample.join(", ")})` : ""}`,
  );
  check(
    "drained",
    r.throughput.drained,
    r.throughput.drained
      ? `every push acknowledged and the proxy empty ${fixedSeconds(r.throughput.drainSeconds)} after the load`
      : `pushes still unacknowledged or the proxy not empty ${fixedSeconds(r.throughput.drainSeconds)} after the load`,
  );
  check(
    "offered = accepted + shed",
    p.offered === p.admitted + p.shed && c.offered === p.offered,
    `producers ${count(c.offered)}, proxy ${count(p.offered)} = ${count(p.admitted)} + ${count(p.shed)}`,
  );
  check(
    "every accepted id handled",
    l.handled === p.admitted && p.handled === p.admitted && p.failed === 0,
    `distinct handled ${count(l.handled)}, accepted ${count(p.admitted)}, acknowledged by workers ${count(p.handled)}, failed ${p.failed}`,
  );
  check(
    "every shed id dead-lettered once, none handled",
    l.shed === p.shed && l.shedAndHandled === 0 && l.shedTwice === 0 && c.deadLetterDrops === 0,
    `dead-lettered ${count(l.shed)} of ${count(p.shed)} shed; shed and handled ${l.shedAndHandled}; twice ${l.shedTwice}; drops ${c.deadLetterDrops}`,
  );
  check("no foreign ids", l.foreign === 0, `${l.foreign} records with an id no producer offered`);
  const window = r.kill?.window ?? 0;
  check(
    r.kill ? "duplicates only from the kill, ≤ window" : "no duplicates, nothing redelivered",
    l.duplicatesUnexplained === 0 && l.duplicates <= c.redelivered && c.redelivered <= window,
    r.kill
      ? `${count(l.duplicates)} duplicates, ${count(l.duplicatesFromKill)} of them among ${r.kill.worker}'s last ${window} records and once elsewhere; ≤ redelivered ${count(c.redelivered)} ≤ window ${window}`
      : `${count(l.duplicates)} duplicates, ${count(c.redelivered)} redelivered`,
  );
  const errors = producers.reduce((a, x) => a + x.errors, 0);
  check("producers' pushes all accepted", errors === 0, `${errors} push errors`);
  const flagged = r.processes.filter((x) => x.flagged);
  check(
    `RSS growth after warm-up ≤ ${r.settings.rssLimitMiB} MiB`,
    flagged.length === 0,
    flagged.length === 0
      ? `largest ${(Math.max(...r.processes.map((x) => x.memory.growth).filter(Number.isFinite)) / MiB).toFixed(1)} MiB`
      : flagged.map((x) => `${x.name} +${(x.memory.growth / MiB).toFixed(1)} MiB`).join(", "),
  );
  return checks;
}
