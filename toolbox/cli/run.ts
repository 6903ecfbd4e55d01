/**
 * `zmp run`: runs a node module in this process and joins it to a graph
 * (another terminal or host). A `.ts` module runs through tsx, which must be
 * installed where the module is (a dev dependency of the project using zmp).
 */
import { runHostedNode } from "../../core/host-run.js";
import { type Command, jsonArgument, nameArgument, parse, UsageError, usageError } from "./command.js";
import { graphFlagsHelp, resolveDirectory } from "./graph-client.js";
import { securityFlags, securityFlagsHelp, securityFrom } from "./security-flags.js";
import { untilSignal } from "./signals.js";

export const runCommand: Command = {
  summary: "run a node module here and join it to a graph (another terminal or host)",
  usage:
    "zmp run MODULE --name NAME [--directory ENDPOINT] [--args JSON] [--export NAME] [--bind-host H] [--advertise-host H] [--keys FILE --directory-key KEY --allow FILE]",
  options: [
    ["MODULE", "a .js or .ts file (or a package specifier) exporting the node's init function"],
    ["--name NAME", "the node's name in the graph (required)"],
    graphFlagsHelp[0]!,
    ["--args JSON", "passed to the init function as its second argument"],
    ["--export NAME", "the export to run (default: `default`, else the only function exported)"],
    ["--bind-host H", "bind on this interface over tcp (default: ipc, this machine only)"],
    ["--advertise-host H", "the address other hosts reach this node at"],
    ...securityFlagsHelp,
  ],
  async run(argv) {
    const { values, positionals } = parse(
      argv,
      {
        name: { type: "string" },
        directory: { type: "string" },
        args: { type: "string" },
        export: { type: "string" },
        "bind-host": { type: "string" },
        "advertise-host": { type: "string" },
        ...securityFlags,
      },
      this.usage,
    );
    const security = securityFrom(values);
    const module = positionals[0];
    if (module === undefined || positionals.length > 1) throw usageError("expected one MODULE", this.usage);
    if (typeof values.name !== "string") throw usageError("--name is required", this.usage);
    nameArgument(values.name, "--name");
    const args = jsonArgument(values.args as string | undefined, "--args");
    const directory = resolveDirectory(values.directory);
    const { pathToFileURL } = await import("node:url");
    const { resolve } = await import("node:path");
    const url = /^[a-z][a-z0-9+.-]*:/i.test(module) ? module : pathToFileURL(resolve(module)).href;
    const running = await runHostedNode({
      module: url,
      exportName: values.export as string | undefined,
      host: "remote",
      args,
      node: {
        name: values.name,
        directory,
        ...(values["bind-host"]
          ? { bindHost: values["bind-host"] as string, transport: "tcp" as const }
          : {}),
        ...(values["advertise-host"] ? { advertiseHost: values["advertise-host"] as string } : {}),
        ...(security ? { security, transport: "tcp" as const } : {}),
      },
    }).catch((error: Error) => {
      throw new UsageError(`node ${values.name} failed to start: ${error.message}`, 1);
    });
    process.stdout.write(
      `node ${values.name} (${running.node.id}) running at ${running.node.endpoint}; Ctrl-C stops it\n`,
    );
    await untilSignal();
    await running.stop();
    return 0;
  },
};
