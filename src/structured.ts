/**
 * Structured Hessians: the Hessian's symbolic form says how it is built from deltas, and a
 * structured result keeps that structure instead of forming the dense matrix.
 *
 * A Hessian with respect to X (rank r) has free labels i (0..r-1) and their partners i' (r..2r-1).
 * Each term of it is read by the deltas that tie a label to its partner (δ_{i i'}):
 *
 *   every label tied      diag       H = diag(d):             d has the shape of X
 *   (matrix X) i tied     kron       H = I ⊗ K  (δ_ik K_jl):   K is q×q when nothing else reads i
 *                         blockdiag  H = δ_ik B^i_jl:          a q×q block per row i of X
 *   (matrix X) j tied     kron       H = K ⊗ I  (K_ik δ_jl), or blockdiag δ_jl B^j_ik
 *   no label tied         dense      matvec by the closed-form contraction H:V (never formed)
 *
 * Several kinds in one sum give a 'sum' of those parts. So the Hessian of ‖T − UV'‖² by U is
 * 2·(I ⊗ V'V): at n = 1000, k = 10 the dense Hessian has 10⁸ entries, the structure 100; a
 * Newton step solves with the 10×10 factor. Hessians of element-wise sums are diagonal.
 *
 * Matrices act on vec(X), the row-major order of X's entries (the layout of the dense result).
 */
import { type Dim, type Factor, type Node, type VarNode, makeAdd, makeMul, makeVar, ones } from './ir/node.js';
import { carryStaged, compileNodes, type Evaluator } from './compile/compile.js';
import { bindSizes } from './compile/reference.js';
import { gemm, luFactor, luSolve, SingularMatrixError } from './compile/kernels/index.js';
import { freshName, matrixNamesOf, sizeNamesOf, sizeRootsOf, type Result } from './derive.js';
import type { Tensor } from './tensor.js';
import { inputError, typeError } from './errors.js';

export type StructuredKind = 'diag' | 'kron' | 'blockdiag' | 'dense' | 'sum';

interface StructuredCommon {
  /** Shape of the dense Hessian: shape(X) ++ shape(X). */
  readonly shape: readonly number[];
  /** Entries of X: the Hessian acts on vec(X) as a size×size matrix. */
  readonly size: number;
  /** H·v for v of X's size (a new buffer, or out). */
  matvec(v: Float64Array, out?: Float64Array): Float64Array;
  /** The dense Hessian, in the layout of the compiled dense result (a new buffer, or out). */
  toDense(out?: Float64Array): Tensor;
}

/** H = diag(d). */
export interface DiagHessian extends StructuredCommon {
  readonly kind: 'diag';
  /** The diagonal: `size` entries, in X's layout. */
  readonly diagonal: Float64Array;
  /** x with H·x = b: b ./ d (SingularMatrixError for a zero on the diagonal). */
  solve(b: Float64Array, out?: Float64Array): Float64Array;
}

/** H = I_p ⊗ K (identity 'left': δ_ik K_jl) or K ⊗ I_q (identity 'right': K_ik δ_jl), X p×q. */
export interface KronHessian extends StructuredCommon {
  readonly kind: 'kron';
  readonly identity: 'left' | 'right';
  /** Size of the identity factor (p for 'left', q for 'right'). */
  readonly identitySize: number;
  /** The other factor K (q×q for 'left', p×p for 'right'). */
  readonly factor: Tensor;
  /** x with H·x = b, by one LU factorisation of K (SingularMatrixError when K is singular). */
  solve(b: Float64Array, out?: Float64Array): Float64Array;
}

/** A block per row (axis 0: δ_ik B^i_jl, blocks q×q) or per column (axis 1: δ_jl B^j_ik, blocks p×p) of X. */
export interface BlockDiagHessian extends StructuredCommon {
  readonly kind: 'blockdiag';
  readonly axis: 0 | 1;
  /** The blocks: blocks.shape = [count, b, b]. */
  readonly blocks: Tensor;
  /** x with H·x = b, block by block (SingularMatrixError when a block is singular). */
  solve(b: Float64Array, out?: Float64Array): Float64Array;
}

/** No delta structure: matvec evaluates the closed-form contraction H:V; the matrix is formed only by toDense. */
export interface DenseHessian extends StructuredCommon {
  readonly kind: 'dense';
}

export type StructuredPart = DiagHessian | KronHessian | BlockDiagHessian | DenseHessian;

