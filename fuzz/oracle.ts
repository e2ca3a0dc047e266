/**
 * The independent oracle: mathjs evaluates an expression tree, printed as mathjs text. The tree's
 * types (and through them the sizes of eye, vector(c), matrix(c)) are given by the caller: for a
 * generated expression they come from the generator, for a printed derivative from our checker
 * (the printed form has no other source of types). Every value is computed by mathjs.
 *
 * mathjs runs in `predictable` mode, so that sqrt(-1), log(-1) and arcsin(2) are NaN (outside
 * the domain) instead of complex numbers. Powers go through Math.pow (mathjs would take the real
 * cube root of a negative number, which the input language does not). Vectors are n×1 matrices, so
 * x' and x*y' mean what they mean in the input language; every scalar-typed node is unwrapped from
 * a 1×1 matrix (x'*y) to a number.
 */
import { create, all, type MathJsInstance, type Matrix, type EvalFunction } from 'mathjs';
import { astChildren, type Ast } from '../src/syntax/ast.js';
import type { Tensor } from '../src/tensor.js';

export type OKind = 'scalar' | 'vector' | 'row' | 'matrix';
export interface OType {
  readonly kind: OKind;
  readonly rows: number;
  readonly cols: number;
}

const math: MathJsInstance = create(all, { predictable: true });

/**
 * While an evaluation is traced (`kinkSigns`), the side of its kink each argument of abs, sign,
 * relu and norm2 lies on (-1, 0, 1), in the order of evaluation.
 */
let kinks: number[] | undefined;
function atKink(t: number): number {
  kinks?.push(t > 0 ? 1 : t < 0 ? -1 : 0);
  return t;
}

/**
 * f's value at the point, and the side of its kink every argument of abs, sign, relu and norm2
 * lies on: finite differences whose stencil changes a side cross a kink (relu at an entry 1e-4
 * from 0, with a step of 1e-3), where they have no derivative to find.
 */
export function kinkSigns(f: () => Tensor): { value: Tensor; signs: number[] } {
  const outer = kinks;
  kinks = [];
  try {
    const value = f();
    return { value, signs: kinks };
  } finally {
    kinks = outer;
  }
}

type Fn1 = (t: number) => number;
const ELEMENTWISE: Record<string, Fn1> = {
  sin: (t) => math.sin(t),
  cos: (t) => math.cos(t),
  tan: (t) => math.tan(t),
  arcsin: (t) => math.asin(nearEdge(t)) as number,
  arccos: (t) => math.acos(nearEdge(t)) as number,
  arctan: (t) => math.atan(t),
  exp: (t) => math.exp(t),
  log: (t) => math.log(t) as number,
  tanh: (t) => math.tanh(t),
  abs: (t) => math.abs(atKink(t)),
  sign: (t) => math.sign(atKink(t)),
  relu: (t) => Math.max(atKink(t), 0),
  sqrt: (t) => power(t, 0.5, false, true),
  sigmoid: (t) => 1 / (1 + Math.exp(-t)),
  softplus: (t) => (t > 30 ? t + Math.log1p(Math.exp(-t)) : Math.log1p(Math.exp(t))),
};

const isMatrix = (v: unknown): v is Matrix => math.isMatrix(v);
const num = (v: unknown): number => (typeof v === 'number' ? v : NaN);

class OutsideDomain extends Error {}

/**
 * t, unless it is within 1e-8 of ±1, the edge of arcsin and arccos: their derivative there,
 * 1/sqrt(1 - t²), rests on the few bits of 1 - |t| that float64 keeps (arccos(sigmoid(40)) is
 * arccos(1) exactly), so neither finite differences nor any evaluator can judge it.
 */
function nearEdge(t: number): number {
  if (1 - Math.abs(t) < 1e-8) throw new OutsideDomain('the edge of a domain');
  return t;
}

