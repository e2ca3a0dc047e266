/**
 * The reference evaluator: runs the IR with plain loops over Float64Array. Slow and obviously
 * right; it is the oracle the compiled evaluator and every rewrite are tested against.
 */
import { type Dim, type Node, InternalError, elemValue, logSigmoidOf, topoOrder } from '../ir/node.js';
import { type Tensor, sizeOf } from '../tensor.js';
import { inputError } from '../errors.js';
import { SingularMatrixError, singularMatrix } from './kernels/lu.js';
import { isSymmetric } from './kernels/symmetric.js';
import { logSumExp, unaryScalar } from './kernels/elementwise.js';
import { checkThirdCofactorsOrder } from './kernels/thirdCofactors.js';
import { distributeWideSums, greedySteps } from './distribute.js';

export type Sizes = ReadonlyMap<Dim, number>;

export interface SizeNames {
  get(d: Dim): string | undefined;
}

function dimName(d: Dim, names?: SizeNames): string {
  return names?.get(d) ?? `#${d}`;
}

function describeShape(shape: readonly number[]): string {
  if (shape.length === 0) return 'a scalar';
  if (shape.length === 1) return `a vector of ${shape[0]} entries`;
  return `a ${shape.join('×')} array`;
}

/**
 * Size of every symbol, from the shapes of the values given for the variables (and from `known`,
 * e.g. the expected shape of a result). Mismatches name the variable and both sizes.
 */
export function bindSizes(
  roots: readonly Node[],
  values: ReadonlyMap<string, Tensor>,
  names?: SizeNames,
  known?: ReadonlyMap<Dim, number>,
  checkSymmetry = true,
): Map<Dim, number> {
  const sizes = new Map<Dim, number>(known ?? []);
  const from = new Map<Dim, string>();
  const nodes = topoOrder(roots);
  for (const n of nodes) {
    if (n.kind !== 'var') continue;
    const v = values.get(n.name);
    if (!v) throw inputError(`no value given for ${n.name}`);
    if (v.shape.length !== n.shape.length) {
      const want = n.shape.length === 0 ? 'a scalar' : n.shape.length === 1 ? 'a vector' : 'a matrix';
      throw inputError(`${n.name} must be ${want}, but the value given is ${describeShape(v.shape)}`);
    }
    n.shape.forEach((d, i) => {
      const s = v.shape[i]!;
      const prev = sizes.get(d);
      if (prev === undefined) {
        sizes.set(d, s);
        from.set(d, n.name);
      } else if (prev !== s) {
        const other = from.get(d);
        throw inputError(
          `${n.name} is ${v.shape.join('×')}, but size ${dimName(d, names)} is ${prev}${other ? ` from ${other}` : ''}: the sizes must agree`,
        );
      }
    });
    if (checkSymmetry && n.symmetric && !isSymmetric(v.shape[0]!, v.data)) {
      const a = v.data;
      const m = v.shape[0]!;
      // The first offending pair in row order, for the message.
      for (let i = 0; i < m; i++)
        for (let j = 0; j < i; j++)
          if (Math.abs(a[i * m + j]! - a[j * m + i]!) > 1e-9 * (Math.abs(a[i * m + j]!) + Math.abs(a[j * m + i]!) + 1e-300))
            throw inputError(`${n.name} is declared symmetric, but entries (${i + 1},${j + 1}) and (${j + 1},${i + 1}) differ`);
    }
  }
  bindMergedSizes(nodes, sizes, names);
  for (const n of nodes)
    for (const d of n.shape)
      if (!sizes.has(d))
        throw inputError(`the size ${dimName(d, names)} cannot be inferred from the values (it comes from eye, vector(c) or matrix(c) alone)`);
  return sizes;
}

/**
 * A merged axis (vec, kron) has the product of its group's sizes: it is set from them, checked
 * against a size already bound, or — where it is bound and one factor is not (the eye in
 * kron(eye, X'*X)) — gives that factor by division. Repeated until nothing changes.
 */
