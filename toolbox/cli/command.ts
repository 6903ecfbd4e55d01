/**
 * What a `zmp` command is, and how commands read their arguments. Each
 * command is a function of its argv returning an exit code; the root
 * `cli.ts` dispatches to them. Errors a user can cause print one clear line
 * and exit non-zero: 2 for usage (a bad flag, name, endpoint or JSON), 1 at
 * run time (a directory that does not answer, a node or service not found, a
 * failed call).
 */
import { parseArgs } from "node:util";
import { checkName } from "../../core/record.js";

/** An option as `--help` lists it: the flag with its value, and what it does (with its default). */
export type OptionHelp = readonly [flag: string, what: string];

/** A CLI command: a one-line summary, a usage text, its options, and the function that runs it. */
export interface Command {
  /** One line, shown by `zmp --help`. */
  summary: string;
  /** The synopsis, `zmp graph [--json] …` (one line per form). */
  usage: string;
  /** The options `--help` lists. */
  options?: readonly OptionHelp[];
  /** Help for `zmp NAME ARGV --help` when it depends on ARGV (a subcommand's own options). */
  help?(argv: string[]): string | Promise<string>;
  run(argv: string[]): Promise<number>;
}

/** The `--help` text of a command: usage, summary and the options, one per line. */
export function helpText(command: Pick<Command, "summary" | "usage" | "options">): string {
  const lines = [`usage: ${command.usage}`, command.summary];
  const options = command.options ?? [];
  if (options.length > 0) {
    const width = Math.max(...options.map(([flag]) => flag.length));
    lines.push("", "options:", ...options.map(([flag, what]) => `  ${flag.padEnd(width)}  ${what}`));
  }
  return `${lines.join("\n")}\n`;
}

/** An error to print as one line (no stack) with an exit code: 2 for usage, 1 at run time. */
export class UsageError extends Error {
  constructor(
    message: string,
    readonly exitCode = 2,
  ) {
    super(message);
    this.name = "UsageError";
  }
}

type Options = NonNullable<Parameters<typeof parseArgs>[0]>["options"];

/** Parsed flags: strings, booleans, or lists of them for `multiple` options. */
export interface Parsed {
  values: Record<string, string | boolean | (string | boolean)[] | undefined>;
  positionals: string[];
}

/** parseArgs with errors turned into one-line `UsageError`s that show the usage. */
export function parse(argv: string[], options: Options, usage: string, allowPositionals = true): Parsed {
  try {
    return parseArgs({ args: argv, options, allowPositionals, strict: true }) as Parsed;
  } catch (error) {
    throw usageError((error as Error).message.replace(/\s*\n\s*/g, " "), usage);
  }
}

/** A usage error (exit code 2) as one line: what is wrong, then the command's usage. */
export function usageError(message: string, usage: string): UsageError {
  return new UsageError(`${message}; usage: ${usage}`);
}

/** Reads a number option, with a clear error for anything else. */
export function numberOption(value: unknown, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (typeof value !== "string" || value.trim() === "" || !Number.isFinite(n)) {
    throw new UsageError(`--${name} expects a number, got "${String(value)}"`);
  }
  return n;
}

/** Reads a positive number option (a positive integer when `integer`), with a clear error otherwise. */
export function positiveOption(value: unknown, name: string, fallback: number, integer = false): number {
  if (value === undefined) return fallback;
  const n = numberOption(value, name, fallback);
  if (!(n > 0) || (integer && !Number.isInteger(n))) {
    throw new UsageError(
      `--${name} expects a positive ${integer ? "integer" : "number"}, got "${String(value)}"`,
    );
  }
  return n;
}

/** Parses a JSON argument with a clear error. */
export function jsonArgument(text: string | undefined, what: string): unknown {
  if (text === undefined) return null;
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new UsageError(`${what} is not valid JSON: ${(error as Error).message}`);
  }
}

/** Checks a node, service or topic name given on the command line (a bad one is a usage error). */
export function nameArgument(value: unknown, what: string): string {
  try {
    return checkName(value, what);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

/** JSON for binary values prints them as base64 rather than byte arrays. */
export function jsonReplacer(_key: string, value: unknown): unknown {
  if (value && typeof value === "object" && (value as { type?: unknown }).type === "Buffer") {
    return { base64: Buffer.from((value as { data: number[] }).data).toString("base64") };
  }
  return value;
}
