/**
 * Queue throughput: the parent pushes as fast as the queue accepts, a child
 * process handles (zmp: handler returns, message acknowledged) or receives
 * (raw) and counts. Messages per second counted at the consumer, from the
 * parent's start stamp to the last message handled. pyzmq and native C do
 * the same with PUSH/PULL, both ends in their own processes.
 *
 * With `curve`, every side runs CurveZMQ on its one connection (tcp): zmp
 * as a secured graph, the others with a server key on the consumer. It is
 * what a default tcp graph costs against the same security elsewhere.
 */
import type { BenchCase } from "../harness.js";
import { nativeQueue, openReferences } from "../native/contenders.js";
import { rawQueue } from "../raw/contenders.js";
import { zmpQueue } from "../zmp/contenders.js";
import { benchGraph, payload, rawDir } from "./setup.js";

export function queueCase(transport: "ipc" | "tcp", size: number, curve = false): BenchCase {
  const row = `queue ${transport} ${size}B${curve ? " curve" : ""}`;
  return {
    name: row,
    description: `push → handled messages/s, ${size} B Buffers, two processes over ${transport}${curve ? " with CurveZMQ on every side" : ""}; raw: PUSH/PULL and DEALER→ROUTER, the faster is the baseline; pyzmq and C: PUSH/PULL`,
    metrics: [
      {
        row,
        key: "rate",
        unit: "msg/s",
        better: "higher",
        cpu: true,
        ...(curve
          ? {}
          : {
              target: { kind: "ratio" as const, min: 4 },
              references: size <= 16 ? { pyzmq: 2.5, native: 0.4 } : { pyzmq: 2.5 },
            }),
      },
    ],
    async open(context) {
      const { cleanup } = context;
      const message = payload(size);
      const graph = await benchGraph(transport, cleanup, curve);
      const dir = rawDir(cleanup);
      const subject = await zmpQueue({ graph, cleanup }, message);
      const push = await rawQueue("push", transport, dir, message, cleanup, { curve });
      const baselines = [push];
      // DEALER→ROUTER has never been the faster raw baseline; with CURVE one raw pair is enough.
      if (!curve) baselines.push(await rawQueue("dealer", transport, dir, message, cleanup));
      const references = await openReferences(context, (kind) =>
        nativeQueue(kind, transport, dir, size, cleanup, { curve }),
      );
      return { subject, baselines, references };
    },
  };
}
