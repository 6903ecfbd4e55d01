import { afterEach, beforeEach, describe, expect, it } from "vitest";
import * as zmq from "zeromq";
import { Encoded } from "../../core/codec.js";
import {
  ClosedError,
  CodecError,
  decode,
  encode,
  Graph,
  type Node,
  TimeoutError,
  type Transport,
} from "../../core/index.js";
import { eventually } from "../helpers.js";

/**
 * The forwarding path a queue proxy uses: a reader that hands over messages
 * encoded (checked, not decoded), a push with an acknowledgement callback
 * instead of a promise, and a handler that defers its acknowledgement.
 */
const transports: Transport[] = ["inproc", "ipc", "tcp"];

/** One message of every type the codec carries. */
const kinds: unknown[] = [
  null,
  true,
  0,
  -1,
  2 ** 40,
  1.5,
  Number.NaN,
  "",
  "héllo ✓",
  "x".repeat(300),
  Buffer.from([0, 1, 255]),
  Buffer.alloc(70_000, 7),
  new Date(1_700_000_000_123),
  [1, [2, [3]]],
  { a: { b: [null, "c"] }, ["__proto__"]: { polluted: true } },
];

/** An outcome recorder for onAck: every call, in order. */
function acks(): { calls: (Error | undefined)[]; onAck: (error?: Error) => void } {
  const calls: (Error | undefined)[] = [];
  return { calls, onAck: (error) => calls.push(error) };
}

describe.each(transports)("queue forwarding over %s", (transport) => {
  let graph: Graph;
  beforeEach(async () => {
    graph = await Graph.open({ transport, heartbeatMs: 200, nodeDefaults: { drainTimeoutMs: 300 } });
  });
  afterEach(async () => {
    await graph.close();
  });

  it("queue – an encoded reader hands over Encoded messages that push on unchanged", async () => {
    const received: unknown[] = [];
    const worker = await graph.node("worker");
    worker.consume("out", (m) => {
      received.push(m);
    });
    const forwarder = await graph.node("forwarder");
    const seen: Encoded[] = [];
    forwarder.consume(
      "in",
      (m: Encoded, context) => {
        seen.push(m);
        void forwarder.push("out", m, { onAck: context.defer() });
      },
      { encoded: true },
    );
    await worker.synced();
    await forwarder.synced();
    const producer = await graph.node("producer");
    await Promise.all(kinds.map((m) => producer.push("in", m, { confirm: true })));
    expect(seen.every((m) => m instanceof Encoded)).toBe(true);
    expect(seen.map((m) => m.decode())).toEqual(kinds);
    expect(received).toEqual(kinds);
    expect(Object.getPrototypeOf(received.at(-1))).toBe(Object.prototype);
    // Bytes are metered as they travel: what the producer sent is what the forwarder sent on.
    const stats = forwarder.stats();
    expect(stats.pushed.out?.bytesOut).toBe(producer.stats().pushed.in?.bytesOut);
    expect(stats.pulled.in).toMatchObject({ messagesIn: kinds.length, backlog: 0 });
    expect(worker.rejects.malformed + forwarder.rejects.malformed).toBe(0);
  });
});

