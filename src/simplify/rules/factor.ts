/**
 * Factoring: a factor that several terms of a sum share (on the same axes) is pulled out,
 *   Σ_t c_t φ·R_t → φ·(Σ_t c_t R_t),
 * which turns expanded derivatives back into nested forms such as 2*A'*(A*x - y).
 */
import { type Factor, type Node, type NodeOf, type Term, closedParts, delta, expandedFactors, isSymmetric, makeAdd, makeMul, makePow, makePowv, negatedSum, ones, scalar } from '../../ir/node.js';
import { cost } from '../cost.js';
import type { Rule } from '../rewrite.js';

/** A term of a sum as its coefficient and factors (a product's own, else the node on the output's labels). */
export interface TermView {
  readonly coef: number;
  readonly factors: readonly Factor[];
}

const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

export function view(node: Node, coef: number, r: number): TermView {
  if (node.kind === 'mul' && node.held !== 'layer') return { coef, factors: node.factors };
  return { coef, factors: [{ node, labels: range(r) }] };
}

interface Occurrence {
  readonly index: number;
  readonly labels: readonly number[];
}

/** Greatest common divisor of two whole numbers. */
const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));

/** The least d ≤ most that makes every number whole, or undefined. */
function denominator(cs: readonly number[], most: number): number | undefined {
  for (let d = 1; d <= most; d++) if (cs.every((c) => Number.isInteger(c * d))) return d;
  return undefined;
}

/**
 * A sum as a number times its primitive part: its coefficients divided by their greatest common
 * divisor, with the sign of the first term, so that sums that differ by a number (w and 2*w, as
 * (c*eye + A) spreads c over the terms) are one sum times two numbers. Whole coefficients only,
 * unless `fractions` (0.25 and -0.375 then have 0.125): a fraction taken out of a sum that stays
 * one reads worse (0.25*(3*t - 2) for 0.75*t - 0.5).
 */
export function primitive(sum: Node, fractions = false): { coef: number; node: Node } {
  if (sum.kind !== 'add') return { coef: 1, node: sum };
  const d = denominator(sum.terms.map((t) => t.coef), fractions ? 16 : 1);
  if (d === undefined) return { coef: 1, node: sum };
  const g = (sum.terms.reduce((a, t) => gcd(a, Math.abs(t.coef * d)), 0) / d) * Math.sign(sum.terms[0]!.coef);
  if (g === 1) return { coef: 1, node: sum };
  return { coef: g, node: makeAdd(sum.terms.map((t) => ({ coef: t.coef / g, node: t.node })), sum.shape) };
}

/** Renaming-invariant description of a factor's place in its term. */
function signature(t: TermView, index: number, labels: readonly number[], r: number): string {
  const f = t.factors[index]!;
  const desc = labels.map((l, slot) => {
    if (l < r) return `o${l}`;
    const first = labels.indexOf(l);
    const shared = t.factors.some((g, j) => j !== index && g.labels.includes(l));
    return `${shared ? 's' : 'i'}${first === slot ? slot : `=${first}`}`;
  });
  // The structural hash orders candidates the same way in every process; the id keeps identity.
  return `${f.node.h}#${f.node.id}|${desc.join(',')}`;
}

function occurrences(t: TermView, r: number): Map<string, Occurrence> {
  const out = new Map<string, Occurrence>();
  t.factors.forEach((f, index) => {
    const variants: (readonly number[])[] = [f.labels];
    if (f.labels.length === 2 && isSymmetric(f.node)) variants.push([f.labels[1]!, f.labels[0]!]);
    for (const labels of variants) {
      const sig = signature(t, index, labels, r);
      if (!out.has(sig)) out.set(sig, { index, labels });
    }
  });
  return out;
}

