/**
 * Bench cases for the proxies and caches, in the shape `experiments/bench`
 * runs (`BenchCase`: name, description, metrics, `open()` → subject and
 * baselines, interleaved repetitions, median ratios). Each compares zmp
 * *through* a proxy or cache with zmp *direct* doing the same job in the same
 * run — so the ratio is what the extra hop costs (the targets: a queue or
 * service proxy in the path keeps ≥ 0.7× the direct throughput, a topic
 * proxy ≥ 0.8×, and cache hits are at least as fast as direct calls). The bench hands in
 * its contenders and helpers (`cases/index.ts`).
 *
 * Every proxy or cache runs as the hostable node module in a child process
 * (`toolbox/nodes/*`), as a user would run it, on the same machine as the
 * producer and the consumer: three processes on the path instead of two.
 */
import type { Graph } from "../../../core/graph.js";

/** What the bench's `Cleanup` offers (see experiments/bench/cleanup.ts). */
export interface BenchCleanup {
  add(name: string, run: () => unknown): () => void;
  pid(pid: number | undefined): void;
}

/** One side of a comparison (experiments/bench/harness.ts `Contender`). */
export interface BenchContender {
  label: string;
  sockets: string;
  run(ms: number): Promise<Record<string, number>>;
}

/** A bench case (experiments/bench/harness.ts `BenchCase`). */
export interface ProxyBenchCase {
  name: string;
  description: string;
  metrics: {
    row: string;
    key: string;
    unit: string;
    better: "higher" | "lower";
    /** CPU per message, every process on the path (the proxy's included). */
    cpu?: boolean;
    target?: { kind: "ratio"; min: number };
  }[];
  /** Warm-up of each side, ms, at least (`--quick` included). */
  minWarmupMs?: number;
  open(context: { cleanup: BenchCleanup; quick: boolean }): Promise<{
    subject: BenchContender;
    baselines: BenchContender[];
  }>;
}

interface Setup {
  graph: Graph;
  cleanup: BenchCleanup;
}

interface ContenderOptions {
  suffix?: string;
  label?: string;
  /** More processes whose CPU counts (the proxy's). */
  pids?: number[];
}

/** The bench's helpers and zmp contenders (experiments/bench/cases/setup.ts and zmp/contenders.ts). */
export interface BenchKit {
  benchGraph(transport: "ipc" | "tcp", cleanup: BenchCleanup): Promise<Graph>;
  payload(size: number): Buffer;
  zmpQueue(setup: Setup, payload: Buffer, options?: ContenderOptions): Promise<BenchContender>;
  zmpService(
    setup: Setup,
    payload: Buffer,
    options?: ContenderOptions,
  ): Promise<{ throughput(concurrency: number): BenchContender }>;
  zmpTopic(
    setup: Setup,
    payload: Buffer,
    subscribers: number,
    options?: ContenderOptions,
  ): Promise<BenchContender>;
  /**
   * Optional: raw zeromq.js PUSH/PULL for the queue proxy's row, shown next to
   * zmp direct for scale (experiments/bench/raw/contenders.ts `rawQueue`, cases/setup.ts `rawDir`).
   */
  rawQueue?(
    kind: "push",
    transport: "ipc",
    dir: string,
    payload: Buffer,
    cleanup: never,
  ): Promise<BenchContender>;
  rawDir?(cleanup: never): string;
}

/** Service and topic names the bench's contenders use (experiments/bench/zmp). */
const ECHO = "bench.echo";
const QUEUE = "bench.queue";
const TOPIC = "bench.topic";

const moduleUrl = (file: string): URL =>
  new URL(
    `../../../toolbox/nodes/${file}${import.meta.url.endsWith(".ts") ? ".ts" : ".js"}`,
    import.meta.url,
  );

/** Spawns a toolbox node module in a child process of `graph`, remembered by `cleanup`; returns its pid. */
async function spawnNode(setup: Setup, file: string, name: string, args: unknown): Promise<number[]> {
  const hosted = await setup.graph.spawn(moduleUrl(file), { name, host: "process", args });
  setup.cleanup.pid(hosted.pid);
  return hosted.pid === undefined ? [] : [hosted.pid];
}

/**
 * The proxy's process compiles its hot code while the first few hundred ms
 * run: with the 100 ms warm-up of `--quick`, a smoke run measured a service
 * proxy at 0.16-0.23x direct that gives 0.7x once warm. Every side warms up
 * this long.
 */
const WARMUP_MS = 1500;

