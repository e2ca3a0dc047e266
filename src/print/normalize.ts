/**
 * The last pass over a printed form, after references are expanded: products re-associated to read
 * left to right (2*(X'*A) → 2*X'*A, u.*(v./w) → u.*v./w, a*(-b) → -a*b), diagonal matrices merged
 * (diagonals.ts: diag(u)*diag(v) → diag(u.*v)), equal Hadamard factors and equal matrix factors
 * as powers (u.*v.*u → u.^2.*v, A'*(A^2)'*A' → (A^4)'), an outer product of ones vectors as the
 * ones matrix (vector(1)*vector(1)' → matrix(1)), a product's scalars in a person's order
 * (2*b*cos(t)*a*x → 2*a*b*cos(t)*x), sums inside sums opened where their terms add up
 * (collect.ts: vector(1) - (vector(1) - t) → t). Each rewrite is an identity of the input language, so the
 * text still parses back to the same value.
 */
import type { Ast, BinaryOp } from '../syntax/ast.js';
import { bin, call, num, tr } from './build.js';
import { constantDims, constantOf, infoOf, isOnesTensor, isOneVector, keepTyping, mapChildren, mexpr, powerOf } from './mexpr.js';
import { toText } from './text.js';
import { chain, kindOf, negate, productOf, retyped, scalarPower, startsNegative, typed } from './chains.js';
import { mergeDiagonals, plainTransposedSums } from './diagonals.js';
import { absorbSigns } from './signs.js';
import { collectSums } from './collect.js';

export function normalize(a: Ast, temps: ReadonlySet<string> = new Set(), written: ReadonlySet<string> = new Set()): Ast {
  const r = reassociateAll(onesMatrices(a));
  const d = mergeDiagonals(r);
  const h = collectSums(foldHadamard(d === r ? r : reassociateAll(d)));
  const n = numbersFirst(h);
  const signed = absorbSigns(foldAll(n === h ? h : reassociateAll(n)), temps, written);
  return plainTransposedSums(scalarsInOrder(retyped(signed), temps));
}

/**
 * vector(1)*vector(1)' as matrix(1), as the input writes the ones matrix: X.^2 + matrix(1),
 * matrix(1)*X, and 2*vector(1)*vector(1)' as matrix(2). The matrix keeps the vectors' sizes where
 * both have them (a size the printed form may have to write out); where only one has, the
 * product stays as it is.
 */
function onesMatrices(a: Ast): Ast {
  const m = a.kind === 'binary' && a.op === '*' ? onesInChain(a) : a;
  return mapChildren(m, onesMatrices);
}

function onesInChain(m: Ast): Ast {
  const out: Ast[] = [];
  let merged = false;
  for (const f of chain(m)) {
    const j = out.length > 0 ? onesMatrix(out.at(-1)!, f) : undefined;
    if (j) out[out.length - 1] = j;
    else out.push(f);
    merged ||= j !== undefined;
  }
  if (!merged) return m;
  // A number times the ones matrix alone is the constant matrix: 2*matrix(1) is matrix(2).
  const [c, ones] = out;
  if (out.length === 2 && c!.kind === 'num' && ones!.kind === 'call') {
    const dims = constantDims(ones!);
    return dims ? constantOf(c!.value, dims).ast : mexpr(call('matrix', c!), 'matrix').ast;
  }
  return productOf(out);
}

function onesMatrix(u: Ast, v: Ast): Ast | undefined {
  if (!isOneVector(u) || v.kind !== 'transpose' || !isOneVector(v.arg)) return undefined;
  const [du, dv] = [constantDims(u), constantDims(v.arg)];
  if (du && dv) return constantOf(1, [du[0]!, dv[0]!]).ast;
  return du || dv ? undefined : mexpr(call('matrix', num(1)), 'matrix').ast;
}

/**
 * The numbers of a product chain as one number in front: d'*t1*2*diag(u) → 2*d'*t1*diag(u),
 * x'*(6*x'*B*x)*x → 6*x'*(x'*B*x)*x (a number commutes with every factor).
 */
