/**
 * The tuning server: an HTTP server on 127.0.0.1 (`node:http`, no framework)
 * that serves the tuning page and, for each loop a page watches, streams the
 * loop's samples as server-sent events and passes the page's changes to the
 * loop's control service. It reaches the graph through one node (a CLI node,
 * or any node of the graph).
 *
 * | route | does |
 * |---|---|
 * | `GET /` | the page |
 * | `GET /api/loops` | `{ loops: LoopInfo[], selected }` — the loops in the directory, and the one to show |
 * | `GET /api/loops/NAME` | the loop's `LoopState` (`op: "stats"`) |
 * | `GET /api/loops/NAME/events` | server-sent events: `init` (`SessionSnapshot`), then `sample` (`{ sample, step }`), `state`, `targets`, `problem` |
 * | `POST /api/loops/NAME/set` | `LoopChanges` as JSON → `op: "set"` → the new `LoopState` |
 * | `POST /api/loops/NAME/capacity` | `{ speed }`: every worker of the loop's queue at that speed (a capacity step) |
 * | `POST /api/loops/NAME/burst` | `{ count }`: a burst onto the loop's queue (only when a load generator feeds it) |
 * | `GET /api/loops/NAME/targets` | the workers and producers found for the disturbances |
 * | `POST /api/loops/NAME/step` | `{ settlingThreshold?, smoothing? }`: how steps are measured (`StepOptions`) |
 *
 * Errors reply `{ error }`: 400 for a change the loop (or the server)
 * rejects, 404 for an unknown loop, 409 for a disturbance with nothing to
 * act on, 504 when the loop does not answer.
 *
 * Who may use it (Jupyter's model for a local notebook server):
 * - every request carries the server's token — a random secret in the URL it
 *   prints, `?token=…`, or an `Authorization: token …` header — or is refused
 *   with 403, the page at `/` included: another user of the machine (or a
 *   process of yours that was not given the URL) cannot steer a loop;
 * - only requests addressed to the server's own host name are served (a web
 *   page from elsewhere cannot read the API through DNS rebinding), a
 *   request whose `Origin` is not the server's own is refused, and POSTs must
 *   be JSON (no form from another site reaches it);
 * - every response says `Content-Security-Policy: frame-ancestors 'none'`
 *   and `X-Frame-Options: DENY` (no other page can frame it to trick a
 *   click), the page runs only its own inline scripts, and no response is
 *   cached or sent as a referrer;
 * - every number a request sets is checked against a range (see
 *   `toolbox/limits.ts`) before it reaches the loop or a worker.
 */
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { type Node, RemoteError, TimeoutError, UnknownServiceError } from "../../core/index.js";
import {
  between,
  checkMagnitudes,
  integerBetween,
  MAX_SAMPLE_TIME,
  MAX_SPEED,
  MIN_SAMPLE_TIME,
  MIN_SPEED,
} from "../limits.js";
import type { LoopChanges, LoopState } from "../loop/feedback-loop.js";
import { callControl } from "../steering.js";
import { findLoops, type LoopInfo } from "./loops.js";
import { tunePage, tunePagePolicy } from "./page.js";
import { ConflictError, LoopSession } from "./session.js";

/** Options of `TuneServer.start`. */
export interface TuneServerOptions {
  /** The node the server reaches the graph through. Required. */
  node: Node;
  /** The loop the page shows. Default: the only loop in the graph; with several, the page lists them. */
  loop?: string;
  /** TCP port on 127.0.0.1. Default 0: any free port (see `url`). */
  port?: number;
  /** Queue the disturbance buttons act on. Default: the queue the loop's sensor reads (from its description). */
  queue?: string;
  /** Samples kept per loop and sent to a page when it connects. Default 3 000 (5 min at 0.1 s). */
  history?: number;
  /** Longest wait for a loop's or a worker's control service, ms. Default 2 000. */
  timeoutMs?: number;
  /**
   * The secret every request must carry (in `url`). Default: 24 random
   * bytes as 48 hex digits, new for each server. At least 32 characters.
   */
  token?: string;
}

