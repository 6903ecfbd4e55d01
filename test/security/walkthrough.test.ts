/**
 * docs/security.md's walk-through of a secured graph, run as written: every
 * line of its shell block in `sh -c` from a folder of this checkout holding
 * the quick start's `adder.ts` (so `npx zmp` is this checkout's build).
 * `export` lines set the terminal's environment (their `$(…)` evaluated by
 * the shell), the directory and lines ending in `&` run in the background
 * (each in its own process group) until they say they are ready, and every
 * other line runs to its end with its exit code and output checked against
 * what the page says. The directory's port 5555 is replaced by a free one;
 * nothing else is changed. Every process is stopped and the folder removed,
 * also on failure.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import {
  fenced,
  freePort,
  interrupt,
  type Running,
  section,
  cleanEnv as shellEnv,
  start,
  within,
} from "../shell.js";

/** The environment of a child: this test's ZMP_* settings are not the terminal's. */
const cleanEnv = (extra: Record<string, string>) => shellEnv(extra, /^ZMP_/);

const root = fileURLToPath(new URL("../..", import.meta.url));

/** What a background command prints once it is ready. */
const readyLine: [RegExp, RegExp][] = [
  [/zmp directory /, /^directory listening on /m],
  [/zmp run /, / running at .*; Ctrl-C stops it$/m],
  [/zmp proxy service /, /^Ctrl-C takes it out of the graph/m],
];

const keygen = /^key pair written to \S+ \(mode 600\)\npublic key: \S{40}\n$/;
/** What each line ending must do, by the line as written: its exit code and what it prints. */
const expected: Record<string, { code: number; out?: RegExp; err?: RegExp }> = {
  "npx zmp keygen --out directory.json": { code: 0, out: keygen },
  "npx zmp keygen --out adder.json": { code: 0, out: keygen },
  "npx zmp keygen --out operator.json": { code: 0, out: keygen },
  "npx zmp keygen --out stranger.json": { code: 0, out: keygen },
  "ZMP_KEYS=operator.json npx zmp call add '[2, 3]'": { code: 0, out: /^5\n$/ },
  "ZMP_KEYS=operator.json npx zmp proxy pause proxy.add": { code: 0, out: /^paused: service:add\n$/ },
  "ZMP_KEYS=operator.json npx zmp proxy resume proxy.add": { code: 0, out: /^resumed: service:add\n$/ },
  "ZMP_KEYS=stranger.json npx zmp call add '[2, 3]'": {
    code: 1,
    err: /^zmp call: .*the directory at tcp:\/\/127\.0\.0\.1:\d+ refused the security handshake.*\n$/,
  },
  "ZMP_KEYS=adder.json npx zmp run ./adder.ts --name evil": {
    code: 1,
    err: /^zmp run: .*ForbiddenError: key \S+… may not register the name `evil` \(see its line in the allow list\)\n$/,
  },
  "ZMP_KEYS=adder.json npx zmp proxy pause proxy.add": {
    code: 1,
    err: /^zmp proxy: ForbiddenError: `proxy\.add\.control` steers this node and takes a caller whose key may steer: its key may not steer \(no `control` in the allow list\)\n$/,
  },
};

describe("security – the walk-through", () => {
  it("walk-through – docs/security.md's secured graph runs as written: joins, calls and steers; refuses the three it says", async () => {
    const doc = readFileSync(join(root, "docs", "security.md"), "utf8");
    const readme = readFileSync(join(root, "README.md"), "utf8");
    const [block] = fenced(section(doc, "A secured graph across two terminals"), "sh");
    const [adder] = fenced(section(readme, "Quick start"), "ts");
    expect(adder).toContain("// adder.ts");
    const dir = mkdtempSync(join(root, "test", ".security-walk-"));
    writeFileSync(join(dir, "adder.ts"), adder!);
    const port = await freePort();
    const background: Running[] = [];
    const env: Record<string, string> = {};
    const ran: string[] = [];
    try {
      for (const raw of block!.split("\n")) {
        const line = raw.trim();
        if (line === "" || line.startsWith("#")) continue;
        ran.push(line);
        const actual = line.replaceAll("127.0.0.1:5555", `127.0.0.1:${port}`);
        const exported = /^export (\w+)=(.+)$/.exec(actual);
        if (exported) {
          const r = start(`${exported[1]}=${exported[2]}; printf %s "$${exported[1]}"`, dir, cleanEnv(env));
          expect(await within(r.exited, 30_000, line), `${line}: ${r.err()}`).toBe(0);
          env[exported[1]!] = r.out();
          continue;
        }
        const ready = readyLine.find(([command]) => command.test(line))?.[1];
        if (line.endsWith(" &") || /zmp directory /.test(line)) {
          expect(ready, `the test knows when \`${line}\` is ready`).toBeDefined();
          const r = start(actual.replace(/ &$/, ""), dir, cleanEnv(env));
          background.push(r);
          const deadline = Date.now() + 60_000;
          while (!ready!.test(r.out()) && r.child.exitCode === null && Date.now() < deadline)
            await new Promise((resolve) => setTimeout(resolve, 50));
          expect(r.child.exitCode, `${line} exited early: ${r.err()}`).toBeNull();
          expect(r.out(), `${line} ready: ${r.err()}`).toMatch(ready!);
          continue;
        }
        // An `echo … > allowed` line writes the allow file: what the directory admits checks it.
        const want = line.startsWith("echo ") ? { code: 0, err: /^$/ } : expected[line];
        expect(want, `the test knows what \`${line}\` does`).toBeDefined();
        const r = start(actual, dir, cleanEnv(env));
        let code: number | null;
        try {
          code = await within(r.exited, 60_000, line);
        } catch (error) {
          interrupt(r, "SIGKILL");
          throw error;
        }
        expect({ line, code, err: r.err() }).toMatchObject({ line, code: want!.code });
        if (want!.out) expect(r.out(), line).toMatch(want!.out);
        if (want!.err) expect(r.err(), line).toMatch(want!.err);
      }
      expect(ran.length).toBe(17);
    } finally {
      for (const r of background.reverse()) interrupt(r, "SIGINT");
      for (const r of background)
        await within(r.exited, 15_000, r.line).catch(() => {
          interrupt(r, "SIGKILL");
          return r.exited;
        });
      rmSync(dir, { recursive: true, force: true });
    }
  }, 300_000);
});
