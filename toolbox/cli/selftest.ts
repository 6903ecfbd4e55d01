/**
 * `zmp selftest`: starts a small graph of its own in child processes and
 * threads and checks that everything works (see selftest-checks.ts).
 */
import { type Command, parse } from "./command.js";
import { formatDuration } from "./format.js";
import { type CheckResult, selftest } from "./selftest-checks.js";
import { stopSignal } from "./signals.js";

export const selftestCommand: Command = {
  summary: "start a small graph in child processes and threads and check that everything works",
  usage: "zmp selftest [--quick] [--json]",
  options: [
    ["--quick", "1 000 messages per channel over ipc only (the full run: 10 000, ipc and tcp)"],
    ["--json", "print the result as JSON instead of one line per check"],
  ],
  async run(argv) {
    const { values } = parse(
      argv,
      { quick: { type: "boolean" }, json: { type: "boolean" } },
      this.usage,
      false,
    );
    const { signal, dispose } = stopSignal();
    const print = (check: CheckResult): void => {
      if (values.json) return;
      const reason = check.ok ? "" : `: ${check.reason ?? "failed"}`;
      process.stdout.write(
        `${check.ok ? "ok  " : "FAIL"}  ${check.group}: ${check.name} (${formatDuration(check.ms)})${reason}\n`,
      );
    };
    try {
      const result = await selftest({ quick: values.quick === true, signal, onCheck: print });
      if (values.json) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
      else {
        const summary = `${result.passed} passed, ${result.failed} failed in ${formatDuration(result.ms)}`;
        process.stdout.write(
          result.aborted ? `selftest interrupted: ${summary}\n` : `selftest: ${summary}\n`,
        );
      }
      if (result.aborted) return 130;
      return result.failed === 0 ? 0 : 1;
    } finally {
      dispose();
    }
  },
};
