/**
 * The `zmp experiment` commands, as functions the root CLI dispatches to:
 *
 *   zmp experiment list [--json]
 *   zmp experiment run NAME [--controller a,b] [--kp N] [--ki N] [--kd N] [--param key=N]
 *                          [--setpoint N] [--plant sim|live] [--seed N] [--duration S]
 *                          [--sample-time S] [--scenario NAME] [--repeats N] [--out DIR]
 *                          [--no-png] [--quiet]
 *
 * Each returns the exit code instead of exiting: 0 done, 1 the run failed,
 * 2 bad usage (unknown experiment, flag or value; a plant that is not
 * available). Progress goes to stderr: a redrawn bar when stderr is a TTY,
 * a plain line per 10 % otherwise.
 */
import { parseArgs } from "node:util";
import { UsageError } from "../toolbox/cli/command.js";
import { getExperiment, listExperiments, plantsOf } from "./catalog/index.js";
import { type ExperimentContext, ExperimentInputError } from "./experiment.js";
import { hasPlant, type PlantMode } from "./plants/registry.js";
import { writeReport } from "./report/index.js";

/** Where the commands write; tests pass their own. */
export interface CliIo {
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown; isTTY?: boolean };
  /** Clock for the default output folder name. Default `new Date()`. */
  now?: () => Date;
}

const processIo: CliIo = { stdout: process.stdout, stderr: process.stderr };

const runUsage = `Usage: zmp experiment run NAME [options]

Options:
  --controller LIST   controllers to run, comma-separated (see \`zmp experiment list\`)
  --kp N, --ki N, --kd N, --kff N
                      PID gains (default: identified and SIMC-tuned)
  --param KEY=N       any other controller parameter (share, increase, gainScale...), repeatable
  --setpoint N        setpoint of the measurement (backlog messages; cache hit rate)
  --plant sim|live    plant to run on (default sim)
  --seed N            seed of every random stream (integer, default 1)
  --duration S        run length in seconds (default: the scenario's)
  --sample-time S     loop sample period in seconds (default 0.1; autoscale and cache-hit-rate 0.5)
  --scenario NAME     scenario, for experiments that take one
  --repeats N         seeds per scenario for averaged metrics (compare-controllers)
  --out DIR           output folder (default out/NAME-TIMESTAMP)
  --no-png            do not take report.png
  --quiet             no progress output
  -h, --help          this help
`;

const listUsage = `Usage: zmp experiment list [--json]

Lists the experiments, the controllers each accepts and the plants it runs on.

Options:
  --json              the list as JSON
  -h, --help          this help
`;

function number(flag: string, text: string, what: "number" | "positive" | "integer"): number {
  const ok = /^[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?$/i.test(text.trim());
  const value = ok ? Number(text) : Number.NaN;
  if (!Number.isFinite(value)) throw new UsageError(`--${flag} expects a number, got "${text}"`);
  if (what === "positive" && !(value > 0))
    throw new UsageError(`--${flag} expects a positive number, got "${text}"`);
  if (what === "integer" && !Number.isInteger(value))
    throw new UsageError(`--${flag} expects an integer, got "${text}"`);
  return value;
}

function timestamp(date: Date): string {
  return date
    .toISOString()
    .replace(/\.\d+Z$/, "")
    .replace(/:/g, "-");
}

/** Draws progress on stderr: a bar redrawn in place on a TTY, a line per 10 % otherwise. */
function progressPrinter(
  io: CliIo,
  name: string,
): { update: (fraction: number, label: string) => void; done: () => void } {
  const tty = io.stderr.isTTY === true;
  let lastPercent = -1;
  let lastLabel = "";
  let lastDecile = -1;
  return {
    update(fraction, label) {
      const percent = Math.floor(fraction * 100);
      if (tty) {
        if (percent === lastPercent && label === lastLabel) return;
        lastPercent = percent;
        lastLabel = label;
        const width = 30;
        const filled = Math.round(fraction * width);
        io.stderr.write(
          `\r[${"#".repeat(filled)}${"-".repeat(width - filled)}] ${String(percent).padStart(3)}% ${name}: ${label}\x1b[K`,
        );
      } else {
        const decile = Math.floor(fraction * 10);
        if (decile === lastDecile) return;
        lastDecile = decile;
        io.stderr.write(`${name}: ${decile * 10}% (${label})\n`);
      }
    },
    done() {
      if (tty && lastPercent >= 0) io.stderr.write("\n");
      if (!tty && lastDecile >= 0 && lastDecile < 10) io.stderr.write(`${name}: 100%\n`);
    },
  };
}

/** An error message on one line (parseArgs' messages may span several). */
function oneLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).replace(/\s*\n\s*/g, " ");
}

