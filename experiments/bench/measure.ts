/**
 * What both sides of a case share, so zmp and raw are measured the same way:
 * the producer's burst size, the quiet time that ends a repetition, and how
 * samples are computed from the consumers' reports.
 */
import { readdirSync, readFileSync } from "node:fs";
import type { Sample } from "./harness.js";
import { quantile } from "./harness.js";
import type { SinkReport } from "./sink.js";

/**
 * Quiet time that ends a topic repetition at the subscribers, ms (not part of
 * the measured time; long enough for a subscriber starved of CPU on a busy
 * machine). Queue repetitions end when every message sent has arrived.
 */
export const QUIET_MS = 250;
/** Messages a topic producer publishes per event-loop turn (zmp and raw alike). */
export const BURST = 256;

/** Messages per second through one consumer: all it counted, from the start stamp `t0` to its last message. */
export function rate(report: SinkReport, t0: number): number {
  return report.count > 0 ? (report.count * 1000) / (report.last - t0) : 0;
}

/** Topic sample: deliveries per second summed over subscribers, and the share of published messages delivered. */
export function topicSample(reports: SinkReport[], published: number, t0: number): Sample {
  let total = 0;
  let received = 0;
  for (const r of reports) {
    received += r.count;
    total += rate(r, t0);
  }
  return { rate: total, count: received, delivered: received / (published * reports.length) };
}

/** Round-trip sample from times in µs: p50, p99 (nearest rank) and the number of calls. */
export function rttSample(timesUs: number[]): Sample {
  return { p50: quantile(timesUs, 0.5), p99: quantile(timesUs, 0.99), count: timesUs.length };
}

/**
 * CPU time used so far by the processes `pids` (every thread: main, ZeroMQ's
 * I/O thread, V8's helpers), in ms, from /proc/<pid>/task/<tid>/schedstat
 * (nanoseconds; NaN where /proc is not there). Unlike rates, CPU per message
 * barely moves when other work shares the machine.
 */
export function cpuMs(pids: readonly number[]): number {
  let ns = 0;
  for (const pid of pids) {
    let tids: string[];
    try {
      tids = readdirSync(`/proc/${pid}/task`);
    } catch {
      return Number.NaN;
    }
    for (const tid of tids) {
      try {
        ns += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, "utf8").split(" ")[0]);
      } catch {
        // the thread ended meanwhile
      }
    }
  }
  return ns / 1e6;
}

/**
 * Runs one repetition and adds `cpu` to its sample: CPU µs used by the
 * processes `pids` per message (the sample's `count`), control messages and
 * the waits around the measured window included.
 */
export async function withCpu(pids: readonly number[], work: () => Promise<Sample>): Promise<Sample> {
  const before = cpuMs(pids);
  const sample = await work();
  const used = cpuMs(pids) - before;
  return { ...sample, cpu: (used * 1000) / (sample.count ?? Number.NaN) };
}
