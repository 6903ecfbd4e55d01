/**
 * How `zmp` commands in another terminal find a running graph: an embedded
 * directory records its endpoint in a per-user file, and `findDirectory()`
 * returns the newest one whose process is still alive. `--directory` or the
 * `ZMP_DIRECTORY` environment variable override it.
 */
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir, userInfo } from "node:os";
import { join } from "node:path";

interface Entry {
  endpoint: string;
  pid: number;
  startedAt: number;
}

/** The per-user file listing running embedded directories. */
export function discoveryFile(): string {
  const base = process.env.XDG_RUNTIME_DIR ?? tmpdir();
  return join(base, `zmp-${userInfo().uid}`, "directories.json");
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

function read(): Entry[] {
  try {
    const parsed = JSON.parse(readFileSync(discoveryFile(), "utf8")) as unknown;
    if (!Array.isArray(parsed)) return [];
    return parsed.filter(
      (e): e is Entry =>
        typeof e?.endpoint === "string" && Number.isInteger(e?.pid) && typeof e?.startedAt === "number",
    );
  } catch {
    return [];
  }
}

function write(entries: Entry[]): void {
  const file = discoveryFile();
  if (entries.length === 0) {
    rmSync(file, { force: true });
    return;
  }
  mkdirSync(join(file, ".."), { recursive: true, mode: 0o700 });
  const temp = `${file}.${process.pid}.tmp`;
  writeFileSync(temp, JSON.stringify(entries), { mode: 0o600 });
  renameSync(temp, file);
}

/** Records a running directory (skipped when `ZMP_NO_ADVERTISE=1`). */
export function rememberDirectory(endpoint: string): void {
  if (process.env.ZMP_NO_ADVERTISE === "1") return;
  try {
    const entries = read().filter((e) => alive(e.pid) && e.endpoint !== endpoint);
    entries.push({ endpoint, pid: process.pid, startedAt: Date.now() });
    write(entries);
  } catch {
    // Discovery is a convenience: a read-only or full disk must not stop the graph.
  }
}

/** Removes a directory recorded by this process. */
export function forgetDirectory(endpoint: string): void {
  if (process.env.ZMP_NO_ADVERTISE === "1") return;
  try {
    write(read().filter((e) => alive(e.pid) && !(e.endpoint === endpoint && e.pid === process.pid)));
  } catch {
    // see rememberDirectory
  }
}

/** The endpoint to use: `ZMP_DIRECTORY`, else the newest live recorded directory, else undefined. */
export function findDirectory(): string | undefined {
  const fromEnv = process.env.ZMP_DIRECTORY;
  if (fromEnv) return fromEnv;
  const live = read().filter((e) => alive(e.pid));
  live.sort((a, b) => b.startedAt - a.startedAt);
  return live[0]?.endpoint;
}
