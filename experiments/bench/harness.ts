/**
 * The bench harness: a case opens its processes and sockets, hands back the
 * contenders (zmp, and one or more baselines doing the same job), and the
 * runner runs them interleaved — a short warm-up each, then repetitions
 * alternating the order (ABBA…), so drift on a shared machine hits both
 * sides alike. Each metric becomes a row: medians with min–max, and the
 * median of the per-repetition ratios against the best baseline, oriented so
 * that above 1 means zmp is better.
 *
 * Adding a case (a proxy, a cache…) is one small module exporting a
 * {@link BenchCase}, listed in cases/index.ts.
 */
import type { Cleanup } from "./cleanup.js";

/** One repetition's measurements, by metric key. */
export type Sample = Record<string, number>;

export interface Contender {
  /** Who runs: `"zmp"`, `"raw"`, `"zmp metering off"`… */
  label: string;
  /** Sockets or setup, for the table: `"ROUTER/ROUTER"`, `"PUSH/PULL"`. */
  sockets: string;
  /** Runs one repetition lasting about `ms` and returns its measurements. */
  run(ms: number): Promise<Sample>;
}

/** A target against the baseline, checked on the row. */
export type Target =
  /** The median ratio must be at least `min`. */
  | { kind: "ratio"; min: number }
  /** The subject's median may exceed the baseline's by at most `max` (in the metric's unit). */
  | { kind: "difference"; max: number }
  /** A lower-is-better metric: the subject may be at most `max` times the baseline (median ratio). */
  | { kind: "factor"; max: number };

/** The reference columns: the same job done outside Node, by pyzmq and by libzmq from C. */
export const REFERENCES = ["pyzmq", "native"] as const;
export type ReferenceLabel = (typeof REFERENCES)[number];

export interface Metric {
  /** Row name: `"queue tcp 256B"`, `"service rtt p50 16B"`. */
  row: string;
  /** Key of the metric in each sample. */
  key: string;
  unit: string;
  better: "higher" | "lower";
  target?: Target;
  /** Least median ratio against each reference column (zmp/pyzmq, zmp/native), where measured. */
  references?: Partial<Record<ReferenceLabel, number>>;
  /** Report the CPU per message (samples' `cpu`) on the row: every process of each side is counted. */
  cpu?: boolean;
}

export interface Trial {
  /** What is measured (zmp). */
  subject: Contender;
  /** What it is compared with; the ratio uses the one with the best median. */
  baselines: Contender[];
  /**
   * The same job outside Node (labels `pyzmq`, `native`), measured in the
   * same interleaved run; each gets its own ratio, none is the baseline.
   */
  references?: Contender[];
}

export interface CaseContext {
  /** Where the case registers what it opens; the runner closes it after the case, also on error or Ctrl-C. */
  cleanup: Cleanup;
  /** Smoke run: small settle times. */
  quick: boolean;
  /** Open the pyzmq and native reference columns (`--no-native` turns them off). Default true. */
  references?: boolean;
}

export interface BenchCase {
  /** Name used to select the case (`--only`). */
  name: string;
  /** One-line description for the README. */
  description: string;
  metrics: Metric[];
  /** Repetitions this case needs at least (a small effect to resolve); `--quick` ignores it. */
  minReps?: number;
  /**
   * Warm-up this case needs at least, ms, `--quick` included: a third process on the
   * path (a proxy) is still compiling its hot code well after a 100 ms warm-up.
   */
  minWarmupMs?: number;
  open(context: CaseContext): Promise<Trial>;
}

export interface RunOptions {
  /** Measured repetitions per contender. */
  reps: number;
  /** Length of one repetition, ms. */
  repMs: number;
  /** Length of the warm-up run of each contender, ms. */
  warmupMs: number;
  quick: boolean;
  /** Progress lines go here. */
  log: (line: string) => void;
}

export interface Summary {
  label: string;
  sockets: string;
  unit: string;
  median: number;
  min: number;
  max: number;
}

/** A reference column on a row: its summary, the zmp/reference ratio and its CPU per message. */
export interface Reference extends Summary {
  /** Median of the per-repetition ratios, oriented like the row's: above 1 means zmp is better. */
  ratio: number;
  ratioMin: number;
  ratioMax: number;
  /** Median CPU µs per message or call, both native processes together. */
  cpuPerMessage?: number;
}

/** One row of the result table and of `--json`. */
export interface Row {
  case: string;
  /** The subject's median, min and max with their unit. */
  zmp: Summary;
  /** The baseline the ratio uses (the best median among the baselines). */
  raw: Summary;
  /** Median of the per-repetition ratios; above 1 means zmp is better. */
  ratio: number;
  ratioMin: number;
  ratioMax: number;
  reps: number;
  better: "higher" | "lower";
  /** The other baselines measured in the same run. */
  others: Summary[];
  /**
   * Medians of the CPU time all processes of each side used per message or
   * call, µs (every thread, from /proc): a cost that other load on the
   * machine barely moves, unlike rates.
   */
  cpuPerMessage?: { zmp: number; raw: number };
  /** pyzmq doing the same job, when measured. */
  pyzmq?: Reference;
  /** libzmq from C doing the same job, when measured. */
  native?: Reference;
  target?: string;
  met?: boolean;
}

export function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const n = s.length;
  if (n === 0) return Number.NaN;
  return n % 2 === 1 ? s[(n - 1) / 2]! : (s[n / 2 - 1]! + s[n / 2]!) / 2;
}

