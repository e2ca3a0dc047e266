/**
 * Expansion rules: they make identities visible to the canonical constructors, which then contract
 * deltas and collect like terms.
 */
import { type Node, type NodeOf, type Factor, InternalError, asMatPower, labelCounts, chainLink, delta, findWrittenOut, isSymmetric, isZero, expandedFactors, makeAdd, makeDet, makeMatPow, makeMul, ones, softmaxArg, splitCoef } from '../../ir/node.js';
import type { Rule } from '../rewrite.js';

function hasDelta(n: Node): boolean {
  if (n.kind === 'delta') return true;
  return n.kind === 'mul' && n.factors.some((f) => f.node.kind === 'delta');
}

/**
 * Whether the term t carries a delta that no other of its factors shares an axis with: the
 * identity itself (c·δ, u ⊗ δ), which contracts away wherever the product is distributed over it.
 * A delta that shares an axis (u_p·δ_pqr, diag(u)) only renames axes, which the printer does as
 * well (diag(u)*A).
 */
function hasIdentity(t: Node): boolean {
  if (t.kind === 'delta') return true;
  if (t.kind !== 'mul') return false;
  const count = labelCounts(t.factors);
  const own = (f: Factor, l: number): boolean => count.get(l) === f.labels.filter((m) => m === l).length;
  return t.factors.some((f) => f.node.kind === 'delta' && f.labels.every((l) => own(f, l)));
}

/**
 * The product n distributed over its sum factor k: A·(B + C) → A·B + A·C. With `apart`, only the
 * terms it picks are distributed, and the others stay one sum in the product:
 * A·(δ·B + C + D) → A·δ·B + A·(C + D).
 */
export function distribute(n: NodeOf<'mul'>, k: number, apart: (t: Node) => boolean = () => true): Node {
  const sum = n.factors[k]!;
  if (sum.node.kind !== 'add') throw new InternalError('distribute: factor is not a sum');
  const times = (node: Node): Node =>
    makeMul(
      n.factors.map((f, j): Factor => (j === k ? { node, labels: sum.labels } : f)),
      n.shape.length,
    );
  const picked = sum.node.terms.filter((t) => apart(t.node));
  const rest = sum.node.terms.filter((t) => !apart(t.node));
  const terms = picked.map((t) => ({ coef: t.coef, node: times(t.node) }));
  if (rest.length > 0) terms.push({ coef: 1, node: times(makeAdd(rest, sum.node.shape)) });
  return makeAdd(terms, n.shape);
}

/**
 * A product with a sum factor whose terms carry deltas is distributed over those terms, so the
 * deltas contract; the other terms stay one sum (a factored sum of forty terms, two with a delta,
 * is three products, not forty). Which products are distributed is `distributedTerms`' choice.
 */
export const distributeDeltas: Rule = {
  name: 'distribute-delta-sum',
  math: 'A·(δ·B + C + D) → A·δ·B + A·(C + D)   (then δ contracts with A)',
  apply(n) {
    if (n.kind !== 'mul') return undefined;
    const apart = distributedTerms(n);
    if (!apart) return undefined;
    const k = n.factors.findIndex((f) => f.node.kind === 'add' && f.node.terms.some((t) => apart(t.node)));
    if (k < 0) return undefined;
    return distributedWithPartner(n, k) ?? (fullWithSums(n) ? undefined : distribute(n, k, hasDelta));
  },
};

/**
 * Whether n is a full contraction (sum, tr, x'*…*x) of two or more sums with an identity term:
 * distributed over each, it is 2^k products for k sums, and the layers of a chain such as
 * sum(t8) where t1 = eye - A*B*A', t2 = eye - t1*B*t1', … spelled the layer below out in each
 * (118,232 characters at depth 8, 40 s). Such a product stays whole, as one of rank 1 to 3 with
 * sums that are not vector-like does; a sum that a vector alone meets is still made one vector
 * with it (distributedWithPartner: norm2((A + eye)*x) is norm2(A*x + x)).
 */
