/**
 * The tuning page on a live graph: a load generator → queue proxy → two
 * queue workers in threads, and a FeedbackLoop holding the proxy's backlog
 * (toolbox/tune/demo.ts), the tuning server on port 0, and the page in
 * headless Chromium (skipped, saying so, when /usr/bin/chromium is absent).
 */
import { existsSync } from "node:fs";
import { request as httpRequest } from "node:http";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { chromiumPath, launchChromium } from "../../../experiments/report/png.js";
import type { LoopState } from "../../../toolbox/loop/index.js";
import type { QueueWorkerState } from "../../../toolbox/nodes/queue-worker.js";
import {
  startTuneDemo,
  type TuneDemo,
  type TunePageHandle,
  TuneServer,
} from "../../../toolbox/tune/index.js";
import { eventually, startScript } from "../../helpers.js";

const chromium = chromiumPath();
const hasChromium = existsSync(chromium);
const skipNote = hasChromium ? "" : ` [skipped: no Chromium at ${chromium}]`;
const cliPath = new URL("../../../cli.ts", import.meta.url);

/** What the page shows, read in the page. */
interface PageView {
  ready: boolean;
  received: number;
  lastSeq: number;
  draws: number;
  kp: string;
  stepKind: string | null;
  stepText: string;
  /** A hash of each chart's canvas pixels. */
  pixels: Record<string, number>;
}

function view(page: Page): Promise<PageView> {
  return page.evaluate(() => {
    const tune = (window as unknown as { zmpTune: TunePageHandle }).zmpTune;
    const pixels: Record<string, number> = {};
    for (const id of ["backlog", "rates", "output"]) {
      const canvas = document.querySelector<HTMLCanvasElement>(`#chart-${id} canvas`);
      if (canvas === null) continue;
      const data = canvas.getContext("2d")!.getImageData(0, 0, canvas.width, canvas.height).data;
      let hash = 0;
      for (let i = 0; i < data.length; i += 4) hash = (hash * 31 + data[i]! + data[i + 1]! * 7) | 0;
      pixels[id] = hash;
    }
    return {
      ready: tune.ready,
      received: tune.received,
      lastSeq: tune.lastSeq,
      draws: tune.draws,
      kp: (document.getElementById("param-kp") as HTMLInputElement | null)?.value ?? "",
      stepKind: tune.step?.kind ?? null,
      stepText: document.getElementById("step")?.textContent ?? "",
      pixels,
    };
  });
}

/** A raw HTTP request (fetch cannot set Host). */
function raw(
  url: string,
  options: { method?: string; headers?: Record<string, string>; body?: string },
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: options.method ?? "GET", headers: options.headers }, (res) => {
      let body = "";
      res.on("data", (chunk: Buffer) => {
        body += chunk.toString();
      });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on("error", reject);
    req.end(options.body);
  });
}

