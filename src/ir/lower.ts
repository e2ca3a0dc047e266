/**
 * Typed AST → index IR. Shapes drop the size 1: a scalar has no axes, a vector or row vector one,
 * a matrix two. Row and column vectors are the same tensor; the matrix product decides from the
 * operand types which labels are contracted. Functions with a closed form in other primitives are
 * lowered to them (norm2(u) = (Σ u∘u)^½, tr(A) = A_ii, diag, sum), so the derivative rules see few kinds.
 */
import type { Ast } from '../syntax/ast.js';
import type { Checked } from '../syntax/check.js';
import { integerConstant } from '../syntax/check.js';
import { ONE, kindOf, type Type } from '../syntax/types.js';
import { isFnName, type ElementwiseFn, FUNCTIONS } from '../syntax/ops.js';
import {
  type Dim,
  type Node,
  delta,
  makeAdj,
  makeDet,
  makeElem,
  makeInv,
  makeLogdet,
  makeLogsumexp,
  makeSoftmax,
  makeMatPow,
  makeMerge,
  holdLayer,
  makeMul,
  makePow,
  makePowv,
  makeVar,
  minus,
  neg,
  ones,
  plus,
  scalar,
  transpose,
  zeros,
} from './node.js';
import { InternalError } from './node.js';

export interface Lowered {
  readonly root: Node;
  /** The IR variable of every name in the expression (and of extra declared names). */
  readonly vars: ReadonlyMap<string, Node & { kind: 'var' }>;
  /** The display name of each size symbol used in IR shapes. */
  readonly sizeNames: ReadonlyMap<Dim, string>;
  /**
   * The source text of each matrix argument of inv, det, logdet and negative matrix powers, so
   * that an error at evaluation time (a singular matrix) names the matrix as the user wrote it.
   */
  readonly matrixNames: ReadonlyMap<Node, string>;
  /**
   * A merge of zeros for every vec, kron and commutation of the expression: the products of sizes
   * they fix, for the evaluators to bind sizes from where the merges themselves have cancelled
   * (kron(y', B)./kron(y', B) is a tensor of ones whose columns number len(y)·rows(B)).
   */
  readonly sizeWitnesses: readonly Node[];
}

export function shapeOf(t: Type, c: Checked): Dim[] {
  const r = c.sizes.find(t.rows);
  const k = c.sizes.find(t.cols);
  const out: Dim[] = [];
  if (r !== ONE) out.push(r);
  if (k !== ONE) out.push(k);
  return out;
}