/** The cases: queue proxy, service proxy, service cache (all hits) and topic proxy against direct zmp. */
export function proxyCases(kit: BenchKit, size = 16): ProxyBenchCase[] {
  const message = (): Buffer => kit.payload(size);
  /** Two graphs, one with the proxy or cache in it: the same names can be used on both sides. */
  const graphs = async (cleanup: BenchCleanup): Promise<[Setup, Setup]> => [
    { graph: await kit.benchGraph("ipc", cleanup), cleanup },
    { graph: await kit.benchGraph("ipc", cleanup), cleanup },
  ];
  return [
    {
      name: `queue proxy ${size}B`,
      description: `push → handled messages/s through a queue proxy (own process, end-to-end acknowledgements), ${size} B Buffers over ipc; baseline: zmp direct (raw PUSH/PULL shown for scale)`,
      metrics: [
        {
          row: `queue proxy ${size}B`,
          key: "rate",
          unit: "msg/s",
          better: "higher",
          cpu: true,
          target: { kind: "ratio", min: 0.7 },
        },
      ],
      minWarmupMs: WARMUP_MS,
      async open({ cleanup }) {
        const [direct, proxied] = await graphs(cleanup);
        // The proxy first: the producer's first push already goes through it.
        const pids = await spawnNode(proxied, "queue-proxy", "bench-broker", { queue: QUEUE });
        const subject = await kit.zmpQueue(proxied, message(), { label: "zmp via queue proxy", pids });
        const baseline = await kit.zmpQueue(direct, message(), { label: "zmp direct" });
        const baselines = [baseline];
        if (kit.rawQueue !== undefined && kit.rawDir !== undefined) {
          const raw = kit.rawDir(cleanup as never);
          baselines.push(await kit.rawQueue("push", "ipc", raw, message(), cleanup as never));
        }
        return { subject, baselines };
      },
    },
    {
      name: `service proxy c=16 ${size}B`,
      description: `completed calls/s with 16 outstanding through a service proxy (own process), ${size} B Buffers echoed over ipc; baseline: zmp direct`,
      metrics: [
        {
          row: `service proxy c=16 ${size}B`,
          key: "rate",
          unit: "calls/s",
          better: "higher",
          cpu: true,
          target: { kind: "ratio", min: 0.7 },
        },
      ],
      minWarmupMs: WARMUP_MS,
      async open({ cleanup }) {
        const [direct, proxied] = await graphs(cleanup);
        const pids = await spawnNode(proxied, "service-proxy", "bench-proxy", { service: ECHO });
        const subject = await kit.zmpService(proxied, message(), { label: "zmp via service proxy", pids });
        const baseline = await kit.zmpService(direct, message(), { label: "zmp direct" });
        return { subject: subject.throughput(16), baselines: [baseline.throughput(16)] };
      },
    },
    {
      name: `service cache hits c=16 ${size}B`,
      description: `calls/s with 16 outstanding answered from a service cache (own process; one request, so every call after the first is a hit), ${size} B; baseline: zmp direct to the echo service`,
      metrics: [
        {
          row: `service cache hits c=16 ${size}B`,
          key: "rate",
          unit: "calls/s",
          better: "higher",
          cpu: true,
          target: { kind: "ratio", min: 1 },
        },
      ],
      minWarmupMs: WARMUP_MS,
      async open({ cleanup }) {
        const [direct, cached] = await graphs(cleanup);
        const pids = await spawnNode(cached, "service-cache", "bench-cache", { service: ECHO });
        const subject = await kit.zmpService(cached, message(), { label: "zmp via service cache", pids });
        const baseline = await kit.zmpService(direct, message(), { label: "zmp direct" });
        return { subject: subject.throughput(16), baselines: [baseline.throughput(16)] };
      },
    },
    {
      name: `topic proxy 1->1 ${size}B`,
      description: `publish → received messages/s through a topic proxy (own process, batches passed through unchanged), ${size} B Buffers over ipc; baseline: zmp direct`,
      metrics: [
        {
          row: `topic proxy 1->1 ${size}B`,
          key: "rate",
          unit: "msg/s",
          better: "higher",
          cpu: true,
          target: { kind: "ratio", min: 0.8 },
        },
      ],
      minWarmupMs: WARMUP_MS,
      async open({ cleanup }) {
        const [direct, proxied] = await graphs(cleanup);
        const pids = await spawnNode(proxied, "topic-proxy", "bench-relay", { prefix: TOPIC });
        const subject = await kit.zmpTopic(proxied, message(), 1, { label: "zmp via topic proxy", pids });
        const baseline = await kit.zmpTopic(direct, message(), 1, { label: "zmp direct" });
        return { subject, baselines: [baseline] };
      },
    },
  ];
}
