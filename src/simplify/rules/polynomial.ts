/**
 * Collecting a polynomial: a sum whose terms multiply sums, or raise them to small integer
 * powers, is multiplied out and its like terms collected, where that shortens the form:
 *   24*k + 4*k^3*(12*k^2 + 16*k^6) + 96*k^5 → 24*k + 144*k^5 + 64*k^9,
 *   (2*t - 1)^2 - 2*t*(1 - t)             → 1 - 6*t + 6*t^2,
 * and entry-wise, over the Hadamard products of a tensor sum (terms that read every factor on the
 * sum's own axes, or a scalar):
 *   (vector(1) - t).*y - t.*(vector(1) - y) → y - t   (the gradient of the binary cross-entropy).
 * Atoms are whatever is not such a sum, product or power (t1, sigmoid(b), x'*y, A*x), but
 * sigmoid(-u) beside sigmoid(u) is 1 - sigmoid(u); products of atoms are canonical nodes, so
 * makeAdd collects equal monomials. factor-unit-roots then writes a
 * root at 1 or -1 of a polynomial in one atom (scalar, or entry-wise in a tensor atom) as a factor,
 * which multiplying out would lose to rounding; a polynomial with such a root is not multiplied
 * out, entry-wise either.
 */
import { type Dim, type Node, type Term, isAllOnes, makeAdd, makeElem, makeMul, makePow, neg, negatedSum, ones, scale, splitCoef } from '../../ir/node.js';
import { cost } from '../cost.js';
import type { Rule } from '../rewrite.js';

/** Most monomials while multiplying out (before collecting); past it the rule does not apply. */
const MAX_MONOMIALS = 24;
/** Highest power of a sum multiplied out. */
const MAX_POWER = 4;

type Poly = Term[];

/** The monomial 1 (scalar; entry-wise it stands for the tensor of ones). */
const ONE = (): Node => ones([]);

/** The labels of a factor of an entry-wise product of rank r: a scalar has none, a tensor reads its axes in order. */
const labelsIn = (n: Node, r: number): number[] => (n.shape.length === 0 ? [] : Array.from({ length: r }, (_, i) => i));

/** a·b for two monomials of a polynomial of rank r, as coefficient × canonical node. */
function monomial(a: Node, b: Node, r: number): Term {
  if (a === ONE()) return { coef: 1, node: b };
  if (b === ONE()) return { coef: 1, node: a };
  const rank = a.shape.length === 0 && b.shape.length === 0 ? 0 : r;
  const [coef, node] = splitCoef(
    makeMul(
      [
        { node: a, labels: labelsIn(a, rank) },
        { node: b, labels: labelsIn(b, rank) },
      ],
      rank,
    ),
  );
  return { coef, node };
}

/** p·q with equal monomials collected; null past MAX_MONOMIALS. */
function times(p: Poly, q: Poly, r: number): Poly | null {
  if (p.length * q.length > MAX_MONOMIALS) return null;
  const out = new Map<Node, number>();
  for (const a of p)
    for (const b of q) {
      const m = monomial(a.node, b.node, r);
      out.set(m.node, (out.get(m.node) ?? 0) + a.coef * b.coef * m.coef);
    }
  return [...out].map(([node, coef]) => ({ coef, node }));
}

/** Whether the factor labels read a tensor of rank r entry-wise: none (a scalar) or its axes in order. */
const entrywise = (labels: readonly number[], r: number): boolean => labels.length === 0 || (labels.length === r && labels.every((l, i) => l === i));

/**
 * Whether n is an entry-wise product (of rank r: no summed label, each factor a scalar or read on
 * the axes in order), or a small integer power of a sum: what expand opens.
 */
function opens(n: Node, r: number): boolean {
  if (n.kind === 'mul') return n.shape.length === r && n.nlabels === r && n.factors.every((f) => entrywise(f.labels, r));
  return n.kind === 'pow' && n.base.kind === 'add' && Number.isInteger(n.exp) && n.exp >= 2 && n.exp <= MAX_POWER;
}

