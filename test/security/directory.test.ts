/**
 * The directory as an attacker meets it: requests about other nodes'
 * records, and registration floods. A node's record is changed only by the
 * node that registered it (its token), and what the directory holds is
 * bounded: a flood costs it a bounded amount of memory, every reply stays
 * within a page, and an honest node joins once the flood is over.
 */
import { describe, expect, it } from "vitest";
import { encode, type Graph, Node } from "../../core/index.js";
import { cleanupAfterEach, eventually, startScript } from "../helpers.js";
import {
  FakeNode,
  fakeRecord,
  HEARTBEAT_MS,
  probe,
  RawCaller,
  rawDealer,
  registration,
  report,
  share,
  tcpGraph,
  WINDOW_MS,
} from "./attack.js";

describe("security – directory", () => {
  const cleanup = cleanupAfterEach();

  const graph = (): Promise<Graph> => tcpGraph(cleanup);

  it("directory – deregistering another node's record, every 50 ms, fails no call", async () => {
    const g = await graph();
    const victim = await g.node("victim");
    victim.provide("echo", (x: unknown) => x);
    await victim.synced();
    const client = await g.node("client");
    const attacker = rawDealer(g.directory, { routingId: "attacker#1" });
    cleanup.push(() => attacker.close());
    let n = 0;
    const timer = setInterval(() => {
      // Without a token (as the old protocol took it), and with a guessed one.
      const request =
        n++ % 2 === 0 ? { id: victim.id } : { id: victim.id, token: `guess-${n}-0123456789abcdef` };
      void attacker.send(encode([1, n, "zmp.directory.deregister", request])).catch(() => undefined);
    }, 50);
    cleanup.push(() => clearInterval(timer));

    const result = await probe(client, "echo", 7, WINDOW_MS, 250, (r) => r === 7);
    expect(share(result), JSON.stringify(result)).toBeGreaterThanOrEqual(0.95);
    expect((await g.nodes()).map((r) => r.id)).toContain(victim.id);
    expect(g.embeddedDirectory!.stats().refused.forbidden).toBeGreaterThan(0);
  });

  it("directory – heartbeats for another node's record do not keep it alive", async () => {
    const g = await graph();
    const { fake } = await FakeNode.start(g.directory, "ghost#g1", (endpoint) =>
      fakeRecord("ghost#g1", "ghost", endpoint),
    );
    cleanup.push(() => fake.close());
    expect(g.embeddedDirectory!.nodes().map((r) => r.id)).toContain("ghost#g1");
    const attacker = rawDealer(g.directory, { routingId: "attacker#2" });
    cleanup.push(() => attacker.close());
    let n = 0;
    const timer = setInterval(() => {
      const request = { id: "ghost#g1", token: `guess-${n++}-0123456789abcdef`, version: 0 };
      void attacker.send(encode([1, n, "zmp.directory.heartbeat", request])).catch(() => undefined);
    }, HEARTBEAT_MS / 4);
    cleanup.push(() => clearInterval(timer));
    const stoppedAt = Date.now();
    fake.stopHeartbeats();
    await eventually(
      () => !g.embeddedDirectory!.nodes().some((r) => r.id === "ghost#g1"),
      "the ghost's eviction",
      {
        timeoutMs: 10 * HEARTBEAT_MS,
      },
    );
    expect(Date.now() - stoppedAt).toBeLessThanOrEqual(4 * HEARTBEAT_MS);
  });
});

