/**
 * The directory of the scale bench in a process of its own (forked with tsx
 * by scale/run.ts), so its CPU time and file descriptors are its own: binds
 * `argv[2]`, reports `{ endpoint }`, stops when the parent goes away. With
 * `ZMP_BENCH_PROFILE` set it writes a CPU profile there (see profiler.ts).
 */
import { Directory } from "../../../core/index.js";
import { startProfile } from "../profiler.js";

const stopProfile = await startProfile("scale-directory");
const directory = await Directory.start({ bind: process.argv[2]! });
// ZMP_SCALE_DEBUG: the directory's version and its changes by kind, every 5 s.
if (process.env.ZMP_SCALE_DEBUG) {
  // Write the profile after a minute, so a run that stalls still leaves one.
  setTimeout(() => void stopProfile(), 60_000).unref();
  const counts = new Map<string, number>();
  directory.onChange((_v, change) => {
    const key = change.op === "up" ? "up" : `down (${change.reason})`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  });
  setInterval(() => {
    process.stderr.write(
      `directory: v${directory.version} ${[...counts].map(([k, n]) => `${k} ${n}`).join(", ")}\n`,
    );
  }, 5000).unref();
}
process.on("disconnect", () => {
  void Promise.all([directory.stop(), stopProfile()]).finally(() => process.exit(0));
});
process.send?.({ ready: true, endpoint: directory.endpoint });
