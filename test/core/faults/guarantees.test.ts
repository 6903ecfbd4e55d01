import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Graph, type Node, type NodeStats, PeerLostError } from "../../../core/index.js";
import { eventually, rejection, tempDir } from "../../helpers.js";

/**
 * The delivery guarantees the README states, each shown with a process
 * killed (or a reply lost) in the middle. Queues (at-least-once, redelivery
 * after a SIGKILLed puller) are in test/core/queue.test.ts; topics
 * (best-effort, drops counted) in test/core/topic.test.ts.
 */
const ledger = new URL("../../fixtures/ledger.ts", import.meta.url);

describe("service guarantees", () => {
  let graph: Graph;
  let dir: ReturnType<typeof tempDir>;
  beforeEach(async () => {
    graph = await Graph.open({ heartbeatMs: 200 });
    dir = tempDir();
  });
  afterEach(async () => {
    await graph.close();
    dir.remove();
  });

  /** Whether `node` is running a call of `service` now (its meters, read remotely). */
  const busy = async (me: Node, node: string, service: string): Promise<boolean> =>
    ((await me.call<NodeStats>("zmp.stats", null, { node }).catch(() => null))?.services[service]?.inflight ??
      0) > 0;

  const runs = (file: string, id: string): number =>
    existsSync(file)
      ? readFileSync(file, "utf8")
          .split("\n")
          .filter((l) => l.startsWith(`${id} `)).length
      : 0;

  it("guarantees – at-most-once by default: a provider killed mid-call gives PeerLostError, and the call ran at most once", async () => {
    const file = join(dir.dir, "effects");
    const provider = await graph.spawn(ledger, { host: "process", name: "bank", args: { file, ms: 300 } });
    const me = await graph.node("me");
    const call = me.call("deposit-plain", { id: "a" }, { timeoutMs: 10_000 });
    await eventually(() => busy(me, "bank", "deposit-plain"), "the call to be running in the provider");
    provider.kill();
    expect(await rejection(call)).toBeInstanceOf(PeerLostError);
    expect(runs(file, "a")).toBeLessThanOrEqual(1);
  });

  it("guarantees – retries with de-duplication: attempts whose replies come late run the service once", async () => {
    const file = join(dir.dir, "effects");
    await graph.spawn(ledger, { host: "process", name: "bank", args: { file, ms: 400 } });
    const me = await graph.node("me");
    // Each attempt times out after 150 ms while the first run still works: three more
    // attempts with the same request id join it instead of running again.
    const reply = await me.call<{ by: string }>("deposit", { id: "b" }, { timeoutMs: 150, retries: 5 });
    expect(reply.by).toBe("bank");
    await eventually(() => runs(file, "b") === 1, "the one execution to be recorded");
    expect(runs(file, "b")).toBe(1);
    // Without de-duplication the same retries run it again each time.
    await me.call("deposit-plain", { id: "c" }, { timeoutMs: 150, retries: 5 }).catch(() => undefined);
    await eventually(() => runs(file, "c") >= 2, "repeated executions without dedupe");
  });

  it("guarantees – a call with retries survives its provider being SIGKILLed mid-call (served by another)", async () => {
    const file = join(dir.dir, "effects");
    const banks = [
      await graph.spawn(ledger, { host: "process", name: "bank-1", args: { file, ms: 300 } }),
      await graph.spawn(ledger, { host: "process", name: "bank-2", args: { file, ms: 300 } }),
    ];
    const me = await graph.node("me");
    await me.waitFor("deposit", { providers: 2 });
    const call = me.call<{ by: string }>("deposit", { id: "d" }, { timeoutMs: 5000, retries: 2 });
    // Kill the provider running it: the reply must then come from the other one.
    const running = await eventually(async () => {
      for (const bank of banks) if (await busy(me, bank.name, "deposit")) return bank;
      return undefined;
    }, "a provider to be running the call");
    running.kill();
    const reply = await call;
    expect(reply.by).not.toBe(running.name);
    // At least once across providers: the killed one may have run it before dying.
    expect(runs(file, "d")).toBeGreaterThanOrEqual(1);
    expect(runs(file, "d")).toBeLessThanOrEqual(2);
  });
});
