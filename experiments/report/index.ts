/**
 * Writes an experiment's outputs into a folder: data.csv, summary.json,
 * report.html and report.png (the screenshot is skipped, with a reason, when
 * no Chromium is installed or `png: false`).
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import type { ExperimentResult } from "../experiment.js";
import { toCsv } from "./csv.js";
import { toHtml } from "./html.js";
import { screenshot } from "./png.js";
import { toSummaryJson } from "./summary.js";

export { csvFixedColumns, csvHeader, formatNumber, toCsv } from "./csv.js";
export { chartData, referenceColors, runColors, scatterSvg, toHtml } from "./html.js";
export { chromiumArgs, chromiumPath, launchChromium, screenshot } from "./png.js";
export { type Summary, type SummaryRun, toSummary, toSummaryJson } from "./summary.js";

/** Options of `writeReport`. */
export interface WriteReportOptions {
  /** Take report.png. Default true. */
  png?: boolean;
}

/** Paths written by `writeReport` (absolute); `png` is null when skipped, with `pngSkipped` saying why. */
export interface WrittenReport {
  dir: string;
  csv: string;
  summary: string;
  html: string;
  png: string | null;
  pngSkipped: string | null;
}

/** Writes data.csv, summary.json, report.html and (unless skipped) report.png into `dir` (created if needed). */
export async function writeReport(
  result: ExperimentResult,
  dir: string,
  options: WriteReportOptions = {},
): Promise<WrittenReport> {
  const out = resolve(dir);
  mkdirSync(out, { recursive: true });
  const csv = join(out, "data.csv");
  const summary = join(out, "summary.json");
  const html = join(out, "report.html");
  writeFileSync(csv, toCsv(result));
  writeFileSync(summary, toSummaryJson(result));
  writeFileSync(html, toHtml(result));
  let png: string | null = null;
  let pngSkipped: string | null = null;
  if (options.png ?? true) {
    const shot = await screenshot(html, join(out, "report.png"));
    if (shot.written) png = shot.path;
    else pngSkipped = shot.reason;
  } else {
    pngSkipped = "report.png not requested (--no-png)";
  }
  return { dir: out, csv, summary, html, png, pngSkipped };
}
