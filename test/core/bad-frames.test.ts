import { afterEach, beforeEach, describe, expect, it } from "vitest";
import * as zmq from "zeromq";
import { decode, encode, Graph, type Node, ProtocolError, RemoteError } from "../../core/index.js";

/**
 * Bad input sent with a raw zeromq.js DEALER straight at a node's ROUTER
 * endpoint: the node answers with an ERROR frame where it can, counts the
 * reject, and keeps serving.
 */
describe("bad frames", () => {
  let graph: Graph;
  let node: Node;
  let raw: zmq.Dealer;

  beforeEach(async () => {
    graph = await Graph.open({ transport: "ipc" });
    node = await graph.node("target", { maxMessageSize: 4096 });
    node.provide("echo", (x: unknown) => x);
    node.provide("keys", (x: Record<string, unknown>) => Object.keys(x));
    await node.synced();
    raw = new zmq.Dealer({ routingId: "raw-client", linger: 0, receiveTimeout: 2000 });
    raw.connect(node.endpoint);
  });

  afterEach(async () => {
    raw.close();
    await graph.close();
  });

  const ask = async (frames: Buffer | Buffer[]): Promise<unknown[]> => {
    await raw.send(frames);
    const reply = await raw.receive();
    expect(reply).toHaveLength(1);
    return decode(reply[0]!) as unknown[];
  };

  it("bad frames – garbage bytes get a clear ERROR frame and the node keeps serving", async () => {
    const before = node.rejects.malformed;
    const [kind, error] = await ask(Buffer.from([0xc1, 0xff, 0x00]));
    expect(kind).toBe(6);
    expect((error as { name: string; message: string }).name).toBe("CodecError");
    expect((error as { message: string }).message).toMatch(/not valid MessagePack/);
    expect(node.rejects.malformed).toBe(before + 1);
    const caller = await graph.node("caller");
    expect(await caller.call("echo", "still here")).toBe("still here");
  });

  it("bad frames – a message of several frames is refused", async () => {
    const [kind, error] = await ask([encode([1, 1, "echo", 1]), Buffer.from("extra")]);
    expect(kind).toBe(6);
    expect((error as { message: string }).message).toMatch(/2 frames, expected 1/);
  });

  it("bad frames – wrong shapes inside a CALL frame are refused", async () => {
    for (const body of [
      [1, "not-a-number", "echo", 1],
      [1, 1, 2, 3],
      [1, 1, "echo"],
      [99, 1],
      "not an array",
      {},
    ]) {
      const [kind, error] = await ask(encode(body));
      expect(kind).toBe(6);
      expect((error as { name: string }).name).toBe("CodecError");
    }
  });

  it("bad frames – a well-formed raw CALL gets a well-formed REPLY (the wire format is as documented)", async () => {
    const reply = await ask(encode([1, 7, "echo", { hello: "world" }, 8, "nope", null]));
    expect(reply).toEqual([
      2,
      7,
      0,
      { hello: "world" },
      8,
      1,
      { name: "UnknownServiceError", message: "this node does not provide `nope`", code: "UNKNOWN_SERVICE" },
    ]);
  });

  it("bad frames – an oversized frame is refused with a clear error naming maxMessageSize", async () => {
    const before = node.rejects.oversized;
    const [kind, error] = await ask(encode([1, 1, "echo", "x".repeat(300_000)]));
    expect(kind).toBe(6);
    expect((error as { message: string }).message).toMatch(
      /exceeds the limit .* \(maxMessageSize 4096 plus one batch\)/,
    );
    expect(node.rejects.oversized).toBe(before + 1);
  });

  it("bad frames – maxMessageSize is enforced before sending, on requests and on replies", async () => {
    const caller = await graph.node("small", { maxMessageSize: 100 });
    const tooBig = await caller.call("echo", "y".repeat(200)).catch((e: Error) => e);
    expect(tooBig).toBeInstanceOf(ProtocolError);
    expect((tooBig as Error).message).toMatch(/request of \d+ bytes exceeds maxMessageSize 100/);
    node.provide("big", () => "z".repeat(5000));
    await node.synced();
    const reply = (await caller.call("big").catch((e: Error) => e)) as RemoteError;
    expect(reply).toBeInstanceOf(RemoteError);
    expect(reply.remoteName).toBe("ProtocolError");
    expect(reply.message).toMatch(/reply of \d+ bytes exceeds maxMessageSize 4096/);
    expect(await caller.call("echo", "ok")).toBe("ok");
  });

  it("bad frames – __proto__ in a request is data: the handler sees an own key, nothing is polluted", async () => {
    const frame = Buffer.concat([
      Buffer.from([0x94, 0x01, 0x05, 0xa4]),
      Buffer.from("keys"),
      Buffer.from([0x81, 0xa9]),
      Buffer.from("__proto__"),
      Buffer.from([0x81, 0xa5]),
      Buffer.from("admin"),
      Buffer.from([0xc3]),
    ]);
    const reply = await ask(frame);
    expect(reply).toEqual([2, 5, 0, ["__proto__"]]);
    expect(({} as { admin?: boolean }).admin).toBeUndefined();
  });
});
