/**
 * The last pass over a printed form, after references are expanded: products re-associated to read
 * left to right (2*(X'*A) → 2*X'*A, u.*(v./w) → u.*v./w, a*(-b) → -a*b), diagonal matrices merged
 * (diag(u)*diag(v) → diag(u.*v), diag(u) - 2*diag(v) → diag(u - 2*v)). Each rewrite is an
 * identity of the input language, so the text still parses back to the same value.
 */
import type { Ast, BinaryOp } from '../syntax/ast.js';
import { bin, call, name, negate as negateUntyped, num, tr } from './build.js';
import { type Kind, infoOf, keepTyping, mexpr, powerOf, productKind } from './mexpr.js';
import { toText } from './text.js';

export function normalize(a: Ast): Ast {
  const r = reassociateAll(a);
  const d = mergeDiagonals(r);
  const h = foldHadamard(d === r ? r : reassociateAll(d));
  return foldAll(h);
}

/**
 * Equal factors of an element-wise product as a power: u.*v.*u./w./w → u.^2.*v./w.^2 (and
 * u.^2.*u → u.^3 for integer powers, where that is an identity everywhere). Factors are compared
 * by their text; numerator and denominator are folded apart (u./u is not 1 where u is 0).
 */
function foldHadamard(a: Ast): Ast {
  switch (a.kind) {
    case 'num':
    case 'name':
      return a;
    case 'neg':
    case 'transpose': {
      const arg = foldHadamard(a.arg);
      return arg === a.arg ? a : keepTyping(a, { ...a, arg });
    }
    case 'call': {
      const args = a.args.map(foldHadamard);
      return args.every((x, i) => x === a.args[i]) ? a : keepTyping(a, { ...a, args });
    }
    case 'where':
      return { ...a, body: foldHadamard(a.body), bindings: a.bindings.map((b) => ({ ...b, value: foldHadamard(b.value) })) };
    case 'binary': {
      if (a.op !== '.*' && a.op !== './') {
        const left = foldHadamard(a.left);
        const right = foldHadamard(a.right);
        return left === a.left && right === a.right ? a : keepTyping(a, { ...a, left, right });
      }
      const numer: Ast[] = [];
      const denom: Ast[] = [];
      hadamardFactors(a, false, numer, denom);
      const n = foldEqual(numer.map(foldHadamard));
      const d = foldEqual(denom.map(foldHadamard));
      if (!n.folded && !d.folded && n.items.every((x, i) => x === numer[i]) && d.items.every((x, i) => x === denom[i])) return a;
      // An all-denominator product keeps its numerator (vector(1)./u.^2 stays as it was).
      if (n.items.length === 0) return a;
      const kind = kindOf(a);
      let acc = n.items.reduce((x, y) => bin('.*', x, y));
      for (const x of d.items) acc = bin('./', acc, x);
      return kind ? mexpr(acc, kind).ast : acc;
    }
  }
}

/** The factors of an element-wise product, numerator and denominator. */
function hadamardFactors(a: Ast, inverted: boolean, numer: Ast[], denom: Ast[]): void {
  if (a.kind === 'binary' && (a.op === '.*' || a.op === './')) {
    hadamardFactors(a.left, inverted, numer, denom);
    hadamardFactors(a.right, a.op === './' ? !inverted : inverted, numer, denom);
  } else (inverted ? denom : numer).push(a);
}

/** Equal factors (by text) as one power, at the place of the first: u, v, u → u.^2, v. */
function foldEqual(fs: readonly Ast[]): { items: Ast[]; folded: boolean } {
  const groups = new Map<string, { first: Ast; base: Ast; exp: number; count: number }>();
  for (const f of fs) {
    const p = integerPower(f);
    const key = toText(p.base);
    const g = groups.get(key);
    if (g) {
      g.exp += p.exp;
      g.count++;
    } else groups.set(key, { first: f, base: p.base, exp: p.exp, count: 1 });
  }
  if (groups.size === fs.length) return { items: [...fs], folded: false };
  const items = [...groups.values()].map((g) => {
    if (g.count === 1) return g.first;
    const kind = kindOf(g.base);
    const pow = bin('.^', g.base, num(g.exp));
    return kind ? mexpr(pow, kind).ast : pow;
  });
  return { items, folded: true };
}

