/**
 * Notebook helpers: charts and tables shown inline in a tslab notebook.
 *
 * `show(charts)` puts two outputs under the cell: a PNG (uPlot drawn in
 * headless Chromium by experiments/report/png.ts's `launchChromium`), which
 * every viewer shows — GitHub included, where scripts never run — and the
 * interactive uPlot chart as HTML. Where the HTML's script runs (Jupyter,
 * once the notebook is trusted) it hides the PNG just above it and draws the
 * live chart; where it does not, the HTML shows nothing and the PNG stays.
 * (Two outputs, not one bundle with both types: viewers that pick HTML from a
 * bundle and cannot run it would show a blank chart.)
 *
 * A chart is plain data (`Chart`): x values, named series, axis labels.
 * `chartsOf(result)` turns an experiment's report charts into that form.
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import type { ChartSpec, ExperimentResult, ReportSection, TableSpec } from "../experiments/experiment.js";
import { chartData, referenceColors, runColors } from "../experiments/report/html.js";
import { chromiumPath, launchChromium } from "../experiments/report/png.js";

/** One line of a chart. */
export interface ChartSeries {
  /** Legend label. */
  label: string;
  /** One value per x value; `null` or NaN leaves a gap. */
  values: readonly (number | null)[];
  /** CSS color. Default: the report palette, by series (dashed series take the reference colors). */
  color?: string;
  /** Dashed (setpoints, references). Default false. */
  dashed?: boolean;
}

/** A line chart as plain data. */
export interface Chart {
  title: string;
  /** Increasing x values (usually `times`, seconds). */
  x: readonly number[];
  series: readonly ChartSeries[];
  /** Label of the x axis. Default "time (s)". */
  xLabel?: string;
  /** Label of the y axis (the unit). Default "". */
  yLabel?: string;
  /** Lower end of the y axis. Default: fit the data. */
  yMin?: number;
  /** Upper end of the y axis (lines above are cut off). Default: fit the data. */
  yMax?: number;
}

/** Size of each chart and where `show` sends its outputs. */
export interface ShowOptions {
  /** Width of each chart, px. Default 860. */
  width?: number;
  /** Height of each chart's plot area, px. Default 240. */
  height?: number;
  /** Render the PNG. Default true. */
  png?: boolean;
  /** Where outputs go. Default: tslab's `display` (the cell being run). */
  display?: NotebookDisplay;
}

/** The part of tslab's `display` the helpers use. */
export interface NotebookDisplay {
  png(bytes: Uint8Array): void;
  html(html: string): void;
}

const defaults = { width: 860, height: 240 };
const require = createRequire(import.meta.url);

/** uPlot's script and stylesheet, read once from node_modules. */
let uplot: { script: string; style: string } | undefined;
function uplotFiles(): { script: string; style: string } {
  uplot ??= {
    script: readFileSync(require.resolve("uplot/dist/uPlot.iife.min.js"), "utf8"),
    style: readFileSync(require.resolve("uplot/dist/uPlot.min.css"), "utf8"),
  };
  return uplot;
}

function checkCharts(charts: Chart | readonly Chart[]): readonly Chart[] {
  const list = Array.isArray(charts) ? (charts as readonly Chart[]) : [charts as Chart];
  if (list.length === 0) throw new RangeError("Expected `charts` to hold at least one chart, got none");
  for (const c of list) {
    if (typeof c !== "object" || c === null || !Array.isArray(c.x) || !Array.isArray(c.series)) {
      throw new TypeError(`Expected a chart { title, x, series }, got \`${String(c)}\``);
    }
    for (const s of c.series) {
      if (s.values.length !== c.x.length) {
        throw new RangeError(
          `Expected series \`${s.label}\` of chart \`${c.title}\` to have ${c.x.length} values (one per x), got ${s.values.length}`,
        );
      }
    }
  }
  return list;
}

function checkSize(name: string, value: number): number {
  if (!(value > 0) || !Number.isFinite(value)) {
    throw new RangeError(`Expected \`${name}\` to be a positive number of pixels, got \`${value}\``);
  }
  return value;
}

/** Six significant digits are plenty for a chart; NaN and ±∞ become gaps. */
function compact(value: number | null | undefined): number | null {
  if (value === null || value === undefined || !Number.isFinite(value)) return null;
  return Number(value.toPrecision(6));
}

/** The charts as the page script reads them: colors resolved, numbers compacted. */
function pageData(charts: readonly Chart[], width: number, height: number) {
  return {
    width,
    height,
    charts: charts.map((c) => {
      let solid = 0;
      let dashed = 0;
      return {
        title: c.title,
        xLabel: c.xLabel ?? "time (s)",
        yLabel: c.yLabel ?? "",
        yMin: c.yMin ?? null,
        yMax: c.yMax ?? null,
        x: c.x.map(compact),
        series: c.series.map((s) => ({
          label: s.label,
          color:
            s.color ??
            (s.dashed
              ? referenceColors[dashed++ % referenceColors.length]!
              : runColors[solid++ % runColors.length]!),
          dashed: s.dashed ?? false,
          values: s.values.map(compact),
        })),
      };
    }),
  };
}