describe("tune", () => {
  let demo: TuneDemo | undefined;
  let server: TuneServer | undefined;
  let browser: Browser | null = null;

  beforeAll(async () => {
    demo = await startTuneDemo({ host: "thread", workers: 2, advertise: false });
    server = await TuneServer.start({ node: demo.node });
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await demo?.close();
  });

  const loopState = (): Promise<LoopState> =>
    demo!.node.call<LoopState>("backlog.control", { op: "stats" }, { timeoutMs: 2000 });
  const auth = () => ({ Authorization: `token ${server!.token}` });
  const post = (path: string, body: unknown) =>
    fetch(`${server!.origin}/${path}`, {
      method: "POST",
      headers: { "Content-Type": "application/json", ...auth() },
      body: JSON.stringify(body),
    });

  it("tune – the API lists the loop, passes changes to it and answers errors with the loop's message", async () => {
    const listing = (await (await fetch(`${server!.origin}/api/loops`, { headers: auth() })).json()) as {
      loops: { name: string; service: string }[];
      selected: string | null;
    };
    expect(listing.loops.map((l) => l.name)).toEqual(["backlog"]);
    expect(listing.selected).toBe("backlog");

    const changed = await post("api/loops/backlog/set", { params: { ki: 1.5 } });
    expect(changed.status).toBe(200);
    expect(((await changed.json()) as LoopState).controller.params.ki).toBe(1.5);
    expect((await loopState()).controller.params.ki).toBe(1.5);

    const rejected = await post("api/loops/backlog/set", { params: { nope: 1 } });
    expect(rejected.status).toBe(400);
    expect(((await rejected.json()) as { error: string }).error).toMatch(/nope/);
    expect((await post("api/loops/nothing/set", { setpoint: 1 })).status).toBe(404);
    expect((await post("api/loops/backlog/capacity", { speed: -1 })).status).toBe(400);
    const form = await raw(`${server!.origin}/api/loops/backlog/set`, {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded", ...auth() },
      body: "setpoint=1",
    });
    expect(form.status).toBe(415);
    const rebound = await raw(server!.url, { headers: { Host: `evil.example:${server!.port}`, ...auth() } });
    expect(rebound.status).toBe(403);
    expect((await loopState()).setpoint).toBe(40);
  });

  it.skipIf(!hasChromium)(
    `tune – a gain changed in the page reaches the loop, and the charts keep updating${skipNote}`,
    async () => {
      browser = await launchChromium();
      const page = await browser!.newPage({ viewport: { width: 1280, height: 900 } });
      const errors: string[] = [];
      page.on("pageerror", (error) => errors.push(error.message));
      // The page's Content-Security-Policy must not block anything it does itself.
      page.on("console", (message) => {
        if (message.type() === "error") errors.push(message.text());
      });
      await page.goto(server!.url);
      await page.waitForFunction(
        () => (window as unknown as { zmpTune?: TunePageHandle }).zmpTune?.ready === true,
        undefined,
        { timeout: 10_000 },
      );
      const before = await view(page);
      expect(before.kp).toBe("2");

      await page.fill("#param-kp", "3.5");
      await page.click("#apply-params");
      // Through the loop's own service, not the page's word for it.
      await eventually(async () => (await loopState()).controller.params.kp === 3.5, "kp = 3.5 at the loop");
      await eventually(async () => (await view(page)).kp === "3.5", "the page showing kp 3.5");

      // The stream goes on after the change: more samples, redrawn charts.
      const after = await eventually(async () => {
        const now = await view(page);
        return now.received >= before.received + 15 &&
          ["backlog", "rates", "output"].every((id) => now.pixels[id] !== before.pixels[id])
          ? now
          : null;
      }, "15 more samples and every chart redrawn");
      expect(after.lastSeq).toBeGreaterThan(before.lastSeq);
      expect(after.draws).toBeGreaterThan(before.draws);

      // A setpoint step from the page: stepInfo of it, measured from the streamed samples.
      await page.fill("#setpoint", "60");
      await page.click("#apply-setpoint");
      await eventually(async () => (await loopState()).setpoint === 60, "setpoint 60 at the loop");
      const stepped = await eventually(async () => {
        const now = await view(page);
        return now.stepKind === "setpoint" ? now : null;
      }, "a setpoint step on the page");
      expect(stepped.stepText).toContain("Setpoint 40 → 60");
      expect(stepped.stepText).toContain("rise time");

      // A capacity step: every worker at half speed, over their own service; then back.
      await page.click("#capacity-halve");
      for (const worker of demo!.workers)
        await eventually(
          async () =>
            (await demo!.node.call<QueueWorkerState>(`${worker}.control`, { op: "stats" })).speed === 0.5,
          `${worker} at speed 0.5`,
        );
      await eventually(async () => (await view(page)).stepKind === "capacity", "a capacity step on the page");
      await page.click("#capacity-restore");
      await eventually(
        async () =>
          (await demo!.node.call<QueueWorkerState>(`${demo!.workers[0]}.control`, { op: "stats" })).speed ===
          1,
        "speed 1 again",
      );
      // A burst beside the load generator: the queue proxy counts it among the offered messages.
      const offered = async (): Promise<number> =>
        (await demo!.node.call<{ offered: number }>("proxy.control", { op: "stats", target: "queue:jobs" }))
          .offered;
      const mark = await offered();
      const since = performance.now();
      await page.fill("#burst-count", "500");
      await page.click("#burst");
      const now = await eventually(async () => {
        const n = await offered();
        return n >= mark + 500 ? n : null;
      }, "500 more messages offered at the proxy");
      // The load generator keeps to 150 msg/s however late its timers fire: the rest is the burst.
      const scheduled = 150 * ((performance.now() - since) / 1000 + 0.1);
      expect(now - mark - scheduled).toBeGreaterThan(400);
      expect(errors).toEqual([]);
      await page.close();
    },
  );

  it("tune – zmp tune joins a running graph from another process and serves its loop", async () => {
    const cli = startScript(cliPath, ["tune", "--directory", demo!.graph.directory, "--port", "0"]);
    try {
      const first = await cli.first;
      const url = /http:\/\/127\.0\.0\.1:\d+\/\?token=\w+/.exec(String(first.text))?.[0];
      expect(url, String(first.text)).toBeDefined();
      const { origin, searchParams } = new URL(url!);
      const headers = { Authorization: `token ${searchParams.get("token")}` };
      const listing = (await (await fetch(`${origin}/api/loops`, { headers })).json()) as {
        selected: string | null;
      };
      expect(listing.selected).toBe("backlog");
      expect(await (await fetch(url!)).text()).toContain("zmp tune");
      expect((await fetch(`${origin}/api/loops`)).status).toBe(403);
      const exited = new Promise<number | null>((resolve) => cli.child.once("exit", (code) => resolve(code)));
      cli.child.kill("SIGINT");
      expect(await exited).toBe(0);
    } finally {
      await cli.kill();
    }
  });
});
