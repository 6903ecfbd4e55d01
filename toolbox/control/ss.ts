/**
 * Single-input single-output state-space models, the form the simulator runs:
 * ẋ = A·x + B·u, y = C·x + D·u (or x[k+1] = A·x[k] + B·u[k] for discrete
 * time). Used internally to simulate and discretize transfer functions.
 */
import { expm, matrix } from "mathjs";
import { trim } from "./poly.js";

/** A SISO state-space model as plain data; `a` is n×n, `b` and `c` have length n. */
export interface StateSpace {
  a: number[][];
  b: number[];
  c: number[];
  d: number;
}

/**
 * Controllable canonical realization of num(x)/den(x), the convention of
 * scipy's `tf2ss` (python-control's fallback without slycot): A is the
 * companion matrix with first row −a₁…−aₙ (den made monic), B = e₁, C the
 * strictly proper numerator's coefficients, D the direct feedthrough.
 * Throws a RangeError for an improper transfer function (deg num > deg den),
 * which has no state-space form and cannot be simulated.
 */
export function realize(num: readonly number[], den: readonly number[]): StateSpace {
  const dn = trim(den);
  const nm = trim(num);
  const n = dn.length - 1;
  if (nm.length - 1 > n) {
    throw new RangeError(
      `Expected a proper transfer function (numerator degree ≤ denominator degree), got degrees ${nm.length - 1} > ${n}; add a derivative filter (\`tf\`) or more poles`,
    );
  }
  const lead = dn[0]!;
  const a0 = dn.map((c) => c / lead);
  const padded = [...new Array<number>(n + 1 - nm.length).fill(0), ...nm.map((c) => c / lead)];
  const d = padded[0]!;
  // Strictly proper remainder: num/lead − d·den/lead, its leading term is zero.
  const rest = padded.map((c, i) => c - d * a0[i]!).slice(1);
  const a = Array.from({ length: n }, () => new Array<number>(n).fill(0));
  for (let j = 0; j < n; j++) a[0]![j] = -a0[j + 1]!;
  for (let i = 1; i < n; i++) a[i]![i - 1] = 1;
  const b = Array.from({ length: n }, (_, i) => (i === 0 ? 1 : 0));
  return { a, b, c: rest, d };
}

/** ZOH transition over one step: x(t+h) = phi·x(t) + gamma·u for u held constant. */
export interface ZohStep {
  /** e^{A·h}, row-major n×n. */
  phi: Float64Array;
  /** ∫₀ʰ e^{A·s} ds · B, length n. */
  gamma: Float64Array;
}

/**
 * Exact zero-order-hold step for a continuous model: one matrix exponential of
 * the augmented matrix [[A, B], [0, 0]]·h, whose top blocks are e^{A·h} and
 * ∫₀ʰ e^{A·s} ds·B (Van Loan, "Computing integrals involving the matrix
 * exponential", IEEE TAC 23(3), 1978; Franklin, Powell & Workman, "Digital
 * Control of Dynamic Systems", 3rd ed., ch. 4). Works for singular A
 * (integrators), unlike formulas with A⁻¹.
 */
export function zohStep(ss: StateSpace, h: number): ZohStep {
  const n = ss.a.length;
  const m = Array.from({ length: n + 1 }, () => new Array<number>(n + 1).fill(0));
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) m[i]![j] = ss.a[i]![j]! * h;
    m[i]![n] = ss.b[i]! * h;
  }
  const e = expm(matrix(m)).toArray() as number[][];
  const phi = new Float64Array(n * n);
  const gamma = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) phi[i * n + j] = e[i]![j]!;
    gamma[i] = e[i]![n]!;
  }
  return { phi, gamma };
}
