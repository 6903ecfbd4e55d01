/**
 * The zmp side of each case: the parent's node does the producing or calling,
 * a node spawned in a child process (zmp/peer.ts) consumes, subscribes or
 * echoes. Everything is opened in the graph the case gives, which the case
 * closes.
 */
import type { Graph, Node } from "../../../core/index.js";
import type { Cleanup } from "../cleanup.js";
import { nextTurn, wallNow } from "../clock.js";
import type { Contender, Sample } from "../harness.js";
import { BURST, QUIET_MS, rate, rttSample, topicSample, withCpu } from "../measure.js";
import type { SinkReport } from "../sink.js";
import { CONTROL, ECHO, type ZmpPeerArgs } from "./peer.js";

// The peer module next to this one: .ts when run from source (tsx), .js from dist/.
const peerUrl = new URL(import.meta.url.endsWith(".ts") ? "./peer.ts" : "./peer.js", import.meta.url);

export interface ZmpOptions {
  /** Meters on both ends. Default true (zmp's default). */
  metering?: boolean;
  /** Appended to node names, so several setups share a graph. */
  suffix?: string;
  label?: string;
  /** More processes whose CPU counts in CPU per message (a proxy on the path). */
  pids?: number[];
}

/** Where the zmp side runs: the case's graph, and the cleanup that remembers child pids. */
export interface ZmpSetup {
  graph: Graph;
  cleanup: Cleanup;
}

/** Starts a peer node in a child process; returns its pid. */
async function spawnPeer(
  setup: ZmpSetup,
  name: string,
  args: ZmpPeerArgs,
  metering: boolean,
): Promise<number> {
  const hosted = await setup.graph.spawn<ZmpPeerArgs>(peerUrl, {
    name,
    host: "process",
    args,
    node: { metering },
  });
  setup.cleanup.pid(hosted.pid);
  return hosted.pid;
}

function control(
  node: Node,
  peer: string,
  request: { op: string; quietMs?: number; expected?: number },
): Promise<unknown> {
  return node.call(CONTROL, request, { node: peer, timeoutMs: 120_000 });
}

/** Queue throughput: the parent pushes `payload` as fast as `push()` accepts; the child's handler counts. */
export async function zmpQueue(
  setup: ZmpSetup,
  payload: Buffer,
  options: ZmpOptions = {},
): Promise<Contender> {
  const metering = options.metering ?? true;
  const suffix = options.suffix ?? "";
  const queue = `bench.queue${suffix}`;
  const puller = `bench-puller${suffix}`;
  const pids = [
    process.pid,
    await spawnPeer(setup, puller, { role: "consume", queue }, metering),
    ...(options.pids ?? []),
  ];
  const producer = await setup.graph.node(`bench-producer${suffix}`, { metering });
  return {
    label: options.label ?? "zmp",
    sockets: "ROUTER/ROUTER",
    run: (ms) => withCpu(pids, () => once(ms)),
  };
  async function once(ms: number): Promise<Sample> {
    await control(producer, puller, { op: "reset" });
    const t0 = wallNow();
    const deadline = performance.now() + ms;
    let pushed = 0;
    for (;;) {
      await producer.push(queue, payload);
      if ((++pushed & 63) === 0 && performance.now() >= deadline) break;
    }
    const r = (await control(producer, puller, {
      op: "collect",
      quietMs: QUIET_MS,
      expected: pushed,
    })) as SinkReport;
    if (r.count !== pushed) throw new Error(`zmp queue: ${pushed} pushed but ${r.count} handled`);
    return { rate: rate(r, t0), count: r.count };
  }
}

/** Topic throughput: the parent publishes BURST messages per turn; each child counts what it receives. */
export async function zmpTopic(
  setup: ZmpSetup,
  payload: Buffer,
  subscribers: number,
  options: ZmpOptions = {},
): Promise<Contender> {
  const metering = options.metering ?? true;
  const suffix = options.suffix ?? "";
  const topic = `bench.topic${suffix}`;
  const names = Array.from({ length: subscribers }, (_, i) => `bench-sub${i}${suffix}`);
  const children = await Promise.all(
    names.map((name) => spawnPeer(setup, name, { role: "subscribe", topic }, metering)),
  );
  const pids = [process.pid, ...children, ...(options.pids ?? [])];
  const publisher = await setup.graph.node(`bench-publisher${suffix}`, { metering });
  await publisher.waitForSubscribers(topic, { subscribers, timeoutMs: 20_000 });
  return {
    label: options.label ?? "zmp",
    sockets: "XPUB/SUB",
    run: (ms) => withCpu(pids, () => once(ms)),
  };
  async function once(ms: number): Promise<Sample> {
    await Promise.all(names.map((name) => control(publisher, name, { op: "reset" })));
    const t0 = wallNow();
    const deadline = performance.now() + ms;
    let published = 0;
    while (performance.now() < deadline) {
      for (let i = 0; i < BURST; i++) publisher.publish(topic, payload);
      published += BURST;
      await nextTurn();
    }
    const reports = (await Promise.all(
      names.map((name) => control(publisher, name, { op: "collect", quietMs: QUIET_MS })),
    )) as SinkReport[];
    return topicSample(reports, published, t0);
  }
}

/** Service calls: `concurrency` loops each awaiting `call()` in turn; or, with `rtt`, round-trip times. */
export async function zmpService(setup: ZmpSetup, payload: Buffer, options: ZmpOptions = {}) {
  const metering = options.metering ?? true;
  const suffix = options.suffix ?? "";
  const server = `bench-echo${suffix}`;
  const pids = [
    process.pid,
    await spawnPeer(setup, server, { role: "echo" }, metering),
    ...(options.pids ?? []),
  ];
  const caller = await setup.graph.node(`bench-caller${suffix}`, { metering });
  await caller.waitFor(ECHO);
  const label = options.label ?? "zmp";
  return {
    throughput(concurrency: number): Contender {
      return {
        label,
        sockets: "ROUTER/ROUTER",
        run: (ms) =>
          withCpu(pids, async () => {
            const t0 = performance.now();
            const deadline = t0 + ms;
            let calls = 0;
            const loop = async (): Promise<void> => {
              while (performance.now() < deadline) {
                await caller.call(ECHO, payload);
                calls++;
              }
            };
            await Promise.all(Array.from({ length: concurrency }, loop));
            return { rate: (calls * 1000) / (performance.now() - t0), count: calls };
          }),
      };
    },
    rtt(): Contender {
      return {
        label,
        sockets: "ROUTER/ROUTER",
        run: (ms) =>
          withCpu(pids, async () => {
            const times: number[] = [];
            const deadline = performance.now() + ms;
            while (performance.now() < deadline) {
              const t = performance.now();
              await caller.call(ECHO, payload);
              times.push((performance.now() - t) * 1000);
            }
            return rttSample(times);
          }),
      };
    },
  };
}