/**
 * t^p by Math.pow, except at the edges of the power's domain, where it has no derivative and a
 * point is outside the domain of differentiation even where the expression is smooth:
 *  - t = 0 with a non-integer p (sqrt(0) too): t^p has no derivative for p < 1, and with p a
 *    variable d/dp t^p = t^p log t is 0·(-∞) ((y*y'.*eye).^0.5 off the diagonal);
 *  - t ≤ 0 with a variable p (`varying`): t^p is a function of p only for t > 0, even where p
 *    is an integer structurally (alpha.^(tr(B)/tr(B))).
 */
/**
 * t^p. guarded (the expression under test): a non-integer power of 0 and a variable exponent on a
 * base ≤ 0 are outside the domain, where derivatives need not exist; plain (a printed derivative,
 * which is only evaluated): the value itself, 0^0.5 = 0.
 */
function power(t: number, p: number, varying: boolean, guarded: boolean): number {
  if (!guarded) return Math.pow(t, p);
  if (t === 0 && !Number.isInteger(p)) throw new OutsideDomain('a non-integer power of 0');
  if (varying && t <= 0) throw new OutsideDomain('a power of a non-positive number with a variable exponent');
  return Math.pow(t, p);
}
function logSumExpOf(m: Matrix): number {
  const entries = (m.toArray() as number[][]).flat();
  const top = Math.max(...entries);
  if (!Number.isFinite(top)) return top;
  return top + Math.log(entries.reduce((s, t) => s + Math.exp(t - top), 0));
}
function finite(t: unknown): void {
  if (typeof t !== 'number' || !Number.isFinite(t)) throw new OutsideDomain('a non-finite intermediate value');
}

math.import(
  {
    // A 1×1 product (x'*y) is a scalar in the input language.
    s1: (v: unknown) => (isMatrix(v) ? num(v.get([0, 0])) : v),
    ew: (v: unknown, name: string) => {
      const f = ELEMENTWISE[name]!;
      return isMatrix(v) ? math.map(v, (t: number) => f(t)) : f(num(v));
    },
    spow: (a: unknown, b: unknown, varying: boolean, guarded: boolean) => power(num(a), num(b), varying, guarded),
    epow: (a: unknown, b: unknown, varying: boolean, guarded: boolean) => {
      if (isMatrix(a)) return math.map(a, (t: number, i: number[]) => power(t, isMatrix(b) ? num(b.get(i)) : num(b), varying, guarded));
      if (isMatrix(b)) return math.map(b, (t: number) => power(num(a), t, varying, guarded));
      return power(num(a), num(b), varying, guarded);
    },
    // adj(A): the transposed cofactor matrix, each cofactor the determinant of a minor.
    gadj: (m: Matrix) => {
      const a = m.toArray() as number[][];
      const n = a.length;
      const minor = (i: number, j: number): number =>
        n === 1 ? 1 : pivotedDet(math.matrix(a.filter((_, r) => r !== j).map((row) => row.filter((_, c) => c !== i))));
      return math.matrix(a.map((_, i) => a.map((__, j) => ((i + j) % 2 === 0 ? 1 : -1) * minor(i, j))));
    },
    // kron(A, B) of matrices (vectors are n×1 here); a scalar side scales.
    kronecker: (a: unknown, b: unknown) => (isMatrix(a) && isMatrix(b) ? math.kron(a, b) : math.multiply(a as Matrix, b as Matrix)),
    // log Σ exp and exp(u)/Σ exp over every entry, the largest entry taken out (as a person would).
    glse: (m: Matrix) => logSumExpOf(m),
    gsoftmax: (m: Matrix) => {
      const l = logSumExpOf(m);
      return math.map(m, (t: number) => Math.exp(t - l));
    },
    ginv: (m: Matrix) => guardedInverse(m),
    gdet: (m: Matrix) => pivotedDet(m),
    glogdet: (m: Matrix) => (math.isNaN(guardedInverse(m).get([0, 0])) ? NaN : Math.log(pivotedDet(m))),
    mpow: (m: Matrix, k: number) => {
      if (!Number.isInteger(k)) return NaN;
      const base = k < 0 ? guardedInverse(m) : m;
      let out = math.identity((m.size() as number[])[0]!) as Matrix;
      for (let e = Math.abs(k); e > 0; e--) out = math.multiply(out, base) as Matrix;
      return out;
    },
    // dpow(A, k, E1, …, Em): every word of k factors with each E once and A elsewhere, summed as
    // written (one E: Σ_{j<k} A^j E A^(k−1−j)).
    dpow: (m: Matrix, k: number, ...es: Matrix[]) => {
      const n = (m.size() as number[])[0]!;
      const words = (len: number, left: readonly Matrix[]): Matrix => {
        if (len === 0) return (left.length === 0 ? math.identity(n) : math.zeros(n, n)) as Matrix;
        let out = math.zeros(n, n) as Matrix;
        if (len > left.length) out = math.add(out, math.multiply(m, words(len - 1, left))) as Matrix;
        for (let i = 0; i < left.length; i++)
          out = math.add(out, math.multiply(left[i]!, words(len - 1, left.filter((_, j) => j !== i)))) as Matrix;
        return out;
      };
      return words(k, es);
    },
    vdiag: (v: Matrix) => math.diag(math.flatten(v)),
    mdiag: (m: Matrix) => {
      const n = (m.size() as number[])[0]!;
      return math.reshape(math.matrix(math.diag(m) as Matrix), [n, 1]);
    },
    // Every intermediate value must be finite: 1/0 or 0.^-1 on the way is outside the domain even
    // where extended arithmetic would carry on to a finite value (exp(-1/0) = 0).
    fin: (v: unknown) => {
      if (isMatrix(v)) math.forEach(v, (t: unknown) => finite(t));
      else finite(v);
      return v;
    },
    // The argument watched as a kink's (kinkedEvenPower in mathText), unchanged.
    kink: (v: unknown) => (isMatrix(v) ? math.map(v, (t: number) => atKink(t)) : atKink(num(v))),
    fro: (v: unknown) => atKink(isMatrix(v) ? Math.sqrt(num(math.sum(math.map(v, (t: number) => t * t)))) : Math.abs(atKink(num(v)))),
  },
  { override: true },
);

