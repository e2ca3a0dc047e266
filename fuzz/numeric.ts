/**
 * Numbers for the checks: random points (negative values included), random directions, mixed
 * directional derivatives by central finite differences, and the tolerances.
 *
 * The order-k check compares D^k f(x)[u1, …, uk] — our derivative tensor contracted with k random
 * directions, one per differentiation — with a k-dimensional 4th-order central stencil of f along
 * those directions (4^k evaluations of mathjs), at two step sizes. Distinct directions per order
 * matter: with one direction only the symmetric part of a Hessian would be checked, and a wrong
 * A in place of A + A' would pass. The two step sizes give a Richardson estimate (error ∝ h⁴) and
 * an error estimate: where they disagree the point is near a kink (abs, sign, relu), a pole or a
 * domain edge, and finite differences cannot judge it: the point is skipped, and counted.
 */
import type { Tensor } from '../src/tensor.js';
import type { VarShape } from './case.js';

type Rand = () => number;

const EPS = 2.220446049250313e-16;

/** Step sizes per order: about eps^(1/(k+4)), the optimum of a 4th-order stencil of a k-th derivative. */
export const STEP = [0, 1e-3, 3e-3, 1e-2];

/** How a point's entries are drawn; each variable takes one style per point. */
type Style = 'any' | 'positive' | 'away' | 'small' | 'dominant' | 'spd';

function drawStyle(rand: Rand, matrix: boolean, firstPoint: boolean): Style {
  // The first point of every case has mixed signs, so negative values are always among the checks.
  const styles: Style[] = firstPoint ? ['any', 'away'] : matrix ? ['any', 'positive', 'away', 'small', 'dominant', 'spd'] : ['any', 'positive', 'away', 'small'];
  return styles[Math.floor(rand() * styles.length)]!;
}

function entry(style: Style, rand: Rand): number {
  const u = (lo: number, hi: number): number => lo + (hi - lo) * rand();
  switch (style) {
    case 'positive':
      return u(0.1, 2);
    case 'away':
      return (rand() < 0.5 ? -1 : 1) * u(0.4, 1.6);
    case 'small':
      return u(-0.6, 0.6);
    default:
      return u(-2, 2);
  }
}

function drawTensor(v: VarShape, style: Style, rand: Rand): Tensor {
  const size = v.shape.reduce((p, d) => p * d, 1);
  const data = new Float64Array(size);
  for (let i = 0; i < size; i++) data[i] = entry(style, rand);
  if (v.shape.length === 2 && v.shape[0] === v.shape[1]) {
    const n = v.shape[0]!;
    if (style === 'dominant') for (let i = 0; i < n; i++) data[i * n + i] += (rand() < 0.5 ? -1 : 1) * (n + 1);
    if (style === 'spd') {
      const b = Float64Array.from(data);
      for (let i = 0; i < n; i++)
        for (let j = 0; j < n; j++) {
          let s = i === j ? 0.5 : 0;
          for (let k = 0; k < n; k++) s += (b[i * n + k]! * b[j * n + k]!) / n;
          data[i * n + j] = s;
        }
    }
    if (v.symmetric) symmetrize(data, n);
  }
  return { shape: [...v.shape], data };
}

function symmetrize(data: Float64Array, n: number): void {
  for (let i = 0; i < n; i++) for (let j = 0; j < i; j++) data[j * n + i] = data[i * n + j]!;
}

/** Values for every variable of the environment. */
export function drawPoint(env: readonly VarShape[], rand: Rand, firstPoint: boolean): Map<string, Tensor> {
  const out = new Map<string, Tensor>();
  for (const v of env) out.set(v.name, drawTensor(v, drawStyle(rand, v.shape.length === 2, firstPoint), rand));
  return out;
}

/** A random direction with entries in ±[0.3, 1] (symmetric for a symmetric variable). */
export function drawDirection(v: VarShape, rand: Rand): Float64Array {
  const size = v.shape.reduce((p, d) => p * d, 1);
  const d = new Float64Array(size);
  for (let i = 0; i < size; i++) d[i] = (rand() < 0.5 ? -1 : 1) * (0.3 + 0.7 * rand());
  if (v.symmetric) symmetrize(d, v.shape[0]!);
  return d;
}

const OFFSETS = [-2, -1, 1, 2];
const WEIGHTS = [1 / 12, -8 / 12, 8 / 12, -1 / 12];

