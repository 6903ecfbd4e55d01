/** The result table: plain text for the terminal, markdown for the README. */

import { createRequire } from "node:module";
import { cpus, loadavg, platform, release } from "node:os";
import { format, type Reference, type Row, type Summary } from "./harness.js";

/** Where and when a run happened, for the table's heading. */
export interface RunInfo {
  date: string;
  machine: string;
  reps: number;
  repMs: number;
  /** The machine's 1-minute load average at the start and the end of the run. */
  load: string;
}

export function runInfo(reps: number, repMs: number, date = new Date()): RunInfo {
  const require = createRequire(import.meta.url);
  const zmq = (require("zeromq/package.json") as { version: string }).version;
  const cpu = cpus();
  return {
    date: date.toISOString().slice(0, 16).replace("T", " ") + " UTC",
    machine: `${cpu.length} × ${cpu[0]?.model.trim() ?? "CPU"}, ${platform()} ${release()}, Node ${process.versions.node}, zeromq.js ${zmq}`,
    reps,
    repMs,
    load: loadavg()[0]!.toFixed(1),
  };
}

const range = (s: Summary): string =>
  `${format(s.median, s.unit)} (${compact(s.min, s.unit)}–${compact(s.max, s.unit)})`;

function compact(value: number, unit: string): string {
  return format(value, unit).replace(` ${unit}`, "").replace(" M", "M").replace(" k", "k");
}

function ratioText(row: { ratio: number; ratioMin: number; ratioMax: number }): string {
  return `${row.ratio.toFixed(2)} (${row.ratioMin.toFixed(2)}–${row.ratioMax.toFixed(2)})`;
}

/** A reference column's median, and zmp's ratio to it; blank where not measured. */
function referenceCells(reference: Reference | undefined): [string, string] {
  if (reference === undefined) return ["", ""];
  return [format(reference.median, reference.unit), ratioText(reference)];
}

function note(row: Row): string {
  const parts: string[] = [];
  const cpu = row.cpuPerMessage;
  if (row.case.startsWith("metering")) {
    parts.push(`costs ${((1 - row.ratio) * 100).toFixed(1)} %`);
    if (cpu) {
      const change = (cpu.zmp / cpu.raw - 1) * 100;
      const signed = `${change < 0 ? "−" : "+"}${Math.abs(change).toFixed(1)} %`;
      parts.push(`CPU/msg ${cpu.zmp.toFixed(2)} vs ${cpu.raw.toFixed(2)} µs (${signed})`);
    }
    return parts.join("; ");
  }
  if (row.zmp.unit === "µs") parts.push(`zmp − raw = ${(row.zmp.median - row.raw.median).toFixed(1)} µs`);
  if (cpu && !row.case.includes("p99")) {
    const more = [row.pyzmq, row.native]
      .filter((r) => r?.cpuPerMessage !== undefined)
      .map((r) => `, ${r!.label} ${r!.cpuPerMessage!.toFixed(2)} µs`)
      .join("");
    parts.push(`CPU/msg zmp ${cpu.zmp.toFixed(2)} µs, raw ${cpu.raw.toFixed(2)} µs${more}`);
  }
  const others = row.others.map((o) => `${o.sockets} ${format(o.median, o.unit)}`).join("; ");
  if (others) parts.push(`also ${others}`);
  return parts.join("; ");
}

const met = (row: Row): string => (row.met === undefined ? "" : row.met ? "yes" : "**no**");

/** Rows as columns of text for the terminal. */
export function textTable(rows: Row[]): string {
  const head = [
    "case",
    "zmp median (min–max)",
    "baseline median (min–max)",
    "baseline",
    "ratio (min–max)",
    "pyzmq",
    "zmp/pyzmq",
    "native",
    "zmp/native",
    "target",
    "met",
    "note",
  ];
  const body = rows.map((r) => [
    r.case,
    range(r.zmp),
    range(r.raw),
    r.raw.label === "raw" ? `raw ${r.raw.sockets}` : r.raw.label,
    ratioText(r),
    ...referenceCells(r.pyzmq),
    ...referenceCells(r.native),
    r.target ?? "",
    met(r).replaceAll("*", ""),
    note(r),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]): string =>
    cells
      .map((c, i) => c.padEnd(widths[i]!))
      .join("  ")
      .trimEnd();
  return [line(head), line(widths.map((w) => "-".repeat(w))), ...body.map(line)].join("\n");
}

/** Rows as a markdown table with the run's date and machine. */
export function markdownTable(rows: Row[], info: RunInfo): string {
  const lines = [
    `Run ${info.date} on ${info.machine}; ${info.reps} repetitions (metering rows 15) of ${info.repMs / 1000} s per side, interleaved; load average ${info.load}.`,
    "",
    "| case | zmp median (min–max) | baseline median (min–max) | baseline | ratio (min–max) | pyzmq | zmp/pyzmq | native | zmp/native | target | met | note |",
    "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
  ];
  for (const r of rows) {
    const baseline = r.raw.label === "raw" ? `raw ${r.raw.sockets}` : r.raw.label;
    lines.push(
      `| ${r.case} | ${range(r.zmp)} | ${range(r.raw)} | ${baseline} | ${ratioText(r)} | ${[...referenceCells(r.pyzmq), ...referenceCells(r.native)].join(" | ")} | ${r.target ?? ""} | ${met(r)} | ${note(r)} |`,
    );
  }
  return lines.join("\n");
}