describe("security – directory flood", () => {
  it("directory – a registration flood costs bounded memory; listings stay within a page; honest nodes join after", async () => {
    // The README's defaults: limits, and a heartbeat of 1 s (records of a stopped flood go within 2.5 s).
    const heartbeatMs = 1000;
    const script = startScript(new URL("../fixtures/directory-process.ts", import.meta.url), [
      "tcp://127.0.0.1:*",
      String(heartbeatMs),
    ]);
    const sockets: RawCaller[] = [];
    const honest: Node[] = [];
    const stops: (() => void)[] = [];
    try {
      const { endpoint } = (await script.first) as { endpoint: string };
      const samples = () =>
        script.lines.filter((l) => typeof l.rss === "number") as {
          rss: number;
          heap: number;
          nodes: number;
          bytes: number;
        }[];
      await eventually(() => samples().length >= 3, "the directory's first samples");
      const base = samples().at(-1)!;

      // The records: 1 000 service names of 128 characters each (≈130 kB): refused whole.
      const long = (i: number, j: number) => `s${i}-${j}-`.padEnd(128, "x");
      const big = (i: number) => Array.from({ length: 1000 }, (_, j) => long(i, j));
      // Records just under the default limits (≈60 kB): accepted until the directory is full.
      const fitting = (i: number) => Array.from({ length: 460 }, (_, j) => long(i, j));
      // Accepted records are kept alive by heartbeats (their replies never read).
      const beating: [RawCaller, string, string][] = [];
      const beat = setInterval(() => {
        for (const [caller, id, token] of beating)
          void caller.socket
            .send(encode([1, 0, "zmp.directory.heartbeat", { id, token, version: 0 }]))
            .catch(() => undefined);
      }, heartbeatMs / 2);
      stops.push(() => clearInterval(beat));
      let refusedBig = 0;
      let accepted = 0;
      let refusedFull = 0;
      const flood = async (count: number, services: (i: number) => string[], offset: number) => {
        await Promise.all(
          Array.from({ length: count }, async (_, k) => {
            const i = offset + k;
            const id = `flood${i}#f${i}`;
            const caller = new RawCaller(endpoint, { routingId: id });
            sockets.push(caller);
            const reply = await caller.call(
              "zmp.directory.register",
              registration(
                endpoint,
                id,
                fakeRecord(id, `flood${i}`, "tcp://127.0.0.1:9", { services: services(i) }),
                `flood-token-${i}-0123456789`,
              ),
              5000,
            );
            if (reply?.[0] === 0) {
              accepted++;
              beating.push([caller, id, `flood-token-${i}-0123456789`]);
            } else if ((reply?.[1] as { code?: string })?.code === "LIMIT") {
              if (services === big) refusedBig++;
              else refusedFull++;
            }
          }),
        );
      };
      await flood(200, big, 0);
      expect(refusedBig).toBe(200);
      await flood(400, fitting, 1000);
      expect(accepted).toBeGreaterThan(200);
      expect(refusedFull).toBeGreaterThan(0); // the directory filled up: limits.maxBytes

      // A listing while full: pages, each within the limits, never one reply of everything.
      const lister = new Node({ name: "lister", directory: endpoint, register: false, startTimeoutMs: 5000 });
      honest.push(lister);
      await lister.start();
      // The listing has every record the directory holds. On a loaded machine it may evict some
      // flood records for missed heartbeats meanwhile (once 279 of 312 were left): what it holds
      // is read from its samples just before and just after.
      const held = () => samples().at(-1)!.nodes;
      const before = held();
      const listed = await lister._snapshot(5000);
      const printed = samples().length;
      await eventually(() => samples().length > printed, "the directory's next sample");
      const ids = new Set(listed.map((r) => r.id));
      expect(ids.size).toBe(listed.length);
      expect([...ids].every((id) => /^flood\d+#f\d+$/.test(id))).toBe(true);
      expect(listed.length).toBeLessThanOrEqual(before);
      expect(listed.length).toBeGreaterThanOrEqual(held());

      const peak = Math.max(...samples().map((s) => s.rss));
      // The flood stops (its sockets close, its records miss their heartbeats): an honest node joins.
      clearInterval(beat);
      for (const s of sockets) s.close();
      const stoppedAt = Date.now();
      const node = new Node({ name: "honest", directory: endpoint, startTimeoutMs: 1000 });
      honest.push(node);
      await eventually(
        async () => {
          try {
            await node.start();
            return true;
          } catch {
            return false;
          }
        },
        "the honest node to join",
        { timeoutMs: 5000, intervalMs: 100 },
      );
      const joinedAfterMs = Date.now() - stoppedAt;
      await eventually(() => samples().at(-1)!.nodes === 1, "the flood's records to be evicted");
      const after = samples().at(-1)!;
      report(
        `flood: base rss ${(base.rss / 2 ** 20).toFixed(0)} MiB, peak ${(peak / 2 ** 20).toFixed(0)} MiB (+${((peak - base.rss) / 2 ** 20).toFixed(0)}), heap ${(base.heap / 2 ** 20).toFixed(0)} → ${(after.heap / 2 ** 20).toFixed(0)} MiB after eviction; ${accepted} accepted, honest join ${joinedAfterMs} ms after the flood`,
      );
      expect(peak - base.rss).toBeLessThanOrEqual(200 * 2 ** 20);
      expect(after.heap - base.heap).toBeLessThanOrEqual(20 * 2 ** 20);
    } finally {
      for (const stop of stops) stop();
      for (const s of sockets) s.close();
      for (const n of honest) await n.stop();
      await script.kill();
    }
  }, 180_000);
});