function fullWithSums(n: NodeOf<'mul'>): boolean {
  return n.shape.length === 0 && n.factors.filter((f) => f.node.kind === 'add' && f.node.terms.some((t) => hasIdentity(t.node))).length > 1;
}

/** The products a product of rank 4 or more may become in distributeFewDeltas. */
const MAX_INDEX_FORM_PRODUCTS = 4;

/**
 * distribute-delta-sum for a derivative that has no matrix form in any layout (INDEX_FORM_PHASES):
 * a product of rank 4 or more is distributed only where it becomes at most MAX_INDEX_FORM_PRODUCTS
 * products over all its delta sums. A chain of layers whose Jacobians are sums of deltas times
 * diagonals (sin(t') + t: δδ·cos(t) + δδ, a transpose) otherwise multiplies out into 2^k products,
 * one per choice of term in each layer, which the vec layout alone would read term by term: the
 * third derivative by A of four layers arccos(abs(t + B) - t') printed 287,118 characters in 19 s.
 * A product over one or two short sums still is (X'*X's derivative X ⊗ δ + δ ⊗ X in those of
 * inv(X'*X + eye), whose deltas then contract with the X's instead of a rank-8 sum).
 */
export const distributeFewDeltas: Rule = {
  name: distributeDeltas.name,
  math: `${distributeDeltas.math}   (rank ≥ 4: into at most ${MAX_INDEX_FORM_PRODUCTS} products)`,
  apply: (n) => (n.kind !== 'mul' || (n.shape.length > 3 && productsDistributed(n) > MAX_INDEX_FORM_PRODUCTS) ? undefined : distributeDeltas.apply(n)),
};

/** The products that the product n becomes distributed over the delta terms of all its sums. */
function productsDistributed(n: NodeOf<'mul'>): number {
  let products = 1;
  for (const f of n.factors) {
    if (f.node.kind !== 'add') continue;
    const apart = f.node.terms.filter((t) => hasDelta(t.node)).length;
    if (apart > 0) products *= apart + (apart < f.node.terms.length ? 1 : 0);
  }
  return products;
}

/**
 * At most this many sum factors with deltas in a product of rank 4 or more are distributed over:
 * a chain's third derivative holds products of its layers' Jacobians I + a·diag(s)·A, and
 * distributing each over the identity spells out 2^k products.
 */
const MAX_DISTRIBUTED_DELTA_SUMS = 2;

/**
 * The terms of a sum factor that the product n is distributed over, or undefined where n keeps
 * its sums whole:
 * - products of rank 4 or more with at most MAX_DISTRIBUTED_DELTA_SUMS such sums, over every
 *   term with a delta: the vec layout reads their deltas term by term;
 * - a sum of vector-like terms (diag(u), u*v', the identity) that the rest of the product, all
 *   vectors and scalars, only scales, over its delta terms: diag(s)*(diag(u) - u*v') is
 *   diag(s.*u) - (s.*u)*v', diag(s)*(eye - vector(1)*s') is diag(s) - s*s';
 * - a scalar (a full contraction), over its identity terms (over its delta terms where the rest
 *   only scales it): tr(2*eye - B) is 2*n - tr(B), x'*(A + eye)*x is x'*(A*x + x); where two or
 *   more of its sums have such terms, only a sum that a vector alone meets (fullWithSums).
 * Any other product of rank 1 to 3 keeps its sums whole: (A + b*eye)*diag(u)*(A + b*eye) stays
 * one product, where distributed it would be four, and the chain of a layered Hessian
 * (A + b*eye)*diag(u)*(A + b*eye)*… would multiply out into 2^k terms.
 */
