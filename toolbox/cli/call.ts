/** `zmp call`: calls a service once and prints the reply as JSON. */
import {
  type Command,
  jsonArgument,
  jsonReplacer,
  nameArgument,
  parse,
  positiveOption,
  usageError,
} from "./command.js";
import { callFailed, graphFlags, graphFlagsHelp, withCliNode } from "./graph-client.js";

export const callCommand: Command = {
  summary: "call a service once and print the reply as JSON",
  usage: "zmp call SERVICE [JSON] [--node NAME] [--timeout-ms 5000] [--directory ENDPOINT]",
  options: [
    ["JSON", "the request (default null)"],
    ["--node NAME", "call the provider on this node (default: any provider)"],
    ["--timeout-ms MS", "longest wait for the reply (default 5000)"],
    graphFlagsHelp[0]!,
  ],
  async run(argv) {
    const { values, positionals } = parse(argv, { ...graphFlags, node: { type: "string" } }, this.usage);
    const [service, json, ...rest] = positionals;
    if (service === undefined || rest.length > 0) throw usageError("expected SERVICE [JSON]", this.usage);
    nameArgument(service, "service");
    if (typeof values.node === "string") nameArgument(values.node, "--node");
    const request = jsonArgument(json, "the request");
    const timeoutMs = positiveOption(values["timeout-ms"], "timeout-ms", 5000);
    return withCliNode(
      values.directory,
      async (node) => {
        const reply = await node
          .call(service, request, { timeoutMs, node: values.node as string | undefined })
          .catch(callFailed);
        process.stdout.write(`${JSON.stringify(reply, jsonReplacer, 2)}\n`);
        return 0;
      },
      timeoutMs,
      values.insecure,
    );
  },
};
