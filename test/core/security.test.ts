import { createServer, type Server, Socket } from "node:net";
import { describe, expect, it } from "vitest";
import * as zmq from "zeromq";
import { decode, encode, Graph, keyPair, Node, SecurityError } from "../../core/index.js";
import { z85Encode } from "../../core/security.js";
import { cleanupAfterEach, rejection } from "../helpers.js";

/** A TCP relay in front of `target` that records every byte in both directions (a loopback capture). */
async function capturingRelay(
  target: string,
): Promise<{ endpoint: string; bytes: () => Buffer; close: () => Promise<void> }> {
  const [, host, port] = /^tcp:\/\/(.+):(\d+)$/.exec(target)!;
  const chunks: Buffer[] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((inbound) => {
    const outbound = new Socket();
    sockets.add(inbound).add(outbound);
    outbound.connect(Number(port), host!);
    inbound.on("data", (c: Buffer) => {
      chunks.push(c);
      outbound.write(c);
    });
    outbound.on("data", (c: Buffer) => {
      chunks.push(c);
      inbound.write(c);
    });
    const end = (): void => {
      inbound.destroy();
      outbound.destroy();
    };
    inbound.on("error", end).on("close", end);
    outbound.on("error", end).on("close", end);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address() as { port: number };
  return {
    endpoint: `tcp://127.0.0.1:${address.port}`,
    bytes: () => Buffer.concat(chunks),
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A raw DEALER making one CALL through `endpoint`; resolves with the reply frame or "no reply". */
async function rawCall(
  endpoint: string,
  body: unknown,
  curve?: { publicKey: string; secretKey: string; serverKey: string },
  receiveTimeout = 700,
): Promise<unknown> {
  const dealer = new zmq.Dealer({ linger: 0, receiveTimeout });
  if (curve) {
    dealer.curvePublicKey = curve.publicKey;
    dealer.curveSecretKey = curve.secretKey;
    dealer.curveServerKey = curve.serverKey;
  }
  dealer.connect(endpoint);
  try {
    await dealer.send(encode(body));
    const [reply] = await dealer.receive();
    return decode(reply!);
  } catch {
    return "no reply";
  } finally {
    dealer.close();
  }
}

describe("security (CurveZMQ)", () => {
  const cleanup = cleanupAfterEach();

  async function securedGraph() {
    const keys = keyPair();
    const graph = await Graph.open({
      transport: "tcp",
      heartbeatMs: 200,
      security: { ...keys, allow: [keys.publicKey] },
    });
    cleanup.push(() => graph.close());
    const a = await graph.node("a");
    a.provide("echo", (x: unknown) => x);
    await a.synced();
    return { keys, graph, a };
  }

  it("security – keygen makes Z85 key pairs; keys are checked at the boundary", () => {
    const { publicKey, secretKey } = keyPair();
    expect(publicKey).toMatch(/^.{40}$/);
    expect(secretKey).not.toBe(publicKey);
    expect(z85Encode(new Uint8Array([0x86, 0x4f, 0xd2, 0x6f, 0xb5, 0x59, 0xf7, 0x5b]))).toBe("HelloWorld"); // RFC 32 test vector
    expect(
      () =>
        new Node({
          name: "n",
          directory: "tcp://127.0.0.1:1",
          security: { publicKey: "short", secretKey: secretKey, directoryKey: publicKey },
        }),
    ).toThrow(/security.publicKey/);
  });

  it("security – nodes of a secured graph talk over services, topics and queues", async () => {
    const { graph } = await securedGraph();
    const b = await graph.node("b");
    expect(await b.call("echo", "hi")).toBe("hi");
    const sub = b.subscribe<number>("t");
    const c = await graph.node("c");
    await c.waitForSubscribers("t");
    c.publish("t", 7);
    for await (const m of sub) {
      expect(m.data).toBe(7);
      break;
    }
    const got: number[] = [];
    b.consume<number>("q", (n) => {
      got.push(n);
    });
    await b.synced();
    await c.push("q", 1);
    await c.push("q", 2);
    await expect.poll(() => got.length).toBe(2);
    expect((await graph.nodes()).every((n) => typeof n.publicKey === "string")).toBe(true);
  });

  it("security – a node without an allowed key cannot register, call, publish or subscribe", async () => {
    const { keys, graph, a } = await securedGraph();
    const stranger = keyPair();
    // Register: refused by the directory's allow list, with a clear error.
    const intruder = new Node({
      name: "intruder",
      directory: graph.directory,
      transport: "tcp",
      startTimeoutMs: 1500,
      security: { ...stranger, directoryKey: keys.publicKey },
    });
    const error = await rejection(intruder.start());
    expect(error).toBeInstanceOf(SecurityError);
    expect(error.message).toMatch(/allow list/);
    expect((await graph.nodes()).map((n) => n.name)).not.toContain("intruder");
    // Call: straight at a node's endpoint, with a key it does not allow, or without CURVE at all.
    expect(await rawCall(a.endpoint, [1, 1, "echo", "x"], { ...stranger, serverKey: keys.publicKey })).toBe(
      "no reply",
    );
    expect(await rawCall(a.endpoint, [1, 1, "echo", "x"])).toBe("no reply");
    expect(await rawCall(a.endpoint, [1, 1, "echo", "x"], { ...keys, serverKey: keys.publicKey })).toEqual([
      2,
      1,
      0,
      "x",
    ]);
    // Subscribe: a stranger's SUB gets nothing while an allowed subscriber gets the message.
    const spy = new zmq.Subscriber({ linger: 0, receiveTimeout: 700 });
    spy.curvePublicKey = stranger.publicKey;
    spy.curveSecretKey = stranger.secretKey;
    spy.curveServerKey = keys.publicKey;
    spy.subscribe("");
    spy.connect(a.pubEndpoint);
    cleanup.push(() => spy.close());
    const friend = await graph.node("friend");
    const sub = friend.subscribe<string>("news");
    await a.waitForSubscribers("news");
    a.publish("news", "for friends only");
    for await (const m of sub) {
      expect(m.data).toBe("for friends only");
      break;
    }
    await expect(spy.receive()).rejects.toThrow();
    // Publish: a stranger cannot register, so no subscriber ever connects to it (above); and
    // nothing it sends to a node's sockets is read.
    expect(
      await rawCall(friend.endpoint, [1, 2, "echo", "y"], { ...stranger, serverKey: keys.publicKey }),
    ).toBe("no reply");
  });

  it("security – nothing readable crosses the wire (loopback capture); plain graphs show the same bytes", async () => {
    const marker = "ZMP-PLAINTEXT-MARKER-4242";
    // Control: without CURVE the capture method does see the payload.
    const plain = await Graph.open({ transport: "tcp", insecure: true });
    cleanup.push(() => plain.close());
    const p = await plain.node("p");
    p.provide("echo", (x: unknown) => x);
    const plainRelay = await capturingRelay(p.endpoint);
    cleanup.push(() => plainRelay.close());
    expect(await rawCall(plainRelay.endpoint, [1, 1, "echo", marker], undefined, 5000)).toEqual([
      2,
      1,
      0,
      marker,
    ]);
    expect(plainRelay.bytes().includes(marker)).toBe(true);
    // With CURVE: the same call through the same kind of relay, and no trace of the payload.
    const { keys, a } = await securedGraph();
    const relay = await capturingRelay(a.endpoint);
    cleanup.push(() => relay.close());
    expect(
      await rawCall(relay.endpoint, [1, 1, "echo", marker], { ...keys, serverKey: keys.publicKey }),
    ).toEqual([2, 1, 0, marker]);
    const captured = relay.bytes();
    expect(captured.length).toBeGreaterThan(200);
    expect(captured.includes(marker)).toBe(false);
    expect(captured.includes("echo")).toBe(false);
  });
});