/** A sum of parts of different kinds. */
export interface SumHessian extends StructuredCommon {
  readonly kind: 'sum';
  readonly parts: readonly StructuredPart[];
}

export type StructuredHessian = StructuredPart | SumHessian;

// ---------------------------------------------------------------------------------------------
// The symbolic decomposition

interface Decomposition {
  /** Rank r of X and its size symbols. */
  readonly wrtShape: readonly Dim[];
  diag: Node[];
  kronLeft: Node[];
  kronRight: Node[];
  blocks0: Node[];
  blocks1: Node[];
  dense: Node[];
}

type PartName = 'diag' | 'kronLeft' | 'kronRight' | 'blocks0' | 'blocks1' | 'dense';

/** How one term c·(Π factors) of the Hessian reads: which part, and the node of that part's data. */
function classifyTerm(coef: number, node: Node, r: number, shape: readonly Dim[]): { part: PartName; node: Node } {
  const dense = { part: 'dense' as const, node: scaleNode(coef, node) };
  if (r === 0) return { part: 'diag', node: scaleNode(coef, node) };
  if (node.kind === 'delta') return r === 1 ? { part: 'diag', node: scaleNode(coef, ones([shape[0]!])) } : dense;
  if (node.kind !== 'mul') return dense;
  const tied = new Set<number>();
  const rest: Factor[] = [];
  for (const f of node.factors) {
    const [a, b] = f.labels;
    if (f.node.kind === 'delta' && a !== undefined && b !== undefined && Math.abs(a - b) === r && Math.min(a, b) < r && !tied.has(Math.min(a, b))) {
      tied.add(Math.min(a, b));
      continue;
    }
    rest.push(f);
  }
  const reads = (l: number): boolean => rest.some((f) => f.labels.includes(l));
  // The part's data: rest with labels renamed (free labels first), ones for labels nothing reads.
  const data = (rename: ReadonlyMap<number, number>, rank: number, dims: readonly Dim[]): Node => {
    const fs: Factor[] = rest.map((f) => ({ node: f.node, labels: f.labels.map((l) => rename.get(l) ?? l) }));
    for (let l = 0; l < rank; l++) if (!fs.some((f) => f.labels.includes(l))) fs.push({ node: ones([dims[l]!]), labels: [l] });
    return scaleNode(coef, makeMul(fs, rank));
  };
  if (tied.size === r) {
    const rename = new Map<number, number>();
    for (let p = 0; p < r; p++) rename.set(p + r, p);
    return { part: 'diag', node: data(rename, r, shape.slice(0, r)) };
  }
  if (r !== 2 || tied.size !== 1) return dense;
  const [i, j] = tied.has(0) ? [0, 1] : [1, 0];
  // i is tied to i' (δ_{i i'}); j and j' are the labels of the factor.
  if (!reads(i) && !reads(i + 2)) {
    const rename = new Map([
      [j, 0],
      [j + 2, 1],
    ]);
    return { part: i === 0 ? 'kronLeft' : 'kronRight', node: data(rename, 2, [shape[j]!, shape[j]!]) };
  }
  const rename = new Map([
    [i, 0],
    [i + 2, 0],
    [j, 1],
    [j + 2, 2],
  ]);
  return { part: i === 0 ? 'blocks0' : 'blocks1', node: data(rename, 3, [shape[i]!, shape[j]!, shape[j]!]) };
}

function scaleNode(c: number, n: Node): Node {
  return c === 1 ? n : makeAdd([{ coef: c, node: n }], n.shape);
}

function decompose(h: Node, wrtShape: readonly Dim[]): Decomposition {
  const r = wrtShape.length;
  const d: Decomposition = { wrtShape, diag: [], kronLeft: [], kronRight: [], blocks0: [], blocks1: [], dense: [] };
  const terms = h.kind === 'add' ? h.terms : h.kind === 'const' && h.value === 0 ? [] : [{ coef: 1, node: h }];
  for (const t of terms) {
    const { part, node } = classifyTerm(t.coef, t.node, r, h.shape);
    d[part].push(node);
  }
  return d;
}

const sum = (nodes: readonly Node[]): Node => makeAdd(nodes.map((node) => ({ coef: 1, node })), nodes[0]!.shape);

