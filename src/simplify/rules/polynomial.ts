/**
 * Collecting a scalar polynomial: a sum whose terms multiply sums, or raise them to small integer
 * powers, is multiplied out and its like terms collected, where that shortens the form:
 *   24*k + 4*k^3*(12*k^2 + 16*k^6) + 96*k^5 → 24*k + 144*k^5 + 64*k^9,
 *   (2*t - 1)^2 - 2*t*(1 - t)             → 1 - 6*t + 6*t^2.
 * Atoms are whatever is not a scalar sum, product or such power (t1, sigmoid(b), x'*y); products
 * of atoms are canonical nodes, so makeAdd collects equal monomials. Scalars only: entry-wise
 * sums of tensors keep their shape through the factor rules.
 */
import { type Node, type Term, makeAdd, makeMul, ones, splitCoef } from '../../ir/node.js';
import { cost } from '../cost.js';
import type { Rule } from '../rewrite.js';

/** Most monomials while multiplying out (before collecting); past it the rule does not apply. */
const MAX_MONOMIALS = 24;
/** Highest power of a sum multiplied out. */
const MAX_POWER = 4;

type Poly = Term[];

const ONE = (): Node => ones([]);

/** a·b for two monomials (the constant monomial is ones([])), as coefficient × canonical node. */
function monomial(a: Node, b: Node): Term {
  if (a === ONE()) return { coef: 1, node: b };
  if (b === ONE()) return { coef: 1, node: a };
  const [coef, node] = splitCoef(
    makeMul(
      [
        { node: a, labels: [] },
        { node: b, labels: [] },
      ],
      0,
    ),
  );
  return { coef, node };
}

/** p·q with equal monomials collected; null past MAX_MONOMIALS. */
function times(p: Poly, q: Poly): Poly | null {
  if (p.length * q.length > MAX_MONOMIALS) return null;
  const out = new Map<Node, number>();
  for (const a of p)
    for (const b of q) {
      const m = monomial(a.node, b.node);
      out.set(m.node, (out.get(m.node) ?? 0) + a.coef * b.coef * m.coef);
    }
  return [...out].map(([node, coef]) => ({ coef, node }));
}

/** Whether n is a scalar product of scalars, or a small integer power of a sum: what expand opens. */
function opens(n: Node): boolean {
  if (n.kind === 'mul') return n.shape.length === 0 && n.factors.every((f) => f.labels.length === 0);
  return n.kind === 'pow' && n.base.kind === 'add' && Number.isInteger(n.exp) && n.exp >= 2 && n.exp <= MAX_POWER;
}

/** n multiplied out into monomials, or null past MAX_MONOMIALS. */
function expand(n: Node): Poly | null {
  if (n.kind === 'add') {
    const out: Poly = [];
    for (const t of n.terms) {
      const p = expand(t.node);
      if (p === null || out.length + p.length > MAX_MONOMIALS) return null;
      for (const u of p) out.push({ coef: t.coef * u.coef, node: u.node });
    }
    return out;
  }
  if (n.kind === 'const') return n.value === 0 ? [] : [{ coef: 1, node: ONE() }];
  if (!opens(n)) return [{ coef: 1, node: n }];
  // A polynomial in its atoms: a negative or fractional power (1/t^1.5) stays outside, where the
  // factor rules keep it, rather than merging into monomials (t^2.5, t^-0.5).
  if (n.kind === 'mul' && n.factors.some((f) => f.node.kind === 'pow' && !(Number.isInteger(f.node.exp) && f.node.exp > 0))) return null;
  const factors = n.kind === 'mul' ? n.factors.map((f) => f.node) : n.kind === 'pow' ? new Array<Node>(n.exp).fill(n.base) : [];
  let acc: Poly | null = [{ coef: 1, node: ONE() }];
  for (const f of factors) {
    const p = expand(f);
    if (p === null) return null;
    acc = times(acc, p);
    if (acc === null) return null;
  }
  return acc;
}

export const collectPolynomial: Rule = {
  name: 'collect-polynomial',
  math: 'a scalar sum of products of sums → its monomials, like terms collected   when it shortens the form',
  apply(n) {
    if (n.kind !== 'add' || n.shape.length !== 0) return undefined;
    // Only a sum with something to multiply out: a product holding a sum, or a power of a sum.
    const holdsSum = (t: Node): boolean =>
      (t.kind === 'pow' && opens(t)) || (t.kind === 'mul' && opens(t) && t.factors.some((f) => f.node.kind === 'add' || (f.node.kind === 'pow' && opens(f.node))));
    if (!n.terms.some((t) => holdsSum(t.node))) return undefined;
    const p = expand(n);
    if (p === null) return undefined;
    const out = makeAdd(p, []);
    return cost(out) < cost(n) ? out : undefined;
  },
};
