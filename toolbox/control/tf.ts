/**
 * Transfer functions G = num/den · e^{−θs}, continuous or discrete, with
 * interconnection (series, parallel, feedback), Padé delay approximation, a
 * PID builder and the basic properties (DC gain, poles, zeros). Conventions
 * follow python-control's `TransferFunction` (control/xferfcn.py):
 * coefficient arrays highest power first, `dt = 0` for continuous time.
 */
import {
  add,
  type ComplexValue,
  isZero,
  multiply,
  polyval,
  roots,
  scale,
  shift,
  trim,
  zeroRootCount,
} from "./poly.js";
import { checkKeys, checkNumber, finite } from "./validate.js";

export type { ComplexValue } from "./poly.js";

/** A dead time or time constant: a finite number of seconds ≥ 0. */
function seconds(name: string, value: unknown): number {
  return checkNumber(name, value, "a non-negative number of seconds", (v) => Number.isFinite(v) && v >= 0);
}

/** Options of the `TransferFunction` constructor. */
export interface TransferFunctionOptions {
  /**
   * Sample time in seconds of a discrete-time system (polynomials in z);
   * `0` or omitted (default) means continuous time (polynomials in s).
   */
  dt?: number;
  /**
   * Dead time (pure input/output delay) in seconds, default `0`. Kept exactly:
   * continuous simulation shifts the response by θ, discrete simulation uses a
   * delay line, so in discrete time θ must be a whole number of samples.
   */
  theta?: number;
}

/**
 * A SISO transfer function num(s)/den(s)·e^{−θs} (or num(z)/den(z)·z^{−θ/dt}).
 * Immutable: every operation returns a new system. Coefficients are kept as
 * given, with leading zeros removed.
 */
export class TransferFunction {
  /** Numerator coefficients, highest power first. */
  readonly num: readonly number[];
  /** Denominator coefficients, highest power first. */
  readonly den: readonly number[];
  /** Sample time in seconds; `0` for continuous time. */
  readonly dt: number;
  /** Dead time in seconds. */
  readonly theta: number;

  constructor(
    num: number | readonly number[],
    den: number | readonly number[] = 1,
    options: TransferFunctionOptions = {},
  ) {
    checkKeys("TransferFunction", options, ["dt", "theta"]);
    const n = coefficients("num", num);
    const d = coefficients("den", den);
    if (isZero(d)) throw new RangeError("Expected `den` to be a nonzero polynomial, got all zeros");
    const dt = checkNumber(
      "dt",
      options.dt ?? 0,
      "a non-negative number (0 = continuous)",
      (v) => Number.isFinite(v) && v >= 0,
    );
    const theta = seconds("theta", options.theta ?? 0);
    if (dt > 0 && Math.abs(theta / dt - Math.round(theta / dt)) > 1e-9 * Math.max(1, theta / dt)) {
      throw new RangeError(
        `Expected \`theta\` to be a whole number of samples of \`dt\` = ${dt} in discrete time, got \`${theta}\``,
      );
    }
    // `+ 0` turns −0 (from products like −1·0) into 0 so coefficients print and compare cleanly.
    this.num = Object.freeze(trim(n).map((c) => c + 0));
    this.den = Object.freeze(trim(d).map((c) => c + 0));
    this.dt = dt;
    this.theta = theta;
  }

  /** True for a discrete-time system (`dt > 0`). */
  get isDiscrete(): boolean {
    return this.dt > 0;
  }
}

/** Shorthand for `new TransferFunction(num, den, options)`. */
export function tf(
  num: number | readonly number[],
  den: number | readonly number[] = 1,
  options: TransferFunctionOptions = {},
): TransferFunction {
  return new TransferFunction(num, den, options);
}

function coefficients(name: string, p: number | readonly number[]): number[] {
  const arr = typeof p === "number" ? [p] : [...p];
  if (arr.length === 0 || !arr.every((c) => typeof c === "number" && Number.isFinite(c))) {
    throw new TypeError(
      `Expected \`${name}\` to be a non-empty array of finite numbers, got \`${String(p)}\``,
    );
  }
  return arr;
}

/** A system or a static gain (a plain number is the transfer function k/1). */
export type SystemLike = TransferFunction | number;

/** Common sample time of the operands; static gains adopt it. */
function commonDt(systems: readonly SystemLike[]): number {
  let dt: number | undefined;
  for (const s of systems) {
    if (typeof s === "number") continue;
    if (dt === undefined) dt = s.dt;
    else if (s.dt !== dt) {
      throw new RangeError(`Expected systems with the same \`dt\`, got \`${dt}\` and \`${s.dt}\``);
    }
  }
  return dt ?? 0;
}

function asTf(s: SystemLike, dt: number): TransferFunction {
  if (typeof s !== "number") return s;
  if (!Number.isFinite(s)) throw new TypeError(`Expected a static gain to be a finite number, got \`${s}\``);
  return new TransferFunction([s], [1], { dt });
}

/**
 * The same discrete system with its delay line written into the polynomials,
 * z^{−m} = 1/z^m: exact in discrete time, so discrete delays never block an
 * interconnection.
 */
