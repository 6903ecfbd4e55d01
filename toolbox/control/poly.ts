/**
 * Real polynomial helpers for transfer functions. A polynomial is an array of
 * coefficients, highest power first (python-control / numpy convention):
 * `[1, 5, 5]` is s² + 5s + 5. Internal to `toolbox/control` (not exported
 * from the barrel); mathjs has no general polynomial arithmetic, and these few
 * loops are clearer than building it from matrices.
 */
import { eigs } from "mathjs";

/** A complex number as plain data: `re + i·im`. Poles and zeros are returned in this form. */
export interface ComplexValue {
  re: number;
  im: number;
}

/** Drops leading zero coefficients; the zero polynomial stays `[0]`. */
export function trim(p: readonly number[]): number[] {
  let i = 0;
  while (i < p.length - 1 && p[i] === 0) i++;
  return p.length === 0 ? [0] : p.slice(i);
}

/** Degree after trimming; the zero polynomial has degree 0 here (callers check `isZero`). */
export function degree(p: readonly number[]): number {
  return trim(p).length - 1;
}

export function isZero(p: readonly number[]): boolean {
  return p.every((c) => c === 0);
}

/** p(x) by Horner's rule. */
export function polyval(p: readonly number[], x: number): number {
  let y = 0;
  for (const c of p) y = y * x + c;
  return y;
}

/** p(z) for complex z by Horner's rule. */
export function polyvalComplex(p: readonly number[], z: ComplexValue): ComplexValue {
  let re = 0;
  let im = 0;
  for (const c of p) {
    const r = re * z.re - im * z.im + c;
    im = re * z.im + im * z.re;
    re = r;
  }
  return { re, im };
}

export function add(a: readonly number[], b: readonly number[]): number[] {
  const n = Math.max(a.length, b.length);
  const out = new Array<number>(n).fill(0);
  for (let i = 0; i < a.length; i++) out[n - a.length + i]! += a[i]!;
  for (let i = 0; i < b.length; i++) out[n - b.length + i]! += b[i]!;
  return trim(out);
}

export function scale(a: readonly number[], k: number): number[] {
  return trim(a.map((c) => c * k));
}

/** Product of two polynomials (coefficient convolution). */
export function multiply(a: readonly number[], b: readonly number[]): number[] {
  const out = new Array<number>(a.length + b.length - 1).fill(0);
  for (let i = 0; i < a.length; i++) {
    for (let j = 0; j < b.length; j++) out[i + j]! += a[i]! * b[j]!;
  }
  return trim(out);
}

/** (x − 0)^k shift: multiplies by x^k, i.e. appends k zero coefficients. */
export function shift(a: readonly number[], k: number): number[] {
  return isZero(a) ? [0] : [...a, ...new Array<number>(k).fill(0)];
}

/** p^k for a small non-negative integer k. */
export function power(p: readonly number[], k: number): number[] {
  let out = [1];
  for (let i = 0; i < k; i++) out = multiply(out, p);
  return out;
}

/** Derivative dp/dx. */
export function derivative(p: readonly number[]): number[] {
  const n = p.length - 1;
  if (n <= 0) return [0];
  return trim(p.slice(0, n).map((c, i) => c * (n - i)));
}

/** Number of trailing zero coefficients, i.e. the multiplicity of the root at 0. */
export function zeroRootCount(p: readonly number[]): number {
  let k = 0;
  while (k < p.length - 1 && p[p.length - 1 - k] === 0) k++;
  return k;
}

/**
 * Characteristic polynomial det(xI − A) of a square matrix, by the
 * Faddeev–LeVerrier recursion (Faddeev & Faddeeva, "Computational Methods of
 * Linear Algebra", 1963): M₁ = I, c_{n−k} = −tr(A·M_k)/k,
 * M_{k+1} = A·M_k + c_{n−k}·I. Exact algebra, adequate for the small orders
 * (≲ 10) of the loops this toolbox simulates.
 */
export function charpoly(a: readonly (readonly number[])[]): number[] {
  const n = a.length;
  const coeffs = [1];
  let m: number[][] = identity(n);
  for (let k = 1; k <= n; k++) {
    const am = matmul(a, m);
    let trace = 0;
    for (let i = 0; i < n; i++) trace += am[i]![i]!;
    const c = -trace / k;
    coeffs.push(c);
    for (let i = 0; i < n; i++) am[i]![i]! += c;
    m = am;
  }
  return coeffs;
}

function identity(n: number): number[][] {
  return Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => (i === j ? 1 : 0)));
}

