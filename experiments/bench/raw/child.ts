/**
 * The far end of a raw zeromq.js baseline, in its own process (forked by
 * raw/peer.ts with tsx, like zmp's process hosts). Idiomatic zeromq.js: one
 * socket, a `for await` receive loop, `await send()`. Roles:
 *
 * - `pull`: binds a PULL socket and counts messages (queue baseline);
 * - `router-sink`: binds a ROUTER and counts messages (queue baseline with zmp's socket types);
 * - `sub`: connects a SUB to the parent's PUB and counts messages (topic baseline);
 * - `echo`: binds a ROUTER and sends every request back (service baseline; the parent's DEALER calls).
 *
 * The parent talks to it over the process IPC channel: `{ id, op: "reset" | "collect", quietMs, expected }`,
 * answered `{ id, result }`. It exits when the parent goes away.
 */
import * as zmq from "zeromq";
import { startProfile } from "../profiler.js";
import { Sink } from "../sink.js";

export type RawRole = "pull" | "router-sink" | "sub" | "echo";

export interface RawChildConfig {
  role: RawRole;
  /** Where a binding role binds (`ipc://…` or `tcp://127.0.0.1:*`). */
  bind?: string;
  /** Where a `sub` connects. */
  connect?: string;
  topic?: string;
  /** CurveZMQ: the secret key of a binding role (a CURVE server). */
  curveSecretKey?: string;
}

export type RawChildMessage =
  | { type: "ready"; endpoint: string }
  | { type: "reply"; id: number; result?: unknown; error?: string };

const send = (message: RawChildMessage): void => {
  process.send?.(message);
};

async function main(): Promise<void> {
  const config = JSON.parse(process.argv[2] ?? "{}") as RawChildConfig;
  const stopProfile = await startProfile(`raw-${config.role}`);
  const sink = new Sink();
  let socket: zmq.Socket;
  let endpoint = "";
  const curve = config.curveSecretKey ? { curveServer: true, curveSecretKey: config.curveSecretKey } : {};
  switch (config.role) {
    case "pull": {
      const pull = new zmq.Pull({ linger: 0, ...curve });
      await pull.bind(config.bind!);
      socket = pull;
      void (async () => {
        for await (const _ of pull) sink.hit();
      })().catch(ignoreClosed(pull));
      break;
    }
    case "router-sink": {
      const router = new zmq.Router({ linger: 0, ...curve });
      await router.bind(config.bind!);
      socket = router;
      void (async () => {
        for await (const _ of router) sink.hit();
      })().catch(ignoreClosed(router));
      break;
    }
    case "sub": {
      const sub = new zmq.Subscriber({ linger: 0 });
      sub.connect(config.connect!);
      sub.subscribe(config.topic ?? "");
      socket = sub;
      void (async () => {
        for await (const _ of sub) sink.hit();
      })().catch(ignoreClosed(sub));
      break;
    }
    case "echo": {
      const router = new zmq.Router({ linger: 0, ...curve });
      await router.bind(config.bind!);
      socket = router;
      void (async () => {
        for await (const [id, request] of router) await router.send([id!, request!]);
      })().catch(ignoreClosed(router));
      break;
    }
    default:
      throw new TypeError(`Expected a raw role, got \`${String(config.role)}\``);
  }
  endpoint = (socket as zmq.Socket & { lastEndpoint?: string }).lastEndpoint ?? config.connect ?? "";
  const close = (): void => {
    socket.close();
    void stopProfile().finally(() => process.exit(0));
  };
  process.on("disconnect", close);
  process.on("message", (m: { id: number; op: string; quietMs?: number; expected?: number }) => {
    const reply = (work: Promise<unknown> | unknown): void => {
      Promise.resolve(work).then(
        (result) => send({ type: "reply", id: m.id, result }),
        (error: unknown) => send({ type: "reply", id: m.id, error: String(error) }),
      );
    };
    if (m.op === "reset") reply(sink.reset());
    else if (m.op === "collect") reply(sink.collect(m.quietMs ?? 50, m.expected));
    else if (m.op === "close") {
      reply(undefined);
      setTimeout(close, 10);
    } else reply(Promise.reject(new Error(`unknown op ${m.op}`)));
  });
  send({ type: "ready", endpoint });
}

function ignoreClosed(socket: zmq.Socket): (error: unknown) => void {
  return (error) => {
    if (!socket.closed) {
      process.stderr.write(`raw child: ${String(error)}\n`);
      process.exit(1);
    }
  };
}

main().catch((error: unknown) => {
  process.stderr.write(
    `raw child: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exit(1);
});
