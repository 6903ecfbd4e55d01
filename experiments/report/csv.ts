/**
 * data.csv: one row per sample of every run of an experiment, in run order.
 * Columns: the fixed ones (`csvFixedColumns`), then the plant's columns (in
 * the order the plant declares them; a column a run's plant lacks is empty),
 * then one column per controller component named `<controller>.<component>`
 * (`pid.p`, `pid.i`, `pid.d`, `pid.ff`, `pie.p`...), empty for runs of other
 * controllers. Empty cells are NaN (not measured, not applicable).
 *
 * Numbers are written with at most 9 significant digits, so the file is the
 * same bytes for the same seed on every platform.
 */
import type { ExperimentResult } from "../experiment.js";
import type { ColumnSpec } from "../runner.js";

/** The columns every data.csv starts with. */
export const csvFixedColumns: readonly ColumnSpec[] = Object.freeze([
  {
    name: "run",
    unit: "",
    description: "run label: the controller setup (pid, pie, none...) or a test (step-test-1, relay)",
  },
  { name: "scenario", unit: "", description: "scenario name (capacity-step, load-step...)" },
  { name: "seed", unit: "", description: "seed of the run's random streams" },
  { name: "time", unit: "s", description: "time of the sample since the run started" },
  {
    name: "setpoint",
    unit: "measurement units",
    description: "setpoint of the measurement (backlog: messages; cache: hit rate)",
  },
  {
    name: "measurement",
    unit: "measurement units",
    description: "what the controller read (backlog, messages; cache: hit rate)",
  },
  {
    name: "output",
    unit: "controller units",
    description: "raw controller output (rate msg/s, fraction, window, workers, entries)",
  },
  {
    name: "applied",
    unit: "actuator units",
    description: "value the actuator took after the plant's rounding and limits",
  },
]);

/** A number as data.csv writes it: empty for NaN and infinities, at most 9 significant digits. */
export function formatNumber(value: number): string {
  if (!Number.isFinite(value)) return "";
  if (Number.isInteger(value)) return String(value);
  return String(Number(value.toPrecision(9)));
}

function cell(value: string): string {
  return /[",\n\r]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

/** The header of an experiment's data.csv (fixed, plant and component columns). */
export function csvHeader(result: ExperimentResult): string[] {
  const plant: string[] = [];
  const components: string[] = [];
  for (const run of result.runs) {
    for (const c of run.log.columns) if (!plant.includes(c.name)) plant.push(c.name);
    for (const name of Object.keys(run.log.components)) {
      const column = `${run.controller}.${name}`;
      if (!components.includes(column)) components.push(column);
    }
  }
  return [...csvFixedColumns.map((c) => c.name), ...plant, ...components];
}

/** data.csv of an experiment as a string (lines end with \n). */
export function toCsv(result: ExperimentResult): string {
  const header = csvHeader(result);
  const fixed = csvFixedColumns.length;
  const lines: string[] = [header.map(cell).join(",")];
  for (const run of result.runs) {
    const log = run.log;
    // For each header column past the fixed ones: the array it reads, or none.
    const sources = header.slice(fixed).map((name) => {
      const index = log.columns.findIndex((c) => c.name === name);
      if (index >= 0) return log.values[index]!;
      const prefix = `${run.controller}.`;
      return name.startsWith(prefix) ? (log.components[name.slice(prefix.length)] ?? null) : null;
    });
    const label = cell(run.label);
    const scenario = cell(run.scenario);
    const seed = formatNumber(run.seed);
    for (let k = 0; k < log.times.length; k++) {
      const row = [
        label,
        scenario,
        seed,
        formatNumber(log.times[k]!),
        formatNumber(log.setpoint[k]!),
        formatNumber(log.measurement[k]!),
        formatNumber(log.output[k]!),
        formatNumber(log.applied[k]!),
      ];
      for (const source of sources) row.push(source === null ? "" : formatNumber(source[k]!));
      lines.push(row.join(","));
    }
  }
  return `${lines.join("\n")}\n`;
}
