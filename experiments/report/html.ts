/**
 * report.html: one self-contained page (uPlot's script and stylesheet
 * inlined, the chart data embedded as JSON) with the experiment's notes,
 * charts and tables. It opens from disk without a network.
 *
 * For checks (tests, screenshots) the page sets `window.zmpReport =
 * { ready, charts: [{ id, title, labels, colors, dashed, points }] }` and
 * `ready` becomes true two animation frames after the last chart was created
 * (uPlot draws after a microtask).
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import type {
  ChartSpec,
  ExperimentResult,
  RunRecord,
  ScatterSpec,
  SeriesField,
  TableSpec,
} from "../experiment.js";

const require = createRequire(import.meta.url);

/** Colors of the runs (a run keeps its color in every chart). */
export const runColors: readonly string[] = Object.freeze([
  "#1f77b4",
  "#d62728",
  "#2ca02c",
  "#ff7f0e",
  "#9467bd",
  "#8c564b",
  "#e377c2",
  "#17becf",
  "#bcbd22",
  "#0b3d91",
]);

/** Colors of reference lines (setpoint, load, capacity), drawn dashed. */
export const referenceColors: readonly string[] = Object.freeze(["#7f7f7f", "#b8860b", "#2f4f4f"]);

/** The data of one chart as embedded in the page. */
export interface ChartData {
  id: string;
  title: string;
  unit: string;
  x: number[];
  series: { label: string; color: string; dashed: boolean; values: (number | null)[] }[];
  /** Upper end of the y axis, or null to fit the data. */
  yMax: number | null;
}

function valuesOf(run: RunRecord, field: SeriesField): readonly number[] {
  const log = run.log;
  if (field === "setpoint") return log.setpoint;
  if (field === "measurement") return log.measurement;
  if (field === "output") return log.output;
  if (field === "applied") return log.applied;
  if ("column" in field) {
    const index = log.columns.findIndex((c) => c.name === field.column);
    return index < 0 ? [] : log.values[index]!;
  }
  return log.components[field.component] ?? [];
}

/** Four significant digits are plenty for a chart and keep the page small; NaN becomes a gap. */
function compact(value: number | undefined): number | null {
  if (value === undefined || !Number.isFinite(value)) return null;
  return Number(value.toPrecision(4));
}

/** Builds the embedded data of every chart of the result, in page order. */
export function chartData(result: ExperimentResult): ChartData[] {
  const colorOf = new Map<string, string>();
  const color = (label: string) => {
    let c = colorOf.get(label);
    if (c === undefined) {
      c = runColors[colorOf.size % runColors.length]!;
      colorOf.set(label, c);
    }
    return c;
  };
  const charts: ChartData[] = [];
  let id = 0;
  for (const section of result.sections) {
    for (const spec of section.charts) charts.push(oneChart(result, spec, `chart-${id++}`, color));
  }
  return charts;
}

function oneChart(
  result: ExperimentResult,
  spec: ChartSpec,
  id: string,
  color: (label: string) => string,
): ChartData {
  const first = result.runs[spec.series[0]?.run ?? 0];
  const x = (first?.log.times ?? []).map((t) => Number(t.toPrecision(6)));
  let references = 0;
  const series = spec.series.map((s) => {
    const run = result.runs[s.run];
    if (run === undefined)
      throw new RangeError(`Chart \`${spec.title}\` refers to run ${s.run}, which does not exist`);
    const values = valuesOf(run, s.field);
    const dashed = s.dashed ?? false;
    // Components of one run get their own colors; runs keep theirs across charts.
    const key = typeof s.field === "object" && "component" in s.field ? `component:${s.label}` : run.label;
    const c = dashed ? referenceColors[references++ % referenceColors.length]! : color(key);
    return { label: s.label, color: c, dashed, values: x.map((_, k) => compact(values[k])) };
  });
  return { id, title: spec.title, unit: spec.unit, x, series, yMax: spec.yMax ?? null };
}

