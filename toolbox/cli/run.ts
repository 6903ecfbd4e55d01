/**
 * `zmp run`: runs a node module in this process and joins it to a graph
 * (another terminal or host). MODULE is a file (`.js`, or `.ts` through
 * tsx's loader, which must be installed: a dev dependency of the project
 * using zmp) or a package's export (`zmp/nodes/queue-worker`).
 */
import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { runHostedNode } from "../../core/host-run.js";
import { type Command, jsonArgument, nameArgument, parse, UsageError, usageError } from "./command.js";
import { graphFlagsHelp, resolveDirectory } from "./graph-client.js";
import { securityFlags, securityFlagsHelp, securityFrom } from "./security-flags.js";
import { untilSignal } from "./signals.js";

export const runCommand: Command = {
  summary: "run a node module here and join it to a graph (another terminal or host)",
  usage:
    "zmp run MODULE --name NAME [--directory ENDPOINT] [--args JSON] [--export NAME] [--bind-host H] [--advertise-host H] [--keys FILE --directory-key KEY --allow FILE] [--insecure]",
  options: [
    [
      "MODULE",
      "a .js or .ts file, or a package export (zmp/nodes/queue-worker), exporting the init function",
    ],
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
    const { security, insecure } = securityFrom(values);
    const module = positionals[0];
    if (module === undefined || positionals.length > 1) throw usageError("expected one MODULE", this.usage);
    if (typeof values.name !== "string") throw usageError("--name is required", this.usage);
    nameArgument(values.name, "--name");
    const args = jsonArgument(values.args as string | undefined, "--args");
    const directory = resolveDirectory(values.directory);
    const url = moduleUrl(module);
    if (/\.[cm]?tsx?$/.test(url)) await registerTsx(url);
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
        ...(insecure ? { insecure } : {}),
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

/** MODULE as a URL: a URL as given, a file that exists, else a package export resolved from here. */
function moduleUrl(module: string): string {
  if (/^[a-z][a-z0-9+.-]*:/i.test(module)) return module;
  const file = resolve(module);
  if (existsSync(file) || module.startsWith(".") || module.startsWith("/")) return pathToFileURL(file).href;
  try {
    return pathToFileURL(createRequire(join(process.cwd(), "noop.js")).resolve(module)).href;
  } catch {
    throw new UsageError(`no file ${file} and no package export ${module} here`);
  }
}

/**
 * Makes `import()` of TypeScript work in this process: registers tsx's ESM
 * loader (`register()` from `tsx/esm/api`), found from the module's folder,
 * the working directory or zmp's own. Running from source, tsx is loaded already.
 */
async function registerTsx(url: string): Promise<void> {
  if (import.meta.url.endsWith(".ts")) return;
  const from = [dirname(fileURLToPath(url)), process.cwd(), dirname(fileURLToPath(import.meta.url))];
  for (const folder of from) {
    let manifest: string;
    try {
      manifest = createRequire(join(folder, "noop.js")).resolve("tsx/package.json");
    } catch {
      continue;
    }
    // The ESM build of `tsx/esm/api`, as tsx's own exports map names it (its CJS build cannot register).
    const { exports } = JSON.parse(readFileSync(manifest, "utf8")) as {
      exports: Record<string, { import: { default: string } }>;
    };
    const api = join(dirname(manifest), exports["./esm/api"]!.import.default);
    const { register } = (await import(pathToFileURL(api).href)) as { register: () => unknown };
    register();
    return;
  }
  throw new UsageError(
    `${fileURLToPath(url)} is TypeScript and tsx is not installed: npm install --save-dev tsx (or run a .js module)`,
    1,
  );
}