function kindOf(d: Decomposition): StructuredKind {
  const present = (['diag', 'kronLeft', 'kronRight', 'blocks0', 'blocks1', 'dense'] as const).filter((p) => d[p].length > 0);
  if (present.length === 0) return 'diag'; // the zero Hessian
  if (present.length > 1) return 'sum';
  const p = present[0]!;
  return p === 'kronLeft' || p === 'kronRight' ? 'kron' : p === 'blocks0' || p === 'blocks1' ? 'blockdiag' : p;
}

// ---------------------------------------------------------------------------------------------
// Compiling

/** A compiled structured Hessian: values → the structured result; `kind` is known before any call. */
export type StructuredFunction = ((values: ReadonlyMap<string, Tensor>) => StructuredHessian) & { readonly kind: StructuredKind };

export function compileStructured(r: Result, vars: readonly VarNode[]): StructuredFunction {
  const rootRank = r.analysis.lowered.root.shape.length;
  if (r.order !== 2 || rootRank !== 0) throw typeError('a structured result needs a Hessian (the second derivative of a scalar expression)');
  const wrtShape = r.wrtNode.shape;
  const rank = wrtShape.length;
  // The evaluators' form: a Hessian of det is adj2(A), defined at singular A too (the printed
  // form writes it with A⁻¹); elsewhere the same node.
  const node = r.evalNode;
  const d = decompose(node, wrtShape);
  const kind = kindOf(d);
  const sizeNames = sizeNamesOf(r);
  const matrixName = matrixNamesOf(r);
  // The expression binds sizes the parts may have lost (see CompileInput.sizeRoots).
  const sizeRoots = sizeRootsOf(r);
  // The factors of the structured parts, evaluated together (common sub-expressions once).
  const parts = (['diag', 'kronLeft', 'kronRight', 'blocks0', 'blocks1'] as const).filter((p) => d[p].length > 0);
  const factorNodes = parts.map((p) => sum(d[p]));
  // A kron factor that is a sum of products of the variables (δ's and constants aside) can stay
  // implicit: its matvec contracts each term with the direction on its own (the planner
  // distributes the product over the sum), so the factor itself is formed only if asked for
  // (factor, solve, toDense). Where it is larger than X (MDS: an n×n factor for an n×2 X) this
  // is what the evaluation saves: forming it took several passes over n² entries (18 ms at
  // n = 1000), a matvec reads the variables once (D·V). A small factor (MF: V'V, k×k) is formed.
  const mayStayImplicit = parts.map((p, k) => (p === 'kronLeft' || p === 'kronRight') && contractsCheaply(factorNodes[k]!));
  const evaluators = new Map<string, Evaluator | null>();
  /** The evaluator of the factors formed at evaluation (those not implicit), compiled once per choice. */
  const factorsOf = (implicit: readonly boolean[]): Evaluator | null => {
    const key = implicit.map((b) => (b ? 1 : 0)).join('');
    if (!evaluators.has(key)) {
      const roots = factorNodes.filter((_, k) => !implicit[k]);
      evaluators.set(key, roots.length > 0 ? compileNodes({ roots, vars, sizeRoots, sizeNames, matrixName }) : null);
    }
    return evaluators.get(key)!;
  };
  const denseNode = d.dense.length > 0 ? sum(d.dense) : null;
  const lazy = <T>(make: () => T): (() => T) => {
    let v: T | undefined;
    return () => (v ??= make());
  };
  const dir = makeVar(freshName(rank, new Set(vars.map((v) => v.name)), rank === 2 ? 'V' : 'v'), wrtShape);
  /** y = Σ_t c_t (term_t : V): each term contracted with the direction on its own (no sum of terms formed). */
  const matvecOf = (terms: readonly { coef: number; node: Node }[], contract: (node: Node) => Node): Evaluator => {
    const hv = makeAdd(
      terms.map((t) => ({ coef: t.coef, node: contract(t.node) })),
      wrtShape,
    );
    // The structured evaluation has checked the values; a matvec only adds the direction.
    return compileNodes({ roots: [hv], vars: [...vars, dir], sizeRoots, sizeNames, matrixName, recheckSymmetry: false });
  };
  const termsOf = (n: Node): readonly { coef: number; node: Node }[] => (n.kind === 'add' ? n.terms : [{ coef: 1, node: n }]);
  const range = (from: number) => Array.from({ length: rank }, (_, i) => from + i);
  // The dense part's matvec: H:V with the planner ordering each product's pairs, compiled on first use.
  const denseMatvec = lazy(() =>
    matvecOf(
      d.dense.flatMap(termsOf),
      (node) => makeMul([{ node, labels: [...range(0), ...range(rank)] }, { node: dir, labels: range(rank) }], rank),
    ),
  );
  // An implicit kron part's matvec: K·V ('right', K_ik V_kj) or V·K' ('left', V_il K_jl).
  const kronMatvec = parts.map((p, k) =>
    mayStayImplicit[k]
      ? lazy(() =>
          matvecOf(termsOf(factorNodes[k]!), (node) =>
            p === 'kronRight'
              ? makeMul([{ node, labels: [0, 2] }, { node: dir, labels: [2, 1] }], 2)
              : makeMul([{ node: dir, labels: [0, 2] }, { node, labels: [1, 2] }], 2),
          ),
        )
      : null,
  );
  const factorAlone = parts.map((_, k) => (mayStayImplicit[k] ? lazy(() => compileNodes({ roots: [factorNodes[k]!], vars, sizeRoots, sizeNames, matrixName, recheckSymmetry: false })) : null));
  const denseForm = lazy(() => compileNodes({ roots: [denseNode!], vars, sizeRoots, sizeNames, matrixName }));
  const whole = lazy(() => compileNodes({ roots: [node], vars, sizeRoots, sizeNames, matrixName }));
  const withDirection = (values: ReadonlyMap<string, Tensor>, xShape: readonly number[], v: Float64Array): ReadonlyMap<string, Tensor> =>
    new Map(values).set(dir.name, { shape: xShape, data: v });

  const fn = (values: ReadonlyMap<string, Tensor>): StructuredHessian => {
    const xShape = values.get(r.wrt)?.shape;
    if (!xShape) throw inputError(`no value given for ${r.wrt}`);
    // Implicit where the factor would be larger than X (the identity's side is the smaller one).
    const implicit = parts.map((p, k) => mayStayImplicit[k]! && (p === 'kronRight' ? xShape[0]! > xShape[1]! : xShape[1]! > xShape[0]!));
    const factors = factorsOf(implicit);
    // Sizes and declared symmetry are checked here, at the point, not at the first matvec.
    const computed = factors ? factors(values) : (bindSizes([...vars, ...sizeRoots, node], values, sizeNames), []);
    // What this evaluation left in the kernels' memory (the symmetric check's copy of MDS's D): a
    // matvec over the same arrays reads it there while no other kernel has used the memory.
    const staged = factors ? carryStaged() : null;
    const shape = [...xShape, ...xShape];
    const size = xShape.reduce((a, b) => a * b, 1);
    const common = { shape, size };
    let next = 0;
    const built: StructuredPart[] = parts.map((p, k) => {
      if (!implicit[k]) return structuredPart(p, computed[next++]!, xShape, common);
      const [rows, cols] = xShape as [number, number];
      const matvec = (v: Float64Array, out: Float64Array | undefined): Float64Array => kronMatvec[k]!()(withDirection(values, xShape, v), [out], staged)[0]!.data;
      return kronPart(p === 'kronLeft' ? 'left' : 'right', lazy(() => factorAlone[k]!()(values, undefined, staged)[0]!), rows, cols, common, matvec);
    });
    if (denseNode) {
      built.push({
        kind: 'dense',
        ...common,
        matvec(v, out) {
          checkVector(v, size, 'matvec: v');
          return denseMatvec()(withDirection(values, xShape, v), [checkOut(out, size)], staged)[0]!.data;
        },
        toDense(out) {
          return denseForm()(values, [checkOut(out, size * size)], staged)[0]!;
        },
      });
    }
    if (built.length === 1) return built[0]!;
    if (built.length === 0) return diagPart(new Float64Array(size), common); // the zero Hessian
    return sumOf(built, common, () => whole()(values, undefined, staged));
  };
  return Object.assign(fn, { kind });
}

