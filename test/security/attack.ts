/**
 * What the adversary tests share: raw zeromq.js sockets speaking zmp's wire
 * format by hand (an attacker needs no zmp code), and a probe that measures
 * how callable a victim stays while it is attacked.
 */
import { expect } from "vitest";
import * as zmq from "zeromq";
import { userKeys } from "../../core/credential.js";
import { decode, encode, Graph, Node } from "../../core/index.js";
import { prove } from "../../core/key-proof.js";

/** How long a probe watches the victim after an attack: `ZMP_ATTACK_WINDOW_MS` (the targets use 5 000), else 1 500 ms. */
export const WINDOW_MS = Number(process.env.ZMP_ATTACK_WINDOW_MS ?? 1500);

/** Directory heartbeat of the attacked graphs: the README default when measuring (`ZMP_ATTACK_WINDOW_MS` set), else 200 ms. */
export const HEARTBEAT_MS = process.env.ZMP_ATTACK_WINDOW_MS ? 1000 : 200;

/**
 * A node (not started) of `graph`, a CurveZMQ graph whose directory's public
 * key is `directoryKey`, holding its own `keys`; `cleanup` stops it.
 */
export function memberNode(
  cleanup: (() => unknown)[],
  graph: Graph,
  directoryKey: string,
  name: string,
  keys: { publicKey: string; secretKey: string },
): Node {
  const node = new Node({
    name,
    directory: graph.directory,
    security: { ...keys, directoryKey },
    startTimeoutMs: 3000,
  });
  cleanup.push(() => node.stop());
  return node;
}

/** A graph on tcp with the defaults a user gets (this user's credential) at the attacks' heartbeat; `cleanup` closes it. */
export async function tcpGraph(cleanup: (() => unknown)[]): Promise<Graph> {
  const graph = await Graph.open({ transport: "tcp", heartbeatMs: HEARTBEAT_MS });
  cleanup.push(() => graph.close());
  return graph;
}

/** Prints a measured figure when measuring (`ZMP_ATTACK_WINDOW_MS` set); tests stay quiet otherwise. */
export function report(line: string): void {
  if (process.env.ZMP_ATTACK_WINDOW_MS) process.stdout.write(`${line}\n`);
}

export interface CurveClient {
  publicKey: string;
  secretKey: string;
  serverKey: string;
}

/**
 * A member of a default tcp graph: a process of the same user, holding the
 * per-user key (the credential every node of the graph has). Attacks from a
 * member show what the identity checks hold against a peer that is let in.
 */
export function member(): CurveClient {
  const keys = userKeys();
  return { ...keys, serverKey: keys.publicKey };
}

/** The CURVE side of a raw socket: a member's on tcp (a default graph's), none elsewhere; `null`: a stranger's plain socket. */
export function curveFor(endpoint: string, curve: CurveClient | null | undefined): CurveClient | undefined {
  if (curve === null) return undefined;
  return curve ?? (endpoint.startsWith("tcp://") ? member() : undefined);
}

/**
 * A raw DEALER, connected; it announces `routingId` (any bytes it likes) in
 * its handshake. On tcp it holds a member's key unless `curve` says
 * otherwise (`null`: no CURVE at all).
 */
export function rawDealer(
  endpoint: string,
  options: { routingId?: string; curve?: CurveClient | null } = {},
): zmq.Dealer {
  const dealer = new zmq.Dealer({
    linger: 0,
    ...(options.routingId ? { routingId: options.routingId } : {}),
  });
  const curve = curveFor(endpoint, options.curve);
  if (curve) {
    dealer.curvePublicKey = curve.publicKey;
    dealer.curveSecretKey = curve.secretKey;
    dealer.curveServerKey = curve.serverKey;
  }
  dealer.connect(endpoint);
  return dealer;
}

/** Sends zmp CALL frames `[1, corr, service, request]` by hand and reads replies (undefined after `timeoutMs`). */
export class RawCaller {
  readonly socket: zmq.Dealer;
  #corr = 0;

  constructor(endpoint: string, options: { routingId?: string; curve?: CurveClient | null } = {}) {
    this.socket = rawDealer(endpoint, options);
  }

  /** One call; resolves with `[status, value]` or undefined when nothing came back in time. */
  async call(service: string, request: unknown, timeoutMs = 1000): Promise<[number, unknown] | undefined> {
    const corr = ++this.#corr;
    await this.socket.send(encode([1, corr, service, request]));
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const frames = await receiveWithin(this.socket, deadline - Date.now());
      if (frames === undefined) return undefined;
      const body = decode(frames[frames.length - 1]!) as unknown[];
      if (body[0] === 2 && body[1] === corr) return [body[2] as number, body[3]];
    }
    return undefined;
  }

  close(): void {
    this.socket.close();
  }
}

