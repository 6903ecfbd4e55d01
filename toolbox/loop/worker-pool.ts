/**
 * The worker count as an actuator: a pool of worker nodes started and
 * stopped through a `Graph` (in child processes by default). The loop sets a
 * target; the pool starts the missing workers and stops the surplus in the
 * background, so `apply` returns at once with the target while processes
 * take their time to start (the start-up delay an autoscaling loop has to
 * live with). A worker that crashes is replaced; one that fails to start is
 * retried no sooner than `retryMs` later. Stopping is graceful: a worker
 * finishes the messages it took and hands the rest back to the queue.
 */
import type { Graph, HostedNode, SpawnOptions } from "../../core/index.js";
import { checkKeys, checkNumber, fail, oneOf } from "../control/validate.js";
import type { Actuator } from "./actuator.js";

/** Options of `WorkerPoolActuator`. */
export interface WorkerPoolActuatorOptions {
  /** The worker node module (its default export is the init function). Required. */
  module: string | URL;
  /** Workers are named `<prefix>-1`, `<prefix>-2`... (numbers are not reused). Default `"worker"`. */
  prefix?: string;
  /** Args of the n-th worker started (n from 1), or the same args for all. Default none. */
  args?: unknown;
  /** Where workers run. Default `"process"`. */
  host?: "inline" | "thread" | "process";
  /** Fewest workers the actuator keeps, integer ≥ 0. Default 1. */
  min?: number;
  /** Most workers it starts, integer ≥ min. Default 64. */
  max?: number;
  /** Seconds after a failed start before another is tried. Default 1. */
  retryTime?: number;
  /** More spawn options (`startTimeoutMs`, `stopTimeoutMs`, `node`). */
  spawn?: Omit<SpawnOptions, "name" | "host" | "args">;
  /** Runs (awaited, at most 1 s) before a worker is stopped: read its final counters. */
  beforeStop?: (name: string) => unknown;
}

interface Member {
  name: string;
  state: "starting" | "ready" | "stopping";
  hosted: HostedNode | undefined;
}

function integer(name: string, value: unknown, min: number): number {
  return checkNumber(name, value, `an integer ≥ ${min}`, (v) => Number.isInteger(v) && v >= min);
}

/** Starts and stops worker nodes to follow the loop's output (rounded into [min, max]). */
export class WorkerPoolActuator implements Actuator {
  readonly name = "workers";
  readonly description: string;
  readonly #graph: Graph;
  readonly #module: string | URL;
  readonly #prefix: string;
  readonly #args: unknown;
  readonly #host: "inline" | "thread" | "process";
  readonly #min: number;
  readonly #max: number;
  readonly #retryMs: number;
  readonly #spawn: Omit<SpawnOptions, "name" | "host" | "args">;
  readonly #beforeStop: ((name: string) => unknown) | undefined;
  readonly #members: Member[] = [];
  readonly #stopping = new Set<Promise<unknown>>();
  #target: number;
  #counter = 0;
  #closed = false;
  #retryAt = 0;
  #retryTimer: ReturnType<typeof setTimeout> | undefined;
  #waiters: (() => void)[] = [];
  /** Starts that failed, and crashes of ready workers. */
  failures = 0;
  /** The last start failure or crash, in words. */
  lastError: string | null = null;