/**
 * The determinant from mathjs's LU factorization with partial pivoting: the product of U's
 * diagonal, signed by the row permutation. mathjs's own det eliminates without pivoting (Bareiss),
 * taking a pivot below its absolute tolerance (1e-15) for 0: the determinant of an 8×8 inverse
 * with entries near 0.1 came out 2e-18 where it is 4e-24 (fuzz seed 7, case 254).
 */
function pivotedDet(m: Matrix): number {
  const { U, p } = math.lup(m) as unknown as { U: Matrix; p: number[] };
  let det = 1;
  const n = p.length;
  for (let i = 0; i < n; i++) det *= num(U.get([i, i]));
  // The permutation's sign: (-1)^(n - number of cycles).
  const seen = new Array<boolean>(n).fill(false);
  let cycles = 0;
  for (let i = 0; i < n; i++) {
    if (seen[i]) continue;
    cycles++;
    for (let j = i; !seen[j]; j = p[j]!) seen[j] = true;
  }
  return (n - cycles) % 2 === 0 ? det : -det;
}

/**
 * The inverse, or NaN entries where the matrix is singular to working precision: mathjs inverts a
 * nearly singular matrix into garbage without complaint, so its condition number ‖M‖·‖M⁻¹‖
 * (Frobenius) must stay below 1e12; beyond, the point is outside the domain of inv and logdet, as
 * an exactly singular matrix is.
 */
function guardedInverse(m: Matrix): Matrix {
  const nan = (): Matrix => math.map(m, () => NaN);
  let inv: Matrix;
  try {
    inv = math.inv(m) as Matrix;
  } catch {
    return nan();
  }
  const frob = (a: Matrix): number => Math.sqrt(num(math.sum(math.map(a, (t: number) => t * t))));
  return frob(m) * frob(inv) < 1e12 ? inv : nan();
}