function distributedTerms(n: NodeOf<'mul'>): ((t: Node) => boolean) | undefined {
  const rank = n.shape.length;
  const sums = n.factors.filter((f) => f.node.kind === 'add');
  if (rank > 3) return sums.filter((f) => (f.node as NodeOf<'add'>).terms.some((t) => hasDelta(t.node))).length <= MAX_DISTRIBUTED_DELTA_SUMS ? hasDelta : undefined;
  const scaled = sums.length === 1 && n.factors.every((f) => f.node.kind === 'add' || f.node.shape.length <= 1);
  if (rank > 0 && !sums.every((f) => (f.node as NodeOf<'add'>).terms.every((t) => vectorLike(t.node)))) return undefined;
  return scaled ? hasDelta : hasIdentity;
}

/** A term whose factors are all deltas, vectors and scalars: diag(u), u*v', c·δ. */
function vectorLike(t: Node): boolean {
  if (t.kind === 'delta' || t.shape.length <= 1) return true;
  return t.kind === 'mul' && t.factors.every((f) => f.node.kind === 'delta' || f.node.shape.length <= 1);
}

/**
 * The product with its sum factor S (whose terms carry deltas) and a factor g that S alone is
 * contracted with made one sum, S·g distributed, where that sum has at most two axes: in the
 * squared norm of (A + I)·x, each (A + δ)_pq x_q is the vector A·x + x, and the product stays the
 * square of it (norm2(A*x + x)), where distributing S over the whole product would spell out
 * x'·A'·A·x + 2·x'·A·x + x'·x. Undefined where S has no such partner.
 */
function distributedWithPartner(n: NodeOf<'mul'>, k: number): Node | undefined {
  const rank = n.shape.length;
  const s = n.factors[k]!;
  const count = labelCounts(n.factors);
  for (const l of s.labels) {
    if (l < rank || count.get(l) !== 2 || s.labels.filter((m) => m === l).length !== 1) continue;
    const j = n.factors.findIndex((g, i) => i !== k && g.labels.includes(l));
    const g = n.factors[j]!;
    // g a vector that S maps (x in (A + δ)·x); ones stay where they are (a sum of S's entries).
    if (g.labels.length !== 1 || g.node.kind === 'add' || g.node.kind === 'const') continue;
    // The local product's free labels: those of S and g that are output labels or that another
    // factor carries, once each, in order of appearance.
    const local = [s, g];
    const free = [...new Set(local.flatMap((f) => f.labels))].filter((m) => m !== l && (m < rank || local.reduce((c, f) => c + f.labels.filter((x) => x === m).length, 0) < count.get(m)!));
    if (free.length > 2 || free.some((m) => local.reduce((c, f) => c + f.labels.filter((x) => x === m).length, 0) > 1)) continue;
    const map = new Map<number, number>(free.map((m, i) => [m, i]));
    let next = free.length;
    const relabel = (m: number): number => map.get(m) ?? (map.set(m, next++), next - 1);
    const product = makeMul(local.map((f) => ({ node: f.node, labels: f.labels.map(relabel) })), free.length);
    if (product.kind !== 'mul') continue;
    const at = product.factors.findIndex((f) => f.node === s.node);
    if (at < 0) continue;
    const sum = distribute(product, at);
    return makeMul([...n.factors.filter((_, i) => i !== k && i !== j), { node: sum, labels: free }], rank);
  }
  return undefined;
}

/**
 * Whether the term t (of a sum on `axes` of its own) is constant along those axes: a vector of ones
 * on each, and nothing else there (c·1, (x'*y)·1, u*1').
 */
function onesAlong(t: Node, axes: readonly number[]): boolean {
  const [, core] = splitCoef(t);
  if (core.kind === 'const') return true;
  if (core.kind !== 'mul') return false;
  return axes.every((a) => {
    const carriers = core.factors.filter((f) => f.labels.includes(a));
    return carriers.length === 1 && carriers[0]!.node.kind === 'const' && carriers[0]!.labels.length === 1;
  });
}

type SumFactor = Factor & { readonly node: NodeOf<'add'> };

/** The factors of a product that are sums, with their positions. */
function sumFactors(n: NodeOf<'mul'>): [number, SumFactor][] {
  return n.factors.flatMap((f, k): [number, SumFactor][] => (f.node.kind === 'add' ? [[k, f as SumFactor]] : []));
}

