import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { getExperiment } from "../../experiments/catalog/index.js";
import { chromiumPath, launchChromium, writeReport } from "../../experiments/report/index.js";
import { tempDir } from "../helpers.js";

const chromium = chromiumPath();
const hasChromium = existsSync(chromium);
const skipNote = hasChromium ? "" : ` [skipped: no Chromium at ${chromium}]`;

/** What the page reports for one chart after drawing. */
interface DrawnChart {
  title: string;
  labels: string[];
  dashed: boolean[];
  colorPixels: number[];
  legendRows: number;
  points: number;
  dataLengths: number[];
  finite: boolean[];
  yMin: number;
  yMax: number;
}

describe("report in chromium", () => {
  const dir = tempDir();
  afterAll(() => dir.remove());

  it.skipIf(!hasChromium)(
    `report in chromium – report.png is written and every chart drew its data${skipNote}`,
    async () => {
      const result = await getExperiment("backlog-step").run({
        plant: "sim",
        seed: 2,
        sampleTime: 0.1,
        duration: 15,
      });
      const written = await writeReport(result, dir.dir);
      expect(written.pngSkipped).toBeNull();
      const png = readFileSync(join(dir.dir, "report.png"));
      expect(png.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))).toBe(
        true,
      );

      const browser = await launchChromium();
      try {
        const page = await browser!.newPage({ viewport: { width: 1200, height: 900 } });
        await page.goto(pathToFileURL(written.html).href);
        await page.waitForFunction(
          () => (window as unknown as { zmpReport?: { ready: boolean } }).zmpReport?.ready === true,
        );
        const charts = await page.evaluate((): DrawnChart[] => {
          type Chart = {
            id: string;
            title: string;
            labels: string[];
            colors: string[];
            dashed: boolean[];
            points: number;
            plot: { data: (number | null)[][]; scales: { y: { min: number; max: number } } };
          };
          const report = (window as unknown as { zmpReport: { charts: Chart[] } }).zmpReport;
          return report.charts.map((c) => {
            const canvas = document.querySelector(`#${c.id} canvas`) as HTMLCanvasElement;
            const pixels = canvas.getContext("2d")!.getImageData(0, 0, canvas.width, canvas.height).data;
            const rgb = c.colors.map((hex) => [1, 3, 5].map((i) => Number.parseInt(hex.slice(i, i + 2), 16)));
            const colorPixels = rgb.map(() => 0);
            for (let i = 0; i < pixels.length; i += 4) {
              if (pixels[i + 3]! < 200) continue;
              for (let s = 0; s < rgb.length; s++) {
                const [r, g, b] = rgb[s]!;
                if (
                  Math.abs(pixels[i]! - r!) <= 16 &&
                  Math.abs(pixels[i + 1]! - g!) <= 16 &&
                  Math.abs(pixels[i + 2]! - b!) <= 16
                ) {
                  colorPixels[s]!++;
                }
              }
            }
            return {
              title: c.title,
              labels: c.labels,
              dashed: c.dashed,
              colorPixels,
              legendRows: document.querySelectorAll(`#${c.id} .u-legend tr.u-series`).length,
              points: c.points,
              dataLengths: c.plot.data.map((d) => d.length),
              finite: c.plot.data.slice(1).map((d) => d.some((v) => v !== null && Number.isFinite(v))),
              yMin: c.plot.scales.y.min,
              yMax: c.plot.scales.y.max,
            };
          });
        });
        // Backlog, rates, admission rate, latency, PID components; then the two step-test charts.
        expect(charts.map((c) => c.title)).toEqual([
          "Backlog vs setpoint",
          "Rates: offered load, capacity and admitted rate per run",
          "Controller output: admission rate",
          "Latency p99 of the messages served in each sample",
          "Controller components of pid",
          "Step tests: backlog",
          "Step tests: admission rate applied",
        ]);
        for (const c of charts) {
          // The legend lists the x series and every line.
          expect(c.legendRows, c.title).toBe(c.labels.length + 1);
          // The plot holds the samples: 150 per run of 15 s (100 for a 10 s step test).
          expect([150, 100], c.title).toContain(c.points);
          expect(new Set(c.dataLengths).size, c.title).toBe(1);
          expect(c.yMax, c.title).toBeGreaterThan(c.yMin);
          // Every solid line with data left pixels of its own color on the canvas.
          c.labels.forEach((label, s) => {
            if (!c.dashed[s] && c.finite[s])
              expect(c.colorPixels[s], `${c.title}: ${label}`).toBeGreaterThan(20);
          });
        }
        const backlog = charts[0]!;
        expect(backlog.labels).toEqual(["setpoint", "pid", "none"]);
      } finally {
        await browser?.close();
      }
    },
  );
});