/** mathjs text for a tree; `ty` gives each node's kind and numeric size. */
export function mathText(root: Ast, ty: (a: Ast) => OType, guarded = true): string {
  // Guarded, every intermediate value must be finite; a printed form is evaluated as IEEE
  // arithmetic does, as ricci's evaluators do: x/sum(u)^2 is 0 where sum(u)^2 overflows
  // (1/norm1((z.^2).^(X*vector(3)).^4) by z at z = 1.8, whose derivative is 1e-200: seed 21).
  const text = (a: Ast): string => (!guarded || a.kind === 'num' || a.kind === 'name' ? node(a) : `fin(${node(a)})`);
  const node = (a: Ast): string => {
    const t = ty(a);
    const scalar = t.kind === 'scalar';
    const wrap = (s: string): string => (scalar ? `s1(${s})` : s);
    switch (a.kind) {
      case 'num':
        return `(${a.value})`;
      case 'name':
        return a.name === 'eye' ? `identity(${t.rows})` : a.name;
      case 'neg':
        return wrap(`(-${text(a.arg)})`);
      case 'transpose':
        return scalar ? text(a.arg) : `transpose(${text(a.arg)})`;
      case 'binary': {
        const l = (a.op === '^' || a.op === '.^' ? kinkedEvenPower(a.left, a.right) : undefined) ?? text(a.left);
        const r = text(a.right);
        switch (a.op) {
          case '^':
            return scalar ? `spow(${l}, ${r}, ${hasVariable(a.right)}, ${guarded})` : `mpow(${l}, ${r})`;
          case '.^':
            return `epow(${l}, ${r}, ${hasVariable(a.right)}, ${guarded})`;
          default:
            return wrap(`(${l} ${a.op} ${r})`);
        }
      }
      case 'call':
        if (a.fn === 'dpow') return `dpow(${a.args.map(text).join(', ')})`;
        if (a.fn === 'kron') return `kronecker(${text(a.args[0]!)}, ${text(a.args[1]!)})`;
        return call(a.fn, a.args[0]!, t);
      case 'where':
        throw new Error('oracle: where only at the top of a printed form');
    }
  };
  /**
   * The base of a non-integer power (or of sqrt) that is an even power u.^(2k), with u's side of 0
   * watched as a kink's: (u.^2).^1.5 is |u|^3, whose third derivative jumps at u = 0, and the
   * stencil of a second derivative across it misjudges by its first-order error (seed 43:
   * tr((A.^2).^1.5) by A, 2e-5 apart); u.^2 itself never changes sides.
   */
  const kinkedEvenPower = (base: Ast, p: Ast | undefined): string | undefined => {
    if (p !== undefined && (p.kind !== 'num' || Number.isInteger(p.value))) return undefined;
    if (base.kind !== 'binary' || (base.op !== '^' && base.op !== '.^') || base.right.kind !== 'num') return undefined;
    const e = base.right.value;
    if (!Number.isInteger(e) || e === 0 || e % 2 !== 0) return undefined;
    const u = `kink(${text(base.left)})`;
    const scalar = ty(base).kind === 'scalar';
    const inner = base.op === '^' && scalar ? `spow(${u}, (${e}), false, ${guarded})` : base.op === '^' ? undefined : `epow(${u}, (${e}), false, ${guarded})`;
    return inner === undefined ? undefined : guarded ? `fin(${inner})` : inner;
  };
  const call = (fn: string, arg: Ast, t: OType): string => {
    const x = (fn === 'sqrt' ? kinkedEvenPower(arg, undefined) : undefined) ?? text(arg);
    const argScalar = ty(arg).kind === 'scalar';
    if (fn in ELEMENTWISE) return `ew(${x}, "${fn}")`;
    switch (fn) {
      case 'sum':
        return argScalar ? x : `sum(${x})`;
      case 'norm1':
        return argScalar ? `ew(${x}, "abs")` : `sum(ew(${x}, "abs"))`;
      case 'norm2':
        return `fro(${x})`;
      case 'tr':
        return argScalar ? x : `trace(${x})`;
      case 'det':
        return argScalar ? x : `gdet(${x})`;
      case 'logdet':
        return argScalar ? `ew(${x}, "log")` : `glogdet(${x})`;
      case 'logsumexp':
        return argScalar ? x : `glse(${x})`;
      case 'softmax':
        return argScalar ? '(1)' : `gsoftmax(${x})`;
      case 'inv':
        return argScalar ? `(1 / ${x})` : `ginv(${x})`;
      case 'diag':
        return argScalar ? x : ty(arg).kind === 'matrix' ? `mdiag(${x})` : `vdiag(${x})`;
      case 'vector':
        return `(${x} * ones(${t.rows}, 1))`;
      case 'matrix':
        return `(${x} * ones(${t.rows}, ${t.cols}))`;
      case 'eye':
        return `identity(${t.rows})`;
      case 'adj':
        return argScalar ? '(1)' : `gadj(${x})`;
      case 'vec': {
        const a = ty(arg);
        return a.kind === 'matrix' ? `reshape(transpose(${x}), [${a.rows * a.cols}, 1])` : a.kind === 'row' ? `transpose(${x})` : x;
      }
      case 'rows':
        return `(${ty(arg).rows})`;
      case 'cols':
        return `(${ty(arg).cols})`;
      case 'len': {
        const a = ty(arg);
        return `(${a.kind === 'row' ? a.cols : a.rows})`;
      }
    }
    throw new Error(`oracle: no mapping for ${fn}`);
  };
  // Temporaries of a printed form: assigned in order, then the body (mathjs returns its value last).
  if (root.kind === 'where') return `${root.bindings.map((b) => `${b.name} = ${text(b.value)}`).join('; ')}; ${text(root.body)}`;
  return text(root);
}