function escapeHtml(text: string): string {
  return text.replace(
    /[&<>"']/g,
    (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!,
  );
}

function tableHtml(table: TableSpec): string {
  const head = table.columns.map((c) => `<th>${escapeHtml(c)}</th>`).join("");
  const body = table.rows
    .map(
      (row) =>
        `<tr>${row
          .map((v, i) => {
            const text = v === null ? "–" : typeof v === "number" ? String(v) : v;
            return i === 0 ? `<th scope="row">${escapeHtml(text)}</th>` : `<td>${escapeHtml(text)}</td>`;
          })
          .join("")}</tr>`,
    )
    .join("\n");
  const caption = table.caption ? `<p class="caption">${escapeHtml(table.caption)}</p>` : "";
  return `<h3>${escapeHtml(table.title)}</h3>\n<table><thead><tr>${head}</tr></thead><tbody>\n${body}\n</tbody></table>${caption}`;
}

/** Colour of a figure series by its label: runs keep theirs (the same palette as the charts). */
function scatterColor(label: string, colors: Map<string, string>): string {
  let c = colors.get(label);
  if (c === undefined) {
    c = runColors[colors.size % runColors.length]!;
    colors.set(label, c);
  }
  return c;
}

/** A "nice" step for about `count` ticks over `span`. */
function tickStep(span: number, count: number): number {
  const raw = span / count;
  const power = 10 ** Math.floor(Math.log10(raw));
  const unit = raw / power;
  return (unit < 1.5 ? 1 : unit < 3.5 ? 2 : unit < 7.5 ? 5 : 10) * power;
}

/**
 * A scatter figure as inline SVG (no script, so screenshots and viewers
 * without JavaScript show it): axes with ticks, one polyline with dots per
 * series (dashed for baselines), a ring on each marked point, a legend.
 */
export function scatterSvg(spec: ScatterSpec, colors: Map<string, string> = new Map()): string {
  const width = 420;
  const height = 300;
  const left = 52;
  const right = 10;
  const top = 26;
  const bottom = 40;
  const xs = spec.series.flatMap((s) => s.points.map((p) => p[0])).filter(Number.isFinite);
  const ys = spec.series.flatMap((s) => s.points.map((p) => p[1])).filter(Number.isFinite);
  const x0 = spec.xMin ?? Math.min(...xs, 0);
  const x1 = spec.xMax ?? Math.max(...xs, x0 + 1);
  const y0 = spec.yMin ?? Math.min(...ys);
  const y1 = spec.yMax ?? Math.max(...ys, y0 + 1);
  const X = (v: number) => left + ((Math.min(x1, Math.max(x0, v)) - x0) / (x1 - x0)) * (width - left - right);
  const Y = (v: number) =>
    top + (1 - (Math.min(y1, Math.max(y0, v)) - y0) / (y1 - y0)) * (height - top - bottom);
  const parts: string[] = [];
  parts.push(
    `<rect x="${left}" y="${top}" width="${width - left - right}" height="${height - top - bottom}" fill="#fff" stroke="#ccc"/>`,
  );
  const xStep = tickStep(x1 - x0, 5);
  for (let v = Math.ceil(x0 / xStep) * xStep; v <= x1 + 1e-9; v += xStep) {
    parts.push(`<line x1="${X(v)}" x2="${X(v)}" y1="${top}" y2="${height - bottom}" stroke="#eee"/>`);
    parts.push(
      `<text x="${X(v)}" y="${height - bottom + 14}" font-size="11" text-anchor="middle">${Number(v.toPrecision(6))}</text>`,
    );
  }
  const yStep = tickStep(y1 - y0, 5);
  for (let v = Math.ceil(y0 / yStep) * yStep; v <= y1 + 1e-9; v += yStep) {
    parts.push(`<line x1="${left}" x2="${width - right}" y1="${Y(v)}" y2="${Y(v)}" stroke="#eee"/>`);
    parts.push(
      `<text x="${left - 5}" y="${Y(v) + 4}" font-size="11" text-anchor="end">${Number(v.toPrecision(6))}</text>`,
    );
  }
  parts.push(
    `<text x="${(left + width - right) / 2}" y="${height - 6}" font-size="12" text-anchor="middle">${escapeHtml(spec.xLabel)}</text>`,
  );
  parts.push(
    `<text x="14" y="${(top + height - bottom) / 2}" font-size="12" text-anchor="middle" transform="rotate(-90 14 ${(top + height - bottom) / 2})">${escapeHtml(spec.yLabel)}</text>`,
  );
  parts.push(`<text x="${left}" y="16" font-size="13" font-weight="600">${escapeHtml(spec.title)}</text>`);
  if (spec.guide !== undefined && spec.guide >= y0 && spec.guide <= y1)
    parts.push(
      `<line x1="${left}" x2="${width - right}" y1="${Y(spec.guide)}" y2="${Y(spec.guide)}" stroke="#888" stroke-dasharray="3 3"/>`,
    );
  for (const series of spec.series) {
    const color = scatterColor(series.label, colors);
    const pts = series.points.filter((p) => Number.isFinite(p[0]) && Number.isFinite(p[1]));
    if (pts.length === 0) continue;
    const path = pts.map((p) => `${X(p[0]).toFixed(1)},${Y(p[1]).toFixed(1)}`).join(" ");
    parts.push(
      `<polyline points="${path}" fill="none" stroke="${color}" stroke-width="${series.dashed ? 1.5 : 2.5}"${series.dashed ? ' stroke-dasharray="5 3"' : ""}/>`,
    );
    for (const p of pts)
      parts.push(`<circle cx="${X(p[0]).toFixed(1)}" cy="${Y(p[1]).toFixed(1)}" r="2.5" fill="${color}"/>`);
    for (const i of series.marked ?? []) {
      const p = series.points[i];
      if (p && Number.isFinite(p[0]) && Number.isFinite(p[1]))
        parts.push(
          `<circle cx="${X(p[0]).toFixed(1)}" cy="${Y(p[1]).toFixed(1)}" r="6" fill="none" stroke="${color}" stroke-width="2"/>`,
        );
    }
  }
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="system-ui, sans-serif">${parts.join("")}</svg>`;
}

/** The legend of a group of figures: one swatch per series label. */
function figureLegend(specs: readonly ScatterSpec[], colors: Map<string, string>): string {
  const seen = new Map<string, boolean>();
  for (const spec of specs)
    for (const s of spec.series) if (!seen.has(s.label)) seen.set(s.label, s.dashed ?? false);
  return `<p class="legend">${[...seen]
    .map(
      ([label, dashed]) =>
        `<span><svg width="26" height="10"><line x1="0" x2="26" y1="5" y2="5" stroke="${scatterColor(label, colors)}" stroke-width="${dashed ? 1.5 : 2.5}"${dashed ? ' stroke-dasharray="5 3"' : ""}/></svg> ${escapeHtml(label)}</span>`,
    )
    .join(" ")}</p>`;
}

const pageStyle = `
body { font: 14px/1.45 system-ui, sans-serif; margin: 24px auto; max-width: 1160px; padding: 0 16px; color: #1b1b1b; background: #fff; }
h1 { font-size: 22px; margin: 0 0 6px; } h2 { font-size: 18px; margin: 28px 0 6px; border-bottom: 1px solid #ddd; } h3 { font-size: 15px; margin: 16px 0 6px; }
.meta { color: #555; } .notes li { margin: 4px 0; }
.chart { margin: 10px 0 18px; } .chart h4 { margin: 0 0 2px; font-size: 14px; font-weight: 600; }
table { border-collapse: collapse; font-variant-numeric: tabular-nums; }
th, td { border: 1px solid #ddd; padding: 3px 8px; text-align: right; } thead th { background: #f4f4f4; } tbody th { text-align: left; font-weight: 500; }
.caption { color: #555; font-size: 12px; max-width: 1000px; }
.figures { display: grid; grid-template-columns: repeat(auto-fill, 430px); gap: 6px; }
.legend span { margin-right: 14px; white-space: nowrap; } .legend svg { vertical-align: middle; }
section.figure { background: #fff; padding: 4px 8px 8px; }
`;

const pageScript = `
(function () {
  var data = JSON.parse(document.getElementById("zmp-data").textContent);
  var report = { ready: false, charts: [] };
  window.zmpReport = report;
  var width = Math.max(480, Math.min(1120, document.body.clientWidth - 8));
  data.forEach(function (c) {
    var el = document.getElementById(c.id);
    var opts = {
      width: width,
      height: 260,
      scales: c.yMax === null ? { x: { time: false } } : { x: { time: false }, y: { range: function (u, min) { return [Math.min(0, min), c.yMax]; } } },
      axes: [{ label: "time (s)" }, { label: c.unit, size: 64 }],
      series: [{ label: "t (s)" }].concat(c.series.map(function (s) {
        return { label: s.label, stroke: s.color, width: 2, dash: s.dashed ? [8, 5] : undefined, points: { show: false } };
      })),
    };
    var plot = new uPlot(opts, [c.x].concat(c.series.map(function (s) { return s.values; })), el);
    report.charts.push({
      id: c.id,
      title: c.title,
      labels: c.series.map(function (s) { return s.label; }),
      colors: c.series.map(function (s) { return s.color; }),
      dashed: c.series.map(function (s) { return s.dashed; }),
      points: c.x.length,
      plot: plot,
    });
  });
  requestAnimationFrame(function () { requestAnimationFrame(function () { report.ready = true; }); });
})();
`;

/** report.html of an experiment as a string. */
export function toHtml(result: ExperimentResult): string {
  const uplotScript = readFileSync(require.resolve("uplot/dist/uPlot.iife.min.js"), "utf8");
  const uplotStyle = readFileSync(require.resolve("uplot/dist/uPlot.min.css"), "utf8");
  const charts = chartData(result);
  const figureColors = new Map<string, string>();
  let next = 0;
  const sections = result.sections
    .map((section) => {
      const chartDivs = section.charts
        .map((spec) => {
          const c = charts[next++]!;
          return `<div class="chart"><h4>${escapeHtml(spec.title)}</h4><div id="${c.id}" data-series="${c.series.length}"></div></div>`;
        })
        .join("\n");
      const text = section.text ? `<p>${escapeHtml(section.text)}</p>` : "";
      const specs = section.figures ?? [];
      const figures =
        specs.length > 0
          ? `${figureLegend(specs, figureColors)}<div class="figures">${specs.map((f) => `<div>${scatterSvg(f, figureColors)}</div>`).join("")}</div>`
          : "";
      const isFigure = result.figure !== undefined && section.title === result.figure;
      return `<section${isFigure ? ' id="figure" class="figure"' : ""}>\n<h2>${escapeHtml(section.title)}</h2>\n${text}\n${figures}\n${chartDivs}\n${section.tables.map(tableHtml).join("\n")}\n</section>`;
    })
    .join("\n");
  const notes = result.notes.length
    ? `<section class="notes"><h2>Findings</h2><ul>${result.notes.map((n) => `<li>${escapeHtml(n)}</li>`).join("")}</ul></section>`
    : "";
  const json = JSON.stringify(charts).replace(/</g, "\\u003c");
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>${escapeHtml(result.experiment)} – zmp experiment report</title>
<style>${uplotStyle}</style>
<style>${pageStyle}</style>
</head>
<body>
<header>
<h1>${escapeHtml(result.title)}</h1>
<p>${escapeHtml(result.description)}</p>
<p class="meta">experiment <b>${escapeHtml(result.experiment)}</b> · plant <b>${escapeHtml(result.plant)}</b> · seed <b>${result.seed}</b> · sample time <b>${result.sampleTime} s</b> · runs <b>${result.runs.length}</b></p>
</header>
${notes}
${sections}
<script type="application/json" id="zmp-data">${json}</script>
<script>${uplotScript}</script>
<script>${pageScript}</script>
</body>
</html>
`;
}
