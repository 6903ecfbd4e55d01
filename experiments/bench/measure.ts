/**
 * What both sides of a case share, so zmp and raw are measured the same way:
 * the producer's burst size, the quiet time that ends a repetition, and how
 * samples are computed from the consumers' reports.
 */
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
  return { rate: total, delivered: received / (published * reports.length) };
}

/** Round-trip sample from times in µs: p50, p99 (nearest rank) and the number of calls. */
export function rttSample(timesUs: number[]): Sample {
  return { p50: quantile(timesUs, 0.5), p99: quantile(timesUs, 0.99), calls: timesUs.length };
}
