import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import {
  type CliIo,
  experimentCommand,
  experimentList,
  experimentRun,
  parseRunArgs,
} from "../../experiments/cli.js";
import { UsageError } from "../../toolbox/cli/command.js";
import { tempDir } from "../helpers.js";

/** An io that records what the command wrote. */
function recorder(tty = false): CliIo & { out: () => string; err: () => string } {
  let out = "";
  let err = "";
  return {
    stdout: { write: (text: string) => (out += text) },
    stderr: { write: (text: string) => (err += text), isTTY: tty },
    now: () => new Date(Date.UTC(2026, 0, 2, 3, 4, 5)),
    out: () => out,
    err: () => err,
  };
}

describe("experiment cli", () => {
  const dir = tempDir();
  afterAll(() => dir.remove());

  it("experiment cli – list shows every experiment and which plants it runs on", async () => {
    const io = recorder();
    expect(await experimentList([], io)).toBe(0);
    for (const name of ["backlog-step", "compare-controllers", "autotune", "autoscale", "cache-hit-rate"]) {
      expect(io.out()).toContain(name);
    }
    expect(io.out()).toContain("live not yet available");
    const json = recorder();
    expect(await experimentList(["--json"], json)).toBe(0);
    const entries = JSON.parse(json.out());
    expect(entries.map((e: { name: string }) => e.name)).toContain("backlog-step");
    expect(entries[0].plants).toEqual({ sim: "available", live: "available" });
    const cache = entries.find((e: { name: string }) => e.name === "cache-hit-rate");
    expect(cache.plants).toEqual({ sim: "available", live: "not yet available" });
    expect(await experimentList(["--bogus"], recorder())).toBe(2);
  });

  it("experiment cli – parses flags into the run context", () => {
    const parsed = parseRunArgs([
      "compare-controllers",
      "--controller",
      "pid,pie",
      "--controller",
      "aimd",
      "--kp",
      "2.5",
      "--param",
      "gainScale=4",
      "--seed",
      "7",
      "--duration",
      "12",
      "--sample-time",
      "0.05",
      "--scenario",
      "burst",
      "--repeats",
      "2",
      "--setpoint",
      "80",
      "--out",
      "x",
      "--no-png",
    ]);
    expect(parsed).toMatchObject({
      name: "compare-controllers",
      out: "x",
      png: false,
      context: {
        plant: "sim",
        seed: 7,
        duration: 12,
        sampleTime: 0.05,
        scenario: "burst",
        repeats: 2,
        setpoint: 80,
        controllers: ["pid", "pie", "aimd"],
        params: { kp: 2.5, gainScale: 4 },
      },
    });
  });

  it("experiment cli – rejects bad input with a clear message", () => {
    const bad: [string[], RegExp][] = [
      [[], /experiment NAME/],
      [["nope"], /Unknown experiment `nope`; expected one of delay-step, backlog-step/],
      [["backlog-step", "extra"], /one experiment NAME/],
      [["backlog-step", "--seed", "abc"], /--seed expects a number, got "abc"/],
      [["backlog-step", "--seed", "1.5"], /--seed expects an integer/],
      [["backlog-step", "--duration=-3"], /--duration expects a positive number/],
      // A value starting with a dash must be attached: parseArgs says how.
      [["backlog-step", "--duration", "-3"], /--duration=-XYZ/],
      [["backlog-step", "--duration", "0.5"], /at least 10 samples/],
      [["backlog-step", "--kp", "1e"], /--kp expects a number/],
      [["backlog-step", "--plant", "cloud"], /--plant expects sim or live/],
      [["cache-hit-rate", "--plant", "live"], /not yet available/],
      [["backlog-step", "--controller", "magic"], /no controller "magic"/],
      [["backlog-step", "--scenario", "burst"], /takes no --scenario/],
      [["compare-controllers", "--scenario", "flood"], /no scenario "flood"/],
      [["backlog-step", "--param", "share"], /KEY=NUMBER/],
      [["backlog-step", "--frobnicate"], /frobnicate/],
    ];
    for (const [argv, message] of bad) expect(() => parseRunArgs(argv), argv.join(" ")).toThrow(message);
    expect(() => parseRunArgs(["nope"])).toThrow(UsageError);
  });

  it("experiment cli – a usage error prints one line naming the flag and the help, and returns 2", async () => {
    const io = recorder();
    expect(await experimentRun(["backlog-step", "--seed", "x"], io)).toBe(2);
    expect(io.err()).toBe(
      'zmp experiment run: --seed expects a number, got "x"; see zmp experiment run --help\n',
    );
    expect(io.out()).toBe("");
  });

  it("experiment cli – a parameter the chosen controllers do not take, or out of range, returns 2", async () => {
    const io = recorder();
    expect(
      await experimentRun(["backlog-step", "--controller", "pie", "--kp", "2", "--quiet", "--no-png"], io),
    ).toBe(2);
    expect(io.err()).toMatch(/Parameter `kp` is not used by pie/);
    const negative = recorder();
    expect(
      await experimentRun(["backlog-step", "--kp=-2", "--ki", "1", "--quiet", "--no-png"], negative),
    ).toBe(2);
    expect(negative.err()).toMatch(/`kp`/);
  });

  it("experiment cli – the experiment command dispatches list and run, and rejects anything else", async () => {
    const io = recorder();
    expect(await experimentCommand.run(["list"], io)).toBe(0);
    expect(io.out()).toContain("backlog-step");
    expect(await experimentCommand.run(["run", "nope"], io)).toBe(2);
    expect(io.err()).toContain("Unknown experiment `nope`");
    const other = recorder();
    expect(await experimentCommand.run(["start"], other)).toBe(2);
    expect(other.err()).toMatch(/expected `list` or `run`, got "start"/);
  });

  it("experiment cli – --help prints the usage and returns 0", async () => {
    const io = recorder();
    expect(await experimentRun(["--help"], io)).toBe(0);
    expect(io.out()).toContain("--sample-time");
  });

  it("experiment cli – runs an experiment, writes its files and says where the report is", async () => {
    const io = recorder();
    const out = join(dir.dir, "run");
    const code = await experimentRun(
      ["backlog-step", "--duration", "12", "--seed", "5", "--out", out, "--no-png"],
      io,
    );
    expect(code).toBe(0);
    for (const file of ["data.csv", "summary.json", "report.html"])
      expect(existsSync(join(out, file)), file).toBe(true);
    expect(existsSync(join(out, "report.png"))).toBe(false);
    expect(io.out()).toContain(`report: ${join(out, "report.html")}`);
    expect(JSON.parse(readFileSync(join(out, "summary.json"), "utf8")).seed).toBe(5);
    // Not a TTY: plain progress lines, one per 10 %, ending at 100 %.
    const lines = io.err().trimEnd().split("\n");
    expect(lines.every((l) => /^backlog-step: \d+% /.test(l) || l === "backlog-step: 100%")).toBe(true);
    expect(lines.at(-1)).toMatch(/^backlog-step: 100%/);
  });

  it("experiment cli – on a TTY the progress bar is redrawn in place", async () => {
    const io = recorder(true);
    const out = join(dir.dir, "tty");
    expect(
      await experimentRun(
        ["backlog-step", "--duration", "12", "--out", out, "--no-png", "--controller", "none"],
        io,
      ),
    ).toBe(0);
    expect(io.err()).toMatch(/\r\[#+-*\] +\d+% backlog-step: /);
    expect(io.err()).toContain("100% backlog-step");
    expect(io.err().endsWith("\n")).toBe(true);
  });

  it("experiment cli – the default output folder is out/NAME-TIMESTAMP", async () => {
    const io = recorder();
    const cwd = process.cwd();
    process.chdir(dir.dir);
    try {
      expect(
        await experimentRun(
          ["backlog-step", "--duration", "12", "--controller", "none", "--no-png", "--quiet"],
          io,
        ),
      ).toBe(0);
    } finally {
      process.chdir(cwd);
    }
    expect(existsSync(join(dir.dir, "out", "backlog-step-2026-01-02T03-04-05", "data.csv"))).toBe(true);
  });
});
