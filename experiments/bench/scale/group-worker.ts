/** A scale group in a worker thread: commands come from the host process over `parentPort`. */
import { parentPort } from "node:worker_threads";
import { type GroupCommand, runCommand, ScaleGroup } from "./group.js";

const group = new ScaleGroup();
parentPort!.on("message", (m: { id: number; command: GroupCommand }) => {
  runCommand(group, m.command).then(
    (result) => parentPort!.postMessage({ id: m.id, result }),
    (error: unknown) => parentPort!.postMessage({ id: m.id, error: String(error) }),
  );
});
