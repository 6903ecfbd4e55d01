import { describe, expect, it } from "vitest";
import {
  capacityStep,
  combined,
  noiseSeed,
  queueScenarios,
  queueSignals,
  setpointStep,
  toSignal,
} from "../../experiments/scenarios.js";

describe("scenarios", () => {
  it("scenarios – signal specs evaluate like the signals they name", () => {
    expect(toSignal(7, 1)(3)).toBe(7);
    const step = toSignal({ kind: "step", at: 2, from: 1, to: 5 }, 1);
    expect([step(1.9), step(2), step(9)]).toEqual([1, 5, 5]);
    const ramp = toSignal({ kind: "ramp", start: 1, end: 3, from: 0, to: 10 }, 1);
    expect([ramp(0), ramp(2), ramp(5)]).toEqual([0, 5, 10]);
    const burst = toSignal({ kind: "burst", start: 1, duration: 2, height: 4, base: 1 }, 1);
    expect([burst(0.5), burst(1), burst(2.9), burst(3)]).toEqual([1, 5, 5, 1]);
    const sum = toSignal({ kind: "sum", terms: [1, { kind: "step", at: 1, from: 0, to: 2 }] }, 1);
    expect([sum(0), sum(1)]).toEqual([1, 3]);
    const clamp = toSignal(
      { kind: "clamp", signal: { kind: "ramp", start: 0, end: 10, from: -5, to: 5 }, min: 0 },
      1,
    );
    expect([clamp(0), clamp(10)]).toEqual([0, 5]);
    const pw = toSignal({ kind: "piecewise", times: [0, 1], values: [3, 4] }, 1);
    expect([pw(0.5), pw(1.5)]).toEqual([3, 4]);
    expect(toSignal({ kind: "sinusoid", amplitude: 2, period: 4, offset: 1 }, 1)(1)).toBeCloseTo(3, 12);
  });

  it("scenarios – noise is seeded by the run seed and the term's path", () => {
    const spec = { kind: "sum" as const, terms: [0, { kind: "noise" as const, sd: 1 }] };
    const a = toSignal(spec, 1, "load");
    const b = toSignal(spec, 1, "load");
    const c = toSignal(spec, 2, "load");
    const d = toSignal(spec, 1, "workerRate");
    const times = [0, 0.1, 0.2, 0.3, 5];
    expect(times.map(a)).toEqual(times.map(b));
    expect(times.map(a)).not.toEqual(times.map(c));
    expect(times.map(a)).not.toEqual(times.map(d));
    expect(noiseSeed(1, "load.terms[1]")).toBe(noiseSeed(1, "load.terms[1]"));
    // An explicit seed wins over the run seed.
    const fixed = { kind: "noise" as const, sd: 1, seed: 9 };
    expect(times.map(toSignal(fixed, 1))).toEqual(times.map(toSignal(fixed, 2)));
  });

  it("scenarios – the capacity step halves the worker rate at duration/3 and marks the step", () => {
    const s = capacityStep();
    expect(s).toMatchObject({
      model: "worker-pool",
      name: "capacity-step",
      workers: 8,
      load: 240,
      setpoint: 50,
      bufferSize: 1000,
    });
    expect(s.step).toEqual({ signal: "workerRate", at: 20 });
    const sig = queueSignals(s, 1);
    expect([sig.workerRate(19.9), sig.workerRate(20)]).toEqual([25, 12.5]);
    expect(JSON.parse(JSON.stringify(s))).toEqual(s);
  });

  it("scenarios – every builder gives plain data whose rates stay non-negative", () => {
    for (const [name, build] of Object.entries(queueScenarios)) {
      const s = build({ duration: 30 });
      expect(s.name).toBe(name);
      expect(JSON.parse(JSON.stringify(s))).toEqual(s);
      const sig = queueSignals(s, 3);
      for (let t = 0; t < 30; t += 0.25) {
        expect(sig.load(t)).toBeGreaterThanOrEqual(0);
        expect(sig.workerRate(t)).toBeGreaterThanOrEqual(0);
      }
    }
    expect(queueSignals(setpointStep({ duration: 30 }), 1).setpoint(10)).toBe(100);
    expect(combined().step?.signal).toBe("workerRate");
  });

  it("scenarios – bad specs and options throw with the name", () => {
    expect(() => toSignal({ kind: "wave" } as never, 1, "load")).toThrow(/`load.kind`/);
    expect(() => toSignal(Number.NaN, 1, "load")).toThrow(/`load`/);
    expect(() => capacityStep({ workers: 0 })).toThrow(/`workers`/);
    expect(() => capacityStep({ duration: -1 })).toThrow(/`duration`/);
  });
});
