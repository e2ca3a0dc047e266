/**
 * A printed sum divided by a sum of matrices that the input writes. The sum is expanded into
 * monomials (a number, integer powers of scalars, and a chain of matrix and vector factors, eye
 * dropped) and divided by the written sum W as polynomials are, leading term first, but with
 * factors that do not commute: E = Q*W where W stands on the right of every term, E = W*Q on the
 * left. The Hessian of norm2((X'*X + b*eye)*x - y)^2 is printed by the IR's expansion as
 * b^2*eye + X'*(2*b*X + X*X'*X); divided by X'*X + b*eye it leaves X'*X + b*eye, so it reads
 * (X'*X + b*eye)^2. A remainder (or an expansion too large to try) leaves the sum as it is.
 */
import type { Ast } from '../syntax/ast.js';
import { bin, name, num, tr } from './build.js';
import { FLIP, infoOf, mexpr, powerOf, productKind } from './mexpr.js';
import { kindOf, productOf, scalarPower } from './chains.js';
import { isSum } from './signs.js';
import { toText } from './text.js';

/** c · Π s^k · F1*F2*…: scalars by their texts, the chain's factors in order (eye is none). */
export interface Monomial {
  readonly coef: number;
  readonly scalars: ReadonlyMap<string, { readonly base: Ast; readonly exp: number }>;
  readonly chain: readonly Ast[];
}

/** Expansions past this many monomials are not tried (a product of sums multiplies their counts). */
const MAX_MONOMIALS = 64;

const isEye = (a: Ast): boolean => a.kind === 'name' && a.name === 'eye';

/** Constants and products of sizes whose texts do not fix their sizes. */
const SIZED = new Set(['vector', 'matrix', 'kron', 'commutation']);

/**
 * The monomials of a printed form (undefined where there are too many); `definition` spells out
 * the temporaries it gives (t1 read as its definition's monomials).
 */
export function expand(a: Ast, definition?: (name: string) => Ast | undefined): Monomial[] | undefined {
  const def = a.kind === 'name' && definition ? definition(a.name) : undefined;
  if (def) return expand(def, definition);
  if (isSum(a) && a.kind === 'binary') {
    const l = expand(a.left, definition);
    const r = l && expand(a.right, definition);
    if (!l || !r || l.length + r.length > MAX_MONOMIALS) return undefined;
    return [...l, ...(a.op === '-' ? r.map((m) => scaled(m, -1)) : r)];
  }
  if (a.kind === 'neg') return expand(a.arg, definition)?.map((m) => scaled(m, -1));
  if (a.kind === 'num') return [{ coef: a.value, scalars: new Map(), chain: [] }];
  if (isEye(a)) return [{ coef: 1, scalars: new Map(), chain: [] }];
  // (A product a pass made untyped has the kind its factors give it.)
  const [kl, kr] = a.kind === 'binary' ? [kindOf(a.left), kindOf(a.right)] : [undefined, undefined];
  const kind = kindOf(a) ?? (a.kind === 'binary' && a.op === '*' && kl && kr ? productKind(kl, kr) : undefined);
  if (a.kind === 'binary' && a.op === '*' && kind !== undefined) {
    // A scalar made of non-scalars (x'*B*y) is one scalar factor.
    if (kl !== undefined && kr !== undefined && (kind !== 'scalar' || (kl === 'scalar' && kr === 'scalar'))) {
      const l = expand(a.left, definition);
      const r = l && expand(a.right, definition);
      if (!l || !r || l.length * r.length > MAX_MONOMIALS) return undefined;
      return l.flatMap((x) => r.map((y) => times(x, y)));
    }
  }
  // A^k (and (A^k)'): k factors A (A'); a transposed sum, its terms transposed.
  const p = kind === 'matrix' ? powerOf(a) : undefined;
  if (p && Number.isInteger(p.count) && p.count > 0) return power(expand(p.base.ast, definition), p.count);
  if (kind === 'matrix' && a.kind === 'binary' && a.op === '^' && a.right.kind === 'num' && Number.isInteger(a.right.value) && a.right.value > 0)
    return power(expand(a.left, definition), a.right.value);
  if (a.kind === 'transpose' && (isSum(a.arg) || (kind === 'matrix' && a.arg.kind === 'binary' && a.arg.op === '^'))) return expand(a.arg, definition)?.map(transposedMonomial);
  if (kind === 'scalar') {
    const { base, exp } = scalarPower(a);
    return [{ coef: 1, scalars: new Map([[toText(base), { base, exp }]]), chain: [] }];
  }
  // A constant's size is not in its text (vector(1) stands for any length): no factor to divide by.
  if (kind === undefined || (a.kind === 'call' && SIZED.has(a.fn))) return undefined;
  return [{ coef: 1, scalars: new Map(), chain: [a] }];
}

