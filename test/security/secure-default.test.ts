/**
 * A graph on tcp is secured by default. Without a word of configuration,
 * its directory and nodes take the per-user credential (a CurveZMQ key pair
 * in a 0700 folder of the user's), so another process of the same user
 * joins and any other is refused at the handshake — before zmp reads a
 * single frame of it. `insecure: true` runs without, says so, and stays on
 * loopback unless told `"network"`.
 */
import { chmodSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import * as zmq from "zeromq";
import { credentialDir, credentialFile, forgetUserKeys, userKeys } from "../../core/credential.js";
import { Directory, Graph, keyPair, Node, SecurityError } from "../../core/index.js";
import { cleanupAfterEach, eventually, rejection, startScript } from "../helpers.js";
import { RawCaller, receiveWithin, tcpGraph } from "./attack.js";

describe("security – secure by default", () => {
  const cleanup = cleanupAfterEach();

  it("secure default – a tcp graph refuses a process without this user's key: no registration, call or subscription", async () => {
    const graph = await tcpGraph(cleanup);
    const a = await graph.node("a");
    a.provide("echo", (x: unknown) => x);
    await a.synced();
    expect((await graph.nodes()).every((n) => n.publicKey === userKeys().publicKey)).toBe(true);
    const stranger = keyPair();
    // A node of another user (its own credential) and a node with no credential at all.
    for (const options of [
      { security: { ...stranger, directoryKey: userKeys().publicKey } },
      { insecure: true as const },
    ]) {
      const intruder = new Node({
        name: "intruder",
        directory: graph.directory,
        startTimeoutMs: 1500,
        ...options,
      });
      const error = await rejection(intruder.start());
      expect(error).toBeInstanceOf(SecurityError);
    }
    expect((await graph.nodes()).map((n) => n.name)).not.toContain("intruder");
    // Raw sockets straight at the node: with the stranger's key, and in plain text.
    for (const curve of [{ ...stranger, serverKey: userKeys().publicKey }, null]) {
      const raw = new RawCaller(a.endpoint, { curve });
      cleanup.push(() => raw.close());
      expect(await raw.call("echo", "x", 500)).toBeUndefined();
    }
    const spy = new zmq.Subscriber({ linger: 0 });
    cleanup.push(() => spy.close());
    spy.subscribe("");
    spy.connect(a.pubEndpoint);
    a.publish("news", "not for strangers");
    expect(await receiveWithin(spy as unknown as zmq.Dealer, 500)).toBeUndefined();
  });

  it("secure default – colliding routing ids abort an insecure directory (libzmq asserts); a default one never reads the stranger", async () => {
    // libzmq numbers the connections that announce no routing id from a counter it starts with
    // rand() (unseeded: 0x6b8b4567 for a process's first ROUTER); a peer that announces the next
    // number itself makes libzmq abort the process when the next such connection comes.
    const attack = async (endpoint: string): Promise<zmq.Dealer[]> => {
      const sockets: zmq.Dealer[] = [];
      for (let k = 0; k < 8; k++) {
        const id = Buffer.alloc(5);
        id.writeUInt32BE(0x6b8b4567 + k, 1);
        const dealer = new zmq.Dealer({ linger: 0 });
        (dealer as unknown as { routingId: Buffer }).routingId = id;
        dealer.connect(endpoint);
        await dealer.send("x");
        sockets.push(dealer);
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
      const anonymous = new zmq.Dealer({ linger: 0 });
      anonymous.connect(endpoint);
      await anonymous.send("y");
      sockets.push(anonymous);
      return sockets;
    };
    for (const mode of ["insecure", "default"]) {
      const script = startScript(new URL("../fixtures/directory-process.ts", import.meta.url), [
        "tcp://127.0.0.1:*",
        "1000",
        mode,
      ]);
      const sockets: zmq.Dealer[] = [];
      try {
        const { endpoint } = (await script.first) as { endpoint: string };
        sockets.push(...(await attack(endpoint)));
        if (mode === "insecure") {
          await eventually(() => script.child.signalCode, "the insecure directory to abort", {
            timeoutMs: 5000,
          });
          expect(script.child.signalCode).toBe("SIGABRT");
        } else {
          const samples = script.lines.length;
          await eventually(() => script.lines.length > samples + 5, "the directory to keep sampling");
          expect(script.child.exitCode).toBeNull();
          const member = new Node({ name: "member", directory: endpoint, register: false });
          cleanup.push(() => member.stop());
          await member.start();
          expect(await member._snapshot()).toEqual([]);
        }
      } finally {
        for (const s of sockets) s.close();
        await script.kill();
      }
    }
  }, 30_000);

  it("secure default – the per-user folder is made 0700 and the key 0600 on first use; a folder others can enter is refused", () => {
    const saved = process.env.ZMP_HOME;
    const base = mkdtempSync(join(tmpdir(), "zmp-home-check-"));
    try {
      process.env.ZMP_HOME = join(base, "zmp");
      forgetUserKeys();
      const keys = userKeys();
      expect(statSync(credentialDir()).mode & 0o777).toBe(0o700);
      expect(statSync(credentialFile()).mode & 0o777).toBe(0o600);
      forgetUserKeys();
      expect(userKeys()).toEqual(keys); // the same pair from then on
      chmodSync(credentialDir(), 0o755);
      forgetUserKeys();
      expect(() => userKeys()).toThrow(/can be entered by others.*chmod 700/);
      chmodSync(credentialDir(), 0o700);
      chmodSync(credentialFile(), 0o644);
      forgetUserKeys();
      expect(() => userKeys()).toThrow(/can be read by others.*chmod 600/);
    } finally {
      process.env.ZMP_HOME = saved;
      forgetUserKeys();
      rmSync(base, { recursive: true, force: true });
    }
  });

  it("secure default – insecure: true says so at start, and a bind beyond loopback needs insecure: 'network'", async () => {
    const warnings: string[] = [];
    const onWarning = (w: Error & { code?: string }): void => {
      if (w.code === "ZMP_INSECURE") warnings.push(w.message);
    };
    process.on("warning", onWarning);
    cleanup.push(() => process.off("warning", onWarning));
    const graph = await Graph.open({ transport: "tcp", insecure: true });
    cleanup.push(() => graph.close());
    await graph.node("plain");
    await eventually(() => warnings.length >= 2, "the warnings");
    expect(warnings.join("\n")).toMatch(/directory at tcp:\/\/127\.0\.0\.1:\d+ runs without authentication/);
    expect(warnings.join("\n")).toMatch(/node `plain` at tcp:/);
    expect((await rejection(Directory.start({ bind: "tcp://0.0.0.0:0", insecure: true }))).message).toMatch(
      /refusing to listen on 0\.0\.0\.0 without authentication/,
    );
    const wide = await Directory.start({ bind: "tcp://0.0.0.0:0", insecure: "network" });
    await wide.stop();
    expect(
      () => new Node({ name: "n", directory: graph.directory, bindHost: "0.0.0.0", insecure: true }),
    ).toThrow(/refusing to listen on 0\.0\.0\.0/);
  });
});
