/**
 * The README, run as written, from this checkout and from an installed
 * tarball:
 *
 * - the quick start's two files, saved and run with tsx, print what the
 *   README says (and the control and feedback-loop examples of
 *   docs/control.md and docs/feedback-loops.md print theirs);
 * - every shell command of the README's walk-throughs runs as a terminal
 *   would run it (`sh -c` with the line as written; the long-running ones in
 *   the background, each in its own process group, so "Ctrl-C" is a SIGINT
 *   to that group), and what it prints is checked against what the README
 *   says it prints. The directory's port 5555 is replaced by a free one, so
 *   parallel runs cannot collide; nothing else is changed;
 * - the install: `npm pack` of this checkout, then the README's install
 *   commands in a temp folder (npm takes the dependencies from its cache or
 *   the registry), then the quick start and the walk-throughs again there.
 *
 * Every process is stopped and every folder removed, also on failure. The
 * README's other commands are listed in `notRunHere` with the reason.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { cleanEnv, fenced, freePort, interrupt, type Running, section, start, within } from "./shell.js";

const root = fileURLToPath(new URL("..", import.meta.url));
const readme = readFileSync(join(root, "README.md"), "utf8");

/** README commands not run by this test, and why. */
const notRunHere: Record<string, string> = {
  "npm run setup && npm start":
    "CI runs setup on a clean clone; npm start's experiment runs live in test/toolbox/loop",
  "npm test": "this is npm test",
  "npx vitest run test/toolbox/control": "a part of npm test",
  "npx vitest run test/core": "a part of npm test",
  "npm run lint": "CI runs it (.ci/run)",
};

const everything: Running[] = [];

/** Starts `line` as a terminal would; every command started is stopped after the tests. */
function started(line: string, cwd: string, env: NodeJS.ProcessEnv): Running {
  const running = start(line, cwd, env);
  everything.push(running);
  return running;
}

/** Runs `line` to its end (deadline `ms`): its exit code and output. */
async function run(line: string, cwd: string, env: NodeJS.ProcessEnv, ms = 60_000) {
  const r = started(line, cwd, env);
  try {
    const code = await within(r.exited, ms, line);
    return { code, out: r.out(), err: r.err() };
  } catch (error) {
    interrupt(r, "SIGKILL");
    throw new Error(`${(error as Error).message}\nstdout: ${r.out()}\nstderr: ${r.err()}`);
  }
}

