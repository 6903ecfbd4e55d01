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
process.on("disconnect", () => {
  void Promise.all([directory.stop(), stopProfile()]).finally(() => process.exit(0));
});
process.send?.({ ready: true, endpoint: directory.endpoint });