function absorbDelay(sys: TransferFunction): TransferFunction {
  if (sys.theta === 0 || !sys.isDiscrete) return sys;
  const m = Math.round(sys.theta / sys.dt);
  return new TransferFunction(sys.num, shift(sys.den, m), { dt: sys.dt });
}

/**
 * Series (cascade) connection G₁·G₂·…: the output of each feeds the next.
 * Dead times add. Numbers are static gains.
 */
export function series(...systems: SystemLike[]): TransferFunction {
  if (systems.length === 0) throw new RangeError("Expected at least one system in `series`, got none");
  const dt = commonDt(systems);
  let num = [1];
  let den = [1];
  let theta = 0;
  for (const s of systems.map((x) => asTf(x, dt))) {
    num = multiply(num, s.num);
    den = multiply(den, s.den);
    theta += s.theta;
  }
  return new TransferFunction(num, den, { dt, theta: dt > 0 ? roundToSamples(theta, dt) : theta });
}

function roundToSamples(theta: number, dt: number): number {
  return Math.round(theta / dt) * dt;
}

/**
 * Parallel connection G₁ + G₂ + …: the same input, outputs summed. In
 * continuous time all operands must share one dead time (it factors out);
 * different dead times have no single rational form, so this throws a
 * RangeError (use `approximateDelay` first). In discrete time delays are
 * written into the polynomials exactly.
 */
export function parallel(...systems: SystemLike[]): TransferFunction {
  if (systems.length === 0) throw new RangeError("Expected at least one system in `parallel`, got none");
  const dt = commonDt(systems);
  let parts = systems.map((x) => asTf(x, dt));
  let theta = parts[0]!.theta;
  if (dt > 0) {
    parts = parts.map(absorbDelay);
    theta = 0;
  } else if (parts.some((p) => p.theta !== theta)) {
    throw new RangeError(
      `Expected parallel systems to share one dead time, got \`theta\` = ${parts.map((p) => p.theta).join(", ")}; approximate the delays with \`approximateDelay\` first`,
    );
  }
  let num = [0];
  let den = [1];
  for (const p of parts) {
    num = add(multiply(num, p.den), multiply(p.num, den));
    den = multiply(den, p.den);
  }
  return new TransferFunction(num, den, { dt, theta });
}

/**
 * Feedback connection: `g` in the forward path, `h` (default unity) in the
 * return path, `sign = -1` (default) for negative feedback:
 * T = g / (1 − sign·g·h) (python-control's `feedback`). A continuous dead time
 * inside the loop has no rational closed loop, so it throws a RangeError
 * (approximate it with `approximateDelay(sys, order)` first); discrete delays
 * are exact and allowed.
 */
export function feedback(g: SystemLike, h: SystemLike = 1, sign: 1 | -1 = -1): TransferFunction {
  if (sign !== 1 && sign !== -1) throw new RangeError(`Expected \`sign\` to be 1 or -1, got \`${sign}\``);
  const dt = commonDt([g, h]);
  let fwd = asTf(g, dt);
  let ret = asTf(h, dt);
  if (dt > 0) {
    fwd = absorbDelay(fwd);
    ret = absorbDelay(ret);
  } else if (fwd.theta > 0 || ret.theta > 0) {
    throw new RangeError(
      `Expected no dead time inside a continuous feedback loop, got \`theta\` = ${fwd.theta} (forward), ${ret.theta} (return); approximate it with \`approximateDelay(sys, order)\` or discretize first`,
    );
  }
  const num = multiply(fwd.num, ret.den);
  const den = add(multiply(fwd.den, ret.den), scale(multiply(fwd.num, ret.num), -sign));
  if (isZero(den)) throw new RangeError("Expected a well-posed loop, got 1 − sign·g·h ≡ 0 (algebraic loop)");
  return new TransferFunction(num, den, { dt });
}

/**
 * Diagonal Padé approximant of the dead time e^{−θs} of the given order
 * (python-control's `pade`, control/delay.py): coefficients
 * c_k = (2n−k)!·n! / ((2n)!·k!·(n−k)!)·θ^k, with alternating signs in the
 * numerator. Unit DC gain, all-pass; accurate for frequencies well below n/θ.
 * Returned with a monic denominator; `theta = 0` gives the unit gain.
 */
export function pade(theta: number, order = 1): TransferFunction {
  seconds("theta", theta);
  checkNumber("order", order, "an integer from 1 to 20", (v) => Number.isInteger(v) && v >= 1 && v <= 20);
  if (theta === 0) return new TransferFunction([1], [1]);
  const n = order;
  const num: number[] = [];
  const den: number[] = [];
  // Build c_k from c_0 = 1 by the ratio c_k/c_{k−1} = (n−k+1)·θ / ((2n−k+1)·k), avoiding factorials.
  let c = 1;
  for (let k = 0; k <= n; k++) {
    if (k > 0) c *= ((n - k + 1) * theta) / ((2 * n - k + 1) * k);
    num.unshift(k % 2 === 0 ? c : -c);
    den.unshift(c);
  }
  const lead = den[0]!;
  return new TransferFunction(
    num.map((x) => x / lead),
    den.map((x) => x / lead),
  );
}

