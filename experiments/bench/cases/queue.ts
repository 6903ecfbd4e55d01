/**
 * Queue throughput: the parent pushes as fast as the queue accepts, a child
 * process handles (zmp: handler returns, message acknowledged) or receives
 * (raw) and counts. Messages per second counted at the consumer, from the
 * parent's start stamp to the last message handled.
 */
import type { BenchCase } from "../harness.js";
import { rawQueue } from "../raw/contenders.js";
import { zmpQueue } from "../zmp/contenders.js";
import { benchGraph, payload, rawDir } from "./setup.js";

export function queueCase(transport: "ipc" | "tcp", size: number): BenchCase {
  const row = `queue ${transport} ${size}B`;
  return {
    name: row,
    description: `push → handled messages/s, ${size} B Buffers, two processes over ${transport}; raw: PUSH/PULL and DEALER→ROUTER, the faster is the baseline`,
    metrics: [
      { row, key: "rate", unit: "msg/s", better: "higher", cpu: true, target: { kind: "ratio", min: 2 } },
    ],
    async open({ cleanup }) {
      const message = payload(size);
      const graph = await benchGraph(transport, cleanup);
      const dir = rawDir(cleanup);
      const subject = await zmpQueue({ graph, cleanup }, message);
      const push = await rawQueue("push", transport, dir, message, cleanup);
      const dealer = await rawQueue("dealer", transport, dir, message, cleanup);
      return { subject, baselines: [push, dealer] };
    },
  };
}