/** n multiplied out into monomials (entry-wise of rank r for a tensor n), or null past MAX_MONOMIALS. */
function expand(n: Node, r: number, reflect: ReadonlyMap<Node, Node>, root = false): Poly | null {
  // A where clause's sum or product below the root is an atom: multiplied out, the layer would
  // be spelled out in every layer above it (the layers (1.5 - alpha)*t as a polynomial in alpha).
  if ((n.kind === 'add' || n.kind === 'mul') && n.held === 'layer' && !root) return [{ coef: 1, node: n }];
  if (n.kind === 'add') {
    const out: Poly = [];
    for (const t of n.terms) {
      const p = expand(t.node, r, reflect);
      if (p === null || out.length + p.length > MAX_MONOMIALS) return null;
      for (const u of p) out.push({ coef: t.coef * u.coef, node: u.node });
    }
    return out;
  }
  if (n.kind === 'const') return n.value === 0 ? [] : [{ coef: n.value, node: ONE() }];
  if (isAllOnes(n)) return [{ coef: 1, node: ONE() }];
  const rank = n.shape.length === 0 ? 0 : r;
  const reflected = reflect.get(n);
  if (reflected) return [{ coef: 1, node: ONE() }, { coef: -1, node: reflected }];
  if (!opens(n, rank)) return [{ coef: 1, node: n }];
  // A polynomial in its atoms: a negative or fractional power (1/t^1.5) stays outside, where the
  // factor rules keep it, rather than merging into monomials (t^2.5, t^-0.5).
  if (n.kind === 'mul' && n.factors.some((f) => f.node.kind === 'pow' && !(Number.isInteger(f.node.exp) && f.node.exp > 0))) return null;
  const factors = n.kind === 'mul' ? n.factors.map((f) => f.node) : n.kind === 'pow' ? new Array<Node>(n.exp).fill(n.base) : [];
  let acc: Poly | null = [{ coef: 1, node: ONE() }];
  for (const f of factors) {
    const p = expand(f, rank, reflect);
    if (p === null) return null;
    acc = times(acc, p, rank);
    if (acc === null) return null;
  }
  return acc;
}

/**
 * sigmoid(-u) for an atom sigmoid(u) whose argument is a negation (-X*w, b - a in the other sign):
 * sigmoid(u) = 1 - sigmoid(-u), so that a polynomial holding both collects (y.*sigmoid(-u) -
 * (1 - y).*sigmoid(u) is y - sigmoid(u), the gradient of the binary cross-entropy).
 */
function reflectedSigmoid(n: Node): Node | undefined {
  if (n.kind !== 'elem' || n.fn !== 'sigmoid') return undefined;
  const [k] = splitCoef(n.arg);
  const flipped = k < 0 ? neg(n.arg) : negatedSum(n.arg);
  return flipped && makeElem('sigmoid', flipped);
}

/**
 * The atoms sigmoid(-u) of a sum that holds sigmoid(u) too, each with sigmoid(u): only there is
 * one written as 1 minus the other (elsewhere sigmoid(-u) stays as it is).
 */
function reflections(n: Node): Map<Node, Node> {
  const atoms = new Set<Node>();
  // Each node once: the sum is a DAG, and a residual network's derivative holds each layer in two
  // paths (walked as a tree, its 28 layers took 60 s).
  const seen = new Set<Node>();
  const walk = (m: Node): void => {
    if (seen.has(m)) return;
    seen.add(m);
    if (m.kind === 'elem' && m.fn === 'sigmoid') atoms.add(m);
    else if (m.kind === 'add') m.terms.forEach((t) => walk(t.node));
    else if (m.kind === 'mul') m.factors.forEach((f) => walk(f.node));
    else if (m.kind === 'pow') walk(m.base);
  };
  walk(n);
  const out = new Map<Node, Node>();
  for (const a of atoms) {
    const r = reflectedSigmoid(a);
    if (r && atoms.has(r)) out.set(a, r);
  }
  return out;
}

/** A monomial as a term of a sum of this shape: a scalar one broadcast over the axes. */
function broadcast(node: Node, shape: readonly Dim[]): Node {
  if (node.shape.length === shape.length) return node;
  const ids = shape.map((_, i) => i);
  return makeMul(
    [
      { node, labels: [] },
      { node: ones(shape), labels: ids },
    ],
    shape.length,
  );
}

export const collectPolynomial: Rule = {
  name: 'collect-polynomial',
  math: 'a sum of products of sums (scalar, or entry-wise) → its monomials, like terms collected   when it shortens the form',
  apply(n) {
    if (n.kind !== 'add') return undefined;
    const r = n.shape.length;
    // Only a sum with something to multiply out: a product holding a sum, or a power of a sum.
    const holdsSum = (t: Node): boolean =>
      (t.kind === 'pow' && opens(t, r)) ||
      (t.kind === 'mul' && opens(t, r) && t.factors.some((f) => f.node.kind === 'add' || (f.node.kind === 'pow' && opens(f.node, f.node.shape.length === 0 ? 0 : r))));
    if (!n.terms.some((t) => holdsSum(t.node))) return undefined;
    const p = expand(n, r, reflections(n), true);
    if (p === null) return undefined;
    const out = makeAdd(
      p.map((t) => ({ coef: t.coef, node: broadcast(t.node, n.shape) })),
      n.shape,
    );
    // Entry-wise only where like terms collect (some monomials cancel or merge), not to
    // distribute: y.*(t.^2 + vector(1)) stays, which reads as the derivative it is.
    const terms = out.kind === 'add' ? out.terms.length : 1;
    if (r > 0 && terms >= p.length) return undefined;
    // Multiplied out, a root at ±1 would be lost to rounding (see factorUnitRoots).
    const u = univariate(out, true);
    if (u && unitRootsOf(u.coefs).some((k) => k > 0)) return undefined;
    return cost(out) < cost(n) ? out : undefined;
  },
};

