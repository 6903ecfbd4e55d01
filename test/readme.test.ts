/**
 * The README's quick start, run as written: its two code blocks are saved
 * as `adder.ts` and `main.ts` in a folder inside the repository (where the
 * package imports itself as `zmp`, from the built `dist/`), `main.ts` runs
 * with tsx, and what it prints is what the README says it prints.
 */
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const root = fileURLToPath(new URL("..", import.meta.url));

/** The fenced `ts` blocks of the README section titled `title`, in order. */
function blocks(markdown: string, title: string): string[] {
  const start = markdown.indexOf(`\n## ${title}\n`);
  if (start < 0) throw new Error(`README has no section "${title}"`);
  const next = markdown.indexOf("\n## ", start + 1);
  const section = markdown.slice(start, next < 0 ? undefined : next);
  return [...section.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]!);
}

/** Runs `node --import tsx file` in `cwd`; resolves with its output, or rejects at the deadline (killing it). */
function run(
  file: string,
  cwd: string,
  timeoutMs: number,
): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", import.meta.resolve("tsx"), file], {
      cwd,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    child.stdout.on("data", (chunk: Buffer) => {
      out += chunk.toString();
    });
    child.stderr.on("data", (chunk: Buffer) => {
      err += chunk.toString();
    });
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`${file} did not finish within ${timeoutMs} ms; printed:\n${out}\n${err}`));
    }, timeoutMs);
    child.once("exit", (code) => {
      clearTimeout(timer);
      resolve({ code, out, err });
    });
  });
}

describe("README", () => {
  it("readme – the quick start runs as written and prints what the README says", async () => {
    expect(existsSync(join(root, "dist", "index.js")), "the package is built (npm run build)").toBe(true);
    const readme = readFileSync(join(root, "README.md"), "utf8");
    const [adder, main] = blocks(readme, "Quick start");
    expect(adder).toContain("// adder.ts");
    expect(main).toContain("// main.ts");
    // Inside the repository, so `import … from "zmp"` is the package's own self-reference.
    const dir = mkdtempSync(join(root, "test", ".readme-"));
    try {
      writeFileSync(join(dir, "adder.ts"), adder!);
      writeFileSync(join(dir, "main.ts"), main!);
      const { code, out, err } = await run("main.ts", dir, 60_000);
      expect(err).toBe("");
      expect(code).toBe(0);
      expect(out.trim().split("\n")).toEqual([
        "3",
        "sensor/temp 21.5",
        "3 message(s) not yet handled",
        "handled 0",
        "handled 1",
        "handled 2",
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 90_000);

  it("readme – the control toolbox's PID example (docs/control.md) prints the output shown under it", async () => {
    const doc = readFileSync(join(root, "docs", "control.md"), "utf8");
    const match = /```ts\n([\s\S]*?)```\n\n```\n([\s\S]*?)```/.exec(doc);
    expect(match, "a ts block followed by its output block").not.toBeNull();
    const [, code, shown] = match!;
    expect(code).toContain('from "zmp/control"');
    const dir = mkdtempSync(join(root, "test", ".readme-"));
    try {
      writeFileSync(join(dir, "pid.ts"), code!);
      const { code: exit, out, err } = await run("pid.ts", dir, 60_000);
      expect(err).toBe("");
      expect(exit).toBe(0);
      // Pure maths: the same numbers to the last digit.
      expect(out.trim()).toBe(shown!.trim());
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 90_000);

  it("readme – the feedback-loop example (docs/feedback-loops.md) runs at the repository's root and retunes its loop live", async () => {
    const doc = readFileSync(join(root, "docs", "feedback-loops.md"), "utf8");
    const loop = [...doc.matchAll(/```ts\n([\s\S]*?)```/g)]
      .map((m) => m[1]!)
      .find((b) => b.includes("// loop.ts"));
    expect(loop, "docs/feedback-loops.md has the loop.ts example").toContain(
      "// loop.ts, in this repository",
    );
    // Where the README says to save it: the root (it spawns ./toolbox/nodes/queue-worker.ts).
    const file = `.readme-loop-${process.pid}.ts`;
    writeFileSync(join(root, file), loop!);
    try {
      const { code, out, err } = await run(file, root, 60_000);
      expect(err).toBe("");
      expect(code).toBe(0);
      // `time setpoint measurement applied { p, i, d, ff }`, one line per 10th sample of the last 40.
      const rows = out
        .trim()
        .split("\n")
        .map((line) => /^(\d+\.\d) (\d+) (\d+) (-?\d+) \{ p: .*, i: .*, d: .*, ff: .* \}$/.exec(line));
      expect(rows.length).toBeGreaterThanOrEqual(3);
      for (const row of rows) expect(row, out).not.toBeNull();
      const setpoints = rows.map((r) => Number(r![2]));
      expect(setpoints.at(-1)).toBe(80); // the retune over the loop's service took effect
      // Admission opens after the retune and the backlog rises toward 80 (100 msg/s net inflow).
      expect(Number(rows.at(-1)![3])).toBeGreaterThan(40);
    } finally {
      rmSync(join(root, file), { force: true });
    }
  }, 90_000);
});