function bindMergedSizes(nodes: readonly Node[], sizes: Map<Dim, number>, names?: SizeNames): void {
  const merges = nodes.filter((n): n is Node & { kind: 'merge' } => n.kind === 'merge');
  for (let changed = true; changed; ) {
    changed = false;
    for (const n of merges) {
      let axis = 0;
      n.groups.forEach((g, k) => {
        const parts = n.arg.shape.slice(axis, axis + g);
        axis += g;
        if (g === 1) return;
        const d = n.shape[k]!;
        const unknown = parts.filter((p) => !sizes.has(p));
        const known = parts.filter((p) => sizes.has(p)).reduce((acc, p) => acc * sizes.get(p)!, 1);
        const total = sizes.get(d);
        const product = parts.map((p) => dimName(p, names)).join('·');
        if (unknown.length === 0) {
          if (total === undefined) {
            sizes.set(d, known);
            changed = true;
          } else if (total !== known) {
            const q = parts.find((p) => dimName(p, names).includes('/'));
            if (q !== undefined)
              throw inputError(`the size ${dimName(q, names)} is ${sizes.get(q)} where it is used, but ${dimName(d, names)} = ${total} is not ${parts.map((p) => sizes.get(p)).join('·')}`);
            throw inputError(`size ${dimName(d, names)} is ${total}, but it is the product ${product} = ${known} (vec, kron or a size argument)`);
          }
        } else if (total !== undefined && new Set(unknown).size === 1) {
          // One unknown factor, possibly repeated (vec(eye) is n·n): the root of the quotient.
          const q = known === 0 ? NaN : total / known;
          const root = Math.round(Math.pow(q, 1 / unknown.length));
          if (!Number.isInteger(q) || Math.pow(root, unknown.length) !== q) {
            const what = dimName(unknown[0]!, names);
            if (what.includes('/')) throw inputError(`the size ${what} would be ${total}/${known}, which is not a whole number`);
            throw inputError(`size ${dimName(d, names)} is ${total}, which cannot be the product ${product} (vec or kron) of the other sizes`);
          }
          sizes.set(unknown[0]!, root);
          changed = true;
        }
      });
    }
  }
}

/** The value of root; `matrixName` names the matrix of an inv or logdet that turns out singular. */
export function evaluateReference(
  root: Node,
  values: ReadonlyMap<string, Tensor>,
  sizes: Sizes,
  matrixName: (n: Node) => string = () => 'a matrix',
  /** Products over wide sums distributed (distribute.ts); false: the graph as it is, for tests. */
  distribute = true,
): Tensor {
  const memo = new Map<Node, Tensor>();
  const top = distribute ? distributeWideSums([root], sizes)[0]! : root;
  const order = topoOrder([top]);
  // Before any work: an adj3 too large to form (n⁶ entries).
  for (const n of order) if (n.kind === 'adj3') checkThirdCofactorsOrder(sizes.get(n.shape[0]!)!);
  for (const n of order) {
    try {
      memo.set(n, evalNode(n, memo, values, sizes));
    } catch (e) {
      if (e instanceof SingularMatrixError && (n.kind === 'inv' || n.kind === 'logdet')) throw singularMatrix(n.kind, matrixName(n.arg));
      throw e;
    }
  }
  return memo.get(top)!;
}

function shapeOf(n: Node, sizes: Sizes): number[] {
  return n.shape.map((d) => sizes.get(d)!);
}

