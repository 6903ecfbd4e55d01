import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { runSoak, type SoakResult } from "../../../experiments/soak/soak.js";

/**
 * The short soak CI runs (`npm run soak` is the long one):
 * 20 s of producers → queue proxy → 3 worker processes with the backlog loop
 * on, worker-1 SIGKILLed at 10 s and replaced. Workers hold each
 * acknowledgement 10 ms after recording the message, so the kill lands in
 * that gap and makes duplicates: the test sees at-least-once at work, and
 * that it stays within the killed worker's window. Every process is stopped
 * by the run's own cleanup, also when it fails; a test that times out aborts
 * the run, which cleans up the same way.
 */
describe("soak", () => {
  let abort: AbortController | undefined;
  let running: Promise<unknown> | undefined;
  afterEach(async () => {
    abort?.abort();
    await running?.catch(() => undefined);
    abort = undefined;
    running = undefined;
  });

  it("soak – 20 s with a worker SIGKILLed: none lost, offered = accepted + shed, duplicates within the window, flat RSS", async () => {
    abort = new AbortController();
    const run = runSoak({
      duration: 20,
      rate: 20_000,
      producers: 2,
      workers: 3,
      killAt: 10,
      window: 500,
      ackDelayMs: 10,
      // Generous for a 20 s run on a shared machine: V8 is still sizing its heaps after a 4 s
      // warm-up (up to ~15 MiB seen here); a leak of ~300 bytes per message would pass it.
      rssLimitMiB: 64,
      // Two samples a second: the killed worker and its replacement live 10 s each.
      sampleInterval: 0.5,
      signal: abort.signal,
    });
    running = run;
    const r: SoakResult = await run;
    const why = JSON.stringify({ counts: r.counts, checks: r.checks.filter((c) => !c.ok) });
    const c = r.counts;
    expect(c.offered, why).toBeGreaterThan(300_000);
    expect(c.lost, why).toBe(0);
    // The accounting identity, exactly, at the proxy and per id.
    expect(r.proxy.offered).toBe(r.proxy.admitted + r.proxy.shed);
    expect(c.offered).toBe(r.proxy.offered);
    expect(c.offered).toBe(c.accepted + c.shed);
    expect(c.handled).toBe(c.accepted);
    expect(r.ledger.shed).toBe(c.shed);
    expect(r.ledger.shedAndHandled).toBe(0);
    expect(c.deadLetterDrops).toBe(0);
    // The loop shed something (capacity is 80 % of the offered rate).
    expect(c.shed).toBeGreaterThan(0);
    // At-least-once after the kill, bounded: only the killed worker's last `window` records.
    expect(r.kill?.worker).toBe("worker-1");
    expect(c.duplicates, why).toBeGreaterThan(0);
    expect(c.duplicates).toBeLessThanOrEqual(r.settings.window);
    expect(c.duplicates).toBeLessThanOrEqual(c.redelivered);
    expect(r.ledger.duplicatesUnexplained).toBe(0);
    expect(r.ledger.deepestDuplicate).toBeLessThan(r.settings.window);
    // Memory: every process measured (3 workers + replacement, proxy, loop, 2 producers, harness).
    expect(r.processes.length).toBe(9);
    for (const p of r.processes) {
      expect(p.memory.samples, p.name).toBeGreaterThanOrEqual(6);
      expect(p.memory.growth, `${p.name} RSS growth after warm-up`).toBeLessThan(64 * 1024 * 1024);
    }
    expect(r.ok, why).toBe(true);
    // 20 s of load; starting nine processes and draining add ~7 s alone at load ~20, over 40 s
    // beside a full run's other files. The run's own deadlines (drain 90 s) say what failed;
    // this one only ends a run that hangs.
  }, 180_000);

  it("soak cli – bad usage exits 2 with one line naming the flag, before starting anything", () => {
    const main = fileURLToPath(new URL("../../../experiments/soak/main.ts", import.meta.url));
    const run = (...args: string[]) =>
      spawnSync(process.execPath, ["--import", import.meta.resolve("tsx"), main, ...args], {
        encoding: "utf8",
        timeout: 20_000,
      });
    const late = run("--duration", "10", "--kill-at", "12");
    expect(late.status).toBe(2);
    expect(late.stderr.split("\n")[0]).toBe(
      "soak: Expected `--kill-at` to be a second before the end (10), got `12`",
    );
    const word = run("--rate", "fast");
    expect(word.status).toBe(2);
    expect(word.stderr).toContain("Expected `--rate` to be a number, got `fast`");
    expect(run("--bogus").status).toBe(2);
    const help = run("--help");
    expect(help.status).toBe(0);
    expect(help.stdout).toContain("--kill-at S");
  }, 60_000);
});