function factorOut(n: NodeOf<'add'>, views: TermView[], occs: Map<string, Occurrence>[], sig: string): Node {
  const r = n.shape.length;
  const members: number[] = [];
  const others: number[] = [];
  occs.forEach((o, t) => (o.has(sig) ? members : others).push(t));

  const first = occs[members[0]!]!.get(sig)!;
  const phi = views[members[0]!]!.factors[first.index]!.node;
  // Interface labels: φ's summed labels that the rest uses (slot order), then the free labels the rests use.
  const ifaceSlots: number[] = [];
  first.labels.forEach((l, slot) => {
    if (l >= r && first.labels.indexOf(l) === slot && sig.split('|')[1]!.split(',')[slot]!.startsWith('s')) ifaceSlots.push(slot);
  });
  const used = new Set<number>();
  for (const t of members) {
    const o = occs[t]!.get(sig)!;
    views[t]!.factors.forEach((g, j) => {
      if (j !== o.index) for (const l of g.labels) if (l < r) used.add(l);
    });
  }
  const U = [...used].sort((a, b) => a - b);
  const nS = ifaceSlots.length;
  // A sum factor of rank > 2 has no matrix form; keep such terms apart.
  if (nS + U.length > Math.max(2, r)) return n;
  const ifaceShape = [...ifaceSlots.map((s) => phi.shape[s]!), ...U.map((u) => n.shape[u]!)];

  const rests = members.map((t) => {
    const v = views[t]!;
    const o = occs[t]!.get(sig)!;
    const map = new Map<number, number>();
    ifaceSlots.forEach((s, k) => map.set(o.labels[s]!, k));
    U.forEach((u, j) => map.set(u, nS + j));
    const base = nS + U.length;
    const relabel = (l: number): number => map.get(l) ?? base + l;
    const fs: Factor[] = v.factors
      .filter((_, j) => j !== o.index)
      .map((g) => ({ node: g.node, labels: g.labels.map(relabel) }));
    let broadcast = false;
    U.forEach((u, j) => {
      if (fs.some((g) => g.labels.includes(nS + j))) return;
      fs.push({ node: ones([n.shape[u]!]), labels: [nS + j] });
      broadcast = true;
    });
    return { coef: v.coef, node: makeMul(fs, base), outer: splitsOutput(fs, base), broadcast };
  });
  // A rest that is an outer product (x*x') would turn a sum of vectors into a sum of matrices:
  // shorter to print, far more work to evaluate. Keep such terms apart.
  if (nS + U.length > r && rests.some((t) => t.outer)) return n;
  // A vector φ on a free label is a diagonal scaling, diag(φ)*(…): where a rest does not reach
  // that label, the sum broadcasts it along a vector of ones, diag(d)*(A + vector(1)*b'), which
  // diag(d)*A + d*b' says plainly (the Hessian of sum(exp(W*x))^0.5 printed W'*diag(t1)*(0.5*W/
  // sum(t1)^0.5 - 0.25*vector(1)*t1'*W/sum(t1)^1.5)). Keep such terms apart.
  if (phi.shape.length === 1 && first.labels[0]! < r && rests.some((t) => t.broadcast)) return n;
  // A term that is φ itself (times scalars) joins as the identity where φ is the vector a sum of
  // vectors maps: c·x + M·x is (M + c·I)·x, x + (A + A' + I)·x is (A + A' + 2·I)·x.
  const joining = r === 1 && phi.shape.length === 1 && phi.kind !== 'const' && nS === 1 && U.length === 1;
  const alone = joining ? others.flatMap((t) => {
    const scalars = scalarsTimes(n.terms[t]!.node, phi);
    return scalars ? [{ t, scalars }] : [];
  }) : [];
  for (const { t, scalars } of alone) rests.push({ coef: n.terms[t]!.coef, node: makeMul([...scalars, { node: delta(phi.shape[0]!), labels: [0, 1] }], 2), outer: false, broadcast: false });
  const shared = sharedScalarSum(rests);
  const sum = primitive(makeAdd(shared ? rests.map((t) => ({ coef: t.coef, node: without(t.node, shared) })) : rests, ifaceShape));

  // φ with its interface labels renamed above the output labels; internal labels stay summed.
  const phiLabels = first.labels.map((l) => {
    if (l < r) return l;
    const k = ifaceSlots.findIndex((s) => first.labels[s] === l);
    return k >= 0 ? r + k : r + nS + l;
  });
  const combined = makeMul(
    [
      { node: phi, labels: phiLabels },
      { node: sum.node, labels: [...range(nS).map((k) => r + k), ...U] },
      ...(shared ? [{ node: shared, labels: [] }] : []),
    ],
    r,
  );
  return makeAdd(
    [{ coef: sum.coef, node: combined }, ...others.filter((t) => !alone.some((a) => a.t === t)).map((t) => n.terms[t]!)],
    n.shape,
  );
}

/**
 * A scalar sum that every rest has as a factor (or is), to take out beside φ: makeAdd would spread
 * it over the rests' sum, 1.5·(1.5 - α) - α·(1.5 - α) into 2.25 + α·(α - 3), which no later rule
 * puts back together as (1.5 - α)^2.
 */
function sharedScalarSum(rests: readonly Term[]): Node | undefined {
  const has = (t: Term, s: Node): boolean => t.node === s || (t.node.kind === 'mul' && t.node.factors.some((f) => f.node === s));
  const first = rests[0]!.node;
  const sums = first.kind === 'mul' ? first.factors.map((f) => f.node) : [first];
  return rests.length < 2 ? undefined : sums.find((s) => s.kind === 'add' && s.shape.length === 0 && rests.every((t) => has(t, s)));
}

