/**
 * Prints where a `.cpuprofile` spent its time: self time per function
 * (file:line), and the share of idle, GC and native time.
 *
 *   npx tsx experiments/bench/profile-summary.ts FILE.cpuprofile [top=25]
 */
import { readFileSync } from "node:fs";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const [file, topArg = "25"] = process.argv.slice(2);
const profile = JSON.parse(readFileSync(file!, "utf8")) as Profile;
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const self = new Map<number, number>();
for (let i = 0; i < profile.samples.length; i++) {
  const id = profile.samples[i]!;
  self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
}
const total = [...self.values()].reduce((a, b) => a + b, 0);
const byFunction = new Map<string, number>();
for (const [id, us] of self) {
  const f = byId.get(id)!.callFrame;
  const where = f.url
    ? `${f.url.replace(/^file:\/\/.*?\/(core|experiments|node_modules)\//, "$1/")}:${f.lineNumber + 1}`
    : "";
  const key = `${f.functionName || "(anonymous)"} ${where}`.trim();
  byFunction.set(key, (byFunction.get(key) ?? 0) + us);
}
const idle = byFunction.get("(idle)") ?? 0;
process.stdout.write(
  `${file}: ${(total / 1e6).toFixed(2)} s sampled, ${((100 * (total - idle)) / total).toFixed(1)} % busy\n`,
);
const busy = total - idle;
for (const [key, us] of [...byFunction].sort((a, b) => b[1] - a[1]).slice(0, Number(topArg))) {
  if (key === "(idle)") continue;
  process.stdout.write(`${((100 * us) / busy).toFixed(1).padStart(5)} %  ${key}\n`);
}