/** Polls until `check` holds or `ms` pass. */
async function until(check: () => boolean, what: string, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

afterAll(async () => {
  for (const r of everything) interrupt(r);
  await Promise.all(
    everything.map((r) => within(r.exited, 10_000, r.line).catch(() => interrupt(r, "SIGKILL"))),
  );
});

/** What a long-running command prints once it is ready. */
const readyLine: [RegExp, RegExp][] = [
  [/zmp directory /, /^directory listening on /m],
  [/zmp run /, / running at .*; Ctrl-C stops it$/m],
  [/zmp (proxy|cache) (service|queue|topic) /, /^Ctrl-C takes it out of the graph/m],
];

/** What each command of the walk-throughs must print (stdout), by the line as written. */
const expected: Record<string, (out: string) => void> = {
  "npx zmp graph": (out) => {
    expect(out).toMatch(/^NODE \/ CHANNEL +HOST +PID +RATE\/s +BACKLOG +ENDPOINT$/m);
    expect(out).toMatch(/^adder +remote +\d+ +tcp:\/\//m);
    expect(out).toMatch(/^ {2}service add +[\d.]+ +0$/m);
    expect(out).toMatch(/^ {2}publish sensor\/temp +[\d.]+ +\d+$/m);
  },
  "npx zmp call add '[2, 3]'": (out) => expect(out).toBe("5\n"),
  "npx zmp echo sensor/ --count 2": (out) => {
    const [a, b] = out
      .trim()
      .split("\n")
      .map((l) => Number(/^sensor\/temp: (\d+)$/.exec(l)?.[1]));
    expect(b! - a!, out).toBe(1); // the next two readings of the counter
  },
  "npx zmp hz sensor/temp --count 1": (out) => {
    const rate = Number(/^sensor\/temp: average rate ([\d.]+) msg\/s {2}min /.exec(out)?.[1]);
    expect(rate, out).toBeGreaterThan(10); // "about 20 msg/s"
    expect(rate, out).toBeLessThan(40);
  },
  "npx zmp stats adder": (out) => {
    expect(out).toMatch(/^node adder \(adder#\w+\): remote host, pid \d+, up [\d.]+ s$/m);
    expect(out).toMatch(/^service +add +[\d.]+ +1 +1 /m); // the one call above
  },
  "npx zmp proxy stats proxy.jobs": (out) =>
    expect(out).toMatch(
      /^queue:jobs +running +\d+ +\d+ +\d+ +offered=\d+ admitted=\d+ shed=0 handled=\d+ backlog=\d+ /m,
    ),
  "npx zmp echo tap/proxy.jobs/jobs --count 1": (out) =>
    expect(out).toMatch(
      /^tap\/proxy\.jobs\/jobs: \{"time":\d+,"queue":"jobs","message":\d+,"admitted":true\}\n$/,
    ),
  "npx zmp proxy set proxy.jobs '{\"rate\": 50}'": (out) =>
    expect(out).toMatch(/^queue:jobs +running .* rate=50 /m),
  "npx zmp proxy pause proxy.jobs": (out) => expect(out).toBe("paused: queue:jobs\n"),
  "npx zmp proxy resume proxy.jobs": (out) => expect(out).toBe("resumed: queue:jobs\n"),
  "npx zmp proxy set proxy.jobs '{\"rate\": null}'": (out) =>
    expect(out).toMatch(/^queue:jobs +running .* rate=- /m),
  // KIND CHANNEL RATE IN OUT BACKLOG PEAK INFLIGHT DROPS ERRORS …: no error on the producer's pushes.
  "npx zmp stats load": (out) => expect(out).toMatch(/^push +jobs +[\d.]+ +\d+ +\d+ +\d+ +\d+ +\d+ +0 +0 /m),
  "npx zmp experiment list": (out) => expect(out).toMatch(/^delay-step\b/m),
  "npx zmp experiment run delay-step --plant sim": (out) =>
    expect(out).toMatch(/^wrote .*: data\.csv, summary\.json, report\.html/m),
};

/** What a background command prints when Ctrl-C takes it down, by the line as written. */
const afterCtrlC: Record<string, RegExp> = {
  "npx zmp proxy queue jobs --tap --sample 50": /^queue proxy for "jobs" left the graph$/m,
};

/**
 * Runs the shell blocks of the README sections `titles` in `cwd`, as their
 * terminals would: `export` lines set the environment, long-running commands
 * start in the background and are waited on until ready, a comment saying
 * Ctrl-C interrupts that terminal's last one, every other command runs to
 * its end and its output is checked. Returns the commands it ran.
 */
async function walkThrough(titles: string[], cwd: string, port: number): Promise<string[]> {
  const env: Record<string, string> = {};
  const terminals = new Map<string, Running[]>();
  const ran: string[] = [];
  let terminal = "1";
  try {
    for (const title of titles)
      for (const block of fenced(section(readme, title), "sh"))
        for (const raw of block.split("\n")) {
          const line = raw.trim();
          if (line === "") continue;
          const comment = /^# terminal (\d+)\b(.*)$/.exec(line);
          if (comment) {
            terminal = comment[1]!;
            if (/Ctrl-C/.test(comment[2]!)) {
              const last = terminals.get(terminal)?.pop();
              expect(last, `a command to Ctrl-C in terminal ${terminal}`).toBeDefined();
              interrupt(last!);
              await within(last!.exited, 20_000, `${last!.line} after Ctrl-C`);
              const shown = afterCtrlC[last!.line];
              if (shown) expect(last!.out()).toMatch(shown);
            }
            continue;
          }
          if (line.startsWith("#")) continue;
          ran.push(line);
          const actual = line.replaceAll("127.0.0.1:5555", `127.0.0.1:${port}`);
          const exported = /^export (\w+)=(\S+)$/.exec(actual);
          if (exported) {
            env[exported[1]!] = exported[2]!;
            continue;
          }
          const ready = readyLine.find(([command]) => command.test(line))?.[1];
          if (ready) {
            const r = started(actual, cwd, cleanEnv(env));
            terminals.set(terminal, [...(terminals.get(terminal) ?? []), r]);
            await until(() => ready.test(r.out()) || r.child.exitCode !== null, `${line} to be ready`).catch(
              (error: Error) => {
                throw new Error(`${error.message}\nstdout: ${r.out()}\nstderr: ${r.err()}`);
              },
            );
            expect(r.child.exitCode, `${line} exited early: ${r.err()}`).toBeNull();
            continue;
          }
          const check = expected[line];
          expect(check, `the test knows what \`${line}\` prints`).toBeDefined();
          const { code, out, err } = await run(actual, cwd, cleanEnv(env));
          expect({ line, code, err }).toEqual({ line, code: 0, err: expect.any(String) });
          check!(out);
          const wrote = /^wrote (\S+): /m.exec(out);
          if (wrote) rmSync(resolve(cwd, wrote[1]!), { recursive: true, force: true });
        }
  } finally {
    for (const list of terminals.values()) for (const r of list.reverse()) interrupt(r);
    for (const list of terminals.values())
      for (const r of list) await within(r.exited, 15_000, r.line).catch(() => interrupt(r, "SIGKILL"));
  }
  return ran;
}

const walkThroughs = ["A graph across terminals", "Proxies and caches", "Experiments"];

/** Saves the quick start's two files in `dir`, runs main.ts with tsx, and checks its output. */
async function quickStart(dir: string, command: string): Promise<void> {
  const [adder, main] = fenced(section(readme, "Quick start"), "ts");
  expect(adder).toContain("// adder.ts");
  expect(main).toContain("// main.ts");
  writeFileSync(join(dir, "adder.ts"), adder!);
  writeFileSync(join(dir, "main.ts"), main!);
  const { code, out, err } = await run(command, dir, cleanEnv(), 60_000);
  expect(err).toBe("");
  expect(code).toBe(0);
  expect(out.trim().split("\n")).toEqual([
    "3",
    "sensor/temp 21.5",
    "3 message(s) not yet handled",
    "handled 0",
    "handled 1",
    "handled 2",
  ]);
}

describe("README", () => {
  it("readme – every shell command is run by this test, or listed with the reason it is not", () => {
    const lines = fenced(readme, "sh")
      .flatMap((b) => b.split("\n"))
      .map((l) => l.replace(/\s+#.*$/, "").trim())
      .filter((l) => l !== "" && !l.startsWith("#"));
    const install = fenced(section(readme, "Install as a dependency"), "sh").flatMap((b) =>
      b.trim().split("\n"),
    );
    const walked = walkThroughs
      .flatMap((t) => fenced(section(readme, t), "sh"))
      .flatMap((b) => b.split("\n"));
    for (const line of lines) {
      const covered = line in notRunHere || install.includes(line) || walked.some((w) => w.trim() === line);
      expect(covered, line).toBe(true);
    }
  });

  it("readme – from this checkout: the quick start prints what the README says", async () => {
    expect(existsSync(join(root, "dist", "index.js")), "the package is built (npm run build)").toBe(true);
    // Inside the repository, so `import … from "zmp"` is the package's own self-reference.
    const dir = mkdtempSync(join(root, "test", ".readme-"));
    try {
      await quickStart(dir, "npx tsx main.ts");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 90_000);

  it("readme – from this checkout: the walk-throughs run as written and print what the README says", async () => {
    // In a folder of the checkout (npx finds its zmp, `zmp/nodes/…` resolves to the checkout's
    // build), with the quick start's adder.ts saved there.
    const [adder] = fenced(section(readme, "Quick start"), "ts");
    const dir = mkdtempSync(join(root, "test", ".readme-"));
    writeFileSync(join(dir, "adder.ts"), adder!);
    try {
      const ran = await walkThrough(walkThroughs, dir, await freePort());
      expect(ran.length).toBeGreaterThan(15);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 240_000);

  it("readme – from an npm install: the install commands, the quick start and the walk-throughs", async () => {
    // Named like this process's private folders: a SIGKILLed run's is removed by the next run.
    const dir = mkdtempSync(join(tmpdir(), `zmp-${process.pid}-`));
    try {
      const packed = await run(`npm pack --silent --pack-destination ${dir}`, root, cleanEnv(), 60_000);
      expect(packed.code, packed.err).toBe(0);
      const tarball = join(dir, packed.out.trim().split("\n").at(-1)!);
      // The README's clone is ../zmp next to the new project: put the tarball where it says.
      mkdirSync(join(dir, "zmp"));
      const [install] = fenced(section(readme, "Install as a dependency"), "sh");
      const lines = install!.trim().split("\n");
      expect(lines[0]).toBe("mkdir my-graph && cd my-graph && npm init -y && npm pkg set type=module");
      const setUp = await run(lines[0]!, dir, cleanEnv(), 60_000);
      expect(setUp.code, setUp.err).toBe(0);
      const project = join(dir, "my-graph");
      const at = lines[1]!.replace("../zmp/zmp-0.1.0.tgz", tarball);
      expect(lines[1]).toContain("../zmp/zmp-0.1.0.tgz");
      const installed = await run(
        `${at} --no-audit --no-fund --prefer-offline`,
        project,
        cleanEnv(),
        180_000,
      );
      expect(installed.code, installed.err).toBe(0);
      const manifest = JSON.parse(readFileSync(join(project, "package.json"), "utf8"));
      expect(manifest).toMatchObject({ type: "module", devDependencies: { tsx: expect.any(String) } });
      expect(existsSync(join(project, "node_modules", "playwright-core")), "optional: not installed").toBe(
        false,
      );

      await quickStart(project, "npx tsx main.ts");
      const ran = await walkThrough(walkThroughs, project, await freePort());
      expect(ran.length).toBeGreaterThan(15);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 420_000);

  it("readme – the control toolbox's PID example (docs/control.md) prints the output shown under it", async () => {
    const doc = readFileSync(join(root, "docs", "control.md"), "utf8");
    const match = /```ts\n([\s\S]*?)```\n\n```\n([\s\S]*?)```/.exec(doc);
    expect(match, "a ts block followed by its output block").not.toBeNull();
    const [, code, shown] = match!;
    expect(code).toContain('from "zmp/control"');
    const dir = mkdtempSync(join(root, "test", ".readme-"));
    try {
      writeFileSync(join(dir, "pid.ts"), code!);
      const { code: exit, out, err } = await run("npx tsx pid.ts", dir, cleanEnv(), 60_000);
      expect(err).toBe("");
      expect(exit).toBe(0);
      // Pure maths: the same numbers to the last digit.
      expect(out.trim()).toBe(shown!.trim());
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 90_000);

  it("readme – the feedback-loop example (docs/feedback-loops.md) runs at the repository's root and retunes its loop live", async () => {
    const doc = readFileSync(join(root, "docs", "feedback-loops.md"), "utf8");
    const loop = fenced(doc, "ts").find((b) => b.includes("// loop.ts"));
    expect(loop, "docs/feedback-loops.md has the loop.ts example").toContain(
      "// loop.ts, in this repository",
    );
    // Where the docs say to save it: the root (it spawns ./toolbox/nodes/queue-worker.ts).
    const file = `.readme-loop-${process.pid}.ts`;
    writeFileSync(join(root, file), loop!);
    try {
      const { code, out, err } = await run(`npx tsx ${file}`, root, cleanEnv(), 60_000);
      expect(err).toBe("");
      expect(code).toBe(0);
      // `time setpoint measurement applied { p, i, d, ff }`, one line per 10th sample of the last 40.
      // A sample whose sensor did not answer within its period (a loaded machine) holds the output
      // and reads `time setpoint NaN applied {}`: documented ("Errors: hold the last output").
      const lines = out.trim().split("\n");
      const measured = /^(\d+\.\d) (\d+) (\d+) (-?\d+) \{ p: .*, i: .*, d: .*, ff: .* \}$/;
      const held = /^(\d+\.\d) (\d+) NaN (-?\d+) \{\}$/;
      expect(lines.length).toBeGreaterThanOrEqual(3);
      for (const line of lines) expect(measured.test(line) || held.test(line), out).toBe(true);
      const setpoints = lines.map((line) => Number((measured.exec(line) ?? held.exec(line))![2]));
      expect(setpoints.at(-1)).toBe(80); // the retune over the loop's service took effect
      // Admission opens after the retune and the backlog rises toward 80 (100 msg/s net inflow).
      const backlogs = lines.flatMap((line) => measured.exec(line)?.[3] ?? []).map(Number);
      expect(backlogs.length, out).toBeGreaterThan(0);
      expect(backlogs.at(-1)).toBeGreaterThan(40);
    } finally {
      rmSync(join(root, file), { force: true });
    }
  }, 90_000);
});