/**
 * The system with its dead time replaced by a rational approximation, so it can
 * sit inside a feedback loop: the Padé approximant of the given order
 * (default 1, as python-control's `pade`) in continuous time; in discrete time
 * the delay is written exactly as z^{−m}.
 */
export function approximateDelay(sys: TransferFunction, order = 1): TransferFunction {
  if (sys.isDiscrete) return absorbDelay(sys);
  if (sys.theta === 0) return sys;
  return series(new TransferFunction(sys.num, sys.den), pade(sys.theta, order));
}

/** Options of `pidTf`: the parallel (ideal) PID form kp + ki/s + kd·s/(tf·s + 1). */
export interface PidTfOptions {
  /** Proportional gain, output units per measurement unit; default 0. */
  kp?: number;
  /** Integral gain, per second; default 0. */
  ki?: number;
  /** Derivative gain, seconds; default 0. */
  kd?: number;
  /**
   * Derivative filter time constant in seconds, default 0 (ideal derivative,
   * an improper transfer function that cannot be simulated on its own). A
   * common choice is kd/(kp·N) with N = 8…20 (Åström & Hägglund, "Advanced
   * PID Control", 2006, ch. 3), as `PidOptions.n` uses.
   */
  tf?: number;
}

/**
 * A continuous PID controller as a transfer function,
 * C(s) = kp + ki/s + kd·s/(tf·s + 1) = ((kp·tf + kd)s² + (kp + ki·tf)s + ki) / (tf·s² + s),
 * with common factors of s cancelled (so a PD has no pole at 0). Closed loop
 * on a plant G: `feedback(series(pidTf({ kp, ki, kd, tf }), G))`.
 */
export function pidTf(options: PidTfOptions = {}): TransferFunction {
  checkKeys("pidTf", options, ["kp", "ki", "kd", "tf"]);
  const kp = finite("kp", options.kp ?? 0);
  const ki = finite("ki", options.ki ?? 0);
  const kd = finite("kd", options.kd ?? 0);
  const tfD = seconds("tf", options.tf ?? 0);
  let num = trim([kp * tfD + kd, kp + ki * tfD, ki]);
  let den = trim([tfD, 1, 0]);
  if (isZero(num)) return new TransferFunction([0], [1]);
  const common = Math.min(zeroRootCount(num), zeroRootCount(den));
  num = num.slice(0, num.length - common);
  den = den.slice(0, den.length - common);
  return new TransferFunction(num, den);
}

/**
 * Steady-state gain: G(0) in continuous time, G(1) in discrete time (dead time
 * does not change it). Common factors of s (or z − 1) are cancelled first;
 * an integrator gives ±Infinity (python-control's `dcgain` convention).
 */
export function dcGain(sys: TransferFunction): number {
  let num = [...sys.num];
  let den = [...sys.den];
  if (isZero(num)) return 0;
  if (!sys.isDiscrete) {
    const common = Math.min(zeroRootCount(num), zeroRootCount(den));
    return num[num.length - 1 - common]! / den[den.length - 1 - common]!;
  }
  // Discrete: deflate shared roots at z = 1 (synthetic division by z − 1).
  while (nearRootAtOne(num) && nearRootAtOne(den) && num.length > 1 && den.length > 1) {
    num = deflateAtOne(num);
    den = deflateAtOne(den);
  }
  const n1 = polyval(num, 1);
  const d1 = polyval(den, 1);
  if (nearRootAtOne(den)) return nearRootAtOne(num) ? Number.NaN : n1 > 0 ? Infinity : -Infinity;
  return n1 / d1;
}

function nearRootAtOne(p: readonly number[]): boolean {
  const size = p.reduce((s, c) => s + Math.abs(c), 0);
  return Math.abs(polyval(p, 1)) <= 1e-12 * size;
}

function deflateAtOne(p: readonly number[]): number[] {
  const out: number[] = [];
  let acc = 0;
  for (let i = 0; i < p.length - 1; i++) {
    acc = acc + p[i]!;
    out.push(acc);
  }
  return out;
}

/**
 * Poles: the roots of the denominator, as `{ re, im }` pairs sorted by real
 * part then imaginary part (companion-matrix eigenvalues, see `poly.ts`).
 * The dead time adds no poles here.
 */
export function poles(sys: TransferFunction): ComplexValue[] {
  // Systems are immutable, so the eigenvalue solve (the costly part of an
  // automatic time grid) is done once per system.
  let cached = poleCache.get(sys);
  if (cached === undefined) {
    cached = roots(sys.den);
    poleCache.set(sys, cached);
  }
  return cached.map((p) => ({ ...p }));
}

const poleCache = new WeakMap<TransferFunction, ComplexValue[]>();

/** Zeros: the roots of the numerator, as `{ re, im }` pairs (none for a constant or zero numerator). */
export function zeros(sys: TransferFunction): ComplexValue[] {
  return isZero(sys.num) ? [] : roots(sys.num);
}
