/**
 * Derivative rules, one per node kind (a kind without a rule does not compile), and the table of
 * derivatives of the element-wise functions.
 *
 * Convention: the derivative of a node T with respect to X has T's axes followed by X's axes:
 *   ∂T[i…]/∂X[k…] — so ∂X^i_j/∂X^k_l = δ^i_k δ_j^l, and a gradient has the shape of its variable.
 */
import {
  type ElemFn,
  type Node,
  type NodeKind,
  type NodeOf,
  type VarNode,
  type Factor,
  delta,
  isZero,
  makeAdd,
  makeAdj,
  makeAdj2,
  makeAdj3,
  makeElem,
  InternalError,
  makeInv,
  makeSoftmax,
  makeMatPow,
  makeMerge,
  makeMul,
  makePow,
  makePowv,
  minus,
  neg,
  ones,
  plus,
  scale,
  scalar,
  zeros,
} from '../ir/node.js';

export interface DiffContext {
  /** The variable we differentiate by. */
  readonly wrt: VarNode;
  /** The derivative of a sub-node (memoized; zero for nodes that do not depend on wrt). */
  d(n: Node): Node;
  /**
   * The derivative of adj as adj2(A) (defined at singular A too, for the evaluators), rather than
   * written with A⁻¹ (for the printers). Set by differentiate's option of the same name.
   */
  readonly singularSafe: boolean;
  /**
   * The derivative of adj2 as adj3(A) (signed minors of order n − 3, defined everywhere) rather
   * than written with A⁻¹: the evaluators' fallback at singular matrices (see derive.ts).
   */
  readonly cofactors: boolean;
  /**
   * A symmetric variable differentiated as a general one (∂S_ij/∂S_kl = δ_ik·δ_jl): the derivative
   * of the expression as a function of any matrix, whose symmetrization over each order's pair of
   * axes is the derivative by the symmetric variable (the index printers write it so).
   */
  readonly unsymmetrized: boolean;
  /**
   * n's derivative by the chain rule through a node that all its children's paths to the variable
   * pass through, where two or more children reach it (undefined where there is none).
   */
  through(n: Node): Node | undefined;
  /** Set when the rule of adj ran: the two ways of writing its derivative then differ. */
  usedAdj: boolean;
  /** Set when the rule of adj2 ran: a third derivative of det, which adj3 writes without A⁻¹. */
  usedAdj2: boolean;
}

const range = (from: number, count: number): number[] => Array.from({ length: count }, (_, i) => from + i);

/** f'(u) for every element-wise function, as a node of u's shape; fu is f(u) itself. */
export const ELEM_DERIVATIVES: Readonly<Record<ElemFn, (u: Node, fu: Node) => Node>> = {
  // sin' = cos
  sin: (u) => makeElem('cos', u),
  // cos' = -sin
  cos: (u) => neg(makeElem('sin', u)),
  // tan' = 1 + tan²
  tan: (u, fu) => plus(ones(u.shape), makePow(fu, 2)),
  // arcsin' = (1 - u²)^(-1/2)
  arcsin: (u) => makePow(minus(ones(u.shape), makePow(u, 2)), -0.5),
  // arccos' = -(1 - u²)^(-1/2)
  arccos: (u) => neg(makePow(minus(ones(u.shape), makePow(u, 2)), -0.5)),
  // arctan' = (1 + u²)^(-1)
  arctan: (u) => makePow(plus(ones(u.shape), makePow(u, 2)), -1),
  // exp' = exp
  exp: (_u, fu) => fu,
  // log' = 1/u
  log: (u) => makePow(u, -1),
  // tanh' = 1 - tanh²
  tanh: (u, fu) => minus(ones(u.shape), makePow(fu, 2)),
  // abs' = sign (almost everywhere)
  abs: (u) => makeElem('sign', u),
  // sign' = 0 (almost everywhere)
  sign: (u) => zeros(u.shape),
  // relu' = step(u) = sign(relu(u)) (almost everywhere)
  relu: (_u, fu) => makeElem('sign', fu),
  // sigmoid' = σ(1 - σ)
  sigmoid: (u, fu) => hadamard(fu, minus(ones(u.shape), fu)),
  // softplus' = sigmoid
  softplus: (u) => makeElem('sigmoid', u),
};

function hadamard(a: Node, b: Node): Node {
  const ids = range(0, a.shape.length);
  return makeMul([{ node: a, labels: ids }, { node: b, labels: ids }], ids.length);
}

