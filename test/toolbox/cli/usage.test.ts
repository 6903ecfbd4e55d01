/**
 * Usage errors of every core command, in-process: each is refused with a
 * one-line `UsageError` and exit code 2 before anything touches the network.
 * (`cli.test.ts` checks the same end to end for a few, through the real CLI.)
 */
import { describe, expect, it } from "vitest";
import { coreCommands, UsageError } from "../../../core/cli.js";

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
});
