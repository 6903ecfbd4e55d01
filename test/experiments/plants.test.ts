import { describe, expect, it } from "vitest";
import { CachePlant } from "../../experiments/plants/cache.js";
import { WorkerPool, workerPoolColumns } from "../../experiments/plants/worker-pool.js";
import { CodelQueue, EventQueue, PieQueue } from "../../toolbox/control/index.js";

/** Erlang C: probability that an arrival waits in M/M/c with offered traffic a = λ/μ (a < c). */
function erlangC(c: number, a: number): number {
  let term = 1;
  let sum = 1;
  for (let k = 1; k < c; k++) {
    term *= a / k;
    sum += term;
  }
  const last = ((term * a) / c) * (c / (c - a));
  return last / (sum + last);
}

const col = (name: string) => workerPoolColumns.findIndex((c) => c.name === name);

function advance(plant: { advance(dt: number): void }, seconds: number, dt = 0.1): void {
  for (let k = 0; k < Math.round(seconds / dt); k++) plant.advance(dt);
}

describe("worker pool", () => {
  it("worker pool – M/M/c mean sojourn matches Erlang C", () => {
    // 8 workers × 25 msg/s, λ = 160 (ρ = 0.8): W = C(8, 6.4)/(cμ − λ) + 1/μ (Kleinrock,
    // Queueing Systems I, §3.5). 2000 s ≈ 320 000 messages; the mean of
    // correlated sojourns at ρ = 0.8 is within a few % of W: tolerance 3 %.
    const plant = new WorkerPool({ load: 160, workerRate: 25, workers: 8, seed: 3 });
    advance(plant, 2000);
    const sojourns = plant.sojournTimes();
    let mean = 0;
    for (const s of sojourns) mean += s;
    mean /= sojourns.length;
    const w = erlangC(8, 6.4) / (200 - 160) + 1 / 25;
    expect(Math.abs(mean / w - 1)).toBeLessThan(0.03);
    // Little's law L = λW on the same run (exact in the limit; 2 % here).
    const stats = plant.stats();
    expect(Math.abs(stats.extra.meanBacklog! / (160 * mean) - 1)).toBeLessThan(0.02);
    // Utilization ρ = λ/(cμ) = 0.8 is the goodput (busy worker-time / worker-time), 2 %.
    expect(stats.goodput).toBeGreaterThan(0.78);
    expect(stats.goodput).toBeLessThan(0.82);
  });

  it("worker pool – agrees with EventQueue (M/M/c) at the same load", () => {
    // Two independent simulators of M/M/4 at ρ = 0.75; mean sojourns agree within 4 % over 1500 s.
    const pool = new WorkerPool({ load: 75, workerRate: 25, workers: 4, seed: 5 });
    const queue = new EventQueue({ capacity: 100, servers: 4, seed: 6 });
    for (let k = 0; k < 15000; k++) {
      pool.advance(0.1);
      queue.step(75, 0.1);
    }
    const sojourns = pool.sojournTimes();
    let mean = 0;
    for (const s of sojourns) mean += s;
    mean /= sojourns.length;
    expect(Math.abs(mean / queue.summary().meanSojourn - 1)).toBeLessThan(0.04);
  });

  it("worker pool – every message is counted: offered = admitted + shed, admitted = served + dropped + backlog − initial", () => {
    const plant = new WorkerPool({
      load: 300,
      workerRate: 20,
      workers: 5,
      bufferSize: 40,
      initialBacklog: 10,
      seed: 2,
    });
    plant.apply("rate", 250);
    advance(plant, 30);
    const e = plant.stats().extra;
    const backlog = plant.observe().values[col("backlog")]!;
    expect(e.offered).toBe(e.admitted! + e.shedCount!);
    expect(e.admitted).toBe(e.served! + e.droppedCount! + backlog - 10);
    expect(e.droppedCount).toBeGreaterThan(0);
  });

  it("worker pool – the token bucket admits its rate when more is offered", () => {
    // 300 msg/s offered, rate 100: admitted ≈ 100 msg/s (the bucket of 5 tokens
    // is almost never full at 300 arrivals/s); 60 s → 6000 ± 2 %.
    const plant = new WorkerPool({ load: 300, workerRate: 50, workers: 4, seed: 4 });
    plant.apply("rate", 100);
    advance(plant, 60);
    const e = plant.stats().extra;
    expect(Math.abs(e.admitted! / 6000 - 1)).toBeLessThan(0.02);
    expect(plant.stats().shed).toBeCloseTo(1 - e.admitted! / e.offered!, 12);
  });

  it("worker pool – the admission fraction thins the offered messages", () => {
    // Fraction 0.25 of 200 msg/s for 50 s: binomial, admitted/offered = 0.25 ± 4σ (σ ≈ 0.0043).
    const plant = new WorkerPool({ load: 200, workerRate: 50, workers: 4, seed: 8 });
    expect(plant.apply("fraction", 0.25)).toBe(0.25);
    advance(plant, 50);
    const e = plant.stats().extra;
    expect(Math.abs(e.admitted! / e.offered! - 0.25)).toBeLessThan(4 * Math.sqrt((0.25 * 0.75) / e.offered!));
  });

  it("worker pool – the credit window caps the messages in the system", () => {
    const plant = new WorkerPool({ load: 300, workerRate: 20, workers: 2, seed: 9 });
    plant.apply("window", 5);
    for (let k = 0; k < 200; k++) {
      plant.advance(0.05);
      expect(plant.observe().values[col("backlog")]).toBeLessThanOrEqual(5);
    }
    expect(plant.stats().extra.shedCount).toBeGreaterThan(0);
    expect(plant.observe().values[col("window")]).toBe(5);
  });

  it("worker pool – new workers take work after the start delay; removed ones stop", () => {
    const plant = new WorkerPool({ load: 10, workerRate: 5, workers: 2, workerStartDelay: 1, seed: 1 });
    expect(plant.apply("workers", 4.4)).toBe(4);
    plant.advance(0.5);
    // Capacity = ready workers × 5 msg/s: still 2 ready at 0.5 s, 4 after 1 s.
    expect(plant.observe().values[col("capacity")]).toBe(10);
    plant.advance(0.5);
    expect(plant.observe().values[col("capacity")]).toBe(20);
    expect(plant.apply("workers", 0)).toBe(1);
    expect(plant.observe().values[col("workers")]).toBe(1);
  });

  it("worker pool – measurementDelay shows the backlog as it was", () => {
    const plant = new WorkerPool({ load: 100, workerRate: 1, workers: 1, measurementDelay: 0.3, seed: 1 });
    const truth: number[] = [];
    for (let k = 0; k < 20; k++) {
      plant.advance(0.1);
      const s = plant.observe();
      truth.push(s.values[col("backlog")]!);
      // Sample-and-hold at step boundaries: the backlog of 3 steps before (0 before any).
      expect(s.observation.measurement).toBe(k >= 3 ? truth[k - 3] : 0);
    }
  });

  it("worker pool – a stale reading ages the whole observation, rates and sojourn included", () => {
    const fresh = new WorkerPool({ load: 240, workerRate: 25, workers: 8, seed: 4 });
    const stale = new WorkerPool({ load: 240, workerRate: 25, workers: 8, seed: 4, measurementDelay: 0.2 });
    const seen: ReturnType<WorkerPool["observe"]>["observation"][] = [];
    for (let k = 0; k < 30; k++) {
      fresh.advance(0.1);
      stale.advance(0.1);
      seen.push(fresh.observe().observation);
      // The same seed and no actuation: the stale plant reads what the fresh one read two samples before.
      if (k >= 2) expect(stale.observe().observation).toEqual(seen[k - 2]);
      // The logged columns stay current.
      expect(stale.observe().values).toEqual(fresh.observe().values);
    }
    // The delay estimate is the backlog over the measured departure rate, not over a nominal capacity.
    const o = fresh.observe().observation;
    expect(o.delay).toBeCloseTo(o.measurement / o.serviceRate!, 12);
  });

  it("worker pool – PIE and CoDel in the data path drop messages, counted as shed", () => {
    // 240 msg/s offered to 200 msg/s: without control the queue grows by 40 msg/s.
    const run = (discipline: PieQueue | CodelQueue | null) => {
      const plant = new WorkerPool({ load: 240, workerRate: 25, workers: 8, seed: 5, discipline });
      advance(plant, 30);
      const sojourns = plant.sojournTimes();
      const tail = Array.from(sojourns.slice(-1000));
      return { stats: plant.stats(), meanTail: tail.reduce((a, b) => a + b, 0) / tail.length, plant };
    };
    const none = run(null);
    const pie = run(new PieQueue({ target: 0.05 }));
    const codel = run(new CodelQueue({ target: 0.02, interval: 0.1 }));
    expect(none.stats.shed).toBe(0);
    expect(none.meanTail).toBeGreaterThan(3);
    for (const r of [pie, codel]) {
      // Dropping about the 1/6 excess keeps the late sojourns near the targets instead of seconds.
      expect(r.stats.shed).toBeGreaterThan(0.1);
      expect(r.stats.shed).toBeLessThan(0.4);
      expect(r.meanTail).toBeLessThan(0.5);
      expect(r.stats.extra.offered).toBe(
        r.stats.extra.served! + r.stats.extra.shedCount! + r.plant.observe().values[col("backlog")]!,
      );
    }
    expect(pie.plant.actuators).toContain("aqm");
    expect(none.plant.actuators).not.toContain("aqm");
    expect(() => none.plant.apply("aqm", 1)).toThrow(/`aqm`/);
  });

  it("worker pool – the same seed gives the same run, another seed another", () => {
    const run = (seed: number) => {
      const plant = new WorkerPool({ load: 150, workerRate: 25, workers: 6, seed });
      advance(plant, 20);
      return Array.from(plant.sojournTimes());
    };
    expect(run(7)).toEqual(run(7));
    expect(run(7)).not.toEqual(run(8));
  });

  it("worker pool – rejects bad options and actuators by name", () => {
    expect(() => new WorkerPool({ load: 1, workerRate: 1, workers: 0 })).toThrow(/`workers`/);
    expect(() => new WorkerPool({ load: 1, workerRate: 1, bufer: 3 } as never)).toThrow(/`bufer`/);
    expect(() => new WorkerPool({ load: 1, workerRate: 1, burstTime: 0 })).toThrow(/`burstTime`/);
    expect(() => new WorkerPool({ load: 1, workerRate: 1 }).apply("speed", 1)).toThrow(/`speed`/);
    expect(() => new WorkerPool({ load: 1, workerRate: 1 }).apply("rate", Number.NaN)).toThrow(TypeError);
  });
});

