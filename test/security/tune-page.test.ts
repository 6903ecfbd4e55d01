/**
 * The tuning page as an attacker on the same machine sees it: another user
 * (or a process not given the URL) without the token, a web page of another
 * origin that knows the token, a page framing it to trick a click, and a
 * request with absurd numbers. Each is refused and the loop and its workers
 * keep their settings. The live graph is the tuning demo (a load, a queue
 * proxy, one worker thread and the loop `backlog`).
 */
import { chmodSync, existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { createServer, request as httpRequest, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { chromiumPath, launchChromium } from "../../experiments/report/png.js";
import type { LoopState } from "../../toolbox/loop/index.js";
import type { QueueWorkerState } from "../../toolbox/nodes/queue-worker.js";
import { startTuneDemo, type TuneDemo, TuneServer } from "../../toolbox/tune/index.js";
import { eventually, startScript, tempDir } from "../helpers.js";

const hasChromium = existsSync(chromiumPath());

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/** One raw HTTP request (fetch can set neither Host nor Origin); an event stream is cut after its headers. */
function raw(
  url: string,
  options: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: options.method ?? "GET", headers: options.headers }, (res) => {
      if (res.headers["content-type"]?.startsWith("text/event-stream")) {
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: "" });
        req.destroy();
        return;
      }
      let body = "";
      res.on("data", (chunk: Buffer) => {
        body += chunk.toString();
      });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on("error", reject);
    req.end(options.body);
  });
}

