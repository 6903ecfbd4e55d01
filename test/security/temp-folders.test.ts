/**
 * Private temp folders after a SIGKILL: a graph process keeps its ipc socket
 * files in `<tmpdir>/zmp-<pid>-XXXXXX` (0700) and removes it when it closes,
 * but a killed process cannot. The next `Graph.open()` removes the folders of
 * processes that no longer exist — never a live process's, never another
 * user's, never a link or anything not named like one.
 */
import { spawn } from "node:child_process";
import { chownSync, existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";
import { describe, expect, it } from "vitest";
import { removeStaleIpcDirs } from "../../core/endpoint.js";
import { Graph } from "../../core/index.js";
import { alive, cleanupAfterEach, eventually, startScript } from "../helpers.js";

const fixture = (name: string): URL => new URL(`../fixtures/${name}`, import.meta.url);

/** The pid of a process that ran and ended. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ["-e", "0"], { stdio: "ignore" });
  await new Promise((resolve) => child.once("exit", resolve));
  return child.pid!;
}

describe("security – temp folders", () => {
  const cleanup = cleanupAfterEach();

  it("temp folders – a SIGKILLed graph process's folder is removed by the next Graph.open()", async () => {
    // A temp dir of its own (the child inherits TMPDIR): another test file's Graph.open() must
    // not sweep the folder before this test has seen it outlive its process.
    const base = mkdtempSync(join(tmpdir(), "zmp-test-base-"));
    const tmpdirBefore = process.env.TMPDIR;
    process.env.TMPDIR = base;
    cleanup.push(() => {
      if (tmpdirBefore === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = tmpdirBefore;
      rmSync(base, { recursive: true, force: true });
    });
    const script = startScript(fixture("graph-parent.ts"));
    cleanup.push(() => script.kill());
    const { childPid, directory } = (await script.first) as { childPid: number; directory: string };
    const folder = dirname(directory.replace(/^ipc:\/\//, ""));
    expect(dirname(folder)).toBe(base);
    expect(basename(folder)).toMatch(new RegExp(`^zmp-${script.child.pid}-\\w{6}$`));
    expect(existsSync(join(folder, "directory.sock"))).toBe(true);

    // Not `script.kill()`: that also removes the folder, as tests do after a kill.
    const exited = new Promise((resolve) => script.child.once("exit", resolve));
    script.child.kill("SIGKILL");
    await exited;
    await eventually(() => !alive(childPid), "the parent's process node to end with it");
    expect(existsSync(folder)).toBe(true);
    const graph = await Graph.open({ advertise: false });
    try {
      expect(existsSync(folder)).toBe(false);
      // The new graph's own folder is live, and stays.
      const own = dirname(graph.directory.replace(/^ipc:\/\//, ""));
      expect(basename(own)).toMatch(new RegExp(`^zmp-${process.pid}-\\w{6}$`));
      expect(removeStaleIpcDirs()).not.toContain(own);
      expect(existsSync(own)).toBe(true);
    } finally {
      await graph.close();
    }
  });

  it("temp folders – never a live process's, another user's, a link, or another name", async () => {
    const base = mkdtempSync(join(tmpdir(), "zmp-test-stale-"));
    cleanup.push(() => rmSync(base, { recursive: true, force: true }));
    const dead = await deadPid();
    const folder = (name: string, file = "a.sock"): string => {
      const dir = join(base, name);
      mkdirSync(dir, { mode: 0o700 });
      writeFileSync(join(dir, file), "");
      return dir;
    };
    const stale = folder(`zmp-${dead}-aB3dE9`);
    const live = folder(`zmp-${process.ppid}-aB3dE9`);
    const mine = folder(`zmp-${process.pid}-aB3dE9`);
    const other = folder(`zmp-${dead}-OtHeR1`);
    const isRoot = process.getuid?.() === 0;
    if (isRoot) chownSync(other, 65534, 65534);
    const target = folder("kept-target");
    symlinkSync(target, join(base, `zmp-${dead}-LiNk01`));
    const odd = [
      folder(`zmp-${dead}-abc`),
      folder("zmp-size"),
      folder(`zmp-${dead}`),
      folder(`x-zmp-${dead}-abcdef`),
    ];
    writeFileSync(join(base, `zmp-${dead}-FiLe01`), "");

    // Another user's folder can be made only as root; otherwise that one is ours and goes too.
    expect(removeStaleIpcDirs(base).sort()).toEqual((isRoot ? [stale] : [stale, other]).sort());
    expect(existsSync(stale)).toBe(false);
    for (const kept of [
      live,
      mine,
      target,
      join(base, `zmp-${dead}-LiNk01`),
      join(base, `zmp-${dead}-FiLe01`),
      ...odd,
    ])
      expect(existsSync(kept), kept).toBe(true);
    expect(existsSync(join(target, "a.sock"))).toBe(true);
    if (isRoot) expect(existsSync(other)).toBe(true);
    // A base that cannot be read is not an error.
    expect(removeStaleIpcDirs(join(base, "missing"))).toEqual([]);
  });
});
