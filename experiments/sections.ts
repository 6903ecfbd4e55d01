/**
 * Building blocks shared by the catalog: running a setup on a freshly built
 * plant and measuring it, keeping track of progress across the runs of an
 * experiment, and the standard charts and tables of a group of runs.
 */
import type { ChartSpec, ExperimentContext, RunRecord, SeriesSpec, TableSpec } from "./experiment.js";
import { computeMetrics, type MetricOptions, type RunMetrics } from "./metrics.js";
import { createPlant, type PlantMode, type PlantSpecs } from "./plants/registry.js";
import { type ControlSetup, type RunLog, runOn } from "./runner.js";
import type { Scenario } from "./scenarios.js";

/** Turns samples done in each run into the fraction of the whole experiment (for `onProgress`). */
export class Progress {
  readonly #total: number;
  readonly #report: ((fraction: number, label: string) => void) | undefined;
  #done = 0;

  /** `total`: samples the experiment plans to take over all its runs. */
  constructor(total: number, report: ExperimentContext["onProgress"]) {
    this.#total = Math.max(1, total);
    this.#report = report;
  }

  /**
   * A callback for `RunOptions.onSample` that adds each run's samples to the
   * experiment's count; it can serve several runs in a row (its count going
   * back down means a new run started).
   */
  run(label: string): (done: number, total: number) => void {
    let last = 0;
    return (done) => {
      if (done < last) last = 0;
      this.#done += done - last;
      last = done;
      this.#report?.(Math.min(1, this.#done / this.#total), label);
    };
  }
}

/** What `measuredRun` needs besides the setup. */
export interface MeasuredRunOptions<M extends keyof PlantSpecs> {
  mode: PlantMode;
  model: M;
  spec: PlantSpecs[M];
  scenario: Scenario;
  duration: number;
  sampleTime: number;
  setpoint: (t: number) => number;
  progress?: Progress;
  /** Metric options besides the step (delay setpoint, own goal). */
  metrics?: Omit<MetricOptions, "step">;
  /** Keep the run's samples (data.csv, charts). false keeps only the metrics and plant stats: sweeps run thousands of runs. Default true. */
  keepLog?: boolean;
  /** Name of the `FeedbackLoop` on a live plant (`zmp tune --loop NAME`). Default: from the setup's label. */
  loopName?: string;
}

/** Builds the plant, runs the setup on it, closes it and measures the run. */
export async function measuredRun<M extends keyof PlantSpecs>(
  setup: ControlSetup,
  options: MeasuredRunOptions<M>,
): Promise<RunRecord> {
  const spec =
    setup.discipline === undefined
      ? options.spec
      : ({ ...options.spec, discipline: setup.discipline } as PlantSpecs[M]);
  const plant = await createPlant(options.mode, options.model, spec);
  try {
    const log = await runOn(plant, setup, {
      ...(options.loopName === undefined ? {} : { loopName: options.loopName }),
      setpoint: options.setpoint,
      duration: options.duration,
      sampleTime: options.sampleTime,
      ...(options.progress
        ? { onSample: options.progress.run(`${options.scenario.name} ${setup.label}`) }
        : {}),
    });
    const metrics = computeMetrics(log, { ...options.metrics, step: options.scenario.step });
    return {
      label: setup.label,
      controller: log.controller,
      scenario: options.scenario.name,
      seed: options.spec.seed,
      actuator: log.actuator,
      note: setup.note ?? "",
      gains: log.params,
      metrics,
      log: options.keepLog === false ? withoutSamples(log) : log,
    };
  } finally {
    await plant.close?.();
  }
}

/** The log of a run without its samples (times, values, components): its stats and setup stay. */
export function withoutSamples(log: RunLog): RunLog {
  const { departures: _, ...stats } = log.stats;
  return {
    ...log,
    times: [],
    setpoint: [],
    measurement: [],
    output: [],
    applied: [],
    values: log.columns.map(() => []),
    components: {},
    stats,
  };
}

/** Human labels of the metric columns, with units. */
export const metricLabels: Readonly<Record<keyof RunMetrics, string>> = Object.freeze({
  iae: "IAE (msg·s)",
  ise: "ISE",
  itae: "ITAE",
  rmse: "RMSE",
  overshoot: "overshoot %",
  settlingTime: "settling s",
  goodput: "goodput %",
  shed: "shed %",
  dropped: "dropped %",
  latencyP50: "p50 ms",
  latencyP99: "p99 ms",
  latencyP99After: "p99 after step ms",
  latencyP99Before: "p99 before step ms",
  iade: "IADE s·s",
  meanDelay: "mean W̄ s",
  delaySettling: "delay settling s",
  delayPeak: "delay peak s",
  delayInBand: "delay in band %",
  tv: "relative TV /s",
  duAutocorrelation: "Δu lag-1 autocorr.",
  atLimit: "at limit %",
  backlogAutocorrelation: "min backlog autocorr.",
  ownGoal: "own goal",
  effort: "effort (actuator units)",
  meanMeasurement: "mean backlog",
});