/** The next message on `socket`, or undefined after `ms`. */
export async function receiveWithin(
  socket: zmq.Dealer | zmq.Router,
  ms: number,
): Promise<Buffer[] | undefined> {
  if (ms <= 0) return undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), ms);
  });
  try {
    return await Promise.race([socket.receive(), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Calls `service` on `node` back to back for `ms` (each call with a
 * `callTimeoutMs` deadline) and returns how many succeeded and failed, and
 * the errors' names.
 */
export async function probe(
  caller: Node,
  service: string,
  request: unknown,
  ms = WINDOW_MS,
  callTimeoutMs = 250,
  check: (reply: unknown) => boolean = () => true,
): Promise<{ ok: number; failed: number; wrong: number; errors: Record<string, number> }> {
  const result = { ok: 0, failed: 0, wrong: 0, errors: {} as Record<string, number> };
  const end = Date.now() + ms;
  while (Date.now() < end) {
    try {
      const reply = await caller.call(service, request, { timeoutMs: callTimeoutMs });
      if (check(reply)) result.ok++;
      else result.wrong++;
    } catch (error) {
      result.failed++;
      const name = (error as Error).name;
      result.errors[name] = (result.errors[name] ?? 0) + 1;
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  report(
    `${expect.getState().currentTestName}: ${result.ok} of ${result.ok + result.failed + result.wrong} calls right in ${Math.round(ms)} ms (${result.wrong} wrong, errors ${JSON.stringify(result.errors)})`,
  );
  return result;
}

/** The share of calls that succeeded with the right answer. */
export function share(r: { ok: number; failed: number; wrong: number }): number {
  const total = r.ok + r.failed + r.wrong;
  return total === 0 ? 0 : r.ok / total;
}

/**
 * A registration as the directory takes it: the record, the token, and on
 * tcp (a member) the proof that the sender holds the record's key, made
 * with the member's key (key-proof.ts, as a node makes it).
 */
export function registration(
  directory: string,
  id: string,
  record: Record<string, unknown>,
  token: string,
): Record<string, unknown> {
  const curve = curveFor(directory, undefined);
  return {
    record,
    token,
    ...(curve ? { proof: prove(curve, curve.serverKey, ["zmp register", id, token]) } : {}),
  };
}

/** A node record as the directory takes it, filled in for a fake node. */
export function fakeRecord(id: string, name: string, endpoint: string, extra: Record<string, unknown> = {}) {
  const curve = curveFor(endpoint, undefined);
  return {
    ...(curve ? { publicKey: curve.publicKey } : {}),
    id,
    name,
    host: "remote",
    pid: 4242,
    hostname: "attacker",
    endpoint,
    pubEndpoint: "",
    services: [] as string[],
    topics: [] as string[],
    queues: [] as { name: string; window: number }[],
    fronts: [] as { kind: string; name: string }[],
    startedAt: Date.now(),
    ...extra,
  };
}

/**
 * A fake node made of raw sockets: a ROUTER where peers it lures connect,
 * and a DEALER registered at the directory with a record of its choosing,
 * kept alive by heartbeats.
 */
export class FakeNode {
  readonly router: zmq.Router;
  readonly directory: RawCaller;
  endpoint = "";
  #beat: ReturnType<typeof setInterval> | undefined;

  private constructor(directory: string, id: string) {
    this.router = new zmq.Router({ linger: 0, routingId: id });
    // In a default tcp graph, a member: its ROUTER is a CURVE server with the member's key.
    const curve = curveFor(directory, undefined);
    if (curve) {
      this.router.curveServer = true;
      this.router.curvePublicKey = curve.publicKey;
      this.router.curveSecretKey = curve.secretKey;
    }
    this.directory = new RawCaller(directory, { routingId: id });
  }

  /** Binds, registers `record(endpoint)` and heartbeats every `beatMs`; resolves with the directory's reply. */
  static async start(
    directory: string,
    id: string,
    record: (endpoint: string) => Record<string, unknown>,
    beatMs = 100,
  ): Promise<{ fake: FakeNode; reply: [number, unknown] | undefined }> {
    const fake = new FakeNode(directory, id);
    await fake.router.bind("tcp://127.0.0.1:*");
    fake.endpoint = fake.router.lastEndpoint!;
    const token = `fake-token-${id}-0123456789`;
    const reply = await fake.directory.call(
      "zmp.directory.register",
      registration(directory, id, record(fake.endpoint), token),
    );
    fake.#beat = setInterval(() => {
      void fake.directory.socket
        .send(encode([1, 0, "zmp.directory.heartbeat", { id, token, version: 0 }]))
        .catch(() => undefined);
    }, beatMs);
    return { fake, reply };
  }

  /** Stops heartbeating (as if the fake's process froze). */
  stopHeartbeats(): void {
    clearInterval(this.#beat);
  }

  close(): void {
    clearInterval(this.#beat);
    this.router.close();
    this.directory.close();
  }
}