/** u.^k with k a positive integer as (u, k); anything else as (itself, 1). */
function integerPower(a: Ast): { base: Ast; exp: number } {
  if (a.kind === 'binary' && a.op === '.^' && a.right.kind === 'num' && Number.isInteger(a.right.value) && a.right.value > 0)
    return { base: a.left, exp: a.right.value };
  return { base: a, exp: 1 };
}

/**
 * Products and sums of diagonal matrices as one diagonal matrix: diag(u)*diag(v) = diag(u.*v)
 * next to each other in a product, and the diagonal terms of a sum, with their scalar factors and
 * signs, as diag of the sum of their vectors. Bottom up, so diag(a)*(diag(b) + diag(c)*diag(d))
 * becomes diag(a.*(b + c.*d)). Unchanged parts stay the same objects.
 */
function mergeDiagonals(a: Ast): Ast {
  switch (a.kind) {
    case 'num':
    case 'name':
      return a;
    case 'neg': {
      const arg = mergeDiagonals(a.arg);
      return arg === a.arg ? a : keepTyping(a, { ...a, arg });
    }
    case 'transpose': {
      const arg = mergeDiagonals(a.arg);
      // diag(u)' = diag(u), and (P*diag(u)*Q)' = Q'*diag(u)*P' where a merge has made that product
      // (so that it can merge on); a sign stays outside.
      const inner = arg.kind === 'neg' ? arg.arg : arg;
      if (diagonalOf(inner) !== undefined || FACTORED.has(inner)) {
        const t = diagonalOf(inner) !== undefined ? inner : transposeProduct(inner);
        return arg.kind === 'neg' ? negate(t) : t;
      }
      return arg === a.arg ? a : keepTyping(a, { ...a, arg });
    }
    case 'call': {
      const args = a.args.map(mergeDiagonals);
      return args.every((x, i) => x === a.args[i]) ? a : keepTyping(a, { ...a, args });
    }
    case 'where':
      return { ...a, body: mergeDiagonals(a.body), bindings: a.bindings.map((b) => ({ ...b, value: mergeDiagonals(b.value) })) };
    case 'binary': {
      const left = mergeDiagonals(a.left);
      const right = mergeDiagonals(a.right);
      const b = left === a.left && right === a.right ? a : keepTyping(a, { ...a, left, right });
      if (b.kind !== 'binary') return b;
      if (b.op === '*') return mergeProduct(b);
      if (b.op === '+' || b.op === '-') return mergeSum(b);
      return b;
    }
  }
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

/** diag(a.*b) for the adjacent factors diag(a)*diag(b) of a product chain. */
function mergeProduct(a: Ast & { kind: 'binary' }): Ast {
  // Signs of factors go in front: D1*(-D2) = -(D1*D2).
  let negative = false;
  const fs = chain(a).map((f) => {
    if (f.kind !== 'neg') return f;
    negative = !negative;
    return f.arg;
  });
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
  if (!merged) return a;
  const product = out.reduce((x, y) => typed('*', x, y));
  return negative ? negate(product) : product;
}

/**
 * The vector v with a = diag(v), where a is a diagonal matrix times scalars: -2*diag(u)/c → -2*u/c;
 * with `eye`, also 2*eye → 2*vector(1).
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
    let sign = t.sign;
    const fs = chain(t.ast).map((f) => {
      if (f.kind !== 'neg') return f;
      sign = -sign;
      return f.arg;
    });
    const k = fs.findIndex((f) => kindOf(f) !== 'scalar');
    return { sign, scalars: k < 0 ? fs : fs.slice(0, k), core: k < 0 ? [] : fs.slice(k) };
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

const FLIPPED: Readonly<Record<Kind, Kind>> = { scalar: 'scalar', vector: 'row', row: 'vector', matrix: 'matrix' };

/** The transpose of a product of known kinds, factor by factor in reverse (diagonals as they are). */
function transposeProduct(a: Ast): Ast {
  const transposeFactor = (f: Ast): Ast => {
    if (f.kind === 'neg') return negate(transposeFactor(f.arg));
    if (diagonalOf(f) !== undefined || kindOf(f) === 'scalar') return f;
    const k = kindOf(f);
    const t = tr(f);
    return k ? mexpr(t, FLIPPED[k]).ast : t;
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

/** Folds powers in every maximal product chain: A'*(A^2)'*A' → (A^4)'. */
function foldAll(a: Ast): Ast {
  switch (a.kind) {
    case 'num':
    case 'name':
      return a;
    case 'neg':
    case 'transpose': {
      const arg = foldAll(a.arg);
      return arg === a.arg ? a : keepTyping(a, { ...a, arg });
    }
    case 'call': {
      // Unchanged nodes stay the same objects (what the printer knows about them stays attached).
      const args = a.args.map(foldAll);
      return args.every((x, i) => x === a.args[i]) ? a : keepTyping(a, { ...a, args });
    }
    case 'where':
      return { ...a, body: foldAll(a.body), bindings: a.bindings.map((b) => ({ ...b, value: foldAll(b.value) })) };
    case 'binary':
      if (a.op === '*') {
        const fs = chain(a);
        if (fs.length > 1) return foldPowers(fs);
        return keepTyping(a, { ...a, left: foldAll(a.left), right: foldAll(a.right) });
      }
      return keepTyping(a, { ...a, left: foldAll(a.left), right: foldAll(a.right) });
  }
}

/**
 * A product's factors, left to right. A part that is a scalar made of non-scalars (x'*B*y inside
 * M*(x'*B*y)) stays one factor, and so does a part of unknown kind.
 */
function chain(a: Ast): Ast[] {
  if (a.kind !== 'binary' || a.op !== '*') return [a];
  const [k, kl, kr] = [kindOf(a), kindOf(a.left), kindOf(a.right)];
  const whole = k === undefined || kl === undefined || kr === undefined || (k === 'scalar' && (kl !== 'scalar' || kr !== 'scalar'));
  return whole ? [a] : [...chain(a.left), ...chain(a.right)];
}

/**
 * Equal matrix factors next to each other are a power (only factors known to be matrices: x'*A*x*x
 * is a scalar times a vector, not x^2).
 */
function foldPowers(fs: readonly Ast[]): Ast {
  const runs: { base: Ast; count: number; text: string; matrix: boolean }[] = [];
  for (const f of fs) {
    // A power made by the printer: A^k or (A^k)' (its base, spelled out, is in the tree itself).
    const p = powerOf(f);
    const inner = f.kind === 'transpose' ? f.arg : f;
    const powered = p && inner.kind === 'binary' && inner.op === '^' ? inner : undefined;
    const base = powered ? (f.kind === 'transpose' ? tr(powered.left) : powered.left) : foldAll(f);
    const matrix = (p ? p.base.kind : infoOf(f)?.kind) === 'matrix';
    const run = { base, count: powered ? p!.count : 1, text: toText(base), matrix };
    const last = runs[runs.length - 1];
    if (last && last.matrix && matrix && last.text === run.text) last.count += run.count;
    else runs.push(run);
  }
  const out = runs.map((r) => {
    if (r.count === 1) return r.base;
    return r.base.kind === 'transpose' ? tr(bin('^', r.base.arg, num(r.count))) : bin('^', r.base, num(r.count));
  });
  return out.reduce((x, y) => bin('*', x, y));
}

function reassociateAll(a: Ast): Ast {
  switch (a.kind) {
    case 'num':
    case 'name':
      return a;
    case 'neg': {
      const arg = reassociateAll(a.arg);
      return arg === a.arg ? a : negate(arg);
    }
    case 'transpose': {
      const arg = reassociateAll(a.arg);
      return arg === a.arg ? a : keepTyping(a, { ...a, arg });
    }
    case 'call': {
      const args = a.args.map(reassociateAll);
      return args.every((x, i) => x === a.args[i]) ? a : keepTyping(a, { ...a, args });
    }
    case 'where':
      return { ...a, body: reassociateAll(a.body), bindings: a.bindings.map((b) => ({ ...b, value: reassociateAll(b.value) })) };
    case 'binary': {
      const out = reassociate(a.op, reassociateAll(a.left), reassociateAll(a.right));
      // The same value and kind as before (a power stays a power).
      return out.kind === 'binary' && out.op === a.op ? keepTyping(a, out) : out;
    }
  }
}

/** x op (y op' z) → (x op y) op' z where that is an identity; a*(-b) → -(a*b). */
function reassociate(op: BinaryOp, l: Ast, r: Ast): Ast {
  if (op === '*' && r.kind === 'neg') return negate(reassociate('*', l, r.arg));
  // a + (-b) = a - b, a - (-b) = a + b (a term that is spelled out may start with a minus).
  if ((op === '+' || op === '-') && (r.kind === 'neg' || (r.kind === 'binary' && startsNegative(r))))
    return reassociate(op === '+' ? '-' : '+', l, negate(r));
  const rotates =
    r.kind === 'binary' &&
    ((op === '*' && (r.op === '*' || r.op === '/') && productRotates(l, r)) ||
      (op === '.*' && (r.op === '.*' || r.op === './')) ||
      (op === '+' && (r.op === '+' || r.op === '-')));
  if (rotates && r.kind === 'binary') return typed(r.op, reassociate(op, l, r.left), r.right);
  return typed(op, l, r);
}

/**
 * a*(b*c) = (a*b)*c, except where b*c is a scalar made of non-scalars and a is not a scalar:
 * M*(x'*y) scales M, while M*x' is no product at all. Unknown kinds do not rotate.
 */
function productRotates(l: Ast, r: Ast & { kind: 'binary' }): boolean {
  if (r.op === '/') return true;
  const [kl, kr, kb] = [kindOf(l), kindOf(r), kindOf(r.left)];
  if (kl === undefined || kr === undefined || kb === undefined) return false;
  return !(kr === 'scalar' && kl !== 'scalar' && kb !== 'scalar');
}

/** -a as build.ts makes it (the sign on the leftmost factor), each part keeping its kind. */
function negate(a: Ast): Ast {
  if (a.kind === 'binary' && (a.op === '*' || a.op === '/' || a.op === '.*' || a.op === './'))
    return keepTyping(a, bin(a.op, negate(a.left), a.right));
  return negateUntyped(a);
}

/** What a printed form is, where that is known: numbers are scalars, -x is what x is. */
function kindOf(a: Ast): Kind | undefined {
  const k = infoOf(a)?.kind;
  if (k !== undefined) return k;
  if (a.kind === 'num') return 'scalar';
  if (a.kind === 'neg') return kindOf(a.arg);
  return undefined;
}

/** l op r, with its kind where the operands' kinds are known (later rotations ask for it). */
function typed(op: BinaryOp, l: Ast, r: Ast): Ast {
  const a = bin(op, l, r);
  const [kl, kr] = [kindOf(l), kindOf(r)];
  if (kl === undefined || kr === undefined) return a;
  const kind = op === '*' ? productKind(kl, kr) : op === '.*' || op === './' || op === '.^' ? (kl === 'scalar' ? kr : kl) : kl;
  mexpr(a, kind);
  return a;
}

/** A product or quotient whose leftmost factor is negated: -X'*v. */
function startsNegative(a: Ast): boolean {
  if (a.kind === 'neg') return true;
  if (a.kind === 'num') return a.value < 0;
  if (a.kind === 'binary' && (a.op === '*' || a.op === '/' || a.op === '.*' || a.op === './')) return startsNegative(a.left);
  return false;
}
