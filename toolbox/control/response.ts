/**
 * Time responses of transfer functions: forced (any input), step and impulse,
 * plus python-control's automatic time grid. Continuous systems are simulated
 * exactly for inputs held constant between the given times (zero-order hold):
 * each step uses the discretization x ← e^{A·h}·x + ∫₀ʰ e^{A·s} ds·B·u, not an
 * Euler approximation, so the result does not depend on the grid spacing
 * beyond where the input may change.
 */
import { type ComplexValue, derivative, polyvalComplex } from "./poly.js";
import { realize, type StateSpace, type ZohStep, zohStep } from "./ss.js";
import { poles, type TransferFunction } from "./tf.js";
import { checkNumber, finite } from "./validate.js";

/** A sampled signal: `values[k]` at `times[k]` seconds. */
export interface TimeResponse {
  times: number[];
  values: number[];
}

/**
 * Output for an arbitrary input sequence, system initially at rest.
 *
 * Continuous time: `inputs[k]` is held constant on [times[k], times[k+1])
 * (zero-order hold; the input before `times[0]` is 0) and the output at each
 * time is exact for that input, including a dead time θ (the input reaches the
 * rational part θ seconds later; switch instants that fall between the given
 * times are simulated as extra steps). `times` must be strictly increasing,
 * any spacing. python-control's `forced_response` interpolates the input
 * linearly instead; both agree for steps.
 *
 * Discrete time: `times` must be evenly spaced by the system's `dt`;
 * `inputs[k]` is u[k] and the dead time is a delay line of θ/dt samples.
 *
 * `inputs` may be a single number for a constant input.
 */
export function forcedResponse(
  sys: TransferFunction,
  times: readonly number[],
  inputs: number | readonly number[],
): TimeResponse {
  const t = checkTimes(times);
  const u = checkInputs(inputs, t.length);
  const ss = realize(sys.num, sys.den);
  if (sys.isDiscrete) {
    checkDiscreteGrid(t, sys.dt);
    return { times: t, values: simulateDiscrete(ss, u, Math.round(sys.theta / sys.dt)) };
  }
  return { times: t, values: simulateContinuous(ss, t, u, sys.theta) };
}

/**
 * Unit step response (input 1 from the first time on, system at rest).
 * `times`: the sample times (seconds), or a final time in seconds, or
 * omitted for python-control's automatic grid (see `defaultTimes`).
 */
export function stepResponse(sys: TransferFunction, times?: number | readonly number[]): TimeResponse {
  const t = resolveTimes(sys, times, true);
  return forcedResponse(sys, t, 1);
}

/**
 * Unit impulse response. Continuous time: the response to δ(t − θ) from rest,
 * computed as the free response from x(0) = B (a direct term D·δ cannot be
 * sampled and is left out, as in python-control). Discrete time: the
 * response to a pulse of unit area, u[0] = 1/dt (python-control and MATLAB
 * convention). `times` as in `stepResponse`.
 */
export function impulseResponse(sys: TransferFunction, times?: number | readonly number[]): TimeResponse {
  const t = resolveTimes(sys, times, false);
  if (sys.isDiscrete) {
    const u = t.map((_, k) => (k === 0 ? 1 / sys.dt : 0));
    return forcedResponse(sys, t, u);
  }
  const ss = realize(sys.num, sys.den);
  const t0 = t[0]!;
  const values = new Array<number>(t.length).fill(0);
  // Free response of the rational part from x = B, sampled at t − θ.
  const live = t.map((x, k) => [x - sys.theta, k] as const).filter(([x]) => x >= t0);
  if (live.length === 0 || ss.a.length === 0) return { times: t, values };
  const shifted = live.map(([x]) => x);
  const grid = shifted[0] === t0 ? shifted : [t0, ...shifted];
  const y = simulateContinuous(ss, grid, new Array<number>(grid.length).fill(0), 0, ss.b, false);
  const offset = grid.length - shifted.length;
  live.forEach(([, k], i) => {
    values[k] = y[i + offset]!;
  });
  return { times: t, values };
}

function resolveTimes(sys: TransferFunction, times: number | readonly number[] | undefined, isStep: boolean) {
  if (times === undefined) return defaultTimesFor(sys, undefined, isStep);
  if (typeof times === "number") {
    if (!Number.isFinite(times) || times <= 0) {
      throw new RangeError(`Expected \`times\` as a final time to be a positive number, got \`${times}\``);
    }
    return defaultTimesFor(sys, times, isStep);
  }
  return checkTimes(times);
}

/**
 * python-control's automatic time grid (`_default_time_vector`), for plotting
 * or analysing a step response: from 0 to a final time long enough for the
 * slowest relevant mode to decay to 0.1 % (ln 1000/|Re p|), or 5 periods of an
 * undamped mode, ×5 with an integrator, plus the dead time; the step is the
 * smaller of 1/50 of each mode's decay time and 1/25 of its period.
 * Continuous grids have 100…5000 points; discrete grids step by `dt`
 * (20…5000 samples). Modes whose step contribution |residue/p| is under 10 % of
 * the largest are ignored (python-control sizes modes from eigenvectors; for
 * simple poles that is the residue). `finalTime` (seconds) overrides the final time.
 */