/**
 * A sum contracted with a softmax over all of its entries, where a term of the sum is constant
 * along them: that term is distributed, and the softmax it meets sums to 1 (makeMul):
 * s'*(u - c·1) → s'*u - c, so the gradient of softmax(x)'*log(softmax(x)) is s.*(x - (x'*s)·1).
 */
export const distributeOverSoftmax: Rule = {
  name: 'distribute-softmax-sum',
  math: 's_p (u_p + c 1_p) → s_p u_p + c   (Σ_p s_p = 1 for s = softmax(v))',
  apply(n) {
    if (n.kind !== 'mul') return undefined;
    const rank = n.shape.length;
    const count = labelCounts(n.factors);
    for (const [k, f] of sumFactors(n)) {
      const only = (l: number): boolean => l >= rank && count.get(l) === 2 && f.labels.includes(l);
      for (const g of n.factors) {
        if (g === f || g.labels.length === 0 || !g.labels.every(only) || softmaxArg(g.node) === undefined) continue;
        const axes = g.labels.map((l) => f.labels.indexOf(l));
        const apart = (t: Node): boolean => onesAlong(t, axes);
        if (f.node.terms.some((t) => apart(t.node))) return distribute(n, k, apart);
      }
    }
    return undefined;
  },
};

/** Whether a factor of the product t that is not constant carries an axis of t other than `axis` (1_p·v_k for axis p). */
function variesAlongOther(t: Node, axis: number): boolean {
  const [, core] = splitCoef(t);
  const rank = t.shape.length;
  return core.kind === 'mul' && core.factors.some((f) => f.node.kind !== 'const' && f.labels.some((l) => l < rank && l !== axis));
}

/**
 * A sum contracted with a vector (or a Hadamard product of vectors) over an axis along which a term
 * of the sum is a broadcast (constant along it, varying along another axis): that term is
 * distributed, and the vector of ones it carries there meets the vector as its sum:
 * y'*(W - 1*s'*W) → y'*W - sum(y)*s'*W (which factoring makes (y - sum(y)*s)'*W), the gradient
 * of y'*log(softmax(W*x)).
 */
export const distributeOverVector: Rule = {
  name: 'distribute-broadcast-sum',
  math: 'y_p (u_p… + c… 1_p) → y_p u_p… + (Σ_p y_p) c…',
  apply(n) {
    if (n.kind !== 'mul') return undefined;
    const rank = n.shape.length;
    const count = labelCounts(n.factors);
    for (const [k, f] of sumFactors(n)) {
      for (const [axis, l] of f.labels.entries()) {
        // Every other factor on l is a vector on l alone (y, or y.*s: Σ_p y_p s_p 1_p = y'*s), or
        // none: the sum alone is summed along l (Σ_p 1_p = n).
        const others = n.factors.filter((g) => g !== f && g.labels.includes(l));
        if (l < rank || others.length + 1 !== count.get(l) || others.some((g) => g.labels.length !== 1 || g.node.kind === 'add')) continue;
        // Only a broadcast of what varies along another axis of the sum: (X - matrix(0.5))'*z and
        // (a*matrix(1) - X)'*z stay, and so do vectors (norm2(vector(a) - y) is no sum of sums).
        const apart = (t: Node): boolean => onesAlong(t, [axis]) && variesAlongOther(t, axis);
        if (f.node.terms.some((t) => apart(t.node))) return distribute(n, k, apart);
      }
    }
    return undefined;
  },
};

/**
 * A matrix contracted with its own inverse (or adjugate) at one summed index: the pair becomes δ
 * (or det(A)·δ); `kind` is the partner's node kind. A that is a product is found among the
 * factors by its own factors and contractions (inv(A*B)·A·B, inv(X'*X)·X'·X).
 */
