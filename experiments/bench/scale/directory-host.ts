/**
 * The directory of the scale bench in a process of its own (forked with tsx
 * by scale/run.ts), so its CPU time and file descriptors are its own: binds
 * `argv[2]`, reports `{ endpoint }`, stops when the parent goes away.
 */
import { Directory } from "../../../core/index.js";

const directory = await Directory.start({ bind: process.argv[2]! });
process.on("disconnect", () => {
  void directory.stop().finally(() => process.exit(0));
});
process.send?.({ ready: true, endpoint: directory.endpoint });
