import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually } from "../../helpers.js";

/**
 * A graph over three hosts: network namespaces joined by veth pairs to a
 * bridge (as root, as CI is). The directory runs on host 0, a provider on
 * host 1, a caller on host 2. Host 1 is cut off and healed: the directory
 * notices within its heartbeat bound, and traffic resumes after healing.
 */
const heartbeatMs = 200;
const tag = `z${process.pid % 100000}`;
const hub = `${tag}h`;
const hosts = [0, 1, 2].map((i) => `${tag}n${i}`);
const subnet = `10.${200 + (process.pid % 50)}.${process.pid % 250}`;
const ip = (i: number): string => `${subnet}.${i + 1}`;

function sh(...args: string[]): void {
  execFileSync("ip", args, { stdio: "pipe" });
}

function canMakeNamespaces(): string | undefined {
  if (process.getuid?.() !== 0) return "not root";
  try {
    sh("netns", "add", `${tag}probe`);
    sh("netns", "del", `${tag}probe`);
    return undefined;
  } catch (error) {
    return `ip netns failed: ${(error as Error).message}`;
  }
}

const whyNot = canMakeNamespaces();

interface Host {
  child: ChildProcess;
  lines: Record<string, unknown>[];
}

function run(ns: string, ...args: string[]): Host {
  const file = new URL("../../fixtures/netns-role.ts", import.meta.url).pathname;
  const child = spawn(
    "ip",
    ["netns", "exec", ns, process.execPath, "--import", import.meta.resolve("tsx"), file, ...args],
    {
      stdio: ["ignore", "pipe", "inherit"],
    },
  );
  const host: Host = { child, lines: [] };
  let buffer = "";
  child.stdout!.on("data", (chunk: Buffer) => {
    buffer += chunk.toString();
    let nl = buffer.indexOf("\n");
    while (nl >= 0) {
      host.lines.push(JSON.parse(buffer.slice(0, nl)) as Record<string, unknown>);
      buffer = buffer.slice(nl + 1);
      nl = buffer.indexOf("\n");
    }
  });
  return host;
}

describe.skipIf(whyNot !== undefined)(
  `multi-host over network namespaces${whyNot ? ` (skipped: ${whyNot})` : ""}`,
  () => {
    const started: Host[] = [];

    beforeAll(() => {
      for (const ns of [hub, ...hosts]) sh("netns", "add", ns);
      sh("-n", hub, "link", "add", "br0", "type", "bridge");
      sh("-n", hub, "link", "set", "br0", "up");
      hosts.forEach((ns, i) => {
        sh("link", "add", `v${i}`, "netns", ns, "type", "veth", "peer", "name", `p${i}`, "netns", hub);
        sh("-n", hub, "link", "set", `p${i}`, "master", "br0", "up");
        sh("-n", ns, "addr", "add", `${ip(i)}/24`, "dev", `v${i}`);
        sh("-n", ns, "link", "set", `v${i}`, "up");
        sh("-n", ns, "link", "set", "lo", "up");
      });
    });

    afterAll(async () => {
      for (const h of started) {
        if (h.child.exitCode === null) h.child.kill("SIGKILL");
        await new Promise((r) =>
          h.child.exitCode !== null || h.child.signalCode !== null ? r(null) : h.child.once("exit", r),
        );
      }
      for (const ns of [...hosts, hub]) {
        try {
          sh("netns", "del", ns);
        } catch {
          // already gone
        }
      }
    });

    it("netns – a host cut off is evicted within the heartbeat bound, and traffic resumes after healing", async () => {
      const directory = run(hosts[0]!, "directory", `tcp://${ip(0)}:5555`, String(heartbeatMs));
      started.push(directory);
      await eventually(() => directory.lines.some((l) => l.ready), "the directory on host 0", {
        timeoutMs: 20_000,
      });
      const endpoint = `tcp://${ip(0)}:5555`;
      const provider = run(hosts[1]!, "provider", endpoint, ip(1), "far");
      const caller = run(hosts[2]!, "caller", endpoint, ip(2), "near");
      started.push(provider, caller);
      const okSince = (t: number): number =>
        Math.max(
          0,
          ...caller.lines
            .filter((l) => (l.t as number) >= t && typeof l.ok === "number")
            .map((l) => l.ok as number),
        );
      await eventually(() => okSince(0) > 20, "calls across hosts", { timeoutMs: 20_000 });

      // Cut host 1 off: no FIN, no RST — only the heartbeats can tell.
      const cutAt = Date.now();
      sh("-n", hosts[1]!, "link", "set", "v1", "down");
      const down = await eventually(
        () => directory.lines.find((l) => l.op === "down" && (l.t as number) >= cutAt),
        "the directory to evict the cut-off host",
      );
      expect(down.reason).toBe("missed heartbeats");
      expect((down.t as number) - cutAt).toBeLessThanOrEqual(3 * heartbeatMs);
      const okAtCut = okSince(0);
      await eventually(
        () => caller.lines.some((l) => (l.t as number) > (down.t as number) && (l.failed as number) > 0),
        "calls to fail while cut off",
      );

      // Heal: the provider re-registers by itself and calls succeed again.
      const healAt = Date.now();
      sh("-n", hosts[1]!, "link", "set", "v1", "up");
      await eventually(
        () => directory.lines.some((l) => l.op === "up" && l.name === "far" && (l.t as number) >= healAt),
        "the healed host to re-register",
      );
      await eventually(() => okSince(healAt) > okAtCut + 10, "traffic to resume after healing", {
        timeoutMs: 15_000,
      });
    });
  },
);
