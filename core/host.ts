/**
 * Hosting: run a node module inline (same event loop), in a worker thread or
 * in a child process, and report when it is ready, when it fails to start,
 * and when it exits. Hosted threads and processes never outlive their
 * parent: threads end with it, child processes watch their IPC channel.
 */
import { type ChildProcess, fork } from "node:child_process";
import { EventEmitter } from "node:events";
import { Worker } from "node:worker_threads";
import { ClosedError, dataToErrorData, HostExitError, RemoteError, TimeoutError } from "./errors.js";
import {
  type HostConfig,
  type HostMessage,
  type NodeInit,
  type RunningNode,
  runHostedNode,
} from "./host-run.js";
import type { HostKind } from "./record.js";

/** How a hosted node ended. */
export interface ExitInfo {
  /** Exit code (processes, threads), or null when ended by a signal. */
  code: number | null;
  /** Signal that ended a process (`"SIGKILL"`...), or null. */
  signal: string | null;
  /** True when the node was stopped on purpose (stop(), graph close); false for a crash. */
  expected: boolean;
}

const fromSource = import.meta.url.endsWith(".ts");
const entryUrl = new URL(fromSource ? "./host-entry.ts" : "./host-entry.js", import.meta.url);
const needsTsx = (module: string): boolean => fromSource || /\.[cm]?tsx?$/.test(module);

/**
 * A node running in an inline host, a worker thread or a child process.
 * Emits `"exit"` with an {@link ExitInfo} when it ends, on purpose or not.
 */
export class HostedNode extends EventEmitter<{ exit: [ExitInfo] }> {
  readonly name: string;
  readonly host: HostKind;
  #id = "";
  #pid: number;
  #stopping = false;
  #exitInfo: ExitInfo | undefined;
  #resolveExit!: (info: ExitInfo) => void;
  #child: ChildProcess | undefined;
  #worker: Worker | undefined;
  #inline: RunningNode | undefined;
  #stopTimeoutMs: number;
  #stderrTail = "";
  /** Resolves when the host has ended (never rejects). */
  readonly exited: Promise<ExitInfo>;

  private constructor(name: string, host: HostKind, stopTimeoutMs: number) {
    super();
    this.name = name;
    this.host = host;
    this.#pid = process.pid;
    this.#stopTimeoutMs = stopTimeoutMs;
    this.exited = new Promise((resolve) => {
      this.#resolveExit = resolve;
    });
  }

  /** Instance id of the hosted node (as listed in the directory). */
  get id(): string {
    return this.#id;
  }

  /** Process id of the host (the parent's pid for inline and thread hosts). */
  get pid(): number {
    return this.#pid;
  }

  /** Whether the host is still running. */
  get running(): boolean {
    return this.#exitInfo === undefined;
  }

  /** The node object itself, for inline hosts only. */
  get node(): RunningNode["node"] | undefined {
    return this.#inline?.node;
  }