/** The identity ∂X/∂X: δ for each axis; for a symmetric X the symmetrized ½(δδ + δδ), unless asked not to. */
function identityOf(x: VarNode, unsymmetrized: boolean): Node {
  const r = x.shape.length;
  if (r === 0) return scalar(1);
  const straight: Factor[] = x.shape.map((d, a) => ({ node: delta(d), labels: [a, r + a] }));
  const id = makeMul(straight, 2 * r);
  if (!x.symmetric || unsymmetrized) return id;
  const crossed = makeMul(
    [
      { node: delta(x.shape[0]!), labels: [0, 3] },
      { node: delta(x.shape[1]!), labels: [1, 2] },
    ],
    4,
  );
  return scale(0.5, plus(id, crossed));
}

type Rule<K extends NodeKind> = (n: NodeOf<K>, c: DiffContext) => Node;

/** Hadamard product of f'(node) with the derivative of its argument: f'(u)[L] · ∂u[L, W]. */
function chain(outer: Node, inner: Node, r: number, w: number): Node {
  const L = range(0, r);
  return makeMul(
    [
      { node: outer, labels: L },
      { node: inner, labels: [...L, ...range(r, w)] },
    ],
    r + w,
  );
}

export const DERIVATIVE_RULES: { readonly [K in NodeKind]: Rule<K> } = {
  var: (n, c) => (n === c.wrt ? identityOf(n, c.unsymmetrized) : zeros([...n.shape, ...c.wrt.shape])),
  const: (n, c) => zeros([...n.shape, ...c.wrt.shape]),
  delta: (n, c) => zeros([...n.shape, ...c.wrt.shape]),
  // ∂(Σ c_t T_t) = Σ c_t ∂T_t
  // A where clause's sum (a layer t + a·tanh(A·t)) by the chain rule through the node its terms
  // share, where there is one; so a where clause's product (t.*sigmoid(A*t)) below.
  add: (n, c) =>
    (n.held ? c.through(n) : undefined) ??
    makeAdd(
      n.terms.map((t) => ({ coef: t.coef, node: c.d(t.node) })),
      [...n.shape, ...c.wrt.shape],
    ),
  // Product rule: Σ_f (… ∂f …), the new axes appended to the output; summed labels move up.
  mul: (n, c) => {
    const through = n.held ? c.through(n) : undefined;
    if (through) return through;
    const r = n.shape.length;
    const w = c.wrt.shape.length;
    const W = range(r, w);
    const shift = (l: number): number => (l < r ? l : l + w);
    const terms = n.factors.map((f, i) => {
      const df = c.d(f.node);
      const factors: Factor[] = n.factors.map((g, j) =>
        j === i ? { node: df, labels: [...g.labels.map(shift), ...W] } : { node: g.node, labels: g.labels.map(shift) },
      );
      return { coef: 1, node: makeMul(factors, r + w) };
    });
    return makeAdd(terms, [...n.shape, ...c.wrt.shape]);
  },
  // Chain rule: f'(u) ∘ ∂u
  elem: (n, c) => chain(ELEM_DERIVATIVES[n.fn](n.arg, n), c.d(n.arg), n.shape.length, c.wrt.shape.length),
  // ∂(u^p) = p u^(p-1) ∘ ∂u
  pow: (n, c) => scale(n.exp, chain(makePow(n.base, n.exp - 1), c.d(n.base), n.shape.length, c.wrt.shape.length)),
  // ∂(u^v) = v u^(v-1) ∘ ∂u + u^v log(u) ∘ ∂v; where v varies (so u > 0 for log(u)), the same as
  // u^v ∘ (v/u ∘ ∂u + log(u) ∘ ∂v), which keeps u^v a factor of every higher derivative.
  powv: (n, c) => {
    // 0^v is 0 wherever v > 0 and undefined where v < 0, so its derivative is 0 wherever one exists
    // (the rule below would give 0^v·log(0) = 0·(−∞)).
    if (isZero(n.base)) return zeros([...n.shape, ...c.wrt.shape]);
    const r = n.shape.length;
    const w = c.wrt.shape.length;
    const dExp = c.d(n.exponent);
    if (isZero(dExp)) return chain(hadamard(n.exponent, makePowv(n.base, minus(n.exponent, ones(n.shape)))), c.d(n.base), r, w);
    const du = chain(hadamard(n.exponent, makePow(n.base, -1)), c.d(n.base), r, w);
    const dv = chain(makeElem('log', n.base), dExp, r, w);
    return chain(n, plus(du, dv), r, w);
  },
  // ∂(A⁻¹)^i_j = -(A⁻¹)^i_p ∂A^p_q (A⁻¹)^q_j
  inv: (n, c) => {
    const w = c.wrt.shape.length;
    const [p, q] = [2 + w, 3 + w];
    return neg(
      makeMul(
        [
          { node: n, labels: [0, p] },
          { node: c.d(n.arg), labels: [p, q, ...range(2, w)] },
          { node: n, labels: [q, 1] },
        ],
        2 + w,
      ),
    );
  },
  // ∂P(A,k;E_1..E_m) = Σ_i P(A,k;E_1..∂E_i..E_m) + P(A,k;E_1..E_m,∂A) (P sums over the orders of its
  // directions); for A^k with k ≤ 3 the explicit Σ_j A^j ∂A A^(k−1−j) (∂A*A + A*∂A reads better)
  // where A is one factor.
  mpow: (n, c) => matPowDerivative(n, c),
  // ∂det(A) = adj(A)ᵀ : ∂A = adj(A)^q_p ∂A^p_q — defined at singular A too (adj = det·A⁻¹ elsewhere)
  det: (n, c) => {
    const w = c.wrt.shape.length;
    return makeMul(
      [
        { node: makeAdj(n.arg), labels: [w + 1, w] },
        { node: c.d(n.arg), labels: [w, w + 1, ...range(0, w)] },
      ],
      w,
    );
  },
  // ∂vec(U) = vec(∂U): merging axes is linear; the new axes are appended unmerged.
  merge: (n, c) => makeMerge(c.d(n.arg), [...n.groups, ...c.wrt.shape.map(() => 1)], [...n.shape, ...c.wrt.shape]),
  // ∂adj(A) = adj2(A) : ∂A, i.e. ∂adj^i_j = adj2(A)^i_j^p_q ∂A^p_q, where adj2 is written
  //   adj2(A)^i_j^p_q = adj^i_j (A⁻¹)^q_p − adj^i_p (A⁻¹)^q_j
  // (from adj = det·A⁻¹; needs A invertible) for the printers, and kept as the node adj2 (defined
  // at every A) for the evaluators.
  adj: (n, c) => {
    c.usedAdj = true;
    const w = c.wrt.shape.length;
    const W = range(2, w);
    const [p, q] = [2 + w, 3 + w];
    const dA = c.d(n.arg);
    if (c.singularSafe) return makeMul([{ node: makeAdj2(n.arg), labels: [0, 1, p, q] }, { node: dA, labels: [p, q, ...W] }], 2 + w);
    const inv = makeInv(n.arg);
    const trace = makeMul(
      [
        { node: n, labels: [0, 1] },
        { node: inv, labels: [q, p] },
        { node: dA, labels: [p, q, ...W] },
      ],
      2 + w,
    );
    const sandwich = makeMul(
      [
        { node: n, labels: [0, p] },
        { node: dA, labels: [p, q, ...W] },
        { node: inv, labels: [q, 1] },
      ],
      2 + w,
    );
    return minus(trace, sandwich);
  },
  // ∂adj2(A) = adj3(A) : ∂A where the cofactors are asked for; else by the derivative of adj2's
  // form with A⁻¹ (a third derivative of det: it needs A invertible, and costs no n⁶ tensor).
  adj2: (n, c) => {
    c.usedAdj2 = true;
    if (!c.cofactors) return c.d(adjugateDerivativeWithInverse(n.arg));
    const w = c.wrt.shape.length;
    const [p, q] = [4 + w, 5 + w];
    return makeMul([{ node: makeAdj3(n.arg), labels: [0, 1, 2, 3, p, q] }, { node: c.d(n.arg), labels: [p, q, ...range(4, w)] }], 4 + w);
  },
  // ∂adj3(A) by the derivative of adj3's form with A⁻¹ (a fourth derivative of det).
  adj3: (n, c) => c.d(thirdCofactorsWithInverse(n.arg)),
  adjpart: () => {
    throw new InternalError('adjpart is built after differentiation, by the planner');
  },
  // ∂logdet(A) = (A⁻¹)^q_p ∂A^p_q
  logdet: (n, c) => {
    const w = c.wrt.shape.length;
    return makeMul(
      [
        { node: makeInv(n.arg), labels: [w + 1, w] },
        { node: c.d(n.arg), labels: [w, w + 1, ...range(0, w)] },
      ],
      w,
    );
  },
  // ∂logsumexp(u) = Σ_I softmax(u)_I ∂u_I, softmax(u) = exp(u − logsumexp(u)) (no overflow).
  logsumexp: (n, c) => {
    const w = c.wrt.shape.length;
    const r = n.arg.shape.length;
    return makeMul(
      [
        { node: makeSoftmax(n.arg), labels: range(w, r) },
        { node: c.d(n.arg), labels: [...range(w, r), ...range(0, w)] },
      ],
      w,
    );
  },
};