function cancelPartner(kind: 'inv' | 'adj', replacement: (a: Node, d: Factor) => Factor[]): Rule['apply'] {
  return (n) => {
    if (n.kind !== 'mul') return undefined;
    const fs = n.factors;
    const count = labelCounts(fs);
    const r = n.shape.length;
    for (let i = 0; i < fs.length; i++) {
      const inv = fs[i]!;
      if (inv.node.kind !== kind) continue;
      const a = inv.node.arg;
      // (A⁻¹)_{x p} A_{p y} or A_{x p} (A⁻¹)_{p y}, with p summed and carried by nothing else (by
      // every factor of A that carries that axis, where A is written out: (A'∘B)⁻¹ (A'∘B)).
      for (const invFirst of [true, false]) {
        const [x, p] = invFirst ? inv.labels : [inv.labels[1]!, inv.labels[0]!];
        if (p === undefined || x === undefined || p < r || x === p) continue;
        const axis = invFirst ? 0 : 1;
        const carriers = a.kind === 'mul' ? (labelCounts(a.factors).get(axis) ?? 0) : 1;
        if (count.get(p) !== 1 + carriers) continue;
        const found = embed(a, fs, i, axis, p, r);
        if (!found || found.other === p) continue;
        const rest = fs.filter((_, k) => k !== i && !found.used.includes(k));
        const labels = invFirst ? [x, found.other] : [found.other, x];
        return makeMul([...rest, ...replacement(a, { node: delta(inv.node.shape[0]!), labels })], r);
      }
    }
    return undefined;
  };
}

/**
 * The matrix a among the factors fs (all but fs[skip]), with its axis `axis` on label `at`: the
 * factors it takes and the label of its other axis. A product a is matched factor by factor
 * (findWrittenOut), its summed labels to labels that only the matched factors carry.
 */
function embed(a: Node, fs: readonly Factor[], skip: number, axis: 0 | 1, at: number, r: number): { used: number[]; other: number } | undefined {
  if (a.kind !== 'mul') {
    // A symmetric matrix's slots are sorted in a product (S_ji is S_ij): either axis matches.
    const symmetric = isSymmetric(a) && a.shape.length === 2;
    const j = fs.findIndex((f, k) => k !== skip && f.node === a && (f.labels[axis] === at || (symmetric && f.labels[1 - axis] === at)));
    if (j < 0) return undefined;
    const labels = fs[j]!.labels;
    return { used: [j], other: labels[axis] === at ? labels[1 - axis]! : labels[axis]! };
  }
  const found = findWrittenOut(a, new Map([[axis, at]]), fs, skip, r);
  const other = found?.map.get(1 - axis);
  return found && other !== undefined ? { used: found.used, other } : undefined;
}

/** A power of a matrix next to a power of its inverse: the exponents subtract (A·A⁻¹ = δ). */
export const cancelInverse: Rule = {
  name: 'inverse-cancel',
  math: '(A^a)^i_p ((A⁻¹)^c)^p_j → (A^(a−c))^i_j, and the same with A⁻¹ first   (A^0 = δ)',
  apply(n) {
    if (n.kind !== 'mul') return undefined;
    const fs = n.factors;
    const count = labelCounts(fs);
    const slots = (l: number): number => count.get(l) ?? 0;
    const r = n.shape.length;
    for (let i = 0; i < fs.length; i++) {
      const pi = asMatPower(fs[i]!.node);
      if (!pi) continue;
      for (let j = 0; j < fs.length; j++) {
        const pj = j === i ? undefined : asMatPower(fs[j]!.node);
        if (!pj) continue;
        // The plain base and the difference of exponents (plain minus inverse).
        let base: Node;
        let exp: number;
        if (pj.base.kind === 'inv' && pj.base.arg === pi.base) [base, exp] = [pi.base, pi.exp - pj.exp];
        else if (pi.base.kind === 'inv' && pi.base.arg === pj.base) [base, exp] = [pj.base, pj.exp - pi.exp];
        else continue;
        const link = chainLink(fs[i]!, fs[j]!, r, slots);
        if (!link) continue;
        const rest = fs.filter((_, k) => k !== i && k !== j);
        return makeMul([...rest, { node: makeMatPow(base, exp), labels: [link.row, link.col] }], r);
      }
    }
    return undefined;
  },
};

