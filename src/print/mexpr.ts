/**
 * Typed printed forms: an AST of the input language together with what it is (scalar, column
 * vector, row vector or matrix) and whether it equals its transpose. The matrix printer builds every
 * AST through these helpers, so that a transpose can be pushed into a product ((A'*x)' = x'*A) and
 * a product's kind is always known.
 */
import type { Ast, BinaryOp } from '../syntax/ast.js';
import type { Dim } from '../ir/node.js';
import { bin, call, num, tr } from './build.js';

export type Kind = 'scalar' | 'vector' | 'row' | 'matrix';

export interface MExpr {
  readonly ast: Ast;
  readonly kind: Kind;
  /** Equal to its own transpose (so no ' is printed for it). */
  readonly symmetric: boolean;
}

/** What every AST made by the printer is (transposing needs the kind of each part). */
const INFO = new WeakMap<Ast, MExpr>();

export function mexpr(ast: Ast, kind: Kind, symmetric = false): MExpr {
  const e: MExpr = { ast, kind, symmetric: symmetric || kind === 'scalar' };
  INFO.set(ast, e);
  return e;
}

/** The typed form of an AST made through mexpr (undefined for other ASTs). */
export function infoOf(ast: Ast): MExpr | undefined {
  return INFO.get(ast);
}

export const KIND_OF_RANK: readonly Kind[] = ['scalar', 'vector', 'matrix'];

/** The kind of a product a*b (the matrix product, or scaling when one side is a scalar). */
export function productKind(a: Kind, b: Kind): Kind {
  if (a === 'scalar') return b;
  if (b === 'scalar') return a;
  const rows = a === 'vector' || a === 'matrix';
  const cols = b === 'row' || b === 'matrix';
  return rows ? (cols ? 'matrix' : 'vector') : cols ? 'row' : 'scalar';
}

/** a*b, typed. A product is symmetric only where the caller knows it (X'*D*X). */
export function times(a: MExpr, b: MExpr, symmetric = false): MExpr {
  return mexpr(bin('*', a.ast, b.ast), productKind(a.kind, b.kind), symmetric);
}

/** Powers this module made: A^3 is three factors A, (A^2)' two factors A'. */
const POWERS = new WeakMap<Ast, { base: MExpr; count: number }>();

/** What a reference stands for, where that is a power (A^2 as a part of A^3 is two factors A). */
const REF_TARGETS = new WeakMap<Ast, () => MExpr | undefined>();

export function setTarget(ref: MExpr, target: () => MExpr | undefined): void {
  REF_TARGETS.set(ref.ast, target);
}

/** The factors of a product made here, with powers as repeated factors. */
function factorRuns(e: MExpr): { base: MExpr; count: number }[] {
  const a = e.ast;
  const target = REF_TARGETS.get(a)?.();
  const p = POWERS.get(a) ?? (target && POWERS.get(target.ast));
  if (p) return [p];
  if (a.kind === 'binary' && a.op === '*') {
    const l = infoOf(a.left);
    const r = infoOf(a.right);
    if (l && r && splits(e, l, r)) return [...factorRuns(l), ...factorRuns(r)];
  }
  return [{ base: e, count: 1 }];
}

/** A power made by product(): its base and exponent (for folding A^2*A into A^3 later). */
export function powerOf(a: Ast): { base: MExpr; count: number } | undefined {
  return POWERS.get(a);
}

/** A copy of a form (its children replaced) keeps what the original was. */
export function keepTyping(from: Ast, to: Ast): Ast {
  const i = INFO.get(from);
  if (i) INFO.set(to, { ...i, ast: to });
  const p = POWERS.get(from);
  if (p) POWERS.set(to, p);
  return to;
}

function power(base: MExpr, count: number): MExpr {
  if (count === 1) return base;
  const a = base.ast;
  // A'*A' is (A^2)', the transpose of a power of the plain matrix.
  const ast = a.kind === 'transpose' ? tr(bin('^', a.arg, num(count))) : bin('^', a, num(count));
  const e = mexpr(ast, base.kind, base.symmetric);
  POWERS.set(ast, { base, count });
  return e;
}

/**
 * A left-to-right product of typed forms. Equal matrix factors next to each other are a matrix
 * power (square, since the product is defined): A'*A'*A' → (A^3)'.
 */
export function product(items: readonly MExpr[], symmetric = false): MExpr {
  const runs: { base: MExpr; count: number; text: string }[] = [];
  for (const run of items.flatMap(factorRuns)) {
    const text = keyOf(run.base.ast);
    const last = runs[runs.length - 1];
    if (last && run.base.kind === 'matrix' && last.text === text) last.count += run.count;
    else runs.push({ ...run, text });
  }
  const fs = runs.map((r) => power(r.base, r.count));
  let acc = fs[0]!;
  for (let i = 1; i < fs.length; i++) acc = times(acc, fs[i]!, symmetric && i === fs.length - 1);
  return fs.length === 1 && symmetric ? mexpr(acc.ast, acc.kind, true) : acc;
}