function evalNode(n: Node, memo: Map<Node, Tensor>, values: ReadonlyMap<string, Tensor>, sizes: Sizes): Tensor {
  const shape = shapeOf(n, sizes);
  const size = sizeOf(shape);
  const arg = (c: Node): Tensor => memo.get(c)!;
  switch (n.kind) {
    case 'var':
      return values.get(n.name)!;
    case 'const':
      return { shape, data: new Float64Array(size).fill(n.value) };
    case 'delta': {
      const data = new Float64Array(size);
      for (let i = 0; i < shape[0]!; i++) data[i * shape[0]! + i] = 1;
      return { shape, data };
    }
    case 'add': {
      const data = new Float64Array(size);
      for (const t of n.terms) {
        const v = arg(t.node).data;
        for (let i = 0; i < size; i++) data[i] += t.coef * v[i]!;
      }
      return { shape, data };
    }
    case 'mul':
      return einsum(n, memo, sizes, shape);
    case 'elem': {
      // log(sigmoid(u)) as -softplus(-u), log(1 - sigmoid(u)) as -softplus(u): -800, not log(0), at u = ∓800.
      const l = logSigmoidOf(n);
      const v = arg(l?.arg ?? n.arg).data;
      const f = l ? unaryScalar[l.fn] : (x: number): number => elemValue(n.fn, x);
      const data = new Float64Array(size);
      for (let i = 0; i < size; i++) data[i] = f(v[i]!);
      return { shape, data };
    }
    case 'pow': {
      const v = arg(n.base).data;
      const data = new Float64Array(size);
      for (let i = 0; i < size; i++) data[i] = Math.pow(v[i]!, n.exp);
      return { shape, data };
    }
    case 'powv': {
      const b = arg(n.base).data;
      const e = arg(n.exponent).data;
      const data = new Float64Array(size);
      for (let i = 0; i < size; i++) data[i] = Math.pow(b[i]!, e[i]!);
      return { shape, data };
    }
    case 'inv':
      return { shape, data: invert(arg(n.arg).data, shape[0]!) };
    case 'adj':
      return { shape, data: adjugate(arg(n.arg).data, shape[0]!) };
    case 'adj2':
      return { shape, data: adjugateDerivative(arg(n.arg).data, shape[0]!) };
    case 'adj3':
      return { shape, data: thirdCofactorsByMinors(arg(n.arg).data, shape[0]!) };
    case 'adjpart':
      throw new InternalError('adjpart is the compiled evaluator\'s; the reference evaluates adj2 itself');
    case 'det':
      return { shape, data: Float64Array.of(determinant(arg(n.arg).data, arg(n.arg).shape[0]!)) };
    case 'logdet':
      return { shape, data: Float64Array.of(logDeterminant(arg(n.arg).data, arg(n.arg).shape[0]!)) };
    case 'logsumexp': {
      const a = arg(n.arg).data;
      return { shape, data: Float64Array.of(logSumExp(a, 0, a.length)) };
    }
    case 'mpow': {
      const a = arg(n.base).data;
      const d = shape[0]!;
      if (n.dirs.length === 0) return { shape, data: powerByProducts(a, d, n.exp) };
      return { shape, data: frechetByBlocks(a, d, n.exp, n.dirs.map(arg)) };
    }
    case 'merge':
      return { shape, data: mergeAxes(arg(n.arg), n.groups) };
  }
}

/** a·b for n×n row-major matrices. */
function matmul(a: Float64Array, b: Float64Array, n: number): Float64Array {
  const c = new Float64Array(n * n);
  for (let i = 0; i < n; i++)
    for (let p = 0; p < n; p++) {
      const x = a[i * n + p]!;
      for (let j = 0; j < n; j++) c[i * n + j] += x * b[p * n + j]!;
    }
  return c;
}

/**
 * Up to this exponent A^k is k − 1 plain products, one after the other; above it (where that many
 * products would make evaluate() unusable: tr(A^1000000) by A) the same products by squaring.
 */
const PLAIN_POWER_MAX = 1024;

/** A^k (k ≥ 1) by plain multiplications: k − 1 of them, or by squaring for a large k. */
function powerByProducts(a: Float64Array, n: number, k: number): Float64Array {
  let acc: Float64Array = Float64Array.from(a);
  if (k <= PLAIN_POWER_MAX) {
    for (let t = 1; t < k; t++) acc = matmul(acc, a, n);
    return acc;
  }
  const bits = k.toString(2);
  for (let i = 1; i < bits.length; i++) {
    acc = matmul(acc, acc, n);
    if (bits[i] === '1') acc = matmul(acc, a, n);
  }
  return acc;
}