  /**
   * Starts a host and resolves once its node is ready (bound, registered,
   * init run). Rejects with the init error (as a `RemoteError` across a
   * thread or process boundary), a `HostExitError` when the host ends first,
   * or a `TimeoutError` after `startTimeoutMs` — never hangs.
   */
  static async start(
    config: HostConfig,
    options: { init?: NodeInit; startTimeoutMs: number; stopTimeoutMs: number },
  ): Promise<HostedNode> {
    const hosted = new HostedNode(config.node.name, config.host, options.stopTimeoutMs);
    if (config.host === "inline") {
      hosted.#inline = await runHostedNode(config, options.init);
      hosted.#id = hosted.#inline.node.id;
      return hosted;
    }
    const ready = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(
          new TimeoutError(
            `node \`${config.node.name}\` was not ready within ${options.startTimeoutMs} ms`,
            options.startTimeoutMs,
          ),
        );
        hosted.kill();
      }, options.startTimeoutMs);
      const onMessage = (message: HostMessage): void => {
        if (message.type === "ready") {
          clearTimeout(timer);
          hosted.#id = message.id;
          resolve();
        } else if (message.type === "failed") {
          clearTimeout(timer);
          const e = dataToErrorData(message.error);
          const error = new RemoteError(
            `node \`${config.node.name}\` failed to start: ${e.name}: ${e.message}`,
            config.node.name,
            e.name,
            e.stack,
            e.code,
          );
          if (e.stack)
            error.stack = `${error.name}: ${error.message}\n--- in the ${config.host} host ---\n${e.stack}`;
          reject(error);
          // The host ends by itself after reporting; make sure it does.
          setTimeout(() => hosted.kill(), 2000).unref();
        }
      };
      const onExit = (info: ExitInfo): void => {
        clearTimeout(timer);
        const how = info.signal !== null ? `signal ${info.signal}` : `code ${info.code}`;
        const tail = hosted.#stderrTail.trim();
        reject(
          new HostExitError(
            `node \`${config.node.name}\` exited with ${how} before it was ready${tail ? `:\n${tail}` : ""}`,
            info.code,
            info.signal,
          ),
        );
      };
      hosted.#launch(config, onMessage, onExit);
    });
    await ready;
    return hosted;
  }

  #launch(
    config: HostConfig,
    onMessage: (m: HostMessage) => void,
    onStartExit: (info: ExitInfo) => void,
  ): void {
    let ready = false;
    const handleMessage = (message: HostMessage): void => {
      if (message?.type === "ready") ready = true;
      onMessage(message);
    };
    const ended = (code: number | null, signal: string | null): void => {
      if (this.#exitInfo !== undefined) return;
      const info: ExitInfo = { code, signal, expected: this.#stopping };
      this.#exitInfo = info;
      if (!ready) onStartExit(info);
      this.#resolveExit(info);
      this.emit("exit", info);
    };
    if (config.host === "thread") {
      const worker = needsTsx(config.module)
        ? tsxWorker(config)
        : new Worker(entryUrl, { workerData: config });
      this.#worker = worker;
      worker.on("message", handleMessage);
      worker.on("error", (error) => {
        this.#stderrTail = `${error.name}: ${error.message}`;
      });
      worker.on("exit", (code) => ended(code, null));
      return;
    }
    const child = fork(entryUrl, [], {
      execArgv: needsTsx(config.module) ? ["--import", import.meta.resolve("tsx")] : [],
      serialization: "advanced",
      stdio: ["ignore", "inherit", "pipe", "ipc"],
      env: process.env,
    });
    this.#child = child;
    this.#pid = child.pid ?? -1;
    child.stderr?.on("data", (chunk: Buffer) => {
      process.stderr.write(chunk);
      this.#stderrTail = (this.#stderrTail + chunk.toString()).slice(-4000);
    });
    child.on("message", handleMessage);
    child.on("exit", (code, signal) => ended(code, signal));
    child.on("error", (error) => {
      this.#stderrTail += `\n${error.message}`;
    });
    child.send({ type: "config", config });
  }

  /**
   * Stops the node gracefully (drain, deregister, close) and waits for the
   * host to end; after `stopTimeoutMs` the host is killed. Safe to call twice.
   */
  async stop(): Promise<ExitInfo> {
    if (this.#exitInfo !== undefined) return this.#exitInfo;
    if (this.#stopping) return this.exited;
    this.#stopping = true;
    if (this.#inline !== undefined) {
      await this.#inline.stop();
      const info: ExitInfo = { code: 0, signal: null, expected: true };
      this.#exitInfo = info;
      this.#resolveExit(info);
      this.emit("exit", info);
      return info;
    }
    try {
      this.#child?.send({ type: "stop" });
      this.#worker?.postMessage({ type: "stop" });
    } catch {
      // channel already closed: the host is ending
    }
    const timer = setTimeout(() => this.kill(), this.#stopTimeoutMs);
    const info = await this.exited;
    clearTimeout(timer);
    return info;
  }

  /**
   * Ends the host at once, without draining: SIGKILL (or `signal`) for a
   * process; for a thread, its sockets are closed and it exits with code 137.
   */
  kill(signal: NodeJS.Signals = "SIGKILL"): void {
    if (this.#exitInfo !== undefined) return;
    if (this.#child !== undefined) this.#child.kill(signal);
    else if (this.#worker !== undefined) {
      // Not worker.terminate(): ending a thread with open ZeroMQ sockets aborts the process
      // (zeromq.js #411). The thread closes its sockets and exits at once; terminate is the
      // last resort for a thread too busy to read the message.
      const worker = this.#worker;
      worker.postMessage({ type: "kill" });
      setTimeout(() => {
        if (this.#exitInfo === undefined) void worker.terminate();
      }, 2000).unref();
    } else if (this.#inline !== undefined)
      throw new ClosedError("an inline node cannot be killed; stop() it");
  }
}

/** A worker that registers tsx's loader before importing the host entry (TypeScript sources). */
function tsxWorker(config: HostConfig): Worker {
  const api = import.meta.resolve("tsx/esm/api");
  const code = `import { register } from ${JSON.stringify(api)}; register(); await import(${JSON.stringify(entryUrl.href)});`;
  return new Worker(new URL(`data:text/javascript,${encodeURIComponent(code)}`), { workerData: config });
}