/**
 * Whether H:V can be computed term by term from the variables, never forming the node: a
 * variable, a product of variables, deltas and constants, or a sum of those (as plan.ts's
 * distributedSums asks of a sum a product distributes over).
 */
function contractsCheaply(n: Node): boolean {
  const leaf = (t: Node): boolean => t.kind === 'var' || t.kind === 'delta' || t.kind === 'const';
  const product = (t: Node): boolean => leaf(t) || (t.kind === 'mul' && t.factors.every((f) => leaf(f.node)));
  return n.kind === 'add' ? n.terms.every((t) => product(t.node)) : product(n);
}

interface Common {
  readonly shape: readonly number[];
  readonly size: number;
}

function structuredPart(p: Exclude<PartName, 'dense'>, t: Tensor, xShape: readonly number[], common: Common): StructuredPart {
  if (p === 'diag') return diagPart(t.data, common);
  const [rows, cols] = xShape as [number, number];
  if (p === 'kronLeft' || p === 'kronRight') return kronPart(p === 'kronLeft' ? 'left' : 'right', t, rows, cols, common);
  return blockPart(p === 'blocks0' ? 0 : 1, t, rows, cols, common);
}

function checkVector(v: Float64Array, size: number, what: string): void {
  if (!(v instanceof Float64Array)) throw inputError(`${what}: expected a Float64Array`);
  if (v.length !== size) throw inputError(`${what}: the Hessian acts on ${size} entries, but the vector has ${v.length}`);
}