function numbersFirst(a: Ast): Ast {
  const m = a.kind === 'binary' && a.op === '*' ? numbersOfChainFirst(a) : a;
  const out = mapChildren(m, numbersFirst);
  // A number that a kron's argument had in front comes out of it: kron(eye, 2*M) is 2*kron(eye, M),
  // and then goes to the front of the product around it.
  const k = out.kind === 'call' && out.fn === 'kron' ? kronNumbers(out) : out;
  return k !== out ? k : out !== m && out.kind === 'binary' && out.op === '*' ? numbersOfChainFirst(out) : out;
}

/** kron(c*P, -d*Q) as -c*d*kron(P, Q). */
function kronNumbers(a: Ast & { kind: 'call' }): Ast {
  let c = 1;
  const args = a.args.map((x) => {
    if (startsNegative(x) && x.kind !== 'num') {
      c = -c;
      x = negate(x);
    }
    const lead = leadingNumber(x);
    if (!lead?.body) return x;
    c *= lead.value;
    return lead.body;
  });
  if (c === 1) return a;
  const k = keepTyping(a, { ...a, args });
  return c === -1 ? negate(k) : typed('*', num(c), k);
}

function numbersOfChainFirst(m: Ast): Ast {
  const fs = chain(m);
  let c = 1;
  let moved = false;
  const rest: Ast[] = [];
  fs.forEach((f, i) => {
    const lead = leadingNumber(f);
    if (!lead) return rest.push(f);
    c *= lead.value;
    moved ||= i > 0 || lead.body !== undefined;
    if (lead.body) rest.push(lead.body);
  });
  if (!moved || rest.length === 0) return m;
  const factors = c === 1 || c === -1 ? rest : [num(c), ...rest];
  const body = productOf(factors);
  return c === -1 ? negate(body) : body;
}

/**
 * The scalars of a product chain in the order a person writes them: its number, then its variables
 * and their powers by name, then the scalars that lead the chain as they came, then the rest:
 * 2*c*cos(a*x'*x)*a*x → 2*a*c*cos(a*x'*x)*x, b^2*a*eye → a*b^2*eye. A scalar commutes with every
 * factor; a scalar inside the chain other than a variable (x'*(x'*B*x)*x) stays where it is, and
 * so do temporaries (names in `temps`).
 */
function scalarsInOrder(a: Ast, temps: ReadonlySet<string>): Ast {
  const m = mapChildren(a, (c) => scalarsInOrder(c, temps));
  if (m.kind !== 'binary' || m.op !== '*') return m;
  const fs = chain(m);
  const negative = startsNegative(fs[0]!) && fs[0]!.kind !== 'num';
  if (negative) fs[0] = negate(fs[0]!);
  // Each factor with its variable name, where it is a scalar variable or a power of one.
  const named = fs.map((f) => {
    const b = kindOf(f) === 'scalar' ? scalarPower(f).base : undefined;
    return { f, name: b?.kind === 'name' && !temps.has(b.name) ? b.name : undefined };
  });
  const lead = fs.findIndex((f) => kindOf(f) !== 'scalar');
  const leading = lead < 0 ? named : named.slice(0, lead);
  const numbers = leading.filter((x) => x.f.kind === 'num').map((x) => x.f);
  const byName = (x: { name?: string }, y: { name?: string }): number => (x.name! < y.name! ? -1 : x.name! > y.name! ? 1 : 0);
  const variables = named.filter((x) => x.name !== undefined).sort(byName).map((x) => x.f);
  const others = leading.filter((x) => x.f.kind !== 'num' && x.name === undefined).map((x) => x.f);
  const rest = lead < 0 ? [] : named.slice(lead).filter((x) => x.name === undefined).map((x) => x.f);
  const ordered = [...numbers, ...variables, ...others, ...rest];
  if (!negative && ordered.every((f, i) => f === fs[i])) return m;
  const p = productOf(ordered);
  return negative ? negate(p) : p;
}

/** A number, or a product whose leftmost factor is a number (6*x'*B*x): the number and the rest. */
function leadingNumber(a: Ast): { value: number; body: Ast | undefined } | undefined {
  if (a.kind === 'num') return { value: a.value, body: undefined };
  if (a.kind !== 'binary' || a.op !== '*' || kindOf(a) === undefined) return undefined;
  const inner = leadingNumber(a.left);
  if (!inner) return undefined;
  return { value: inner.value, body: inner.body ? typed('*', inner.body, a.right) : a.right };
}