/**
 * P(A, k; E_1..E_m) at every batch entry: the coefficient of t_1⋯t_m in (A + t_1E_1 + … + t_mE_m)^k,
 * which is the sum over all orders of the directions and all exponents. As a matrix: blocks
 * indexed by the subsets S of the directions, A on the diagonal and E_i at (S, S ∪ {i}); a path
 * through M^k from ∅ to all directions takes each E_i once, in any order, and A in the other
 * k − m steps, so block (∅, all) of M^k is P. Only row ∅ of M^k is needed, and M is upper
 * triangular by blocks, so the row is carried through k steps, one block per subset:
 * R_T ← R_T·A + Σ_{i ∈ T} R_{T∖i}·E_i, with R_∅ = I at the start (2^m + m·2^(m−1) block products a
 * step, where M^k by products took (2^m)³).
 */
export function frechetByBlocks(a: Float64Array, n: number, k: number, dirs: readonly Tensor[]): Float64Array {
  const m = dirs.length;
  const sizes = dirs.map((e) => sizeOf(e.shape.slice(2)));
  const total = sizes.reduce((p, s) => p * s, 1);
  const subsets = 1 << m;
  const out = new Float64Array(n * n * total);
  const identity = new Float64Array(n * n);
  for (let i = 0; i < n; i++) identity[i * n + i] = 1;
  const slices = dirs.map(() => new Float64Array(n * n));
  const at = new Array<number>(m).fill(0);
  const popcount = (s: number): number => (s === 0 ? 0 : (s & 1) + popcount(s >> 1));
  for (let b = 0; b < total; b++) {
    for (let t = m - 1, rest = b; t >= 0; t--) {
      at[t] = rest % sizes[t]!;
      rest = Math.floor(rest / sizes[t]!);
    }
    for (let t = 0; t < m; t++) {
      const e = dirs[t]!.data;
      for (let ij = 0; ij < n * n; ij++) slices[t]![ij] = e[ij * sizes[t]! + at[t]!]!;
    }
    // rows[S] is null where the block is 0: after `step` steps, subsets of more than `step`
    // directions, and those that the steps left cannot complete.
    let rows: (Float64Array | null)[] = Array.from({ length: subsets }, (_, S) => (S === 0 ? identity : null));
    for (let step = 1; step <= k; step++) {
      const next: (Float64Array | null)[] = new Array(subsets).fill(null);
      for (let T = 0; T < subsets; T++) {
        const size = popcount(T);
        if (size > step || m - size > k - step) continue;
        let acc: Float64Array | null = rows[T] ? matmul(rows[T]!, a, n) : null;
        for (let t = 0; t < m; t++) {
          const from = rows[T & ~(1 << t)];
          if (!(T & (1 << t)) || !from) continue;
          const p = matmul(from, slices[t]!, n);
          if (acc) for (let x = 0; x < p.length; x++) acc[x] += p[x]!;
          else acc = p;
        }
        next[T] = acc;
      }
      rows = next;
    }
    const P = rows[subsets - 1];
    if (P) for (let ij = 0; ij < n * n; ij++) out[ij * total + b] = P[ij]!;
  }
  return out;
}

/** Groups of axes merged column-major, entry by entry: out[I0, I1, …] with I = i0 + n0·i1 + …. */
function mergeAxes(a: Tensor, groups: readonly number[]): Float64Array {
  const out = new Float64Array(a.data.length);
  const strides = a.shape.map((_, k) => a.shape.slice(k + 1).reduce((p, d) => p * d, 1));
  const groupSizes: number[] = [];
  let at = 0;
  for (const g of groups) {
    groupSizes.push(a.shape.slice(at, at + g).reduce((p, d) => p * d, 1));
    at += g;
  }
  for (let flat = 0; flat < out.length; flat++) {
    // Output multi-index (row-major over the groups), then each group's index column-major.
    let rest = flat;
    let src = 0;
    let axis = a.shape.length;
    for (let k = groups.length - 1; k >= 0; k--) {
      let index = rest % groupSizes[k]!;
      rest = Math.floor(rest / groupSizes[k]!);
      axis -= groups[k]!;
      for (let j = 0; j < groups[k]!; j++) {
        src += (index % a.shape[axis + j]!) * strides[axis + j]!;
        index = Math.floor(index / a.shape[axis + j]!);
      }
    }
    out[flat] = a.data[src]!;
  }
  return out;
}

interface Labeled {
  labels: number[];
  data: Float64Array;
}

