/**
 * Nested products read as one, for the compiled planner (sizes bound).
 *
 * The IR keeps a long product nested (a product of products) so that derivatives share a chain's
 * prefixes. Evaluated as it stands, a nested product is formed first: in the gradient of a
 * residual network, 1'·M_16·…·M_5·(M_4·…·M_1), the inner chain is a product of n×n matrices
 * (n³ each) where, read as one product with the vector, every step is a matrix–vector product
 * (n²). A nested product that its parent is the only use of is read into the parent where the
 * parent's greedy contraction (distribute.ts) then visits fewer assignments than forming the
 * nested product and contracting it; parents first, so that a chain is read in all the way down.
 */
import type { Dim, Factor, Node, NodeOf } from '../ir/node.js';
import { factorsCost } from './distribute.js';

/** Products of more factors than this are not read into further (the greedy order is quadratic in them). */
const MAX_FACTORS = 48;

/** The factors of a product with the nested products in `inlined` read in (recursively), their summed labels renamed apart. */
export function inlinedFactors(factors: readonly Factor[], inlined: ReadonlySet<Node>): Factor[] {
  if (!factors.some((f) => inlined.has(f.node))) return [...factors];
  let next = Math.max(0, ...factors.flatMap((f) => f.labels)) + 1;
  const out: Factor[] = [];
  const visit = (f: Factor): void => {
    if (!inlined.has(f.node)) return void out.push(f);
    const inner = f.node as NodeOf<'mul'>;
    const rank = inner.shape.length;
    const renamed = new Map<number, number>();
    const relabel = (l: number): number => (l < rank ? f.labels[l]! : (renamed.get(l) ?? (renamed.set(l, next++), next - 1)));
    for (const g of inner.factors) visit({ node: g.node, labels: g.labels.map(relabel) });
  };
  factors.forEach(visit);
  return out;
}

/** The nested products to read into their parents; `uses` counts each node's uses. */
export function inlinedProducts(order: readonly Node[], uses: ReadonlyMap<Node, number>, sizes: ReadonlyMap<Dim, number>): Set<Node> {
  const dim = (d: Dim): number => sizes.get(d) ?? 1;
  const inlined = new Set<Node>();
  for (let i = order.length - 1; i >= 0; i--) {
    const n = order[i]!;
    if (n.kind !== 'mul' || inlined.has(n)) continue;
    let factors = inlinedFactors(n.factors, inlined);
    let cost = factorsCost(factors, n.shape.length, dim);
    for (let k = 0; k < factors.length && factors.length < MAX_FACTORS; k++) {
      const q = factors[k]!.node;
      if (q.kind !== 'mul' || uses.get(q) !== 1 || q.factors.length < 2) continue;
      const read = inlinedFactors(factors, new Set([q]));
      const readCost = factorsCost(read, n.shape.length, dim);
      if (readCost >= cost + factorsCost(q.factors, q.shape.length, dim)) continue;
      inlined.add(q);
      factors = read;
      cost = readCost;
      k = -1;
    }
  }
  return inlined;
}
