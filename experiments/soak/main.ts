/**
 * `npm run soak`: producers → queue proxy → worker processes for a bounded
 * time, a feedback loop on the backlog, a worker SIGKILLed part-way and
 * replaced; prints the accounting, throughput, latency, loop, memory and
 * CPU figures and the checks (soak.ts). Exit code 0 when every check holds,
 * 1 when one fails or the run breaks, 2 for bad usage.
 *
 *   npm run soak -- [--duration S] [--rate N] [--workers N] [--producers N]
 *                   [--kill-at S | --no-kill] [--json FILE] …
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { parseArgs } from "node:util";
import { UsageError } from "../../toolbox/cli/command.js";
import { runSoak, type SoakOptions, soakSettings } from "./soak.js";
import { soakTable } from "./table.js";

const usage = `Usage: npm run soak -- [options]

  --duration S      seconds of load (default 180)
  --rate N          messages per second offered, over all producers (default 80000)
  --producers N     producer processes (default 2)
  --workers N       worker processes (default 3)
  --capacity X      the workers' total capacity as a share of the rate (default 0.8:
                    the loop sheds the rest)
  --kill-at S       SIGKILL a worker at this second and start a replacement (default: half-way)
  --no-kill         no kill
  --window N        credit window of each worker (default 1000)
  --setpoint N      backlog the loop holds at the proxy (default 0.1 s of capacity)
  --ack-delay MS    workers acknowledge MS after recording a message (default 0): widens
                    the gap in which the kill makes duplicates
  --rss-limit MiB   flag a process whose RSS grows more after warm-up (default 32)
  --json FILE       write every figure, series and check as JSON
  --keep DIR        keep the record files (ids handled, shed) in DIR
  -h, --help        this help
`;

/** The flag of each option. */
const flags: Record<string, string> = {
  duration: "--duration",
  rate: "--rate",
  producers: "--producers",
  workers: "--workers",
  capacity: "--capacity",
  killAt: "--kill-at",
  window: "--window",
  setpoint: "--setpoint",
  ackDelayMs: "--ack-delay",
  rssLimitMiB: "--rss-limit",
};

function number(value: string | undefined, option: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (value.trim() === "" || !Number.isFinite(n))
    throw new UsageError(`Expected \`${option}\` to be a number, got \`${value}\``);
  return n;
}

async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      duration: { type: "string" },
      rate: { type: "string" },
      producers: { type: "string" },
      workers: { type: "string" },
      capacity: { type: "string" },
      "kill-at": { type: "string" },
      "no-kill": { type: "boolean", default: false },
      window: { type: "string" },
      setpoint: { type: "string" },
      "ack-delay": { type: "string" },
      "rss-limit": { type: "string" },
      json: { type: "string" },
      keep: { type: "string" },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.help) {
    process.stdout.write(usage);
    return 0;
  }
  if (values["no-kill"] && values["kill-at"] !== undefined)
    throw new UsageError("give `--kill-at` or `--no-kill`, not both");
  const options: SoakOptions = {
    duration: number(values.duration, "--duration"),
    rate: number(values.rate, "--rate"),
    producers: number(values.producers, "--producers"),
    workers: number(values.workers, "--workers"),
    capacity: number(values.capacity, "--capacity"),
    killAt: values["no-kill"] ? null : number(values["kill-at"], "--kill-at"),
    window: number(values.window, "--window"),
    setpoint: number(values.setpoint, "--setpoint"),
    ackDelayMs: number(values["ack-delay"], "--ack-delay"),
    rssLimitMiB: number(values["rss-limit"], "--rss-limit"),
    log: (line) => process.stderr.write(`${line}\n`),
    signal: abort.signal,
  };
  if (values.keep !== undefined) {
    mkdirSync(values.keep, { recursive: true });
    options.dir = values.keep;
  }
  try {
    soakSettings(options);
  } catch (error) {
    // Name the flag, not the option behind it: ``Expected `--kill-at` to be …``.
    const message = (error as Error).message.replace(/^Expected `(\w+)`/, (all, key: string) =>
      flags[key] === undefined ? all : `Expected \`${flags[key]}\``,
    );
    throw new UsageError(message);
  }
  const result = await runSoak(options);
  process.stdout.write(`\n${soakTable(result)}\n`);
  if (values.json !== undefined) {
    mkdirSync(dirname(values.json), { recursive: true });
    writeFileSync(values.json, `${JSON.stringify(result, jsonNumbers, 2)}\n`);
    process.stderr.write(`soak: figures written to ${values.json}\n`);
  }
  return result.ok ? 0 : 1;
}

/** JSON has no NaN or Infinity: null. */
function jsonNumbers(_key: string, value: unknown): unknown {
  return typeof value === "number" && !Number.isFinite(value) ? null : value;
}

// Ctrl-C aborts the run, which stops every process and removes its files; a second one exits at
// once (the children watch their IPC channel and end with this process anyway).
const abort = new AbortController();
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    if (abort.signal.aborted) process.exit(130);
    process.stderr.write(`\nsoak: ${signal}; stopping (again to exit at once)…\n`);
    abort.abort();
  });
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    if (abort.signal.aborted) {
      process.stderr.write("soak: interrupted\n");
      process.exitCode = 130;
      return;
    }
    if (error instanceof UsageError || (error as { code?: string }).code?.startsWith("ERR_PARSE_ARGS")) {
      process.stderr.write(`soak: ${(error as Error).message}\n\n${usage}`);
      process.exitCode = 2;
      return;
    }
    process.stderr.write(
      `soak: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exitCode = 1;
  },
);
