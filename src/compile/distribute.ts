/**
 * Products distributed over wide sums, for the evaluators (sizes bound).
 *
 * A third derivative by a matrix holds products such as X^k_p X^m_r X^o_q (Σ_t T_t)^{qrp…}, where
 * the sum has eight axes and the product five: formed, the sum takes n⁸ entries (5.7·10⁶ at n = 7)
 * before the X's contract three of them away. Each term T_t is a product of small tensors, so
 * Σ_t X X X T_t contracts every term in a cheap order and never forms the sum. This pass makes
 * that rewrite where its cost model — the steps of the greedy pairwise contraction both evaluators
 * run, counted by the assignments each visits — says it is at least twice as cheap, for sums that
 * the product is the only use of (a shared sum is formed once for all its uses anyway).
 */
import { type Dim, type Factor, type Node, type NodeOf, type Term, children, makeAdd, makeMul, mapChildren, topoOrder } from '../ir/node.js';

/** At most this many terms come out of one product (nested distributions multiply). */
const MAX_TERMS = 64;
/** Distributing must be estimated at least this many times cheaper than forming the sum. */
const GAIN = 2;

export function distributeWideSums(roots: readonly Node[], sizes: ReadonlyMap<Dim, number>): Node[] {
  const order = topoOrder(roots);
  const uses = new Map<Node, number>();
  for (const r of roots) uses.set(r, (uses.get(r) ?? 0) + 1);
  for (const n of order) for (const c of children(n)) uses.set(c, (uses.get(c) ?? 0) + 1);
  const dim = (d: Dim): number => sizes.get(d) ?? 1;
  // Uses in the rebuilt graph: two nodes that rebuild to one node have both their uses.
  const rebuiltUses = new Map<Node, number>();
  const single = (n: Node): boolean => rebuiltUses.get(n) === 1;
  const memo = new Map<Node, Node>();
  for (const n of order) {
    let r = mapChildren(n, (c) => memo.get(c)!);
    if (r.kind === 'mul') r = distribute(r, single, dim, MAX_TERMS);
    memo.set(n, r);
    rebuiltUses.set(r, (rebuiltUses.get(r) ?? 0) + uses.get(n)!);
  }
  return roots.map((r) => memo.get(r)!);
}

/** m itself, or the sum over the terms of its widest single-use sum factor where that is cheaper. */
function distribute(m: NodeOf<'mul'>, single: (n: Node) => boolean, dim: (d: Dim) => number, budget: number): Node {
  const cost = (n: Node): number => (n.kind === 'mul' ? contractionCost(n, dim) : 0);
  const sizeOf = (n: Node): number => n.shape.reduce((p, d) => p * dim(d), 1);
  let best: { at: number; terms: Term[]; gain: number } | undefined;
  m.factors.forEach((f, at) => {
    const s = f.node;
    if (s.kind !== 'add' || !single(s) || s.terms.length > budget) return;
    const formed = s.terms.reduce((c, t) => c + cost(t.node) + sizeOf(s), 0) + contractionCost(m, dim);
    const terms = s.terms.map((t) => ({ coef: t.coef, node: replaceFactor(m, at, t.node) }));
    const spread = terms.reduce((c, t) => c + cost(t.node) + sizeOf(m), 0);
    if (spread * GAIN <= formed && (!best || formed / spread > best.gain)) best = { at, terms, gain: formed / spread };
  });
  if (!best) return m;
  const each = Math.max(1, Math.floor(budget / best.terms.length));
  // A term's own factors now feed this product alone where the term fed only the sum.
  const terms = best.terms.map((t, k) => {
    const own = (m.factors[best!.at]!.node as NodeOf<'add'>).terms[k]!.node;
    return { coef: t.coef, node: t.node.kind === 'mul' && single(own) ? distribute(t.node, single, dim, each) : t.node };
  });
  return makeAdd(terms, m.shape);
}

function replaceFactor(m: NodeOf<'mul'>, at: number, node: Node): Node {
  const factors: Factor[] = m.factors.map((f, i) => (i === at ? { node, labels: f.labels } : f));
  return makeMul(factors, m.shape.length);
}