describe("security – tuning page", () => {
  let demo: TuneDemo | undefined;
  let server: TuneServer | undefined;

  beforeAll(async () => {
    demo = await startTuneDemo({ host: "thread", workers: 1, advertise: false });
    server = await TuneServer.start({ node: demo.node, loop: "backlog" });
  });

  afterAll(async () => {
    await server?.close();
    await demo?.close();
  });

  const loopState = (): Promise<LoopState> =>
    demo!.node.call<LoopState>("backlog.control", { op: "stats" }, { timeoutMs: 2000 });
  const workerSpeed = async (): Promise<number> =>
    (await demo!.node.call<QueueWorkerState>(`${demo!.workers[0]}.control`, { op: "stats" })).speed;
  const auth = () => ({ Authorization: `token ${server!.token}` });
  const post = (path: string, body: string, headers: Record<string, string> = {}) =>
    raw(`${server!.origin}${path}`, {
      method: "POST",
      headers: { "Content-Type": "application/json", ...headers },
      body,
    });

  it("tune page – the URL it prints carries a fresh random token", async () => {
    const url = new URL(server!.url);
    expect(url.origin).toBe(server!.origin);
    expect(url.searchParams.get("token")).toMatch(/^[0-9a-f]{48}$/);
    const other = await TuneServer.start({ node: demo!.node });
    try {
      expect(other.token).not.toBe(server!.token);
    } finally {
      await other.close();
    }
  });

  it("tune page – a request without the token, or with a wrong one, is refused, the page included", async () => {
    const wrong = "0".repeat(48);
    const gets = ["/", "/index.html", "/api/loops", "/api/loops/backlog", "/api/loops/backlog/events"];
    for (const path of gets) {
      expect((await raw(`${server!.origin}${path}`)).status, path).toBe(403);
      expect((await raw(`${server!.origin}${path}?token=${wrong}`)).status, path).toBe(403);
      expect(
        (await raw(`${server!.origin}${path}`, { headers: { Authorization: `token ${wrong}` } })).status,
      ).toBe(403);
    }
    const refused = await post("/api/loops/backlog/set", JSON.stringify({ setpoint: 666 }));
    expect(refused.status).toBe(403);
    expect(JSON.parse(refused.body).error).toMatch(/token/);
    expect((await post("/api/loops/backlog/capacity", JSON.stringify({ speed: 0.01 }))).status).toBe(403);
    expect((await post("/api/loops/backlog/set?token=short", JSON.stringify({ setpoint: 666 }))).status).toBe(
      403,
    );
    expect((await loopState()).setpoint).toBe(40);
    expect(await workerSpeed()).toBe(1);

    // With it, in the query or the header, the same requests are served.
    expect((await raw(server!.url)).status).toBe(200);
    expect((await raw(`${server!.origin}/api/loops`, { headers: auth() })).status).toBe(200);
    expect((await raw(`${server!.origin}/api/loops/backlog/events?token=${server!.token}`)).status).toBe(200);
  });

  it("tune page – a POST from a page of another origin is refused even with the token", async () => {
    const body = JSON.stringify({ setpoint: 666 });
    const foreign = [
      "http://evil.example",
      `http://127.0.0.1:${server!.port + 1}`,
      `https://127.0.0.1:${server!.port}`,
      "null",
    ];
    for (const origin of foreign) {
      const answer = await post("/api/loops/backlog/set", body, { ...auth(), Origin: origin });
      expect(answer.status, origin).toBe(403);
      expect(JSON.parse(answer.body).error).toMatch(/pages from/);
    }
    expect((await loopState()).setpoint).toBe(40);
    // Its own origin (the page's fetch) and none (a script) pass.
    const own = await post("/api/loops/backlog/set", JSON.stringify({ setpoint: 40 }), {
      ...auth(),
      Origin: server!.origin,
    });
    expect(own.status).toBe(200);
    expect((await post("/api/loops/backlog/set", JSON.stringify({ setpoint: 40 }), auth())).status).toBe(200);
  });

  it("tune page – every response forbids framing, errors included", async () => {
    const answers: [string, Answer][] = [
      ["page", await raw(server!.url)],
      ["api", await raw(`${server!.origin}/api/loops`, { headers: auth() })],
      ["events", await raw(`${server!.origin}/api/loops/backlog/events?token=${server!.token}`)],
      ["no token", await raw(`${server!.origin}/`)],
      ["wrong host", await raw(server!.url, { headers: { Host: "evil.example" } })],
      ["not found", await raw(`${server!.origin}/nothing`, { headers: auth() })],
      ["wrong method", await raw(`${server!.origin}/api/loops`, { method: "DELETE", headers: auth() })],
      ["bad body", await post("/api/loops/backlog/set", "{", auth())],
    ];
    expect(answers.map(([, a]) => a.status)).toEqual([200, 200, 200, 403, 403, 404, 405, 400]);
    for (const [what, answer] of answers) {
      expect(answer.headers["content-security-policy"], what).toMatch(/frame-ancestors 'none'/);
      expect(answer.headers["x-frame-options"], what).toBe("DENY");
      expect(answer.headers["cache-control"], what).toBe("no-store");
    }
    // The page runs its own scripts only (by hash), and talks to its own origin only.
    const policy = String(answers[0]![1].headers["content-security-policy"]);
    expect(policy).toMatch(/script-src 'sha256-[\w+/=]+' 'sha256-[\w+/=]+'(;|$)/);
    expect(policy).toMatch(/connect-src 'self'/);
    expect(policy).not.toMatch(/unsafe-eval|script-src[^;]*unsafe-inline/);
  });

  it("tune page – numbers out of range are refused naming the setting, and nothing changes", async () => {
    const before = await loopState();
    const cases: [string, string, RegExp][] = [
      ["/capacity", '{"speed":1e308}', /`speed`/],
      ["/capacity", '{"speed":1e400}', /`speed`/],
      ["/capacity", '{"speed":1e-300}', /`speed`/],
      ["/capacity", '{"speed":-1}', /`speed`/],
      ["/capacity", '{"speed":"1"}', /`speed`/],
      ["/burst", '{"count":1e9}', /`count`/],
      ["/burst", '{"count":2.5}', /`count`/],
      ["/set", '{"setpoint":1e308}', /`setpoint`/],
      ["/set", '{"manual":-1e300}', /`manual`/],
      ["/set", '{"params":{"kp":1e300}}', /`params.kp`/],
      ["/set", '{"controller":{"kind":"pid","options":{"kp":1,"ki":1e200}}}', /`controller.options.ki`/],
      ["/set", '{"sampleTime":1e-9}', /`sampleTime`/],
      ["/set", '{"sampleTime":1e9}', /`sampleTime`/],
      ["/step", '{"smoothing":1e308}', /`smoothing`/],
      ["/step", '{"settlingThreshold":5}', /`settlingThreshold`/],
    ];
    for (const [action, body, named] of cases) {
      const answer = await post(`/api/loops/backlog${action}`, body, auth());
      expect(answer.status, `${action} ${body}`).toBe(400);
      expect(JSON.parse(answer.body).error, `${action} ${body}`).toMatch(named);
    }
    const after = await loopState();
    expect(after.setpoint).toBe(before.setpoint);
    expect(after.sampleTime).toBe(before.sampleTime);
    expect(after.controller).toEqual(before.controller);
    expect(after.manualOutput).toBeNull();
    expect(await workerSpeed()).toBe(1);
  });

  it.skipIf(process.platform !== "linux")(
    "tune page – zmp tune --open keeps the token off the browser's command line",
    async () => {
      // A stand-in for the desktop's opener, first on PATH: it writes down what it was given.
      const bin = tempDir();
      const args = `${bin.dir}/args`;
      writeFileSync(
        `${bin.dir}/xdg-open`,
        `#!/bin/sh\nprintf '%s' "$*" > "${args}.tmp" && mv "${args}.tmp" "${args}"\n`,
      );
      chmodSync(`${bin.dir}/xdg-open`, 0o755);
      const path = process.env.PATH;
      process.env.PATH = `${bin.dir}:${path}`;
      const cli = startScript(new URL("../../cli.ts", import.meta.url), [
        "tune",
        "--directory",
        demo!.graph.directory,
        "--open",
      ]);
      process.env.PATH = path;
      try {
        const url = /http:\/\/127\.0\.0\.1:\d+\/\?token=(\w+)/.exec(String((await cli.first).text));
        expect(url).not.toBeNull();
        const opened = await eventually(
          () => (existsSync(args) ? readFileSync(args, "utf8") : ""),
          "the opener to run",
        );
        expect(opened).toMatch(/^file:\/\/\/.+\/open\.html$/);
        expect(opened).not.toContain(url![1]);
        const file = new URL(opened).pathname;
        expect(readFileSync(file, "utf8")).toContain(`url=${url![0]}`);
        expect(statSync(file).mode & 0o777).toBe(0o600);
        expect(statSync(file.replace(/\/open\.html$/, "")).mode & 0o777).toBe(0o700);
        const exited = new Promise((resolve) => cli.child.once("exit", resolve));
        cli.child.kill("SIGINT");
        await exited;
        expect(existsSync(file)).toBe(false);
      } finally {
        await cli.kill();
        bin.remove();
      }
    },
  );

  it.skipIf(!hasChromium)(
    "tune page – another site can neither frame the page nor post to it, even knowing the token",
    async () => {
      const browser = await launchChromium();
      // The attacker's page, on another local port: it frames the tuning page and posts a setpoint.
      const attack = `<!doctype html><body>
<iframe id="frame" src="${server!.url}" width="800" height="600"></iframe>
<script>
window.posted = fetch(${JSON.stringify(`${server!.origin}/api/loops/backlog/set?token=${server!.token}`)}, {
  method: "POST", mode: "no-cors", headers: { "Content-Type": "text/plain" }, body: '{"setpoint":666}',
}).then(() => "sent", (e) => String(e));
</script></body>`;
      const site: Server = createServer((_request, response) => {
        response.writeHead(200, { "Content-Type": "text/html" }).end(attack);
      });
      await new Promise<void>((resolve) => site.listen(0, "127.0.0.1", resolve));
      try {
        const page = await browser!.newPage();
        await page.goto(`http://127.0.0.1:${(site.address() as AddressInfo).port}/`);
        expect(await page.evaluate(() => (window as unknown as { posted: Promise<string> }).posted)).toBe(
          "sent",
        );
        const frame = await eventually(
          () => page.frames().find((f) => f !== page.mainFrame()),
          "the attacker's iframe",
        );
        // Chromium refuses to render it: the frame holds its error page, not the tuning page.
        await eventually(
          async () => !frame.url().startsWith(server!.origin),
          "the frame not showing the page",
        );
        expect(await frame.evaluate(() => document.getElementById("loop-name"))).toBeNull();
        expect((await loopState()).setpoint).toBe(40);
      } finally {
        await browser?.close();
        await new Promise<void>((resolve) => site.close(() => resolve()));
      }
    },
  );
});
