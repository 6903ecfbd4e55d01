/** `zmp directory`: a standalone directory, for graphs across terminals or hosts; it prints who joins and leaves. */
import { credentialFile } from "../../core/credential.js";
import { Directory } from "../../core/directory.js";
import { checkEndpoint } from "../../core/endpoint.js";
import { type Command, parse, positiveOption, UsageError } from "./command.js";
import { securityFlags, securityFlagsHelp, securityFrom } from "./security-flags.js";
import { untilSignal } from "./signals.js";

export const directoryCommand: Command = {
  summary: "run a standalone directory (for graphs across terminals or hosts)",
  usage:
    "zmp directory [--bind tcp://0.0.0.0:5555]... [--heartbeat-ms 1000] [--allow FILE] [--keys FILE (--allow FILE | --allow-any)] [--insecure]",
  options: [
    ["--bind ENDPOINT", "where to listen; repeat for several (default tcp://127.0.0.1:5555)"],
    ["--heartbeat-ms MS", "how often nodes report they are alive (default 1000)"],
    ...securityFlagsHelp.filter(([flag]) => flag !== "--directory-key"),
    ["--allow-any", "with --keys and no --allow: let any CurveZMQ client in (encrypted, not authenticated)"],
  ],
  async run(argv) {
    const { values } = parse(
      argv,
      {
        bind: { type: "string", multiple: true },
        "heartbeat-ms": { type: "string" },
        "allow-any": { type: "boolean" },
        ...securityFlags,
      },
      this.usage,
      false,
    );
    const { security, insecure } = securityFrom(values, true);
    const bind = (values.bind as string[] | undefined) ?? ["tcp://127.0.0.1:5555"];
    for (const b of bind) {
      try {
        checkEndpoint(b, "--bind");
      } catch (error) {
        throw new UsageError((error as Error).message);
      }
    }
    const heartbeatMs = positiveOption(values["heartbeat-ms"], "heartbeat-ms", 1000);
    const directory = await Directory.start({
      bind,
      heartbeatMs,
      ...(security ? { security } : {}),
      ...(insecure ? { insecure } : {}),
    }).catch((error: Error) => {
      throw new UsageError(`cannot start the directory on ${bind.join(", ")}: ${error.message}`, 1);
    });
    const out = (line: string): void => {
      process.stdout.write(`${line}\n`);
    };
    out(`directory listening on ${directory.endpoints.join(", ")} (heartbeat ${heartbeatMs} ms)`);
    if (directory.publicKey === undefined) {
      if (insecure)
        out(
          "INSECURE: no credential: any process that reaches it can join the graph, call and steer its nodes, and crash them",
        );
    } else if (directory.usesUserCredential) {
      out(
        `secured with this user's key (${credentialFile()}): this user's processes join as they are; others need --directory-key ${directory.publicKey} and their key in an --allow file`,
      );
    } else {
      out(
        `secured with the key in ${String(values.keys ?? process.env.ZMP_KEYS)}: nodes join with --directory-key ${directory.publicKey}`,
      );
    }
    out(`join it with: --directory ${directory.endpoint}  (or ZMP_DIRECTORY=${directory.endpoint})`);
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
