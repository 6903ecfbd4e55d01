/**
 * Roles in a CurveZMQ graph: what a key may register (names, services,
 * queues, topics, fronts) and whether it may steer, written next to it in
 * the allow list. A member that lists what its line does not allow is
 * refused by the directory; a steering call from a key that may not steer
 * is refused by the node it steers. Each refusal is a ForbiddenError, and
 * counted.
 */
import { describe, expect, it } from "vitest";
import { Graph, keyPair, type Node, RemoteError } from "../../core/index.js";
import { prove } from "../../core/key-proof.js";
import { ServiceProxy } from "../../toolbox/proxy/index.js";
import { controlService } from "../../toolbox/steering.js";
import { cleanupAfterEach, rejection } from "../helpers.js";
import { fakeRecord, memberNode, probe, RawCaller, share, WINDOW_MS } from "./attack.js";

describe("security – roles", () => {
  const cleanup = cleanupAfterEach();

  const graphKeys = keyPair();
  const worker = keyPair();
  const intruder = keyPair();
  const operator = keyPair();

  async function rolesGraph(): Promise<Graph> {
    const graph = await Graph.open({
      transport: "tcp",
      heartbeatMs: 200,
      security: {
        ...graphKeys,
        allow: [
          graphKeys.publicKey,
          {
            key: worker.publicKey,
            name: ["worker-*"],
            provide: ["add"],
            pull: ["jobs"],
            publish: [],
            front: [],
          },
          { key: intruder.publicKey, provide: [], pull: [], publish: [], front: [] },
          { key: operator.publicKey, control: true },
        ],
      },
    });
    cleanup.push(() => graph.close());
    return graph;
  }

  const keyedNode = (graph: Graph, name: string, keys: { publicKey: string; secretKey: string }): Node =>
    memberNode(cleanup, graph, graphKeys.publicKey, name, keys);

  it("roles – a member registers only the names, services, queues, topics and fronts its line allows", async () => {
    const graph = await rolesGraph();
    const refuse = async (name: string, setup: (n: Node) => void): Promise<RemoteError> => {
      const node = keyedNode(graph, name, worker);
      setup(node);
      const error = await rejection(node.start());
      expect(error, String(error)).toBeInstanceOf(RemoteError);
      expect((error as RemoteError).remoteCode).toBe("FORBIDDEN");
      return error as RemoteError;
    };
    expect((await refuse("evil", () => undefined)).message).toMatch(/may not register the name `evil`/);
    expect((await refuse("worker-1", (n) => n.provide("mul", () => 0))).message).toMatch(
      /may not provide `mul`/,
    );
    const ok = keyedNode(graph, "worker-2", worker);
    ok.provide("add", ([a, b]: [number, number]) => a + b);
    await ok.start();
    // Changes later are checked too: the update is refused (synced() says so), the directory
    // keeps the old record.
    ok.advertise("sensor/temp");
    expect(((await rejection(ok.synced())) as RemoteError).message).toMatch(/may not publish `sensor\/temp`/);
    const listed = (await graph.nodes()).find((n) => n.name === "worker-2")!;
    expect(listed.services).toEqual(["add"]);
    expect(listed.topics).toEqual([]);
    expect(((await rejection(ok.front("queue", "jobs"))) as RemoteError).remoteCode).toBe("FORBIDDEN");
    expect((await graph.nodes()).find((n) => n.name === "worker-2")!.fronts).toEqual([]);
    expect(graph.embeddedDirectory!.stats().refused.forbidden).toBeGreaterThanOrEqual(4);
  });

  it("roles – a member that may not provide `add` cannot list it (the man in the middle is refused); no forged reply", async () => {
    const graph = await rolesGraph();
    const provider = keyedNode(graph, "worker-add", worker);
    provider.provide("add", ([a, b]: [number, number]) => a + b);
    await provider.start();
    const client = await graph.node("client");
    // The intruder holds an allowed key, registers a record listing `add` and fronting it.
    const curve = { ...intruder, serverKey: graphKeys.publicKey };
    // One routing id per connection: the directory's ROUTER ignores a new connection claiming
    // an id its previous one still holds (no handover), and a just-closed one may still hold it.
    const attempts = [
      ["mitm#m1", { services: ["add"] }],
      ["mitm#m3", { fronts: [{ kind: "service", name: "add" }] }],
    ] as const;
    for (const [id, extra] of attempts) {
      const raw = new RawCaller(graph.directory, { routingId: id, curve });
      cleanup.push(() => raw.close());
      const record = fakeRecord(id, "mitm", "tcp://127.0.0.1:9", {
        publicKey: intruder.publicKey,
        ...extra,
      });
      const reply = await raw.call("zmp.directory.register", {
        record,
        token: "mitm-token-0123456789",
        proof: prove(intruder, graphKeys.publicKey, ["zmp register", id, "mitm-token-0123456789"]),
      });
      expect(reply?.[0]).toBe(1);
      expect((reply?.[1] as { code?: string } | undefined)?.code).toBe("FORBIDDEN");
      raw.close();
    }
    // A record naming another member's key, without its secret: refused too.
    const raw = new RawCaller(graph.directory, { routingId: "mitm#m2", curve });
    cleanup.push(() => raw.close());
    const impostor = fakeRecord("mitm#m2", "mitm", "tcp://127.0.0.1:9", {
      publicKey: worker.publicKey,
      services: ["add"],
    });
    const refused = await raw.call("zmp.directory.register", {
      record: impostor,
      token: "mitm-token-0123456789",
      proof: "x".repeat(43),
    });
    expect((refused?.[1] as { code?: string } | undefined)?.code).toBe("FORBIDDEN");
    const result = await probe(client, "add", [20, 1], WINDOW_MS / 3, 250, (r) => r === 21);
    expect(result.wrong).toBe(0);
    expect(share(result)).toBe(1);
  });

  it("roles – only keys that may steer call a proxy's control service; others get ForbiddenError, counted", async () => {
    const graph = await rolesGraph();
    const provider = keyedNode(graph, "worker-p", worker);
    provider.provide("add", ([a, b]: [number, number]) => a + b);
    await provider.start();
    const proxyNode = await graph.node("proxy");
    const proxy = await ServiceProxy.start(proxyNode, { service: "add" });
    cleanup.push(() => proxy.close());
    const service = controlService(proxyNode.name);
    // A member without `control`: its (signed) call is refused.
    const member = keyedNode(graph, "worker-x", worker);
    await member.start();
    const denied = await rejection(member.call(service, { op: "stop" }));
    expect(denied).toBeInstanceOf(RemoteError);
    expect((denied as RemoteError).remoteCode).toBe("FORBIDDEN");
    // A raw socket with an allowed key, sending a plain CALL (no key shown): refused.
    const raw = new RawCaller(proxyNode.endpoint, { curve: { ...intruder, serverKey: graphKeys.publicKey } });
    cleanup.push(() => raw.close());
    const plain = await raw.call(service, { op: "pause" });
    expect((plain?.[1] as { code?: string } | undefined)?.code).toBe("FORBIDDEN");
    expect(proxy.paused).toBe(false);
    expect(proxyNode.stats().rejects.forbidden).toBeGreaterThanOrEqual(2);
    // The operator's key may steer.
    const op = keyedNode(graph, "operator", operator);
    await op.start();
    expect(await op.call(service, { op: "pause" })).toMatchObject({ ok: true });
    expect(proxy.paused).toBe(true);
  });
});
