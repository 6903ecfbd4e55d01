/**
 * The CLI in a secured graph: `zmp keygen` writes key pairs, and any command
 * joins a CurveZMQ graph with ZMP_KEYS / ZMP_DIRECTORY_KEY (or --keys,
 * --directory-key); a key the graph does not allow gets one clear line.
 */
import { spawn } from "node:child_process";
import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Graph } from "../../../core/index.js";
import { eventually, tempDir } from "../../helpers.js";

const root = fileURLToPath(new URL("../../../", import.meta.url));

function zmp(
  args: string[],
  env: NodeJS.ProcessEnv = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, ["--import", "tsx", "cli.ts", ...args], {
    cwd: root,
    env: { ...process.env, ZMP_KEYS: "", ZMP_DIRECTORY_KEY: "", ZMP_ALLOW: "", ZMP_INSECURE: "", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
  child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
  const timer = setTimeout(() => child.kill("SIGKILL"), 30_000);
  return new Promise((resolve) =>
    child.once("exit", (code) => {
      clearTimeout(timer);
      setImmediate(() => resolve({ code, stdout, stderr }));
    }),
  );
}

describe("CLI with CurveZMQ", () => {
  const tmp = tempDir();
  let graph: Graph;
  const file = (name: string): string => join(tmp.dir, name);
  const keys = (name: string): { publicKey: string; secretKey: string } =>
    JSON.parse(readFileSync(file(name), "utf8"));

  beforeAll(async () => {
    for (const name of ["graph.json", "cli.json", "stranger.json"]) {
      const run = await zmp(["keygen", "--out", file(name)]);
      expect(run.code, run.stderr).toBe(0);
      expect(run.stdout).toContain("public key:");
      expect(statSync(file(name)).mode & 0o777).toBe(0o600);
    }
    const g = keys("graph.json");
    graph = await Graph.open({
      transport: "tcp",
      security: { ...g, allow: [g.publicKey, keys("cli.json").publicKey] },
    });
    const adder = await graph.node("adder");
    adder.provide("add", ([a, b]: [number, number]) => a + b);
    await adder.synced();
  }, 60_000);

  afterAll(async () => {
    await graph?.close();
    tmp.remove();
  });

  it("cli security – keygen will not overwrite a key file", async () => {
    const run = await zmp(["keygen", "--out", file("cli.json")]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/cannot write/);
  });

  it("cli security – an allowed key pair calls into the secured graph", async () => {
    const env = { ZMP_KEYS: file("cli.json"), ZMP_DIRECTORY_KEY: keys("graph.json").publicKey };
    const run = await zmp(["call", "add", "[2, 3]", "--directory", graph.directory], env);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout.trim()).toBe("5");
  });

  it("cli security – a key the graph does not allow gets one clear line and exit code 1", async () => {
    const run = await zmp(["call", "add", "[2, 3]", "--directory", graph.directory, "--timeout-ms", "2000"], {
      ZMP_KEYS: file("stranger.json"),
      ZMP_DIRECTORY_KEY: keys("graph.json").publicKey,
    });
    expect(run.code).toBe(1);
    expect(run.stderr.trim().split("\n")).toHaveLength(1);
    expect(run.stderr).toMatch(/refused the security handshake/);
  });

  it("cli security – keys without the directory's key is a usage error", async () => {
    const run = await zmp(["graph", "--directory", graph.directory], { ZMP_KEYS: file("cli.json") });
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/ZMP_DIRECTORY_KEY/);
  });
});

/** `zmp directory` in the background until `stop()`; resolves once it printed where it listens. */
async function backgroundDirectory(
  args: string[],
  env: NodeJS.ProcessEnv = {},
): Promise<{ endpoint: string; out: () => string; stop: () => Promise<void> }> {
  const child = spawn(process.execPath, ["--import", "tsx", "cli.ts", "directory", ...args], {
    cwd: root,
    env: { ...process.env, ZMP_KEYS: "", ZMP_DIRECTORY_KEY: "", ZMP_ALLOW: "", ZMP_INSECURE: "", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  child.stdout.on("data", (c: Buffer) => (out += c.toString()));
  child.stderr.on("data", (c: Buffer) => (out += c.toString()));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    await exited;
  };
  try {
    const endpoint = await eventually(
      () => /join it with: --directory (tcp:\/\/\S+)/.exec(out)?.[1],
      "the directory to listen",
      {
        timeoutMs: 20_000,
      },
    );
    return { endpoint, out: () => out, stop };
  } catch (error) {
    await stop();
    throw new Error(`${(error as Error).message}; it printed: ${out}`);
  }
}

describe("CLI security defaults", () => {
  const tmp = tempDir();
  afterAll(() => tmp.remove());

  it("cli security – zmp directory on tcp takes this user's key: this user's commands join, another user's are refused", async () => {
    const directory = await backgroundDirectory(["--bind", "tcp://127.0.0.1:0", "--heartbeat-ms", "200"]);
    try {
      expect(directory.out()).toMatch(/secured with this user's key/);
      const mine = await zmp(["graph", "--directory", directory.endpoint]);
      expect(mine.code, mine.stderr).toBe(0);
      // Another user: another per-user folder, so another key.
      const other = await zmp(["graph", "--directory", directory.endpoint, "--timeout-ms", "2000"], {
        ZMP_HOME: join(tmp.dir, "other-user"),
      });
      expect(other.code).toBe(1);
      expect(other.stderr, other.stderr).toMatch(/refused the security handshake/);
      expect(other.stderr).toMatch(/another user's graph/);
    } finally {
      await directory.stop();
    }
  }, 60_000);

  it("cli security – zmp directory with keys and no allow list refuses, unless told --allow-any", async () => {
    const key = join(tmp.dir, "dir.json");
    expect((await zmp(["keygen", "--out", key])).code).toBe(0);
    const refused = await zmp(["directory", "--keys", key, "--bind", "tcp://127.0.0.1:0"]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/--allow FILE.*--allow-any/);
    const open = await backgroundDirectory(["--keys", key, "--allow-any", "--bind", "tcp://127.0.0.1:0"]);
    await open.stop();
    expect(open.out()).toMatch(/secured with the key in/);
  }, 60_000);

  it("cli security – --insecure says so at start, and will not listen beyond loopback unless --insecure-network", async () => {
    const plain = await backgroundDirectory(["--insecure", "--bind", "tcp://127.0.0.1:0"]);
    await plain.stop();
    expect(plain.out()).toMatch(/INSECURE: no credential/);
    const wide = await zmp(["directory", "--insecure", "--bind", "tcp://0.0.0.0:0"]);
    expect(wide.code).toBe(1);
    expect(wide.stderr).toMatch(/refusing to listen on 0\.0\.0\.0 without authentication/);
  }, 60_000);
});
