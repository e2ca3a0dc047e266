/**
 * "Check numerically": the K-th derivative from the compiled evaluator against central finite
 * differences of the compiled (K-1)-th derivative, at a random point.
 *
 * For every basis direction E of the variable's space the last axes of the K-th derivative are
 * contracted with E and compared with d/dh D⁽ᴷ⁻¹⁾(x + hE), estimated by a central difference with
 * one Richardson step: g(h) = (D(x+hE) − D(x−hE))/2h, (4g(h/2) − g(h))/3, error O(h⁴).
 * For a symmetric matrix the directions are symmetric (E_ii and E_ij + E_ji), which is what the
 * symmetric gradient is defined against.
 */
import { derivative, type Values, type Value } from '../src/index.js';
import type { Declarations, DeclaredType } from '../src/syntax/check.js';
import { mulberry32 } from '../src/random.js';

export interface CheckOutcome {
  /** ‖a − b‖ / max(‖b‖, 1e-8) over all directions; NaN where a value was not finite. */
  readonly relError: number;
  /** The concrete size chosen for each symbolic size: { n: 3, m: 4 }. */
  readonly sizes: Readonly<Record<string, number>>;
  /** How many directions were compared. */
  readonly directions: number;
  /** Set where the random point lies outside the domain of a function (log, sqrt, inv, …). */
  readonly notFinite: boolean;
}

export const rng = mulberry32;

/** Concrete sizes for the symbolic ones, distinct so that a mixed-up axis shows as an error. */
const SIZE_CHOICES = [3, 4, 2, 5];

interface Point {
  readonly shape: readonly number[];
  readonly data: Float64Array;
}

/**
 * A random value of a type. Entries are positive (log, sqrt of entries are defined); a square
 * matrix gets n·I added, which makes it strictly diagonally dominant with a positive diagonal, so
 * its determinant is positive and it is well conditioned; a symmetric matrix is B·Bᵀ/n + I (SPD).
 */
function randomValue(type: DeclaredType, rows: number, cols: number, square: boolean, rand: () => number): Point {
  const u = (): number => 0.1 + 0.9 * rand();
  switch (type) {
    case 'scalar':
      return { shape: [], data: Float64Array.of(0.5 + rand()) };
    case 'vector':
      return { shape: [rows], data: Float64Array.from({ length: rows }, u) };
    case 'matrix': {
      const data = Float64Array.from({ length: rows * cols }, u);
      if (square) for (let i = 0; i < rows; i++) data[i * cols + i]! += rows;
      return { shape: [rows, cols], data };
    }
    case 'symmetric matrix': {
      const n = rows;
      const b = Float64Array.from({ length: n * n }, () => 2 * rand() - 1);
      const data = new Float64Array(n * n);
      for (let i = 0; i < n; i++)
        for (let j = 0; j < n; j++) {
          let s = 0;
          for (let k = 0; k < n; k++) s += b[i * n + k]! * b[j * n + k]!;
          data[i * n + j] = s / n + (i === j ? 1 : 0);
        }
      return { shape: [n, n], data };
    }
  }
}

function toValue(p: Point): Value {
  return p.shape.length === 0 ? p.data[0]! : { shape: p.shape, data: p.data };
}

/** The basis directions of a variable's space (symmetric ones for a symmetric matrix). */
function directions(p: Point, symmetric: boolean): Float64Array[] {
  const size = p.data.length;
  const unit = (...at: number[]): Float64Array => {
    const e = new Float64Array(size);
    for (const k of at) e[k] = 1;
    return e;
  };
  if (!symmetric) return Array.from({ length: size }, (_, k) => unit(k));
  const n = p.shape[0]!;
  const out: Float64Array[] = [];
  for (let i = 0; i < n; i++) for (let j = i; j < n; j++) out.push(i === j ? unit(i * n + i) : unit(i * n + j, j * n + i));
  return out;
}

export interface CheckOptions {
  readonly seed?: number;
  /** Finite-difference step (before the Richardson step halves it). */
  readonly step?: number;
}

export function checkNumerically(expr: string, wrt: string, order: number, lets: Declarations, opts: CheckOptions = {}): CheckOutcome {
  if (!Number.isInteger(order) || order < 1) throw new RangeError(`order must be at least 1, not ${order}`);
  const high = derivative(expr, wrt, { order, let: lets });
  const low = derivative(expr, wrt, { order: order - 1, let: lets });
  const checked = high.result.analysis.checked;
  const rand = rng(opts.seed ?? Math.floor(Math.random() * 2 ** 32));

  const sizes: Record<string, number> = {};
  const concrete = (dim: number): number => {
    const name = checked.sizeName(dim);
    if (name === '1') return 1;
    sizes[name] ??= SIZE_CHOICES[Object.keys(sizes).length % SIZE_CHOICES.length]!;
    return sizes[name];
  };
  const point = new Map<string, Point>();
  let wrtSymmetric = false;
  for (const v of checked.vars.values()) {
    const rows = concrete(v.type.rows);
    const cols = concrete(v.type.cols);
    const square = checked.sizeName(v.type.rows) === checked.sizeName(v.type.cols);
    point.set(v.name, randomValue(v.declared, rows, cols, square, rand));
    if (v.name === wrt) wrtSymmetric = v.symmetric;
  }
  const x = point.get(wrt)!;
  const values = (xAt: Point): Values => {
    const out: Record<string, Value> = {};
    for (const [name, p] of point) out[name] = toValue(name === wrt ? xAt : p);
    return out;
  };

  const dHigh = high.compile()(values(x)).data;
  const fLow = low.compile();
  const q = x.data.length;
  const p = dHigh.length / q;
  const h = opts.step ?? 1e-3;
  const at = (e: Float64Array, t: number): Float64Array => {
    const data = x.data.map((xi, k) => xi + t * e[k]!);
    return fLow(values({ shape: x.shape, data })).data;
  };
  const central = (e: Float64Array, t: number): Float64Array => {
    const plus = at(e, t);
    const minus = at(e, -t);
    return plus.map((v, k) => (v - minus[k]!) / (2 * t));
  };

  let diff2 = 0;
  let ref2 = 0;
  let notFinite = false;
  const dirs = directions(x, wrtSymmetric);
  for (const e of dirs) {
    const g1 = central(e, h);
    const g2 = central(e, h / 2);
    for (let i = 0; i < p; i++) {
      let a = 0;
      for (let k = 0; k < q; k++) if (e[k] !== 0) a += dHigh[i * q + k]! * e[k]!;
      const b = (4 * g2[i]! - g1[i]!) / 3;
      if (!Number.isFinite(a) || !Number.isFinite(b)) notFinite = true;
      diff2 += (a - b) ** 2;
      ref2 += b ** 2;
    }
  }
  const relError = notFinite ? Number.NaN : Math.sqrt(diff2) / Math.max(Math.sqrt(ref2), 1e-8);
  return { relError, sizes, directions: dirs.length, notFinite };
}

/** "relative error 3.2e-11 at a random point (n = 3, m = 4)". */
export function describeCheck(c: CheckOutcome): string {
  const sizes = Object.entries(c.sizes).map(([k, v]) => `${k} = ${v}`).join(', ');
  const where = `at a random point${sizes ? ` (${sizes})` : ''}`;
  if (c.notFinite) return `not finite ${where}: the point is outside the domain of a function (log, sqrt, inv, …); try again`;
  return `relative error ${c.relError.toExponential(1)} ${where}`;
}
