#!/usr/bin/env node
/**
 * `zmp`: the command-line tool. Dispatches to the commands of each layer
 * (core, toolbox, experiments); each command is a function of its argv.
 */
import { type Command, coreCommands, UsageError } from "./core/cli.js";
import { toolboxCommands } from "./toolbox/cli.js";
import { tuneCommand } from "./toolbox/tune/cli.js";

/** A command whose module loads only when it runs (the experiments pull in a lot: ~1 s at startup). */
function lazy(summary: string, usage: string, load: () => Promise<Command>): Command {
  return { summary, usage, run: async (argv) => (await load()).run(argv) };
}

const commands: Record<string, Command> = {
  ...coreCommands,
  ...toolboxCommands,
  tune: tuneCommand,
  experiment: lazy(
    "list the experiments, or run one and write its data.csv, summary.json and report",
    "zmp experiment list [--json] | zmp experiment run NAME [options] (zmp experiment run --help)",
    async () => (await import("./experiments/cli.js")).experimentCommand,
  ),
};

function help(): string {
  const width = Math.max(...Object.keys(commands).map((c) => c.length));
  const lines = Object.entries(commands).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`);
  return `usage: zmp COMMAND [options]\n\ncommands:\n${lines.join("\n")}\n\nzmp COMMAND --help shows a command's options.\n`;
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === "--help" || name === "-h" || name === "help") {
    process.stdout.write(help());
    return name === undefined ? 2 : 0;
  }
  const command = commands[name];
  if (command === undefined) {
    process.stderr.write(`zmp: unknown command "${name}"\n\n${help()}`);
    return 2;
  }
  if (rest.includes("--help") || rest.includes("-h")) {
    process.stdout.write(`usage: ${command.usage}\n${command.summary}\n`);
    return 0;
  }
  try {
    return await command.run(rest);
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(`zmp ${name}: ${error.message}\n`);
      return error.exitCode;
    }
    process.stderr.write(
      `zmp ${name}: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    return 1;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`zmp: ${String(error)}\n`);
    process.exitCode = 1;
  },
);