/**
 * out[labels 0..r-1] = Σ over the other labels of Π factors. Factors are multiplied in order, each
 * step visiting every assignment of the labels involved and summing out the labels no later factor
 * (nor the output) needs — plain loops, but polynomial rather than exponential in the chain length.
 */
function einsum(n: Node & { kind: 'mul' }, memo: Map<Node, Tensor>, sizes: Sizes, shape: number[]): Tensor {
  const dims = new Map<number, number>();
  for (const f of n.factors) f.labels.forEach((l, i) => dims.set(l, sizes.get(f.node.shape[i]!)!));
  const output = Array.from({ length: n.shape.length }, (_, i) => i);
  let acc: Labeled = { labels: [], data: Float64Array.of(1) };
  // Greedily the factor whose step visits the fewest assignments, so that no ordering of the
  // factors builds a needlessly large intermediate.
  for (const s of greedySteps(n.factors.map((f) => f.labels), dims, output)) {
    const f = n.factors[s.factor]!;
    acc = step(acc, { labels: [...f.labels], data: memo.get(f.node)!.data }, [...s.involved], [...s.keep], dims);
  }
  return { shape, data: acc.data };
}

/** Product of a and b over all assignments of `involved`, summed onto the labels `keep`. */
function step(a: Labeled, b: Labeled, involved: number[], keep: number[], dims: ReadonlyMap<number, number>): Labeled {
  const all = [...new Set([...involved, ...keep])];
  const L = all.length;
  const dim = all.map((l) => dims.get(l)!);
  const strideIn = (t: Labeled): number[] => {
    const st = new Array<number>(L).fill(0);
    let s = 1;
    for (let i = t.labels.length - 1; i >= 0; i--) {
      st[all.indexOf(t.labels[i]!)] += s;
      s *= dims.get(t.labels[i]!)!;
    }
    return st;
  };
  const sa = strideIn(a);
  const sb = strideIn(b);
  const so = strideIn({ labels: keep, data: a.data });
  const out = new Float64Array(keep.reduce((p, l) => p * dims.get(l)!, 1));
  if (dim.some((d) => d === 0)) return { labels: keep, data: out };
  if (L === 0) {
    out[0] = a.data[0]! * b.data[0]!;
    return { labels: keep, data: out };
  }
  // The last label in a plain loop; the others as an odometer whose offsets move by their strides.
  const [A, B] = [a.data, b.data];
  const last = L - 1;
  const [n, ta, tb, to] = [dim[last]!, sa[last]!, sb[last]!, so[last]!];
  const idx = new Array<number>(last).fill(0);
  let ia = 0;
  let ib = 0;
  let io = 0;
  for (;;) {
    for (let k = 0; k < n; k++) out[io + k * to] += A[ia + k * ta]! * B[ib + k * tb]!;
    let l = last - 1;
    while (l >= 0) {
      idx[l]!++;
      ia += sa[l]!;
      ib += sb[l]!;
      io += so[l]!;
      if (idx[l]! < dim[l]!) break;
      ia -= sa[l]! * dim[l]!;
      ib -= sb[l]! * dim[l]!;
      io -= so[l]! * dim[l]!;
      idx[l] = 0;
      l--;
    }
    if (l < 0) break;
  }
  return { labels: keep, data: out };
}

export { SingularMatrixError };

/**
 * Gaussian elimination, written plainly, with the pivoting and the singularity rule of
 * kernels/lu.ts: the pivot row maximises |m_ic|·2^-e_i (2^e_i ≤ the largest |entry| of row i,
 * as it was given, < 2^(e_i+1)); a pivot is rounding noise — the matrix singular to working
 * precision — when it is 0 or at most 32·n·eps·(|pivot| + Σ |terms subtracted from it|).
 * `jordan` also eliminates above the pivot and applies every step to `rhs` (Gauss-Jordan: rhs
 * becomes A⁻¹·rhs). Returns the pivots and the sign of the row permutation, or null when singular.
 */
