import { defineConfig } from "tsup";

// One output file per source file (no bundling), so the layout of dist/ mirrors
// the source: dist/core/host.js finds dist/core/host-entry.js next to it, and
// every class exists once (errors stay instanceof-comparable across entry points).
export default defineConfig({
  entry: [
    "index.ts",
    "cli.ts",
    "core/**/*.ts",
    "toolbox/**/*.ts",
    "experiments/**/*.ts",
    "notebooks/index.ts",
    "!**/*.test.ts",
  ],
  format: ["esm"],
  target: "node20",
  platform: "node",
  bundle: false,
  dts: true,
  sourcemap: true,
  clean: true,
  outDir: "dist",
});
