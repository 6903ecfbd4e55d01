/**
 * Continuous → discrete conversion of transfer functions (MATLAB / python-control
 * `c2d`): exact zero-order hold, or Tustin (bilinear) with optional prewarping.
 */
import { add, charpoly, degree, multiply, power, scale } from "./poly.js";
import { realize, zohStep } from "./ss.js";
import { TransferFunction } from "./tf.js";
import { checkKeys, checkNumber, oneOf, positive } from "./validate.js";

/** Options of `discretize`. */
export interface DiscretizeOptions {
  /**
   * `"zoh"` (default): zero-order hold, exact at the sample instants for an
   * input held constant between samples (what a digital controller applies).
   * `"tustin"`: bilinear map s = (2/T)·(z − 1)/(z + 1), preserves stability
   * and approximates the frequency response.
   */
  method?: "zoh" | "tustin";
  /**
   * Tustin only: prewarp frequency in rad/s where the discrete frequency
   * response matches the continuous one exactly, s = (ω/tan(ωT/2))·(z − 1)/(z + 1).
   * Must be in (0, π/T). Default: none (plain Tustin).
   */
  prewarp?: number;
}

/**
 * Discretizes a continuous transfer function at `sampleTime` seconds.
 *
 * ZOH: realizes the system in state space and takes one matrix exponential
 * of [[A, B], [0, 0]]·T (see `zohStep`), then returns to a transfer function
 * with det(zI − Φ) as denominator and det(zI − Φ + ΓC) − det(zI − Φ) + D·det(zI − Φ)
 * as numerator (the SISO identity C·adj(zI − Φ)·Γ = det(zI − Φ + ΓC) − det(zI − Φ)).
 * A dead time θ = d·T + τ keeps d whole samples as the discrete `theta`; a
 * fractional part 0 < τ < T is discretized exactly with one extra state
 * (Åström & Wittenmark, "Computer-Controlled Systems", 3rd ed., ch. 2).
 *
 * Tustin: substitutes the bilinear map into the polynomials; the dead time must
 * be a whole number of samples (it is kept as is), otherwise a RangeError.
 */
export function discretize(
  sys: TransferFunction,
  sampleTime: number,
  options: DiscretizeOptions = {},
): TransferFunction {
  if (sys.isDiscrete) throw new RangeError(`Expected a continuous system, got one with \`dt\` = ${sys.dt}`);
  positive("sampleTime", sampleTime);
  checkKeys("discretize", options, ["method", "prewarp"]);
  const method = oneOf("method", options.method ?? "zoh", ["zoh", "tustin"]);
  if (method === "tustin") return tustin(sys, sampleTime, options.prewarp);
  if (options.prewarp !== undefined) {
    throw new RangeError('Expected `prewarp` only with `method: "tustin"`, got it with `"zoh"`');
  }
  return zoh(sys, sampleTime);
}

function zoh(sys: TransferFunction, T: number): TransferFunction {
  let whole = Math.floor(sys.theta / T);
  let frac = sys.theta - whole * T;
  if (frac <= 1e-9 * T) frac = 0;
  else if (T - frac <= 1e-9 * T) {
    whole += 1;
    frac = 0;
  }
  const ss = realize(sys.num, sys.den);
  const n = ss.a.length;
  let phi: number[][];
  let gamma: number[];
  let c: number[];
  let d: number;
  if (frac === 0) {
    const step = zohStep(ss, T);
    phi = toRows(step.phi, n);
    gamma = [...step.gamma];
    c = ss.c;
    d = ss.d;
  } else {
    // State [x; u[k−1]]: the delayed input is u[k−1] on [kT, kT+τ) and u[k] on [kT+τ, kT+T).
    const late = zohStep(ss, T - frac); // e^{A(T−τ)}, Γ₀ = ∫₀^{T−τ} e^{As} ds B
    const early = zohStep(ss, frac); // e^{Aτ}, ∫₀^τ e^{As} ds B
    const lateRows = toRows(late.phi, n);
    const earlyRows = toRows(early.phi, n);
    phi = Array.from({ length: n + 1 }, () => new Array<number>(n + 1).fill(0));
    for (let i = 0; i < n; i++) {
      let g1 = 0;
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let k = 0; k < n; k++) s += lateRows[i]![k]! * earlyRows[k]![j]!;
        phi[i]![j] = s;
        g1 += lateRows[i]![j]! * early.gamma[j]!;
      }
      phi[i]![n] = g1;
    }
    gamma = [...late.gamma, 1];
    c = [...ss.c, ss.d];
    d = 0;
  }
  const den = charpoly(phi);
  const closed = phi.map((row, i) => row.map((v, j) => v - gamma[i]! * c[j]!));
  const num = add(add(charpoly(closed), scale(den, -1)), scale(den, d));
  const lead = den[0]!;
  return new TransferFunction(
    num.map((x) => x / lead),
    den.map((x) => x / lead),
    { dt: T, theta: whole * T },
  );
}

function toRows(flat: Float64Array, n: number): number[][] {
  return Array.from({ length: n }, (_, i) => Array.from(flat.subarray(i * n, i * n + n)));
}

function tustin(sys: TransferFunction, T: number, prewarp: number | undefined): TransferFunction {
  const samples = sys.theta / T;
  if (Math.abs(samples - Math.round(samples)) > 1e-9 * Math.max(1, samples)) {
    throw new RangeError(
      `Expected \`theta\` to be a whole number of samples for Tustin, got \`${sys.theta}\` with \`sampleTime\` = ${T}; use method "zoh" or \`approximateDelay\``,
    );
  }
  let k = 2 / T;
  if (prewarp !== undefined) {
    checkNumber("prewarp", prewarp, "a frequency in (0, π/T) rad/s", (v) => v > 0 && v < Math.PI / T);
    k = prewarp / Math.tan((prewarp * T) / 2);
  }
  const n = Math.max(degree(sys.num), degree(sys.den));
  const map = (p: readonly number[]): number[] => {
    // P(s) = Σ p_j s^j  →  Σ p_j k^j (z − 1)^j (z + 1)^{n−j}
    let out = [0];
    const deg = p.length - 1;
    for (let j = 0; j <= deg; j++) {
      const coeff = p[deg - j]!;
      if (coeff === 0) continue;
      const term = multiply(power([1, -1], j), power([1, 1], n - j));
      out = add(out, scale(term, coeff * k ** j));
    }
    return out;
  };
  const num = map(sys.num);
  const den = map(sys.den);
  const lead = den[0]!;
  return new TransferFunction(
    num.map((x) => x / lead),
    den.map((x) => x / lead),
    { dt: T, theta: Math.round(samples) * T },
  );
}
