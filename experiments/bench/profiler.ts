/**
 * CPU profiles for bench processes (Node 20 refuses `--cpu-prof` in
 * NODE_OPTIONS, and zmp's process hosts choose their own flags): when
 * `ZMP_BENCH_PROFILE` names a folder, each bench process profiles itself
 * with the inspector and writes `<label>-<pid>.cpuprofile` there when done.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { Session } from "node:inspector/promises";
import { join } from "node:path";

/** Starts profiling if asked to; the returned function stops and writes the profile (a no-op otherwise). */
export async function startProfile(label: string): Promise<() => Promise<void>> {
  const dir = process.env.ZMP_BENCH_PROFILE;
  if (!dir) return async () => undefined;
  const session = new Session();
  session.connect();
  await session.post("Profiler.enable");
  await session.post("Profiler.setSamplingInterval", { interval: 200 });
  await session.post("Profiler.start");
  let stopped = false;
  return async () => {
    if (stopped) return;
    stopped = true;
    const { profile } = await session.post("Profiler.stop");
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, `${label}-${process.pid}.cpuprofile`), JSON.stringify(profile));
    session.disconnect();
  };
}