/** Rounds for tables: fractions become percentages with one decimal, the rest 3 significant digits (integers from 1000 on). */
export function tableValue(key: keyof RunMetrics, value: number): number | null {
  if (!Number.isFinite(value)) return null;
  if (key === "goodput" || key === "shed" || key === "dropped" || key === "atLimit" || key === "delayInBand")
    return Math.round(value * 1000) / 10;
  return Math.abs(value) >= 1000 ? Math.round(value) : Number(value.toPrecision(3));
}

/** The comparison table of a group of runs: one row per run, the queue metrics as columns. */
export function metricTable(
  title: string,
  runs: readonly { label: string; metrics: RunMetrics }[],
  keys: readonly (keyof RunMetrics)[] = [
    "iae",
    "meanMeasurement",
    "overshoot",
    "settlingTime",
    "goodput",
    "shed",
    "dropped",
    "latencyP50",
    "latencyP99",
  ],
  caption?: string,
): TableSpec {
  return {
    title,
    columns: ["run", ...keys.map((k) => metricLabels[k])],
    rows: runs.map((r) => [r.label, ...keys.map((k) => tableValue(k, r.metrics[k]))]),
    ...(caption === undefined ? {} : { caption }),
  };
}

/**
 * The standard charts of queue runs that share a scenario (indices into the
 * result's runs): backlog against the setpoint, rates, what each controller
 * applied (one chart per actuator), per-sample p99 latency, and the
 * components of `detail` (one run whose controller terms are shown).
 */
export function queueCharts(
  runs: readonly RunRecord[],
  indices: readonly number[],
  detail?: number,
  limits: { backlog?: number; latency?: number } = {},
): ChartSpec[] {
  const first = indices[0]!;
  const sameCapacity = indices.every((i) => runs[i]!.actuator !== "workers");
  const charts: ChartSpec[] = [
    {
      title: "Backlog vs setpoint",
      unit: "messages",
      ...(limits.backlog === undefined ? {} : { yMax: limits.backlog }),
      series: [
        { label: "setpoint", run: first, field: "setpoint", dashed: true },
        ...indices.map((i): SeriesSpec => ({ label: runs[i]!.label, run: i, field: "measurement" })),
      ],
    },
    {
      title: "Rates: offered load, capacity and admitted rate per run",
      unit: "msg/s",
      series: [
        { label: "load", run: first, field: { column: "load" }, dashed: true },
        {
          label: sameCapacity ? "capacity" : `capacity (${runs[first]!.label})`,
          run: first,
          field: { column: "capacity" },
          dashed: true,
        },
        ...indices.map(
          (i): SeriesSpec => ({
            label: `${runs[i]!.label} admitted`,
            run: i,
            field: { column: "arrivalRate" },
          }),
        ),
      ],
    },
  ];
  const units: Record<string, string> = {
    rate: "msg/s",
    fraction: "fraction",
    window: "messages",
    workers: "workers",
  };
  const titles: Record<string, string> = {
    rate: "Controller output: admission rate",
    fraction: "Controller output: admission fraction",
    window: "Controller output: credit window",
    workers: "Controller output: workers",
  };
  for (const actuator of ["rate", "fraction", "window", "workers"]) {
    const using = indices.filter((i) => runs[i]!.actuator === actuator);
    if (using.length === 0) continue;
    charts.push({
      title: titles[actuator]!,
      unit: units[actuator]!,
      series: using.map((i): SeriesSpec => ({ label: runs[i]!.label, run: i, field: "applied" })),
    });
  }
  charts.push({
    title: "Latency p99 of the messages served in each sample",
    unit: "ms",
    ...(limits.latency === undefined ? {} : { yMax: limits.latency }),
    series: indices.map(
      (i): SeriesSpec => ({ label: runs[i]!.label, run: i, field: { column: "latencyP99" } }),
    ),
  });
  if (detail !== undefined) {
    const names = Object.keys(runs[detail]!.log.components);
    if (names.length > 0) {
      charts.push({
        title: `Controller components of ${runs[detail]!.label}`,
        unit: "output units",
        series: names.map((name): SeriesSpec => ({ label: name, run: detail, field: { component: name } })),
      });
    }
  }
  return charts;
}

/** A key–value table (model fits, settings). */
export function keyValueTable(
  title: string,
  entries: Record<string, string | number | null>,
  caption?: string,
): TableSpec {
  return {
    title,
    columns: ["", "value"],
    // |v| < 1e-9 is rounding residue of a fit (a dead time of 4.6e-16 s): show 0.
    rows: Object.entries(entries).map(([k, v]) => [
      k,
      typeof v === "number" ? (Math.abs(v) < 1e-9 ? 0 : Number(v.toPrecision(4))) : v,
    ]),
    ...(caption === undefined ? {} : { caption }),
  };
}