function eliminate(a: Float64Array, n: number, jordan: boolean, rhs?: Float64Array): { sign: number; pivots: number[] } | null {
  const m = Float64Array.from(a);
  const size = new Float64Array(n * n); // Σ |terms subtracted| from each entry
  const weight: number[] = [];
  let finite = true;
  for (let i = 0; i < n; i++) {
    const row = Array.from(a.subarray(i * n, i * n + n), Math.abs);
    if (row.some((v) => !Number.isFinite(v))) finite = false;
    const big = Math.max(...row);
    if (big === 0) return null;
    weight.push(2 ** Math.min(1023, -Math.floor(Math.log2(big))));
  }
  if (!finite) weight.fill(1);
  const tol = finite ? 32 * n * Number.EPSILON : 0;
  const swap = (x: Float64Array, p: number, c: number): void => {
    for (let k = 0; k < n; k++) [x[p * n + k], x[c * n + k]] = [x[c * n + k]!, x[p * n + k]!];
  };
  let sign = 1;
  const pivots: number[] = [];
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(m[r * n + c]!) * weight[r]! > Math.abs(m[p * n + c]!) * weight[p]!) p = r;
    const piv = m[p * n + c]!;
    if (piv === 0 || Math.abs(piv) <= tol * (Math.abs(piv) + size[p * n + c]!)) return null;
    if (p !== c) {
      for (const x of [m, size, ...(rhs ? [rhs] : [])]) swap(x, p, c);
      [weight[p], weight[c]] = [weight[c]!, weight[p]!];
      sign = -sign;
    }
    pivots.push(piv);
    if (jordan) {
      for (let k = 0; k < n; k++) {
        m[c * n + k]! /= piv;
        if (rhs) rhs[c * n + k]! /= piv;
      }
    }
    for (let r = jordan ? 0 : c + 1; r < n; r++) {
      if (r === c) continue;
      const f = jordan ? m[r * n + c]! : m[r * n + c]! / piv;
      if (f === 0) continue;
      for (let k = 0; k < n; k++) {
        const t = f * m[c * n + k]!;
        m[r * n + k]! -= t;
        size[r * n + k]! += Math.abs(t);
        if (rhs) rhs[r * n + k]! -= f * rhs[c * n + k]!;
      }
    }
  }
  return { sign, pivots };
}

/** A⁻¹ by Gauss-Jordan elimination; throws for a matrix singular to working precision. */
export function invert(a: Float64Array, n: number): Float64Array {
  const inv = new Float64Array(n * n);
  for (let i = 0; i < n; i++) inv[i * n + i] = 1;
  if (!eliminate(a, n, true, inv)) throw new SingularMatrixError();
  return inv;
}

/** x·2^k, in steps (k may lie beyond the exponent range of one double; an infinite k is one step). */
function times2(x: number, k: number): number {
  if (!Number.isFinite(k)) return x * 2 ** k;
  for (; k > 1000; k -= 1000) x *= 2 ** 1000;
  for (; k < -1000; k += 1000) x *= 2 ** -1000;
  return x * 2 ** k;
}

/** det(A); 0 for a matrix singular to working precision. The product is kept in range by powers of 2. */
export function determinant(a: Float64Array, n: number): number {
  const lu = eliminate(a, n, false);
  if (!lu) return 0;
  let d = lu.sign;
  let shift = 0;
  for (const p of lu.pivots) {
    d *= p;
    // A pivot that is ±∞ or NaN (a matrix with an infinite entry, A./eye) makes the determinant so;
    // one below the smallest double leaves nothing that powers of 2 could rescale.
    if (!Number.isFinite(d) || d === 0) return d;
    if (Math.abs(d) > 2 ** 100 || Math.abs(d) < 2 ** -100) {
      const k = Math.round(Math.log2(Math.abs(d)));
      d = times2(d, -k);
      shift += k;
    }
  }
  return times2(d, shift);
}

/** adj(A) by its definition: adj(A)_ij = (−1)^(i+j)·det(A without row j and column i). */
export function adjugate(a: Float64Array, n: number): Float64Array {
  const out = new Float64Array(n * n);
  const minor = new Float64Array((n - 1) * (n - 1));
  for (let i = 0; i < n; i++)
    for (let j = 0; j < n; j++) {
      let k = 0;
      for (let r = 0; r < n; r++) for (let c = 0; c < n; c++) if (r !== j && c !== i) minor[k++] = a[r * n + c]!;
      out[i * n + j] = ((i + j) % 2 === 0 ? 1 : -1) * determinant(minor, n - 1);
    }
  return out;
}

