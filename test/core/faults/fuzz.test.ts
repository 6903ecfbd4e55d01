import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as zmq from "zeromq";
import { decode, encode, Graph, Node } from "../../../core/index.js";
import { eventually, tempDir } from "../../helpers.js";

/**
 * Property tests: random and malformed frames, multipart shapes, huge sizes,
 * deep nesting and `__proto__` keys sent with raw zeromq.js sockets to every
 * socket a node exposes. The node stays up, answers with a clear error where
 * a reply is possible, counts the rejects, and never turns data into code.
 */
const frame = fc.oneof(
  fc.uint8Array({ maxLength: 64 }).map((b) => Buffer.from(b)),
  fc.jsonValue().map((v) => encode(v)),
  fc.tuple(fc.integer({ min: 0, max: 9 }), fc.anything()).map(([k, v]) => {
    try {
      return encode([k, v]);
    } catch {
      return Buffer.from([k]);
    }
  }),
  fc.constantFrom(
    Buffer.from([0xdd, 0xff, 0xff, 0xff, 0xff]), // array claiming 4 G elements
    Buffer.concat([Buffer.alloc(5000, 0x91), Buffer.from([0xc0])]), // 5 000 levels deep
    Buffer.concat([
      Buffer.from([0x94, 0x01, 0x05, 0xa4]),
      Buffer.from("echo"),
      Buffer.from([0x81, 0xa9]),
      Buffer.from("__proto__"),
      Buffer.from([0x81, 0xa1, 0x78, 0xc3]),
    ]),
    Buffer.alloc(200_000, 0x41), // large garbage
  ),
);
const message = fc.array(frame, { minLength: 1, maxLength: 4 });

/**
 * Whether `frames`, sent after a topic frame, form a well-formed topic batch
 * (`[publisherId, firstSeq, ...messages]` in one frame): what any publisher
 * may send, so its messages are delivered and are not garbage.
 */
function isTopicBatch(frames: Buffer[]): boolean {
  if (frames.length !== 1) return false;
  try {
    const batch = decode(frames[0]!);
    return Array.isArray(batch) && typeof batch[0] === "string" && typeof batch[1] === "number";
  } catch {
    return false;
  }
}

