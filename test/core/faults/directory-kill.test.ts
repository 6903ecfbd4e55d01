import { describe, expect, it } from "vitest";
import { Node } from "../../../core/index.js";
import { cleanupAfterEach, eventually, type Script, startScript } from "../../helpers.js";

/**
 * The directory process is SIGKILLed mid-traffic and started again on the same
 * endpoint: nodes keep talking over their established connections meanwhile,
 * and re-register by themselves when it is back. Exact counts: no call fails.
 */
describe("directory killed and restarted", () => {
  const cleanup = cleanupAfterEach();

  const directoryScript = new URL("../../fixtures/netns-role.ts", import.meta.url);

  async function startDirectory(endpoint: string): Promise<Script> {
    const script = startScript(directoryScript, ["directory", endpoint, "100"]);
    cleanup.push(() => script.kill());
    await script.first;
    return script;
  }

  it("faults – a SIGKILLed directory: traffic goes on, nodes re-register when it returns", async () => {
    // A fixed tcp port on loopback, so the restarted directory is at the same endpoint;
    // below Linux's ephemeral range (32768+), so no `tcp://…:*` bind elsewhere can take it.
    const port = 20_000 + (process.pid % 12_000);
    const endpoint = `tcp://127.0.0.1:${port}`;
    const first = await startDirectory(endpoint);
    const a = new Node({ name: "a", directory: endpoint, transport: "tcp" });
    const b = new Node({ name: "b", directory: endpoint, transport: "tcp" });
    cleanup.push(
      () => b.stop(),
      () => a.stop(),
    );
    a.provide("count", (n: number) => n + 1);
    await a.start();
    await b.start();
    await b.waitFor("count");

    let ok = 0;
    let failed = 0;
    let running = true;
    const traffic = (async () => {
      while (running) {
        try {
          expect(await b.call("count", ok, { timeoutMs: 2000 })).toBe(ok + 1);
          ok++;
        } catch {
          failed++;
        }
      }
    })();
    await eventually(() => ok > 50, "traffic before the kill");
    await first.kill(); // SIGKILL: no goodbye, no deregistration
    const atKill = ok;
    await eventually(() => ok > atKill + 200, "traffic to go on without a directory");
    const second = await startDirectory(endpoint);
    await eventually(
      () => ["a", "b"].every((n) => second.lines.some((l) => l.op === "up" && l.name === n)),
      "both nodes to re-register with the new directory",
    );
    const atReturn = ok;
    await eventually(() => ok > atReturn + 50, "traffic after the directory returned");
    running = false;
    await traffic;
    expect(failed).toBe(0);
  });
});
