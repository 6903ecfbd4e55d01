import { readdirSync, readFileSync } from "node:fs";
import { builtinModules } from "node:module";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { describe, expect, it } from "vitest";

// `toolbox/control` must run in a browser page and a notebook (STYLE.md):
// no Node built-ins, no zeromq, no Node globals, and no import out of the folder
// (the maths knows nothing of `core`).
const root = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");
const controlDir = join(root, "toolbox/control");

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith(".ts") ? [path] : [];
  });
}

/** The source without comments, so prose about `process` or `Buffer` does not count. */
function code(source: string): string {
  return source.replace(/\/\*[\s\S]*?\*\//g, "").replace(/(^|[^:])\/\/.*$/gm, "$1");
}

const nodeOnlyGlobals = ["Buffer", "process", "require", "__dirname", "__filename", "global", "setImmediate"];

/** What keeps `source` (a file at `path`) from running in a browser page, one line per problem. */
function browserProblems(path: string, source: string): string[] {
  const text = code(source);
  const problems: string[] = [];
  const specifiers = [
    ...text.matchAll(/\bfrom\s*["']([^"']+)["']/g),
    ...text.matchAll(/\bimport\s*\(?\s*["']([^"']+)["']/g),
  ].map((m) => m[1]!);
  for (const spec of specifiers) {
    if (spec.startsWith(".")) {
      const target = relative(controlDir, resolve(dirname(path), spec));
      if (target.startsWith("..")) problems.push(`imports ${spec} from outside toolbox/control`);
    } else if (spec.startsWith("node:") || builtinModules.includes(spec.split("/")[0]!)) {
      problems.push(`imports the Node built-in ${spec}`);
    } else if (spec === "zeromq" || spec.startsWith("zeromq/")) {
      problems.push(`imports ${spec}`);
    }
  }
  for (const name of nodeOnlyGlobals) {
    if (new RegExp(`(?<![\\w$.#])${name}\\b(?!\\s*:)`).test(text))
      problems.push(`uses the Node global ${name}`);
  }
  return problems;
}

describe("browser", () => {
  it("browser – the scanner finds Node imports, Node globals and imports out of the folder", () => {
    // The check below must be able to fail: each of these lines is one problem.
    const path = join(controlDir, "example.ts");
    expect(browserProblems(path, 'import { readFileSync } from "node:fs";')).toEqual([
      "imports the Node built-in node:fs",
    ]);
    expect(browserProblems(path, 'import { EventEmitter } from "events";')).toEqual([
      "imports the Node built-in events",
    ]);
    expect(browserProblems(path, 'import { Dealer } from "zeromq";')).toEqual(["imports zeromq"]);
    expect(browserProblems(path, 'import { Node } from "../../core/node.js";')).toEqual([
      "imports ../../core/node.js from outside toolbox/control",
    ]);
    expect(browserProblems(path, "const b = Buffer.from([1]);")).toEqual(["uses the Node global Buffer"]);
    expect(browserProblems(path, "const n = process.hrtime();")).toEqual(["uses the Node global process"]);
    // Prose, object keys, private fields and the vocabulary do not count.
    expect(
      browserProblems(
        path,
        '/** a process, a Buffer */ // process.exit\nimport { lusolve } from "mathjs";\nimport { Pid } from "./pid.js";\nconst o = { process: 1 }; this.#global = 1;',
      ),
    ).toEqual([]);
  });

  it("browser – no file of toolbox/control imports Node built-ins or zeromq or uses Node globals", () => {
    const files = sourceFiles(controlDir);
    expect(files.length).toBeGreaterThan(20);
    const problems = files.flatMap((file) =>
      browserProblems(file, readFileSync(file, "utf8")).map((p) => `${relative(root, file)}: ${p}`),
    );
    expect(problems).toEqual([]);
  });

  it("browser – esbuild bundles toolbox/control/index.ts for the browser without Node built-ins", async () => {
    // The check has teeth: a browser bundle that needs a Node built-in fails to build.
    await expect(
      build({
        stdin: {
          contents: 'import { readFileSync } from "node:fs"; console.log(readFileSync);',
          resolveDir: root,
        },
        absWorkingDir: root,
        bundle: true,
        platform: "browser",
        write: false,
        logLevel: "silent",
      }),
    ).rejects.toThrow(/node:fs/);

    const result = await build({
      entryPoints: [join(controlDir, "index.ts")],
      absWorkingDir: root,
      bundle: true,
      platform: "browser",
      format: "esm",
      write: false,
      metafile: true,
      logLevel: "silent",
    });
    expect(result.errors).toEqual([]);
    const inputs = Object.keys(result.metafile.inputs);
    expect(inputs).toContain("toolbox/control/pid.ts");
    // Everything comes from the folder or a package; "(disabled):crypto" is seedrandom's
    // optional Node crypto, which its package.json `browser` field replaces with nothing.
    const foreign = inputs.filter(
      (input) =>
        !input.startsWith("toolbox/control/") &&
        !input.startsWith("node_modules/") &&
        !input.startsWith("(disabled):"),
    );
    expect(foreign).toEqual([]);
    expect(inputs.filter((input) => input.includes("zeromq"))).toEqual([]);
    // Nothing was left for the page to import (no external module, Node or otherwise).
    const imports = Object.values(result.metafile.outputs).flatMap((output) => output.imports);
    expect(imports).toEqual([]);
    const bundle = result.outputFiles[0]!.text;
    expect(bundle).not.toMatch(/\brequire\(["']/);
    expect(bundle).not.toMatch(/\bBuffer\.(from|alloc)/);
  }, 30_000);
});