/**
 * adj2(A)^i_j^p_q = ∂adj(A)^i_j/∂A^p_q by its definition: 0 where p = j or q = i, else
 * (−1)^(i+j+p'+q')·det(A without rows j, p and columns i, q), where p' and q' are the places of
 * row p and column q in the minor of adj(A)_ij (the derivative of that minor's determinant by its
 * entry A_pq is its cofactor).
 */
export function adjugateDerivative(a: Float64Array, n: number): Float64Array {
  const out = new Float64Array(n ** 4);
  const minor = new Float64Array(Math.max(n - 2, 0) ** 2);
  for (let i = 0; i < n; i++)
    for (let j = 0; j < n; j++)
      for (let p = 0; p < n; p++)
        for (let q = 0; q < n; q++) {
          if (p === j || q === i) continue;
          let k = 0;
          for (let r = 0; r < n; r++) for (let c = 0; c < n; c++) if (r !== j && r !== p && c !== i && c !== q) minor[k++] = a[r * n + c]!;
          const places = i + j + (p > j ? p - 1 : p) + (q > i ? q - 1 : q);
          out[((i * n + j) * n + p) * n + q] = (places % 2 === 0 ? 1 : -1) * determinant(minor, n - 2);
        }
  return out;
}

/**
 * adj3(A) by its definition: ∂³det(A)/∂A^j_i ∂A^p_q ∂A^r_s, removing row j and column i (sign
 * (−1)^(j+i)), then row p and column q of what is left, then row r and column s, each at its place
 * in the matrix left, and the determinant of the rest. The rest depends only on the sets {j, p, r}
 * and {i, q, s}, so its determinant is taken once per pair of sets (C(n, 3)² of them) and written,
 * with each entry's own sign, at the 36 orders of the two sets.
 */
export function thirdCofactorsByMinors(a: Float64Array, n: number): Float64Array {
  const out = new Float64Array(n ** 6);
  if (n < 3) return out;
  const minor = new Float64Array((n - 3) ** 2);
  const rank = (x: number, removed: readonly number[]): number => x - removed.filter((y) => y < x).length;
  const triples: number[][] = [];
  for (let x = 0; x < n; x++) for (let y = x + 1; y < n; y++) for (let z = y + 1; z < n; z++) triples.push([x, y, z]);
  const orders = [[0, 1, 2], [0, 2, 1], [1, 0, 2], [1, 2, 0], [2, 0, 1], [2, 1, 0]];
  for (const rows of triples)
    for (const cols of triples) {
      let k = 0;
      for (let row = 0; row < n; row++) {
        if (rows.includes(row)) continue;
        for (let col = 0; col < n; col++) if (!cols.includes(col)) minor[k++] = a[row * n + col]!;
      }
      const det = determinant(minor, n - 3);
      for (const [x, y, z] of orders) {
        const [j, p, r] = [rows[x]!, rows[y]!, rows[z]!];
        for (const [u, v, w] of orders) {
          const [i, q, s] = [cols[u]!, cols[v]!, cols[w]!];
          const places = j + i + rank(p, [j]) + rank(q, [i]) + rank(r, [j, p]) + rank(s, [i, q]);
          out[((((i * n + j) * n + p) * n + q) * n + r) * n + s] = (places % 2 === 0 ? 1 : -1) * det;
        }
      }
    }
  return out;
}

/** log(det(A)) = Σ log|pivot|: NaN for a negative determinant; throws for a matrix singular to working precision. */
export function logDeterminant(a: Float64Array, n: number): number {
  const lu = eliminate(a, n, false);
  if (!lu) throw new SingularMatrixError('matrix is singular to working precision: its log-determinant is -∞');
  let sign = lu.sign;
  let log = 0;
  for (const p of lu.pivots) {
    if (p < 0) sign = -sign;
    log += Math.log(Math.abs(p));
  }
  return sign > 0 ? log : NaN;
}