describe("cache plant", () => {
  it("cache plant – a cache as large as the key space hits every request once all keys were seen", () => {
    // 50 keys, Zipf(1): the rarest key has p = 1/(50·H₅₀) ≈ 0.0044, so 10 s × 1000 req/s sees it ~44 times.
    const plant = new CachePlant({ requestRate: 1000, keys: 50, capacity: 50, zipf: 1, seed: 3 });
    for (let k = 0; k < 20; k++) plant.advance(0.5);
    const s = plant.observe();
    expect(s.observation.measurement).toBe(1);
    expect(s.values[2]).toBe(50);
  });

  it("cache plant – under uniform demand the LRU hit rate is capacity/keys", () => {
    // Independent uniform requests over N keys: an LRU cache of C entries holds C
    // distinct keys, so a request hits with probability C/N (here 0.25). 200 000
    // requests after the warm-up: binomial σ ≈ 0.001, tolerance 0.01.
    const plant = new CachePlant({ requestRate: 10000, keys: 1000, capacity: 250, zipf: 0, seed: 4 });
    for (let k = 0; k < 10; k++) plant.advance(0.5);
    const before = plant.stats().extra;
    for (let k = 0; k < 40; k++) plant.advance(0.5);
    const after = plant.stats().extra;
    const rate = (after.hits! - before.hits!) / (after.requests! - before.requests!);
    expect(Math.abs(rate - 0.25)).toBeLessThan(0.01);
  });

  it("cache plant – shrinking evicts at once and a popularity shift empties the hits", () => {
    const plant = new CachePlant({
      requestRate: 2000,
      keys: 10000,
      capacity: 2000,
      zipf: 1,
      shift: (t) => (t < 10 ? 0 : 5000),
      seed: 5,
    });
    for (let k = 0; k < 20; k++) plant.advance(0.5);
    const warm = plant.observe().observation.measurement;
    plant.advance(0.5);
    // The hot keys moved to the other half of the key space (the coldest keys
    // before): the first request of each key in the next period misses, and
    // 1000 Zipf(1) requests over 10 000 keys touch a few hundred distinct keys.
    expect(plant.observe().observation.measurement).toBeLessThan(warm - 0.15);
    expect(plant.apply("capacity", 100.4)).toBe(100);
    expect(plant.observe().values[2]).toBe(100);
    plant.advance(0.5);
    expect(plant.observe().values[5]).toBeGreaterThanOrEqual(1900);
  });

  it("cache plant – rejects bad options", () => {
    expect(() => new CachePlant({ requestRate: 1, keys: 1 })).toThrow(/`keys`/);
    expect(() => new CachePlant({ requestRate: 1, keys: 10, capacity: 11 })).toThrow(/`capacity`/);
    expect(() => new CachePlant({ requestRate: 1, keys: 10 }).apply("size", 3)).toThrow(/`size`/);
  });
});
