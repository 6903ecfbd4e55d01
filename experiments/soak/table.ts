/**
 * The soak's figures as readable text: accounting, throughput, latency, the
 * loop, memory and CPU per process, and the checks.
 */
import type { SoakResult } from "./soak.js";

const MiB = 1024 * 1024;

const int = (n: number): string => (Number.isFinite(n) ? Math.round(n).toLocaleString("en") : "–");
const fixed = (n: number, digits = 1): string => (Number.isFinite(n) ? n.toFixed(digits) : "–");
const signed = (n: number, digits = 1): string =>
  Number.isFinite(n) ? (n >= 0 ? "+" : "") + n.toFixed(digits) : "–";

/**
 * Aligns rows of cells; `align` has one letter per column, `l` left or `r`
 * right (default: first left, the others right).
 */
function columns(rows: string[][], align = ""): string {
  const widths = rows[0]!.map((_, j) => Math.max(...rows.map((r) => (r[j] ?? "").length)));
  const left = (j: number): boolean => (align[j] ?? (j === 0 ? "l" : "r")) === "l";
  return rows
    .map(
      (r) =>
        "  " +
        r
          .map((cell, j) => (left(j) ? cell.padEnd(widths[j]!) : cell.padStart(widths[j]!)))
          .join("  ")
          .trimEnd(),
    )
    .join("\n");
}

/** The whole report. */
export function soakTable(r: SoakResult): string {
  const s = r.settings;
  const c = r.counts;
  const l = r.ledger;
  const out: string[] = [];
  const kill = r.kill
    ? `${r.kill.worker} SIGKILLed at ${fixed(r.kill.at)} s, ${r.kill.replacement} ready ${fixed(r.kill.replacedAfter)} s later`
    : "no kill";
  out.push(
    `soak ${r.date} — ${fixed(r.throughput.seconds, 0)} s at ${int(s.rate)} msg/s offered by ${s.producers} producer(s); ${s.workers} workers × ${int(s.workerRate)} msg/s; ${kill}`,
    `machine: ${r.machine}; load average ${fixed(r.load[0])} before, up to ${fixed(r.load[1])} during, ${fixed(r.load[2])} after`,
    "",
    "accounting (per message id)",
    columns(
      [
        ["offered", int(c.offered), "ids pushed by the producers"],
        ["accepted", int(c.accepted), "admitted by the proxy's token bucket (set by the loop)"],
        [
          "shed",
          int(c.shed),
          `refused by admission, acknowledged and dead-lettered (${int(c.deadLetters)} received)`,
        ],
        ["handled", int(c.handled), "distinct ids recorded by a worker"],
        [
          "duplicates",
          int(c.duplicates),
          r.kill
            ? `handled twice (at-least-once): ${int(l.duplicatesFromKill)} recorded by ${r.kill.worker} among its last ${r.kill.window} records${l.deepestDuplicate >= 0 ? ` (deepest: ${l.deepestDuplicate} from its end)` : ""}, unacknowledged at its SIGKILL; ${int(c.redelivered)} redelivered, ${r.kill.inflightBefore ?? "–"} in flight there just before`
            : "no kill: none allowed",
        ],
        ["lost", int(c.lost), "offered ids neither handled nor shed"],
      ],
      "lrl",
    ),
    "",
    "throughput",
    columns(
      [
        ["offered", `${int(r.throughput.offeredRate)} msg/s`, `behind schedule at the end: ${int(c.behind)}`],
        ["accepted", `${int(r.throughput.acceptedRate)} msg/s`, ""],
        [
          "handled",
          `${int(r.throughput.handledRate)} msg/s`,
          `peak ${int(r.throughput.peakHandledRate)} msg/s over ${s.sampleInterval} s; drain ${fixed(r.throughput.drainSeconds)} s`,
        ],
      ],
      "lrl",
    ),
    "",
    `latency, producer push → worker done (${int(r.latency.count)} messages)`,
    columns([
      ["p50", "p90", "p99", "p99.9", "max"],
      [r.latency.p50, r.latency.p90, r.latency.p99, r.latency.p999, r.latency.max].map(
        (x) => `${fixed(x)} ms`,
      ),
    ]),
    "",
    `feedback loop: PI on the proxy's backlog (setpoint ${int(s.setpoint)}), acting on its admission rate`,
    columns(
      [
        [
          "backlog after warm-up",
          `mean ${int(r.loop.backlogMean)}`,
          `mean |error| ${int(r.loop.backlogMeanError)}`,
        ],
        [
          "within ±20 % of setpoint",
          `${fixed(r.loop.withinBand * 100)} %`,
          `of the ${s.sampleInterval} s samples`,
        ],
        [
          "loop samples",
          int(r.loop.samples),
          `errors: sensor ${r.loop.errors.sensor}, actuator ${r.loop.errors.actuator}; overruns ${r.loop.overruns}`,
        ],
      ],
      "lrl",
    ),
    "",
    `memory: RSS after each process's warm-up (its first ${fixed(s.warmup * s.duration, 0)} s, ${fixed(s.warmup * 100, 0)} % of the run) — median over the first and last thirds of the rest, the rise of that median and of the peak, and growth = the smaller rise (a leak lifts both; GC moves one) — and CPU`,
    columns([
      [
        "process",
        "pid",
        "from s",
        "to s",
        "first ⅓ MiB",
        "last ⅓ MiB",
        "median rise",
        "peak rise",
        "growth MiB",
        "MiB/min",
        "peak MiB",
        "CPU %",
        "",
      ],
      ...r.processes.map((p) => [
        p.name,
        String(p.pid),
        fixed(p.start),
        fixed(p.end),
        fixed(p.memory.warm / MiB),
        fixed(p.memory.final / MiB),
        signed(p.memory.medianRise / MiB),
        signed(p.memory.peakRise / MiB),
        signed(p.memory.growth / MiB),
        signed(p.memory.slopePerMinute / MiB, 2),
        fixed(p.memory.peak / MiB),
        fixed(p.cpuPercent, 0),
        p.flagged ? "FLAGGED" : p.killed ? "killed" : "",
      ]),
    ]),
    "",
    "checks",
    ...r.checks.map((x) => `  ${x.ok ? "ok  " : "FAIL"}  ${x.name} — ${x.detail}`),
  );
  const errors = Object.entries(r.sampleErrors);
  if (errors.length > 0)
    out.push(`  (sample reads that timed out: ${errors.map(([k, v]) => `${k} ${v}`).join(", ")})`);
  out.push("", r.ok ? "soak: ok" : "soak: FAILED");
  return out.join("\n");
}
