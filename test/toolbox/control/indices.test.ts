import { describe, expect, it } from "vitest";
import { effort, iae, ise, itae, loopPerformance, rmse } from "../../../toolbox/control/indices.js";

describe("indices", () => {
  it("indices – a constant error e over T gives IAE = |e|T, ISE = e²T, ITAE = |e|T²/2, RMSE = |e|", () => {
    const times = [0, 1, 2, 3, 4, 5];
    const measurements = times.map(() => 8);
    // setpoint 10 → e = 2 over 5 s
    expect(iae(times, 10, measurements)).toBe(10);
    expect(ise(times, 10, measurements)).toBe(20);
    expect(itae(times, 10, measurements)).toBe(25);
    expect(rmse(times, 10, measurements)).toBe(2);
    // Overshooting by the same amount counts the same (absolute value).
    expect(iae(times, 6, measurements)).toBe(10);
  });

  it("indices – trapezoidal rule on an uneven grid", () => {
    // e(t) = t sampled at 0, 1, 3: ∫|e| is exact for a linear error (4.5);
    // trapezoids of e² and t·|e|: 1·(0 + 1)/2 + 2·(1 + 9)/2 = 10.5 each (the exact ∫t² is 9).
    const times = [0, 1, 3];
    const measurements = [0, -1, -3];
    expect(iae(times, 0, measurements)).toBe(4.5);
    expect(ise(times, 0, measurements)).toBe(10.5);
    expect(itae(times, 0, measurements)).toBe(10.5);
    expect(rmse(times, 0, measurements)).toBeCloseTo(Math.sqrt(10.5 / 3), 14);
  });

  it("indices – ITAE weights time from the first sample, not from zero", () => {
    const times = [100, 101, 102];
    // e = 1 throughout: ∫(t − 100)·1 dt over 2 s = 2.
    expect(itae(times, 1, [0, 0, 0])).toBe(2);
  });

  it("indices – a per-sample setpoint follows the setpoint profile", () => {
    const times = [0, 1, 2];
    // setpoints 0, 2, 2 with measurements 0, 1, 2: e = 0, 1, 0 → IAE = 0.5 + 0.5 = 1
    expect(iae(times, [0, 2, 2], [0, 1, 2])).toBe(1);
  });

  it("indices – effort is the total variation of the output", () => {
    expect(effort([0, 1, 0.5, 2])).toBe(3);
    expect(effort([5])).toBe(0);
  });

  it("indices – loopPerformance returns every index, NaN effort without outputs", () => {
    const times = [0, 0.5, 2];
    const setpoints = [1, 1, 1];
    const measurements = [0, 0.5, 1];
    const outputs = [3, 1, 2];
    const all = loopPerformance(times, setpoints, measurements, outputs);
    expect(all).toEqual({
      iae: iae(times, setpoints, measurements),
      ise: ise(times, setpoints, measurements),
      itae: itae(times, setpoints, measurements),
      rmse: rmse(times, setpoints, measurements),
      effort: 3,
    });
    // e = 1, 0.5, 0: IAE = 0.5·0.75 + 1.5·0.25 = 0.75
    expect(all.iae).toBeCloseTo(0.75, 14);
    expect(loopPerformance(times, 1, measurements).effort).toBeNaN();
    expect(loopPerformance([0], 1, [0]).rmse).toBeNaN();
  });

  it("indices – validates lengths, order and finiteness with named messages", () => {
    expect(() => iae([0, 1], 1, [0])).toThrow(/`measurements`/);
    expect(() => iae([0, 1], [1], [0, 0])).toThrow(/`setpoint`/);
    expect(() => iae([1, 0], 1, [0, 0])).toThrow(/non-decreasing/);
    expect(() => iae([0, 1], 1, [0, Number.NaN])).toThrow(/`measurements\[1\]`/);
    expect(() => loopPerformance([0, 1], 1, [0, 0], [1])).toThrow(/`outputs`/);
    expect(() => effort([0, Number.POSITIVE_INFINITY])).toThrow(/`outputs\[1\]`/);
  });
});