/** A rest with one factor s (a scalar) taken out: 1 where it is s. */
function without(n: Node, s: Node): Node {
  if (n === s || n.kind !== 'mul') return scalar(1);
  const k = n.factors.findIndex((f) => f.node === s);
  return makeMul(n.factors.filter((_, j) => j !== k), n.shape.length);
}

/** The scalar factors of a vector term that is φ times scalars (none for φ itself), else undefined. */
function scalarsTimes(term: Node, phi: Node): Factor[] | undefined {
  if (term === phi) return [];
  if (term.kind !== 'mul') return undefined;
  const k = term.factors.findIndex((f) => f.node === phi && f.labels.length === 1 && f.labels[0] === 0);
  if (k < 0 || term.factors.some((f, j) => j !== k && f.labels.length > 0)) return undefined;
  return term.factors.filter((_, j) => j !== k);
}

/** Whether the free labels 0..rank-1 of a product fall into more than one connected part. */
function splitsOutput(fs: readonly Factor[], rank: number): boolean {
  if (rank < 2) return false;
  const parent = new Map<number, number>();
  const find = (l: number): number => {
    while (parent.has(l) && parent.get(l) !== l) l = parent.get(l)!;
    return l;
  };
  const union = (a: number, b: number): void => {
    const ra = find(a);
    const rb = find(b);
    if (ra !== rb) parent.set(ra, rb);
  };
  for (const f of fs) {
    if (f.node.kind === 'const') continue;
    for (const l of f.labels) if (!parent.has(l)) parent.set(l, l);
    for (let i = 1; i < f.labels.length; i++) union(f.labels[0]!, f.labels[i]!);
  }
  const roots = new Set<number>();
  for (let l = 0; l < rank; l++) roots.add(parent.has(l) ? find(l) : -1 - l);
  return roots.size > 1;
}

/** How many terms hold each key (a key counted once per term), for the keys held by two or more. */
function sharedKeys(keysPerTerm: readonly Iterable<string>[]): Map<string, number> {
  const count = new Map<string, number>();
  for (const keys of keysPerTerm) for (const k of new Set(keys)) count.set(k, (count.get(k) ?? 0) + 1);
  for (const [k, c] of count) if (c < 2) count.delete(k);
  return count;
}

export const factorCommon: Rule = {
  name: 'factor-common',
  math: 'Σ_t c_t φ R_t → φ (Σ_t c_t R_t)   when it shortens the form',
  apply(n) {
    if (n.kind !== 'add' || n.terms.length < 2) return undefined;
    const before = cost(n);
    const direct = factorShared(n, before);
    if (direct) return direct;
    let out = FLAT_FACTORED.get(n);
    if (out === undefined) {
      const flat = withFlatVectorProducts(n);
      out = (flat && factorShared(flat, before)) ?? null;
      FLAT_FACTORED.set(n, out);
    }
    return out ?? undefined;
  },
};

/** withFlatVectorProducts's factoring per sum (null: none), as the rewriter meets a sum again on each pass. */
const FLAT_FACTORED = new WeakMap<Node, Node | null>();

/** factor-common on a sum: the first of its most shared factors whose taking out costs less than `before`. */
function factorShared(n: NodeOf<'add'>, before: number): Node | undefined {
  const r = n.shape.length;
  const views = n.terms.map((t) => view(t.node, t.coef, r));
  const occs = views.map((v) => occurrences(v, r));
  const count = sharedKeys(occs.map((o) => o.keys()));
  const nodeOf = (sig: string): Node => {
    for (let t = 0; t < occs.length; t++) {
      const o = occs[t]!.get(sig);
      if (o) return views[t]!.factors[o.index]!.node;
    }
    throw new Error('unreachable');
  };
  const candidates = [...count.entries()]
    .sort((a, b) => b[1] - a[1] || cost(nodeOf(b[0])) - cost(nodeOf(a[0])) || (a[0] < b[0] ? -1 : 1))
    .slice(0, 8);
  for (const [sig] of candidates) {
    const out = factorOut(n, views, occs, sig);
    if (cost(out) < before) return out;
  }
  return undefined;
}

/**
 * A product of vectors and deltas (a diagonal tensor times vectors): what element-wise chains
 * differentiate to. makeMul keeps long products nested, so that a chain's terms share its parts;
 * a factor that every term of a sum has may then sit inside a nested product of one term and
 * beside it in another, where no signature sees it shared.
 */