/** The k-th power of a sum of monomials (undefined where it has too many). */
function power(ms: Monomial[] | undefined, k: number): Monomial[] | undefined {
  let out = ms;
  for (let i = 1; out && ms && i < k; i++) out = out.length * ms.length > MAX_MONOMIALS ? undefined : out.flatMap((x) => ms.map((y) => times(x, y)));
  return out;
}

function scaled(m: Monomial, c: number): Monomial {
  return { ...m, coef: m.coef * c };
}

function times(x: Monomial, y: Monomial): Monomial {
  const scalars = new Map(x.scalars);
  for (const [k, s] of y.scalars) {
    const exp = (scalars.get(k)?.exp ?? 0) + s.exp;
    if (exp === 0) scalars.delete(k);
    else scalars.set(k, { base: s.base, exp });
  }
  return { coef: x.coef * y.coef, scalars, chain: [...x.chain, ...y.chain] };
}

/** The monomial transposed: its chain reversed, each factor transposed (eye and scalars stay). */
export function transposedMonomial(m: Monomial): Monomial {
  const flip = (f: Ast): Ast => {
    const info = infoOf(f);
    if (info?.symmetric) return f;
    const t = tr(f);
    return info ? mexpr(t, FLIP[info.kind]).ast : t;
  };
  return { ...m, chain: [...m.chain].reverse().map(flip) };
}

const chainKey = (fs: readonly Ast[]): string => fs.map(toText).join('*');

function keyOf(m: Monomial): string {
  const s = [...m.scalars].map(([k, v]) => `${k}^${v.exp}`).sort();
  return `${chainKey(m.chain)}|${s.join(' ')}`;
}

/** Like monomials added up; those that cancel dropped. */
function collect(ms: readonly Monomial[]): Map<string, Monomial> {
  const out = new Map<string, Monomial>();
  for (const m of ms) {
    const k = keyOf(m);
    const had = out.get(k);
    out.set(k, had ? { ...had, coef: had.coef + m.coef } : m);
  }
  for (const [k, m] of out) if (Math.abs(m.coef) < 1e-12) out.delete(k);
  return out;
}

/**
 * Q with E = Q*W (`side` right: W on the right of every term) or E = W*Q (left); undefined where
 * a remainder is left. W's leading term is a longest chain; each step divides the remainder's
 * longest term that ends (begins) with it, so the steps end.
 */
export function divide(e: readonly Monomial[], w: readonly Monomial[], side: 'right' | 'left'): Monomial[] | undefined {
  const longest = Math.max(...w.map((m) => m.chain.length));
  if (longest === 0 || w.length < 2) return undefined;
  // Of several longest terms (A + B + eye), each in turn leads until one divides. The first step
  // of a division takes a monomial of e that ends in the lead: where none does, it cannot start.
  const ends = endKeys(e, side, longest);
  for (const lead of w.filter((m) => m.chain.length === longest)) {
    if (!ends.has(chainKey(lead.chain))) continue;
    const q = divideBy(e, w, lead, side);
    if (q) return q;
  }
  return undefined;
}

