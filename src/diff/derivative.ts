/**
 * One order of differentiation on the tensor level: walks the DAG once (memoized, so shared
 * sub-expressions are differentiated once) and applies the rule of each node kind. The result is
 * in canonical form but not simplified; derivative() in src/index.ts simplifies after every order.
 */
import { type Dim, type Node, type NodeKind, type NodeOf, type Term, type VarNode, children, delta, freeVars, holdsZeroPole, makeAdd, makeMul, makePow, makeVar, mapChildren, ones, zeros } from '../ir/node.js';
import { DERIVATIVE_RULES, type DiffContext } from './rules.js';

export interface DifferentiateOptions {
  /** Keep the derivative of adj as the node adj2, defined at singular matrices (for the evaluators). */
  readonly singularSafe?: boolean;
  /** Keep the derivative of adj2 as the node adj3 (signed minors; the fallback at singular matrices). */
  readonly cofactors?: boolean;
  /** Differentiate by a symmetric variable as by a general one (see DiffContext.unsymmetrized). */
  readonly unsymmetrized?: boolean;
  /** Told whether the rule of adj ran (the printed and the singular-safe derivative then differ). */
  readonly onAdj?: () => void;
  /** Told whether the rule of adj2 ran (a third derivative of det, which adj3 can write). */
  readonly onAdj2?: () => void;
}

export function differentiate(root: Node, wrt: VarNode, opts: DifferentiateOptions = {}): Node {
  const memo = new Map<Node, Node>();
  const ctx: DiffContext = {
    wrt,
    singularSafe: opts.singularSafe === true,
    cofactors: opts.cofactors === true,
    unsymmetrized: opts.unsymmetrized === true,
    usedAdj: false,
    usedAdj2: false,
    through: (n) => throughDominator(n, ctx, opts),
    d(n: Node): Node {
      const hit = memo.get(n);
      if (hit) return hit;
      const r = freeVars(n).has(wrt.name)
        ? (DERIVATIVE_RULES[n.kind] as (n: NodeOf<NodeKind>, c: DiffContext) => Node)(n, ctx)
        : constantDerivative(n, wrt);
      memo.set(n, r);
      return r;
    },
  };
  const r = ctx.d(root);
  if (ctx.usedAdj) opts.onAdj?.();
  if (ctx.usedAdj2) opts.onAdj2?.();
  return r;
}

/** How far down a child's single path to the variable is followed (spine). */
const MAX_SPINE = 32;

/** The distinct children of n that depend on the variable. */
function reachingChildren(n: Node, wrt: VarNode): Node[] {
  return [...new Set(children(n))].filter((ch) => freeVars(ch).has(wrt.name));
}

/**
 * The nodes from n down while exactly one child depends on the variable (n first; the variable
 * itself is not one): every path from n to the variable passes through each of them.
 */
function spine(n: Node, wrt: VarNode): Node[] {
  const out: Node[] = [];
  for (let cur = n; cur !== wrt && out.length < MAX_SPINE; ) {
    out.push(cur);
    const below = reachingChildren(cur, wrt);
    if (below.length !== 1) break;
    cur = below[0]!;
  }
  return out;
}

/** n with every occurrence of `from` replaced by `to` (only nodes that hold `name`, the variable below from, are rebuilt). */
function substitute(n: Node, from: Node, to: Node, name: string): Node {
  const memo = new Map<Node, Node>();
  const visit = (m: Node): Node => {
    if (m === from) return to;
    if (!freeVars(m).has(name)) return m;
    let hit = memo.get(m);
    if (!hit) memo.set(m, (hit = mapChildren(m, visit)));
    return hit;
  };
  return visit(n);
}

/**
 * The chain rule through a node u that every path from n to the variable passes through, where
 * two or more of n's children reach it: ∂n = (∂n/∂u)·∂u. A residual layer t + a·tanh(A·t) (or
 * t.*sigmoid(A*t)) then has the Jacobian (I + a·diag(s)·A)·∂t, one path to the layer below,
 * where the rule of each child would give ∂t + a·diag(s)·A·∂t, two paths, and 2^k through k
 * layers. ∂n/∂u is n's derivative by a variable standing for u. Undefined where no such u is
 * found on the children's spines.
 */