/** Structural key of a form (references are names, so equal nodes give equal keys). */
function keyOf(a: Ast): string {
  return JSON.stringify(a, (k, v) => (k === 'span' || k === 'opSpan' || k === 'nameSpan' ? undefined : v));
}

export function elementwise(op: BinaryOp, a: MExpr, b: MExpr): MExpr {
  const kind = a.kind === 'scalar' ? b.kind : a.kind;
  return mexpr(bin(op, a.ast, b.ast), kind, a.symmetric && b.symmetric);
}

/** Transposes of forms that stand for something else (a reference to a node knows its transpose). */
const TRANSPOSE_HOOKS = new WeakMap<Ast, () => MExpr>();

export function setTranspose(e: MExpr, transpose: () => MExpr): void {
  TRANSPOSE_HOOKS.set(e.ast, transpose);
}

/** The kind of a form's transpose. */
export const FLIP: Readonly<Record<Kind, Kind>> = { scalar: 'scalar', vector: 'row', row: 'vector', matrix: 'matrix' };

/**
 * The transpose, pushed into products and negations so that the fewest primes are printed:
 * (A'*x)' = x'*A, (X'*D*X)' = X'*D*X, (-M)' = -M', (M')' = M.
 */
export function transposed(e: MExpr): MExpr {
  if (e.symmetric) return e;
  const hook = TRANSPOSE_HOOKS.get(e.ast);
  if (hook) return hook();
  const p = POWERS.get(e.ast);
  if (p) return power(transposed(p.base), p.count);
  const a = e.ast;
  const flipped = FLIP[e.kind];
  if (a.kind === 'transpose') {
    const inner = infoOf(a.arg);
    return inner ?? mexpr(a.arg, flipped);
  }
  if (a.kind === 'neg') {
    const inner = infoOf(a.arg);
    if (inner) return mexpr({ ...a, arg: transposed(inner).ast }, flipped);
  }
  if (a.kind === 'binary' && a.op === '*') {
    // (s*A*B)' = s*B'*A': the factors reversed and transposed, scalars kept in front.
    const fs = productFactors(e);
    if (fs) {
      const scalars = fs.filter((f) => f.kind === 'scalar');
      const rest = fs.filter((f) => f.kind !== 'scalar').reverse().map(transposed);
      return product([...scalars, ...rest]);
    }
  }
  if (a.kind === 'binary' && (a.op === '+' || a.op === '-')) {
    const t = transposedSum(a, flipped);
    if (t) return t;
  }
  return mexpr(tr(a), flipped);
}

/**
 * (P + Q + R)' term by term, read over the whole sum: the sum itself where its terms transposed
 * are its terms (A + A' + B + B' is symmetric, whatever order its terms are in), else P' + Q' + R'
 * where that prints no more primes than the sum does ((2*B'*D + D*B)' = 2*D*B + B'*D). Undefined:
 * the sum is transposed as a whole.
 */
function transposedSum(a: Ast, kind: Kind): MExpr | undefined {
  const terms = signedTerms(a);
  if (!terms) return undefined;
  const flipped = terms.map((t) => ({ sign: t.sign, e: transposed(t.e) }));
  const keys = (xs: typeof terms): string[] => xs.map((t) => `${t.sign}${keyOf(t.e.ast)}`).sort();
  const [before, after] = [keys(terms), keys(flipped)];
  const symmetric = before.every((k, i) => k === after[i]);
  // Symmetric: the sum as it is or term by term, whichever has its primes further right.
  if (symmetric && !primesLater(flipped, terms)) return mexpr(a, kind, true);
  if (!symmetric && flipped.reduce((n, t) => n + primes(t.e.ast), 0) > primes(a)) return undefined;
  let acc: Ast | undefined;
  for (const t of flipped) acc = acc ? bin(t.sign < 0 ? '-' : '+', acc, t.e.ast) : t.sign < 0 ? { kind: 'neg', arg: t.e.ast, span: a.span } : t.e.ast;
  return mexpr(acc!, kind, symmetric);
}

/** Whether x's terms, read in order, meet fewer primes first than y's: B*A + A'*B' before A'*B' + B*A. */
function primesLater(x: readonly { e: MExpr }[], y: readonly { e: MExpr }[]): boolean {
  for (let i = 0; i < x.length; i++) {
    const d = primes(x[i]!.e.ast) - primes(y[i]!.e.ast);
    if (d !== 0) return d < 0;
  }
  return false;
}

/** The terms of a sum made here, with their signs (undefined where a part is not typed). */
function signedTerms(a: Ast, sign = 1): { sign: number; e: MExpr }[] | undefined {
  if (a.kind === 'binary' && (a.op === '+' || a.op === '-')) {
    const l = signedTerms(a.left, sign);
    const r = signedTerms(a.right, a.op === '-' ? -sign : sign);
    return l && r ? [...l, ...r] : undefined;
  }
  if (a.kind === 'neg') return signedTerms(a.arg, -sign);
  const e = infoOf(a);
  return e && [{ sign, e }];
}

/**
 * Whether a product l*r may stand as its factors inside a longer product: not a scalar made of
 * non-scalars (u'*v in M*(u'*v) scales M; M*u'*v is no product at all).
 */
