/**
 * Limits a peer meets at the directory and in the allow file. One
 * connection may register and update only so fast (`limits.updatesPerSecond`,
 * `limits.updateBurst`): a connection flooding registrations is refused past
 * its budget with `LimitError`, counted, while other connections and honest
 * nodes join as usual. And the allow file reads every key ZeroMQ can make —
 * Z85 has `#`, `$`, `%` and other punctuation — without taking any of them for
 * a comment.
 */
import { describe, expect, it } from "vitest";
import * as zmq from "zeromq";
import {
  decode,
  encode,
  Graph,
  keyPair,
  Node,
  type SecurityOptions,
  TimeoutError,
} from "../../core/index.js";
import { parseAllowFile } from "../../core/policy.js";
import { MAX_STREAMS, TopicSubscriber } from "../../core/topic.js";
import { cleanupAfterEach, rejection, tempDir } from "../helpers.js";
import { fakeRecord, HEARTBEAT_MS, RawCaller, receiveWithin, registration, tcpGraph } from "./attack.js";

describe("security – directory rate cap", () => {
  const cleanup = cleanupAfterEach();

  it("limits – one connection registering faster than updatesPerSecond is refused past its burst, counted; others join", async () => {
    // The defaults a user gets: 20 per second sustained, 40 at once.
    const graph = await tcpGraph(cleanup);
    const directory = graph.embeddedDirectory!;
    const flooder = new RawCaller(graph.directory, { routingId: "flooder#r1" });
    cleanup.push(() => flooder.close());
    // A connection registers only its own record (the id it announces); its budget is spent
    // on that registration and the updates after it.
    const id = "flooder#r1";
    const token = "flooder-token-0123456789";
    const record = (services: string[]) => fakeRecord(id, "flooder", "tcp://127.0.0.1:9", { services });
    const first = await flooder.call(
      "zmp.directory.register",
      registration(graph.directory, id, record([]), token),
    );
    expect(first?.[0]).toBe(0);
    const n = 200;
    const started = Date.now();
    // Pipelined: every update sent before any reply is read (each changes the record).
    for (let i = 0; i < n; i++)
      await flooder.socket.send(
        encode([1, 1000 + i, "zmp.directory.update", { record: record([`s${i}`]), token }]),
      );
    const replies = new Map<number, [number, unknown]>();
    const deadline = Date.now() + 10_000;
    while (replies.size < n && Date.now() < deadline) {
      const frames = await receiveWithin(flooder.socket, deadline - Date.now());
      if (frames === undefined) break;
      const body = decode(frames.at(-1)!) as unknown[];
      if (body[0] !== 2) continue;
      for (let k = 1; k + 2 < body.length; k += 3) {
        const corr = body[k] as number;
        if (corr >= 1000) replies.set(corr, [body[k + 1] as number, body[k + 2]]);
      }
    }
    const elapsedS = (Date.now() - started) / 1000;
    expect(replies.size).toBe(n);
    const accepted = [...replies.values()].filter(([status]) => status === 0).length;
    const limited = [...replies.values()].filter(
      ([status, value]) => status === 1 && (value as { code?: string }).code === "LIMIT",
    );
    // A token bucket: the burst (less the registration), then the rate while the updates lasted.
    expect(accepted).toBeGreaterThanOrEqual(39);
    expect(accepted).toBeLessThanOrEqual(39 + Math.ceil(20 * elapsedS));
    expect(accepted + limited.length).toBe(n);
    expect((limited[0]![1] as { message: string }).message).toMatch(/limits\.updatesPerSecond/);
    expect(directory.stats().refused.rate).toBe(limited.length);
    // Another connection, and an honest node, are not held back by the flooder's budget.
    const other = new RawCaller(graph.directory, { routingId: "other#r2" });
    cleanup.push(() => other.close());
    const reply = await other.call(
      "zmp.directory.register",
      registration(
        graph.directory,
        "other#r2",
        fakeRecord("other#r2", "other", "tcp://127.0.0.1:9"),
        "other-token-0123456789",
      ),
    );
    expect(reply?.[0]).toBe(0);
    const honest = await graph.node("honest");
    honest.provide("echo", (x: unknown) => x);
    const caller = await graph.node("caller");
    await caller.waitFor("echo");
    expect(await caller.call("echo", 1)).toBe(1);
  });
});