// Runs in the page (Jupyter's output or the screenshot page): draws every
// chart once uPlot is there, then hides the PNG output just above (in the
// same cell) and marks the root `data-ready` two frames later (uPlot draws
// after a microtask).
const pageScript = `
(function (root) {
  var spec = JSON.parse(root.querySelector("script.zmp-data").textContent);
  function hidePng() {
    var el = root;
    for (var level = 0; level < 3 && el; level++, el = el.parentElement) {
      var prev = el.previousElementSibling;
      if (!prev || prev.querySelector("textarea, .CodeMirror, .cm-editor, .zmp-charts")) continue;
      var img = prev.querySelector("img");
      if (img && /^data:image\\/png/.test(img.getAttribute("src") || "")) { prev.style.display = "none"; return; }
    }
  }
  function draw() {
    spec.charts.forEach(function (c) {
      var box = document.createElement("div");
      box.className = "zmp-chart";
      var title = document.createElement("div");
      title.className = "zmp-title";
      title.textContent = c.title;
      box.appendChild(title);
      root.appendChild(box);
      var range = c.yMin === null && c.yMax === null ? undefined : function (u, min, max) {
        return [c.yMin === null ? Math.min(0, min) : c.yMin, c.yMax === null ? max : c.yMax];
      };
      new uPlot({
        width: spec.width,
        height: spec.height,
        scales: { x: { time: false }, y: range ? { range: range } : {} },
        axes: [{ label: c.xLabel }, { label: c.yLabel, size: 64 }],
        series: [{ label: c.xLabel }].concat(c.series.map(function (s) {
          return { label: s.label, stroke: s.color, width: 2, dash: s.dashed ? [8, 5] : undefined, points: { show: false } };
        })),
      }, [c.x].concat(c.series.map(function (s) { return s.values; })), box);
    });
    hidePng();
    requestAnimationFrame(function () { requestAnimationFrame(function () { root.setAttribute("data-ready", "1"); }); });
  }
  if (window.uPlot) draw();
  else {
    var tries = 0;
    var timer = setInterval(function () {
      if (window.uPlot) { clearInterval(timer); draw(); } else if (++tries > 200) clearInterval(timer);
    }, 50);
  }
})(document.getElementById("%ID%"));
`;

const fragmentStyle = `.zmp-charts { font: 13px/1.4 system-ui, sans-serif; color: #1b1b1b; background: #fff; padding: 4px 0; }
.zmp-chart { margin: 4px 0 12px; } .zmp-title { font-weight: 600; margin: 0 0 2px 4px; }`;

let fragments = 0;
let libraryShown = false;

/**
 * The interactive charts as an HTML fragment: a `div.zmp-charts` with the
 * data as JSON and the script that draws it. `library: true` inlines uPlot
 * (≈ 50 kB); otherwise the script waits (up to 10 s) for a `window.uPlot`
 * defined by an earlier fragment. Ids are derived from the data and a
 * counter, so re-running a notebook gives the same output.
 */
export function chartHtml(
  charts: Chart | readonly Chart[],
  options: { width?: number; height?: number; library?: boolean } = {},
): string {
  const list = checkCharts(charts);
  const width = checkSize("width", options.width ?? defaults.width);
  const height = checkSize("height", options.height ?? defaults.height);
  const json = JSON.stringify(pageData(list, width, height)).replace(/</g, "\\u003c");
  const id = `zmp-${createHash("sha1").update(json).digest("hex").slice(0, 10)}-${fragments++}`;
  const { script, style } = uplotFiles();
  const library = options.library ?? true;
  return [
    `<div class="zmp-charts" id="${id}">`,
    `<style>${library ? style : ""}\n${fragmentStyle}</style>`,
    `<script type="application/json" class="zmp-data">${json}</script>`,
    library ? `<script>${script}</script>` : "",
    `<script>${pageScript.replace("%ID%", id)}</script>`,
    "</div>",
  ].join("\n");
}

/**
 * The charts as one PNG (uPlot drawn by headless Chromium, legend included),
 * or null when Chromium is missing (see `chromiumPath`).
 */
export async function chartPng(
  charts: Chart | readonly Chart[],
  options: { width?: number; height?: number; timeoutMs?: number } = {},
): Promise<Buffer | null> {
  const width = checkSize("width", options.width ?? defaults.width);
  const html = chartHtml(charts, { ...options, library: true });
  const id = /id="([^"]+)"/.exec(html)![1]!;
  const browser = await launchChromium();
  if (browser === null) return null;
  try {
    const page = await browser.newPage({
      viewport: { width: width + 16, height: 600 },
      deviceScaleFactor: 1,
    });
    await page.setContent(
      `<!doctype html><html><head><meta charset="utf-8"></head><body style="margin:8px">${html}</body></html>`,
    );
    await page.waitForSelector(`#${id}[data-ready]`, { timeout: options.timeoutMs ?? 20_000 });
    return await page.locator(`#${id}`).screenshot();
  } finally {
    await browser.close();
  }
}

