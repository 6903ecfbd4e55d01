/** `zmp hz`: the message rate on a topic (prefix), once a second, like rostopic hz. */
import { type Command, parse, positiveOption } from "./command.js";
import { topicArgument, warnIfUnpublished } from "./echo.js";
import { formatRate } from "./format.js";
import { DIRECTORY_TIMEOUT_MS, graphFlags, graphFlagsHelp, withCliNode } from "./graph-client.js";
import { sleep, stopSignal } from "./signals.js";

/** What `zmp hz` reports: rate and inter-arrival statistics over the window (NaN where undefined). */
export interface RateReport {
  /** Messages that arrived within the window. */
  count: number;
  /** Messages per second: 1 / mean inter-arrival time (NaN with fewer than two messages). */
  rate: number;
  /** Shortest, longest and standard deviation of the inter-arrival times, seconds. */
  min: number;
  max: number;
  std: number;
}

/**
 * Arrival times over a sliding window, as `rostopic hz` keeps them: the rate
 * is one over the mean inter-arrival time of the messages in the window.
 */
export class ArrivalWindow {
  readonly #windowMs: number;
  #times: number[] = [];
  #head = 0;

  /** `windowMs`: how far back arrivals count, ms. */
  constructor(windowMs: number) {
    if (!(windowMs > 0))
      throw new RangeError(`Expected \`windowMs\` to be a positive number, got \`${windowMs}\``);
    this.#windowMs = windowMs;
  }

  /** Records an arrival at `now` (ms, monotonic). */
  add(now: number): void {
    this.#times.push(now);
  }

  /** Statistics of the arrivals in the window ending at `now` (ms). */
  report(now: number): RateReport {
    const from = now - this.#windowMs;
    while (this.#head < this.#times.length && this.#times[this.#head]! < from) this.#head++;
    if (this.#head > 1024 && this.#head * 2 > this.#times.length) {
      this.#times = this.#times.slice(this.#head);
      this.#head = 0;
    }
    const t = this.#times;
    const count = t.length - this.#head;
    if (count < 2) return { count, rate: Number.NaN, min: Number.NaN, max: Number.NaN, std: Number.NaN };
    const n = count - 1;
    const mean = (t[t.length - 1]! - t[this.#head]!) / n;
    let min = Number.POSITIVE_INFINITY;
    let max = 0;
    let squares = 0;
    for (let i = this.#head + 1; i < t.length; i++) {
      const d = t[i]! - t[i - 1]!;
      if (d < min) min = d;
      if (d > max) max = d;
      squares += (d - mean) ** 2;
    }
    return {
      count,
      rate: mean > 0 ? 1000 / mean : Number.NaN,
      min: min / 1000,
      max: max / 1000,
      std: Math.sqrt(squares / n) / 1000,
    };
  }
}

/** A seconds value for `zmp hz`, with `digits` decimals as rostopic prints them. */
const seconds = (s: number, digits = 3): string => (Number.isFinite(s) ? `${s.toFixed(digits)} s` : "-");

export const hzCommand: Command = {
  summary: "print the message rate on a topic (prefix) once a second, like rostopic hz",
  usage: "zmp hz TOPIC [--window S] [--count N] [--json] [--directory ENDPOINT] [--timeout-ms 3000]",
  options: [
    ["TOPIC", "a topic, or a prefix of topics"],
    ["--window S", "seconds of arrivals the rate is computed over (default 10)"],
    ["--count N", "stop after N reports, one a second (default: until Ctrl-C)"],
    ["--json", "one JSON object per report"],
    ...graphFlagsHelp,
  ],
  async run(argv) {
    const { values, positionals } = parse(
      argv,
      { ...graphFlags, window: { type: "string" }, count: { type: "string" }, json: { type: "boolean" } },
      this.usage,
    );
    const prefix = topicArgument(positionals, this.usage);
    const windowS = positiveOption(values.window, "window", 10);
    const count = positiveOption(values.count, "count", Number.POSITIVE_INFINITY, true);
    const timeoutMs = positiveOption(values["timeout-ms"], "timeout-ms", DIRECTORY_TIMEOUT_MS);
    return withCliNode(
      values.directory,
      async (node) => {
        warnIfUnpublished(node, prefix);
        const { signal, dispose } = stopSignal();
        const subscription = node.subscribe(prefix);
        const arrivals = new ArrivalWindow(windowS * 1000);
        let received = 0;
        const reading = (async () => {
          for await (const _ of subscription) {
            arrivals.add(performance.now());
            received++;
          }
        })();
        try {
          let reported = 0;
          for (let reports = 0; reports < count; reports++) {
            await sleep(1000, signal);
            if (signal.aborted) break;
            const r = arrivals.report(performance.now());
            if (values.json) {
              process.stdout.write(`${JSON.stringify({ topic: prefix, windowSeconds: windowS, ...r })}\n`);
            } else if (r.count < 2) {
              process.stdout.write(
                received === reported
                  ? "no new messages\n"
                  : `too few messages for a rate (${r.count} in the last ${windowS} s)\n`,
              );
            } else {
              process.stdout.write(
                `${prefix}: average rate ${formatRate(r.rate)} msg/s  min ${seconds(r.min)}  max ${seconds(r.max)}  std dev ${seconds(r.std, 5)}  window ${r.count}\n`,
              );
            }
            reported = received;
          }
        } finally {
          subscription.close();
          await reading;
          dispose();
        }
        return 0;
      },
      timeoutMs,
      values.insecure,
    );
  },
};
