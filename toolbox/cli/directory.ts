/** `zmp directory`: a standalone directory, for graphs across terminals or hosts; it prints who joins and leaves. */
import { Directory } from "../../core/directory.js";
import { checkEndpoint } from "../../core/endpoint.js";
import { type Command, parse, positiveOption, UsageError } from "./command.js";
import { securityFlags, securityFlagsHelp, securityFrom } from "./security-flags.js";
import { untilSignal } from "./signals.js";

export const directoryCommand: Command = {
  summary: "run a standalone directory (for graphs across terminals or hosts)",
  usage: "zmp directory [--bind tcp://0.0.0.0:5555]... [--heartbeat-ms 1000] [--keys FILE --allow FILE]",
  options: [
    ["--bind ENDPOINT", "where to listen; repeat for several (default tcp://127.0.0.1:5555)"],
    ["--heartbeat-ms MS", "how often nodes report they are alive (default 1000)"],
    ...securityFlagsHelp.filter(([flag]) => flag !== "--directory-key"),
  ],
  async run(argv) {
    const { values } = parse(
      argv,
      { bind: { type: "string", multiple: true }, "heartbeat-ms": { type: "string" }, ...securityFlags },
      this.usage,
      false,
    );
    const security = securityFrom(values, true);
    const bind = (values.bind as string[] | undefined) ?? ["tcp://127.0.0.1:5555"];
    for (const b of bind) {
      try {
        checkEndpoint(b, "--bind");
      } catch (error) {
        throw new UsageError((error as Error).message);
      }
    }
    const heartbeatMs = positiveOption(values["heartbeat-ms"], "heartbeat-ms", 1000);
    const directory = await Directory.start({ bind, heartbeatMs, ...(security ? { security } : {}) }).catch(
      (error: Error) => {
        throw new UsageError(`cannot start the directory on ${bind.join(", ")}: ${error.message}`, 1);
      },
    );
    process.stdout.write(
      `directory listening on ${directory.endpoints.join(", ")} (heartbeat ${heartbeatMs} ms)\n`,
    );
    process.stdout.write(
      `join it with: --directory ${directory.endpoint}  (or ZMP_DIRECTORY=${directory.endpoint})\n`,
    );
    directory.onChange((_version, change) => {
      const what =
        change.op === "up"
          ? `up   ${change.node.name} (${change.node.host}, pid ${change.node.pid})`
          : `down ${change.id} (${change.reason})`;
      process.stdout.write(`${new Date().toISOString()} ${what}\n`);
    });
    await untilSignal();
    await directory.stop();
    return 0;
  },
};