function matmul(a: readonly (readonly number[])[], b: readonly (readonly number[])[]): number[][] {
  const n = a.length;
  const out = Array.from({ length: n }, () => new Array<number>(n).fill(0));
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < n; k++) {
      const aik = a[i]![k]!;
      if (aik === 0) continue;
      for (let j = 0; j < n; j++) out[i]![j]! += aik * b[k]![j]!;
    }
  }
  return out;
}

/**
 * Roots of a real polynomial, as the eigenvalues of its companion matrix
 * (mathjs `eigs`; the method of numpy's `roots`). Roots at zero are taken out
 * exactly first (trailing zero coefficients), so integrators come out as exact
 * zeros. mathjs's nonsymmetric eigensolver fails to converge on some companion
 * matrices whose roots share one modulus (s³ + 1, z⁶ + 1); for those the
 * Aberth–Ehrlich iteration is used instead (Aberth 1973, Math. Comp. 27:339).
 * Sorted by real part, then imaginary part, ascending.
 */
export function roots(p: readonly number[]): ComplexValue[] {
  const q = trim(p);
  if (isZero(q)) throw new RangeError("Expected a nonzero polynomial, got the zero polynomial");
  const atZero = zeroRootCount(q);
  const core = q.slice(0, q.length - atZero);
  const n = core.length - 1;
  const out: ComplexValue[] = new Array(atZero).fill(null).map(() => ({ re: 0, im: 0 }));
  if (n === 1) out.push({ re: -core[1]! / core[0]!, im: 0 });
  else if (n > 1) out.push(...(companionRoots(core) ?? aberthRoots(core)));
  return out.sort((x, y) => x.re - y.re || x.im - y.im);
}

function companionRoots(p: readonly number[]): ComplexValue[] | undefined {
  const n = p.length - 1;
  const a = Array.from({ length: n }, () => new Array<number>(n).fill(0));
  for (let j = 0; j < n; j++) a[0]![j] = -p[j + 1]! / p[0]!;
  for (let i = 1; i < n; i++) a[i]![i - 1] = 1;
  let values: unknown[];
  try {
    const result = eigs(a, { eigenvectors: false });
    values =
      (result.values as unknown as { toArray?: () => unknown[] }).toArray?.() ?? (result.values as unknown[]);
  } catch {
    return undefined;
  }
  return values.map((v) =>
    typeof v === "number" ? { re: v, im: 0 } : { re: (v as ComplexValue).re, im: (v as ComplexValue).im },
  );
}

/** Simultaneous Newton iteration with Aberth's correction; used when `eigs` does not converge. */
function aberthRoots(p: readonly number[]): ComplexValue[] {
  const n = p.length - 1;
  const dp = derivative(p);
  // Start on a circle of the Cauchy bound radius, rotated off the real axis.
  let radius = 0;
  for (let i = 1; i <= n; i++) radius = Math.max(radius, Math.abs(p[i]! / p[0]!) ** (1 / i));
  const z: ComplexValue[] = Array.from({ length: n }, (_, k) => {
    const angle = (2 * Math.PI * k) / n + 0.4;
    return { re: radius * Math.cos(angle), im: radius * Math.sin(angle) };
  });
  for (let iter = 0; iter < 500; iter++) {
    let moved = 0;
    for (let k = 0; k < n; k++) {
      const zk = z[k]!;
      const f = polyvalComplex(p, zk);
      const df = polyvalComplex(dp, zk);
      if (f.re === 0 && f.im === 0) continue;
      const ratio = cdiv(f, df); // Newton step f/f'
      let sre = 0;
      let sim = 0;
      for (let j = 0; j < n; j++) {
        if (j === k) continue;
        const inv = cdiv({ re: 1, im: 0 }, { re: zk.re - z[j]!.re, im: zk.im - z[j]!.im });
        sre += inv.re;
        sim += inv.im;
      }
      // w = ratio / (1 − ratio·Σ 1/(z_k − z_j))
      const denom = { re: 1 - (ratio.re * sre - ratio.im * sim), im: -(ratio.re * sim + ratio.im * sre) };
      const w = cdiv(ratio, denom);
      z[k] = { re: zk.re - w.re, im: zk.im - w.im };
      moved = Math.max(moved, Math.hypot(w.re, w.im) / Math.max(1, Math.hypot(zk.re, zk.im)));
    }
    if (moved < 1e-15) break;
  }
  return z.map((r) => (Math.abs(r.im) <= 1e-12 * Math.max(1, Math.abs(r.re)) ? { re: r.re, im: 0 } : r));
}

function cdiv(a: ComplexValue, b: ComplexValue): ComplexValue {
  const d = b.re * b.re + b.im * b.im;
  return { re: (a.re * b.re + a.im * b.im) / d, im: (a.im * b.re - a.re * b.im) / d };
}