export interface Stencil {
  /** D^k f[u1..uk] estimated with step h. */
  readonly value: Float64Array;
  /** Largest |f| over the stencil (the scale of its rounding noise). */
  readonly fmax: number;
  readonly finite: boolean;
}

/** The mixed directional derivative of f along dirs by a k-dimensional central stencil of step h. */
export function stencil(
  f: (values: ReadonlyMap<string, Tensor>) => Tensor,
  values: ReadonlyMap<string, Tensor>,
  wrt: string,
  dirs: readonly Float64Array[],
  h: number,
): Stencil {
  const x = values.get(wrt)!;
  const k = dirs.length;
  let acc: Float64Array | undefined;
  let fmax = 0;
  const idx = new Array<number>(k).fill(0);
  for (let combo = 0; combo < OFFSETS.length ** k; combo++) {
    let c = combo;
    let w = 1;
    for (let i = 0; i < k; i++) {
      idx[i] = c % OFFSETS.length;
      c = Math.floor(c / OFFSETS.length);
      w *= WEIGHTS[idx[i]!]!;
    }
    const d = Float64Array.from(x.data);
    for (let i = 0; i < k; i++) {
      const t = OFFSETS[idx[i]!]! * h;
      const u = dirs[i]!;
      for (let e = 0; e < d.length; e++) d[e] += t * u[e]!;
    }
    const v = f(new Map(values).set(wrt, { shape: x.shape, data: d }));
    if (!acc) acc = new Float64Array(v.data.length);
    for (let e = 0; e < v.data.length; e++) {
      const fe = v.data[e]!;
      if (!Number.isFinite(fe)) return { value: acc, fmax, finite: false };
      fmax = Math.max(fmax, Math.abs(fe));
      acc[e] += w * fe;
    }
  }
  const scale = h ** k;
  for (let e = 0; e < acc!.length; e++) acc![e] /= scale;
  return { value: acc!, fmax, finite: true };
}

export interface FdEstimate {
  /** Richardson extrapolation of the two step sizes. */
  readonly value: Float64Array;
  /** ‖D(h) − D(h/2)‖∞: the finite differences' own error estimate. */
  readonly est: number;
  /** Rounding noise bound of the stencil: the noise of one evaluation of f, times Σ|w|, over h^k. */
  readonly noise: number;
  readonly finite: boolean;
  /** The noise bound with one evaluation of f off by `fNoise` (at least 64 ulps of the largest |f|). */
  readonly withNoise: (fNoise: number) => FdEstimate;
}

export function finiteDifference(
  f: (values: ReadonlyMap<string, Tensor>) => Tensor,
  values: ReadonlyMap<string, Tensor>,
  wrt: string,
  dirs: readonly Float64Array[],
  scale = 1,
): FdEstimate {
  const k = dirs.length;
  const h = STEP[k]! * scale;
  const a = stencil(f, values, wrt, dirs, h);
  const b = a.finite ? stencil(f, values, wrt, dirs, h / 2) : a;
  const finite = a.finite && b.finite;
  const value = new Float64Array(a.value.length);
  let est = 0;
  for (let e = 0; e < value.length; e++) {
    value[e] = (16 * b.value[e]! - a.value[e]!) / 15;
    est = Math.max(est, Math.abs(a.value[e]! - b.value[e]!));
  }
  // Σ|weights| per axis is 1.5; one evaluation of f is off by 64 ulps of the largest |f| or by
  // three times its measured noise, whichever is more (a deep or saturated f rounds far worse).
  const withNoise = (fNoise: number): FdEstimate => {
    const noise = (Math.max(64 * EPS * Math.max(1, a.fmax, b.fmax), 3 * fNoise) * 1.5 ** k) / (h / 2) ** k;
    return { value, est, noise, finite, withNoise };
  };
  return withNoise(0);
}

/**
 * The rounding noise of one evaluation of f near a point, measured as in Moré and Wild's ECnoise:
 * at 10 points a quarter of the finite-difference step apart along a direction, the sixth
 * differences of a smooth f are far below its rounding, so they are noise alone; their root mean
 * square over √924 (Σ C(6,i)²) is the noise of one evaluation. The step matters: a saturated f
 * (arcsin(sigmoid(t)) near 1) is flat to rounding at 1e-7 and quantized at the steps used.
 */