/**
 * adj3(A) = ∂adj2(A)/∂A for A invertible, from adj2 = adj^i_j B^q_p − adj^i_p B^q_j (B = A⁻¹),
 * ∂adj^i_j/∂A^r_s = adj^i_j B^s_r − adj^i_r B^s_j and ∂B^q_p/∂A^r_s = −B^q_r B^s_p:
 *   adj3^i_j^p_q^r_s = adj^i_j (B^s_r B^q_p − B^q_r B^s_p) − adj^i_r (B^s_j B^q_p − B^q_j B^s_p)
 *                      − adj^i_p (B^s_r B^q_j − B^q_r B^s_j).
 */
function thirdCofactorsWithInverse(a: Node): Node {
  const adj = makeAdj(a);
  const inv = makeInv(a);
  // adj^i_x (B^s_y B^q_z − B^q_y B^s_z) with labels i=0, j=1, p=2, q=3, r=4, s=5.
  const term = (x: number, y: number, z: number): Node =>
    minus(
      makeMul(
        [
          { node: adj, labels: [0, x] },
          { node: inv, labels: [5, y] },
          { node: inv, labels: [3, z] },
        ],
        6,
      ),
      makeMul(
        [
          { node: adj, labels: [0, x] },
          { node: inv, labels: [3, y] },
          { node: inv, labels: [5, z] },
        ],
        6,
      ),
    );
  return minus(minus(term(1, 4, 2), term(4, 1, 2)), term(2, 4, 1));
}