/** An error with its HTTP status. */
class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = "HttpError";
  }
}

const MAX_BODY = 64 * 1024;
const HEARTBEAT_MS = 15_000;
/** Most messages one burst may push. */
const MAX_BURST = 100_000;

/** On every response: no framing by another page (clickjacking), no sniffing, no caching, no referrer. */
const BASE_HEADERS = {
  "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
  "X-Frame-Options": "DENY",
  "X-Content-Type-Options": "nosniff",
  "Referrer-Policy": "no-referrer",
  "Cache-Control": "no-store",
};

/** The tuning server (see the module comment). Start it with `TuneServer.start`. */
export class TuneServer {
  readonly node: Node;
  readonly #server: Server;
  readonly #options: Required<Omit<TuneServerOptions, "node" | "loop" | "queue" | "token">> &
    Pick<TuneServerOptions, "loop" | "queue">;
  readonly #token: string;
  /** SHA-256 of the token: requests are compared with it in constant time. */
  readonly #tokenHash: Buffer;
  readonly #sessions = new Map<string, Promise<LoopSession>>();
  readonly #streams = new Set<ServerResponse>();
  readonly #heartbeat: ReturnType<typeof setInterval>;
  #port = 0;
  #closed = false;

  private constructor(options: TuneServerOptions) {
    const { node, loop, queue } = options;
    this.node = node;
    const port = options.port ?? 0;
    if (!(Number.isInteger(port) && port >= 0 && port <= 65535))
      throw new RangeError(`Expected \`port\` to be an integer from 0 to 65535, got \`${String(port)}\``);
    const history = options.history ?? 3000;
    if (!(Number.isInteger(history) && history >= 10))
      throw new RangeError(`Expected \`history\` to be an integer ≥ 10, got \`${String(history)}\``);
    const timeoutMs = options.timeoutMs ?? 2000;
    if (!(timeoutMs > 0 && Number.isFinite(timeoutMs)))
      throw new RangeError(`Expected \`timeoutMs\` to be a positive number, got \`${String(timeoutMs)}\``);
    const token = options.token ?? randomBytes(24).toString("hex");
    if (!(typeof token === "string" && token.length >= 32 && /^[\w.~-]+$/.test(token)))
      throw new RangeError(
        "Expected `token` to be at least 32 characters of letters, digits, `_`, `-`, `.` or `~`",
      );
    this.#token = token;
    this.#tokenHash = sha256(token);
    this.#options = { port, history, timeoutMs, loop, queue };
    this.#server = createServer((request, response) => {
      for (const [name, value] of Object.entries(BASE_HEADERS)) response.setHeader(name, value);
      this.#handle(request, response).catch((error: unknown) => reply(response, statusOf(error), error));
    });
    this.#heartbeat = setInterval(() => {
      for (const stream of this.#streams) stream.write(": ping\n\n");
    }, HEARTBEAT_MS);
    this.#heartbeat.unref();
  }

  /** Starts serving on 127.0.0.1; resolves when it listens. */
  static async start(options: TuneServerOptions): Promise<TuneServer> {
    if (options === null || typeof options !== "object" || options.node === undefined)
      throw new TypeError("Expected options with a `node`");
    const server = new TuneServer(options);
    await new Promise<void>((resolve, reject) => {
      server.#server.once("error", reject);
      server.#server.listen(server.#options.port, "127.0.0.1", () => {
        server.#server.off("error", reject);
        resolve();
      });
    });
    server.#port = (server.#server.address() as AddressInfo).port;
    return server;
  }

  /** The port it listens on. */
  get port(): number {
    return this.#port;
  }

  /** The page's address with its token, `http://127.0.0.1:PORT/?token=…`: what to open in a browser. */
  get url(): string {
    return `${this.origin}/?token=${this.#token}`;
  }

  /** `http://127.0.0.1:PORT`, without the token. */
  get origin(): string {
    return `http://127.0.0.1:${this.#port}`;
  }

  /** The secret every request must carry (`?token=` or `Authorization: token …`). */
  get token(): string {
    return this.#token;
  }

  /** The loops the directory lists now. */
  loops(): LoopInfo[] {
    return findLoops(this.node.nodes());
  }

  /** The loop shown by default: the one asked for, else the only one running, else null. */
  selected(): string | null {
    if (this.#options.loop !== undefined) return this.#options.loop;
    const loops = this.loops();
    return loops.length === 1 ? loops[0]!.name : null;
  }

  /** Ends every stream, stops watching the loops and closes the server. Twice is a no-op. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#heartbeat);
    for (const stream of this.#streams) stream.end();
    this.#streams.clear();
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    this.#server.closeAllConnections();
    await closed;
    for (const session of this.#sessions.values())
      await session.then((s) => s.close()).catch(() => undefined);
    this.#sessions.clear();
  }

  /** Throws a 404 unless `name` is the loop asked for or a loop the directory lists. */
  #known(name: string): void {
    if (name !== this.#options.loop && !this.loops().some((l) => l.name === name))
      throw new HttpError(404, `no loop named \`${name}\` in this graph`);
  }

  #session(name: string): Promise<LoopSession> {
    let session = this.#sessions.get(name);
    if (session === undefined) {
      try {
        this.#known(name);
      } catch (error) {
        return Promise.reject(error);
      }
      session = LoopSession.open(this.node, name, {
        history: this.#options.history,
        timeoutMs: this.#options.timeoutMs,
        queue: this.#options.queue,
      });
      this.#sessions.set(name, session);
      // A loop that could not be watched is looked for again at the next request.
      session.catch(() => this.#sessions.delete(name));
    }
    return session;
  }

  /**
   * Refuses (403) a request for another host name, from a page of another
   * origin, or without the token.
   */
  #admit(request: IncomingMessage, url: URL): void {
    const host = request.headers.host ?? "";
    const hosts = [`127.0.0.1:${this.#port}`, `localhost:${this.#port}`];
    if (!hosts.includes(host)) throw new HttpError(403, `not served for host \`${host}\``);
    // Browsers send Origin with every POST and every cross-origin request; scripts may send none.
    const origin = request.headers.origin;
    if (origin !== undefined && !hosts.some((h) => origin === `http://${h}`))
      throw new HttpError(403, `not served to pages from \`${origin}\``);
    const header = /^token\s+(\S+)$/i.exec(request.headers.authorization ?? "")?.[1];
    const given = header ?? url.searchParams.get("token");
    if (given === null || !timingSafeEqual(sha256(given), this.#tokenHash))
      throw new HttpError(
        403,
        given === null
          ? "this server needs its token: open the URL `zmp tune` printed (…/?token=…)"
          : "wrong token: open the URL `zmp tune` printed (…/?token=…)",
      );
  }

  async #handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? "/", this.origin);
    this.#admit(request, url);
    const method = request.method ?? "GET";
    const path = url.pathname;
    if (path === "/" || path === "/index.html") {
      expectMethod(method, "GET");
      response.writeHead(200, {
        "Content-Type": "text/html; charset=utf-8",
        "Content-Security-Policy": tunePagePolicy(),
      });
      response.end(tunePage());
      return;
    }
    if (path === "/api/loops") {
      expectMethod(method, "GET");
      reply(response, 200, { loops: this.loops(), selected: this.selected() });
      return;
    }
    const match = /^\/api\/loops\/([^/]+)(?:\/([a-z]+))?$/.exec(path);
    if (match === null) throw new HttpError(404, `nothing at ${path}`);
    const name = decodeURIComponent(match[1]!);
    const action = match[2] ?? "";
    switch (action) {
      case "": {
        expectMethod(method, "GET");
        this.#known(name);
        const state = await callControl<LoopState>(this.node, name, { op: "stats" }, this.#options.timeoutMs);
        reply(response, 200, state);
        return;
      }
      case "events":
        expectMethod(method, "GET");
        this.#stream(response, await this.#session(name));
        return;
      case "targets": {
        expectMethod(method, "GET");
        const session = await this.#session(name);
        await session.refreshTargets();
        reply(response, 200, session.targets);
        return;
      }
      case "set": {
        const changes = await jsonBody(request, method);
        // The loop checks each change too; no number past the common bound even reaches it.
        for (const [key, value] of Object.entries(changes)) checkMagnitudes(key, value);
        if (changes.sampleTime !== undefined)
          between("sampleTime", changes.sampleTime, MIN_SAMPLE_TIME, MAX_SAMPLE_TIME, " s");
        reply(response, 200, await (await this.#session(name)).set(changes as LoopChanges));
        return;
      }
      case "capacity": {
        const { speed } = (await jsonBody(request, method)) as { speed?: unknown };
        between("speed", speed, MIN_SPEED, MAX_SPEED);
        reply(response, 200, await (await this.#session(name)).capacity(speed as number));
        return;
      }
      case "burst": {
        const { count } = (await jsonBody(request, method)) as { count?: unknown };
        integerBetween("count", count, 1, MAX_BURST);
        await (await this.#session(name)).burst(count as number);
        reply(response, 200, { ok: true, count });
        return;
      }
      case "step": {
        const options = await jsonBody(request, method);
        reply(response, 200, (await this.#session(name)).setStepOptions(options));
        return;
      }
      default:
        throw new HttpError(404, `nothing at ${path}`);
    }
  }

  #stream(response: ServerResponse, session: LoopSession): void {
    response.writeHead(200, { "Content-Type": "text/event-stream", Connection: "keep-alive" });
    response.write("retry: 2000\n\n");
    this.#streams.add(response);
    const detach = session.attach((event, data) => {
      response.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    });
    response.once("close", () => {
      detach();
      this.#streams.delete(response);
    });
  }
}

function expectMethod(method: string, expected: string): void {
  if (method !== expected) throw new HttpError(405, `expected ${expected}, got ${method}`);
}

/** The JSON object a POST carries; POSTs must say `Content-Type: application/json`. */
async function jsonBody(request: IncomingMessage, method: string): Promise<Record<string, unknown>> {
  expectMethod(method, "POST");
  const type = request.headers["content-type"] ?? "";
  if (!/^application\/json\b/i.test(type))
    throw new HttpError(415, `expected Content-Type application/json, got \`${type}\``);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY) throw new HttpError(413, `the body is over ${MAX_BODY} bytes`);
    chunks.push(chunk as Buffer);
  }
  let body: unknown;
  try {
    body = JSON.parse(Buffer.concat(chunks).toString("utf8"));
  } catch (error) {
    throw new HttpError(400, `the body is not JSON: ${(error as Error).message}`);
  }
  if (body === null || typeof body !== "object" || Array.isArray(body))
    throw new HttpError(400, "the body must be a JSON object");
  return body as Record<string, unknown>;
}

function sha256(text: string): Buffer {
  return createHash("sha256").update(text).digest();
}

function statusOf(error: unknown): number {
  if (error instanceof HttpError) return error.status;
  if (error instanceof ConflictError) return 409;
  if (error instanceof UnknownServiceError) return 404;
  if (error instanceof TimeoutError) return 504;
  if (error instanceof RemoteError || error instanceof RangeError || error instanceof TypeError) return 400;
  return 500;
}

/** Writes `body` as JSON (an error as `{ error }`, without the remote call's prefix). */
function reply(response: ServerResponse, status: number, body: unknown): void {
  if (response.headersSent) {
    response.end();
    return;
  }
  let payload = body;
  if (body instanceof Error) {
    const message =
      body instanceof RemoteError
        ? body.message.replace(/^.*?failed on node `[^`]*`: /, "")
        : body instanceof HttpError
          ? body.message
          : `${body.name}: ${body.message}`;
    payload = { error: message };
  }
  response.writeHead(status, { "Content-Type": "application/json; charset=utf-8" });
  response.end(JSON.stringify(payload));
}