/**
 * A polynomial in one atom with a root at 1 or -1 written with it as a factor:
 *   1 + 2*t^6 + 8*t^2 + t^3 - 5*t^4 - 6*t - t^5 → (1 - t)^2*(1 + 2*t + 4*t^2 + 3*t^3 + 2*t^4).
 * Where the atom nears the root (a saturated sigmoid or tanh, t = 1 - 1e-9), the expanded form
 * loses every digit to cancellation and the factored one none: the third derivative of
 * arcsin(sigmoid(a)) divides such a numerator by (1 - t^2)^2.5, and its compiled and reference
 * values differed by 20 % at a = 19 (fuzzer, seed 4).
 */
export const factorUnitRoots: Rule = {
  name: 'factor-unit-roots',
  math: 'p(t) with p(±1) = 0 → (1 ∓ t)^m·q(t)   (scalar, or entry-wise: (1 - t).^m.*q(t))',
  apply(n) {
    const r = n.shape.length;
    const u = univariate(n, true);
    // A binomial (1 - t^8, t^2 - t) reads better as written and loses no more digits than t^d.
    if (!u || u.atom.shape.length !== r || u.coefs.filter((c) => c !== 0).length < 3) return undefined;
    const [m, k] = unitRootsOf(u.coefs);
    if (m + k === 0) return undefined;
    let q = u.coefs;
    for (let i = 0; i < m; i++) q = divideByRoot(q, 1);
    for (let i = 0; i < k; i++) q = divideByRoot(q, -1);
    // (1 - t^2)^2 multiplied out stays a polynomial in t^2 (a difference of squares, as written).
    if (m === k && q.length === 1) return undefined;
    // (t - 1)^m = (-1)^m·(1 - t)^m.
    const sign = m % 2 === 0 ? 1 : -1;
    const linear = (c: number): Node =>
      makeAdd(
        [
          { coef: 1, node: ones(n.shape) },
          { coef: c, node: u.atom },
        ],
        n.shape,
      );
    const factors: Node[] = [makePow(linear(-1), m), makePow(linear(1), k), polynomial(u.atom, q)].filter((f) => !isAllOnes(f));
    return scale(sign, makeMul(factors.map((node) => ({ node, labels: labelsIn(node, r) })), r));
  },
};

/**
 * A scalar sum (or with entryWise, a tensor sum read entry by entry) as a polynomial in one atom
 * (t, t^2, …, constants), its coefficients by degree.
 */
function univariate(n: Node, entryWise = false): { atom: Node; coefs: number[] } | undefined {
  if (n.kind !== 'add' || (n.shape.length !== 0 && !entryWise)) return undefined;
  let atom: Node | undefined;
  const coefs: number[] = [];
  for (const t of n.terms) {
    let base = t.node;
    let degree = 1;
    let coef = t.coef;
    if (base.kind === 'const' || isAllOnes(base)) {
      degree = 0;
      coef *= base.kind === 'const' ? base.value : 1;
    } else if (base.kind === 'pow' && Number.isInteger(base.exp) && base.exp >= 2) {
      degree = base.exp;
      base = base.base;
    }
    if (degree > 0) {
      if (atom !== undefined && atom !== base) return undefined;
      atom = base;
    }
    coefs[degree] = (coefs[degree] ?? 0) + coef;
  }
  if (!atom) return undefined;
  return { atom, coefs: Array.from(coefs, (c) => c ?? 0) };
}

/** How many times 1 and -1 are roots of the polynomial (coefficients by degree, exact up to rounding). */
function unitRootsOf(coefs: readonly number[]): [number, number] {
  const count = (r: number): number => {
    let q = coefs;
    let k = 0;
    while (q.length > 1 && isRoot(q, r)) {
      q = divideByRoot(q, r);
      k++;
    }
    return k;
  };
  return [count(1), count(-1)];
}

function isRoot(coefs: readonly number[], r: number): boolean {
  let value = 0;
  let size = 0;
  coefs.forEach((c, d) => {
    value += c * r ** d;
    size += Math.abs(c);
  });
  return Math.abs(value) <= 1e-12 * size;
}

/** p(t)/(t - r) for a root r, by synthetic division. */
function divideByRoot(coefs: readonly number[], r: number): number[] {
  const d = coefs.length - 1;
  const q = new Array<number>(d).fill(0);
  q[d - 1] = coefs[d]!;
  for (let k = d - 1; k >= 1; k--) q[k - 1] = coefs[k]! + r * q[k]!;
  return q;
}

/** Σ_d c_d·t^d as a node (entry-wise where t is a tensor). */
function polynomial(atom: Node, coefs: readonly number[]): Node {
  const terms: Term[] = [];
  coefs.forEach((c, d) => {
    if (c !== 0) terms.push({ coef: c, node: d === 0 ? ones(atom.shape) : makePow(atom, d) });
  });
  return makeAdd(terms, atom.shape);
}