function vectorProduct(n: Node): boolean {
  if (n.kind !== 'mul' || n.held) return false;
  let is = VECTOR_PRODUCTS.get(n);
  if (is === undefined) VECTOR_PRODUCTS.set(n, (is = n.factors.every((f) => f.node.shape.length <= 1 || f.node.kind === 'delta' || vectorProduct(f.node))));
  return is;
}
/** vectorProduct per product: a chain's nested products are met again under every term. */
const VECTOR_PRODUCTS = new WeakMap<Node, boolean>();

/**
 * The most factors a term written out may have: past it the term stays nested, as makeMul keeps
 * it, and the rewriter's work stays linear in a chain's depth.
 */
const MAX_FLAT_VECTOR_FACTORS = 32;

/**
 * The sum with every nested product of vectors in its terms written out (deltas contracted by
 * makeMul), or undefined where no term has one: the Hessian of sum(t4) where t1 = sigmoid(x), …
 * is diag of seven terms with six vectors in common, each term a product of nested ones.
 */
function withFlatVectorProducts(n: NodeOf<'add'>): NodeOf<'add'> | undefined {
  let changed = false;
  const terms = n.terms.map((t) => {
    const m = t.node;
    if (m.kind !== 'mul' || m.held || !m.factors.some((f) => vectorProduct(f.node))) return t;
    const fs = expandedFactors(m, (f) => !vectorProduct(f.node));
    if (fs.length > MAX_FLAT_VECTOR_FACTORS) return t;
    changed = true;
    return { coef: t.coef, node: makeMul(fs, m.shape.length) };
  });
  if (!changed) return undefined;
  const flat = makeAdd(terms, n.shape);
  return flat.kind === 'add' && flat.terms.length >= 2 ? flat : undefined;
}

// ---------------------------------------------------------------------------------------------
// Powers of a shared base

/** A base's representative up to sign: b = sign·rep (a sum and its negation share one). */
function signedBase(b: Node): { rep: Node; sign: 1 | -1 } {
  const m = negatedSum(b);
  return m ? { rep: m, sign: -1 } : { rep: b, sign: 1 };
}

/**
 * One factor of a term read as sign^exp·rep^exp, or rep^(sym + exp) where its exponent is a node
 * (u^(a - 2): sym = a, exp = -2), on no labels (a scalar) or on the term's own axes.
 */
interface PowerFactor {
  /** The term's factors that make it: one, or a closed part (x_i x_i is the scalar x'x). */
  readonly indices: readonly number[];
  readonly rep: Node;
  readonly sign: 1 | -1;
  readonly exp: number;
  readonly sym: Node | null;
  /** The factor is a scalar in a product of higher rank. */
  readonly scalarFactor: boolean;
}

/**
 * What factors must share to come out together: the base up to sign, the sign of the power (or
 * the exponent's symbolic part), the placement. Nodes are written by structural hash first, as in
 * the signatures above, so that ties between candidates break alike in every process.
 */
const powerKey = (p: PowerFactor): string => `${nodeKey(p.rep)}|${p.sym ? `s${nodeKey(p.sym)}` : p.exp > 0 ? '+' : '-'}|${p.scalarFactor}`;
const nodeKey = (n: Node): string => `${n.h}#${n.id}`;

/** An exponent node as sym + c: c its constant term (c·1), sym the rest. */
function splitExponent(e: Node): { sym: Node; c: number } {
  if (e.kind !== 'add') return { sym: e, c: 0 };
  const k = e.terms.findIndex((t) => t.node.kind === 'const' && t.node.value === 1);
  if (k < 0) return { sym: e, c: 0 };
  return { sym: makeAdd(e.terms.filter((_, j) => j !== k), e.shape), c: e.terms[k]!.coef };
}

function powerFactors(t: TermView, r: number): PowerFactor[] {
  const out: PowerFactor[] = [];
  t.factors.forEach((f, index) => {
    const scalarFactor = f.labels.length === 0 && r > 0;
    if (!scalarFactor && !f.labels.every((l, i) => l === i && f.labels.length === r)) return;
    if (f.node.kind === 'powv') {
      const { sym, c } = splitExponent(f.node.exponent);
      const base = f.node.base;
      if (base.kind !== 'const' && base.kind !== 'delta') out.push({ indices: [index], rep: base, sign: 1, exp: c, sym, scalarFactor });
      return;
    }
    const [base, exp] = f.node.kind === 'pow' ? [f.node.base, f.node.exp] : [f.node, 1];
    // Constants and deltas are structure (ones, diag), not bases to take out.
    if (base.kind === 'const' || base.kind === 'delta') return;
    const { rep, sign } = signedBase(base);
    // A negated base only with an integer power ((-u)^k = (-1)^k·u^k).
    if (sign === -1 && !Number.isInteger(exp)) return;
    out.push({ indices: [index], rep, sign, exp, sym: null, scalarFactor });
  });
  // A closed part is a scalar factor too: sum(z)^2*u - sum(z)*v → sum(z)*(sum(z)*u - v).
  for (const part of closedParts(t.factors, r)) {
    if (part.length === t.factors.length && r === 0) continue;
    const rep = makeMul(part.map((k) => t.factors[k]!), 0);
    out.push({ indices: part, rep, sign: 1, exp: 1, sym: null, scalarFactor: r > 0 });
  }
  return out;
}

