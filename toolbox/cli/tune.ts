/**
 * `zmp tune`: serves the live tuning page of a running feedback loop on
 * 127.0.0.1 until Ctrl-C.
 *
 *   zmp tune [--loop NAME] [--directory ENDPOINT] [--port 0] [--open] [--queue NAME] [--timeout-ms 3000]
 *   zmp tune --demo [--workers 2] [--port 0] [--open]
 *
 * Without `--demo` it joins the graph (`--directory`, `ZMP_DIRECTORY`, or
 * the newest graph on this machine) as an unlisted node and shows `--loop`,
 * or the only loop running, or a list of them. With `--demo` it starts a
 * small live graph of its own to tune (../tune/demo.ts: load → queue
 * proxy → worker processes, and the loop `backlog`), advertised so `zmp
 * graph` and `zmp call backlog.control …` work from another terminal.
 */
import { spawn } from "node:child_process";
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { makeIpcDir } from "../../core/endpoint.js";
import type { Node } from "../../core/node.js";
import type { TuneServer } from "../tune/server.js";
import { type Command, nameArgument, parse, positiveOption, UsageError } from "./command.js";
import { cliNode, graphFlagsHelp, resolveDirectory } from "./graph-client.js";
import { untilSignal } from "./signals.js";

const usage =
  "zmp tune [--loop NAME] [--directory ENDPOINT] [--port 0] [--open] [--queue NAME] [--timeout-ms 3000] | zmp tune --demo [--workers 2] [--port 0] [--open]";

/** Opens `url` in the desktop's browser; false when there is no opener. */
function openBrowser(url: string): Promise<boolean> {
  const opener =
    process.platform === "darwin" ? "open" : process.platform === "win32" ? "explorer" : "xdg-open";
  return new Promise((resolve) => {
    const child = spawn(opener, [url], { stdio: "ignore", detached: true });
    child.once("error", () => resolve(false));
    child.once("spawn", () => {
      child.unref();
      resolve(true);
    });
  });
}

/**
 * A page that sends the browser on to `url`, in a private folder of this
 * process (0700; the next `Graph.open()` sweeps it if the process is
 * killed). `--open` starts the browser with this file rather than the URL,
 * as Jupyter does: a command line is visible to every user (`ps`), and
 * the URL carries the page's token. Returns its `file:` URL and how to
 * remove it.
 */
function redirectPage(url: string): { href: string; remove: () => void } {
  const dir = makeIpcDir();
  const path = join(dir, "open.html");
  const target = url.replace(/&/g, "&amp;").replace(/"/g, "&quot;").replace(/</g, "&lt;");
  writeFileSync(
    path,
    `<!doctype html><meta charset="utf-8"><meta http-equiv="refresh" content="0;url=${target}">` +
      `<title>zmp tune</title><p><a href="${target}">Open the tuning page</a></p>\n`,
    { mode: 0o600 },
  );
  return { href: pathToFileURL(path).href, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

function portOption(value: unknown): number {
  if (value === undefined) return 0;
  const port = Number(value);
  if (typeof value !== "string" || !/^\d+$/.test(value) || port > 65535)
    throw new UsageError(`--port expects an integer from 0 to 65535, got "${String(value)}"`);
  return port;
}

export const tuneCommand: Command = {
  summary: "serve a live tuning page for a running feedback loop (charts, gains, setpoint, disturbances)",
  usage,
  options: [
    ["--loop NAME", "the loop to show (default: the only one running, else the page lists them)"],
    ...graphFlagsHelp,
    ["--port N", "the page's port on 127.0.0.1 (default 0: any free port)"],
    ["--open", "open the page in the desktop's browser"],
    [
      "--queue NAME",
      "the queue whose workers the disturbance buttons slow down (default: found from the loop)",
    ],
    ["--demo", "start a small live graph of its own to tune (no other graph needed)"],
    ["--workers N", "with --demo, worker processes behind the queue (default 2, at most 16)"],
  ],
  async run(argv) {
    const { values } = parse(
      argv,
      {
        loop: { type: "string" },
        directory: { type: "string" },
        port: { type: "string" },
        open: { type: "boolean" },
        queue: { type: "string" },
        "timeout-ms": { type: "string" },
        demo: { type: "boolean" },
        workers: { type: "string" },
      },
      usage,
      false,
    );
    const port = portOption(values.port);
    const timeoutMs = positiveOption(values["timeout-ms"], "timeout-ms", 3000);
    const loop = typeof values.loop === "string" ? nameArgument(values.loop, "--loop") : undefined;
    const queue = typeof values.queue === "string" ? nameArgument(values.queue, "--queue") : undefined;
    const demo = values.demo === true;
    if (!demo && values.workers !== undefined)
      throw new UsageError(`--workers goes with --demo; usage: ${usage}`);
    const workers = positiveOption(values.workers, "workers", 2, true);
    if (workers > 16) throw new UsageError(`--workers expects at most 16, got "${String(values.workers)}"`);
    // The server and the demo load only now: `zmp --help` stays fast.
    const { TuneServer: Server } = await import("../tune/server.js");

    let node: Node;
    let stopGraph: () => Promise<void>;
    let where: string;
    if (demo) {
      if (values.directory !== undefined)
        throw new UsageError(`--demo starts its own graph; drop --directory`);
      const { startTuneDemo } = await import("../tune/demo.js");
      process.stdout.write(`starting the demo graph (${workers} worker processes)…\n`);
      const graph = await startTuneDemo({ workers });
      node = graph.node;
      stopGraph = graph.close;
      where = `demo graph at ${graph.graph.directory}`;
    } else {
      let directory: string;
      try {
        directory = resolveDirectory(values.directory);
      } catch (error) {
        if (error instanceof UsageError && values.directory === undefined)
          throw new UsageError(`${error.message}; or try \`zmp tune --demo\``, error.exitCode);
        throw error;
      }
      node = await cliNode(directory, timeoutMs);
      stopGraph = () => node.stop();
      where = `graph at ${directory}`;
    }

    let server: TuneServer;
    try {
      server = await Server.start({
        node,
        port,
        timeoutMs,
        ...(loop === undefined ? {} : { loop }),
        ...(queue === undefined ? {} : { queue }),
      });
    } catch (error) {
      await stopGraph();
      const code = (error as NodeJS.ErrnoException).code;
      if (code === "EADDRINUSE") throw new UsageError(`port ${port} is taken: pick another with --port`, 1);
      throw error;
    }
    const loops = server.loops().map((l) => l.name);
    const lines = [`tuning page: ${server.url}  (${where}; Ctrl-C stops it)`];
    if (loop !== undefined && !loops.includes(loop))
      lines.push(
        `no loop named ${loop} runs yet (loops: ${loops.join(", ") || "none"}); the page waits for it`,
      );
    else if (loop === undefined)
      lines.push(
        loops.length === 0
          ? "no feedback loop runs in this graph yet; the page lists loops as they start"
          : `loops: ${loops.join(", ")}${loops.length > 1 ? " (the page lists them; --loop picks one)" : ""}`,
      );
    process.stdout.write(`${lines.join("\n")}\n`);
    const page = values.open === true ? redirectPage(server.url) : undefined;
    if (page !== undefined && !(await openBrowser(page.href)))
      process.stdout.write(`could not open a browser: open ${server.url} yourself\n`);
    await untilSignal();
    page?.remove();
    await server.close();
    await stopGraph();
    return 0;
  },
};