/** `zmp experiment list`: prints the catalog. Returns the exit code. */
export async function experimentList(argv: readonly string[], io: CliIo = processIo): Promise<number> {
  let values: { json?: boolean; help?: boolean };
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: { json: { type: "boolean" }, help: { type: "boolean", short: "h" } },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    io.stderr.write(`zmp experiment list: ${oneLine(error)}; see zmp experiment list --help\n`);
    return 2;
  }
  if (values.help) {
    io.stdout.write(listUsage);
    return 0;
  }
  const entries = listExperiments().map((e) => {
    const plants = plantsOf(e);
    return {
      name: e.name,
      title: e.title,
      description: e.description,
      plants: {
        sim: plants.sim ? "available" : "not yet available",
        live: plants.live ? "available" : "not yet available",
      },
      controllers: [...e.controllers],
      defaultControllers: [...e.defaults.controllers],
      scenarios: [...e.scenarios],
    };
  });
  if (values.json) {
    io.stdout.write(`${JSON.stringify(entries, null, 2)}\n`);
    return 0;
  }
  const lines: string[] = [];
  for (const e of entries) {
    lines.push(`${e.name}`);
    lines.push(`  ${e.title}`);
    lines.push(`  plants: sim ${e.plants.sim}; live ${e.plants.live}`);
    lines.push(`  controllers: ${e.controllers.join(", ")} (default ${e.defaultControllers.join(", ")})`);
    if (e.scenarios.length > 0) lines.push(`  scenarios: ${e.scenarios.join(", ")}`);
    lines.push("");
  }
  io.stdout.write(`${lines.join("\n")}\n`);
  return 0;
}

/** The context and output options `experimentRun` parsed from argv (exported for tests and the root CLI). */
export interface ParsedRun {
  name: string;
  context: Omit<ExperimentContext, "onProgress">;
  out: string | null;
  png: boolean;
  quiet: boolean;
  help: boolean;
}

