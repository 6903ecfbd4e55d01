/**
 * Many inline nodes in one process. libzmq lets a context hold 1 023 sockets
 * unless told otherwise and a node holds about five, so about 200 nodes ran
 * out with a misleading `EMFILE Too many open file descriptors`. zmp raises
 * the limit to the process's open-file limit, and when a limit is hit the
 * error names it: the context's `maxSockets`, or `ulimit -n`. Each case runs
 * in a process of its own (test/fixtures/many-nodes.ts), with a fresh
 * ZeroMQ context.
 */
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { openFileLimit } from "../../core/sockets.js";
import { removeFoldersOf } from "../helpers.js";

const fixture = fileURLToPath(new URL("../fixtures/many-nodes.ts", import.meta.url));
const tsx = import.meta.resolve("tsx");

interface Outcome {
  started: number;
  error?: string;
  maxSockets: number;
}

/** Runs the fixture (under `sh -c "ulimit -n N; …"` when `files` is given) and returns its report. */
function manyNodes(count: number, options: { zeromqFirst?: boolean; files?: number } = {}): Promise<Outcome> {
  const args = ["--import", tsx, fixture, String(count), ...(options.zeromqFirst ? ["zeromq-first"] : [])];
  const child =
    options.files === undefined
      ? spawn(process.execPath, args, { stdio: ["ignore", "pipe", "inherit"] })
      : spawn("sh", ["-c", `ulimit -n ${options.files} && exec "$0" "$@"`, process.execPath, ...args], {
          stdio: ["ignore", "pipe", "inherit"],
        });
  let out = "";
  child.stdout!.on("data", (chunk: Buffer) => {
    out += chunk.toString();
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => child.kill("SIGKILL"), 120_000);
    child.once("exit", (code, signal) => {
      clearTimeout(timer);
      if (child.pid !== undefined) removeFoldersOf(child.pid);
      const line = out.split("\n").find((l) => l.startsWith("{"));
      if (line === undefined)
        reject(new Error(`many-nodes exited (${code ?? signal}) without a report: ${out}`));
      else resolve(JSON.parse(line) as Outcome);
    });
  });
}

describe("security – socket limit", () => {
  it("socket limit – 250 inline nodes start in one process, past libzmq's default of 1023 sockets", async () => {
    const files = openFileLimit();
    const outcome = await manyNodes(250);
    if (files !== undefined && files < 3000) {
      // Too few descriptors here for 250 nodes (about 9 each): the error must say which limit.
      expect(outcome.error).toMatch(/ulimit -n/);
      return;
    }
    expect(outcome).toMatchObject({ started: 250 });
    expect(outcome.error).toBeUndefined();
    expect(outcome.maxSockets).toBeGreaterThan(1023);
  });

  it("socket limit – hitting the context's limit says so, naming context.maxSockets", async () => {
    // A zeromq socket made before zmp loads keeps libzmq's default limit in this process.
    const outcome = await manyNodes(400, { zeromqFirst: true });
    expect(outcome.started).toBeGreaterThan(150);
    expect(outcome.started).toBeLessThan(260);
    expect(outcome.error).toMatch(/^cannot open another ZeroMQ socket: .*socket limit/);
    expect(outcome.error).toContain("`context.maxSockets`");
    expect(outcome.error).toContain("1023");
  });

  it("socket limit – running out of file descriptors says so, naming ulimit -n", async () => {
    const outcome = await manyNodes(400, { files: 300 });
    expect(outcome.started).toBeGreaterThan(5);
    expect(outcome.started).toBeLessThan(60);
    expect(outcome.error).toMatch(
      /^cannot open another ZeroMQ socket: the process has used all 300 of its open files/,
    );
    expect(outcome.error).toContain("`ulimit -n`");
  });
});