export function defaultTimes(sys: TransferFunction, finalTime?: number): number[] {
  if (finalTime !== undefined) {
    checkNumber("finalTime", finalTime, "a positive number of seconds", (v) => Number.isFinite(v) && v > 0);
  }
  return defaultTimesFor(sys, finalTime, true);
}

const LOG_DECAY = Math.log(1000);
const SQRT_EPS = Math.sqrt(Number.EPSILON);

function defaultTimesFor(sys: TransferFunction, finalTime: number | undefined, isStep: boolean): number[] {
  if (sys.isDiscrete) {
    const dt = sys.dt;
    let n: number;
    if (finalTime === undefined) {
      const ideal = idealDiscreteFinalTime(sys) + sys.theta;
      n = Math.min(Math.max(Math.ceil(ideal / dt - 1e-9) + 1, 20), 5000);
    } else n = Math.ceil(finalTime / dt - 1e-9) + 1;
    return Array.from({ length: n }, (_, k) => k * dt);
  }
  const ideal = idealContinuous(sys, isStep);
  const tfinal = finalTime ?? ideal.tfinal + sys.theta;
  const n = Math.min(Math.max(Math.ceil(tfinal / ideal.dt) + 1, 100), 5000);
  return Array.from({ length: n }, (_, k) => (k === n - 1 ? tfinal : (tfinal * k) / (n - 1)));
}

/** python-control's `_ideal_tfinal_and_dt`, continuous branch, with mode sizes from residues. */
function idealContinuous(sys: TransferFunction, isStep: boolean): { tfinal: number; dt: number } {
  const ps = poles(sys);
  if (ps.length === 0) return { tfinal: 5, dt: 0.1 };
  const dden = derivative([...sys.den]);
  const size = (p: ComplexValue) => Math.hypot(p.re, p.im);
  const origin = ps.some((p) => size(p) === 0);
  const modes = ps.map((p, i) => {
    const wn = size(p);
    const repeated = ps.some(
      (q, j) => j !== i && Math.hypot(p.re - q.re, p.im - q.im) <= 1e-6 * Math.max(1, wn),
    );
    let dc = 0;
    if (!repeated && wn > 0) {
      const r = cdiv(polyvalComplex(sys.num, p), polyvalComplex(dden, p));
      dc = Math.hypot(r.re, r.im) / (isStep ? wn : 1);
      if (p.im !== 0) dc *= 2;
    }
    return { p, wn, dc, repeated };
  });
  const maxDc = Math.max(...modes.map((m) => m.dc));
  const tfinals: number[] = [];
  const dts: number[] = [];
  for (const { p, wn, dc, repeated } of modes) {
    if (!(dc > 0.1 * maxDc || repeated) || wn === 0) continue;
    if (p.im !== 0 && Math.abs(p.re) <= SQRT_EPS) {
      tfinals.push((5 * 2 * Math.PI) / wn);
      dts.push((2 * Math.PI) / 25 / wn);
    } else {
      const texp = LOG_DECAY / Math.abs(p.re);
      tfinals.push(texp);
      dts.push(Math.min(texp / 50, (2 * Math.PI) / 25 / wn));
    }
  }
  if (tfinals.length === 0) return { tfinal: 25, dt: 0.5 };
  return { tfinal: Math.max(...tfinals) * (origin ? 5 : 1), dt: Math.min(...dts) };
}

/**
 * python-control's `_ideal_tfinal_and_dt`, discrete branch, on the z-plane poles
 * mapped by log(p)/dt. (python-control's integrator test there also catches
 * every stable real pole; here only poles at z ≈ 1 count as integrators.)
 */
function idealDiscreteFinalTime(sys: TransferFunction): number {
  const dt = sys.dt;
  let tfinal = 5;
  let integrator = false;
  for (const p of poles(sys)) {
    const mag = Math.hypot(p.re, p.im);
    if (mag < SQRT_EPS) continue;
    const lre = Math.log(mag) / dt;
    const lmod = Math.hypot(lre, Math.atan2(p.im, p.re) / dt);
    const negativeReal = Math.abs(p.im) < SQRT_EPS && p.re < 0;
    if (mag >= 1 + SQRT_EPS) {
      if (!negativeReal) tfinal = Math.max(tfinal, LOG_DECAY / lmod);
    } else if (Math.abs(p.re - 1) < SQRT_EPS && Math.abs(p.im) < SQRT_EPS) integrator = true;
    else if (Math.abs(mag - 1) < SQRT_EPS) tfinal = Math.max(tfinal, (5 * 2 * Math.PI) / lmod);
    else tfinal = Math.max(tfinal, LOG_DECAY / Math.abs(lre));
  }
  return integrator ? tfinal * 5 : tfinal;
}

function cdiv(a: ComplexValue, b: ComplexValue): ComplexValue {
  const d = b.re * b.re + b.im * b.im;
  return { re: (a.re * b.re + a.im * b.im) / d, im: (a.im * b.re - a.re * b.im) / d };
}

