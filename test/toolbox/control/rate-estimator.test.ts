import { describe, expect, it } from "vitest";
import { Random } from "../../../toolbox/control/random.js";
import { ServiceRateEstimator } from "../../../toolbox/control/rate-estimator.js";

const ln2 = Math.LN2;
const alpha = 1 - Math.exp(-0.1 / 2); // the 2 s filter's gain at dt = 0.1 s

/** A Poisson count by exponential gaps (seeded): the departures of busy workers in one sample. */
function poisson(random: Random, mean: number): number {
  let t = random.exponential(1);
  let n = 0;
  while (t < mean) {
    n++;
    t += random.exponential(1);
  }
  return n;
}

describe("service-rate estimator", () => {
  it("rate estimator – the CUSUM adds the Poisson log-likelihood ratio of each count and jumps at the threshold", () => {
    const mu = new ServiceRateEstimator({ busyBacklog: 0, graded: false, releaseTau: 0 });
    expect(mu.update(50, 200, 0.1)).toBe(200);
    // 10 served where 20 were expected: ln L(100)/L(200) = 10·ln ½ + ½·20 = 3.069 nats; the level filters.
    mu.update(50, 100, 0.1);
    expect(mu.evidence).toBeCloseTo(10 - 10 * ln2, 12);
    const second = 200 - alpha * 100;
    expect(mu.level).toBeCloseTo(second, 12);
    // The next sample's expectation is the filtered level: 2.82 more nats, 5.89 in all, under 6.
    mu.update(50, 100, 0.1);
    const g2 = 10 - 10 * ln2 + (-10 * ln2 + 0.5 * second * 0.1);
    expect(mu.evidence).toBeCloseTo(g2, 12);
    const third = second + alpha * (100 - second);
    expect(mu.level).toBeCloseTo(third, 12);
    // The third passes 6 nats: the level is the mean since the drop began, and the evidence clears.
    expect(mu.update(50, 100, 0.1)).toBeCloseTo(100, 12);
    expect(mu.evidence).toBe(0);
    // The filter restarts there: the next sample is averaged in with weight 1/4 (100, 100, 100, 110).
    expect(mu.update(50, 110, 0.1)).toBeCloseTo(102.5, 12);
  });

  it("rate estimator – a rise is detected the same way, against μ̂/ρ", () => {
    const mu = new ServiceRateEstimator({ busyBacklog: 0, graded: false, releaseTau: 0 });
    mu.update(50, 100, 0.1);
    // 20 served where 10 were expected: 20·ln 2 + (1 − 2)·10 = 3.86 nats, then more: over 6 at the second.
    mu.update(50, 200, 0.1);
    expect(mu.level).toBeCloseTo(100 + alpha * 100, 12);
    expect(mu.update(50, 200, 0.1)).toBeCloseTo(200, 12);
  });

  it("rate estimator – partial evidence of a drop lowers the rate at once; it comes back through the release lag", () => {
    const mu = new ServiceRateEstimator({ busyBacklog: 0, releaseTau: 0.5 });
    mu.update(50, 200, 0.1);
    // One sample of 10 where 20 were expected: 3.07 nats, w = (3.07 − 1)/(6 − 1) of the way from the
    // level to the mean since the drop began (100).
    const rate = mu.update(50, 100, 0.1);
    const level = 200 - alpha * 100;
    const w = (10 - 10 * ln2 - 1) / 5;
    expect(rate).toBeCloseTo(level - w * (level - 100), 12);
    expect(rate).toBeLessThan(160);
    // A normal sample clears the evidence: the target is the level again, reached with a 0.5 s lag.
    const back = mu.update(50, 200, 0.1);
    const target = level + alpha * (200 - level);
    expect(back).toBeCloseTo(rate + (1 - Math.exp(-0.1 / 0.5)) * (target - rate), 12);
    // Without grading, the same sample moves nothing but the filter.
    const plain = new ServiceRateEstimator({ busyBacklog: 0, graded: false, releaseTau: 0 });
    plain.update(50, 200, 0.1);
    expect(plain.update(50, 100, 0.1)).toBeCloseTo(level, 12);
  });

  it("rate estimator – learns only while the workers are busy", () => {
    const mu = new ServiceRateEstimator({ busyBacklog: 8, graded: false, releaseTau: 0 });
    mu.update(20, 200, 0.1);
    // Backlog 3 at the end of the sample: the pool idled, its service rate is its arrivals.
    expect(mu.update(3, 40, 0.1)).toBe(200);
    // Busy at this end but not at the start of the sample: still not learnt.
    expect(mu.update(20, 40, 0.1)).toBe(200);
    expect(mu.update(20, 190, 0.1)).toBeCloseTo(200 - alpha * 10, 12);
    // initialRate stands in until a positive rate is seen.
    const cold = new ServiceRateEstimator({ initialRate: 150 });
    expect(cold.update(0, 0, 0.1)).toBe(150);
    expect(new ServiceRateEstimator().update(0, 0, 0.1)).toBeNaN();
  });

  it("rate estimator – one sample far below trips the alarm alone, and the next normal one trips it back", () => {
    const mu = new ServiceRateEstimator({ busyBacklog: 0, graded: false, releaseTau: 0 });
    mu.update(50, 200, 0.1);
    // 4 served where 20 were expected: 4·ln ½ + ½·20 = 7.23 nats > 6.
    expect(mu.update(50, 40, 0.1)).toBeCloseTo(40, 12);
    // 20 where 4 were expected: 20·ln 2 + (1 − 2)·4 = 9.86 nats > 6: back at once.
    expect(mu.update(50, 200, 0.1)).toBeCloseTo(200, 12);
  });

  it("rate estimator – on Poisson departures false alarms come about every 1 000–2 000 samples, and half the halvings are taken by the third sample", () => {
    // 20 departures per 0.1 s sample (8 workers, 200 msg/s), seeded. A Monte Carlo of the 6-nat drop
    // CUSUM against the true rate gives about 1 800 samples between false alarms; against the filtered
    // level (3.5 % noise) somewhat fewer. 20 000 samples should see a handful to a few dozen, not
    // hundreds (a 4-nat threshold: about 240 samples apart).
    const random = new Random(7, 1);
    const mu = new ServiceRateEstimator({ busyBacklog: 0, graded: false, releaseTau: 0 });
    mu.update(50, 200, 0.1);
    for (let k = 0; k < 20000; k++) mu.update(50, poisson(random, 20) / 0.1, 0.1);
    expect(mu.changes.drops).toBeGreaterThanOrEqual(5);
    expect(mu.changes.drops).toBeLessThanOrEqual(40);
    // The capacity halves: the first sample after it still counts messages served at the old speed.
    const delays: number[] = [];
    for (let trial = 0; trial < 50; trial++) {
      const fresh = new ServiceRateEstimator({ busyBacklog: 0, graded: false, releaseTau: 0 });
      fresh.update(50, 200, 0.1);
      for (let k = 0; k < 50; k++) fresh.update(50, poisson(random, 20) / 0.1, 0.1);
      let detected = 99;
      for (let k = 0; k < 10 && detected === 99; k++) {
        fresh.update(50, (k === 0 ? poisson(random, 12.5) : poisson(random, 10)) / 0.1, 0.1);
        if (fresh.level < 140) detected = k + 1;
      }
      delays.push(detected);
    }
    // Half the halvings are taken by the third sample (the first gives ~1.5 nats, each later one ~3),
    // and all within a second.
    const sorted = delays.slice().sort((x, y) => x - y);
    expect(sorted[sorted.length / 2]).toBeLessThanOrEqual(3);
    expect(sorted[0]).toBeGreaterThanOrEqual(1);
    expect(sorted[sorted.length - 1]).toBeLessThanOrEqual(10);
  });

  it("rate estimator – checks its options", () => {
    expect(() => new ServiceRateEstimator({ changeRatio: 1 })).toThrow(/`changeRatio`/);
    expect(() => new ServiceRateEstimator({ changeThreshold: 0 })).toThrow(/`changeThreshold`/);
    expect(() => new ServiceRateEstimator({ releaseTau: -1 })).toThrow(/`releaseTau`/);
    expect(() => new ServiceRateEstimator({ graded: 1 as unknown as boolean })).toThrow(TypeError);
    expect(() => new ServiceRateEstimator({ rate: 1 } as never)).toThrow(/Unknown/);
    const mu = new ServiceRateEstimator({ changeThreshold: Number.POSITIVE_INFINITY });
    mu.update(50, 200, 0.1);
    for (let k = 0; k < 20; k++) mu.update(50, 100, 0.1);
    // Detection off: only the filter moves the level.
    expect(mu.level).toBeCloseTo(100 + 100 * (1 - alpha) ** 20, 9);
    mu.setParams({ rateTau: 1 });
    expect(mu.params().rateTau).toBe(1);
    mu.reset();
    expect(mu.level).toBeNaN();
  });
});
