/**
 * Diagonal matrices merged in a printed form, after references are expanded: diag(u)*diag(v) is
 * diag(u.*v), diag(u)*A*x is u.*(A*x), the diagonal terms of a sum one diag, and a factor that every term of a sum has on
 * one side taken out where the rest is one diagonal (A'*diag(u)*A - 2*A'*diag(v)*A is
 * A'*diag(u - 2*v)*A). Each rewrite is an identity of the input language.
 */
import type { Ast } from '../syntax/ast.js';
import { call, name, num, tr } from './build.js';
import { FLIP, infoOf, mapChildren, mexpr } from './mexpr.js';
import { toText } from './text.js';
import { chain, kindOf, negate, startsNegative, typed } from './chains.js';

/**
 * Products and sums of diagonal matrices as one diagonal matrix: diag(u)*diag(v) = diag(u.*v)
 * next to each other in a product, and the diagonal terms of a sum, with their scalar factors and
 * signs, as diag of the sum of their vectors. Bottom up, so diag(a)*(diag(b) + diag(c)*diag(d))
 * becomes diag(a.*(b + c.*d)). Unchanged parts stay the same objects.
 */
export function mergeDiagonals(a: Ast): Ast {
  const b = mapChildren(a, mergeDiagonals);
  if (b.kind === 'transpose') {
    // diag(u)' = diag(u), and (P*diag(u)*Q)' = Q'*diag(u)*P' where a merge has made that product
    // (so that it can merge on); a sign stays outside.
    const inner = b.arg.kind === 'neg' ? b.arg.arg : b.arg;
    if (diagonalOf(inner) !== undefined || FACTORED.has(inner)) {
      const t = diagonalOf(inner) !== undefined ? inner : transposeProduct(inner);
      return b.arg.kind === 'neg' ? negate(t) : t;
    }
  }
  if (b.kind === 'binary' && b.op === '*') return mergeProduct(b);
  if (b.kind === 'binary' && (b.op === '+' || b.op === '-')) return mergeSum(b);
  return b;
}

/** The vector u of diag(u) or diag(u)' as the printer makes it (diag of a column vector; diag of a matrix is a vector). */
function diagonalOf(a: Ast): Ast | undefined {
  if (a.kind === 'transpose') return diagonalOf(a.arg);
  if (a.kind !== 'call' || a.fn !== 'diag' || a.args.length !== 1 || infoOf(a)?.kind !== 'matrix') return undefined;
  return kindOf(a.args[0]!) === 'vector' ? a.args[0] : undefined;
}

const diagonal = (u: Ast): Ast => mexpr(call('diag', u), 'matrix', true).ast;

/** A form built from vectors, typed as the vector it is (so that later merges see its kind). */
const asVector = (v: Ast): Ast => (infoOf(v) ? v : mexpr(v, 'vector').ast);

/**
 * The factors of a product chain without their signs, and whether an odd number had one:
 * D1*(-D2) = -(D1*D2); a negated product's factors join the chain: -(A'*D1)*D2 is -A'*D1*D2.
 */
function unsignedChain(a: Ast): { factors: Ast[]; negative: boolean } {
  let negative = false;
  const factors: Ast[] = [];
  const add = (f: Ast): void => {
    if (f.kind !== 'neg') {
      factors.push(f);
      return;
    }
    negative = !negative;
    chain(f.arg).forEach(add);
  };
  chain(a).forEach(add);
  return { factors, negative };
}