function checkOut(out: Float64Array | undefined, size: number): Float64Array | undefined {
  if (out !== undefined) checkVector(out, size, 'out');
  return out;
}

function diagPart(diagonal: Float64Array, common: Common): DiagHessian {
  const n = common.size;
  return {
    kind: 'diag',
    ...common,
    diagonal,
    matvec(v, out) {
      checkVector(v, n, 'matvec: v');
      const y = checkOut(out, n) ?? new Float64Array(n);
      for (let i = 0; i < n; i++) y[i] = diagonal[i]! * v[i]!;
      return y;
    },
    solve(b, out) {
      checkVector(b, n, 'solve: b');
      for (let i = 0; i < n; i++) if (diagonal[i] === 0) throw new SingularMatrixError('the diagonal Hessian has a zero on its diagonal');
      const y = checkOut(out, n) ?? new Float64Array(n);
      for (let i = 0; i < n; i++) y[i] = b[i]! / diagonal[i]!;
      return y;
    },
    toDense(out) {
      const data = checkOut(out, n * n) ?? new Float64Array(n * n);
      if (out) data.fill(0);
      for (let i = 0; i < n; i++) data[i * n + i] = diagonal[i]!;
      return { shape: common.shape, data };
    },
  };
}

/** LU factors of `count` b×b blocks stored one after the other (a copy; the blocks stay as they are). */
function factorBlocks(count: number, b: number, blocks: Float64Array): { lu: Float64Array; piv: Int32Array } {
  const lu = Float64Array.from(blocks);
  const piv = new Int32Array(count * b);
  for (let t = 0; t < count; t++) luFactor(b, lu, t * b * b, b, piv.subarray(t * b, (t + 1) * b));
  return { lu, piv };
}

/**
 * factor: K, or a function that forms it on first use (an implicit factor, whose matvec is then
 * given: the closed-form contraction, see compileStructured).
 */
function kronPart(
  identity: 'left' | 'right',
  factor: Tensor | (() => Tensor),
  rows: number,
  cols: number,
  common: Common,
  contraction?: (v: Float64Array, out: Float64Array | undefined) => Float64Array,
): KronHessian {
  const n = common.size;
  const K = (): Float64Array => (typeof factor === 'function' ? factor() : factor).data;
  // 'left': H = I_rows ⊗ K (K cols×cols): (H·vec V) = vec(V Kᵀ). 'right': H = K ⊗ I_cols: vec(K V).
  const q = identity === 'left' ? cols : rows;
  let lu: { lu: Float64Array; piv: Int32Array } | undefined;
  return {
    kind: 'kron',
    ...common,
    identity,
    identitySize: identity === 'left' ? rows : cols,
    get factor(): Tensor {
      return typeof factor === 'function' ? factor() : factor;
    },
    matvec(v, out) {
      checkVector(v, n, 'matvec: v');
      if (contraction) return contraction(v, checkOut(out, n));
      const y = checkOut(out, n) ?? new Float64Array(n);
      if (identity === 'left') gemm(false, true, rows, cols, cols, 1, v, 0, cols, K(), 0, cols, 0, y, 0, cols);
      else gemm(false, false, rows, cols, rows, 1, K(), 0, rows, v, 0, cols, 0, y, 0, cols);
      return y;
    },
    solve(b, out) {
      checkVector(b, n, 'solve: b');
      lu ??= factorBlocks(1, q, K());
      const y = checkOut(out, n) ?? new Float64Array(n);
      y.set(b);
      if (identity === 'right') {
        // K X = B: the columns of B are the right-hand sides (B is rows×cols, row-major).
        luSolve(q, cols, lu.lu, 0, q, lu.piv, y, 0, cols);
      } else {
        // X Kᵀ = B: K x_i = b_i for each row i; solve with Bᵀ (cols×rows) as right-hand sides.
        const t = new Float64Array(n);
        for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) t[j * rows + i] = y[i * cols + j]!;
        luSolve(q, rows, lu.lu, 0, q, lu.piv, t, 0, rows);
        for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) y[i * cols + j] = t[j * rows + i]!;
      }
      return y;
    },
    toDense(out) {
      const data = checkOut(out, n * n) ?? new Float64Array(n * n);
      if (out) data.fill(0);
      const f = K();
      if (identity === 'left') {
        for (let i = 0; i < rows; i++)
          for (let j = 0; j < cols; j++) for (let l = 0; l < cols; l++) data[(i * cols + j) * n + i * cols + l] = f[j * cols + l]!;
      } else {
        for (let i = 0; i < rows; i++)
          for (let k = 0; k < rows; k++) for (let j = 0; j < cols; j++) data[(i * cols + j) * n + k * cols + j] = f[i * rows + k]!;
      }
      return { shape: common.shape, data };
    },
  };
}

