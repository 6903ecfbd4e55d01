/**
 * The parent's handle on a raw child (raw/child.ts): forks it with tsx,
 * waits for it to bind or connect, and forwards `reset` / `collect`.
 */
import { type ChildProcess, fork } from "node:child_process";
import type { Cleanup } from "../cleanup.js";
import type { SinkReport } from "../sink.js";
import type { RawChildConfig, RawChildMessage } from "./child.js";

// The child module next to this one: .ts when run from source (tsx), .js from dist/.
const childUrl = new URL(import.meta.url.endsWith(".ts") ? "./child.ts" : "./child.js", import.meta.url);

export class RawPeer {
  readonly endpoint: string;
  readonly #child: ChildProcess;
  #nextId = 0;
  readonly #waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  #exited = false;

  private constructor(child: ChildProcess, endpoint: string) {
    this.#child = child;
    this.endpoint = endpoint;
    child.on("message", (m: RawChildMessage) => {
      if (m.type !== "reply") return;
      const w = this.#waiting.get(m.id);
      this.#waiting.delete(m.id);
      if (m.error !== undefined) w?.reject(new Error(`raw child: ${m.error}`));
      else w?.resolve(m.result);
    });
    child.once("exit", (code, signal) => {
      this.#exited = true;
      for (const w of this.#waiting.values()) w.reject(new Error(`raw child exited (${code ?? signal})`));
      this.#waiting.clear();
    });
  }

  /** Starts a raw child; it is closed by `cleanup` (or {@link close}). */
  static async start(config: RawChildConfig, cleanup: Cleanup, startTimeoutMs = 20_000): Promise<RawPeer> {
    const child = fork(childUrl, [JSON.stringify(config)], {
      execArgv: ["--import", import.meta.resolve("tsx")],
      stdio: ["ignore", "inherit", "inherit", "ipc"],
    });
    cleanup.pid(child.pid);
    let peer: RawPeer | undefined;
    cleanup.add(`raw ${config.role} child`, () => (peer ? peer.close() : child.kill("SIGKILL")));
    const endpoint = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`raw ${config.role} child not ready`)), startTimeoutMs);
      child.on("message", (m: RawChildMessage) => {
        if (m.type === "ready") {
          clearTimeout(timer);
          resolve(m.endpoint);
        }
      });
      child.once("exit", (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`raw ${config.role} child exited (${code ?? signal}) before it was ready`));
      });
    }).catch((error: unknown) => {
      child.kill("SIGKILL");
      throw error;
    });
    peer = new RawPeer(child, endpoint);
    return peer;
  }

  #request(op: string, extra: Record<string, unknown> = {}): Promise<unknown> {
    if (this.#exited || !this.#child.connected) return Promise.reject(new Error("raw child has exited"));
    const id = ++this.#nextId;
    return new Promise((resolve, reject) => {
      this.#waiting.set(id, { resolve, reject });
      // With a callback, a send to a child that just died (EPIPE, before its "exit" event)
      // rejects this request; without one it is an 'error' event that ends the run.
      this.#child.send({ id, op, ...extra }, (error) => {
        if (error === null) return;
        this.#waiting.delete(id);
        reject(error);
      });
    });
  }

  /** Process id of the child. */
  get pid(): number {
    return this.#child.pid ?? -1;
  }

  reset(): Promise<unknown> {
    return this.#request("reset");
  }

  /** See Sink.collect: waits for `expected` messages, or for `quietMs` without one. */
  collect(quietMs: number, expected?: number): Promise<SinkReport> {
    return this.#request("collect", { quietMs, expected }) as Promise<SinkReport>;
  }

  /** Ends the child (gracefully, then SIGKILL after 2 s). Safe to call twice. */
  async close(): Promise<void> {
    if (this.#exited) return;
    const exited = new Promise<void>((resolve) => this.#child.once("exit", () => resolve()));
    this.#request("close").catch(() => undefined);
    const timer = setTimeout(() => this.#child.kill("SIGKILL"), 2000);
    await exited;
    clearTimeout(timer);
  }
}
