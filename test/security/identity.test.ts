/**
 * Identities peers cannot forge. Node ids are public (every directory
 * snapshot lists them), so a raw socket can announce a victim's id in its
 * ZeroMQ handshake. It must not get the victim's connection at the directory
 * (the victim would be dropped and never re-register), nor the victim's
 * replies at a provider, and no peer may answer calls it was not sent.
 */
import { describe, expect, it } from "vitest";
import { decode, encode, type Graph, type Node } from "../../core/index.js";
import { ServiceProxy } from "../../toolbox/proxy/index.js";
import { cleanupAfterEach } from "../helpers.js";
import {
  FakeNode,
  fakeRecord,
  probe,
  RawCaller,
  receiveWithin,
  share,
  tcpGraph,
  WINDOW_MS,
} from "./attack.js";

describe("security – identity", () => {
  const cleanup = cleanupAfterEach();

  const graph = (): Promise<Graph> => tcpGraph(cleanup);

  it("identity – a raw socket announcing a live node's id at the directory does not take its place", async () => {
    const g = await graph();
    const victim = await g.node("victim");
    victim.provide("echo", (x: unknown) => x);
    await victim.synced();
    const client = await g.node("client");
    const attacker = new RawCaller(g.directory, { routingId: victim.id });
    cleanup.push(() => attacker.close());
    await attacker.call("zmp.ping", null, 300);

    const result = await probe(client, "echo", 7, WINDOW_MS, 250, (r) => r === 7);
    expect(share(result), JSON.stringify(result)).toBeGreaterThanOrEqual(0.9);
    expect((await g.nodes()).map((n) => n.id)).toContain(victim.id);
  });

  it("identity – a raw socket announcing a proxy's id at the provider does not get the proxy's replies", async () => {
    const g = await graph();
    const provider = await g.node("provider");
    provider.provide("add", ([a, b]: [number, number]) => a + b);
    await provider.synced();
    const proxyNode: Node = await g.node("proxy");
    const proxy = await ServiceProxy.start(proxyNode, { service: "add" });
    cleanup.push(() => proxy.close());
    const client = await g.node("client");
    expect(await client.call("add", [1, 2])).toBe(3); // connects proxy → provider
    const attacker = new RawCaller(provider.endpoint, { routingId: proxyNode.id });
    cleanup.push(() => attacker.close());
    await attacker.call("add", [2, 2], 300);

    const result = await probe(client, "add", [20, 1], WINDOW_MS, 250, (r) => r === 21);
    expect(share(result), JSON.stringify(result)).toBeGreaterThanOrEqual(0.9);
  });
});

describe("security – replies", () => {
  const cleanup = cleanupAfterEach();

  it("identity – a peer cannot answer calls that went to another provider (correlation ids guessed)", async () => {
    const g = await tcpGraph(cleanup);
    const provider = await g.node("provider");
    provider.provide("add", ([a, b]: [number, number]) => a + b);
    await provider.synced();
    const client = await g.node("client");
    const { fake } = await FakeNode.start(g.directory, "decoy#x1", (endpoint) =>
      fakeRecord("decoy#x1", "decoy", endpoint, { services: ["decoy"] }),
    );
    cleanup.push(() => fake.close());
    // Lure one call to the fake, to learn the client's routing id and its correlation counter.
    await client.waitFor("decoy");
    const lured = client.call("decoy", null, { timeoutMs: 2000 }).catch(() => undefined);
    const [clientId, body] = (await receiveWithin(fake.router, 2000))!;
    const corr = (decode(body!) as number[])[1]!;
    await lured;
    // Then answer every call the client makes next, whoever it went to, with 666.
    let forging = true;
    const forge = (async () => {
      const replies: unknown[] = [2];
      for (let c = corr + 1; c <= corr + 1000; c++) replies.push(c, 0, 666);
      const frame = encode(replies);
      while (forging) {
        await fake.router.send([clientId!, frame]).catch(() => undefined);
        await new Promise((resolve) => setTimeout(resolve, 2));
      }
    })();
    const result = await probe(client, "add", [20, 1], WINDOW_MS / 3, 250, (r) => r === 21);
    forging = false;
    await forge;
    expect(result.wrong, JSON.stringify(result)).toBe(0);
    expect(share(result), JSON.stringify(result)).toBeGreaterThanOrEqual(0.9);
    expect(client.stats().rejects.forged).toBeGreaterThan(0);
  });
});
