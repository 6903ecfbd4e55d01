/**
 * Runs one side of one case for a while, to profile it:
 *
 *   ZMP_BENCH_PROFILE=out/prof npx tsx experiments/bench/profile.ts "queue ipc 16B" [zmp|raw|N] [seconds]
 *
 * Every process of the case (the parent and its children) writes a
 * `.cpuprofile` when it ends (profiler.ts); `profile-summary.ts` prints where the time went.
 * The side is `zmp` (the subject, default), `raw` (the first baseline) or the
 * index of a baseline.
 */
import { cases } from "./cases/index.js";
import { Cleanup } from "./cleanup.js";
import { startProfile } from "./profiler.js";

const [name, side = "zmp", seconds = "5"] = process.argv.slice(2);
const c = cases.find((x) => x.name === name);
if (c === undefined) {
  process.stderr.write(`no case named \`${name}\`; cases: ${cases.map((x) => x.name).join(", ")}\n`);
  process.exit(2);
}
const cleanup = new Cleanup();
try {
  const trial = await c.open({ cleanup, quick: false, references: false });
  const contender = side === "zmp" ? trial.subject : trial.baselines[side === "raw" ? 0 : Number(side)];
  if (contender === undefined) throw new Error(`no side \`${side}\``);
  const stopProfile = await startProfile(`parent-${side}`);
  const end = performance.now() + Number(seconds) * 1000;
  while (performance.now() < end) {
    const sample = await contender.run(700);
    process.stderr.write(`${contender.label} ${contender.sockets}: ${JSON.stringify(sample)}\n`);
  }
  await stopProfile();
} finally {
  await cleanup.run();
}
