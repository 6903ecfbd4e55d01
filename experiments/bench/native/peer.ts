/**
 * The bench's handle on a native peer: a libzmq C program (zmqbench.c,
 * compiled by the bench with the machine's C compiler) or its pyzmq twin
 * (zmqbench.py, on Debian's python3-zmq), one role per process. Which of the
 * two can run here is found once per run; a missing compiler, header or
 * module skips that column with a message saying what to install.
 *
 * Protocol (see zmqbench.c): the program prints `ready [ENDPOINT]`, then
 * answers each command line on stdin with one JSON line on stdout, and exits
 * when stdin closes.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import type { Cleanup } from "../cleanup.js";

export type NativeKind = "native" | "pyzmq";

/** The sources sit next to this module in the source tree (dist/ mirrors it without them). */
const sourceDir = fileURLToPath(
  new URL(import.meta.url.endsWith(".ts") ? "./" : "../../../../experiments/bench/native/", import.meta.url),
);

/** How to start a peer of one kind, or why that kind is skipped. */
export type Program = { command: string; args: string[] } | { skipped: string };

let buildDir: string | undefined;
const programs = new Map<NativeKind, Program>();

/** The C peer, compiled once per run into a temp folder removed at exit; or why not. */
function nativeProgram(): Program {
  const cc = process.env.CC ?? "cc";
  try {
    buildDir ??= mkdtempSync(join(tmpdir(), "zmp-bench-native-"));
    const binary = join(buildDir, "zmqbench");
    execFileSync(cc, ["-O2", "-o", binary, join(sourceDir, "zmqbench.c"), "-lzmq", "-lm"], {
      stdio: ["ignore", "ignore", "pipe"],
    });
    return { command: binary, args: [] };
  } catch (error) {
    const detail = String((error as { stderr?: Buffer }).stderr ?? (error as Error).message)
      .split("\n")
      .find((line) => line.trim() !== "");
    return {
      skipped: `native libzmq column skipped: cannot build zmqbench.c with \`${cc}\` (${detail?.trim()}); install libzmq3-dev and gcc (npm run setup)`,
    };
  }
}

/** The pyzmq peer on Debian's python (the pyenv one first on PATH has no zmq module); or why not. */
function pyzmqProgram(): Program {
  const python = process.env.ZMP_BENCH_PYTHON ?? "/usr/bin/python3";
  try {
    execFileSync(python, ["-c", "import zmq"], { stdio: "ignore" });
    return { command: python, args: [join(sourceDir, "zmqbench.py")] };
  } catch {
    return {
      skipped: `pyzmq column skipped: \`${python} -c "import zmq"\` failed; install python3-zmq (npm run setup) or set ZMP_BENCH_PYTHON`,
    };
  }
}

/** How to run peers of `kind` here (found once per run). */
export function program(kind: NativeKind): Program {
  let found = programs.get(kind);
  if (found === undefined) {
    found = kind === "native" ? nativeProgram() : pyzmqProgram();
    programs.set(kind, found);
    if ("skipped" in found) process.stderr.write(`bench: ${found.skipped}\n`);
  }
  return found;
}

/** Removes the compiled C peer (at exit; a test that asked for {@link program} calls it itself). */
export function removeNativeBuild(): void {
  if (buildDir !== undefined) rmSync(buildDir, { recursive: true, force: true });
  buildDir = undefined;
  programs.delete("native");
}

process.on("exit", removeNativeBuild);

/** CurveZMQ for a peer's socket: a server's secret key, or a client's server, public and secret keys. */
export type CurveArgs = ["curve-server", string] | ["curve-client", string, string, string] | [];

export class NativePeer {
  /** Where a binding role bound (tcp port resolved); empty for connecting roles. */
  readonly endpoint: string;
  readonly #child: ChildProcess;
  readonly #waiting: { resolve: (v: unknown) => void; reject: (e: Error) => void }[] = [];
  readonly #label: string;
  #exited = false;

  private constructor(
    child: ChildProcess,
    endpoint: string,
    label: string,
    lines: AsyncIterator<string>,
    stderr: () => string,
  ) {
    this.#child = child;
    this.endpoint = endpoint;
    this.#label = label;
    void (async () => {
      for (;;) {
        const next = await lines.next();
        if (next.done) break;
        this.#waiting.shift()?.resolve(JSON.parse(next.value));
      }
    })().catch((error: unknown) => this.#fail(error as Error));
    // A write to a program that just exited (EPIPE) or was closed: its requests fail, the run goes on.
    child.stdin!.on("error", (error) => this.#fail(error));
    child.once("exit", (code, signal) => {
      this.#exited = true;
      this.#fail(new Error(`${label} exited (${code ?? signal}) ${stderr().trim()}`));
    });
  }

  /**
   * Starts `role` of `kind` (`native` or `pyzmq`) at `endpoint`; resolves when it
   * is bound or connected. Registered with `cleanup`, which ends it.
   */
  static async start(
    kind: NativeKind,
    role: "pull" | "push" | "pub" | "sub" | "echo" | "dealer",
    endpoint: string,
    size: number,
    cleanup: Cleanup,
    extra: string[] = [],
  ): Promise<NativePeer> {
    const how = program(kind);
    if ("skipped" in how) throw new Error(how.skipped);
    const label = `${kind} ${role}`;
    const child = spawn(how.command, [...how.args, role, endpoint, String(size), ...extra], {
      stdio: ["pipe", "pipe", "pipe"],
    });
    cleanup.pid(child.pid);
    let stderr = "";
    child.stderr!.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    let peer: NativePeer | undefined;
    cleanup.add(label, () => peer?.close() ?? child.kill("SIGKILL"));
    const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
    const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
    const first = await lines.next().finally(() => clearTimeout(timer));
    if (first.done || !first.value.startsWith("ready"))
      throw new Error(`${label} did not start: ${stderr.trim() || first.value}`);
    peer = new NativePeer(child, first.value.split(" ")[1] ?? "", label, lines, () => stderr);
    return peer;
  }

  get pid(): number {
    return this.#child.pid ?? -1;
  }

  /** Sends one command line; resolves with the JSON answer. */
  request<T>(line: string): Promise<T> {
    if (this.#exited || !this.#child.stdin!.writable)
      return Promise.reject(new Error(`${this.#label} has exited`));
    return new Promise<T>((resolve, reject) => {
      this.#waiting.push({ resolve: resolve as (v: unknown) => void, reject });
      this.#child.stdin!.write(`${line}\n`);
    });
  }

  /** Closes stdin (the program exits), SIGKILL after 2 s. Safe to call twice. */
  async close(): Promise<void> {
    if (this.#exited) return;
    const exited = new Promise<void>((resolve) => this.#child.once("exit", () => resolve()));
    this.#child.stdin!.end();
    const timer = setTimeout(() => this.#child.kill("SIGKILL"), 2000);
    await exited;
    clearTimeout(timer);
  }

  #fail(error: Error): void {
    for (const w of this.#waiting.splice(0)) w.reject(error);
  }
}
