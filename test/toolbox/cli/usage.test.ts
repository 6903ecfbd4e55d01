/**
 * Usage errors of every core command, in-process: each is refused with a
 * one-line `UsageError` and exit code 2 before anything touches the network.
 * (`cli.test.ts` checks the same end to end for a few, through the real CLI.)
 * And every command's `--help` explains each flag its usage shows.
 */
import { describe, expect, it } from "vitest";
import { experimentCommand, runOptions } from "../../../experiments/cli.js";
import {
  type Command,
  coreCommands,
  helpText,
  toolboxCommands,
  UsageError,
} from "../../../toolbox/cli/index.js";

const D = ["--directory", "tcp://127.0.0.1:9"];

const cases: [command: string, argv: string[], error: RegExp][] = [
  ["graph", ["--bogus"], /^Unknown option '--bogus'.*; usage: zmp graph /],
  ["graph", ["extra", ...D], /^Unexpected argument 'extra'/],
  ["graph", ["--directory", "localhost:5555"], /^Expected `--directory` to be an endpoint like/],
  ["graph", ["--directory", "tcp://host"], /^Expected `--directory` to be tcp:\/\/host:port/],
  ["graph", ["--timeout-ms", "0", ...D], /^--timeout-ms expects a positive number, got "0"$/],
  ["call", [...D], /^expected SERVICE \[JSON\]; usage: zmp call /],
  ["call", ["add", "{nope", ...D], /^the request is not valid JSON: /],
  ["call", ["bad name", ...D], /^Expected `service` to be 1–128 characters/],
  ["call", ["add", "1", "--node", "a b", ...D], /^Expected `--node` to be 1–128 characters/],
  ["call", ["add", "1", "2", ...D], /^expected SERVICE \[JSON\]/],
  ["echo", [...D], /^expected one TOPIC; usage: zmp echo /],
  ["echo", ["a b", ...D], /^Expected `topic` to be 1–128 characters/],
  ["echo", ["t", "--count", "1.5", ...D], /^--count expects a positive integer, got "1.5"$/],
  ["hz", ["t", "--window", "soon", ...D], /^--window expects a number, got "soon"$/],
  ["hz", ["t", "--window=-1", ...D], /^--window expects a positive number, got "-1"$/],
  ["stats", [...D], /^expected one NODE; usage: zmp stats /],
  ["stats", ["x y", ...D], /^Expected `node` to be 1–128 characters/],
  ["stats", ["n", "--count", "2", ...D], /^--count needs --watch S/],
  ["stats", ["n", "--watch", "x", ...D], /^--watch expects a number, got "x"$/],
  ["selftest", ["now"], /^Unexpected argument 'now'/],
  ["selftest", ["--slow"], /^Unknown option '--slow'/],
  ["run", ["m.ts"], /^--name is required; usage: zmp run /],
  ["run", ["m.ts", "--name", "bad name"], /^Expected `--name` to be 1–128 characters/],
  ["run", ["m.ts", "--name", "n", "--args", "[", ...D], /^--args is not valid JSON: /],
  ["directory", ["--bind", "nowhere"], /^Expected `--bind` to be an endpoint like/],
  ["directory", ["--heartbeat-ms", "-5"], /^Option '--heartbeat-ms' argument is ambiguous/],
  ["directory", ["--heartbeat-ms=0"], /^--heartbeat-ms expects a positive number, got "0"$/],
];

describe("cli usage", () => {
  it("cli usage – every bad flag, name, endpoint or JSON is a one-line UsageError with exit code 2", async () => {
    for (const [command, argv, expected] of cases) {
      const what = `zmp ${command} ${argv.join(" ")}`;
      let error: unknown;
      try {
        await coreCommands[command]!.run(argv);
      } catch (e) {
        error = e;
      }
      expect(error, what).toBeInstanceOf(UsageError);
      const { message, exitCode } = error as UsageError;
      expect({ what, exitCode }).toEqual({ what, exitCode: 2 });
      expect(message, what).toMatch(expected);
      expect(message, what).not.toContain("\n");
    }
  });

  it("cli usage – every command has a summary and a usage line", () => {
    for (const [name, command] of Object.entries(coreCommands)) {
      expect(command.usage).toMatch(new RegExp(`^zmp ${name}\\b`));
      expect(command.summary.length).toBeGreaterThan(10);
    }
  });

  it("cli help – every flag a command's usage shows is explained under options", async () => {
    const helpOf = async (command: Command, argv: string[]): Promise<string> =>
      command.help ? await command.help(argv) : helpText(command);
    const pages: [string, string, string][] = [];
    for (const [name, command] of Object.entries({ ...coreCommands, ...toolboxCommands })) {
      if (name === "proxy" || name === "cache") {
        const subs = name === "proxy" ? ["service", "queue", "topic"] : ["service", "topic"];
        const ops = ["stats", "pause", "resume", "stop", "set", ...(name === "cache" ? ["invalidate"] : [])];
        for (const sub of [...subs, ...ops]) {
          const help = await helpOf(command, [sub]);
          pages.push([`${name} ${sub}`, help.split("\n")[0]!, help]);
        }
      } else {
        const help = await helpOf(command, []);
        pages.push([name, command.usage, help]);
      }
    }
    // The experiments' usage line says [options]: check every option their parser takes.
    const runFlags = Object.keys(runOptions).map((flag) => `--${flag}`);
    pages.push(["experiment run", runFlags.join(" "), experimentCommand.help(["run"])]);
    pages.push(["experiment list", "--json", experimentCommand.help(["list"])]);
    for (const [what, usage, help] of pages) {
      const flags = [...usage.matchAll(/--[a-z][a-z-]*/g)].map((m) => m[0]);
      expect(flags.length + (what === "selftest" ? 1 : 0), what).toBeGreaterThan(0);
      const options = help.slice(help.search(/\n(options|Options):/));
      expect(options.length, `${what} has an options section`).toBeGreaterThan(1);
      for (const flag of flags)
        expect(options, `${what}: ${flag}`).toMatch(new RegExp(`(^\\s+|, )(-\\w, )?${flag}\\b`, "m"));
    }
  });
});