/** Parses `zmp experiment run` arguments; throws a UsageError with a clear message on bad input. */
export function parseRunArgs(argv: readonly string[]): ParsedRun {
  let parsed: ReturnType<
    typeof parseArgs<{ args: string[]; options: typeof runOptions; strict: true; allowPositionals: true }>
  >;
  try {
    parsed = parseArgs({ args: [...argv], options: runOptions, strict: true, allowPositionals: true });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const v = parsed.values;
  if (v.help)
    return {
      name: "",
      context: { plant: "sim", seed: 1, sampleTime: 0.1 },
      out: null,
      png: true,
      quiet: false,
      help: true,
    };
  if (parsed.positionals.length !== 1) {
    throw new UsageError(
      parsed.positionals.length === 0
        ? "expected the experiment NAME (see `zmp experiment list`)"
        : `expected one experiment NAME, got ${parsed.positionals.length}: ${parsed.positionals.join(" ")}`,
    );
  }
  const name = parsed.positionals[0]!;
  let experiment: ReturnType<typeof getExperiment>;
  try {
    experiment = getExperiment(name);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const plant = (v.plant ?? "sim") as PlantMode;
  if (plant !== "sim" && plant !== "live")
    throw new UsageError(`--plant expects sim or live, got "${v.plant}"`);
  if (!hasPlant(plant, experiment.model)) {
    throw new UsageError(
      `${name} on the ${plant} plant is not yet available (no ${plant} ${experiment.model} plant is registered); use --plant sim`,
    );
  }
  const params: Record<string, number> = {};
  for (const gain of ["kp", "ki", "kd", "kff"] as const) {
    const text = v[gain];
    if (text !== undefined) params[gain] = number(gain, text, "number");
  }
  for (const pair of v.param ?? []) {
    const match = /^([A-Za-z][A-Za-z0-9]*)=(.*)$/.exec(pair);
    if (match === null) throw new UsageError(`--param expects KEY=NUMBER, got "${pair}"`);
    params[match[1]!] = number(`param ${match[1]}`, match[2]!, "number");
  }
  let controllers: string[] | undefined;
  if (v.controller !== undefined) {
    controllers = v.controller
      .flatMap((list) => list.split(","))
      .map((c) => c.trim())
      .filter((c) => c.length > 0);
    for (const c of controllers) {
      if (!experiment.controllers.includes(c)) {
        throw new UsageError(
          `${name} has no controller "${c}"; expected one of ${experiment.controllers.join(", ")}`,
        );
      }
    }
    if (controllers.length === 0) throw new UsageError("--controller expects at least one controller name");
  }
  if (v.scenario !== undefined && !experiment.scenarios.includes(v.scenario)) {
    throw new UsageError(
      experiment.scenarios.length === 0
        ? `${name} takes no --scenario`
        : `${name} has no scenario "${v.scenario}"; expected one of ${experiment.scenarios.join(", ")}`,
    );
  }
  const context: Omit<ExperimentContext, "onProgress"> = {
    plant,
    seed: v.seed === undefined ? experiment.defaults.seed : number("seed", v.seed, "integer"),
    sampleTime:
      v["sample-time"] === undefined
        ? experiment.defaults.sampleTime
        : number("sample-time", v["sample-time"], "positive"),
    ...(v.duration === undefined ? {} : { duration: number("duration", v.duration, "positive") }),
    ...(controllers === undefined ? {} : { controllers }),
    ...(Object.keys(params).length === 0 ? {} : { params }),
    ...(v.setpoint === undefined ? {} : { setpoint: number("setpoint", v.setpoint, "number") }),
    ...(v.scenario === undefined ? {} : { scenario: v.scenario }),
    ...(v.repeats === undefined ? {} : { repeats: number("repeats", v.repeats, "integer") }),
  };
  if (context.repeats !== undefined && context.repeats < 1)
    throw new UsageError(`--repeats expects an integer ≥ 1, got "${v.repeats}"`);
  if (context.duration !== undefined && context.duration < 10 * context.sampleTime) {
    throw new UsageError(
      `--duration must cover at least 10 samples (${10 * context.sampleTime} s), got "${v.duration}"`,
    );
  }
  return { name, context, out: v.out ?? null, png: !v["no-png"], quiet: v.quiet ?? false, help: false };
}

export const runOptions = {
  controller: { type: "string", multiple: true },
  kp: { type: "string" },
  ki: { type: "string" },
  kd: { type: "string" },
  kff: { type: "string" },
  param: { type: "string", multiple: true },
  setpoint: { type: "string" },
  plant: { type: "string" },
  seed: { type: "string" },
  duration: { type: "string" },
  "sample-time": { type: "string" },
  scenario: { type: "string" },
  repeats: { type: "string" },
  out: { type: "string" },
  "no-png": { type: "boolean" },
  quiet: { type: "boolean" },
  help: { type: "boolean", short: "h" },
} as const;

/** `zmp experiment run NAME ...`: runs an experiment and writes its outputs. Returns the exit code. */
export async function experimentRun(argv: readonly string[], io: CliIo = processIo): Promise<number> {
  let parsed: ParsedRun;
  try {
    parsed = parseRunArgs(argv);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    io.stderr.write(`zmp experiment run: ${oneLine(error)}; see zmp experiment run --help\n`);
    return 2;
  }
  if (parsed.help) {
    io.stdout.write(runUsage);
    return 0;
  }
  const experiment = getExperiment(parsed.name);
  const out = parsed.out ?? `out/${parsed.name}-${timestamp((io.now ?? (() => new Date()))())}`;
  const progress = parsed.quiet ? null : progressPrinter(io, parsed.name);
  try {
    const result = await experiment.run({
      ...parsed.context,
      ...(progress ? { onProgress: progress.update } : {}),
    });
    progress?.done();
    const written = await writeReport(result, out, { png: parsed.png });
    const lines = [
      `${result.experiment} on the ${result.plant} plant, seed ${result.seed}: ${result.runs.length} runs`,
      ...result.notes.map((n) => `  ${n}`),
      `wrote ${written.dir}: data.csv, summary.json, report.html${written.png ? ", report.png" : ""}`,
      ...(written.pngSkipped ? [`  (${written.pngSkipped})`] : []),
      `report: ${written.html}`,
    ];
    io.stdout.write(`${lines.join("\n")}\n`);
    return 0;
  } catch (error) {
    progress?.done();
    if (error instanceof ExperimentInputError) {
      io.stderr.write(`zmp experiment run: ${parsed.name}: ${error.message}\n`);
      return 2;
    }
    io.stderr.write(
      `zmp experiment run: ${parsed.name} failed: ${(error as Error).stack ?? String(error)}\n`,
    );
    return 1;
  }
}

/**
 * The `experiment` command for the root CLI's command table (`{ summary,
 * usage, run }`): `zmp experiment list ...` and `zmp experiment run ...`.
 */
export const experimentCommand = {
  summary: "list the experiments, or run one and write its data.csv, summary.json and report",
  usage: "zmp experiment list [--json]\n       zmp experiment run NAME [options]",
  /** `--help` of `zmp experiment run` and `zmp experiment list`, or of both. */
  help(argv: string[]): string {
    if (argv[0] === "run") return runUsage;
    if (argv[0] === "list") return listUsage;
    return `${listUsage}\n${runUsage}`;
  },
  async run(argv: string[], io: CliIo = processIo): Promise<number> {
    const [sub, ...rest] = argv;
    if (sub === "list") return experimentList(rest, io);
    if (sub === "run") return experimentRun(rest, io);
    io.stderr.write(
      `zmp experiment: expected \`list\` or \`run\`, got ${sub === undefined ? "nothing" : `"${sub}"`}; see zmp experiment --help\n`,
    );
    return 2;
  },
};