export function lower(c: Checked): Lowered {
  const vars = new Map<string, Node & { kind: 'var' }>();
  const sizeNames = new Map<Dim, string>();
  const matrixNames = new Map<Node, string>();
  const nameMatrix = (n: Node, a: Ast): void => {
    if (n.shape.length === 2 && !matrixNames.has(n)) matrixNames.set(n, c.text.slice(a.span.start, a.span.end).trim());
  };
  for (const v of c.vars.values()) {
    const shape = shapeOf(v.type, c);
    vars.set(v.name, makeVar(v.name, shape, v.symmetric));
  }
  const typeOf = (a: Ast): Type => {
    const t = c.types.get(a);
    if (!t) throw new InternalError('lower: untyped node');
    return t;
  };
  const kind = (a: Ast) => kindOf(typeOf(a), c.sizes);
  /** The temporaries of a where clause, by name. */
  const bound = new Map<string, Node>();

  const go = (a: Ast): Node => {
    const t = typeOf(a);
    for (const d of shapeOf(t, c)) if (!sizeNames.has(d)) sizeNames.set(d, c.sizeName(d));
    switch (a.kind) {
      case 'num':
        return scalar(a.value);
      case 'name':
        if (a.name === 'eye') return delta(shapeOf(t, c)[0]!);
        return bound.get(a.name) ?? vars.get(a.name)!;
      case 'neg':
        return neg(go(a.arg));
      case 'transpose':
        return transpose(go(a.arg));
      case 'binary':
        return binary(a);
      case 'call':
        return call(a);
      case 'where':
        for (const b of a.bindings) bound.set(b.name, holdLayer(go(b.value)));
        return go(a.body);
    }
  };

  const sizeWitnesses: Node[] = [];
  /** makeMerge, with the products of sizes it fixes kept as a witness. */
  const merged = (arg: Node, groups: readonly number[], shape: readonly Dim[]): Node => {
    if (groups.some((g) => g > 1)) sizeWitnesses.push(makeMerge(zeros(arg.shape), groups, shape));
    return makeMerge(arg, groups, shape);
  };

  /**
   * kron(A, B)[(iB, iA), (jB, jA)] = A[iA, jA] B[iB, jB]: the outer product with B's axes varying
   * fastest, merged column-major. Axes of size 1 (vectors, rows) are not axes in the IR.
   */
  const kron = (a: Ast & { kind: 'call' }, t: Type): Node => {
    const [x, y] = a.args as [Ast, Ast];
    const [l, r] = [go(x), go(y)];
    const [tl, tr] = [typeOf(x), typeOf(y)];
    const has = (d: Dim): boolean => c.sizes.find(d) !== ONE;
    const lLabels: number[] = [];
    const rLabels: number[] = [];
    const groups: number[] = [];
    let next = 0;
    for (const side of ['rows', 'cols'] as const) {
      const inR = has(tr[side]);
      const inL = has(tl[side]);
      if (inR) rLabels.push(next++);
      if (inL) lLabels.push(next++);
      if (inR || inL) groups.push(Number(inR) + Number(inL));
    }
    const product = makeMul(
      [
        { node: l, labels: lLabels },
        { node: r, labels: rLabels },
      ],
      next,
    );
    return merged(product, groups, shapeOf(t, c));
  };

  /** The size that rows(X), cols(X), len(x) or, as a size argument, a product or quotient of those stands for. */
  const sizeDim = (a: Ast): Dim => {
    const d = c.sizeArgs.get(a);
    if (d !== undefined) return c.sizes.find(d);
    if (a.kind !== 'call') throw new InternalError('lower: a size is a call');
    const t = typeOf(a.args[0]!);
    return c.sizes.find(a.fn === 'cols' ? t.cols : t.rows === ONE && a.fn === 'len' ? t.cols : t.rows);
  };

  /**
   * commutation(m, n)[(b, a), (a', b')] = δ(a, a')·δ(b, b') with a, a' < m and b, b' < n, merged
   * column-major like vec: it takes vec(A) of an m×n A to vec(A').
   */
  const commutation = (a: Ast & { kind: 'call' }, t: Type): Node => {
    const [m, n] = a.args.map(sizeDim) as [Dim, Dim];
    if (m === ONE || n === ONE) return m === n ? scalar(1) : delta(m === ONE ? n : m);
    const product = makeMul(
      [
        { node: delta(n), labels: [0, 3] },
        { node: delta(m), labels: [1, 2] },
      ],
      4,
    );
    return merged(product, [2, 2], shapeOf(t, c));
  };

  const binary = (a: Ast & { kind: 'binary' }): Node => {
    const l = go(a.left);
    const r = go(a.right);
    const lk = kind(a.left);
    const rk = kind(a.right);
    switch (a.op) {
      case '+':
        return plus(l, r);
      case '-':
        return minus(l, r);
      case '*':
        if (lk === 'scalar' || rk === 'scalar') return scaleBy(l, r);
        return matmul(l, lk, r, rk);
      case '.*':
        return hadamard(l, r);
      case '/':
        return scaleBy(l, makePow(r, -1));
      case './':
        return hadamard(l, makePow(r, -1));
      case '^': {
        if (lk === 'scalar') {
          const k = constantOf(r);
          return k === undefined ? makePowv(l, r) : makePow(l, k);
        }
        const k = integerConstant(a.right)!;
        if (k < 0) nameMatrix(l, a.left);
        return matrixPower(l, k);
      }
      case '.^': {
        const k = constantOf(r);
        if (k !== undefined) return makePow(l, k);
        const shape = lk === 'scalar' ? r.shape : l.shape;
        return makePowv(broadcast(l, shape), broadcast(r, shape));
      }
    }
  };

  const call = (a: Ast & { kind: 'call' }): Node => {
    if (!isFnName(a.fn)) throw new InternalError(`lower: unknown function ${a.fn}`);
    if (a.fn === 'dpow') return makeMatPow(go(a.args[0]!), integerConstant(a.args[1]!)!, a.args.slice(2).map(go));
    const arg = a.args[0]!;
    const x = go(arg);
    const t = typeOf(a);
    if (FUNCTIONS[a.fn].elementwise) return makeElem(a.fn as ElementwiseFn, x);
    const all = x.shape.map((_, i) => i + 1);
    if (a.fn === 'inv' || a.fn === 'det' || a.fn === 'logdet') nameMatrix(x, arg);
    const argType = typeOf(arg);
    switch (a.fn) {
      case 'kron':
        return kron(a, t);
      case 'eye': {
        // eye(k): the identity of a size given by rows(X), cols(X) or len(x).
        const [d] = shapeOf(t, c);
        return d === undefined ? scalar(1) : delta(d);
      }
      case 'commutation':
        return commutation(a, t);
      case 'vec':
        // Columns stacked: vec(X)[i + m·j] = X[i, j]; a vector (or row) is its own vec.
        return x.shape.length === 2 ? merged(x, [2], shapeOf(t, c)) : x;
      case 'rows':
      case 'cols':
      case 'len': {
        // A size as Σ over an axis of ones, which the printers show as rows(X), cols(X) or len(x).
        const d = sizeDim(a);
        return d === ONE ? scalar(1) : makeMul([{ node: ones([d]), labels: [0] }], 0);
      }
      case 'sum':
        return makeMul([{ node: x, labels: all }], 0);
      case 'norm1':
        return makeMul([{ node: makeElem('abs', x), labels: all }], 0);
      case 'norm2':
        // sqrt of the sum of squares; (·)^2 of it folds back to the sum of squares.
        return makePow(makeMul([{ node: x, labels: all }, { node: x, labels: all }], 0), 0.5);
      case 'tr':
        return x.shape.length === 0 ? x : makeMul([{ node: x, labels: [1, 1] }], 0);
      case 'det':
        return makeDet(x);
      case 'logdet':
        return makeLogdet(x);
      case 'logsumexp':
        return makeLogsumexp(x);
      case 'softmax':
        return makeSoftmax(x);
      case 'inv':
        return makeInv(x);
      case 'adj':
        return makeAdj(x);
      case 'diag':
        if (x.shape.length === 0) return x;
        if (x.shape.length === 1) return makeMul([{ node: x, labels: [0] }, { node: delta(x.shape[0]!), labels: [0, 1] }], 2);
        return makeMul([{ node: x, labels: [0, 0] }], 1);
      case 'vector':
      case 'matrix': {
        const shape = shapeOf(t, c);
        return makeMul([{ node: x, labels: [] }, { node: ones(shape), labels: shape.map((_, i) => i) }], shape.length);
      }
    }
    throw new InternalError(`lower: no rule for ${a.fn}`);
  };

  const root = go(c.ast);
  // A size argument that is a product or quotient (commutation(rows(S), rows(X)*len(z)),
  // vector(1, len(x)/len(y))): a witness of it, from which the evaluators bind or check the size.
  for (const { total, parts, written, stands } of c.sizeProducts) {
    const shape = parts.map((p) => c.sizes.find(p));
    sizeWitnesses.push(makeMerge(zeros(shape), [shape.length], [c.sizes.find(total)]));
    // The size a product or quotient stands for is named as written (in messages).
    sizeNames.set(c.sizes.find(stands), written);
  }
  // A variable's size keeps its own name (len(x) = len(y)*len(z)/len(x) would say nothing).
  for (const v of vars.values()) for (const d of v.shape) sizeNames.set(d, c.sizeName(d));
  return { root, vars, sizeNames, matrixNames, sizeWitnesses };
}