/** adj2(A)^i_j^p_q = adj(A)^i_j (A⁻¹)^q_p − adj(A)^i_p (A⁻¹)^q_j, for A invertible. */
function adjugateDerivativeWithInverse(a: Node): Node {
  const adj = makeAdj(a);
  const inv = makeInv(a);
  return minus(
    makeMul(
      [
        { node: adj, labels: [0, 1] },
        { node: inv, labels: [3, 2] },
      ],
      4,
    ),
    makeMul(
      [
        { node: adj, labels: [0, 2] },
        { node: inv, labels: [3, 1] },
      ],
      4,
    ),
  );
}

/**
 * Largest exponent whose derivative is written out as Σ_j A^j ∂A A^(k−1−j). Not for a base that is
 * a product: it would be flattened into its factors, and the powers in the terms could not fold back.
 */
const EXPLICIT_POWER_DERIVATIVE = 3;

function matPowDerivative(n: NodeOf<'mpow'>, c: DiffContext): Node {
  const w = c.wrt.shape.length;
  const r = n.shape.length;
  const W = range(r, w);
  const outShape = [...n.shape, ...c.wrt.shape];
  const dA = c.d(n.base);
  const { base, exp: k, dirs } = n;
  if (dirs.length === 0 && k <= EXPLICIT_POWER_DERIVATIVE && base.kind !== 'mul') {
    const [p, q] = [r + w, r + w + 1];
    const terms = range(0, k).map((j) => ({
      coef: 1,
      node: makeMul(
        [
          { node: makeMatPow(base, j), labels: [0, p] },
          { node: dA, labels: [p, q, ...W] },
          { node: makeMatPow(base, k - 1 - j), labels: [q, 1] },
        ],
        r + w,
      ),
    }));
    return makeAdd(terms, outShape);
  }
  // Output labels of each direction's batch axes.
  const batch: number[][] = [];
  let at = 2;
  for (const d of dirs) {
    batch.push(range(at, d.shape.length - 2));
    at += d.shape.length - 2;
  }
  /** P with a new list of directions whose batch axes carry these labels, the wrt axes moved last. */
  const term = (newDirs: Node[], labels: number[][]): { coef: number; node: Node } => ({
    coef: 1,
    node: makeMul([{ node: makeMatPow(base, k, newDirs), labels: [0, 1, ...labels.flat()] }], r + w),
  });
  const terms: { coef: number; node: Node }[] = [];
  dirs.forEach((d, i) => {
    const dE = c.d(d);
    if (isZero(dE)) return;
    terms.push(term(dirs.map((e, t) => (t === i ? dE : e)), batch.map((b, t) => (t === i ? [...b, ...W] : b))));
  });
  if (!isZero(dA)) terms.push(term([...dirs, dA], [...batch, W]));
  return makeAdd(terms, outShape);
}
