/**
 * Rational simplification of element-wise sums. The terms of a sum whose factors all act entry by
 * entry (x.*y./z, scalars) are monomials over "atoms" (sub-expressions treated as unknowns). Over a
 * common denominator the numerator is expanded — atoms that are themselves element-wise sums are
 * multiplied out — collected, and divided by denominator factors where that is exact:
 *   e./s - e.*e./s.^2 = e.*(s - e)./s.^2 = e./s.^2      (s = e + 1)
 */
import { type Node, type NodeOf, compareNodes, isRoundOff, makeAdd, makeMul, makePow, ones } from '../../ir/node.js';
import { cost } from '../cost.js';
import type { Rule } from '../rewrite.js';

type Mono = Map<Node, number>;
interface PTerm {
  coef: number;
  mono: Mono;
}
type Poly = PTerm[];

const MAX_TERMS = 64;

const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

function isIdentity(labels: readonly number[], r: number): boolean {
  return labels.length === r && labels.every((l, i) => l === i);
}

function mulMono(a: Mono, b: Mono, sign = 1): Mono {
  const out = new Map(a);
  for (const [k, e] of b) {
    const v = (out.get(k) ?? 0) + sign * e;
    if (v === 0) out.delete(k);
    else out.set(k, v);
  }
  return out;
}

function monoKey(m: Mono): string {
  return [...m.entries()]
    .sort((a, b) => compareNodes(a[0], b[0]))
    .map(([k, e]) => `${k.id}^${e}`)
    .join('*');
}

function collect(p: Poly): Poly {
  const acc = new Map<string, PTerm & { magnitude: number }>();
  for (const t of p) {
    const k = monoKey(t.mono);
    const hit = acc.get(k);
    if (hit) {
      hit.coef += t.coef;
      hit.magnitude += Math.abs(t.coef);
    } else acc.set(k, { coef: t.coef, mono: t.mono, magnitude: Math.abs(t.coef) });
  }
  // Only what cancels is dropped (as round-off); a small coefficient beside large ones stays.
  return [...acc.values()].filter((t) => !isRoundOff(t.coef, t.magnitude)).map(({ coef, mono }) => ({ coef, mono }));
}

function mulPoly(a: Poly, b: Poly): Poly {
  const out: Poly = [];
  for (const x of a) for (const y of b) out.push({ coef: x.coef * y.coef, mono: mulMono(x.mono, y.mono) });
  return collect(out);
}

/**
 * Monomial of a term, over atoms of the sum's shape or scalars. With `split`, a contraction that
 * leaves no free axis is an atom of its own beside the term's other factors (see below).
 */
function monomial(node: Node, r: number, split: boolean): Mono {
  const m: Mono = new Map();
  const addAtom = (a: Node, e: number): void => {
    // (u^p)^e = u^(p·e) when e is an integer (and where makePow would flatten it: see there).
    if (a.kind === 'pow' && (Number.isInteger(e) || makePow(a.base, a.exp * e) === makePow(a, e))) {
      addAtom(a.base, e * a.exp);
      return;
    }
    if (a.kind === 'const' && a.value === 1) return;
    m.set(a, (m.get(a) ?? 0) + e);
    if (m.get(a) === 0) m.delete(a);
  };
  if (node.kind !== 'mul') {
    addAtom(node, 1);
    return m;
  }
  if (!split) {
    if (node.factors.every((f) => f.labels.length === 0 || isIdentity(f.labels, r))) for (const f of node.factors) addAtom(f.node, 1);
    else addAtom(node, 1);
    return m;
  }
  // Factors on the sum's own axes and scalars are atoms; a contraction among the rest that leaves
  // no free axis (x'*x in x'*x/(1 + x'*x)^2) is one scalar atom, so the powers beside it are seen.
  const plain = node.factors.filter((f) => f.labels.length === 0 || isIdentity(f.labels, r));
  const rest = node.factors.filter((f) => !plain.includes(f));
  if (rest.some((f) => f.labels.some((l) => l < r))) {
    addAtom(node, 1);
    return m;
  }
  for (const f of plain) addAtom(f.node, 1);
  if (rest.length > 0) addAtom(makeMul(rest, 0), 1);
  if (rest.length > 0 && plain.length > 0) splits++;
  return m;
}

/** How many terms `monomial` has split since rationalForm began (0: splitting changed nothing). */
let splits = 0;

function polyOf(n: Node, r: number, split: boolean): Poly {
  if (n.kind === 'add') return n.terms.map((t) => ({ coef: t.coef, mono: monomial(t.node, r, split) }));
  return [{ coef: 1, mono: monomial(n, r, split) }];
}

/** An atom that is an element-wise sum can be multiplied out. */
function expandable(a: Node, r: number): boolean {
  return a.kind === 'add' && (a.shape.length === r || a.shape.length === 0);
}

function expandNumerator(p: Poly, r: number, split: boolean): Poly | undefined {
  let out: Poly = [];
  for (const t of p) {
    let acc: Poly = [{ coef: t.coef, mono: new Map() }];
    for (const [a, e] of t.mono) {
      if (e > 0 && Number.isInteger(e) && expandable(a, r)) {
        const pa = polyOf(a, a.shape.length === 0 ? 0 : r, split);
        for (let k = 0; k < e; k++) {
          acc = mulPoly(acc, pa);
          if (acc.length > MAX_TERMS) return undefined;
        }
      } else acc = mulPoly(acc, [{ coef: 1, mono: new Map([[a, e]]) }]);
    }
    out.push(...acc);
    if (out.length > MAX_TERMS * 4) return undefined;
  }
  return collect(out);
}

