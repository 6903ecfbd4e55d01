/**
 * The layers point one way, read from the source's imports: `core` imports
 * nothing outside `core`; `toolbox` nothing from `experiments`; the root
 * `zmp` (index.ts) loads the core alone (no toolbox module, no mathjs: it
 * stays fast to import); and no module imports itself back through others.
 * Type-only imports are left out: they vanish at run time.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const folders = ["core", "toolbox", "experiments", "notebooks"];

/** Run-time imports of every source file: relative ones as repository paths, packages by name. */
function importGraph(): Map<string, string[]> {
  const files: string[] = [join(root, "index.ts"), join(root, "cli.ts")];
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (path.endsWith(".ts") && !path.endsWith(".d.ts")) files.push(path);
    }
  };
  for (const folder of folders) walk(join(root, folder));
  const graph = new Map<string, string[]>();
  const statement = /^\s*(?:import|export)\s+(type\s+)?(?:[^;'"]*?\s+from\s+)?["']([^"']+)["']/gm;
  for (const file of files) {
    const deps: string[] = [];
    for (const [, typeOnly, spec] of readFileSync(file, "utf8").matchAll(statement)) {
      if (typeOnly !== undefined || spec === undefined) continue;
      deps.push(
        spec.startsWith(".") ? relative(root, resolve(dirname(file), spec.replace(/\.js$/, ".ts"))) : spec,
      );
    }
    graph.set(relative(root, file), deps);
  }
  return graph;
}

/** Everything `start` loads, itself included. */
function reach(graph: Map<string, string[]>, start: string): Set<string> {
  const seen = new Set<string>();
  const visit = (file: string): void => {
    if (seen.has(file)) return;
    seen.add(file);
    for (const dep of graph.get(file) ?? []) visit(dep);
  };
  visit(start);
  return seen;
}

describe("layers", () => {
  const graph = importGraph();

  it("layers – core imports nothing outside core, the toolbox nothing from experiments", () => {
    const wrong: string[] = [];
    for (const [file, deps] of graph)
      for (const dep of deps) {
        if (!dep.includes("/") && !dep.startsWith("@")) continue;
        if (file.startsWith("core/") && dep.match(/^(toolbox|experiments|notebooks)\//))
          wrong.push(`${file} -> ${dep}`);
        if (file.startsWith("toolbox/") && dep.startsWith("experiments/")) wrong.push(`${file} -> ${dep}`);
      }
    expect(wrong).toEqual([]);
    expect(graph.get("core/index.ts")?.length).toBeGreaterThan(5); // the graph was read
  });

  it("layers – the root zmp loads the core alone: no toolbox module, no mathjs", () => {
    const loaded = [...reach(graph, "index.ts")];
    expect(loaded).toContain("core/node.ts");
    expect(loaded.filter((f) => f.startsWith("toolbox/") || f.startsWith("experiments/"))).toEqual([]);
    expect(loaded.filter((f) => f === "mathjs" || f === "uplot" || f.startsWith("playwright"))).toEqual([]);
  });

  it("layers – no import cycle", () => {
    const state = new Map<string, "open" | "done">();
    const cycles: string[] = [];
    const stack: string[] = [];
    const visit = (file: string): void => {
      state.set(file, "open");
      stack.push(file);
      for (const dep of graph.get(file) ?? []) {
        if (!graph.has(dep)) continue;
        if (state.get(dep) === "open") cycles.push([...stack.slice(stack.indexOf(dep)), dep].join(" -> "));
        else if (!state.has(dep)) visit(dep);
      }
      stack.pop();
      state.set(file, "done");
    };
    for (const file of graph.keys()) if (!state.has(file)) visit(file);
    expect(cycles).toEqual([]);
  });
});