const cancelInverseOf = cancelPartner('inv', (_, d) => [d]);

/** A product of matrices next to its inverse (a single matrix, or powers of one, is inverse-cancel's). */
export const cancelInverseProduct: Rule = {
  name: 'inverse-product-cancel',
  math: '(P⁻¹)^i_p P^p_j → δ^i_j,   P^i_p (P⁻¹)^p_j → δ^i_j   for a product P = A·B·…, its factors in the product',
  apply(n) {
    if (n.kind !== 'mul' || !n.factors.some((f) => f.node.kind === 'inv' && f.node.arg.kind === 'mul')) return undefined;
    return cancelInverseOf(n);
  },
};

/** A matrix contracted with its adjugate is its determinant times the identity (at every A). */
export const cancelAdjugate: Rule = {
  name: 'adjugate-cancel',
  math: 'A^i_p adj(A)^p_j → det(A) δ^i_j,   adj(A)^i_p A^p_j → det(A) δ^i_j',
  apply: cancelPartner('adj', (a, d) => [{ node: makeDet(a), labels: [] }, d]),
};

/** Sums of at most this many terms are tried by distributeCancelling. */
const MAX_CANCELLING_TERMS = 4;

/**
 * Whether a product distributed over this sum is worth building to see if it leaves one term or
 * none: two of its terms must multiply the same tensors (nested products opened, a constant as the
 * vectors of ones it splits into), differing in labels and coefficients, and at most one term may
 * be unlike every other. A filter, not a proof: products of unlike terms could still meet where
 * the product's factors merge powers with theirs, and the rule would then miss a simplification,
 * never change a value; of its 21 rewrites in the first 4,000 cases of fuzz seeds 1 to 3, none was
 * of that kind. Building every product term to find out took 0.6 s of the 2.2 s that simplifying
 * the third derivative of inv((B.^2 + matrix(0.5)).^(S*S)*((B.^2 + matrix(0.5)).^(S*S))' +
 * eye)*(y.^-0.5 + y) by a symmetric S spent, none of it used (fuzz seed 50).
 */
function mayCollapse(sum: NodeOf<'add'>): boolean {
  const count = new Map<string, number>();
  for (const t of sum.terms) {
    const factors = t.node.kind === 'mul' ? expandedFactors(t.node) : [{ node: t.node, labels: [] }];
    const ids = factors.flatMap(({ node }) => (node.kind === 'const' ? node.shape.map((d) => ones([d]).id) : [node.id]));
    const key = ids.sort((a, b) => a - b).join(',');
    count.set(key, (count.get(key) ?? 0) + 1);
  }
  const sizes = [...count.values()];
  return sizes.filter((c) => c === 1).length <= 1 && sizes.some((c) => c >= 2);
}

/**
 * A product whose sum factor's terms cancel once the product is distributed over it:
 * X·(P1 - P2) with X·P1 = X·P2 up to renaming is 0. Kept only where distributing leaves one
 * term or none, so that X is never written twice and a product that does not collapse stays
 * factored.
 */
export const distributeCancelling: Rule = {
  name: 'distribute-cancelling-sum',
  math: 'A·(B + C) → A·B + A·C   where the terms collect into one or none (A·B = -A·C → 0)',
  apply(n) {
    if (n.kind !== 'mul' || n.factors.length < 2) return undefined;
    for (let k = 0; k < n.factors.length; k++) {
      const sum = n.factors[k]!.node;
      if (sum.kind !== 'add' || sum.terms.length > MAX_CANCELLING_TERMS || !mayCollapse(sum)) continue;
      const out = distribute(n, k);
      const left = out.kind === 'add' ? out.terms.length : isZero(out) ? 0 : 1;
      if (left <= 1) return out;
    }
    return undefined;
  },
};