/** Lexicographic order on monomials (atoms by id), for polynomial division. */
function compareMono(a: Mono, b: Mono): number {
  const ids = [...new Set([...a.keys(), ...b.keys()])].sort(compareNodes);
  for (const k of ids) {
    const d = (a.get(k) ?? 0) - (b.get(k) ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

function leading(p: Poly): PTerm {
  let best = p[0]!;
  for (const t of p) if (compareMono(t.mono, best.mono) > 0) best = t;
  return best;
}

function dividesMono(d: Mono, m: Mono): boolean {
  for (const [k, e] of d) if ((m.get(k) ?? 0) < e) return false;
  return true;
}

/** N / P when the division is exact, else undefined. */
function divideExact(n: Poly, p: Poly): Poly | undefined {
  if (p.length === 0) return undefined;
  const lp = leading(p);
  let rem = n;
  const q: Poly = [];
  for (let steps = 0; rem.length > 0; steps++) {
    if (steps > MAX_TERMS) return undefined;
    const lr = leading(rem);
    if (!dividesMono(lp.mono, lr.mono)) return undefined;
    const t: PTerm = { coef: lr.coef / lp.coef, mono: mulMono(lr.mono, lp.mono, -1) };
    q.push(t);
    rem = collect([...rem, ...mulPoly([{ coef: -t.coef, mono: t.mono }], p)]);
  }
  return collect(q);
}

function monoNode(m: Mono, r: number, shape: readonly number[]): Node {
  const fs = [...m.entries()].map(([a, e]) => ({ node: makePow(a, e), labels: a.shape.length === 0 ? [] : range(r) }));
  // The ones factor carries the shape when every atom is a scalar (the constructor drops it otherwise).
  if (r > 0) fs.push({ node: ones(shape), labels: range(r) });
  return makeMul(fs, r);
}

function polyNode(p: Poly, r: number, shape: readonly number[]): Node {
  return makeAdd(
    p.map((t) => ({ coef: t.coef, node: monoNode(t.mono, r, shape) })),
    shape,
  );
}

/**
 * The sum over a common denominator. A contraction with no free axis beside powers in a term
 * (x'*x/(1 + x'*x)^2) is first taken as an atom of its own, so that the powers are seen; that form
 * is kept where something cancels (1/(1 + s) - s/(1 + s)^2 is 1/(1 + s)^2), else each such term
 * is one atom, as a product with free axes is: (A + A')*x/(x'*x) - 2*x'*A*x*x/(x'*x)^2 stays two
 * fractions, which nothing shortens.
 */
export function rationalForm(n: NodeOf<'add'>): Node | undefined {
  splits = 0;
  const split = together(n, true);
  return split?.cancelled || splits === 0 ? split?.node : together(n, false)?.node;
}

function together(n: NodeOf<'add'>, split: boolean): { node: Node; cancelled: boolean } | undefined {
  const r = n.shape.length;
  const terms = polyOf(n, r, split);
  if (terms.length < 2 || !terms.some((t) => [...t.mono.values()].some((e) => e < 0))) return undefined;

  // Common denominator: each atom to the largest negative power it has in any term.
  const den: Mono = new Map();
  for (const t of terms) for (const [a, e] of t.mono) if (e < 0) den.set(a, Math.max(den.get(a) ?? 0, -e));
  const numerator = expandNumerator(
    terms.map((t) => ({ coef: t.coef, mono: mulMono(t.mono, den) })),
    r,
    split,
  );
  if (!numerator) return undefined;
  let num = numerator;

  // Cancel what divides: atoms common to all numerator terms, and denominator sums that divide exactly.
  const degree = (m: Mono): number => [...m.values()].reduce((p, e) => p + e, 0);
  const before = degree(den);
  for (const [a, k] of [...den.entries()]) {
    let left = k;
    if (num.length > 0) {
      const common = Math.min(...num.map((t) => t.mono.get(a) ?? 0));
      const c = Math.min(common, left);
      if (c > 0) {
        num = num.map((t) => ({ coef: t.coef, mono: mulMono(t.mono, new Map([[a, c]]), -1) }));
        left -= c;
      }
    }
    if (expandable(a, r) && num.length > 0) {
      const pa = polyOf(a, a.shape.length === 0 ? 0 : r, split);
      while (left >= 1) {
        const q = divideExact(num, pa);
        if (!q) break;
        num = q;
        left -= 1;
      }
    }
    if (left === 0) den.delete(a);
    else den.set(a, left);
  }
  if (num.length === 0) return { node: makeAdd([], n.shape), cancelled: true };
  const cancelled = num.length < terms.length || degree(den) < before;

  // Pull the monomial common to all numerator terms in front.
  const gcd: Mono = new Map();
  const firstMono = num[0]!.mono;
  for (const [a] of firstMono) {
    const e = Math.min(...num.map((t) => t.mono.get(a) ?? 0));
    if (e > 0) gcd.set(a, e);
  }
  const rest = num.map((t) => ({ coef: t.coef, mono: mulMono(t.mono, gcd, -1) }));
  const inverse: Mono = new Map([...den.entries()].map(([a, e]) => [a, -e]));
  const factors = [
    { node: monoNode(gcd, r, n.shape), labels: range(r) },
    { node: polyNode(rest, r, n.shape), labels: range(r) },
    { node: monoNode(inverse, r, n.shape), labels: range(r) },
  ];
  return { node: makeMul(factors, r), cancelled };
}

export const rationalTogether: Rule = {
  name: 'rational-together',
  math: 'Σ p_t/q_t → (Σ p_t·q/q_t)/q, expanded and cancelled   when it shortens the form',
  apply(n) {
    if (n.kind !== 'add') return undefined;
    const out = rationalForm(n);
    if (!out || out === n) return undefined;
    return cost(out) < cost(n) ? out : undefined;
  },
};
