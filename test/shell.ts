/**
 * Running a page's shell commands as a terminal would, for the tests that
 * run the README and the docs as written: the page's sections and fenced
 * blocks, and each command line in `sh -c` in its own process group (so
 * "Ctrl-C" is a SIGINT to the group), with what it printed so far.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createServer } from "node:net";

/** The part of `markdown` under the heading `title` (any level), up to the next heading of that level. */
export function section(markdown: string, title: string): string {
  const match = new RegExp(`\\n(#+) ${title}\\n`).exec(markdown);
  if (!match) throw new Error(`no section "${title}"`);
  const next = markdown.indexOf(`\n${match[1]} `, match.index + 1);
  return markdown.slice(match.index, next < 0 ? undefined : next);
}

/** The fenced blocks of `lang` in `text`, in order. */
export function fenced(text: string, lang: string): string[] {
  return [...text.matchAll(new RegExp(`\`\`\`${lang}\\n([\\s\\S]*?)\`\`\``, "g"))].map((m) => m[1]!);
}

/**
 * The environment of a child: none of the npm_* variables of the `npm test`
 * running us (they would steer npm into this checkout), nor those matching
 * `alsoDrop`; then `extra`.
 */
export function cleanEnv(extra: Record<string, string> = {}, alsoDrop?: RegExp): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env))
    if (!/^npm_/i.test(key) && !alsoDrop?.test(key)) env[key] = value;
  return { ...env, ...extra };
}

/** A command started in the background (its own process group), with what it printed so far. */
export interface Running {
  line: string;
  child: ChildProcess;
  out: () => string;
  err: () => string;
  exited: Promise<number | null>;
}

/** Starts `line` in `sh -c`, in `cwd` with `env`, in a process group of its own. */
export function start(line: string, cwd: string, env: NodeJS.ProcessEnv): Running {
  const child = spawn("sh", ["-c", line], { cwd, env, detached: true, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  let err = "";
  child.stdout!.on("data", (chunk: Buffer) => {
    out += chunk.toString();
  });
  child.stderr!.on("data", (chunk: Buffer) => {
    err += chunk.toString();
  });
  // "close": the command and everything it started have exited and closed their output
  // (after a Ctrl-C the node may still be printing when the shell in front of it is gone).
  const exited = new Promise<number | null>((resolve) => child.once("close", (code) => resolve(code)));
  return { line, child, out: () => out, err: () => err, exited };
}

/** Ctrl-C in its terminal: `signal` (SIGINT) to the whole process group. */
export function interrupt(running: Running, signal: NodeJS.Signals = "SIGINT"): void {
  try {
    process.kill(-running.child.pid!, signal);
  } catch {
    // already gone
  }
}

/** Resolves with `p`, or rejects after `ms` naming `what`. */
export async function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([p, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/** A tcp port nobody listens on now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}
