/** `zmp graph`: the live nodes of a graph with their channels, rates and backlogs. */
import type { NodeStats } from "../../core/node-meters.js";
import { BuiltinService } from "../../core/wire.js";
import { type Command, jsonReplacer, parse, positiveOption } from "./command.js";
import { type GraphEntry, graphTable } from "./format.js";
import { DIRECTORY_TIMEOUT_MS, graphFlags, graphFlagsHelp, listNodes, withCliNode } from "./graph-client.js";

export const graphCommand: Command = {
  summary: "list the live nodes of a graph with their channels, rates and backlogs",
  usage: "zmp graph [--json] [--all] [--directory ENDPOINT] [--timeout-ms 3000]",
  options: [
    ["--json", "print the nodes, their channels and meters as JSON"],
    ["--all", "include the built-in zmp.* channels"],
    ...graphFlagsHelp,
  ],
  async run(argv) {
    const { values } = parse(
      argv,
      { ...graphFlags, json: { type: "boolean" }, all: { type: "boolean" } },
      this.usage,
      false,
    );
    const timeoutMs = positiveOption(values["timeout-ms"], "timeout-ms", DIRECTORY_TIMEOUT_MS);
    return withCliNode(
      values.directory,
      async (node) => {
        const nodes = (await listNodes(node)).sort((a, b) => a.name.localeCompare(b.name));
        // Ask every node at once; a node that does not answer within a third of the timeout shows `?`.
        const entries: GraphEntry[] = await Promise.all(
          nodes.map(async (record) => ({
            ...record,
            stats: await node
              .call<NodeStats>(BuiltinService.STATS, null, {
                node: record.name,
                timeoutMs: timeoutMs / 3,
              })
              .catch(() => null),
          })),
        );
        if (values.json) process.stdout.write(`${JSON.stringify(entries, jsonReplacer, 2)}\n`);
        else process.stdout.write(`${graphTable(entries, values.all === true)}\n`);
        return 0;
      },
      timeoutMs,
      values.insecure,
    );
  },
};