export function noiseLevel(
  f: (values: ReadonlyMap<string, Tensor>) => Tensor,
  values: ReadonlyMap<string, Tensor>,
  wrt: string,
  u: Float64Array,
  step: number,
): number {
  const x = values.get(wrt)!;
  const fs: Float64Array[] = [];
  for (let i = 0; i < 10; i++) {
    const d = Float64Array.from(x.data, (xe, e) => xe + i * step * u[e]!);
    fs.push(f(new Map(values).set(wrt, { shape: x.shape, data: d })).data);
  }
  const C6 = [1, -6, 15, -20, 15, -6, 1];
  let noise = 0;
  for (let e = 0; e < fs[0]!.length; e++) {
    let ss = 0;
    for (let j = 0; j + 6 < fs.length; j++) ss += C6.reduce((acc, c, i) => acc + c * fs[j + i]![e]!, 0) ** 2;
    noise = Math.max(noise, Math.sqrt(ss / ((fs.length - 6) * 924)));
  }
  return Number.isFinite(noise) ? noise : Infinity;
}

/**
 * The tolerances.
 *  - fMax: a value of f above this, at inputs of size ≤ 2, is a rounding residue in a denominator
 *    or an overflow on the way: the point is skipped as ill-conditioned.
 *  - conditioned: where f, or our derivative, moves by more than this fraction of itself when the
 *    inputs move by a relative 1e-12, the point is too ill-conditioned (condition number > 1e9)
 *    for float64 to tell error from rounding: skipped.
 *  - fdTrust: finite differences are trusted where their two step sizes agree to this fraction of
 *    the result (or within 10× the noise floor) and that noise is below it too (see fdTrusted):
 *    elsewhere the point is near a kink, a pole or an edge of the domain, and skipped.
 *  - fdRel: a derivative passes within this, relative, plus 10× the noise floor, twice the finite
 *    differences' own error estimate, and spreadFactor × its rounding spread.
 *  - compiledRel, roundtripRel: compiled vs reference, and the printed form vs the derivative,
 *    compute one quantity by other routes: they agree to rounding, relative to the result or, where
 *    it cancels to nearly zero, to the inputs' scale (1), plus spreadFactor × the rounding spread.
 */
export const TOL = {
  fMax: 1e10,
  conditioned: 1e-3,
  fdTrust: 1e-3,
  fdRel: 1e-6,
  compiledRel: 1e-9,
  roundtripRel: 1e-8,
  spreadFactor: 10,
} as const;

/**
 * Finite differences can judge a point where their two step sizes agree (to fdTrust of the result,
 * or within their noise) and the noise itself is small: below fdTrust of the result, or of 1 where
 * the result is about 0 (a derivative that cancels: the inputs' scale). Near a pole the measured
 * "noise" is the function's own wildness, and that is no place to judge.
 */
export function fdTrusted(fd: FdEstimate): boolean {
  const r = maxAbs(fd.value);
  return fd.finite && fd.est <= TOL.fdTrust * r + 10 * fd.noise && 10 * fd.noise <= TOL.fdTrust * Math.max(r, 1);
}

/** err / tolerance of our directional derivative against the finite differences (≤ 1 passes). */
export function fdRatio(ours: Float64Array, fd: FdEstimate, roundingAllowance = 0): number {
  const tol = TOL.fdRel * maxAbs(fd.value) + 10 * fd.noise + 2 * fd.est + roundingAllowance;
  return maxDiff(ours, fd.value) / tol;
}

/**
 * Whether finite differences hold their value at a finer step (0.13 of it): those there agree with
 * `fd` within both estimates' tolerances, or rounding makes them too noisy to tell (then `fd`
 * stands). Finite differences judge a point only where they hold. A function that turns through
 * many radians within one step (cos(s^4) at s = 5 turns 500 radians per unit of s), or has kinks
 * closer than a step (arccos(cos(s^4))), can give two stencils that agree with each other by
 * chance, a step near a whole turn, and with nothing else: the steps are too coarse to judge there
 * (fuzz seed 6, case 9735).
 */
