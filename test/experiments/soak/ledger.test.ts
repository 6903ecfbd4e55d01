import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { LatencyHistogram } from "../../../experiments/soak/latency.js";
import { account, ID_SPAN, readRecords } from "../../../experiments/soak/ledger.js";
import { memoryGrowth } from "../../../experiments/soak/memory.js";
import { tempDir } from "../../helpers.js";

/**
 * The soak's accounting on hand-made record files: ids of producer 0 are
 * 0, 1, 2…; of producer 1, ID_SPAN + 0, + 1…
 */
describe("soak ledger", () => {
  let dir: ReturnType<typeof tempDir>;
  beforeEach(() => {
    dir = tempDir();
  });
  afterEach(() => dir.remove());

  const file = (name: string, ids: number[], extraBytes = 0): string => {
    const path = join(dir.dir, name);
    const bytes = Buffer.concat([Buffer.from(Float64Array.from(ids).buffer), Buffer.alloc(extraBytes)]);
    writeFileSync(path, bytes);
    return path;
  };
  const p1 = (seq: number): number => ID_SPAN + seq;

  it("soak ledger – every offered id handled or shed: nothing lost, no duplicates", () => {
    const ledger = account({
      offered: [5, 3],
      workers: [
        { name: "a", file: file("a", [0, 2, 3, p1(1)]) },
        { name: "b", file: file("b", [4, p1(2)]) },
      ],
      shedFile: file("dead", [1, p1(0)]),
    });
    expect(ledger).toMatchObject({
      offered: 8,
      shed: 2,
      handled: 6,
      records: 6,
      duplicates: 0,
      lost: 0,
      shedAndHandled: 0,
      shedTwice: 0,
      foreign: 0,
      duplicatesUnexplained: 0,
      deepestDuplicate: -1,
    });
    expect(ledger.perWorker).toEqual([
      { name: "a", records: 4 },
      { name: "b", records: 2 },
    ]);
  });

  it("soak ledger – an id neither handled nor shed is lost, and named", () => {
    const ledger = account({
      offered: [3],
      workers: [{ name: "a", file: file("a", [0]) }],
      shedFile: file("dead", [2]),
    });
    expect(ledger.lost).toBe(1);
    expect(ledger.lostSample).toEqual([1]);
  });

  it("soak ledger – duplicates among the killed worker's last `window` records are explained by the kill", () => {
    const ledger = account({
      offered: [6],
      workers: [
        { name: "killed", file: file("k", [0, 1, 2, 3]) },
        { name: "other", file: file("o", [2, 3, 4, 5]) },
      ],
      shedFile: file("dead", []),
      killed: { name: "killed", window: 2 },
    });
    expect(ledger).toMatchObject({
      handled: 6,
      records: 8,
      duplicates: 2,
      duplicatesFromKill: 2,
      duplicatesUnexplained: 0,
      deepestDuplicate: 1,
      lost: 0,
    });
  });

  it("soak ledger – a duplicate deeper than the window, or between two live workers, is unexplained", () => {
    const deep = account({
      offered: [5],
      workers: [
        { name: "killed", file: file("k", [0, 1, 2, 3]) },
        { name: "other", file: file("o", [0, 4]) },
      ],
      shedFile: file("dead", []),
      killed: { name: "killed", window: 2 },
    });
    expect(deep).toMatchObject({
      duplicates: 1,
      duplicatesFromKill: 0,
      duplicatesUnexplained: 1,
      deepestDuplicate: 3,
    });
    const live = account({
      offered: [2],
      workers: [
        { name: "a", file: file("a", [0, 1]) },
        { name: "b", file: file("b", [1]) },
      ],
      shedFile: file("dead2", []),
    });
    expect(live).toMatchObject({ duplicates: 1, duplicatesUnexplained: 1 });
  });

  it("soak ledger – shed and handled, shed twice, foreign ids and a cut record are all counted", () => {
    const ledger = account({
      offered: [3],
      workers: [{ name: "a", file: file("a", [0, 1, 7, p1(0)], 3) }],
      shedFile: file("dead", [1, 2, 2, 0.5]),
    });
    expect(ledger).toMatchObject({
      handled: 2,
      shed: 2,
      shedAndHandled: 1,
      shedTwice: 1,
      foreign: 3,
      partialBytes: 3,
      lost: 0,
      duplicates: 0,
    });
    expect(readRecords(join(dir.dir, "a")).ids.length).toBe(4);
  });
});

describe("soak figures", () => {
  it("soak memory – a steady rise after warm-up lifts the median and the peak alike (thirds, least-squares slope)", () => {
    const MiB = 1024 * 1024;
    const times = Array.from({ length: 101 }, (_, i) => i); // s
    const rss = times.map((t) => (100 + 0.1 * t) * MiB); // 0.1 MiB/s
    const g = memoryGrowth(times, rss, 20);
    expect(g.warmEnd).toBe(20);
    expect(g.samples).toBe(81);
    // After warm-up: t 20…100; its first third is t 20…46 (median t = 33), its last t 74…100 (median 87).
    expect(g.warm / MiB).toBeCloseTo(103.3, 9);
    expect(g.final / MiB).toBeCloseTo(108.7, 9);
    expect(g.medianRise / MiB).toBeCloseTo(5.4, 9);
    expect(g.peakRise / MiB).toBeCloseTo(5.4, 9); // 104.6 → 110
    expect(g.growth / MiB).toBeCloseTo(5.4, 9);
    expect(g.slopePerMinute / MiB).toBeCloseTo(6, 9);
    expect(g.peak / MiB).toBeCloseTo(110, 9);
    expect(memoryGrowth([0, 1, 2, 3, 4, 5, 6], [1, 2, 3, 4, 5, 6, 7], 2).growth).toBeNaN(); // 5 samples left
  });

  it("soak memory – a GC dip early on or a burst late is no growth; a flat process reads 0", () => {
    const MiB = 1024 * 1024;
    const times = Array.from({ length: 90 }, (_, i) => i);
    // Flat at 120 MiB; pages handed back (90 MiB) for 10 s in the first third; a 40 MiB burst at the end.
    const rss = times.map((t) => (t >= 5 && t < 15 ? 90 : t >= 85 ? 160 : 120) * MiB);
    const g = memoryGrowth(times, rss, 0);
    expect(g.medianRise / MiB).toBe(0);
    expect(g.peakRise / MiB).toBe(40);
    expect(g.growth).toBe(0);
  });

  it("soak latency – quantiles within half a 5 % bucket, histograms add across workers", () => {
    const a = new LatencyHistogram();
    const b = new LatencyHistogram();
    for (let ms = 1; ms <= 100; ms++) (ms % 2 ? a : b).record(ms);
    const all = LatencyHistogram.from(a.data());
    all.add(b.data());
    expect(all.count).toBe(100);
    expect(Math.abs(all.quantile(0.5) / 50 - 1)).toBeLessThan(0.025);
    expect(Math.abs(all.quantile(0.99) / 99 - 1)).toBeLessThan(0.025);
    expect(all.quantile(0.01)).toBe(1); // everything up to 1 ms is one bucket
    expect(new LatencyHistogram().quantile(0.5)).toBeNaN();
  });
});
