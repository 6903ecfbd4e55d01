/**
 * The `zmp` commands of the core and the toolbox, one file each, in the
 * order `zmp --help` lists them. The experiments add theirs in the root
 * `cli.ts` (loaded only when run). Not part of the library's API.
 */
import { cacheCommand } from "./cache.js";
import { callCommand } from "./call.js";
import type { Command } from "./command.js";
import { directoryCommand } from "./directory.js";
import { echoCommand } from "./echo.js";
import { graphCommand } from "./graph.js";
import { hzCommand } from "./hz.js";
import { keygenCommand } from "./keygen.js";
import { proxyCommand } from "./proxy.js";
import { runCommand } from "./run.js";
import { selftestCommand } from "./selftest.js";
import { statsCommand } from "./stats.js";
import { tuneCommand } from "./tune.js";

export { type Command, helpText, UsageError } from "./command.js";

/** The commands that run or inspect a graph (nodes and channels). */
export const coreCommands: Record<string, Command> = {
  keygen: keygenCommand,
  directory: directoryCommand,
  run: runCommand,
  graph: graphCommand,
  call: callCommand,
  echo: echoCommand,
  hz: hzCommand,
  stats: statsCommand,
  selftest: selftestCommand,
};

/** The commands that drop toolbox nodes into a graph or tune its loops. */
export const toolboxCommands: Record<string, Command> = {
  proxy: proxyCommand,
  cache: cacheCommand,
  tune: tuneCommand,
};
