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
import { tempDir } from "../../helpers.js";

const root = fileURLToPath(new URL("../../../", import.meta.url));

function zmp(
  args: string[],
  env: NodeJS.ProcessEnv = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, ["--import", "tsx", "cli.ts", ...args], {
    cwd: root,
    env: { ...process.env, ZMP_KEYS: "", ZMP_DIRECTORY_KEY: "", ZMP_ALLOW: "", ...env },
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