function splits(e: MExpr, l: MExpr, r: MExpr): boolean {
  return e.kind !== 'scalar' || (l.kind === 'scalar' && r.kind === 'scalar');
}

/** The factors of a product made here, left to right (undefined where a part is not typed). */
function productFactors(e: MExpr): MExpr[] | undefined {
  const a = e.ast;
  if (a.kind !== 'binary' || a.op !== '*') return [e];
  const l = infoOf(a.left);
  const r = infoOf(a.right);
  if (!l || !r) return undefined;
  if (!splits(e, l, r)) return [e];
  const lf = productFactors(l);
  const rf = productFactors(r);
  return lf && rf ? [...lf, ...rf] : undefined;
}

/** Number of transposes printed in a form (the orientation with fewer reads better). */
export function primes(a: Ast): number {
  switch (a.kind) {
    case 'transpose':
      return 1 + primes(a.arg);
    case 'neg':
      return primes(a.arg);
    case 'binary':
      return primes(a.left) + primes(a.right);
    case 'call':
      return a.args.reduce((s, x) => s + primes(x), 0);
    default:
      return 0;
  }
}

/**
 * The sizes of constants the printer made (vector(c), matrix(c), eye), so that where the printed
 * form alone does not fix them they can be given: vector(1, len(x)) (see sizes.ts). Every constant
 * the printers write goes through sized().
 */
const CONSTANT_DIMS = new WeakMap<Ast, readonly Dim[]>();

export function sized(e: MExpr, shape: readonly Dim[]): MExpr {
  CONSTANT_DIMS.set(e.ast, shape);
  return e;
}

export function constantDims(a: Ast): readonly Dim[] | undefined {
  return CONSTANT_DIMS.get(a);
}

/**
 * A copy of the tree in which every occurrence is its own object (the printers share sub-trees:
 * one vector(1) may stand in two places of different sizes), with the constants' sizes kept.
 */
export function unshared(a: Ast): Ast {
  const copy = (x: Ast): Ast => {
    let c: Ast;
    switch (x.kind) {
      case 'num':
      case 'name':
        c = { ...x };
        break;
      case 'neg':
      case 'transpose':
        c = { ...x, arg: copy(x.arg) };
        break;
      case 'binary':
        c = { ...x, left: copy(x.left), right: copy(x.right) };
        break;
      case 'call':
        c = { ...x, args: x.args.map(copy) };
        break;
      case 'where':
        c = { ...x, body: copy(x.body), bindings: x.bindings.map((b) => ({ ...b, value: copy(b.value) })) };
        break;
    }
    const dims = CONSTANT_DIMS.get(x);
    if (dims) CONSTANT_DIMS.set(c, dims);
    return c;
  };
  return copy(a);
}

/** vector(1) on an axis of size d, or of a size the context fixes (undefined). */
export const ONE_VECTOR = (d?: Dim): MExpr => {
  const e = mexpr(call('vector', num(1)), 'vector');
  return d === undefined ? e : sized(e, [d]);
};

/** Whether a form is vector(1) as ONE_VECTOR writes it (its size not given). */
export const isOneVector = (a: Ast): boolean => a.kind === 'call' && a.fn === 'vector' && a.args.length === 1 && a.args[0]!.kind === 'num' && a.args[0]!.value === 1;

/** vector(1) or matrix(1), sized or not: a tensor of ones. */
export const isOnesTensor = (a: Ast): boolean => a.kind === 'call' && (a.fn === 'vector' || a.fn === 'matrix') && a.args[0]?.kind === 'num' && a.args[0].value === 1;

/** vector(c) or matrix(c) of the given shape. */
export const constantOf = (c: number, shape: readonly Dim[]): MExpr => {
  const kind = shape.length === 2 ? 'matrix' : 'vector';
  return sized(mexpr(call(kind, num(c)), kind, kind === 'matrix' && shape[0] === shape[1]), shape);
};

/**
 * The same form with each child replaced by f(child): a new object, typed as the old one, only
 * where a child changed (what the printer knows about unchanged parts stays attached).
 */
export function mapChildren(a: Ast, f: (c: Ast) => Ast): Ast {
  switch (a.kind) {
    case 'num':
    case 'name':
      return a;
    case 'neg':
    case 'transpose': {
      const arg = f(a.arg);
      return arg === a.arg ? a : keepTyping(a, { ...a, arg });
    }
    case 'binary': {
      const left = f(a.left);
      const right = f(a.right);
      return left === a.left && right === a.right ? a : keepTyping(a, { ...a, left, right });
    }
    case 'call': {
      const args = a.args.map(f);
      return args.every((x, i) => x === a.args[i]) ? a : keepTyping(a, { ...a, args });
    }
    case 'where': {
      const body = f(a.body);
      const bindings = a.bindings.map((b) => {
        const value = f(b.value);
        return value === b.value ? b : { ...b, value };
      });
      return body === a.body && bindings.every((b, i) => b === a.bindings[i]) ? a : { ...a, body, bindings };
    }
  }
}