/** diag(a.*b) for the adjacent factors diag(a)*diag(b) of a product chain. */
function mergeProduct(a: Ast & { kind: 'binary' }): Ast {
  const { factors: fs, negative: signed } = unsignedChain(a);
  let negative = signed;
  // A sum of diagonals and eye next to a diagonal is one diagonal too: diag(u)*(diag(v) - eye).
  const asDiagonal = (f: Ast): { u: Ast; negative: boolean } | undefined => {
    const u = diagonalOf(f);
    if (u !== undefined) return { u, negative: false };
    if (f.kind !== 'binary' || (f.op !== '+' && f.op !== '-')) return undefined;
    const m = mergeSum(f, true);
    const v = diagonalOf(m.kind === 'neg' ? m.arg : m);
    return v && { u: v, negative: m.kind === 'neg' };
  };
  const out: Ast[] = [];
  let merged = false;
  for (const f of fs) {
    const last = out[out.length - 1];
    const near = last !== undefined && (diagonalOf(f) !== undefined || diagonalOf(last) !== undefined);
    const l = near ? asDiagonal(last) : undefined;
    const r = l ? asDiagonal(f) : undefined;
    if (l && r) {
      out[out.length - 1] = diagonal(asVector(typed('.*', l.u, r.u)));
      negative = negative !== (l.negative !== r.negative);
      merged = true;
    } else out.push(f);
  }
  // A diagonal matrix in front of a product that is a vector scales it: diag(u)*A*x is u.*(A*x).
  const u = out.length > 1 && kindOf(a) === 'vector' ? diagonalOf(out[0]!) : undefined;
  if (!merged && u === undefined) return a;
  const product = u !== undefined ? typed('.*', u, out.slice(1).reduce((x, y) => typed('*', x, y))) : out.reduce((x, y) => typed('*', x, y));
  return negative ? negate(product) : product;
}

/**
 * The vector v with a = diag(v), where a is a diagonal matrix times scalars, or a sum that merges
 * into one: -2*diag(u)/c → -2*u/c; with `eye`, also 2*eye → 2*vector(1).
 */
function scaledDiagonalOf(a: Ast, eye = false): Ast | undefined {
  const u = diagonalOf(a);
  if (u) return u;
  // eye = diag(vector(1)) (its size is the other terms').
  if (eye && a.kind === 'name' && a.name === 'eye') return mexpr(call('vector', num(1)), 'vector').ast;
  if (a.kind === 'neg') {
    const v = scaledDiagonalOf(a.arg, eye);
    return v && asVector(negate(v));
  }
  if (a.kind !== 'binary') return undefined;
  // A sum that is one diagonal where eye is one: 4*(diag(u) + eye) is 4*diag(u + vector(1)).
  if (a.op === '+' || a.op === '-') {
    const m = mergeSum(a, eye);
    return m === a ? undefined : scaledDiagonalOf(m, eye);
  }
  if (a.op === '*' && kindOf(a.left) === 'scalar') {
    const v = scaledDiagonalOf(a.right, eye);
    return v && asVector(typed('*', a.left, v));
  }
  if ((a.op === '*' || a.op === '/') && kindOf(a.right) === 'scalar') {
    const v = scaledDiagonalOf(a.left, eye);
    return v && asVector(a.op === '*' ? typed('*', a.right, v) : typed('/', v, a.right));
  }
  return undefined;
}

interface Term {
  readonly sign: number;
  readonly ast: Ast;
}

/** The terms of a sum of matrices, with their signs (-X is X with sign -1). */
function termsOf(a: Ast): Term[] {
  const terms: Term[] = [];
  const collect = (x: Ast, sign: number): void => {
    if (x.kind === 'binary' && (x.op === '+' || x.op === '-') && kindOf(x) === 'matrix') {
      collect(x.left, sign);
      collect(x.right, x.op === '-' ? -sign : sign);
    } else if (x.kind === 'neg') collect(x.arg, -sign);
    else terms.push({ sign, ast: x });
  };
  collect(a, 1);
  return terms;
}

function sumOf(terms: readonly Term[]): Ast {
  let acc: Ast | undefined;
  for (const t of terms) acc = acc === undefined ? (t.sign < 0 ? negate(t.ast) : t.ast) : typed(t.sign < 0 ? '-' : '+', acc, t.ast);
  return acc!;
}

/**
 * A factor that every term of a sum has on the same side, taken out where the rest of the terms
 * sum to one diagonal matrix: diag(u)*A - 2*diag(v)*A → diag(u - 2*v)*A, A'*diag(u) + A'*diag(v)
 * → A'*diag(u + v). Other sums keep their terms (2*A + diag(u)*A stays as it is).
 */