function hasVariable(a: Ast): boolean {
  if (a.kind === 'name') return a.name !== 'eye';
  return astChildren(a).some(hasVariable);
}

/** The shape a value of this type has in the engine's layout (rows and vectors are 1-D). */
export function shapeOf(t: OType): number[] {
  return t.kind === 'scalar' ? [] : t.kind === 'vector' ? [t.rows] : t.kind === 'row' ? [t.cols] : [t.rows, t.cols];
}

export type Oracle = (values: ReadonlyMap<string, Tensor>) => Tensor;

/**
 * Compiles mathjs text into a function of the variables' values. A value mathjs cannot compute
 * (a singular inverse, a complex result) comes back as NaN entries: outside the domain.
 */
export function oracle(text: string, shape: readonly number[]): Oracle {
  const compiled: EvalFunction = math.compile(text);
  const size = shape.reduce((p, d) => p * d, 1);
  return (values) => {
    const scope: Record<string, unknown> = {};
    for (const [k, v] of values) scope[k] = toMath(v);
    let r: unknown;
    try {
      r = compiled.evaluate(scope);
    } catch {
      return { shape: [...shape], data: new Float64Array(size).fill(NaN) };
    }
    const data = new Float64Array(size);
    // A where clause evaluates to a result set whose last entry is the body's value.
    const entries = (r as { entries?: unknown[] } | null)?.entries;
    if (Array.isArray(entries)) r = entries[entries.length - 1];
    if (isMatrix(r)) {
      const flat = math.flatten(r).toArray() as unknown[];
      if (flat.length !== size) throw new Error(`oracle: ${flat.length} entries for shape [${shape.join(', ')}]`);
      flat.forEach((v, i) => (data[i] = num(v)));
    } else {
      if (size !== 1) throw new Error(`oracle: a number for shape [${shape.join(', ')}]`);
      data[0] = num(r);
    }
    return { shape: [...shape], data };
  };
}

function toMath(v: Tensor): unknown {
  if (v.shape.length === 0) return v.data[0];
  if (v.shape.length === 1) return math.matrix(Array.from(v.data, (e) => [e]));
  const [m, n] = v.shape as [number, number];
  return math.matrix(Array.from({ length: m }, (_, i) => Array.from(v.data.subarray(i * n, i * n + n))));
}
