/**
 * Distributing a product over a sum of tensors of order > 2, the way reverse mode accumulates
 * adjoints.
 *
 * A sum of tensors of order > 2 (a derivative of a matrix function, such as Σ_j A^j ∂A A^(k−1−j),
 * or the second derivative of a network's layer) that a product contracts down to a matrix or less
 * has no matrix form; its terms inside the product have one, so the product is distributed. Such
 * sums nest: the second derivative of a residual layer t_k = t_{k-1} + a·tanh(A·t_{k-1}) holds that
 * of t_{k-1} twice, so distributing term by term reaches the innermost one along 2^k paths. Here
 * the products that contract one sum are gathered first, the rest of each product (its context,
 * of order ≤ 2) summed, and the sum distributed once over that summed context:
 *   Σ_t c_t K_t·S → (Σ_t c_t K_t)·S → Σ_u d_u (Σ_t c_t K_t)·N_u   (S = Σ_u d_u N_u),
 * outermost sums first, so that every context reaching a sum is in before it is distributed (the
 * adjoint of a layer is complete before the layer below is reached).
 */
import { type AddNode, type Factor, type MulNode, type Node, type Term, makeAdd, makeMul } from '../../ir/node.js';
import type { Rule } from '../rewrite.js';
import { distribute } from './expand.js';

const isTensorSum = (n: Node): n is AddNode => n.kind === 'add' && n.shape.length > 2;

/**
 * A product of rank r with one tensor sum S among its factors, written as its context K (the
 * product of the other factors, of rank ≤ 2: the outputs those carry, then the summed labels they
 * share with S) and the way S's axes are labelled relative to K. Products with the same S and the
 * same labelling (`key`) differ in their contexts only. Undefined for any other product.
 */
interface Split {
  readonly key: string;
  readonly sum: AddNode;
  readonly context: Node;
  /** The outputs the context carries, in order (its first axes). */
  readonly outputs: readonly number[];
  /** For each axis of S: an output label (≥ 0), or -1 - c for the context's summed axis c, or the S-only summed label as `{ own: k }`. */
  readonly pattern: readonly (number | { own: number })[];
  /** How many summed axes the context shares with S. */
  readonly shared: number;
}

function split(p: Node, r: number): Split | undefined {
  if (p.kind !== 'mul') return undefined;
  const at = p.factors.map((f, i) => (isTensorSum(f.node) ? i : -1)).filter((i) => i >= 0);
  if (at.length !== 1) return undefined;
  const s = p.factors[at[0]!]!;
  const rest = p.factors.filter((_, i) => i !== at[0]);
  const carried = new Set(rest.flatMap((f) => f.labels));
  const outputs = [...new Set(rest.flatMap((f) => f.labels).filter((l) => l < r))].sort((a, b) => a - b);
  const shared = [...new Set(s.labels.filter((l) => l >= r && carried.has(l)))];
  const rank = outputs.length + shared.length;
  if (rank > 2) return undefined;
  const own = [...new Set(s.labels.filter((l) => l >= r && !carried.has(l)))];
  const pattern = s.labels.map((l) => (l < r ? l : shared.includes(l) ? -1 - shared.indexOf(l) : { own: own.indexOf(l) }));
  // The context's own summed labels follow its axes.
  const renamed = new Map<number, number>([...outputs.map((l, i): [number, number] => [l, i]), ...shared.map((l, i): [number, number] => [l, outputs.length + i])]);
  let next = rank;
  const relabel = (l: number): number => renamed.get(l) ?? (renamed.set(l, next++), next - 1);
  const context = makeMul(rest.map((f) => ({ node: f.node, labels: f.labels.map(relabel) })), rank);
  const patternKey = pattern.map((x) => (typeof x === 'number' ? x : `o${x.own}`)).join(',');
  return { key: `${s.node.id}|${patternKey}|${outputs.join(',')}`, sum: s.node as AddNode, context, outputs, pattern, shared: shared.length };
}

/** The group's summed context times one term of its sum, a product of rank r. */
function times(g: Split, context: Node, term: Node, r: number): Node {
  const shared = Array.from({ length: g.shared }, (_, i) => r + i);
  const ownFrom = r + g.shared;
  const contextFactor: Factor = { node: context, labels: [...g.outputs, ...shared] };
  const labels = g.pattern.map((x) => (typeof x === 'number' ? (x >= 0 ? x : shared[-1 - x]!) : ownFrom + x.own));
  return makeMul([contextFactor, { node: term, labels }], r);
}

/**
 * The product n (of rank ≤ 2, with a tensor sum among its factors) distributed over that sum and
 * every tensor sum its terms bring in, contexts gathered per sum. Products whose context would
 * have rank > 2, or that hold two tensor sums, are distributed over one sum as they are.
 */
function distributeGathered(n: MulNode): Node {
  const r = n.shape.length;
  const done: Term[] = [];
  const pending = new Map<string, { split: Split; contexts: Term[] }>();
  const gather = (coef: number, s: Split): void => {
    const g = pending.get(s.key) ?? { split: s, contexts: [] };
    g.contexts.push({ coef, node: s.context });
    pending.set(s.key, g);
  };
  const put = (coef: number, p: Node): void => {
    const s = split(p, r);
    if (s) gather(coef, s);
    else done.push({ coef, node: p });
  };
  const first = split(n, r);
  if (!first) return distribute(n, n.factors.findIndex((f) => isTensorSum(f.node)));
  gather(1, first);
  while (pending.size > 0) {
    // The outermost sum first: a node is made after its children, so its id is larger.
    const [key, g] = [...pending].reduce((a, b) => (b[1].split.sum.id > a[1].split.sum.id ? b : a));
    pending.delete(key);
    const context = makeAdd(g.contexts, g.split.context.shape);
    for (const t of g.split.sum.terms) put(t.coef, times(g.split, context, t.node, r));
  }
  return makeAdd(done, n.shape);
}

export const distributeTensorSums: Rule = {
  name: 'distribute-tensor-sum',
  math: 'Σ_t c_t K_t·(T_1 + T_2) → (Σ_t c_t K_t)·T_1 + (Σ_t c_t K_t)·T_2   for tensors T of order > 2 in products of order ≤ 2, outermost sums first',
  apply(n) {
    if (n.kind !== 'mul' || n.shape.length > 2 || !n.factors.some((f) => isTensorSum(f.node))) return undefined;
    return distributeGathered(n);
  },
};