/** Per dividend, the keys of its monomials' last (right) or first (left) k chain factors. */
const ENDS = new WeakMap<readonly Monomial[], Map<string, ReadonlySet<string>>>();

function endKeys(e: readonly Monomial[], side: 'right' | 'left', k: number): ReadonlySet<string> {
  let byEnd = ENDS.get(e);
  if (!byEnd) ENDS.set(e, (byEnd = new Map()));
  let keys = byEnd.get(`${side}${k}`);
  if (!keys) {
    const out = new Set<string>();
    for (const m of e) if (m.chain.length >= k) out.add(chainKey(side === 'right' ? m.chain.slice(m.chain.length - k) : m.chain.slice(0, k)));
    byEnd.set(`${side}${k}`, (keys = out));
  }
  return keys;
}

function divideBy(e: readonly Monomial[], w: readonly Monomial[], lead: Monomial, side: 'right' | 'left'): Monomial[] | undefined {
  const longest = lead.chain.length;
  const leadKey = chainKey(lead.chain);
  const divides = (m: Monomial): boolean => {
    if (m.chain.length < longest) return false;
    const part = side === 'right' ? m.chain.slice(m.chain.length - longest) : m.chain.slice(0, longest);
    return chainKey(part) === leadKey;
  };
  const rest = collect(e);
  const quotient: Monomial[] = [];
  for (let step = 0; step < MAX_MONOMIALS && rest.size > 0; step++) {
    let t: Monomial | undefined;
    for (const m of rest.values()) if (divides(m) && (!t || m.chain.length > t.chain.length)) t = m;
    if (!t) return undefined;
    const inverse = new Map([...lead.scalars].map(([k, s]) => [k, { base: s.base, exp: -s.exp }]));
    const chain = side === 'right' ? t.chain.slice(0, t.chain.length - longest) : t.chain.slice(longest);
    const q = times({ coef: t.coef / lead.coef, scalars: inverse, chain: [] }, { coef: 1, scalars: t.scalars, chain });
    quotient.push(q);
    for (const m of w) {
      const p = scaled(side === 'right' ? times(q, m) : times(m, q), -1);
      const k = keyOf(p);
      const had = rest.get(k);
      const c = (had?.coef ?? 0) + p.coef;
      if (Math.abs(c) < 1e-12 * Math.max(1, Math.abs(p.coef))) rest.delete(k);
      else rest.set(k, had ? { ...had, coef: c } : p);
    }
  }
  return rest.size === 0 ? [...collect(quotient).values()] : undefined;
}

/** r where x = r*y for a number r (both as sums of monomials), else undefined. */
export function multipleOf(x: readonly Monomial[], y: readonly Monomial[]): number | undefined {
  const [cx, cy] = [collect(x), collect(y)];
  if (cx.size !== cy.size || cx.size === 0) return undefined;
  let r: number | undefined;
  for (const [k, m] of cx) {
    const n = cy.get(k);
    if (!n) return undefined;
    r ??= m.coef / n.coef;
    if (Math.abs(m.coef - r * n.coef) > 1e-12 * Math.abs(m.coef)) return undefined;
  }
  return r;
}

/** A monomial as a printed term: its sign, and the number, scalars and chain (eye for none of a matrix). */
export function termOf(m: Monomial, kind: 'matrix' | 'vector' | 'row'): { sign: number; ast: Ast } {
  const c = Math.abs(m.coef);
  const scalars = [...m.scalars.values()].map((s) => (s.exp === 1 ? s.base : mexpr(bin('^', s.base, num(s.exp)), 'scalar').ast));
  const chain = m.chain.length > 0 ? m.chain : kind === 'matrix' ? [mexpr(name('eye'), 'matrix', true).ast] : [];
  const fs = [...(c === 1 && (scalars.length > 0 || chain.length > 0) ? [] : [num(c)]), ...scalars, ...chain];
  return { sign: Math.sign(m.coef), ast: fs.length === 1 ? fs[0]! : productOf(fs) };
}
