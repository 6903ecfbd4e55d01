/**
 * The raw zeromq.js side of each case, written the way zeromq.js's own
 * examples are: one socket per role, `await send()` per message, a `for await`
 * receive loop. The parent holds the producing or calling socket; the far end
 * runs in a child process (raw/child.ts).
 */
import * as zmq from "zeromq";
import type { Cleanup } from "../cleanup.js";
import { nextTurn, sleep, wallNow } from "../clock.js";
import type { Contender, Sample } from "../harness.js";
import { BURST, QUIET_MS, rate, rttSample, topicSample, withCpu } from "../measure.js";
import { RawPeer } from "./peer.js";

export type RawTransport = "ipc" | "tcp";

let counter = 0;

/** A fresh bind address: a socket file in `dir`, or a loopback port chosen by the OS. */
export function rawAddress(transport: RawTransport, dir: string, label: string): string {
  counter++;
  return transport === "ipc"
    ? `ipc://${dir}/raw-${label}-${process.pid}-${counter}.sock`
    : "tcp://127.0.0.1:*";
}

export interface RawOptions {
  /** CurveZMQ on the connection: the child binds as a CURVE server, the parent connects as a client. */
  curve?: boolean;
}

/** Key pairs for one CURVE connection: the child's server secret, the parent's client options. */
function curveKeys(options: RawOptions): { server: { curveSecretKey?: string }; client: object } {
  if (options.curve !== true) return { server: {}, client: {} };
  const server = zmq.curveKeyPair();
  const client = zmq.curveKeyPair();
  return {
    server: { curveSecretKey: server.secretKey },
    client: {
      curveServerKey: server.publicKey,
      curvePublicKey: client.publicKey,
      curveSecretKey: client.secretKey,
    },
  };
}

function track<T extends zmq.Socket>(socket: T, cleanup: Cleanup, name: string): T {
  cleanup.add(name, () => {
    if (!socket.closed) socket.close();
  });
  return socket;
}

/**
 * Queue baseline: PUSH → PULL, or DEALER → ROUTER (zmp's queues run on
 * ROUTER sockets), the child counting what it receives.
 */
export async function rawQueue(
  kind: "push" | "dealer",
  transport: RawTransport,
  dir: string,
  payload: Buffer,
  cleanup: Cleanup,
  options: RawOptions = {},
): Promise<Contender> {
  const role = kind === "push" ? "pull" : "router-sink";
  const keys = curveKeys(options);
  const peer = await RawPeer.start({ role, bind: rawAddress(transport, dir, role), ...keys.server }, cleanup);
  const socket =
    kind === "push"
      ? track(new zmq.Push({ linger: 0, ...keys.client }), cleanup, "raw PUSH")
      : track(new zmq.Dealer({ linger: 0, ...keys.client }), cleanup, "raw DEALER");
  socket.connect(peer.endpoint);
  const pids = [process.pid, peer.pid];
  return {
    label: "raw",
    sockets: kind === "push" ? "PUSH/PULL" : "DEALER/ROUTER",
    run: (ms) => withCpu(pids, () => once(ms)),
  };
  async function once(ms: number): Promise<Sample> {
    await peer.reset();
    const t0 = wallNow();
    const deadline = performance.now() + ms;
    let sent = 0;
    for (;;) {
      await socket.send(payload);
      if ((++sent & 63) === 0 && performance.now() >= deadline) break;
    }
    const r = await peer.collect(QUIET_MS, sent);
    if (r.count !== sent) throw new Error(`raw queue: ${sent} sent but ${r.count} received`);
    return { rate: rate(r, t0), count: r.count };
  }
}

/** Topic baseline: PUB in the parent, one SUB per child process; BURST messages per turn like zmp's publisher. */
export async function rawTopic(
  transport: RawTransport,
  dir: string,
  payload: Buffer,
  subscribers: number,
  cleanup: Cleanup,
): Promise<Contender> {
  const topic = "bench.topic";
  const pub = track(new zmq.Publisher({ linger: 0 }), cleanup, "raw PUB");
  await pub.bind(rawAddress(transport, dir, "pub"));
  const peers = await Promise.all(
    Array.from({ length: subscribers }, () =>
      RawPeer.start({ role: "sub", connect: pub.lastEndpoint!, topic }, cleanup),
    ),
  );
  // PUB/SUB has no handshake the publisher can see: publish probes until every subscriber got one.
  const deadline = Date.now() + 20_000;
  for (;;) {
    await pub.send([topic, payload]);
    await sleep(10);
    const reports = await Promise.all(peers.map((p) => p.collect(1)));
    if (reports.every((r) => r.count > 0)) break;
    if (Date.now() > deadline) throw new Error("raw SUB children did not connect within 20 s");
  }
  const pids = [process.pid, ...peers.map((p) => p.pid)];
  return {
    label: "raw",
    sockets: "PUB/SUB",
    run: (ms) => withCpu(pids, () => once(ms)),
  };
  async function once(ms: number): Promise<Sample> {
    await Promise.all(peers.map((p) => p.reset()));
    const t0 = wallNow();
    const deadline = performance.now() + ms;
    let published = 0;
    while (performance.now() < deadline) {
      for (let i = 0; i < BURST; i++) await pub.send([topic, payload]);
      published += BURST;
      await nextTurn();
    }
    const reports = await Promise.all(peers.map((p) => p.collect(QUIET_MS)));
    return topicSample(reports, published, t0);
  }
}

/** Service baseline: DEALER in the parent with `concurrency` requests outstanding, ROUTER echo in the child. */
export async function rawService(
  transport: RawTransport,
  dir: string,
  payload: Buffer,
  cleanup: Cleanup,
  options: RawOptions = {},
) {
  const keys = curveKeys(options);
  const peer = await RawPeer.start(
    { role: "echo", bind: rawAddress(transport, dir, "echo"), ...keys.server },
    cleanup,
  );
  const dealer = track(new zmq.Dealer({ linger: 0, ...keys.client }), cleanup, "raw DEALER");
  dealer.connect(peer.endpoint);
  const pids = [process.pid, peer.pid];
  return {
    throughput(concurrency: number): Contender {
      return {
        label: "raw",
        sockets: "DEALER/ROUTER",
        run: (ms) =>
          withCpu(pids, async () => {
            const t0 = performance.now();
            const deadline = t0 + ms;
            let calls = 0;
            let outstanding = concurrency;
            for (let i = 0; i < concurrency; i++) await dealer.send(payload);
            while (outstanding > 0) {
              await dealer.receive();
              calls++;
              if (performance.now() < deadline) await dealer.send(payload);
              else outstanding--;
            }
            return { rate: (calls * 1000) / (performance.now() - t0), count: calls };
          }),
      };
    },
    rtt(): Contender {
      return {
        label: "raw",
        sockets: "DEALER/ROUTER",
        run: (ms) =>
          withCpu(pids, async () => {
            const times: number[] = [];
            const deadline = performance.now() + ms;
            while (performance.now() < deadline) {
              const t = performance.now();
              await dealer.send(payload);
              await dealer.receive();
              times.push((performance.now() - t) * 1000);
            }
            return rttSample(times);
          }),
      };
    },
  };
}