function factorSum(terms: readonly Term[]): Ast | undefined {
  if (terms.length < 2) return undefined;
  // Each term's scalar factors stay with what is left of it: 2*A'*D*A has A' on its left.
  // ... and signs of factors go to the term: -A'*D is A'*D with the sign -1.
  const split = terms.map((t) => {
    const { factors: fs, negative } = unsignedChain(t.ast);
    const k = fs.findIndex((f) => kindOf(f) !== 'scalar');
    return { sign: negative ? -t.sign : t.sign, scalars: k < 0 ? fs : fs.slice(0, k), core: k < 0 ? [] : fs.slice(k) };
  });
  if (split.every((c) => c.core.length < 2)) return undefined;
  for (const side of ['right', 'left'] as const) {
    const outer = (c: readonly Ast[]): Ast => (side === 'right' ? c[c.length - 1]! : c[0]!);
    const key = toText(outer(split[0]!.core));
    if (!split.every((c) => c.core.length > 0 && toText(outer(c.core)) === key)) continue;
    // A term that is the common factor alone leaves eye: A + diag(u)*A = (eye + diag(u))*A.
    const eye = (): Ast => mexpr(name('eye'), 'matrix', true).ast;
    const restOf = (c: { scalars: Ast[]; core: Ast[] }): Ast[] => {
      const rest = side === 'right' ? c.core.slice(0, -1) : c.core.slice(1);
      return [...c.scalars, ...(rest.length > 0 ? rest : [eye()])];
    };
    const rests = split.map((c) => restOf(c).reduce((x, y) => typed('*', x, y)));
    const kind = kindOf(rests[0]!);
    if (kind === undefined || kind === 'scalar' || !rests.every((r) => kindOf(r) === kind)) continue;
    const sum = sumOf(rests.map((r, i) => ({ sign: split[i]!.sign, ast: r })));
    const merged = sum.kind === 'binary' ? mergeSum(sum, true) : sum;
    if (diagonalOf(merged.kind === 'neg' ? merged.arg : merged) === undefined && !FACTORED.has(merged)) continue;
    const common = outer(split[0]!.core);
    const out = side === 'right' ? typed('*', merged, common) : typed('*', common, merged);
    FACTORED.add(out);
    return out;
  }
  return undefined;
}

/** The transpose of a product of known kinds, factor by factor in reverse (diagonals as they are). */
function transposeProduct(a: Ast): Ast {
  const transposeFactor = (f: Ast): Ast => {
    if (f.kind === 'neg') return negate(transposeFactor(f.arg));
    if (diagonalOf(f) !== undefined || kindOf(f) === 'scalar') return f;
    const k = kindOf(f);
    const t = tr(f);
    return k ? mexpr(t, FLIP[k]).ast : t;
  };
  const fs = chain(a).reverse().map(transposeFactor);
  const out = fs.reduce((x, y) => typed('*', x, y));
  FACTORED.add(out);
  return out;
}

/** Sums that factorSum has made one product around a diagonal (A'*diag(u)*A from a sum of such). */
const FACTORED = new WeakSet<Ast>();

/**
 * A sum with a common outer factor as that factor times a sum (factorSum), and its diagonal terms
 * as one term diag(±u ± v …), where the first of them stood.
 */
function mergeSum(a: Ast & { kind: 'binary' }, eye = false): Ast {
  if (kindOf(a) !== 'matrix') return a;
  const terms = termsOf(a);
  const factored = factorSum(terms);
  if (factored) return factored;
  const diagonals = terms.map((t) => scaledDiagonalOf(t.ast, eye));
  if (diagonals.filter((v) => v !== undefined).length < 2) return a;
  // Positive parts first (diag(u - 2*v), not diag(-2*v + u)); all negative: the sign outside.
  const parts = diagonals.flatMap((v, i) => {
    if (!v) return [];
    const sign = terms[i]!.sign;
    return startsNegative(v) ? [{ sign: -sign, v: negate(v) }] : [{ sign, v }];
  });
  const outer = parts.some((p) => p.sign > 0) ? 1 : -1;
  const ordered = [...parts.filter((p) => p.sign * outer > 0), ...parts.filter((p) => p.sign * outer < 0)];
  let vec = ordered[0]!.v;
  for (const p of ordered.slice(1)) vec = asVector(typed(p.sign * outer > 0 ? '+' : '-', vec, p.v));
  const first = diagonals.findIndex((v) => v !== undefined);
  return sumOf(terms.flatMap((t, i) => (i === first ? [{ sign: outer, ast: diagonal(vec!) }] : diagonals[i] ? [] : [t])));
}
