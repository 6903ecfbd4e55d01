/**
 * `npm run bench`: zmp against raw zeromq.js, the same jobs in the same run,
 * interleaved (so both see the same machine). Prints a table of medians with min–max and the
 * zmp/raw ratios (above 1: zmp is better).
 *
 *   npm run bench -- [--quick] [--json FILE] [--markdown FILE] [--only NAMES]
 *                    [--reps N] [--rep-ms MS] [--list] [--no-native]
 *   npm run bench -- --scale [--sizes 10,100,1000] [--json FILE] [--markdown FILE]
 *
 * `--only` takes a comma-separated list of case names or parts of names
 * (`--only "queue ipc,service c=16"`). `--quick` is a smoke run: 2 short
 * repetitions, numbers not meant to be quoted. Every process and socket the
 * run opens is closed at the end, on error, and on Ctrl-C.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { loadavg } from "node:os";
import { dirname } from "node:path";
import { parseArgs } from "node:util";
import { UsageError } from "../../toolbox/cli/command.js";
import { cases } from "./cases/index.js";
import { Cleanup } from "./cleanup.js";
import { type Row, runCase } from "./harness.js";
import { runScale, scaleTable, scaleTargets } from "./scale/run.js";
import { markdownTable, runInfo, textTable } from "./table.js";

const usage = `Usage: npm run bench -- [options]

  --quick          smoke run: 2 repetitions of 0.15 s (not for quoting)
  --json FILE      write the rows as JSON: [{ case, zmp, raw, ratio, ... }]
  --markdown FILE  write the table as markdown with the date and machine
  --only NAMES     comma-separated case names or parts of names
  --reps N         repetitions per side (default 7, at least 5 for a real run)
  --rep-ms MS      length of one repetition (default 700)
  --no-native      leave out the pyzmq and native libzmq C columns
  --scale          instead of the cases: form graphs of 10, 100 and 1 000 nodes and
                   measure joins, memory, descriptors and the directory's idle CPU
  --sizes N,N,...  the graph sizes of --scale (default 10,100,1000)
  --processes N    host processes of --scale (default 2)
  --threads N      threads per host process of --scale (default 2); --processes 1
                   --threads 1 runs every node inline in one process
  --max-heartbeats N  the directory's maxHeartbeatsPerSecond in --scale (default 400)
  --list           list the cases and exit
  -h, --help       this help
`;

const active = new Set<Cleanup>();

async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      quick: { type: "boolean", default: false },
      json: { type: "string" },
      markdown: { type: "string" },
      only: { type: "string" },
      reps: { type: "string" },
      "rep-ms": { type: "string" },
      list: { type: "boolean", default: false },
      "no-native": { type: "boolean", default: false },
      scale: { type: "boolean", default: false },
      sizes: { type: "string" },
      processes: { type: "string" },
      threads: { type: "string" },
      "max-heartbeats": { type: "string" },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.help) {
    process.stdout.write(usage);
    return 0;
  }
  if (values.list) {
    for (const c of cases) process.stdout.write(`${c.name.padEnd(28)} ${c.description}\n`);
    return 0;
  }
  if (values.scale) return scale(values);
  const quick = values.quick;
  const reps = positiveInt(values.reps, "--reps", quick ? 2 : 7);
  const repMs = positiveInt(values["rep-ms"], "--rep-ms", quick ? 150 : 700);
  const wanted = values.only
    ?.split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  // A full case name selects that case; anything else selects every case whose name contains it.
  const matches = (name: string, w: string): boolean =>
    cases.some((c) => c.name === w) ? name === w : name.includes(w);
  const selected = wanted ? cases.filter((c) => wanted.some((w) => matches(c.name, w))) : cases;
  if (selected.length === 0) throw new UsageError(`no case matches \`${values.only}\` (see --list)`);

  const info = runInfo(reps, repMs);
  const log = (line: string): void => {
    process.stderr.write(`${line}\n`);
  };
  log(`bench: ${selected.length} case(s), ${reps} × ${repMs} ms per side; ${info.machine}`);
  const rows: Row[] = [];
  for (const c of selected) {
    const cleanup = new Cleanup();
    active.add(cleanup);
    try {
      rows.push(
        ...(await runCase(
          c,
          { cleanup, quick, references: !values["no-native"] },
          { reps, repMs, warmupMs: quick ? 100 : 400, quick, log },
        )),
      );
    } finally {
      await cleanup.run();
      active.delete(cleanup);
    }
  }
  info.load += ` → ${loadavg()[0]!.toFixed(1)}`;
  process.stdout.write(`\n${textTable(rows)}\n`);
  if (values.json !== undefined) write(values.json, `${JSON.stringify(rows, null, 2)}\n`);
  if (values.markdown !== undefined) write(values.markdown, `${markdownTable(rows, info)}\n`);
  return 0;
}

async function scale(values: {
  sizes?: string;
  processes?: string;
  threads?: string;
  "max-heartbeats"?: string;
  json?: string;
  markdown?: string;
  quick?: boolean;
}): Promise<number> {
  const sizes = (values.sizes ?? "10,100,1000").split(",").map((s) => positiveInt(s.trim(), "--sizes", 0));
  const info = runInfo(1, 0);
  const log = (line: string): void => {
    process.stderr.write(`${line}\n`);
  };
  log(`bench --scale: graphs of ${sizes.join(", ")} nodes; ${info.machine}; load average ${info.load}`);
  const processes = positiveInt(values.processes, "--processes", 2);
  const threads = positiveInt(values.threads, "--threads", 2);
  const maxHeartbeats = values["max-heartbeats"];
  const options = {
    sizes,
    processes,
    threads,
    log,
    ...(maxHeartbeats === undefined
      ? {}
      : { maxHeartbeatsPerSecond: positiveInt(maxHeartbeats, "--max-heartbeats", 400) }),
    ...(values.quick ? { idleMs: 1000 } : {}),
  };
  const rows = await runScale(options, () => {
    const cleanup = new Cleanup();
    active.add(cleanup);
    return cleanup;
  });
  info.load += ` → ${loadavg()[0]!.toFixed(1)}`;
  process.stdout.write(`\n${scaleTable(rows)}\n`);
  if (values.json !== undefined)
    write(values.json, `${JSON.stringify({ rows, targets: scaleTargets(rows) }, null, 2)}\n`);
  if (values.markdown !== undefined)
    write(
      values.markdown,
      `Run ${info.date} on ${info.machine}; load average ${info.load}.\n\n${scaleTable(rows, true)}\n`,
    );
  return 0;
}

function positiveInt(value: string | undefined, option: string, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1)
    throw new UsageError(`Expected \`${option}\` to be a positive integer, got \`${value}\``);
  return n;
}

function write(file: string, text: string): void {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, text);
}

let stopping: Promise<never> | undefined;

/** Closes whatever is open (graphs, children, sockets), then exits with `code`. The first call wins. */
function shutdown(code: number): Promise<never> {
  stopping ??= (async () => {
    const timer = setTimeout(() => {
      for (const c of active) c.killStragglers();
      process.exit(code);
    }, 8000);
    await Promise.all([...active].map((c) => c.run(3000)));
    clearTimeout(timer);
    process.exit(code);
  })();
  return stopping;
}

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    process.stderr.write(`\nbench: ${signal}, closing…\n`);
    void shutdown(130);
  });
}
process.on("exit", () => {
  for (const c of active) c.killStragglers();
});

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    if (stopping !== undefined) return; // interrupted: the run failed because its sockets were closed
    if (error instanceof UsageError || (error as { code?: string }).code?.startsWith("ERR_PARSE_ARGS")) {
      process.stderr.write(`bench: ${(error as Error).message}\n\n${usage}`);
      void shutdown(2);
      return;
    }
    process.stderr.write(
      `bench: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    void shutdown(1);
  },
);
