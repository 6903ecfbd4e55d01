/**
 * Instructions per call of the calling process (every thread, user space),
 * counted by callgrind: a figure that does not move with the load of a
 * shared machine, unlike rates and, less so, CPU time.
 *
 *   npm run build
 *   node experiments/bench/instructions.mjs zmp 3000 1     # or raw; calls; outstanding
 *
 * The caller runs under `valgrind --tool=callgrind` with instrumentation off,
 * makes `ZMP_WARM_CALLS` calls (default 15 000) to warm up, then counts the
 * given number of calls between two `callgrind_control -i` toggles; the echo
 * runs natively in a child process (zmp: the bench's echo node, raw: the
 * bench's ROUTER echo). Printed: instructions per call, and the part that is
 * V8's optimizing compiler still at work (left out of `without compiler`).
 * Needs valgrind (Debian `valgrind`); takes a minute or two.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const [mode, ...rest] = process.argv.slice(2);
if (mode === "--driver") await drive(...rest);
else summarize(mode, ...rest);

function summarize(side = "zmp", n = "3000", c = "1") {
  if (side !== "zmp" && side !== "raw") {
    process.stderr.write("usage: node experiments/bench/instructions.mjs zmp|raw [calls] [outstanding]\n");
    process.exit(2);
  }
  const dir = mkdtempSync(join(tmpdir(), "zmp-callgrind-"));
  try {
    const out = join(dir, "callgrind.out");
    const run = spawnSync(
      "valgrind",
      [
        "--tool=callgrind",
        "--instr-atstart=no",
        "--dump-instr=no",
        `--callgrind-out-file=${out}`,
        process.execPath,
        fileURLToPath(import.meta.url),
        "--driver",
        side,
        n,
        c,
      ],
      { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] },
    );
    if (run.status !== 0) throw new Error(`valgrind failed (${run.status}): ${run.stderr.slice(-2000)}`);
    process.stdout.write(run.stdout);
    const listing = execFileSync("callgrind_annotate", ["--threshold=100", out], {
      encoding: "utf8",
      maxBuffer: 1 << 28,
    });
    let total = 0;
    let compiler = 0;
    for (const line of listing.split("\n")) {
      const m = /^\s*([\d,]+) \([ \d.]+%\)\s+(.*)$/.exec(line);
      if (m === null || m[2].startsWith("PROGRAM TOTALS")) continue;
      const ir = Number(m[1].replaceAll(",", ""));
      total += ir;
      if (/compiler::|Compiler|Turbofan|Maglev|maglev|Zone/.test(m[2])) compiler += ir;
    }
    const per = (x) => Math.round(x / Number(n)).toLocaleString("en");
    process.stdout.write(
      `${side} c=${c}: ${per(total)} instructions per call, ${per(total - compiler)} without compiler (compiler ${per(compiler)})\n`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function drive(side, nArg, cArg) {
  const n = Number(nArg);
  const c = Number(cArg);
  const dist = new URL("../../dist/experiments/bench/", import.meta.url);
  const { Cleanup } = await import(new URL("cleanup.js", dist).href);
  const { benchGraph, payload, rawDir } = await import(new URL("cases/setup.js", dist).href);
  const cleanup = new Cleanup();
  const message = payload(16);
  // The first use of child_process sets V8 protectors off: do it before the warm-up.
  const toggle = (on) =>
    execFileSync("callgrind_control", ["-i", on ? "on" : "off", String(process.pid)], { stdio: "ignore" });
  execFileSync("true");
  try {
    let loop;
    if (side === "zmp") {
      const graph = await benchGraph("ipc", cleanup);
      const hosted = await graph.spawn(new URL("zmp/peer.js", dist), {
        name: "echo",
        host: "process",
        args: { role: "echo" },
      });
      cleanup.pid(hosted.pid);
      const caller = await graph.node("caller");
      await caller.waitFor("bench.echo");
      loop = async (count) => {
        let left = count;
        const one = async () => {
          while (left-- > 0) await caller.call("bench.echo", message);
        };
        await Promise.all(Array.from({ length: c }, one));
      };
    } else {
      const zmq = await import("zeromq");
      const { RawPeer } = await import(new URL("raw/peer.js", dist).href);
      const peer = await RawPeer.start({ role: "echo", bind: `ipc://${rawDir(cleanup)}/echo.sock` }, cleanup);
      const dealer = new zmq.Dealer({ linger: 0 });
      cleanup.add("raw DEALER", () => dealer.close());
      dealer.connect(peer.endpoint);
      loop = async (count) => {
        let sent = 0;
        for (; sent < Math.min(c, count); sent++) await dealer.send(message);
        for (let got = 0; got < count; got++) {
          await dealer.receive();
          if (sent < count) {
            await dealer.send(message);
            sent++;
          }
        }
      };
    }
    await loop(Number(process.env.ZMP_WARM_CALLS ?? 15_000));
    const t0 = performance.now();
    toggle(true);
    await loop(n);
    toggle(false);
    console.log(
      `${side}: ${n} calls, ${c} outstanding, ${(performance.now() - t0).toFixed(0)} ms under callgrind`,
    );
  } finally {
    await cleanup.run();
  }
}
