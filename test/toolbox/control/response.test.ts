import { describe, expect, it } from "vitest";
import {
  defaultTimes,
  forcedResponse,
  impulseResponse,
  stepResponse,
} from "../../../toolbox/control/response.js";
import { feedback, pidTf, series, tf } from "../../../toolbox/control/tf.js";

const linspace = (a: number, b: number, n: number) =>
  Array.from({ length: n }, (_, k) => a + ((b - a) * k) / (n - 1));

describe("stepResponse", () => {
  it("stepResponse – first-order lag is 1 − e^{−t/τ} on an uneven grid", () => {
    const tau = 2;
    const times = [0, 0.01, 0.5, 0.51, 1.7, 4, 9.3];
    const r = stepResponse(tf(1, [tau, 1]), times);
    expect(r.times).toEqual(times);
    r.times.forEach((t, k) => {
      expect(r.values[k]).toBeCloseTo(1 - Math.exp(-t / tau), 13);
    });
  });

  it("stepResponse – underdamped second order matches the closed form", () => {
    // ωn²/(s² + 2ζωn s + ωn²): y = 1 − e^{−ζωn t}(cos ωd t + ζ/√(1−ζ²)·sin ωd t)
    const wn = 3;
    const zeta = 0.3;
    const wd = wn * Math.sqrt(1 - zeta ** 2);
    const r = stepResponse(tf(wn ** 2, [1, 2 * zeta * wn, wn ** 2]), linspace(0, 5, 51));
    r.times.forEach((t, k) => {
      const want =
        1 -
        Math.exp(-zeta * wn * t) * (Math.cos(wd * t) + (zeta / Math.sqrt(1 - zeta ** 2)) * Math.sin(wd * t));
      expect(r.values[k]).toBeCloseTo(want, 12);
    });
  });

  it("stepResponse – matches python-control's siso_ss1 reference with a direct term", () => {
    // python-control control/tests/timeresp_test.py, fixture siso_ss1: A = [[1, −2], [3, −4]],
    // B = [5, 7], C = [6, 8], D = 9, i.e. G = (9s² + 113s + 118)/(s² + 3s + 2) (worked by hand:
    // C·adj(sI − A)·B = 86s + 100, det = s² + 3s + 2). Reference values to 4 decimals.
    const ystep = [9, 17.6457, 24.7072, 30.4855, 35.2234, 39.1165, 42.3227, 44.9694, 47.1599, 48.9776];
    const r = stepResponse(tf([9, 113, 118], [1, 3, 2]), linspace(0, 1, 10));
    r.values.forEach((v, k) => {
      expect(v).toBeCloseTo(ystep[k]!, 4);
    });
  });

  it("stepResponse – dead time shifts the response, also between grid points", () => {
    const theta = 0.35;
    const r = stepResponse(tf(1, [1, 1], { theta }), linspace(0, 3, 31));
    r.times.forEach((t, k) => {
      const want = t >= theta ? 1 - Math.exp(-(t - theta)) : 0;
      expect(r.values[k]).toBeCloseTo(want, 12);
    });
  });

  it("stepResponse – PI on 1/s closes to 1/(s+1)", () => {
    // C = 1 + 1/s = (s+1)/s, G = 1/(s+1): loop gain 1/s, closed loop 1/(s+1).
    const closed = feedback(series(pidTf({ kp: 1, ki: 1 }), tf(1, [1, 1])));
    const r = stepResponse(closed, linspace(0, 5, 26));
    r.times.forEach((t, k) => {
      expect(r.values[k]).toBeCloseTo(1 - Math.exp(-t), 12);
    });
  });

  it("stepResponse – a discrete system steps by dt with its delay line", () => {
    // y[k] = 0.5·y[k−1] + u[k−1−2]: z⁻²·1/(z − 0.5), dt = 0.1.
    const g = tf(1, [1, -0.5], { dt: 0.1, theta: 0.2 });
    const r = stepResponse(g, 1);
    expect(r.times).toHaveLength(11);
    const want = [0, 0, 0, 1, 1.5, 1.75, 1.875];
    want.forEach((w, k) => {
      expect(r.values[k]).toBeCloseTo(w, 14);
    });
    expect(() => stepResponse(g, [0, 0.1, 0.25])).toThrow(/evenly spaced/);
  });

  it("stepResponse – a static gain and an improper system", () => {
    expect(stepResponse(tf(3), [0, 1, 2]).values).toEqual([3, 3, 3]);
    expect(() => stepResponse(tf([1, 0], [1]), [0, 1])).toThrow(/proper/);
  });
});

