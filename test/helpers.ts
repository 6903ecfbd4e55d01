/**
 * Test helpers: unique endpoints per transport, graphs that always close,
 * and polling with a deadline instead of sleeping.
 */
import { spawn as spawnProcess } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach } from "vitest";
import type { Transport } from "../core/index.js";

let counter = 0;

/**
 * The undo steps of the calling `describe`'s tests: push one as soon as
 * something is made (a graph, a socket, a process); after each test, passed
 * or failed, they run, the last pushed first.
 */
export function cleanupAfterEach(): (() => unknown)[] {
  const steps: (() => unknown)[] = [];
  afterEach(async () => {
    for (const step of steps.splice(0).reverse()) await step();
  });
  return steps;
}

/** A fresh, unused endpoint for `transport` (tcp uses port 0 via `*`; ipc a path in `dir`). */
export function uniqueEndpoint(transport: Transport, dir: string): string {
  counter++;
  switch (transport) {
    case "inproc":
      return `inproc://test-${process.pid}-${counter}-${Date.now()}`;
    case "ipc":
      return `ipc://${join(dir, `t${counter}.sock`)}`;
    case "tcp":
      return "tcp://127.0.0.1:*";
  }
}

/**
 * A temp folder removed by the returned cleanup; named like this process's
 * private folders (zmp-<pid>-XXXXXX), so if the process is SIGKILLed the
 * next run's teardown removes it.
 */
export function tempDir(): { dir: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), `zmp-${process.pid}-`));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * Polls `check` until it returns a truthy value (which is returned) or the
 * deadline passes (then throws with `what` and the last value seen).
 */
export async function eventually<T>(
  check: () => T | Promise<T>,
  what: string,
  { timeoutMs = 10_000, intervalMs = 10 } = {},
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      last = await check();
      if (last) return last as NonNullable<T>;
    } catch (error) {
      lastError = error;
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
  throw new Error(
    `timed out after ${timeoutMs} ms waiting for ${what} (last: ${JSON.stringify(last)}${lastError ? `, error: ${String(lastError)}` : ""})`,
  );
}

/**
 * Removes the private temp folders (`<tmpdir>/zmp-<pid>-XXXXXX`) of the
 * process `pid`, which has ended: one SIGKILLed could not remove its own.
 */
export function removeFoldersOf(pid: number): void {
  const prefix = `zmp-${pid}-`;
  for (const name of readdirSync(tmpdir()))
    if (name.startsWith(prefix)) rmSync(join(tmpdir(), name), { recursive: true, force: true });
}

/** Whether a process id is alive. */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Awaits `promise` and returns what it rejected with (fails if it resolved). */
export async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error("expected a rejection, got a resolved promise");
}

/** A TypeScript script running in a child process (through tsx), and the first JSON line it printed. */
export interface Script {
  child: import("node:child_process").ChildProcess;
  first: Promise<Record<string, unknown>>;
  /** Every line printed so far, parsed as JSON (`{ text }` when it is not). */
  lines: Record<string, unknown>[];
  /** SIGKILLs the script if it still runs and waits for it to end. */
  kill(): Promise<void>;
}

/** Starts `file` (a .ts path) with tsx, passing `args`; collect with `kill()` in a finally/afterEach. */
export function startScript(file: string | URL, args: string[] = []): Script {
  const path = file instanceof URL ? fileURLToPath(file) : file;
  const child = spawnProcess(process.execPath, ["--import", import.meta.resolve("tsx"), path, ...args], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const lines: Record<string, unknown>[] = [];
  const first = new Promise<Record<string, unknown>>((resolve, reject) => {
    let buffer = "";
    child.stdout!.on("data", (chunk: Buffer) => {
      buffer += chunk.toString();
      let nl = buffer.indexOf("\n");
      while (nl >= 0) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        try {
          lines.push(JSON.parse(line) as Record<string, unknown>);
        } catch {
          lines.push({ text: line });
        }
        if (lines.length === 1) resolve(lines[0]!);
        nl = buffer.indexOf("\n");
      }
    });
    child.once("exit", (code, signal) =>
      reject(new Error(`script ${path} exited (${code ?? signal}) before printing`)),
    );
  });
  first.catch(() => undefined);
  return {
    child,
    first,
    lines,
    kill: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
      await exited;
      if (child.pid !== undefined) removeFoldersOf(child.pid);
    },
  };
}
