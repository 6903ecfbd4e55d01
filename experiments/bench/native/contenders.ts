/**
 * The native columns: the same jobs as the raw zeromq.js baselines, done by
 * two native processes — libzmq from C (`native`, the physical limit of this
 * machine) or pyzmq (`pyzmq`, the peer baseline of PyZMP's users). Neither
 * side of a native contender runs in Node: the bench only starts them and
 * reads their counts, and CPU per message counts both of their processes.
 */
import * as zmq from "zeromq";
import type { Cleanup } from "../cleanup.js";
import { sleep } from "../clock.js";
import type { CaseContext, Contender, Sample } from "../harness.js";
import { QUIET_MS, rate, topicSample, withCpu } from "../measure.js";
import { rawAddress } from "../raw/contenders.js";
import type { SinkReport } from "../sink.js";
import { type CurveArgs, type NativeKind, NativePeer, program } from "./peer.js";

const SOCKETS = { queue: "PUSH/PULL", topic: "PUB/SUB", service: "DEALER/ROUTER" } as const;

/** Server and client CURVE arguments for one connection, with fresh key pairs. */
function curvePair(secure: boolean): { server: CurveArgs; client: CurveArgs } {
  if (!secure) return { server: [], client: [] };
  const server = zmq.curveKeyPair();
  const client = zmq.curveKeyPair();
  return {
    server: ["curve-server", server.secretKey],
    client: ["curve-client", server.publicKey, client.publicKey, client.secretKey],
  };
}

export interface NativeOptions {
  /** CurveZMQ on the connection (tcp). Default false. */
  curve?: boolean;
}

/** Queue: PUSH → PULL, both native; rate counted at the PULL from the PUSH's start stamp. */
export async function nativeQueue(
  kind: NativeKind,
  transport: "ipc" | "tcp",
  dir: string,
  size: number,
  cleanup: Cleanup,
  options: NativeOptions = {},
): Promise<Contender> {
  const keys = curvePair(options.curve === true);
  const pull = await NativePeer.start(
    kind,
    "pull",
    rawAddress(transport, dir, `${kind}-pull`),
    size,
    cleanup,
    keys.server,
  );
  const push = await NativePeer.start(kind, "push", pull.endpoint, size, cleanup, keys.client);
  const pids = [pull.pid, push.pid];
  return {
    label: kind,
    sockets: SOCKETS.queue,
    run: (ms) =>
      withCpu(pids, async (): Promise<Sample> => {
        await pull.request("reset");
        const sent = await push.request<{ t0: number; sent: number }>(`run ${ms}`);
        const r = await pull.request<SinkReport>(`collect ${QUIET_MS} ${sent.sent}`);
        if (r.count !== sent.sent)
          throw new Error(`${kind} queue: ${sent.sent} sent but ${r.count} received`);
        return { rate: rate(r, sent.t0), count: r.count };
      }),
  };
}

/** Topic: one PUB, `subscribers` SUB processes; deliveries per second summed over them. */
export async function nativeTopic(
  kind: NativeKind,
  dir: string,
  size: number,
  subscribers: number,
  cleanup: Cleanup,
): Promise<Contender> {
  const topic = "bench.topic";
  const pub = await NativePeer.start(kind, "pub", rawAddress("ipc", dir, `${kind}-pub`), size, cleanup, [
    topic,
  ]);
  const subs = await Promise.all(
    Array.from({ length: subscribers }, () =>
      NativePeer.start(kind, "sub", pub.endpoint, size, cleanup, [topic]),
    ),
  );
  // PUB/SUB has no handshake the publisher sees: probe until every subscriber got one.
  const deadline = Date.now() + 20_000;
  for (;;) {
    await pub.request("probe");
    await sleep(10);
    const reports = await Promise.all(subs.map((s) => s.request<SinkReport>("collect 1 -1")));
    if (reports.every((r) => r.count > 0)) break;
    if (Date.now() > deadline) throw new Error(`${kind} SUB processes did not connect within 20 s`);
  }
  const pids = [pub.pid, ...subs.map((s) => s.pid)];
  return {
    label: kind,
    sockets: SOCKETS.topic,
    run: (ms) =>
      withCpu(pids, async () => {
        await Promise.all(subs.map((s) => s.request("reset")));
        const sent = await pub.request<{ t0: number; sent: number }>(`run ${ms}`);
        const reports = await Promise.all(subs.map((s) => s.request<SinkReport>(`collect ${QUIET_MS} -1`)));
        return topicSample(reports, sent.sent, sent.t0);
      }),
  };
}

/** Service: a DEALER calling with `concurrency` outstanding, a ROUTER echoing; or round trips one at a time. */
export async function nativeService(
  kind: NativeKind,
  transport: "ipc" | "tcp",
  dir: string,
  size: number,
  cleanup: Cleanup,
  options: NativeOptions = {},
) {
  const keys = curvePair(options.curve === true);
  const echo = await NativePeer.start(
    kind,
    "echo",
    rawAddress(transport, dir, `${kind}-echo`),
    size,
    cleanup,
    keys.server,
  );
  const dealer = await NativePeer.start(kind, "dealer", echo.endpoint, size, cleanup, keys.client);
  const pids = [echo.pid, dealer.pid];
  return {
    throughput(concurrency: number): Contender {
      return {
        label: kind,
        sockets: SOCKETS.service,
        run: (ms) =>
          withCpu(pids, async () => {
            const r = await dealer.request<{ calls: number; ms: number }>(`calls ${ms} ${concurrency}`);
            return { rate: (r.calls * 1000) / r.ms, count: r.calls };
          }),
      };
    },
    rtt(): Contender {
      return {
        label: kind,
        sockets: SOCKETS.service,
        run: (ms) =>
          withCpu(pids, async () => {
            const r = await dealer.request<{ count: number; p50: number; p99: number }>(`rtt ${ms}`);
            return { p50: r.p50, p99: r.p99, count: r.count };
          }),
      };
    },
  };
}

/**
 * The reference columns a case opens: `open(kind)` for pyzmq and for native
 * C, each where it can run here (a kind that cannot is skipped, with a
 * message naming what to install, once per run); none with `--no-native`.
 */
export async function openReferences(
  context: CaseContext,
  open: (kind: NativeKind) => Promise<Contender>,
): Promise<Contender[]> {
  if (context.references === false) return [];
  const opened: Contender[] = [];
  for (const kind of ["pyzmq", "native"] as const) {
    if ("skipped" in program(kind)) continue;
    opened.push(await open(kind));
  }
  return opened;
}