describe("queue forwarding", () => {
  let graph: Graph;
  beforeEach(async () => {
    graph = await Graph.open({ heartbeatMs: 200, nodeDefaults: { drainTimeoutMs: 300 } });
  });
  afterEach(async () => {
    await graph.close();
  });

  it("queue – push with onAck: called once when a puller handled the message, after push resolved", async () => {
    const worker = await graph.node("worker");
    const reader = worker.pull<number>("jobs");
    await worker.synced();
    const producer = await graph.node("producer");
    const { calls, onAck } = acks();
    const accepted = await Promise.all([1, 2, 3].map((m) => producer.push("jobs", m, { onAck })));
    expect(accepted).toEqual([undefined, undefined, undefined]);
    const it = reader[Symbol.asyncIterator]();
    expect((await it.next()).value).toBe(1);
    await new Promise((r) => setTimeout(r, 30));
    expect(calls).toEqual([]); // 1 is being handled
    await it.next(); // 1 handled
    await eventually(() => calls.length === 1, "the acknowledgement of 1");
    await it.next();
    await it.return?.(); // 2 and 3 handled
    await eventually(() => calls.length === 3, "every acknowledgement");
    expect(calls).toEqual([undefined, undefined, undefined]);
    expect(producer.stats().pushed.jobs?.backlog).toBe(0);
  });

  it("queue – an onAck callback that throws is warned about; the other callbacks of its frame still run", async () => {
    const worker = await graph.node("worker");
    worker.consume("jobs", () => undefined);
    await worker.synced();
    const producer = await graph.node("producer");
    const warnings: string[] = [];
    const onWarning = (warning: Error): void => {
      warnings.push(warning.message);
    };
    process.on("warning", onWarning);
    try {
      const calls: number[] = [];
      for (let i = 0; i < 10; i++) {
        await producer.push("jobs", i, {
          onAck: () => {
            calls.push(i);
            if (i % 3 === 0) throw new Error(`callback ${i} broke`);
          },
        });
      }
      await eventually(() => calls.length === 10, "every callback called");
      expect([...calls].sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
      await eventually(() => warnings.length === 4, "a warning per throwing callback");
      expect(
        warnings.every((w) => /onAck callback of queue `jobs` threw: Error: callback \d broke/.test(w)),
      ).toBe(true);
      // Not the puller's fault: no frame counted as malformed, and the queue goes on.
      expect(producer.rejects.malformed).toBe(0);
      expect(worker.rejects.malformed).toBe(0);
      expect(producer.stats().pushed.jobs?.backlog).toBe(0);
      const after = acks();
      await producer.push("jobs", 10, { onAck: after.onAck });
      await eventually(() => after.calls.length === 1, "a later acknowledgement");
      expect(after.calls).toEqual([undefined]);
    } finally {
      process.off("warning", onWarning);
    }
  });

  it("queue – push with onAck never rejects: every refusal goes to onAck, once", async () => {
    const worker = await graph.node("worker");
    worker.pull("jobs", { window: 1 }); // nobody reads: one message fills it
    await worker.synced();
    const producer = await graph.node("producer", { pushBuffer: 1 });
    const outcomes: [string, Error | undefined][] = [];
    const push = async (what: string, queue: string, message: unknown, extra = {}): Promise<void> => {
      const { calls, onAck } = acks();
      await producer.push(queue, message, { onAck, ...extra }); // resolves, never rejects
      await eventually(() => calls.length > 0, `the outcome of ${what}`);
      expect(calls).toHaveLength(1);
      outcomes.push([what, calls[0]]);
    };
    await push("cannot encode", "jobs", { f: () => 1 });
    await push("bad name", "no spaces", 1);
    await push("both confirm and onAck", "jobs", 1, { confirm: true });
    const sent = acks();
    await producer.push("jobs", 1, { onAck: sent.onAck }); // under the puller's credit
    const buffered = acks();
    await producer.push("jobs", 2, { onAck: buffered.onAck }); // in the producer's buffer
    await push("no room in time", "jobs", 3, { timeoutMs: 20 });
    expect(outcomes.map(([what, e]) => [what, e?.constructor])).toEqual([
      ["cannot encode", CodecError],
      ["bad name", TypeError],
      ["both confirm and onAck", TypeError],
      ["no room in time", TimeoutError],
    ]);
    // Waiting for room, or accepted and never acknowledged: the stopping node reports it to onAck.
    const waiting = acks();
    const accepted = producer.push("jobs", 4, { onAck: waiting.onAck }); // the buffer is full: waits
    expect([sent.calls, buffered.calls, waiting.calls]).toEqual([[], [], []]);
    await producer.stop();
    await accepted; // resolves: the refusal went to onAck
    for (const { calls } of [sent, buffered, waiting]) {
      expect(calls).toHaveLength(1);
      expect(calls[0]).toBeInstanceOf(ClosedError);
    }
    const late = acks();
    await producer.push("jobs", 5, { onAck: late.onAck });
    expect(late.calls).toHaveLength(1);
    expect(late.calls[0]).toBeInstanceOf(ClosedError);
  });

  it("queue – context.defer(): handled when its callback is called; an error counts as failed", async () => {
    const worker = await graph.node("worker");
    const pending: ((error?: unknown) => void)[] = [];
    const failures: unknown[] = [];
    worker.consume<number>(
      "jobs",
      (_m, context) => {
        pending.push(context.defer());
        return new Promise(() => undefined); // ignored once deferred
      },
      { concurrency: 2, onError: (error, m) => failures.push([m, (error as Error).message]) },
    );
    await worker.synced();
    const producer = await graph.node("producer");
    for (let i = 0; i < 3; i++) await producer.push("jobs", i);
    await eventually(() => pending.length === 2, "two deferred handlers (concurrency 2)");
    expect(producer.stats().pushed.jobs?.backlog).toBe(3);
    pending[0]!();
    pending[0]!(new Error("ignored: only the first call counts"));
    await eventually(() => pending.length === 3, "the third message once one is done");
    pending[1]!(new Error("worker gave up"));
    pending[2]!();
    await eventually(() => producer.stats().pushed.jobs?.backlog === 0, "all three acknowledged");
    expect(failures).toEqual([[1, "worker gave up"]]);
    expect(worker.stats().pulled.jobs).toMatchObject({ messagesOut: 3, errors: 1, backlog: 0 });
  });

  it("queue – context.defer() misused: twice, or after the handler, throws; a throw after it fails the message", async () => {
    const worker = await graph.node("worker");
    const results: unknown[] = [];
    const failures: unknown[] = [];
    let late: (() => void) | undefined;
    let kept: { defer(): unknown } | undefined;
    worker.consume<string>(
      "jobs",
      (m, context) => {
        if (m === "twice") {
          context.defer();
          results.push(capture(() => context.defer()));
          throw new Error("after defer");
        }
        if (m === "keep") kept = context;
        if (m === "late") late = context.defer() as () => void;
        if (m === "late") throw new Error("thrown while deferred");
      },
      { onError: (error, m) => failures.push([m, (error as Error).message]) },
    );
    await worker.synced();
    const producer = await graph.node("producer");
    for (const m of ["twice", "keep", "late"]) await producer.push("jobs", m, { confirm: true });
    expect(results).toEqual(["defer() was already called for this message"]);
    expect(capture(() => kept!.defer())).toBe("defer() must be called while the handler runs");
    late!(); // ignored: the throw already settled it
    expect(failures).toEqual([
      ["twice", "after defer"],
      ["late", "thrown while deferred"],
    ]);
    expect(worker.stats().pulled.jobs).toMatchObject({ messagesOut: 3, errors: 2, backlog: 0 });
  });

  it("queue – pull with encoded: true yields Encoded messages in a for-await loop", async () => {
    const worker = await graph.node("worker");
    const reader = worker.pull<Encoded>("jobs", { encoded: true });
    await worker.synced();
    const producer = await graph.node("producer");
    await producer.push("jobs", { id: 1 });
    await producer.push("jobs", "two");
    const got: unknown[] = [];
    for await (const m of reader) {
      expect(m).toBeInstanceOf(Encoded);
      got.push(m.decode());
      if (got.length === 2) break;
    }
    expect(got).toEqual([{ id: 1 }, "two"]);
    await eventually(() => producer.stats().pushed.jobs?.backlog === 0, "both acknowledged");
  });
});

describe("queue forwarding, bad frames", () => {
  let graph: Graph;
  let node: Node;
  let raw: zmq.Dealer;
  const messages: Encoded[] = [];

  beforeEach(async () => {
    graph = await Graph.open({ transport: "ipc" });
    node = await graph.node("target");
    node.consume("jobs", (m: Encoded) => void messages.push(m), { encoded: true });
    await node.synced();
    raw = new zmq.Dealer({ routingId: "raw-producer", linger: 0, receiveTimeout: 2000 });
    raw.connect(node.endpoint);
  });

  afterEach(async () => {
    raw.close();
    await graph.close();
  });

  it("queue – a malformed message refuses its whole PUSH frame at an encoded reader, as at any reader", async () => {
    const before = node.rejects.malformed;
    // [3, "jobs", 1, 42, <a map whose key is a number>]
    const bad = Buffer.concat([
      encode([3, "jobs", 1, 42]).subarray(0, -1),
      Buffer.from([42, 0x81, 0x01, 0xc0]),
    ]);
    bad[0] = 0x95;
    await raw.send(bad);
    const [reply] = await raw.receive();
    const [kind, error] = decode(reply!) as [number, { name: string; message: string }];
    expect(kind).toBe(6);
    expect(error).toMatchObject({
      name: "CodecError",
      message: expect.stringMatching(/key .* not a string/),
    });
    expect(node.rejects.malformed).toBe(before + 1);
    expect(messages).toEqual([]);
    // A good frame: its messages are handed over encoded, and acknowledged.
    await raw.send(encode([3, "jobs", 1, 42, "x"]));
    const [ack] = await raw.receive();
    expect(decode(ack!)).toEqual([4, "jobs", 1000, 2, false]);
    expect(messages.map((m) => m.decode())).toEqual([42, "x"]);
  });
});

function capture(f: () => unknown): unknown {
  try {
    return f();
  } catch (error) {
    return (error as Error).message;
  }
}
