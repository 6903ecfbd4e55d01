/**
 * What an experiment is (a named procedure that runs plants with controllers
 * under scenarios) and what it returns (runs with their logs and metrics,
 * charts to draw, tables to print), so the CLI, the reports and the tests
 * treat every experiment alike.
 */
import type { ControllerParams } from "../toolbox/control/index.js";
import type { RunMetrics } from "./metrics.js";
import type { PlantMode, PlantModel } from "./plants/registry.js";
import type { RunLog } from "./runner.js";
import type { Scenario } from "./scenarios.js";

/** What the CLI (or a caller) asks of an experiment run. */
export interface ExperimentContext {
  /** `sim` or `live`. */
  plant: PlantMode;
  /** Base seed of every random stream of the run. */
  seed: number;
  /** Sample period of the loops, seconds. */
  sampleTime: number;
  /** Run length override, seconds (default: each scenario's). */
  duration?: number;
  /** Controllers to run (default: the experiment's list). */
  controllers?: readonly string[];
  /** Parameter overrides for the controllers (`--kp 2` → { kp: 2 }); they apply to every controller that takes them. */
  params?: Readonly<Record<string, number>>;
  /** Setpoint override, measurement units. */
  setpoint?: number;
  /** Scenario override by name (experiments that accept one). */
  scenario?: string;
  /** Seeds per scenario for averaged metrics (compare-controllers). */
  repeats?: number;
  /** Progress: fraction done in [0, 1] and what runs now. */
  onProgress?: (fraction: number, label: string) => void;
}

/** One run as reported: its log, its metrics and how it was set up. */
export interface RunRecord {
  /** Label of the run within its scenario: "pid", "none", "step-test"... */
  label: string;
  /** The controller kind ("pid", "pie", "none"...). */
  controller: string;
  /** Name of the scenario it ran. */
  scenario: string;
  /** Seed of the run. */
  seed: number;
  /** The actuator driven (null without a controller). */
  actuator: string | null;
  /** How the controller's output reaches the actuator. */
  note: string;
  /** The controller's parameters (gains, limits, targets). */
  gains: ControllerParams | null;
  /** Metrics of the run. */
  metrics: RunMetrics;
  /** The full log (data.csv, charts); a sweep keeps only the stats of most runs (no samples). */
  log: RunLog;
  /** The controller setup the run used when it differs from `label` (`pie` for "pie target=0.05"). */
  setup?: string;
  /** The swept point of the run, `{ knob: value }` (sweeps only). */
  point?: Record<string, number>;
}

/** Where a chart series takes its values from. */
export type SeriesField =
  | "setpoint"
  | "measurement"
  | "output"
  | "applied"
  | { column: string }
  | { component: string };

/** One line on a chart. */
export interface SeriesSpec {
  /** Legend label. */
  label: string;
  /** The run (by index into `ExperimentResult.runs`). */
  run: number;
  field: SeriesField;
  /** Dashed (setpoints, references). */
  dashed?: boolean;
}

/** A chart of the report. */
export interface ChartSpec {
  title: string;
  /** Unit of the y axis. */
  unit: string;
  series: SeriesSpec[];
  /** Upper end of the y axis (lines above it are cut off; the tables keep the numbers). Default: fit the data. */
  yMax?: number;
}

/** A table of the report (and of summary.json). */
export interface TableSpec {
  title: string;
  columns: string[];
  rows: (string | number | null)[][];
  /** A sentence under the table. */
  caption?: string;
}

/** A scatter figure (drawn as SVG, no script): one polyline of points per series. */
export interface ScatterSpec {
  title: string;
  xLabel: string;
  yLabel: string;
  /** Each series: its points in order (a sweep), and the indices to mark (the chosen point). */
  series: { label: string; points: [number, number][]; marked?: number[]; dashed?: boolean }[];
  /** Axis ranges; default: fit the data. */
  xMin?: number;
  xMax?: number;
  yMin?: number;
  yMax?: number;
  /** A dashed horizontal guide at this y (a threshold). */
  guide?: number;
}

/** A group of charts and tables under one heading (one scenario, or one phase of an experiment). */
export interface ReportSection {
  title: string;
  /** Paragraph under the heading. */
  text?: string;
  /** Scatter figures, drawn in a grid before the charts. */
  figures?: ScatterSpec[];
  charts: ChartSpec[];
  tables: TableSpec[];
}

/** Everything an experiment produced. */
export interface ExperimentResult {
  /** The experiment's name. */
  experiment: string;
  title: string;
  description: string;
  plant: PlantMode;
  seed: number;
  sampleTime: number;
  /** The headline scenario. */
  scenario: Scenario;
  /** Every scenario the experiment ran (the headline first). */
  scenarios: Scenario[];
  /** Every run, in the order data.csv lists them. */
  runs: RunRecord[];
  /** The report's body. */
  sections: ReportSection[];
  /** Findings in plain words (targets met or not, caveats). */
  notes: string[];
  /** The title of the section report.png shows (its figures and tables); default: the whole page. */
  figure?: string;
}

/** A catalog entry. */
export interface Experiment {
  /** Name used on the command line: `zmp experiment run NAME`. */
  name: string;
  title: string;
  /** One paragraph for `zmp experiment list` and the report. */
  description: string;
  /** The plant model it drives; `--plant live` works once a live factory for it is registered. */
  model: PlantModel;
  /** The controllers `--controller` accepts. */
  controllers: readonly string[];
  /** Scenario names `--scenario` accepts (empty: fixed scenario). */
  scenarios: readonly string[];
  /** Defaults of the run. */
  defaults: { seed: number; sampleTime: number; controllers: readonly string[] };
  /** Runs the experiment. */
  run(context: ExperimentContext): Promise<ExperimentResult>;
}

/**
 * A bad input to an experiment (a controller parameter out of range, a
 * parameter no selected controller takes): the CLI reports it as a usage
 * error (exit code 2) rather than a failed run.
 */
export class ExperimentInputError extends Error {
  override readonly name = "ExperimentInputError";
}
