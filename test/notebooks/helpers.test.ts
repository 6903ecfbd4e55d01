import { existsSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { getExperiment } from "../../experiments/catalog/index.js";
import { chromiumPath } from "../../experiments/report/index.js";
import {
  type Chart,
  chartHtml,
  chartPng,
  chartsOf,
  formatCell,
  type NotebookDisplay,
  show,
  showTable,
  tableHtml,
  tableOf,
} from "../../notebooks/index.js";

const hasChromium = existsSync(chromiumPath());
const skipNote = hasChromium ? "" : ` [skipped: no Chromium at ${chromiumPath()}]`;

const chart: Chart = {
  title: "backlog <and> setpoint",
  yLabel: "messages",
  x: [0, 0.1, 0.2, 0.3],
  series: [
    { label: "setpoint", values: [50, 50, 50, 50], dashed: true },
    { label: "backlog", values: [0, 20, Number.NaN, 49.123456789] },
  ],
};

/** The JSON a chart fragment embeds. */
function embedded(html: string) {
  const json = /<script type="application\/json" class="zmp-data">(.*?)<\/script>/s.exec(html)![1]!;
  return JSON.parse(json) as {
    width: number;
    charts: {
      title: string;
      series: { label: string; color: string; dashed: boolean; values: unknown[] }[];
    }[];
  };
}

/** A display that records what a cell would show. */
function recorder(): NotebookDisplay & { shown: { type: string; value: string | Uint8Array }[] } {
  const shown: { type: string; value: string | Uint8Array }[] = [];
  return {
    shown,
    png: (bytes) => shown.push({ type: "png", value: bytes }),
    html: (html) => shown.push({ type: "html", value: html }),
  };
}

describe("notebook helpers", () => {
  it("chartHtml – embeds the data as JSON (gaps as null, titles escaped) with the page script", () => {
    const html = chartHtml(chart, { width: 640 });
    const data = embedded(html);
    expect(data.width).toBe(640);
    expect(data.charts[0]!.title).toBe("backlog <and> setpoint");
    expect(html).not.toContain("<and>"); // `<` is escaped inside the JSON
    expect(data.charts[0]!.series[1]!.values).toEqual([0, 20, null, 49.1235]);
    expect(data.charts[0]!.series.map((s) => s.dashed)).toEqual([true, false]);
    expect(data.charts[0]!.series[0]!.color).not.toBe(data.charts[0]!.series[1]!.color);
    expect(html).toContain("var uPlot=");
    expect(chartHtml(chart, { library: false })).not.toContain("var uPlot=");
  });

  it("chartHtml – the same chart gives the same fragment id prefix (re-runs do not churn outputs)", () => {
    const id = (html: string) => /id="(zmp-[0-9a-f]{10})-\d+"/.exec(html)![1];
    expect(id(chartHtml(chart))).toBe(id(chartHtml(chart)));
    expect(id(chartHtml({ ...chart, title: "other" }))).not.toBe(id(chartHtml(chart)));
  });

  it("chartHtml – rejects a series whose length differs from x, and an empty list, naming them", () => {
    expect(() => chartHtml({ ...chart, series: [{ label: "short", values: [1] }] })).toThrow(
      /series `short` of chart `backlog <and> setpoint` to have 4 values/,
    );
    expect(() => chartHtml([])).toThrow(/at least one chart/);
    expect(() => chartHtml(chart, { width: -1 })).toThrow(/`width` to be a positive number/);
  });

  it("tableHtml – numbers to 4 significant digits, null and NaN as a dash, text escaped", () => {
    expect([formatCell(1234.5678), formatCell(0.000123456), formatCell(42), formatCell(null)]).toEqual([
      "1235",
      "0.0001235",
      "42",
      "–",
    ]);
    expect(formatCell(Number.NaN)).toBe("–");
    const html = tableHtml({
      title: "a & b",
      columns: ["rule", "kp"],
      rows: [
        ["simc", 0.833333],
        ["<x>", null],
      ],
    });
    expect(html).toContain("<p><b>a &amp; b</b></p>");
    expect(html).toContain('<th style="text-align:left">simc</th><td>0.8333</td>');
    expect(html).toContain("&lt;x&gt;</th><td>–</td>");
  });

  it("tableOf – one column per key of the first row", () => {
    expect(
      tableOf(
        [
          { kp: 1, ok: true },
          { kp: 2, ok: false },
        ],
        "t",
      ),
    ).toEqual({
      title: "t",
      columns: ["kp", "ok"],
      rows: [
        [1, "true"],
        [2, "false"],
      ],
    });
  });

  it("chartsOf – an experiment's report charts, filtered by chart and section", async () => {
    const result = await getExperiment("backlog-step").run({
      plant: "sim",
      seed: 2,
      sampleTime: 0.1,
      duration: 10,
    });
    const all = chartsOf(result);
    expect(all.length).toBe(result.sections.reduce((n, s) => n + s.charts.length, 0));
    const backlog = chartsOf(result, (c) => c.title.startsWith("Backlog"));
    expect(backlog.length).toBeGreaterThan(0);
    expect(backlog.length).toBeLessThan(all.length);
    for (const c of all) for (const s of c.series) expect(s.values.length).toBe(c.x.length);
    expect(() => chartHtml(all)).not.toThrow();
  });

  it("showTable and show – go to the display given; show without a PNG inlines uPlot once", async () => {
    const display = recorder();
    await showTable({ columns: ["a"], rows: [[1]] }, { display });
    await show(chart, { display, png: false });
    await show(chart, { display, png: false });
    expect(display.shown.map((s) => s.type)).toEqual(["html", "html", "html"]);
    const [, first, second] = display.shown.map((s) => String(s.value));
    expect(first).toContain("var uPlot=");
    expect(second).not.toContain("var uPlot=");
  });

  it.skipIf(!hasChromium)(`chartPng – draws the charts in chromium into one PNG${skipNote}`, async () => {
    const png = await chartPng([chart, { ...chart, title: "second" }], { width: 500, height: 150 });
    expect(png).not.toBeNull();
    expect(png!.subarray(0, 8).toString("hex")).toBe("89504e470d0a1a0a");
    expect(png!.readUInt32BE(16)).toBe(500); // IHDR width: the chart's width
    expect(png!.readUInt32BE(20)).toBeGreaterThan(2 * 150); // two plots stacked, with titles and legends
    const display = recorder();
    await show(chart, { display, width: 500 });
    expect(display.shown.map((s) => s.type)).toEqual(["png", "html"]);
  });
});
