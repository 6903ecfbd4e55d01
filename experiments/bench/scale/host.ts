/**
 * A host process of the scale bench (forked with tsx by scale/run.ts): one
 * scale group in its main thread and `threads − 1` in worker threads. The
 * parent sends commands over the IPC channel (`{ id, op: "form" | "seen" |
 * "close", … }`); a `form` splits its names over the groups, and the answer
 * gathers theirs. Exits when the parent goes away.
 */
import { Worker } from "node:worker_threads";
import { type Formed, type GroupCommand, runCommand, ScaleGroup } from "./group.js";

type Run = (command: GroupCommand) => Promise<unknown>;

const threads = Math.max(1, Number(process.argv[2] ?? 1));
const main = new ScaleGroup();
const groups: Run[] = [(command) => runCommand(main, command)];
const workers: Worker[] = [];

const workerUrl = new URL(
  import.meta.url.endsWith(".ts") ? "./group-worker.ts" : "./group-worker.js",
  import.meta.url,
);
for (let i = 1; i < threads; i++) {
  // Under tsx, register its loader in the worker before importing the TypeScript entry.
  const code = import.meta.url.endsWith(".ts")
    ? `import { register } from ${JSON.stringify(import.meta.resolve("tsx/esm/api"))}; register(); await import(${JSON.stringify(workerUrl.href)});`
    : `await import(${JSON.stringify(workerUrl.href)});`;
  const worker = new Worker(new URL(`data:text/javascript,${encodeURIComponent(code)}`));
  workers.push(worker);
  const waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  let nextId = 0;
  worker.on("message", (m: { id: number; result?: unknown; error?: string }) => {
    const w = waiting.get(m.id);
    waiting.delete(m.id);
    if (m.error !== undefined) w?.reject(new Error(m.error));
    else w?.resolve(m.result);
  });
  groups.push(
    (command) =>
      new Promise((resolve, reject) => {
        const id = ++nextId;
        waiting.set(id, { resolve, reject });
        worker.postMessage({ id, command });
      }),
  );
}

async function handle(m: {
  op: string;
  directory?: string;
  names?: string[];
  total?: number;
}): Promise<unknown> {
  if (m.op === "form") {
    const names = m.names ?? [];
    const share = groups.map((_, g) => names.filter((_, i) => i % groups.length === g));
    const formed = (await Promise.all(
      groups.map((run, g) => run({ op: "form", directory: m.directory!, names: share[g]! })),
    )) as Formed[];
    return {
      formedAt: Math.max(...formed.map((f) => f.formedAt)),
      startMs: formed.flatMap((f) => f.startMs),
    } satisfies Formed;
  }
  if (m.op === "seen") {
    const times = (await Promise.all(groups.map((run) => run({ op: "seen", total: m.total! })))) as number[];
    return Math.max(...times);
  }
  if (m.op === "close") {
    await Promise.all(groups.map((run) => run({ op: "close" })));
    await Promise.all(workers.map((w) => w.terminate()));
    return null;
  }
  throw new Error(`unknown op ${m.op}`);
}

process.on("message", (m: { id: number; op: string }) => {
  handle(m).then(
    (result) => process.send?.({ id: m.id, result }),
    (error: unknown) => process.send?.({ id: m.id, error: String(error) }),
  );
});
// The parent went away (it failed, or was interrupted): stop the nodes, bounded, then exit.
// Exiting with live sockets in worker threads makes zeromq.js abort the process.
process.on("disconnect", () => {
  setTimeout(() => process.exit(0), 5000).unref();
  void handle({ op: "close" }).finally(() => process.exit(0));
});
process.send?.({ ready: true });
