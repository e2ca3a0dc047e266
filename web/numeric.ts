/**
 * The numbers behind a derivative, at a point: a seeded random point of chosen sizes (or one the
 * user pastes as JSON), the derivative there from the compiled evaluator, and "check numerically":
 * the K-th derivative against central finite differences of the compiled (K-1)-th derivative.
 *
 * For every basis direction E of the variable's space the last axes of the K-th derivative are
 * contracted with E and compared with d/dh D⁽ᴷ⁻¹⁾(x + hE), estimated by a central difference with
 * one Richardson step: g(h) = (D(x+hE) − D(x−hE))/2h, (4g(h/2) − g(h))/3, error O(h⁴).
 * For a symmetric matrix the directions are symmetric (E_ii and E_ij + E_ji), which is what the
 * symmetric gradient is defined against.
 */
import { derivative, RicciError, type Derivative, type Values, type Value } from '../src/index.js';
import type { Checked, Declarations, DeclaredType } from '../src/syntax/check.js';
import { toTensor } from '../src/values.js';
import { mulberry32 } from '../src/random.js';
import { solveSizes } from '../src/sizeRelations.js';

export const rng = mulberry32;

/** Default concrete sizes for the symbolic ones, distinct so that a mixed-up axis shows as an error. */
const SIZE_CHOICES = [3, 4, 2, 5];

export interface Point {
  readonly shape: readonly number[];
  readonly data: Float64Array;
}

