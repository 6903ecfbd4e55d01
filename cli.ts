#!/usr/bin/env node
/**
 * `zmp`: the command-line tool. Assembles the commands of each layer — the
 * graph's and the toolbox's (toolbox/cli/), the experiments' (loaded only
 * when run) — and dispatches to them; each command is a function of its argv.
 */
import { type Command, coreCommands, helpText, toolboxCommands, UsageError } from "./toolbox/cli/index.js";

/** A command whose module loads only when it runs (the experiments pull in a lot: ~1 s at startup). */
function lazy(summary: string, usage: string, load: () => Promise<Command>): Command {
  return {
    summary,
    usage,
    help: async (argv) => {
      const command = await load();
      return command.help ? command.help(argv) : helpText(command);
    },
    run: async (argv) => (await load()).run(argv),
  };
}

const commands: Record<string, Command> = {
  ...coreCommands,
  ...toolboxCommands,
  experiment: lazy(
    "list the experiments, or run one and write its data.csv, summary.json and report",
    "zmp experiment list [--json]\n       zmp experiment run NAME [options]",
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
    process.stderr.write(`zmp: unknown command "${name}"; zmp --help lists the commands\n`);
    return 2;
  }
  if (rest.includes("--help") || rest.includes("-h")) {
    process.stdout.write(command.help ? await command.help(rest) : helpText(command));
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
