/**
 * What an error tells a remote caller. A stack trace names the files, lines
 * and folders of the side that threw: on tcp (anyone the credential lets in,
 * or anyone at all with `insecure`), ERROR replies carry the error's name,
 * message and code, never its stack, unless the graph opts in with
 * `remoteStacks: true`. A graph on ipc (this user's processes only) keeps
 * them, as does anything thrown on the caller's own side.
 */
import { describe, expect, it } from "vitest";
import { decode, encode, Graph, RemoteError } from "../../core/index.js";
import { cleanupAfterEach, rejection } from "../helpers.js";
import { HEARTBEAT_MS, RawCaller, rawDealer, receiveWithin } from "./attack.js";

/** The text of a reply's value, to look for paths and stack lines in. */
const text = (value: unknown) => JSON.stringify(value);
const STACK_LINE = /\n\s+at |\.ts:\d+|\.js:\d+/;

describe("security – error replies", () => {
  const cleanup = cleanupAfterEach();

  async function tcpGraph(remoteStacks?: boolean): Promise<Graph> {
    const graph = await Graph.open({
      transport: "tcp",
      heartbeatMs: HEARTBEAT_MS,
      ...(remoteStacks === undefined ? {} : { nodeDefaults: { remoteStacks } }),
    });
    cleanup.push(() => graph.close());
    return graph;
  }

  it("errors – on tcp a throwing handler's ERROR reply names the error but carries no stack or file path", async () => {
    const graph = await tcpGraph();
    const provider = await graph.node("provider");
    provider.provide("boom", () => {
      throw new TypeError("bad input");
    });
    await provider.synced();
    // A raw socket (a member of the graph, as any process of this user is) reads the reply as sent.
    const raw = new RawCaller(provider.endpoint);
    cleanup.push(() => raw.close());
    const [status, value] = (await raw.call("boom", null))!;
    expect(status).toBe(1);
    expect(value).toMatchObject({ name: "TypeError", message: "bad input" });
    expect((value as { stack?: unknown }).stack).toBeUndefined();
    expect(text(value)).not.toMatch(STACK_LINE);
    // A zmp caller gets a RemoteError without the provider's stack; its own stack points at itself.
    const caller = await graph.node("caller");
    const error = (await rejection(caller.call("boom", null))) as RemoteError;
    expect(error).toBeInstanceOf(RemoteError);
    expect(error.remoteName).toBe("TypeError");
    expect(error.remoteStack).toBeUndefined();
    expect(error.stack).toContain("errors.test.ts");
  });

  it("errors – on tcp a malformed frame and a refused directory request are answered without a stack", async () => {
    const graph = await tcpGraph();
    const node = await graph.node("target");
    await node.synced();
    // A frame that is not MessagePack: answered with ERROR [6, error], counted.
    const dealer = rawDealer(node.endpoint);
    cleanup.push(() => dealer.close());
    await dealer.send(Buffer.from([0xc1, 0xc1, 0xc1]));
    const frames = await receiveWithin(dealer, 2000);
    expect(frames, "an ERROR frame").toBeDefined();
    const body = decode(frames!.at(-1)!) as [number, unknown];
    expect(body[0]).toBe(6);
    expect((body[1] as { stack?: unknown }).stack).toBeUndefined();
    expect(text(body[1])).not.toMatch(STACK_LINE);
    expect(node.stats().rejects.malformed).toBeGreaterThan(0);
    // The directory refusing a malformed registration.
    const raw = new RawCaller(graph.directory);
    cleanup.push(() => raw.close());
    const [status, value] = (await raw.call("zmp.directory.register", { record: 42 }))!;
    expect(status).toBe(1);
    expect((value as { stack?: unknown }).stack).toBeUndefined();
    expect(text(value)).not.toMatch(STACK_LINE);
    // And a call with a body zmp cannot use (not a frame of any kind).
    await dealer.send(encode([99, "nonsense"]));
    const again = await receiveWithin(dealer, 2000);
    expect(text(decode(again!.at(-1)!))).not.toMatch(STACK_LINE);
  });

  it("errors – remoteStacks: true sends the stack on tcp; a graph on ipc keeps it by default", async () => {
    const ipc = await Graph.open({ heartbeatMs: HEARTBEAT_MS });
    cleanup.push(() => ipc.close());
    for (const graph of [await tcpGraph(true), ipc]) {
      const provider = await graph.node("provider");
      provider.provide("boom", function throwsHere() {
        throw new TypeError("bad input");
      });
      const caller = await graph.node("caller");
      await caller.waitFor("boom");
      const error = (await rejection(caller.call("boom", null))) as RemoteError;
      expect(error.remoteStack, graph.directory).toMatch(/throwsHere .*errors\.test\.ts:\d+/);
    }
  });
});