/**
 * Equal factors of an element-wise product as a power: u.*v.*u./w./w → u.^2.*v./w.^2 (and
 * u.^2.*u → u.^3 for integer powers, where that is an identity everywhere). Factors are compared
 * by their text; numerator and denominator are folded apart (u./u is not 1 where u is 0).
 */
function foldHadamard(a: Ast): Ast {
  if (a.kind !== 'binary' || (a.op !== '.*' && a.op !== './')) return mapChildren(a, foldHadamard);
  const all: Ast[] = [];
  const denom: Ast[] = [];
  hadamardFactors(a, false, all, denom);
  // A tensor of ones beside another factor of the product's kind is no factor: t1.*matrix(1)./X is
  // t1./X (a group of divisors alone, printed inside a longer product, starts with one).
  const kind = kindOf(a);
  const rest = all.filter((x) => !isOnesTensor(x));
  const numer = rest.length < all.length && kind !== undefined && kind !== 'scalar' && rest.some((x) => kindOf(x) === kind) ? rest : all;
  const n = foldEqual(numer.map(foldHadamard));
  const d = foldEqual(denom.map(foldHadamard));
  if (numer === all && !n.folded && !d.folded && n.items.every((x, i) => x === numer[i]) && d.items.every((x, i) => x === denom[i])) return a;
  // An all-denominator product keeps its numerator (vector(1)./u.^2 stays as it was).
  if (n.items.length === 0) return a;
  let acc = n.items.reduce((x, y) => bin('.*', x, y));
  for (const x of d.items) acc = bin('./', acc, x);
  return kind ? mexpr(acc, kind).ast : acc;
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
    // (u.^c).^k is u.^(c·k): t6.^0.5./t6.^0.5 divides by t6, not by (t6.^0.5).^2.
    const b = g.base;
    const inner = b.kind === 'binary' && b.op === '.^' && b.right.kind === 'num' ? { base: b.left, exp: b.right.value } : undefined;
    const pow = inner ? bin('.^', inner.base, num(inner.exp * g.exp)) : bin('.^', g.base, num(g.exp));
    if (inner && inner.exp * g.exp === 1) return inner.base;
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

/** Folds powers in every maximal product chain: A'*(A^2)'*A' → (A^4)'. */
function foldAll(a: Ast): Ast {
  if (a.kind === 'binary' && a.op === '*') {
    const fs = chain(a);
    if (fs.length > 1) return foldPowers(fs);
  }
  return mapChildren(a, foldAll);
}

/**
 * Equal matrix or scalar factors next to each other are a power (only factors known to be matrices
 * or scalars: x'*A*x*x is a scalar times a vector, not x^2; sign(a)*sign(a) is sign(a)^2).
 */
function foldPowers(fs: readonly Ast[]): Ast {
  const runs: { base: Ast; count: number; text: string; matrix: boolean; scalar: boolean }[] = [];
  for (const f of fs) {
    // A power made by the printer: A^k or (A^k)' (its base, spelled out, is in the tree itself).
    const p = powerOf(f);
    const inner = f.kind === 'transpose' ? f.arg : f;
    const powered = p && inner.kind === 'binary' && inner.op === '^' ? inner : undefined;
    const base = powered ? (f.kind === 'transpose' ? tr(powered.left) : powered.left) : foldAll(f);
    const matrix = (p ? p.base.kind : infoOf(f)?.kind) === 'matrix';
    const scalar = !p && f.kind !== 'num' && kindOf(f) === 'scalar';
    const run = { base, count: powered ? p!.count : 1, text: toText(base), matrix, scalar };
    const last = runs[runs.length - 1];
    if (last && ((last.matrix && matrix) || (last.scalar && scalar)) && last.text === run.text) last.count += run.count;
    else runs.push(run);
  }
  const out = runs.map((r) => {
    if (r.count === 1) return r.base;
    if (r.scalar) return mexpr(bin('^', r.base, num(r.count)), 'scalar').ast;
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
  // The numerator 1 of a quotient gives way to a scalar in front: 6*(1/a) is 6/a, not 6*1/a.
  if (op === '*' && r.kind === 'num' && r.value === 1 && kindOf(l) === 'scalar') return l;
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
