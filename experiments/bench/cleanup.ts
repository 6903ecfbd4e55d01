/**
 * Everything a bench run opens (graphs, child processes, sockets) is
 * registered here and closed in reverse order when a case ends, when the run
 * fails, and on Ctrl-C. Child processes are also remembered by pid and
 * SIGKILLed at exit if a graceful close did not end them.
 */
export class Cleanup {
  #tasks: { name: string; run: () => unknown }[] = [];
  readonly #pids = new Set<number>();

  /** Registers `run` to close something; returns a function that forgets it (once closed by hand). */
  add(name: string, run: () => unknown): () => void {
    const task = { name, run };
    this.#tasks.push(task);
    return () => {
      this.#tasks = this.#tasks.filter((t) => t !== task);
    };
  }

  /** Child processes remembered so far. */
  get pids(): number[] {
    return [...this.#pids];
  }

  /** Remembers a child process to kill at exit if it still runs. */
  pid(pid: number | undefined): void {
    if (pid !== undefined && pid > 0) this.#pids.add(pid);
  }

  /** Closes everything registered, last first; each step is bounded by `timeoutMs`. Never throws. */
  async run(timeoutMs = 10_000): Promise<void> {
    const tasks = this.#tasks.reverse();
    this.#tasks = [];
    for (const task of tasks) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      try {
        await Promise.race([
          Promise.resolve().then(task.run),
          new Promise((_, reject) => {
            timer = setTimeout(
              () => reject(new Error(`closing ${task.name} took over ${timeoutMs} ms`)),
              timeoutMs,
            );
          }),
        ]);
      } catch (error) {
        process.stderr.write(`bench: ${String(error)}\n`);
      } finally {
        clearTimeout(timer);
      }
    }
    this.killStragglers();
  }

  /** SIGKILLs remembered child processes that are still alive (synchronous: safe in an exit handler). */
  killStragglers(): void {
    for (const pid of this.#pids) {
      try {
        process.kill(pid, 0);
        process.kill(pid, "SIGKILL");
      } catch {
        // already gone
      }
    }
    this.#pids.clear();
  }
}
