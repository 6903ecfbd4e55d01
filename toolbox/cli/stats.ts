/** `zmp stats`: a node's meters per channel endpoint — rate, backlog, counts and latencies. */
import type { NodeStats } from "../../core/node-meters.js";
import { BuiltinService } from "../../core/wire.js";
import { type Command, jsonReplacer, nameArgument, parse, positiveOption, usageError } from "./command.js";
import { statsTable } from "./format.js";
import {
  callFailed,
  DIRECTORY_TIMEOUT_MS,
  findNode,
  graphFlags,
  graphFlagsHelp,
  withCliNode,
} from "./graph-client.js";
import { sleep, stopSignal } from "./signals.js";

export const statsCommand: Command = {
  summary: "show a node's meters: per channel endpoint, rate, backlog, counts and latencies",
  usage: "zmp stats NODE [--json] [--watch S] [--count N] [--all] [--directory ENDPOINT] [--timeout-ms 3000]",
  options: [
    ["--json", "print the node's meters as JSON"],
    ["--watch S", "sample again every S seconds (redrawn in place on a terminal)"],
    ["--count N", "with --watch, stop after N samples"],
    ["--all", "include the built-in zmp.* channels"],
    ...graphFlagsHelp,
  ],
  async run(argv) {
    const { values, positionals } = parse(
      argv,
      {
        ...graphFlags,
        json: { type: "boolean" },
        watch: { type: "string" },
        count: { type: "string" },
        all: { type: "boolean" },
      },
      this.usage,
    );
    const [name, ...rest] = positionals;
    if (name === undefined || rest.length > 0) throw usageError("expected one NODE", this.usage);
    nameArgument(name, "node");
    const watchS = positiveOption(values.watch, "watch", 0);
    const count = positiveOption(values.count, "count", watchS > 0 ? Number.POSITIVE_INFINITY : 1, true);
    if (values.count !== undefined && watchS === 0) throw usageError("--count needs --watch S", this.usage);
    const timeoutMs = positiveOption(values["timeout-ms"], "timeout-ms", DIRECTORY_TIMEOUT_MS);
    return withCliNode(
      values.directory,
      async (node) => {
        const { signal, dispose } = stopSignal();
        try {
          for (let sample = 0; sample < count && !signal.aborted; sample++) {
            if (sample > 0) {
              await sleep(watchS * 1000, signal);
              if (signal.aborted) break;
            }
            const record = await findNode(node, name);
            const stats = await node
              .call<NodeStats>(BuiltinService.STATS, null, { node: name, timeoutMs })
              .catch(callFailed);
            if (values.json) {
              process.stdout.write(`${JSON.stringify(stats, jsonReplacer, watchS > 0 ? 0 : 2)}\n`);
            } else {
              // On a terminal, --watch redraws in place; piped, samples follow each other.
              const clear = watchS > 0 && process.stdout.isTTY ? "\x1b[2J\x1b[H" : sample > 0 ? "\n" : "";
              process.stdout.write(`${clear}${statsTable(stats, record, values.all === true)}\n`);
            }
          }
        } finally {
          dispose();
        }
        return 0;
      },
      timeoutMs,
      values.insecure,
    );
  },
};