describe("forcedResponse", () => {
  it("forcedResponse – holds each input until the next time (ZOH)", () => {
    // Integrator 1/s: y(t_k) = Σ u_j·(t_{j+1} − t_j) over earlier intervals.
    const r = forcedResponse(tf(1, [1, 0]), [0, 1, 3, 4], [1, 2, 0, 5]);
    expect(r.values).toEqual([0, 1, 5, 5].map((v) => expect.closeTo(v, 13)));
  });

  it("forcedResponse – validates times and inputs", () => {
    const g = tf(1, [1, 1]);
    expect(() => forcedResponse(g, [0, 1, 1], 1)).toThrow(/strictly increasing/);
    expect(() => forcedResponse(g, [0, 1], [1])).toThrow(/one value per time/);
    expect(() => forcedResponse(g, [0, 1], [1, Number.NaN])).toThrow(/`inputs\[1\]`/);
  });
});

describe("impulseResponse", () => {
  it("impulseResponse – 1/(s+1) is e^{−t}, delayed by θ", () => {
    const times = linspace(0, 4, 41);
    const r = impulseResponse(tf(1, [1, 1]), times);
    r.times.forEach((t, k) => {
      expect(r.values[k]).toBeCloseTo(Math.exp(-t), 13);
    });
    const d = impulseResponse(tf(1, [1, 1], { theta: 0.55 }), times);
    d.times.forEach((t, k) => {
      expect(d.values[k]).toBeCloseTo(t >= 0.55 ? Math.exp(-(t - 0.55)) : 0, 13);
    });
  });

  it("impulseResponse – matches python-control's siso_ss2 reference", () => {
    // python-control timeresp_test.py, siso_ss2 (siso_ss1 with D = 0): G = (86s + 100)/(s² + 3s + 2).
    const yimpulse = [86, 70.1808, 57.3753, 46.9975, 38.5766, 31.7344, 26.1668, 21.6292, 17.9245, 14.8945];
    const r = impulseResponse(tf([86, 100], [1, 3, 2]), linspace(0, 1, 10));
    r.values.forEach((v, k) => {
      expect(v).toBeCloseTo(yimpulse[k]!, 4);
    });
  });

  it("impulseResponse – a discrete impulse has unit area (u[0] = 1/dt)", () => {
    // python-control siso_dtf0: 1/z, dt = 1 → [0, 1, 0, 0].
    expect(impulseResponse(tf(1, [1, 0], { dt: 1 }), [0, 1, 2, 3]).values).toEqual([0, 1, 0, 0]);
    expect(impulseResponse(tf(1, [1, 0], { dt: 0.5 }), [0, 0.5, 1]).values).toEqual([0, 2, 0]);
  });
});

describe("defaultTimes", () => {
  it("defaultTimes – a pole at −0.5 simulates for ln(1000)/0.5 s", () => {
    // python-control test_auto_generated_time_vector_tfinal: 13.81551 for 1/(s + 0.5).
    const t = defaultTimes(tf(1, [1, 0.5]));
    expect(t[0]).toBe(0);
    expect(t.at(-1)).toBeCloseTo(13.81551, 4);
    expect(t.length).toBeGreaterThanOrEqual(100);
  });

  it("defaultTimes – an undamped mode at ωn gets a step of 2π/25/ωn", () => {
    // python-control test_auto_generated_time_vector_dt_cont1: dt = 0.25133/ωn.
    for (const wn of [10, 100]) {
      const t = defaultTimes(tf(1, [1, 0, wn ** 2]));
      expect(t[1]! - t[0]!).toBeCloseTo(0.25133 / wn, 5);
      expect(t.at(-1)).toBeCloseTo((5 * 2 * Math.PI) / wn, 10);
    }
  });

  it("defaultTimes – adds the dead time, honours a final time and caps at 5000 points", () => {
    const base = defaultTimes(tf(1, [1, 0.5]));
    expect(defaultTimes(tf(1, [1, 0.5], { theta: 2 })).at(-1)).toBeCloseTo(base.at(-1)! + 2, 10);
    expect(defaultTimes(tf(1, [1, 0.5]), 7).at(-1)).toBe(7);
    // python-control test_default_timevector_long: fast oscillation over 100 s stays at 5000 points.
    expect(defaultTimes(tf(1, [1, 0, 100 ** 2]), 100)).toHaveLength(5000);
    const d = defaultTimes(tf(1, [1, -0.5], { dt: 0.1 }), 1);
    expect(d).toHaveLength(11);
    expect(d[10]).toBeCloseTo(1, 12);
  });
});