async function tslabDisplay(): Promise<NotebookDisplay> {
  try {
    // tslab hands a cell's outputs to whichever module holds its `display`:
    // this import finds the kernel's own copy (node_modules/tslab).
    return (await import("tslab")).display;
  } catch (error) {
    throw new Error("show() needs a tslab kernel (npm install -D tslab), or pass `display`", {
      cause: error,
    });
  }
}

/**
 * Shows charts under the running cell: the PNG (unless `png: false`, or
 * Chromium is missing: then a line says so), then the interactive chart. The
 * first call in a kernel inlines uPlot; later ones reuse it.
 */
export async function show(charts: Chart | readonly Chart[], options: ShowOptions = {}): Promise<void> {
  const display = options.display ?? (await tslabDisplay());
  const size = { width: options.width ?? defaults.width, height: options.height ?? defaults.height };
  const list = checkCharts(charts);
  if (options.png ?? true) {
    const png = await chartPng(list, size);
    if (png === null) display.html(`<p>(No Chromium at ${escapeHtml(chromiumPath())}: PNG skipped.)</p>`);
    else display.png(png);
  }
  display.html(chartHtml(list, { ...size, library: !libraryShown }));
  libraryShown = true;
}

/**
 * The charts of an experiment's report, in report order, as `Chart`s; `pick`
 * keeps some of them (e.g. one section's, or only the backlog charts).
 */
export function chartsOf(
  result: ExperimentResult,
  pick: (chart: ChartSpec, section: ReportSection) => boolean = () => true,
): Chart[] {
  const specs = result.sections.flatMap((section) => section.charts.map((chart) => ({ chart, section })));
  return chartData(result)
    .filter((_, k) => pick(specs[k]!.chart, specs[k]!.section))
    .map((c) => ({
      title: c.title,
      x: c.x,
      yLabel: c.unit,
      ...(c.yMax === null ? {} : { yMax: c.yMax }),
      series: c.series.map((s) => ({ label: s.label, values: s.values, color: s.color, dashed: s.dashed })),
    }));
}

function escapeHtml(text: string): string {
  return text.replace(
    /[&<>"']/g,
    (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!,
  );
}

/** A table cell as text: numbers to 4 significant digits, null and NaN as "–". */
export function formatCell(value: string | number | boolean | null | undefined): string {
  if (value === null || value === undefined) return "–";
  if (typeof value === "number") {
    if (Number.isNaN(value)) return "–";
    return Number.isInteger(value) || !Number.isFinite(value)
      ? String(value)
      : String(Number(value.toPrecision(4)));
  }
  return String(value);
}

/** A table (an experiment's `TableSpec`, or any title/columns/rows) as HTML; the first column is the row header. */
export function tableHtml(table: Pick<TableSpec, "columns" | "rows"> & Partial<TableSpec>): string {
  const head = table.columns.map((c) => `<th>${escapeHtml(c)}</th>`).join("");
  const body = table.rows
    .map(
      (row) =>
        `<tr>${row.map((v, i) => (i === 0 ? `<th style="text-align:left">${escapeHtml(formatCell(v))}</th>` : `<td>${escapeHtml(formatCell(v))}</td>`)).join("")}</tr>`,
    )
    .join("\n");
  const title = table.title ? `<p><b>${escapeHtml(table.title)}</b></p>\n` : "";
  const caption = table.caption ? `\n<p><i>${escapeHtml(table.caption)}</i></p>` : "";
  return `${title}<table>\n<thead><tr>${head}</tr></thead>\n<tbody>\n${body}\n</tbody>\n</table>${caption}`;
}

/** Shows a table under the running cell (HTML: GitHub renders it too). */
export async function showTable(
  table: Pick<TableSpec, "columns" | "rows"> & Partial<TableSpec>,
  options: Pick<ShowOptions, "display"> = {},
): Promise<void> {
  const display = options.display ?? (await tslabDisplay());
  display.html(tableHtml(table));
}

/**
 * Rows of plain objects as a table: one column per key of the first row
 * (`{ kp: 1, iae: 2 }` → columns kp, iae).
 */
export function tableOf(
  rows: readonly Readonly<Record<string, string | number | boolean | null>>[],
  title?: string,
): TableSpec {
  const columns = Object.keys(rows[0] ?? {});
  return {
    title: title ?? "",
    columns,
    rows: rows.map((r) =>
      columns.map((c) => {
        const v = r[c];
        return typeof v === "boolean" ? String(v) : (v ?? null);
      }),
    ),
  };
}
