/** `zmp echo`: prints the messages on a topic (prefix) until Ctrl-C or `--count` messages. */
import type { Node } from "../../core/node.js";
import { type Command, jsonReplacer, nameArgument, parse, positiveOption, usageError } from "./command.js";
import { DIRECTORY_TIMEOUT_MS, graphFlags, graphFlagsHelp, withCliNode } from "./graph-client.js";
import { stopSignal } from "./signals.js";

export const echoCommand: Command = {
  summary: "print the messages on a topic (prefix) until Ctrl-C or --count messages",
  usage: "zmp echo TOPIC [--count N] [--json] [--directory ENDPOINT] [--timeout-ms 3000]",
  options: [
    ["TOPIC", "a topic, or a prefix of topics (`sensor/` prints every topic under it)"],
    ["--count N", "stop after N messages (default: until Ctrl-C)"],
    ["--json", "one JSON object `{ topic, data }` per line"],
    ...graphFlagsHelp,
  ],
  async run(argv) {
    const { values, positionals } = parse(
      argv,
      { ...graphFlags, count: { type: "string" }, json: { type: "boolean" } },
      this.usage,
    );
    const prefix = topicArgument(positionals, this.usage);
    const count = positiveOption(values.count, "count", Number.POSITIVE_INFINITY, true);
    const timeoutMs = positiveOption(values["timeout-ms"], "timeout-ms", DIRECTORY_TIMEOUT_MS);
    return withCliNode(
      values.directory,
      async (node) => {
        warnIfUnpublished(node, prefix);
        const { signal, dispose } = stopSignal();
        const subscription = node.subscribe(prefix);
        signal.addEventListener("abort", () => subscription.close());
        try {
          let seen = 0;
          for await (const { topic, data } of subscription) {
            const text = values.json
              ? JSON.stringify({ topic, data }, jsonReplacer)
              : `${topic}: ${JSON.stringify(data, jsonReplacer)}`;
            process.stdout.write(`${text}\n`);
            if (++seen >= count) break;
          }
        } finally {
          subscription.close();
          dispose();
        }
        return 0;
      },
      timeoutMs,
      values.insecure,
    );
  },
};

/** The one TOPIC positional of `echo` and `hz` (a topic or a prefix of topics). */
export function topicArgument(positionals: string[], usage: string): string {
  const [topic, ...rest] = positionals;
  if (topic === undefined || rest.length > 0) throw usageError("expected one TOPIC", usage);
  return nameArgument(topic, "topic");
}

/** Says on stderr when no node publishes a matching topic yet (the command still waits for one). */
export function warnIfUnpublished(node: Node, prefix: string): void {
  const publishers = node.nodes().filter((n) => n.topics.some((t) => t.startsWith(prefix)));
  if (publishers.length === 0)
    process.stderr.write(`zmp: no node publishes a topic starting with "${prefix}" yet; waiting for one\n`);
}