  constructor(graph: Graph, options: WorkerPoolActuatorOptions) {
    if (options === null || typeof options !== "object") fail("options", "an object", options, true);
    checkKeys("WorkerPoolActuator", options, [
      "module",
      "prefix",
      "args",
      "host",
      "min",
      "max",
      "retryTime",
      "spawn",
      "beforeStop",
    ]);
    this.#graph = graph;
    if (typeof options.module !== "string" && !(options.module instanceof URL))
      fail("module", "a module path or URL", options.module, true);
    this.#module = options.module;
    this.#prefix = options.prefix ?? "worker";
    if (typeof this.#prefix !== "string") fail("prefix", "a string", this.#prefix, true);
    this.#args = options.args;
    this.#host = oneOf("host", options.host ?? "process", ["inline", "thread", "process"] as const);
    this.#min = integer("min", options.min ?? 1, 0);
    this.#max = integer("max", options.max ?? 64, Math.max(1, this.#min));
    this.#retryMs =
      1000 *
      checkNumber("retryTime", options.retryTime ?? 1, "a non-negative number of seconds", (v) => v >= 0);
    this.#spawn = options.spawn ?? {};
    this.#beforeStop = options.beforeStop;
    this.#target = this.#min;
    this.description = `worker pool ${this.#prefix}-* (${this.#host} hosts, ${this.#min}…${this.#max})`;
  }

  /** Workers wanted now. */
  get target(): number {
    return this.#target;
  }

  /** Names of the workers ready (taking work), oldest first. */
  get ready(): string[] {
    return this.#members.filter((m) => m.state === "ready").map((m) => m.name);
  }

  /** Workers being started. */
  get starting(): number {
    return this.#members.filter((m) => m.state === "starting").length;
  }

  /**
   * Sets the target (rounded into [min, max]) and starts or stops workers in
   * the background; returns the target.
   */
  apply(value: number): number {
    if (typeof value !== "number" || Number.isNaN(value)) fail("workers", "a number", value, true);
    if (this.#closed) throw new RangeError("the worker pool is closed");
    this.#target = Math.min(this.#max, Math.max(this.#min, Math.round(value)));
    this.#sync();
    return this.#target;
  }

  /** Resolves when the ready workers match the target (or the pool closed). */
  settled(): Promise<void> {
    if (this.#isSettled()) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  /** Stops every worker (gracefully) and waits for them; `apply` throws afterwards. Twice is a no-op. */
  async close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      clearTimeout(this.#retryTimer);
      for (const m of [...this.#members]) this.#stop(m);
      this.#wake();
    }
    while (this.#stopping.size > 0) await Promise.allSettled([...this.#stopping]);
  }

  #isSettled(): boolean {
    return this.#closed || (this.starting === 0 && this.ready.length === this.#target);
  }

  #wake(): void {
    if (!this.#isSettled()) return;
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const resolve of waiters) resolve();
  }

  #sync(): void {
    if (this.#closed) return;
    const live = this.#members.filter((m) => m.state !== "stopping");
    // Surplus: cancel the newest first (those still starting are stopped once ready).
    for (let i = live.length - 1; i >= this.#target; i--) this.#stop(live[i]!);
    const missing = this.#target - Math.min(live.length, this.#target);
    if (missing > 0) {
      const wait = this.#retryAt - performance.now();
      if (wait > 0) {
        this.#retryTimer ??= setTimeout(() => {
          this.#retryTimer = undefined;
          this.#sync();
        }, wait);
        return;
      }
      for (let i = 0; i < missing; i++) this.#start();
    }
    this.#wake();
  }

  #start(): void {
    const n = ++this.#counter;
    const member: Member = { name: `${this.#prefix}-${n}`, state: "starting", hosted: undefined };
    this.#members.push(member);
    const args = typeof this.#args === "function" ? (this.#args as (n: number) => unknown)(n) : this.#args;
    this.#graph.spawn(this.#module, { ...this.#spawn, name: member.name, host: this.#host, args }).then(
      (hosted) => {
        member.hosted = hosted;
        hosted.once("exit", (info) => {
          this.#remove(member);
          if (!info.expected && member.state !== "stopping") {
            this.failures++;
            this.lastError = `worker \`${member.name}\` exited (${info.signal ?? `code ${info.code}`})`;
            this.#sync();
          }
        });
        if (member.state === "stopping" || this.#closed) {
          member.state = "stopping";
          this.#track(hosted.stop());
        } else member.state = "ready";
        this.#wake();
      },
      (error: unknown) => {
        this.#remove(member);
        if (this.#closed || member.state === "stopping") return this.#wake();
        this.failures++;
        this.lastError = `worker \`${member.name}\` failed to start: ${(error as Error).message}`;
        this.#retryAt = performance.now() + this.#retryMs;
        this.#sync();
      },
    );
  }

  #stop(member: Member): void {
    if (member.state === "stopping") return;
    const wasReady = member.state === "ready";
    member.state = "stopping";
    if (!wasReady || member.hosted === undefined) return; // stopped when its start completes
    const hosted = member.hosted;
    const before = this.#beforeStop;
    const stop = async (): Promise<void> => {
      if (before !== undefined) {
        await Promise.race([
          Promise.resolve()
            .then(() => before(member.name))
            .catch(() => undefined),
          new Promise((resolve) => setTimeout(resolve, 1000)),
        ]);
      }
      await hosted.stop();
    };
    this.#track(stop());
  }

  #track(promise: Promise<unknown>): void {
    const p = promise.catch(() => undefined).finally(() => this.#stopping.delete(p));
    this.#stopping.add(p);
  }

  #remove(member: Member): void {
    const i = this.#members.indexOf(member);
    if (i >= 0) this.#members.splice(i, 1);
  }
}
