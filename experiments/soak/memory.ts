/**
 * Memory and CPU of the soak's processes, read from Linux's `/proc` (no
 * service call, so a busy or hung process is still measured), and the
 * analysis of an RSS series: how much it grew after warm-up.
 */
import { readFileSync } from "node:fs";

/** One reading of a process. */
export interface ProcessReading {
  /** Resident set size, bytes (`VmRSS`). */
  rss: number;
  /** User + system CPU time since the process started, seconds. */
  cpu: number;
}

const TICKS_PER_SECOND = 100; // USER_HZ on Linux

/** Reads `/proc/<pid>`; undefined when the process is gone (or not on Linux). */
export function readProcess(pid: number): ProcessReading | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
    if (match === null) return undefined; // a zombie has no VmRSS
    // Fields after the command name (which may hold spaces), from field 3 (state): utime is 14, stime 15.
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const cpu = (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
    return { rss: Number(match[1]) * 1024, cpu };
  } catch {
    return undefined;
  }
}

/**
 * How an RSS series moved after warm-up (bytes, seconds).
 *
 * A leak lifts both the floor and the ceiling of a process's RSS. V8 moves
 * either one alone in a flat process: a major GC that hands pages back to
 * the OS drops the floor for a minute or so (seen here on workers: −30 MiB,
 * then back), a burst of backlog lifts the ceiling for a few seconds (seen
 * on the proxy: +40 MiB). So the growth is the smaller of two rises from the
 * first third of the time after warm-up to the last third: of the median
 * (the level most samples sit at) and of the peak.
 */
export interface MemoryGrowth {
  /** Samples after warm-up. */
  samples: number;
  /** End of warm-up, s since the run started. */
  warmEnd: number;
  /** Median RSS over the first third of the time after warm-up. */
  warm: number;
  /** Median RSS over the last third. */
  final: number;
  /** `final − warm`. */
  medianRise: number;
  /** Largest RSS over the last third − largest over the first third. */
  peakRise: number;
  /** The smaller of `medianRise` and `peakRise` (see above). */
  growth: number;
  /** Largest RSS after warm-up. */
  peak: number;
  /** Least-squares slope over the samples after warm-up, bytes per minute. */
  slopePerMinute: number;
}

function median(values: number[]): number {
  if (values.length === 0) return Number.NaN;
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/**
 * The growth of `rss` (bytes) sampled at `times` (s), ignoring the first
 * `warmupSeconds` of the series (from its first sample: a process started
 * late, such as a replacement worker, warms up from its own start). NaN
 * fields when fewer than 6 samples remain (two per third at least).
 */
export function memoryGrowth(times: number[], rss: number[], warmupSeconds: number): MemoryGrowth {
  const n = Math.min(times.length, rss.length);
  const warmEnd = (times[0] ?? 0) + warmupSeconds;
  const t: number[] = [];
  const v: number[] = [];
  for (let i = 0; i < n; i++) {
    if (times[i]! >= warmEnd) {
      t.push(times[i]!);
      v.push(rss[i]!);
    }
  }
  if (t.length < 6) {
    const nan = Number.NaN;
    return {
      samples: t.length,
      warmEnd,
      warm: nan,
      final: nan,
      medianRise: nan,
      peakRise: nan,
      growth: nan,
      peak: nan,
      slopePerMinute: nan,
    };
  }
  const from = t[0]!;
  const span = t[t.length - 1]! - from;
  const first = v.filter((_, i) => t[i]! <= from + span / 3);
  const last = v.filter((_, i) => t[i]! >= from + (2 * span) / 3);
  const warm = median(first);
  const final = median(last);
  const medianRise = final - warm;
  const peakRise = Math.max(...last) - Math.max(...first);
  const meanT = t.reduce((a, b) => a + b, 0) / t.length;
  const meanV = v.reduce((a, b) => a + b, 0) / v.length;
  let sxy = 0;
  let sxx = 0;
  for (let i = 0; i < t.length; i++) {
    sxy += (t[i]! - meanT) * (v[i]! - meanV);
    sxx += (t[i]! - meanT) ** 2;
  }
  return {
    samples: t.length,
    warmEnd,
    warm,
    final,
    medianRise,
    peakRise,
    growth: Math.min(medianRise, peakRise),
    peak: Math.max(...v),
    slopePerMinute: sxx > 0 ? (sxy / sxx) * 60 : 0,
  };
}