function throughDominator(n: Node, ctx: DiffContext, opts: DifferentiateOptions): Node | undefined {
  const wrt = ctx.wrt;
  const reaching = reachingChildren(n, wrt);
  if (reaching.length < 2) return undefined;
  const spines = reaching.map((ch) => spine(ch, wrt));
  const u = spines[0]!.find((m) => spines.every((s) => s.includes(m)));
  if (!u) return undefined;
  const name = `#through${u.id}`;
  const stand = makeVar(name, u.shape);
  const local = differentiate(substitute(n, u, stand, wrt.name), stand, {
    ...opts,
    onAdj: () => (ctx.usedAdj = true),
    onAdj2: () => (ctx.usedAdj2 = true),
  });
  const partial = oneDiagonal(substitute(local, stand, u, name));
  const r = n.shape.length;
  const w = wrt.shape.length;
  const axes = Array.from({ length: u.shape.length }, (_, i) => r + w + i);
  const outer = Array.from({ length: r }, (_, i) => i);
  const inner = Array.from({ length: w }, (_, i) => r + i);
  return makeMul(
    [
      { node: partial, labels: [...outer, ...axes] },
      { node: ctx.d(u), labels: [...axes, ...inner] },
    ],
    r + w,
  );
}

/**
 * A matrix that is a sum of diagonal matrices (the identity, diag(w)), as one diagonal: the local
 * Jacobian of t + sin(t) is I + diag(cos(t)), which as diag(1 + cos(t)) makes a chain of such
 * layers a product of diagonals (the entry-wise product of their weights), where the sum would be
 * distributed over its identity in every product of the chain (2^k terms). Anything else as it is.
 */
function oneDiagonal(m: Node): Node {
  if (m.kind !== 'add' || m.shape.length !== 2 || m.shape[0] !== m.shape[1]) return m;
  const d = m.shape[0]!;
  const weights: Term[] = [];
  for (const t of m.terms) {
    const w = diagonalWeight(t.node, d);
    if (!w) return m;
    weights.push({ coef: t.coef, node: w });
  }
  return makeMul([{ node: makeAdd(weights, [d]), labels: [0] }, { node: delta(d), labels: [0, 1] }], 2);
}

/** w where the matrix n is diag(w) (the identity: a vector of ones), or undefined. */
function diagonalWeight(n: Node, d: Dim): Node | undefined {
  if (n.kind === 'delta') return ones([d]);
  if (n.kind !== 'mul') return undefined;
  const deltas = n.factors.filter((f) => f.node.kind === 'delta');
  const [a, b] = deltas[0]?.labels ?? [];
  if (deltas.length !== 1 || a === b || (a !== 0 && a !== 1) || (b !== 0 && b !== 1)) return undefined;
  const rest = n.factors.filter((f) => f.node.kind !== 'delta');
  // Every other factor a scalar or on one output axis alone (either: on the diagonal they are one).
  if (!rest.every((f) => f.labels.every((l) => l === 0 || l === 1) && new Set(f.labels).size <= 1)) return undefined;
  const weight = rest.map((f) => ({ node: f.node, labels: f.labels.map(() => 0) }));
  // Scalars alone (c·I, the local Jacobian of t./norm2(t) holds I/norm2(t)): c times ones.
  if (!weight.some((f) => f.labels.length > 0)) weight.push({ node: ones([d]), labels: [0] });
  return makeMul(weight, 1);
}

/**
 * The derivative of a node that does not depend on the variable: zero, unless the node is
 * undefined everywhere (it holds a pole of an exact zero: 1/(x'*x - x'*x) is 0^-1, inv(A - A) is
 * inv(matrix(0))); then so is its derivative, 0·0^-1 (0/0), not 0.
 */
function constantDerivative(n: Node, wrt: VarNode): Node {
  const shape = [...n.shape, ...wrt.shape];
  if (!holdsZeroPole(n)) return zeros(shape);
  const pole = { node: makePow(zeros([]), -1), labels: [] };
  return makeMul([pole, { node: zeros(shape), labels: shape.map((_, i) => i) }], shape.length);
}
