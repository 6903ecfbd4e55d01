/**
 * Replaying an operator's steering call. A steering call carries the
 * caller's key and a proof (key-proof.ts) over the callee's instance id,
 * the service and the call's correlation id, under a key only the caller's
 * and the callee's key holders can compute. The only other party that ever
 * reads one is the node it was sent to; here that node is hostile: it holds
 * an allowed key without `control`, fronts the victim's control service so
 * the operator's call comes to it (as a relaying proxy would), and replays
 * what it received to the victim — as is, with another request, and under
 * the operator's routing id. Each is refused with FORBIDDEN, counted, and
 * the victim's handler never runs.
 */
import { describe, expect, it } from "vitest";
import * as zmq from "zeromq";
import { decode, encode, Graph, keyPair, type Node } from "../../core/index.js";
import { prove } from "../../core/key-proof.js";
import { cleanupAfterEach, eventually, rejection } from "../helpers.js";
import { type CurveClient, fakeRecord, memberNode, RawCaller, receiveWithin } from "./attack.js";

describe("security – steering replay", () => {
  const cleanup = cleanupAfterEach();

  it("replay – a node that receives an operator's steering call cannot replay it to another node", async () => {
    const graphKeys = keyPair();
    const victimKeys = keyPair();
    const operatorKeys = keyPair();
    const intruderKeys = keyPair();
    const graph = await Graph.open({
      transport: "tcp",
      heartbeatMs: 200,
      security: {
        ...graphKeys,
        allow: [
          graphKeys.publicKey,
          victimKeys.publicKey,
          intruderKeys.publicKey, // may register anything, may not steer
          { key: operatorKeys.publicKey, control: true },
        ],
      },
    });
    cleanup.push(() => graph.close());
    const member = (name: string, keys: { publicKey: string; secretKey: string }): Node =>
      memberNode(cleanup, graph, graphKeys.publicKey, name, keys);
    const victim = member("victim", victimKeys);
    const ran: unknown[] = [];
    victim.provide("victim.control", (request) => {
      ran.push(request);
      return { ok: true };
    });
    await victim.start();
    const operator = member("operator", operatorKeys);
    await operator.start();
    // The operator may steer the victim (the baseline the replays are measured against).
    expect(await operator.call("victim.control", { op: "stats" })).toEqual({ ok: true });
    expect(ran).toEqual([{ op: "stats" }]);
    ran.length = 0;

    // The intruder: a raw ROUTER, a CURVE server with its own allowed key, registered as
    // fronting `victim.control`, so the operator's next steering call is sent to it.
    const curve: CurveClient = { ...intruderKeys, serverKey: graphKeys.publicKey };
    const router = new zmq.Router({ linger: 0, routingId: "intruder#i1" });
    router.curveServer = true;
    router.curvePublicKey = intruderKeys.publicKey;
    router.curveSecretKey = intruderKeys.secretKey;
    cleanup.push(() => router.close());
    await router.bind("tcp://127.0.0.1:*");
    const registrar = new RawCaller(graph.directory, { routingId: "intruder#i1", curve });
    cleanup.push(() => registrar.close());
    const token = "intruder-token-0123456789";
    const registered = await registrar.call("zmp.directory.register", {
      record: fakeRecord("intruder#i1", "intruder", router.lastEndpoint!, {
        publicKey: intruderKeys.publicKey,
        fronts: [{ kind: "service", name: "victim.control" }],
      }),
      token,
      proof: prove(intruderKeys, graphKeys.publicKey, ["zmp register", "intruder#i1", token]),
    });
    expect(registered?.[0]).toBe(0);
    await eventually(
      () => operator.nodes().some((n) => n.id === "intruder#i1"),
      "the operator to list the intruder",
    );
    const lured = rejection(operator.call("victim.control", { op: "stats" }, { timeoutMs: 3000 }));
    const received = (await receiveWithin(router, 3000))!;
    expect(received, "the operator's call, lured to the intruder").toBeDefined();
    const [operatorRoutingId, body] = received;
    const frame = decode(body!) as unknown[];
    expect(frame[0]).toBe(8); // AUTH CALL: [8, corr, service, request, key, proof]
    expect(frame[4]).toBe(operatorKeys.publicKey);
    await lured;

    // The replays, each from a connection holding the intruder's (allowed) key.
    const attempts: { frame: unknown[] }[] = [
      { frame }, // as received
      { frame: [8, frame[1], frame[2], { op: "stop" }, frame[4], frame[5]] }, // another request
      { frame: [8, Number(frame[1]) + 1, frame[2], frame[3], frame[4], frame[5]] }, // another corr
    ];
    const atVictim: CurveClient = { ...intruderKeys, serverKey: victimKeys.publicKey };
    const refusedBefore = victim.stats().rejects.forbidden;
    for (const [i, attempt] of attempts.entries()) {
      const raw = new RawCaller(victim.endpoint, { curve: atVictim });
      cleanup.push(() => raw.close());
      await raw.socket.send(encode(attempt.frame));
      const reply = await receiveWithin(raw.socket, 2000);
      expect(reply, `replay ${i}: an answer`).toBeDefined();
      const answer = decode(reply!.at(-1)!) as unknown[];
      expect(answer.slice(0, 3), `replay ${i}`).toEqual([2, attempt.frame[1], 1]);
      expect((answer[3] as { code?: string }).code, `replay ${i}`).toBe("FORBIDDEN");
      expect((answer[3] as { message?: string }).message, `replay ${i}`).toMatch(/proof does not match/);
      raw.close();
    }
    expect(victim.stats().rejects.forbidden - refusedBefore).toBe(attempts.length);
    // Under the operator's routing id: libzmq refuses a second connection claiming a live id
    // (no handover), so the frame is not even read.
    const posing = new RawCaller(victim.endpoint, {
      curve: atVictim,
      routingId: operatorRoutingId!.toString(),
    });
    cleanup.push(() => posing.close());
    await posing.socket.send(encode(frame));
    const answer = await receiveWithin(posing.socket, 1000);
    if (answer !== undefined) expect((decode(answer.at(-1)!) as unknown[])[2]).toBe(1);
    expect(ran).toEqual([]);
  });
});