describe("fuzzing every socket of a node", () => {
  let graph: Graph;
  let target: Node;
  let caller: Node;
  beforeAll(async () => {
    graph = await Graph.open({ transport: "ipc", heartbeatMs: 200 });
    target = await graph.node("target", { maxMessageSize: 64 * 1024 });
    target.provide("echo", (x: unknown) => x);
    target.advertise("t");
    await target.synced();
    caller = await graph.node("caller");
  });
  afterAll(async () => {
    await graph.close();
  });

  async function alive(): Promise<void> {
    expect(await caller.call("echo", { still: "up" }, { timeoutMs: 5000 })).toEqual({ still: "up" });
    expect(({} as Record<string, unknown>).x).toBeUndefined(); // nothing polluted Object.prototype
  }

  it("fuzz – random messages to the service socket: every one answered with an error or a reply, node keeps serving", async () => {
    const dealer = new zmq.Dealer({ linger: 0, receiveTimeout: 3000 });
    dealer.connect(target.endpoint);
    try {
      await fc.assert(
        fc.asyncProperty(message, async (frames) => {
          const before = target.rejects.malformed + target.rejects.oversized;
          await dealer.send(frames);
          const [reply] = await dealer.receive();
          const [kind] = decode(reply!) as [number];
          // 2 = a reply (the random bytes happened to be a valid call), 6 = a clear error.
          expect([2, 6]).toContain(kind);
          if (kind === 6) expect(target.rejects.malformed + target.rejects.oversized).toBe(before + 1);
        }),
        { numRuns: 150 },
      );
    } finally {
      dealer.close();
    }
    await alive();
  });

  it("fuzz – random messages to the topic socket (XPUB) are counted, never crash it", async () => {
    const xsub = new zmq.XSubscriber({ linger: 0 });
    xsub.connect(target.pubEndpoint);
    const before = target.rejects.malformed;
    try {
      await fc.assert(
        fc.asyncProperty(message, async (frames) => {
          await xsub.send(frames);
        }),
        { numRuns: 150 },
      );
      // libzmq passes some of these on (non-subscription messages, repeated unsubscriptions); each one
      // that reaches the node and is not a subscription it can account for is counted.
      await xsub.send(Buffer.from([0x07, 0x61]));
      await eventually(() => target.rejects.malformed > before, "the XPUB rejects to be counted");
    } finally {
      xsub.close();
    }
    await alive();
  });

  it("fuzz – random frames from a rogue publisher are counted, never delivered as messages", async () => {
    const listener = await graph.node("listener");
    const sub = listener.subscribe("t");
    const dir = tempDir();
    const rogue = new zmq.Publisher({ linger: 0 });
    const registrar = new zmq.Dealer({ routingId: "rogue#1", linger: 0, receiveTimeout: 3000 });
    try {
      await rogue.bind(`ipc://${dir.dir}/rogue.sock`);
      // Register a "node" whose topic socket is the rogue PUB, speaking the directory protocol by hand.
      registrar.connect(graph.directory);
      const record = {
        id: "rogue#1",
        name: "rogue",
        host: "remote",
        pid: 1,
        hostname: "nowhere",
        endpoint: `ipc://${dir.dir}/none.sock`,
        pubEndpoint: `ipc://${dir.dir}/rogue.sock`,
        services: [],
        topics: ["t"],
        queues: [],
        fronts: [],
        startedAt: Date.now(),
      };
      await registrar.send(
        encode([1, 1, "zmp.directory.register", { record, token: "rogue-token-of-sixteen+" }]),
      );
      let reply: unknown[];
      do [reply] = [decode((await registrar.receive())[0]!) as unknown[]];
      while (reply[0] !== 2); // the directory's change notifications come first
      expect(reply[2]).toBe(0);
      await eventually(
        () => listener.nodes().some((n) => n.name === "rogue"),
        "the listener to learn of the rogue",
      );
      const before = listener.rejects.malformed;
      let sent = 0;
      // Keep sending until the listener's SUB connection is up and has seen some garbage.
      await eventually(
        async () => {
          await fc.assert(
            // Random JSON can form a valid batch (`["x", 0, 1]`): that is data, not garbage.
            fc.asyncProperty(
              fc.array(frame, { minLength: 1, maxLength: 3 }).filter((frames) => !isTopicBatch(frames)),
              async (frames) => {
                await rogue.send([Buffer.from("t"), ...frames]);
                sent++;
              },
            ),
            { numRuns: 20 },
          );
          return listener.rejects.malformed > before;
        },
        "garbage to reach the listener",
        { timeoutMs: 20_000 },
      );
      expect(sent).toBeGreaterThan(0);
      expect(sub.buffered).toBe(0);
      expect(listener.stats().subscribed.t?.messagesIn ?? 0).toBe(0);
    } finally {
      registrar.close();
      rogue.close();
      sub.close();
      dir.remove();
    }
    await alive();
  });

  it("fuzz – a node whose directory answers garbage keeps trying, counts it, and starts when a real answer comes", async () => {
    const dir = tempDir();
    const fakeDirectory = new zmq.Router({ linger: 0 });
    await fakeDirectory.bind(`ipc://${dir.dir}/fake.sock`);
    const node = new Node({
      name: "gullible",
      directory: `ipc://${dir.dir}/fake.sock`,
      startTimeoutMs: 10_000,
    });
    const starting = node.start();
    try {
      const [identity, request] = await fakeDirectory.receive();
      const [, corr] = decode(request!) as [number, number];
      for (const junk of [
        Buffer.from([0xc1]),
        encode([2]),
        encode([2, corr]),
        encode([99, 1, 2, 3]),
        encode("x"),
      ]) {
        await fakeDirectory.send([identity!, junk]);
      }
      await fakeDirectory.send([
        identity!,
        encode([2, corr, 0, { version: 1, nodes: [], heartbeatMs: 1000 }]),
      ]);
      await starting;
      expect(node.state).toBe("running");
      expect(node.rejects.malformed).toBeGreaterThanOrEqual(3);
    } finally {
      await node.stop();
      fakeDirectory.close();
      dir.remove();
    }
  });
});
