/**
 * Services: calls per second with 1 or 16 calls outstanding, and round-trip
 * latency at 1 outstanding. The parent calls, a child process echoes the
 * request (zmp: `provide` returning it; raw: a ROUTER sending it back);
 * pyzmq and native C: a DEALER calling a ROUTER echo, each in its process.
 */
import type { BenchCase } from "../harness.js";
import { nativeService, openReferences } from "../native/contenders.js";
import { rawService } from "../raw/contenders.js";
import { zmpService } from "../zmp/contenders.js";
import { benchGraph, payload, rawDir } from "./setup.js";

export function serviceCase(concurrency: number, size = 16, transport: "ipc" | "tcp" = "ipc", curve = false) {
  const row = `service c=${concurrency} ${size}B${transport === "tcp" ? " tcp" : ""}${curve ? " curve" : ""}`;
  const target = concurrency >= 16 ? 1.5 : 1;
  return {
    name: row,
    description: `completed calls/s with ${concurrency} outstanding, ${size} B Buffers echoed over ${transport}${curve ? " with CurveZMQ on every side" : ""}; raw, pyzmq and C: DEALER→ROUTER`,
    metrics: [
      {
        row,
        key: "rate",
        unit: "calls/s",
        better: "higher",
        cpu: true,
        ...(curve ? {} : { target: { kind: "ratio" as const, min: target } }),
      },
    ],
    async open(context) {
      const { cleanup } = context;
      const message = payload(size);
      const graph = await benchGraph(transport, cleanup, curve);
      const dir = rawDir(cleanup);
      const zmp = await zmpService({ graph, cleanup }, message);
      const raw = await rawService(transport, dir, message, cleanup, { curve });
      const references = await openReferences(context, async (kind) =>
        (await nativeService(kind, transport, dir, size, cleanup, { curve })).throughput(concurrency),
      );
      return { subject: zmp.throughput(concurrency), baselines: [raw.throughput(concurrency)], references };
    },
  } satisfies BenchCase;
}

export function rttCase(size = 16): BenchCase {
  return {
    name: `service rtt ${size}B`,
    description: `round trip of one call at a time, ${size} B Buffers over ipc, p50 and p99 of every call in the repetition; raw, pyzmq and C: DEALER→ROUTER`,
    metrics: [
      {
        row: `service rtt p50 ${size}B`,
        key: "p50",
        unit: "µs",
        better: "lower",
        cpu: true,
        target: { kind: "difference", max: 5 },
      },
      {
        row: `service rtt p99 ${size}B`,
        key: "p99",
        unit: "µs",
        better: "lower",
        target: { kind: "factor", max: 1.2 },
      },
    ],
    async open(context) {
      const { cleanup } = context;
      const message = payload(size);
      const graph = await benchGraph("ipc", cleanup);
      const dir = rawDir(cleanup);
      const zmp = await zmpService({ graph, cleanup }, message);
      const raw = await rawService("ipc", dir, message, cleanup);
      const references = await openReferences(context, async (kind) =>
        (await nativeService(kind, "ipc", dir, size, cleanup)).rtt(),
      );
      return { subject: zmp.rtt(), baselines: [raw.rtt()], references };
    },
  };
}