/**
 * Σ_t c_t u^(k_t) R_t over the terms where u has a power of one sign → u^m Σ_t c_t u^(k_t - m) R_t,
 * m the power nearest 0 (the least positive one, or the least negative one), so that what stays
 * inside keeps powers of the sign it had. A fractional power anywhere in the sum already makes
 * the sum undefined where u < 0, so splitting powers keeps every value; at a pole (u = 0 under
 * negative powers) the sum is undefined before and after, as with any factoring (1/u - 2/u).
 * Powers u^(a + k_t) with one symbolic part a come out as u^(a + m), m the least k_t, where the
 * k_t differ by integers: u^(a + k) = u^a·u^k then holds wherever u^(a + k) is defined (for u < 0,
 * a is an integer there). Otherwise the sum is returned as it is.
 */
function factorPowerOut(n: NodeOf<'add'>, views: readonly TermView[], pfs: readonly PowerFactor[][], key: string): Node {
  const r = n.shape.length;
  const members = pfs.map((ps) => ps.filter((p) => powerKey(p) === key));
  const { rep, exp, sym, scalarFactor } = members.find((ms) => ms.length > 0)![0]!;
  const exps = members.flatMap((ms) => (ms.length > 0 ? [ms.reduce((s, p) => s + p.exp, 0)] : []));
  const m = sym || exp > 0 ? Math.min(...exps) : Math.max(...exps);
  if (sym && (members.some((ms) => ms.length > 1) || exps.some((k) => !Number.isInteger(k - m)))) return n;
  const labels = scalarFactor ? [] : range(r);
  const inner: Term[] = [];
  const others: Term[] = [];
  views.forEach((v, t) => {
    const ms = members[t]!;
    if (ms.length === 0) return others.push(n.terms[t]!);
    const k = ms.reduce((s, p) => s + p.exp, 0);
    const sign = ms.reduce((s, p) => s * (p.sign === -1 && Math.abs(p.exp) % 2 === 1 ? -1 : 1), 1);
    const drop = new Set(ms.flatMap((p) => p.indices));
    const fs: Factor[] = v.factors.filter((_, j) => !drop.has(j));
    if (k !== m) fs.push({ node: makePow(rep, k - m), labels });
    // An axis that only the base covered is now covered by ones.
    for (let l = 0; l < r; l++) if (!fs.some((g) => g.labels.includes(l))) fs.push({ node: ones([n.shape[l]!]), labels: [l] });
    inner.push({ coef: v.coef * sign, node: fs.length === 0 ? ones(n.shape) : makeMul(fs, r) });
  });
  const sum = primitive(makeAdd(inner, n.shape));
  const outer = sym ? makePowv(rep, makeAdd([{ coef: 1, node: sym }, { coef: m, node: ones(sym.shape) }], sym.shape)) : makePow(rep, m);
  const combined = makeMul(
    [
      { node: outer, labels },
      { node: sum.node, labels: range(r) },
    ],
    r,
  );
  return makeAdd([{ coef: sum.coef, node: combined }, ...others], n.shape);
}

export const factorPowers: Rule = {
  name: 'factor-powers',
  math: 'Σ_t c_t u^(k_t) R_t → u^m (Σ_t c_t u^(k_t - m) R_t), u up to sign, entry-wise   when it shortens the form',
  apply(n) {
    if (n.kind !== 'add' || n.terms.length < 2) return undefined;
    const r = n.shape.length;
    const views = n.terms.map((t) => view(t.node, t.coef, r));
    const pfs = views.map((v) => powerFactors(v, r));
    const count = sharedKeys(pfs.map((ps) => ps.map(powerKey)));
    const candidates = [...count.entries()]
      .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
      .slice(0, 8);
    let best: Node | undefined;
    let bestCost = cost(n);
    for (const [key] of candidates) {
      const out = factorPowerOut(n, views, pfs, key);
      const c = cost(out);
      if (c < bestCost) [best, bestCost] = [out, c];
    }
    return best;
  },
};