/** One step of a greedy pairwise contraction: the factor it takes, the labels it visits, the labels it keeps. */
export interface ContractionStep {
  readonly factor: number;
  readonly involved: readonly number[];
  readonly keep: readonly number[];
}

/**
 * A greedy pairwise contraction of factors on these labels (both evaluators' order; the compiled
 * planner's is at least as good), summing out at each step the labels no later factor nor the
 * output needs: of two greedy orders, the one that visits fewer assignments in all. One takes at
 * each step the factor whose step visits the fewest assignments; it may take outer products
 * first (X ⊗ X ⊗ M before a 7⁶-entry sum they contract: 7⁸ assignments, where the third
 * derivative of inv(X'*X + eye)^3 by a 1×7 X spent 3 s). The other takes the factor whose step
 * grows the intermediate least (its result's entries less the two inputs'), as opt_einsum's
 * greedy does, which contracts the sum first. Ties: the earliest factor.
 */
export function greedySteps(labels: readonly (readonly number[])[], dims: ReadonlyMap<number, number>, output: readonly number[]): ContractionStep[] {
  const visits = (steps: readonly ContractionStep[]): number => steps.reduce((v, s) => v + volumeOf(s.involved, dims), 0);
  const fewest = greedyOrder(labels, dims, output, 'visits');
  const least = greedyOrder(labels, dims, output, 'growth');
  return visits(least) < visits(fewest) ? least : fewest;
}

function volumeOf(ls: Iterable<number>, dims: ReadonlyMap<number, number>): number {
  let v = 1;
  for (const l of new Set(ls)) v *= dims.get(l)!;
  return v;
}

function greedyOrder(labels: readonly (readonly number[])[], dims: ReadonlyMap<number, number>, output: readonly number[], pick: 'visits' | 'growth'): ContractionStep[] {
  const left = labels.map((ls, factor) => ({ factor, ls }));
  const steps: ContractionStep[] = [];
  let acc: readonly number[] = [];
  const stepAt = (k: number): ContractionStep => {
    const f = left[k]!;
    const involved = [...new Set([...acc, ...f.ls])];
    const later = new Set([...output, ...left.flatMap((g, j) => (j === k ? [] : g.ls))]);
    const keep = left.length === 1 ? [...output] : involved.filter((l) => later.has(l));
    return { factor: f.factor, involved, keep };
  };
  // The score to minimize, then the visits of the step.
  const score = (s: ContractionStep, k: number): number =>
    pick === 'visits' ? volumeOf(s.involved, dims) : volumeOf(s.keep, dims) - volumeOf(acc, dims) - volumeOf(left[k]!.ls, dims);
  while (left.length > 0) {
    let best = 0;
    let bestStep = stepAt(0);
    for (let k = 1; k < left.length; k++) {
      const s = stepAt(k);
      const [a, b] = [score(s, k), score(bestStep, best)];
      if (a < b || (a === b && volumeOf(s.involved, dims) < volumeOf(bestStep.involved, dims))) {
        best = k;
        bestStep = s;
      }
    }
    left.splice(best, 1);
    steps.push(bestStep);
    acc = bestStep.keep;
  }
  return steps;
}

/** Assignments visited by the greedy pairwise contraction of a product (greedySteps), summed over its steps. */
export function contractionCost(m: NodeOf<'mul'>, dim: (d: Dim) => number): number {
  return factorsCost(m.factors, m.shape.length, dim);
}

/** contractionCost of a product given by its factors and rank. */
export function factorsCost(factors: readonly Factor[], rank: number, dim: (d: Dim) => number): number {
  const dims = new Map<number, number>();
  for (const f of factors) f.labels.forEach((l, i) => dims.set(l, dim(f.node.shape[i]!)));
  const output = Array.from({ length: rank }, (_, i) => i);
  return greedySteps(
    factors.map((f) => f.labels),
    dims,
    output,
  ).reduce((total, s) => total + s.involved.reduce((v, l) => v * dims.get(l)!, 1), 0);
}
