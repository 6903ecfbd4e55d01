/**
 * The committed notebooks: well-formed, executed top to bottom in the repo's
 * tslab kernel with no failing cell, and carrying their charts (a PNG, then
 * the interactive uPlot chart as HTML). `npm run notebooks` re-executes them;
 * these tests read what is committed.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

const folder = new URL("../../notebooks/", import.meta.url).pathname;
const expected = [
  "01-quick-start.ipynb",
  "02-pid-on-a-simulated-queue.ipynb",
  "03-identification-and-tuning.ipynb",
  "04-compare-controllers.ipynb",
  "05-cache-hit-rate.ipynb",
];

interface Output {
  output_type: string;
  name?: string;
  text?: string | string[];
  data?: Record<string, string | string[]>;
}
interface Cell {
  cell_type: "code" | "markdown" | "raw";
  source: string | string[];
  execution_count?: number | null;
  outputs?: Output[];
}
interface Notebook {
  nbformat: number;
  nbformat_minor: number;
  metadata: { kernelspec?: { name?: string }; language_info?: { name?: string } };
  cells: Cell[];
}

const text = (value: string | string[] | undefined): string =>
  Array.isArray(value) ? value.join("") : (value ?? "");
const notebooks = readdirSync(folder)
  .filter((f) => f.endsWith(".ipynb"))
  .sort();
const load = (name: string): Notebook => JSON.parse(readFileSync(join(folder, name), "utf8")) as Notebook;
const codeCells = (nb: Notebook) => nb.cells.filter((c) => c.cell_type === "code");
const outputs = (nb: Notebook) => codeCells(nb).flatMap((c) => c.outputs ?? []);

describe("notebooks", () => {
  it("notebooks – the five notebooks are there", () => {
    for (const name of expected) expect(notebooks).toContain(name);
  });

  it("notebooks – the repo's kernel spec starts tslab from node_modules/.bin", () => {
    const spec = JSON.parse(readFileSync(join(folder, "jupyter/kernels/tslab/kernel.json"), "utf8")) as {
      argv: string[];
      language: string;
    };
    expect(spec.argv).toEqual(["tslab", "kernel", "--config-path", "{connection_file}"]);
    expect(spec.language).toBe("typescript");
  });

  for (const name of notebooks) {
    describe(name, () => {
      const nb = load(name);

      it(`notebooks – ${name} is nbformat 4 for the repo's tslab kernel, with a title`, () => {
        expect(nb.nbformat).toBe(4);
        expect(nb.metadata.kernelspec?.name).toBe("tslab");
        expect(nb.cells[0]?.cell_type).toBe("markdown");
        expect(text(nb.cells[0]?.source)).toMatch(/^# \S/);
        for (const cell of nb.cells) expect(["code", "markdown"]).toContain(cell.cell_type);
      });

      it(`notebooks – ${name} ran top to bottom in one kernel`, () => {
        // language_info is written by the kernel when the notebook is executed;
        // the counts by .ci/notebooks' nbconvert hook, from tslab's replies.
        expect(nb.metadata.language_info?.name).toBe("typescript");
        const counts = codeCells(nb).map((c) => c.execution_count);
        expect(counts).toEqual(counts.map((_, i) => i + 1));
      });

      it(`notebooks – ${name} has no error output (tslab reports errors on stderr)`, () => {
        for (const cell of codeCells(nb)) {
          for (const out of cell.outputs ?? []) {
            const where = `${name}, cell: ${text(cell.source).split("\n")[0]}`;
            expect(out.output_type, where).not.toBe("error");
            if (out.output_type === "stream") expect(out.name, `${where}\n${text(out.text)}`).toBe("stdout");
          }
        }
      });

      it(`notebooks – ${name} shows its charts: a PNG, then the interactive uPlot chart`, () => {
        const all = outputs(nb);
        const pngs = all.filter((o) => o.data?.["image/png"] !== undefined);
        expect(pngs.length).toBeGreaterThan(0);
        for (const png of pngs) {
          const bytes = Buffer.from(text(png.data!["image/png"]), "base64");
          expect(bytes.subarray(0, 8).toString("hex")).toBe("89504e470d0a1a0a");
          expect(bytes.readUInt32BE(16)).toBeGreaterThan(400); // IHDR width, px
          // The output right after each PNG is its interactive chart.
          const next = all[all.indexOf(png) + 1];
          expect(text(next?.data?.["text/html"])).toContain('class="zmp-charts"');
        }
        // The first chart HTML carries uPlot itself; the page script draws from embedded data.
        const html = all.map((o) => text(o.data?.["text/html"])).filter((h) => h.includes("zmp-charts"));
        expect(html[0]).toContain("var uPlot=");
        for (const h of html) expect(h).toMatch(/<script type="application\/json" class="zmp-data">\{/);
      });

      it(`notebooks – ${name} imports the built package by name, as a user would`, () => {
        let imports = 0;
        for (const cell of codeCells(nb)) {
          for (const [, from] of text(cell.source).matchAll(/from\s+"([^"]*)"/g)) {
            if (from === undefined || from.startsWith("node:") || from === "tslab") continue; // built-ins and the kernel's display API
            expect(from, name).toMatch(/^zmp(\/(control|core|toolbox|experiments|notebooks))?$/);
            imports++;
          }
        }
        expect(imports).toBeGreaterThan(0);
      });
    });
  }
});