/** Values by variable name, and the concrete size of each size name used (n → 3). */
export interface NumericPoint {
  readonly values: ReadonlyMap<string, Point>;
  readonly sizes: ReadonlyMap<string, number>;
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

/**
 * A random point for the variables of a checked expression. Sizes named in `wanted` are used,
 * the others take distinct defaults in order of appearance (3, 4, 2, 5, …), changed where the
 * expression ties sizes together (x'*kron(y, z) needs len(x) = len(y)·len(z); solveSizes). Where
 * the wanted sizes break a relation, the evaluator's message says which.
 */
export function randomPoint(checked: Checked, wanted: ReadonlyMap<string, number>, seed: number): NumericPoint {
  const rand = rng(seed);
  const sizes = new Map<string, number>();
  const concrete = (dim: number): number => {
    const name = checked.sizeName(dim);
    if (name === '1') return 1;
    if (!sizes.has(name)) sizes.set(name, wanted.get(name) ?? SIZE_CHOICES[sizes.size % SIZE_CHOICES.length]!);
    return sizes.get(name)!;
  };
  // The variables' sizes by their root symbol (sizeName names a symbol it has not seen; a product's
  // symbol must not take a name here).
  const root = (d: number): number => checked.sizes.find(d);
  const byRoot = new Map<number, string>();
  for (const v of checked.vars.values())
    for (const d of [v.type.rows, v.type.cols]) {
      const name = checked.sizeName(d);
      if (name === '1') continue;
      concrete(d);
      byRoot.set(root(d), name);
    }
  const start = new Map([...byRoot].map(([r, name]) => [r, sizes.get(name)!] as const));
  const relations = checked.products.map((r) => ({ total: root(r.total), parts: r.parts.map(root) }));
  const fixed = new Set([...start.keys()].filter((r) => wanted.has(byRoot.get(r)!)));
  const solved = solveSizes(relations, start, fixed);
  if (solved) for (const [r, v] of solved) sizes.set(byRoot.get(r)!, v);
  const values = new Map<string, Point>();
  for (const v of checked.vars.values()) {
    const rows = concrete(v.type.rows);
    const cols = concrete(v.type.cols);
    const square = checked.sizeName(v.type.rows) === checked.sizeName(v.type.cols);
    values.set(v.name, randomValue(v.declared, rows, cols, square, rand));
  }
  return { values, sizes };
}

/**
 * A point the user wrote as JSON: { "x": [1, 2], "A": [[1, 2], [3, 4]], "c": 0.5 }, one entry per
 * variable. Shapes are checked against the types here; sizes against each other by the evaluator.
 */
export function parsePoint(json: string, checked: Checked): NumericPoint {
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch (e) {
    throw new RicciError('input', `the point is not valid JSON: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    throw new RicciError('input', 'the point must be a JSON object from variable names to values, e.g. {"x": [1, 2]}');
  const given = new Map(Object.entries(parsed as Record<string, unknown>));
  for (const name of given.keys()) if (!checked.vars.has(name)) throw new RicciError('input', `the point gives ${JSON.stringify(name)}, which is not a variable of the expression`);
  const values = new Map<string, Point>();
  const sizes = new Map<string, number>();
  for (const v of checked.vars.values()) {
    if (!given.has(v.name)) throw new RicciError('input', `the point has no value for ${v.name}`);
    const t = toTensor(given.get(v.name) as Value, v.name);
    const rank = v.declared === 'scalar' ? 0 : v.declared === 'vector' ? 1 : 2;
    if (t.shape.length !== rank) throw new RicciError('input', `${v.name} is a ${v.declared}, but the point gives it ${t.shape.length} axes`);
    values.set(v.name, t);
    const dims = rank === 0 ? [] : rank === 1 ? [v.type.rows] : [v.type.rows, v.type.cols];
    dims.forEach((d, i) => sizes.set(checked.sizeName(d), t.shape[i]!));
  }
  return { values, sizes };
}

/** A point as JSON, one matrix row per line, with every digit (it reproduces the point exactly). */
export function pointToJson(point: NumericPoint): string {
  const num = (v: number): string => String(v);
  const row = (d: Float64Array, from: number, n: number): string => `[${Array.from(d.subarray(from, from + n), num).join(', ')}]`;
  const lines = [...point.values].map(([name, p]) => {
    const key = JSON.stringify(name);
    if (p.shape.length === 0) return `  ${key}: ${num(p.data[0]!)}`;
    if (p.shape.length === 1) return `  ${key}: ${row(p.data, 0, p.shape[0]!)}`;
    const [r, c] = p.shape as [number, number];
    const rows = Array.from({ length: r }, (_, i) => `    ${row(p.data, i * c, c)}`);
    return `  ${key}: [\n${rows.join(',\n')}\n  ]`;
  });
  return `{\n${lines.join(',\n')}\n}`;
}

function toValue(p: Point): Value {
  return p.shape.length === 0 ? p.data[0]! : { shape: p.shape, data: p.data };
}

/** The engine's Values for a point, optionally with one variable moved; fromEntries keeps __proto__ an own name. */
function valuesOf(point: NumericPoint, moved?: { name: string; to: Point }): Values {
  return Object.fromEntries([...point.values].map(([name, p]) => [name, toValue(name === moved?.name ? moved.to : p)]));
}

/** The derivative at a point, from the compiled evaluator. */
export function evaluateAt(d: Derivative, point: NumericPoint): { shape: number[]; data: Float64Array } {
  const t = d.compile()(valuesOf(point));
  return { shape: [...t.shape], data: t.data };
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

export interface CheckOutcome {
  /** ‖a − b‖ / max(‖b‖, 1e-8) over all directions; NaN where a value was not finite. */
  readonly relError: number;
  /** The concrete size of each symbolic size: n → 3. */
  readonly sizes: ReadonlyMap<string, number>;
  /** How many directions were compared. */
  readonly directions: number;
  /** Set where the point lies outside the domain of a function (log, sqrt, inv, …). */
  readonly notFinite: boolean;
}

export interface CheckOptions {
  /** Finite-difference step (before the Richardson step halves it). */
  readonly step?: number;
}

/** Compares `high` (order K) with finite differences of `low` (order K-1) at a point. */
export function checkAt(high: Derivative, low: Derivative, point: NumericPoint, opts: CheckOptions = {}): CheckOutcome {
  const wrt = high.wrt;
  const info = high.result.analysis.checked.vars.get(wrt)!;
  const x = point.values.get(wrt)!;
  const dHigh = high.compile()(valuesOf(point)).data;
  const fLow = low.compile();
  const q = x.data.length;
  const p = dHigh.length / q;
  const h = opts.step ?? 1e-3;
  const at = (e: Float64Array, t: number): Float64Array => {
    const data = x.data.map((xi, k) => xi + t * e[k]!);
    return fLow(valuesOf(point, { name: wrt, to: { shape: x.shape, data } })).data;
  };
  const central = (e: Float64Array, t: number): Float64Array => {
    const plus = at(e, t);
    const minus = at(e, -t);
    return plus.map((v, k) => (v - minus[k]!) / (2 * t));
  };

  let diff2 = 0;
  let ref2 = 0;
  let notFinite = false;
  const dirs = directions(x, info.symmetric);
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
  return { relError, sizes: point.sizes, directions: dirs.length, notFinite };
}

export interface CheckNumericallyOptions extends CheckOptions {
  readonly seed?: number;
  readonly sizes?: ReadonlyMap<string, number>;
}

/** checkAt at a seeded random point of the expression's variables. */
export function checkNumerically(expr: string, wrt: string, order: number, lets: Declarations, opts: CheckNumericallyOptions = {}): CheckOutcome {
  if (!Number.isInteger(order) || order < 1) throw new RangeError(`order must be at least 1, not ${order}`);
  const high = derivative(expr, wrt, { order, let: lets });
  const low = derivative(expr, wrt, { order: order - 1, let: lets });
  const point = randomPoint(high.result.analysis.checked, opts.sizes ?? new Map(), opts.seed ?? Math.floor(Math.random() * 2 ** 32));
  return checkAt(high, low, point, opts);
}

/** "n = 3, m = 4". */
export function describeSizes(sizes: ReadonlyMap<string, number>): string {
  return [...sizes].map(([k, v]) => `${k} = ${v}`).join(', ');
}

/** "relative error 3.2e-11 at the point (n = 3, m = 4)". */
export function describeCheck(c: CheckOutcome): string {
  const sizes = describeSizes(c.sizes);
  const where = `at the point${sizes ? ` (${sizes})` : ''}`;
  if (c.notFinite) return `not finite ${where}: it is outside the domain of a function (log, sqrt, inv, …); try another point`;
  return `relative error ${c.relError.toExponential(1)} ${where}`;
}