function checkTimes(times: readonly number[]): number[] {
  if (!Array.isArray(times) || times.length === 0) {
    throw new TypeError(`Expected \`times\` to be a non-empty array of numbers, got \`${String(times)}\``);
  }
  const t = Array.from(times as readonly number[]);
  for (let k = 0; k < t.length; k++) {
    const v = finite(`times[${k}]`, t[k]);
    if (k > 0 && !(v > t[k - 1]!)) {
      throw new RangeError(
        `Expected \`times\` to be strictly increasing, got \`${v}\` after \`${t[k - 1]}\``,
      );
    }
  }
  return t;
}

function checkInputs(inputs: number | readonly number[], n: number): number[] {
  if (typeof inputs === "number") {
    return new Array<number>(n).fill(finite("inputs", inputs));
  }
  if (!Array.isArray(inputs) || inputs.length !== n) {
    throw new RangeError(
      `Expected \`inputs\` to have one value per time (${n}), got ${Array.isArray(inputs) ? inputs.length : String(inputs)}`,
    );
  }
  const u = Array.from(inputs as readonly number[]);
  u.forEach((v, k) => {
    finite(`inputs[${k}]`, v);
  });
  return u;
}

function checkDiscreteGrid(t: readonly number[], dt: number): void {
  for (let k = 1; k < t.length; k++) {
    if (Math.abs(t[k]! - t[k - 1]! - dt) > 1e-6 * dt) {
      throw new RangeError(
        `Expected \`times\` evenly spaced by the system's \`dt\` = ${dt}, got a step of \`${t[k]! - t[k - 1]!}\` at index ${k}`,
      );
    }
  }
}

/** x[k+1] = A·x[k] + B·u[k−m], y[k] = C·x[k] + D·u[k−m]. */
function simulateDiscrete(ss: StateSpace, u: readonly number[], delay: number): number[] {
  const n = ss.a.length;
  const a = Float64Array.from(ss.a.flat());
  const b = Float64Array.from(ss.b);
  const c = Float64Array.from(ss.c);
  const d = ss.d;
  const x = new Float64Array(n);
  const next = new Float64Array(n);
  const y = new Array<number>(u.length);
  for (let k = 0; k < u.length; k++) {
    const uk = k >= delay ? u[k - delay]! : 0;
    let yk = d * uk;
    for (let i = 0; i < n; i++) yk += c[i]! * x[i]!;
    y[k] = yk;
    for (let i = 0; i < n; i++) {
      let s = b[i]! * uk;
      for (let j = 0; j < n; j++) s += a[i * n + j]! * x[j]!;
      next[i] = s;
    }
    x.set(next);
  }
  return y;
}

/**
 * Exact ZOH simulation on an arbitrary increasing grid. The input u[j] reaches
 * the rational part at times[j] + θ and holds until the next switch; the state
 * is advanced from event to event (output times and switch times merged), one
 * `zohStep` per distinct step length (cached; lengths equal to 12 significant
 * digits share one, so the float jitter of an even grid costs one exponential).
 */
function simulateContinuous(
  ss: StateSpace,
  times: readonly number[],
  u: readonly number[],
  theta: number,
  x0?: readonly number[],
  useD = true,
): number[] {
  const n = ss.a.length;
  const count = times.length;
  const c = Float64Array.from(ss.c);
  const d = useD ? ss.d : 0;
  const x = new Float64Array(n);
  if (x0) x.set(x0);
  const next = new Float64Array(n);
  const t0 = times[0]!;
  const span = times[count - 1]! - t0;
  // Switch instants within `tol` of an output time are taken at that time.
  const tol = 1e-9 * (count > 1 ? span / (count - 1) : 1);
  const cache = new Map<string, ZohStep>();
  let lastH = Number.NaN;
  let lastStep: ZohStep | undefined;
  let tCur = t0;
  let uCur = 0;

  const advance = (tTo: number): void => {
    const h = tTo - tCur;
    if (h <= tol) return; // a sliver below the merge tolerance is folded into the next step
    tCur = tTo;
    if (n === 0) return;
    if (lastStep === undefined || Math.abs(h - lastH) > 1e-12 * h) {
      const key = h.toPrecision(12);
      let step = cache.get(key);
      if (step === undefined) {
        step = zohStep(ss, h);
        cache.set(key, step);
      }
      lastStep = step;
      lastH = h;
    }
    const { phi, gamma } = lastStep;
    for (let i = 0; i < n; i++) {
      let s = gamma[i]! * uCur;
      for (let j = 0; j < n; j++) s += phi[i * n + j]! * x[j]!;
      next[i] = s;
    }
    x.set(next);
  };

  const y = new Array<number>(count);
  let j = 0;
  for (let i = 0; i < count; i++) {
    const tOut = times[i]!;
    while (j < count && times[j]! + theta <= tOut + tol) {
      const tSwitch = times[j]! + theta;
      advance(tSwitch >= tOut - tol ? tOut : tSwitch);
      uCur = u[j]!;
      j++;
    }
    advance(tOut);
    let yi = d * uCur;
    for (let k = 0; k < n; k++) yi += c[k]! * x[k]!;
    y[i] = yi;
  }
  return y;
}
