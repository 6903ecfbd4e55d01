/**
 * Services: calls per second with 1 or 16 calls outstanding, and round-trip
 * latency at 1 outstanding. The parent calls, a child process echoes the
 * request (zmp: `provide` returning it; raw: a ROUTER sending it back).
 */
import type { BenchCase } from "../harness.js";
import { rawService } from "../raw/contenders.js";
import { zmpService } from "../zmp/contenders.js";
import { benchGraph, payload, rawDir } from "./setup.js";

export function serviceCase(concurrency: number, size = 16): BenchCase {
  const row = `service c=${concurrency} ${size}B`;
  return {
    name: row,
    description: `completed calls/s with ${concurrency} outstanding, ${size} B Buffers echoed over ipc; raw: DEALER→ROUTER`,
    metrics: [
      {
        row,
        key: "rate",
        unit: "calls/s",
        better: "higher",
        cpu: true,
        ...(concurrency >= 16 ? { target: { kind: "ratio" as const, min: 1.5 } } : {}),
      },
    ],
    async open({ cleanup }) {
      const message = payload(size);
      const graph = await benchGraph("ipc", cleanup);
      const zmp = await zmpService({ graph, cleanup }, message);
      const raw = await rawService("ipc", rawDir(cleanup), message, cleanup);
      return { subject: zmp.throughput(concurrency), baselines: [raw.throughput(concurrency)] };
    },
  };
}

export function rttCase(size = 16): BenchCase {
  return {
    name: `service rtt ${size}B`,
    description: `round trip of one call at a time, ${size} B Buffers over ipc, p50 and p99 of every call in the repetition; raw: DEALER→ROUTER`,
    metrics: [
      {
        row: `service rtt p50 ${size}B`,
        key: "p50",
        unit: "µs",
        better: "lower",
        cpu: true,
        target: { kind: "difference", max: 10 },
      },
      { row: `service rtt p99 ${size}B`, key: "p99", unit: "µs", better: "lower" },
    ],
    async open({ cleanup }) {
      const message = payload(size);
      const graph = await benchGraph("ipc", cleanup);
      const zmp = await zmpService({ graph, cleanup }, message);
      const raw = await rawService("ipc", rawDir(cleanup), message, cleanup);
      return { subject: zmp.rtt(), baselines: [raw.rtt()] };
    },
  };
}