function constantOf(n: Node): number | undefined {
  if (n.shape.length !== 0) return undefined;
  if (n.kind === 'const') return n.value;
  if (n.kind === 'add' && n.terms.length === 1 && n.terms[0]!.node.kind === 'const') return n.terms[0]!.coef * (n.terms[0]!.node as { value: number }).value;
  return undefined;
}

function identity(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}

/** s·T for a scalar s (either side may be the scalar). */
function scaleBy(l: Node, r: Node): Node {
  const [s, tns] = l.shape.length === 0 ? [l, r] : [r, l];
  return makeMul([{ node: s, labels: [] }, { node: tns, labels: identity(tns.shape.length) }], tns.shape.length);
}

function hadamard(l: Node, r: Node): Node {
  if (l.shape.length === 0 || r.shape.length === 0) return scaleBy(l, r);
  const ids = identity(l.shape.length);
  return makeMul([{ node: l, labels: ids }, { node: r, labels: ids }], ids.length);
}

function broadcast(n: Node, shape: readonly Dim[]): Node {
  if (n.shape.length === shape.length) return n;
  return makeMul([{ node: n, labels: [] }, { node: ones(shape), labels: identity(shape.length) }], shape.length);
}

/** The matrix product for non-scalar operands, by operand kind. */
function matmul(l: Node, lk: string, r: Node, rk: string): Node {
  if (lk === 'matrix' && rk === 'matrix') return makeMul([{ node: l, labels: [0, 2] }, { node: r, labels: [2, 1] }], 2);
  if (lk === 'matrix' && rk === 'vector') return makeMul([{ node: l, labels: [0, 1] }, { node: r, labels: [1] }], 1);
  if (lk === 'row vector' && rk === 'matrix') return makeMul([{ node: l, labels: [1] }, { node: r, labels: [1, 0] }], 1);
  if (lk === 'row vector' && rk === 'vector') return makeMul([{ node: l, labels: [0] }, { node: r, labels: [0] }], 0);
  if (lk === 'vector' && rk === 'row vector') return makeMul([{ node: l, labels: [0] }, { node: r, labels: [1] }], 2);
  throw new InternalError(`lower: product of ${lk} and ${rk}`);
}

/** A^k for an integer k, kept as a power (A^-k is the power of the inverse). */
function matrixPower(a: Node, k: number): Node {
  return makeMatPow(a, k);
}