export function stableAtFinerStep(
  f: (values: ReadonlyMap<string, Tensor>) => Tensor,
  values: ReadonlyMap<string, Tensor>,
  wrt: string,
  dirs: readonly Float64Array[],
  fd: FdEstimate,
): boolean {
  // Not a whole fraction: the usual steps are h and h/2, and a step h/m that went through whole
  // turns of f would take h and h/2 through whole turns as well, agreeing with them by the same chance.
  const scale = 0.13;
  let fine = finiteDifference(f, values, wrt, dirs, scale);
  if (!fine.finite) return false;
  // Rounding alone (64 ulps a value) drowns the finer step, as at third derivatives: it says
  // nothing, and the usual steps judge.
  if (10 * fine.noise > TOL.fdTrust * Math.max(maxAbs(fine.value), 1)) return true;
  if (!fdTrusted(fine)) fine = fine.withNoise(noiseLevel(f, values, wrt, dirs[0]!, (STEP[dirs.length]! * scale) / 4));
  // The finer step's two stencils disagree beyond f's measured noise, or f's "noise" is its own
  // movement within a quarter of that step: f moves at a finer scale than the usual steps.
  if (!fdTrusted(fine)) return false;
  const tol = (e: FdEstimate): number => TOL.fdRel * maxAbs(e.value) + 10 * e.noise + 2 * e.est;
  return maxDiff(fine.value, fd.value) <= tol(fd) + tol(fine);
}

/** Largest finite |entry| (non-finite entries are compared by maxDiff). */
export function maxAbs(a: Float64Array): number {
  let m = 0;
  for (const v of a) if (Number.isFinite(v)) m = Math.max(m, Math.abs(v));
  return m;
}

/** Largest entry-wise difference; Infinity where the entries differ in finiteness or in kind of non-finite. */
export function maxDiff(a: Float64Array, b: Float64Array): number {
  if (a.length !== b.length) return Infinity;
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (Number.isFinite(x) && Number.isFinite(y)) m = Math.max(m, Math.abs(x - y));
    else if (!(Object.is(x, y) || (Number.isNaN(x) && Number.isNaN(y)))) return Infinity;
  }
  return m;
}

/** Contracts the last k axes groups (each of size w) of a tensor with the directions: T[f, i1..ik] u1[i1]…uk[ik]. */
export function contract(t: Float64Array, dirs: readonly Float64Array[]): Float64Array {
  let cur = t;
  for (let g = dirs.length - 1; g >= 0; g--) {
    const u = dirs[g]!;
    const w = u.length;
    const out = new Float64Array(cur.length / w);
    for (let i = 0; i < out.length; i++) {
      let s = 0;
      for (let j = 0; j < w; j++) s += cur[i * w + j]! * u[j]!;
      out[i] = s;
    }
    cur = out;
  }
  return cur;
}

/**
 * Every input entry moved by a random relative 1e-12 (about 5000 ulps): what the result does then
 * bounds what rounding can do to it. Symmetric inputs stay symmetric.
 */
export function perturb(values: ReadonlyMap<string, Tensor>, rand: Rand, rel = 1e-12): Map<string, Tensor> {
  const out = new Map<string, Tensor>();
  for (const [name, v] of values) {
    const data = Float64Array.from(v.data, (x) => x * (1 + rel * (2 * rand() - 1)));
    if (v.shape.length === 2 && v.shape[0] === v.shape[1]) {
      const n = v.shape[0]!;
      for (let i = 0; i < n; i++) for (let j = 0; j < i; j++) if (v.data[i * n + j] === v.data[j * n + i]) data[j * n + i] = data[i * n + j]!;
    }
    out.set(name, { shape: v.shape, data });
  }
  return out;
}

/** A default-layout tensor in the vec layout: each matrix axis pair merged column-major (test-side). */
export function vectorize(t: Tensor, pairs: readonly number[]): Tensor {
  // pairs[k] = 2 where axes (a, a+1) merge, 1 where an axis stays.
  const shape = t.shape;
  const out = new Float64Array(t.data.length);
  const outShape: number[] = [];
  let a = 0;
  for (const g of pairs) {
    outShape.push(g === 2 ? shape[a]! * shape[a + 1]! : shape[a]!);
    a += g;
  }
  const idx = new Array<number>(shape.length).fill(0);
  for (let flat = 0; flat < t.data.length; flat++) {
    let rest = flat;
    for (let k = shape.length - 1; k >= 0; k--) {
      idx[k] = rest % shape[k]!;
      rest = Math.floor(rest / shape[k]!);
    }
    let o = 0;
    let ax = 0;
    pairs.forEach((g, k) => {
      const i = g === 2 ? idx[ax]! + shape[ax]! * idx[ax + 1]! : idx[ax]!;
      o = o * outShape[k]! + i;
      ax += g;
    });
    out[o] = t.data[flat]!;
  }
  return { shape: outShape, data: out };
}