/** The q-quantile (0..1) of `values` by the nearest-rank method. */
export function quantile(values: ArrayLike<number>, q: number): number {
  const s = Float64Array.from(values).sort();
  if (s.length === 0) return Number.NaN;
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))]!;
}

/** Runs one case: open, warm up, interleaved repetitions; the rows of its metrics. */
export async function runCase(c: BenchCase, context: CaseContext, options: RunOptions): Promise<Row[]> {
  const started = performance.now();
  const trial = await c.open(context);
  const all = [trial.subject, ...trial.baselines, ...(trial.references ?? [])];
  options.log(
    `${c.name}: ready in ${((performance.now() - started) / 1000).toFixed(1)} s (child pids ${context.cleanup.pids.join(" ")})`,
  );
  const warmupMs = Math.max(options.warmupMs, c.minWarmupMs ?? 0);
  for (const contender of all) await contender.run(warmupMs);
  const samples = new Map<Contender, Sample[]>(all.map((x) => [x, []]));
  const reps = options.quick ? options.reps : Math.max(options.reps, c.minReps ?? 0);
  for (let rep = 0; rep < reps; rep++) {
    const order = rep % 2 === 0 ? all : [...all].reverse();
    for (const contender of order) samples.get(contender)!.push(await contender.run(options.repMs));
    const first = c.metrics[0]!;
    options.log(
      `${c.name}: rep ${rep + 1}/${reps} ` +
        all
          .map(
            (x) =>
              `${x.label === "raw" ? `raw ${x.sockets}` : x.label} ${format(samples.get(x)!.at(-1)![first.key]!, first.unit)}`,
          )
          .join(", "),
    );
  }
  return c.metrics.map((metric) => summarize(metric, trial, samples));
}

function summarize(metric: Metric, trial: Trial, samples: Map<Contender, Sample[]>): Row {
  const values = (x: Contender): number[] => samples.get(x)!.map((s) => s[metric.key]!);
  const summary = (x: Contender): Summary => {
    const v = values(x);
    return {
      label: x.label,
      sockets: x.sockets,
      unit: metric.unit,
      median: median(v),
      min: Math.min(...v),
      max: Math.max(...v),
    };
  };
  const sign = metric.better === "higher" ? 1 : -1;
  const baselines = trial.baselines.map(summary);
  let best = 0;
  for (let i = 1; i < baselines.length; i++)
    if (sign * baselines[i]!.median > sign * baselines[best]!.median) best = i;
  const baseline = trial.baselines[best]!;
  const subject = values(trial.subject);
  const ratiosTo = (x: Contender): number[] => {
    const base = values(x);
    return subject.map((v, i) => (metric.better === "higher" ? v / base[i]! : base[i]! / v));
  };
  const ratios = ratiosTo(baseline);
  const row: Row = {
    case: metric.row,
    zmp: summary(trial.subject),
    raw: baselines[best]!,
    ratio: median(ratios),
    ratioMin: Math.min(...ratios),
    ratioMax: Math.max(...ratios),
    reps: subject.length,
    better: metric.better,
    others: baselines.filter((_, i) => i !== best),
  };
  const cpu = (x: Contender): number => median(samples.get(x)!.map((sample) => sample.cpu ?? Number.NaN));
  if (metric.cpu) row.cpuPerMessage = { zmp: cpu(trial.subject), raw: cpu(baseline) };
  for (const reference of trial.references ?? []) {
    const label = reference.label as ReferenceLabel;
    if (!REFERENCES.includes(label)) continue;
    const r = ratiosTo(reference);
    row[label] = {
      ...summary(reference),
      ratio: median(r),
      ratioMin: Math.min(...r),
      ratioMax: Math.max(...r),
      ...(metric.cpu ? { cpuPerMessage: cpu(reference) } : {}),
    };
  }
  const targets: string[] = [];
  const verdicts: boolean[] = [];
  const against = row.raw.label === "raw" ? "raw" : row.raw.label;
  const t = metric.target;
  if (t?.kind === "ratio") {
    targets.push(`≥ ${t.min}× ${against}`);
    verdicts.push(row.ratio >= t.min);
  } else if (t?.kind === "difference") {
    targets.push(`≤ ${against} + ${t.max} ${metric.unit}`);
    verdicts.push(row.zmp.median - row.raw.median <= t.max);
  } else if (t?.kind === "factor") {
    targets.push(`≤ ${t.max}× ${against}`);
    verdicts.push(1 / row.ratio <= t.max);
  }
  for (const label of REFERENCES) {
    const min = metric.references?.[label];
    if (min === undefined) continue;
    const measured = row[label];
    targets.push(`≥ ${min}× ${label}${measured ? "" : " (not measured)"}`);
    if (measured) verdicts.push(measured.ratio >= min);
  }
  if (targets.length > 0) {
    row.target = targets.join(", ");
    if (verdicts.length > 0) row.met = verdicts.every(Boolean);
  }
  return row;
}

/** A value with its unit, compact: `1.23 M msg/s`, `61.5 µs`. */
export function format(value: number, unit: string): string {
  if (!Number.isFinite(value)) return `– ${unit}`;
  if (unit === "µs") return `${value.toFixed(1)} µs`;
  if (Math.abs(value) >= 1e6) return `${(value / 1e6).toFixed(2)} M ${unit}`;
  if (Math.abs(value) >= 1e3) return `${(value / 1e3).toFixed(1)} k ${unit}`;
  return `${value.toFixed(1)} ${unit}`;
}
