/**
 * The directory of the scale bench in a process of its own (forked with tsx
 * by scale/run.ts), so its CPU time and file descriptors are its own: binds
 * `argv[2]` (`argv[3]`: its `maxHeartbeatsPerSecond`, if given), reports `{ endpoint }`, stops when the parent goes away. With
 * `ZMP_BENCH_PROFILE` set it writes a CPU profile there (see profiler.ts).
 */
import { monitorEventLoopDelay } from "node:perf_hooks";
import { Directory } from "../../../core/index.js";
import { startProfile } from "../profiler.js";

const stopProfile = await startProfile("scale-directory");
const maxHeartbeatsPerSecond = process.argv[3] === undefined ? undefined : Number(process.argv[3]);
const directory = await Directory.start({ bind: process.argv[2]!, maxHeartbeatsPerSecond });
// ZMP_SCALE_DEBUG: the directory's version and its changes by kind, every 5 s.
if (process.env.ZMP_SCALE_DEBUG) {
  // Write the profile after a minute, so a run that stalls still leaves one.
  setTimeout(() => void stopProfile(), 60_000).unref();
  const counts = new Map<string, number>();
  directory.onChange((_v, change) => {
    const key = change.op === "up" ? "up" : `down (${change.reason})`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  });
  const delay = monitorEventLoopDelay({ resolution: 10 });
  delay.enable();
  let last = process.cpuUsage();
  setInterval(() => {
    const cpu = process.cpuUsage();
    const busy = (cpu.user + cpu.system - last.user - last.system) / 50_000;
    last = cpu;
    process.stderr.write(
      `directory: v${directory.version} ${[...counts].map(([k, n]) => `${k} ${n}`).join(", ")}; heartbeat ${directory.heartbeatMs} ms; loop delay max ${(delay.max / 1e6).toFixed(0)} ms; CPU ${busy.toFixed(0)} %\n`,
    );
    delay.reset();
  }, 5000).unref();
}
// `{ id, op: "stats" }`: the directory's stats (heartbeat interval in force, heartbeats taken).
process.on("message", (m: { id: number; op: string }) => {
  if (m.op === "stats") process.send?.({ id: m.id, result: directory.stats() });
  else process.send?.({ id: m.id, error: `unknown op ${m.op}` });
});
process.on("disconnect", () => {
  void Promise.all([directory.stop(), stopProfile()]).finally(() => process.exit(0));
});
process.send?.({ ready: true, endpoint: directory.endpoint });
