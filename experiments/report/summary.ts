/**
 * summary.json: the experiment, its scenario(s) as plain data, the seed, and
 * one entry per run with the controller, its gains (parameters) and its
 * metrics. NaN and infinities, which JSON cannot hold, are written as null.
 * Nothing in it depends on the clock, so the same seed gives the same file.
 */
import type { ExperimentResult, TableSpec } from "../experiment.js";
import type { RunMetrics } from "../metrics.js";

/** One run in summary.json. */
export interface SummaryRun {
  /** Run label (unique within its scenario and seed; a swept point names itself: "pie target=0.05"). */
  label: string;
  /** The controller setup (`delay`, `pie`…) when the label says more than its name. */
  setup?: string;
  /** The swept point, `{ knob: value }`, for runs of a sweep. */
  point?: Record<string, number>;
  /** Controller kind ("pid", "pie", "none", "schedule"...). */
  controller: string;
  scenario: string;
  seed: number;
  /** Actuator driven, or null. */
  actuator: string | null;
  /** How the output reaches the actuator. */
  note: string;
  /** The controller's parameters at the end of the run. */
  gains: Record<string, number | boolean | string | null> | null;
  /** Metrics (null where a metric does not exist). */
  metrics: { [K in keyof RunMetrics]: number | null };
  /** Plant extras: counts and means (offered, served, meanBacklog...). */
  stats: Record<string, number | null>;
}

/** The shape of summary.json. */
export interface Summary {
  experiment: string;
  title: string;
  description: string;
  plant: string;
  seed: number;
  sampleTime: number;
  /** The headline scenario. */
  scenario: unknown;
  /** All scenarios run. */
  scenarios: unknown[];
  runs: SummaryRun[];
  /** The report's tables (comparisons, fits, targets). */
  tables: TableSpec[];
  notes: string[];
}

function finiteOrNull(value: number): number | null {
  return Number.isFinite(value) ? value : null;
}

/** The summary of an experiment as a plain object. */
export function toSummary(result: ExperimentResult): Summary {
  return {
    experiment: result.experiment,
    title: result.title,
    description: result.description,
    plant: result.plant,
    seed: result.seed,
    sampleTime: result.sampleTime,
    scenario: result.scenario,
    scenarios: result.scenarios,
    runs: result.runs.map((run) => ({
      label: run.label,
      ...(run.setup === undefined ? {} : { setup: run.setup }),
      ...(run.point === undefined ? {} : { point: run.point }),
      controller: run.controller,
      scenario: run.scenario,
      seed: run.seed,
      actuator: run.actuator,
      note: run.note,
      gains: run.gains === null ? null : { ...run.gains },
      metrics: Object.fromEntries(
        Object.entries(run.metrics).map(([k, v]) => [k, finiteOrNull(v)]),
      ) as SummaryRun["metrics"],
      stats: Object.fromEntries(Object.entries(run.log.stats.extra).map(([k, v]) => [k, finiteOrNull(v)])),
    })),
    tables: result.sections.flatMap((s) => s.tables),
    notes: result.notes,
  };
}

/** summary.json text: 2-space indented, non-finite numbers as null, ending with a newline. */
export function toSummaryJson(result: ExperimentResult): string {
  return `${JSON.stringify(toSummary(result), (_key, value) => (typeof value === "number" && !Number.isFinite(value) ? null : value), 2)}\n`;
}
