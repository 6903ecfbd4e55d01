import { describe, expect, it } from "vitest";
import type { ChannelStats, NodeRecord, NodeStats } from "../../../core/index.js";
import {
  channelRows,
  formatMs,
  formatRate,
  type GraphEntry,
  graphTable,
  statsTable,
} from "../../../toolbox/cli/format.js";
import { ArrivalWindow } from "../../../toolbox/cli/hz.js";

const channel = (over: Partial<ChannelStats> = {}): ChannelStats => ({
  messagesIn: 0,
  messagesOut: 0,
  bytesIn: 0,
  bytesOut: 0,
  drops: 0,
  errors: 0,
  inflight: 0,
  backlog: 0,
  backlogPeak: 0,
  rate: 0,
  rateIn: 0,
  rateOut: 0,
  latencyP50: Number.NaN,
  latencyP99: Number.NaN,
  serviceTimeP50: Number.NaN,
  serviceTimeP99: Number.NaN,
  ...over,
});

const record: NodeRecord = {
  id: "w#1",
  name: "w",
  host: "thread",
  pid: 42,
  hostname: "h",
  endpoint: "ipc:///tmp/x/w.sock",
  pubEndpoint: "ipc:///tmp/x/w-pub.sock",
  services: ["fail", "handled"],
  topics: ["out/t"],
  queues: [{ name: "jobs", window: 10 }],
  fronts: [],
  startedAt: 0,
};

const stats: NodeStats = {
  name: "w",
  id: "w#1",
  host: "thread",
  pid: 42,
  time: 0,
  uptimeMs: 12_345,
  services: { handled: channel({ messagesIn: 3, rate: 1.25 }), "zmp.stats": channel({ inflight: 1 }) },
  calls: {},
  published: {},
  subscribed: { "in/": channel({ messagesIn: 7, drops: 2 }) },
  pushed: {},
  pulled: {
    jobs: channel({
      messagesIn: 120,
      messagesOut: 117,
      backlog: 3,
      backlogPeak: 9,
      rate: 150.4,
      serviceTimeP50: 1.234,
      serviceTimeP99: 12.5,
    }),
  },
  rejects: { malformed: 1, oversized: 0, forged: 0, forbidden: 0 },
};

describe("cli formatting", () => {
  it("ArrivalWindow – rate, min, max and std of inter-arrival times over the window", () => {
    const w = new ArrivalWindow(1000);
    for (const t of [0, 100, 200, 300, 400]) w.add(t);
    expect(w.report(400)).toEqual({ count: 5, rate: 10, min: 0.1, max: 0.1, std: 0 });
    w.add(500);
    w.add(800); // gaps 100 and 300 after the first four 100s
    const r = w.report(800);
    expect(r.count).toBe(7);
    expect(r.rate).toBeCloseTo(6 / 0.8, 10);
    expect(r.min).toBeCloseTo(0.1, 10);
    expect(r.max).toBeCloseTo(0.3, 10);
    // deltas 100,100,100,100,100,300 ms: mean 133.3, std sqrt((5·33.3² + 166.7²)/6) = 74.5 ms
    expect(r.std).toBeCloseTo(0.0745356, 6);
  });

  it("ArrivalWindow – arrivals older than the window drop out; fewer than two give NaN", () => {
    const w = new ArrivalWindow(1000);
    for (const t of [0, 100, 200]) w.add(t);
    expect(w.report(1150)).toMatchObject({ count: 1, rate: Number.NaN });
    expect(w.report(5000)).toMatchObject({ count: 0, rate: Number.NaN, std: Number.NaN });
    expect(() => new ArrivalWindow(0)).toThrow(/windowMs/);
  });

  it("channelRows – merges the directory record with the meters, sorted by kind, builtins hidden", () => {
    const rows = channelRows(record, stats);
    expect(rows.map((r) => `${r.kind} ${r.name}`)).toEqual([
      "service fail",
      "service handled",
      "publish out/t",
      "subscribe in/",
      "pull jobs",
    ]);
    // Listed without a meter: no traffic yet, zero rather than unknown.
    expect(rows[0]!.stats?.rate).toBe(0);
    expect(rows[1]!.stats?.messagesIn).toBe(3);
    expect(channelRows(record, stats, true).some((r) => r.name === "zmp.stats")).toBe(true);
    // A node that did not answer: the listed channels with unknown meters.
    expect(channelRows(record, undefined).every((r) => r.stats === undefined)).toBe(true);
  });

  it("graphTable – a line per node, an indented line per channel, ? for a node without stats", () => {
    const entries: GraphEntry[] = [
      { ...record, stats },
      { ...record, name: "x", id: "x#1", services: ["add"], topics: [], queues: [], stats: null },
      {
        ...record,
        name: "y",
        services: [],
        topics: [],
        queues: [],
        fronts: [{ kind: "queue", name: "jobs" }],
        stats,
      },
    ];
    const lines = graphTable(entries).split("\n");
    expect(lines[0]).toMatch(/^NODE \/ CHANNEL\s+HOST\s+PID\s+RATE\/s\s+BACKLOG\s+ENDPOINT$/);
    expect(lines[1]).toMatch(/^w\s+thread\s+42\s+ipc:\/\/\/tmp\/x\/w.sock$/);
    expect(lines.find((l) => l.startsWith("  pull jobs"))).toMatch(/^ {2}pull jobs\s+150\s+3$/);
    expect(lines.find((l) => l.startsWith("  service handled"))).toMatch(/1\.3\s+0$/);
    expect(lines.find((l) => l.startsWith("  service add"))).toMatch(/\?\s+\?$/);
    expect(lines.find((l) => l.startsWith("  fronts"))).toMatch(/^ {2}fronts queue jobs\s+-\s+-$/);
    expect(lines.at(-1)).toContain("did not answer zmp.stats");
    expect(graphTable([])).toBe("(no nodes)");
  });

  it("statsTable – a title, a row per channel with counts and percentiles, the reject counts", () => {
    const text = statsTable(stats, record);
    const lines = text.split("\n");
    expect(lines[0]).toBe("node w (w#1): thread host, pid 42, up 12.3 s");
    expect(lines[1]).toMatch(
      /^KIND\s+CHANNEL\s+RATE\/s\s+IN\s+OUT\s+BACKLOG\s+PEAK\s+INFLIGHT\s+DROPS\s+ERRORS/,
    );
    expect(lines.find((l) => l.startsWith("pull"))!.split(/\s+/)).toEqual([
      "pull",
      "jobs",
      "150",
      "120",
      "117",
      "3",
      "9",
      "0",
      "0",
      "0",
      "-",
      "1.23/12.5",
    ]);
    expect(
      lines
        .find((l) => l.startsWith("subscribe"))!
        .split(/\s+/)
        .slice(0, 9),
    ).toEqual(["subscribe", "in/", "0.0", "7", "0", "0", "0", "0", "2"]);
    expect(lines.at(-1)).toBe(
      "rejected frames: 1 malformed, 0 oversized; refused: 0 forged replies, 0 steering calls",
    );
  });

  it("formatRate, formatMs – fixed precision, - where there is no value", () => {
    expect([formatRate(0), formatRate(12.345), formatRate(1234.5), formatRate(Number.NaN)]).toEqual([
      "0.0",
      "12.3",
      "1235",
      "-",
    ]);
    expect([formatMs(0.01234), formatMs(5), formatMs(250.4), formatMs(null), formatMs(Number.NaN)]).toEqual([
      "0.0123",
      "5.00",
      "250",
      "-",
      "-",
    ]);
  });
});