function blockPart(axis: 0 | 1, blocks: Tensor, rows: number, cols: number, common: Common): BlockDiagHessian {
  const n = common.size;
  const B = blocks.data;
  // axis 0: block i (cols×cols) acts on row i of X; axis 1: block j (rows×rows) on column j.
  const count = axis === 0 ? rows : cols;
  const b = axis === 0 ? cols : rows;
  const at = (t: number, e: number): number => (axis === 0 ? t * cols + e : e * cols + t);
  let lu: { lu: Float64Array; piv: Int32Array } | undefined;
  return {
    kind: 'blockdiag',
    ...common,
    axis,
    blocks,
    matvec(v, out) {
      checkVector(v, n, 'matvec: v');
      const y = checkOut(out, n) ?? new Float64Array(n);
      for (let t = 0; t < count; t++)
        for (let e = 0; e < b; e++) {
          let s = 0;
          const row = (t * b + e) * b;
          for (let f = 0; f < b; f++) s += B[row + f]! * v[at(t, f)]!;
          y[at(t, e)] = s;
        }
      return y;
    },
    solve(rhs, out) {
      checkVector(rhs, n, 'solve: b');
      lu ??= factorBlocks(count, b, B);
      const y = checkOut(out, n) ?? new Float64Array(n);
      const x = new Float64Array(b);
      for (let t = 0; t < count; t++) {
        for (let e = 0; e < b; e++) x[e] = rhs[at(t, e)]!;
        luSolve(b, 1, lu.lu, t * b * b, b, lu.piv.subarray(t * b, (t + 1) * b), x, 0, 1);
        for (let e = 0; e < b; e++) y[at(t, e)] = x[e]!;
      }
      return y;
    },
    toDense(out) {
      const data = checkOut(out, n * n) ?? new Float64Array(n * n);
      if (out) data.fill(0);
      for (let t = 0; t < count; t++) for (let e = 0; e < b; e++) for (let f = 0; f < b; f++) data[at(t, e) * n + at(t, f)] = B[(t * b + e) * b + f]!;
      return { shape: common.shape, data };
    },
  };
}

function sumOf(parts: StructuredPart[], common: Common, dense: () => Tensor[]): SumHessian {
  const n = common.size;
  return {
    kind: 'sum',
    ...common,
    parts,
    matvec(v, out) {
      checkVector(v, n, 'matvec: v');
      const y = checkOut(out, n) ?? new Float64Array(n);
      parts[0]!.matvec(v, y);
      const t = new Float64Array(n);
      for (const p of parts.slice(1)) {
        p.matvec(v, t);
        for (let i = 0; i < n; i++) y[i] += t[i]!;
      }
      return y;
    },
    toDense(out) {
      const t = dense()[0]!;
      if (!out) return t;
      checkOut(out, n * n);
      out.set(t.data);
      return { shape: t.shape, data: out };
    },
  };
}

/** The structured kind of a Hessian, from its symbolic form alone. */
export function structuredKind(r: Result): StructuredKind {
  return kindOf(decompose(r.evalNode, r.wrtNode.shape));
}