describe("security – allow file", () => {
  it("allow file – every Z85 key is read, `#` and every other punctuation Z85 uses; comments are never taken for keys", () => {
    const keys = Array.from({ length: 300 }, () => keyPair().publicKey);
    // About a third of keys hold `#`; all of Z85's punctuation shows up in 300.
    expect(keys.filter((k) => k.includes("#")).length).toBeGreaterThan(50);
    for (const c of ["#", "$", "%", "&", "*", "?", "/"])
      expect(
        keys.some((k) => k.includes(c)),
        c,
      ).toBe(true);
    const lines: string[] = ["# the graph's keys", ""];
    for (const [i, key] of keys.entries()) {
      if (i % 3 === 0) lines.push(key);
      else if (i % 3 === 1)
        lines.push(`  ${key}\tname=worker-*,w-${i} pull=jobs provide=- publish=- front=-  # worker ${i}`);
      else lines.push(`${key} control # operator`);
    }
    // A comment that is 40 Z85 characters long, starting with `#`: no key can start so.
    lines.push(`#${keys[0]!.slice(1)}`);
    lines.push("#comment-with-no-space control");
    const entries = parseAllowFile(lines.join("\n"), "allowed");
    expect(entries.map((e) => e.key)).toEqual(keys);
    expect(entries[1]).toEqual({
      key: keys[1],
      name: ["worker-*", "w-1"],
      pull: ["jobs"],
      provide: [],
      publish: [],
      front: [],
    });
    expect(entries[2]).toEqual({ key: keys[2], control: true });
    // A line that is neither a key nor a comment names its line.
    expect(() => parseAllowFile(`${keys[0]!.slice(0, 39)}\n`, "allowed")).toThrow(/line 1 of allowed/);
  });

  it("allow file – a node whose key holds `#` joins a graph whose allow list came from a file; one not in it is refused", async () => {
    let withHash = keyPair();
    while (!withHash.publicKey.includes("#") || !withHash.secretKey.includes("#")) withHash = keyPair();
    const graphKeys = keyPair();
    const allow = parseAllowFile(
      `${graphKeys.publicKey}\n${withHash.publicKey} name=hash-*  # its key holds #\n`,
      "allowed",
    );
    const graph = await Graph.open({
      transport: "tcp",
      heartbeatMs: HEARTBEAT_MS,
      security: { ...graphKeys, allow },
    });
    const nodes: Node[] = [];
    try {
      const security: SecurityOptions = { ...withHash, directoryKey: graphKeys.publicKey };
      const node = new Node({ name: "hash-1", directory: graph.directory, security, startTimeoutMs: 3000 });
      nodes.push(node);
      await node.start();
      expect((await graph.nodes()).map((r) => r.publicKey)).toContain(withHash.publicKey);
      const stranger = new Node({
        name: "hash-2",
        directory: graph.directory,
        security: { ...keyPair(), directoryKey: graphKeys.publicKey },
        startTimeoutMs: 1500,
      });
      nodes.push(stranger);
      await expect(stranger.start()).rejects.toThrow();
    } finally {
      for (const n of nodes) await n.stop();
      await graph.close();
    }
  });
});

describe("security – subscriber state", () => {
  it("limits – a subscriber keeps at most MAX_STREAMS sequence streams, whatever publisher ids and topics batches name", () => {
    // A publisher a subscriber is connected to writes the publisher id and the topic of its
    // batches itself: one that names a fresh id in every batch must not grow the subscriber.
    const subscriber = new TopicSubscriber();
    const n = MAX_STREAMS + 50_000;
    for (let i = 0; i < n; i++) subscriber.onBatch(`sensor/${i % 97}`, [`forged#${i}`, 0, i], 16);
    expect(subscriber.streams).toBeLessThanOrEqual(MAX_STREAMS);
    expect(subscriber.streams + subscriber.forgotten).toBe(n);
    // An honest stream still counts its gaps and skips what it already had.
    const seen: unknown[] = [];
    const lost: number[] = [];
    subscriber.subscriptions.add({
      prefix: "temp/",
      meter: undefined,
      _deliver: (_t: string, m: unknown) => seen.push(m),
      _lost: (k: number) => lost.push(k),
    } as never);
    subscriber.onBatch("temp/a", ["honest#1", 0, "a", "b"], 16);
    subscriber.onBatch("temp/a", ["honest#1", 1, "b", "c"], 16);
    subscriber.onBatch("temp/a", ["honest#1", 5, "f"], 16);
    expect(seen).toEqual(["a", "b", "c", "f"]);
    expect(lost).toEqual([2]);
  });
});

describe("security – start timeout", () => {
  it("limits – a directory that does not answer, or stops after the first page, fails a start naming startTimeoutMs", async () => {
    // A raw ROUTER posing as a directory: silent, or answering the registration with a first
    // page that says more follow, then silent.
    const temp = tempDir();
    const router = new zmq.Router({ linger: 0 });
    const nodes: Node[] = [];
    try {
      const endpoint = `ipc://${temp.dir}/directory`;
      await router.bind(endpoint);
      let answer = false;
      const serve = (async () => {
        for await (const [id, body] of router) {
          const [, corr, service] = decode(body!) as [number, number, string];
          if (answer && service === "zmp.directory.register")
            await router.send([
              id!,
              encode([2, corr, 0, { version: 1, nodes: [], next: 1, heartbeatMs: 1000 }]),
            ]);
        }
      })().catch(() => undefined);
      for (const pages of [false, true]) {
        answer = pages;
        const node = new Node({ name: "patient", directory: endpoint, startTimeoutMs: 300 });
        nodes.push(node);
        const error = await rejection(node.start());
        expect(error, String(error)).toBeInstanceOf(TimeoutError);
        expect(error.message).toMatch(
          /^cannot start node `patient`: the directory at ipc:.* did not answer within 300 ms \(`startTimeoutMs`\)$/,
        );
      }
      router.close();
      await serve;
    } finally {
      for (const n of nodes) await n.stop();
      router.close();
      temp.remove();
    }
  });
});
