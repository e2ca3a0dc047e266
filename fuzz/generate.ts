/**
 * The fuzzer's generator: random well-typed expressions of the input language, built as syntax
 * trees (the engine's own `Ast` shape, so that the shrinker and the mathjs oracle walk one kind of
 * tree) with a type for every node that the generator itself decides — never our checker.
 *
 * Types are written with two size symbols, n and m, their products (the length of vec of an a×b
 * matrix, a*b, and the sides of a Kronecker product) and 1: a scalar is 1×1, a vector d×1, a row
 * 1×d, a matrix r×c. Every operator and function of the language is drawn (src/syntax/ops.ts),
 * with compound arguments, negative constants, vector(c)/matrix(c)/eye, a declared symmetric
 * matrix, and "identity bait": forms that invite a rewrite that is wrong for some inputs
 * (sqrt(u^2), (u^2)^(3/2), inv(inv(M)), tr(A*B) - tr(B*A), log(exp(u)), x./x, …).
 */
import type { Ast, BinaryOp } from '../src/syntax/ast.js';
import { NO_SPAN, astChildren } from '../src/syntax/ast.js';
import { ELEMENTWISE_FNS, type ElementwiseFn } from '../src/syntax/ops.js';

export type BaseSym = 'n' | 'm';
/** A size: 1, n, m, or a*b, the size of vec of an a×b matrix (its index is i_a + a·i_b). */
export type Sym = 1 | BaseSym | `${BaseSym}*${BaseSym}`;
export const PRODUCT_SYMS: readonly Sym[] = ['n*n', 'm*n', 'n*m', 'm*m'];
export const isProduct = (s: Sym): s is `${BaseSym}*${BaseSym}` => typeof s === 'string' && s.includes('*');
/** The two sizes a size merges: a*b → [a, b]; any other s → [s, 1]. */
export function factorsOf(s: Sym): [Sym, Sym] {
  if (!isProduct(s)) return [s, 1];
  const [a, b] = s.split('*') as [BaseSym, BaseSym];
  return [a, b];
}
export interface GType {
  readonly r: Sym;
  readonly c: Sym;
}
export type Kind = 'scalar' | 'vector' | 'row' | 'matrix';

export const SCALAR: GType = { r: 1, c: 1 };
export const vec = (d: Sym): GType => ({ r: d, c: 1 });
export const row = (d: Sym): GType => ({ r: 1, c: d });
export const mat = (r: Sym, c: Sym): GType => ({ r, c });

export function kindOf(t: GType): Kind {
  if (t.r === 1 && t.c === 1) return 'scalar';
  if (t.c === 1) return 'vector';
  if (t.r === 1) return 'row';
  return 'matrix';
}
export const sameType = (a: GType, b: GType): boolean => a.r === b.r && a.c === b.c;
export const typeText = (t: GType): string => `${t.r}×${t.c}`;

export interface VarSpec {
  readonly name: string;
  readonly type: GType;
  /** A declaration for --let (absent: the naming convention gives the type). */
  readonly declared?: 'scalar' | 'vector' | 'matrix' | 'symmetric matrix';
}

/**
 * The variables a case may use. x, y are n-vectors and z an m-vector; A, B are n×n, X is m×n and
 * S an n×n matrix declared symmetric; k is declared a scalar (its name says vector), alpha is a
 * Greek scalar.
 */
export const ENV: readonly VarSpec[] = [
  { name: 'a', type: SCALAR },
  { name: 'b', type: SCALAR },
  { name: 'alpha', type: SCALAR },
  { name: 'k', type: SCALAR, declared: 'scalar' },
  { name: 'x', type: vec('n') },
  { name: 'y', type: vec('n') },
  { name: 'z', type: vec('m') },
  { name: 'A', type: mat('n', 'n') },
  { name: 'B', type: mat('n', 'n') },
  { name: 'X', type: mat('m', 'n') },
  { name: 'S', type: mat('n', 'n'), declared: 'symmetric matrix' },
];
export const envVar = (name: string): VarSpec | undefined => ENV.find((v) => v.name === name);

/** A generated expression: the tree and the type of each of its nodes. */
export interface Expr {
  readonly ast: Ast;
  readonly types: ReadonlyMap<Ast, GType>;
}

type Rand = () => number;

/** Tree construction with the type recorded for every node. */
export class Builder {
  readonly types = new Map<Ast, GType>();

  constructor(readonly rand: Rand) {}

  int(n: number): number {
    return Math.floor(this.rand() * n);
  }
  chance(p: number): boolean {
    return this.rand() < p;
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)]!;
  }

  private typed(a: Ast, t: GType): Ast {
    this.types.set(a, t);
    return a;
  }
  type(a: Ast): GType {
    const t = this.types.get(a);
    if (!t) throw new Error('fuzz: untyped node');
    return t;
  }
  num(v: number): Ast {
    if (v < 0) return this.neg(this.num(-v));
    return this.typed({ kind: 'num', value: v, text: String(v), span: NO_SPAN }, SCALAR);
  }
  name(name: string, t: GType): Ast {
    return this.typed({ kind: 'name', name, span: NO_SPAN }, t);
  }
  neg(a: Ast): Ast {
    return this.typed({ kind: 'neg', arg: a, span: NO_SPAN }, this.type(a));
  }
  transpose(a: Ast): Ast {
    const t = this.type(a);
    return this.typed({ kind: 'transpose', arg: a, span: NO_SPAN }, { r: t.c, c: t.r });
  }
  bin(op: BinaryOp, l: Ast, r: Ast, t: GType): Ast {
    return this.typed({ kind: 'binary', op, left: l, right: r, span: NO_SPAN, opSpan: NO_SPAN }, t);
  }
  call(fn: string, arg: Ast, t: GType, ...more: Ast[]): Ast {
    return this.typed({ kind: 'call', fn, args: [arg, ...more], span: NO_SPAN, nameSpan: NO_SPAN }, t);
  }
  /** body where t1 = v1, t2 = v2, … (of the body's type). */
  where(body: Ast, bindings: readonly { readonly name: string; readonly value: Ast }[]): Ast {
    const named = bindings.map((x) => ({ name: x.name, nameSpan: NO_SPAN, value: x.value }));
    return this.typed({ kind: 'where', body, bindings: named, span: NO_SPAN }, this.type(body));
  }
  /** A copy of a tree with every name `from` read as `to` (of the same type). */
  renamed(a: Ast, from: string, to: string): Ast {
    if (a.kind === 'name') return a.name === from ? this.name(to, this.type(a)) : a;
    const cs = astChildren(a);
    const next = cs.map((c) => this.renamed(c, from, to));
    return next.every((c, i) => c === cs[i]) ? a : this.rebuild(a, next);
  }
  /** A copy of a node with other children (same type). */
  rebuild(a: Ast, children: readonly Ast[]): Ast {
    const t = this.type(a);
    switch (a.kind) {
      case 'num':
      case 'name':
        return a;
      case 'neg':
        return this.typed({ ...a, arg: children[0]! }, t);
      case 'transpose':
        return this.typed({ ...a, arg: children[0]! }, t);
      case 'binary':
        return this.typed({ ...a, left: children[0]!, right: children[1]! }, t);
      case 'call':
        return this.typed({ ...a, args: [...children] }, t);
      case 'where':
        return this.typed({ ...a, bindings: a.bindings.map((x, i) => ({ ...x, value: children[i]! })), body: children[a.bindings.length]! }, t);
    }
  }
}

/** Scalar constants: negatives, fractions, and the awkward 1 and 0.5. */
const CONSTANTS = [2, 0.5, 3, 1, 1.5, 0.1, -1, -2, -0.5, -3];
/** Exponents of scalar and element-wise powers (negative and fractional ones included). */
const EXPONENTS = [2, 3, -1, 0.5, -0.5, 1.5, -2, 4];
/** Exponents of integer matrix powers. */
const MATRIX_EXPONENTS = [2, 3, -1, -2, 0, 1, 4];

/** Generates random expressions into a Builder; depth bounds the height of the tree. */
export class Generator {
  constructor(readonly b: Builder) {}

  private vars(t: GType): VarSpec[] {
    return ENV.filter((v) => sameType(v.type, t));
  }

  leaf(t: GType): Ast {
    const b = this.b;
    const k = kindOf(t);
    const vars = this.vars(t);
    if (k === 'scalar') return vars.length > 0 && b.chance(0.6) ? this.varLeaf(vars) : b.num(b.pick(CONSTANTS));
    if (k === 'row') return b.transpose(this.leaf({ r: t.c, c: 1 }));
    if (vars.length > 0 && b.chance(0.75)) return this.varLeaf(vars);
    if (k === 'matrix') {
      const tv = this.vars({ r: t.c, c: t.r });
      if (tv.length > 0 && b.chance(0.5)) return b.transpose(this.varLeaf(tv));
      if (t.r === t.c && b.chance(0.5)) return b.name('eye', t);
      return b.call('matrix', this.constArg(), t);
    }
    return b.call('vector', this.constArg(), t);
  }

  private varLeaf(vars: readonly VarSpec[]): Ast {
    const v = this.b.pick(vars);
    return this.b.name(v.name, v.type);
  }

  /** The c of vector(c)/matrix(c): mostly a number, sometimes a scalar variable. */
  private constArg(): Ast {
    return this.b.chance(0.75) ? this.b.num(this.b.pick(CONSTANTS)) : this.leaf(SCALAR);
  }

  expr(t: GType, depth: number): Ast {
    const b = this.b;
    // A product size is mostly what vec and kron make (else vector(c), matrix(c) and sums of them).
    if ((isProduct(t.r) || isProduct(t.c)) && b.chance(0.6)) {
      const a = t.c === 1 && b.chance(0.6) ? this.vecOf(t, Math.max(depth - 1, 0)) : this.kron(t, Math.max(depth - 1, 0));
      if (a) return a;
    }
    if (depth <= 0 || b.chance(0.2)) return this.leaf(t);
    const k = kindOf(t);
    const table = k === 'scalar' ? this.scalarRules : k === 'vector' ? this.vectorRules : k === 'row' ? this.rowRules : this.matrixRules;
    for (let tries = 0; tries < 20; tries++) {
      const rule = weighted(table, b.rand);
      const a = rule(t, depth - 1);
      if (a) return a;
    }
    return this.leaf(t);
  }

  /** A random inner size for products: now and then a product size (vec, kron). */
  private innerSize(): Sym {
    if (this.b.chance(0.15)) return this.b.pick(PRODUCT_SYMS);
    return this.b.pick<Sym>(['n', 'n', 'm']);
  }

  /**
   * kron(P, Q) of type t, one of whose sizes is a product: rows(Q)·rows(P) × cols(Q)·cols(P), Q's
   * index varying fastest, so t = (ra*rb)×(ca*cb) takes Q: ra×ca and P: rb×cb.
   */
  private kron(t: GType, d: number): Ast | undefined {
    if (!isProduct(t.r) && !isProduct(t.c)) return undefined;
    const [ra, rb] = factorsOf(t.r);
    const [ca, cb] = factorsOf(t.c);
    return this.b.call('kron', this.expr(mat(rb, cb), d), t, this.expr(mat(ra, ca), d));
  }

  /** vec(M) of an a×b matrix M, for a vector of size a*b. */
  private vecOf(t: GType, d: number): Ast | undefined {
    if (!isProduct(t.r) || t.c !== 1) return undefined;
    const [a, b] = factorsOf(t.r);
    return this.b.call('vec', this.expr(mat(a, b), d), t);
  }

  private ew(t: GType, d: number, fn?: ElementwiseFn): Ast {
    const f = fn ?? this.b.pick(ELEMENTWISE_FNS);
    return this.b.call(f, this.domainArg(f, t, d), t);
  }

  /**
   * The argument of a function with a restricted domain: half the time drawn so that it lies in
   * the domain (exp(u), u.^2 + 1, tanh(u), …), otherwise anything (points outside are skipped).
   */
  private domainArg(fn: string, t: GType, d: number): Ast {
    const b = this.b;
    const u = this.expr(t, d);
    if (!b.chance(0.5)) return u;
    if (fn === 'log' || fn === 'sqrt') return this.positive(t, d);
    if (fn === 'arcsin' || fn === 'arccos') return b.call(b.pick(['tanh', 'sin', 'cos', 'sigmoid']), u, t);
    return u;
  }

  /** An expression positive everywhere. */
  private positive(t: GType, d: number): Ast {
    const b = this.b;
    const u = this.expr(t, d);
    const k = kindOf(t);
    const one = k === 'scalar' ? b.num(b.pick([1, 0.5, 2])) : b.call(k === 'vector' ? 'vector' : 'matrix', b.num(b.pick([1, 0.5])), t);
    switch (b.int(4)) {
      case 0:
        return b.call('exp', u, t);
      case 1:
        return b.call(b.pick(['softplus', 'sigmoid']), u, t);
      case 2:
        return b.bin('+', b.bin(k === 'scalar' ? '^' : '.^', u, b.num(2), t), one, t);
      default:
        return b.bin('+', b.call('abs', u, t), one, t);
    }
  }

  /** A square matrix that is invertible for almost every point, sometimes positive definite. */
  private square(d: Sym, depth: number): Ast {
    const b = this.b;
    const t = mat(d, d);
    if (!b.chance(0.4)) return this.expr(t, depth);
    const r = b.pick<Sym>(['n', 'm']);
    const m = this.expr(mat(d, r), depth - 1);
    return b.bin('+', b.bin('*', m, b.transpose(m), t), b.name('eye', t), t);
  }

  private readonly scalarRules: Rule[] = [
    [6, (t, d) => this.arith(t, d)],
    [5, (t, d) => this.ew(t, d)],
    [2, (t, d) => this.b.neg(this.expr(t, d))],
    [3, (t, d) => this.b.bin('^', this.expr(t, d), this.b.num(this.b.pick(EXPONENTS)), t)],
    [1, (t, d) => this.b.bin('^', this.positive(t, d), this.expr(t, d - 1), t)],
    [1, (t, d) => this.b.bin(this.b.pick(['.*', './', '.^'] as const), this.expr(t, d), this.expr(t, d), t)],
    [5, (_t, d) => this.innerProduct(d)],
    [3, (_t, d) => this.b.call(this.b.pick(['sum', 'norm1', 'norm2']), this.expr(this.anyShape(), d), SCALAR)],
    [1, (_t, d) => this.b.call('logsumexp', this.expr(this.anyShape(), d), SCALAR)],
    [2, (_t, d) => this.b.call('tr', this.expr(mat('n', 'n'), d), SCALAR)],
    [2, (_t, d) => this.b.call('det', this.square(this.b.pick<Sym>(['n', 'm']), d), SCALAR)],
    [2, (_t, d) => this.b.call('logdet', this.square(this.b.pick<Sym>(['n', 'm']), d), SCALAR)],
    [4, (t, d) => this.scalarBait(t, d)],
  ];

  private readonly vectorRules: Rule[] = [
    [6, (t, d) => this.arith(t, d)],
    [5, (t, d) => this.ew(t, d)],
    [2, (t, d) => this.b.neg(this.expr(t, d))],
    [5, (t, d) => this.matVec(t, d)],
    [3, (t, d) => this.scale(t, d)],
    [3, (t, d) => this.elementwise(t, d)],
    [2, (t, d) => this.b.bin('.^', this.expr(t, d), this.b.num(this.b.pick(EXPONENTS)), t)],
    [1, (t, d) => this.b.transpose(this.expr(row(t.r), d))],
    [2, (t, d) => this.b.call('diag', this.expr(mat(t.r, t.r), d), t)],
    [1, (t, d) => this.b.call('softmax', this.expr(t, d), t)],
    [3, (t, d) => this.vectorBait(t, d)],
    [6, (t, d) => this.vecOf(t, d)],
    [3, (t, d) => this.kron(t, d)],
  ];

  private readonly rowRules: Rule[] = [
    [5, (t, d) => this.b.transpose(this.expr(vec(t.c), d))],
    [3, (t, d) => {
      const e = this.innerSize();
      return this.b.bin('*', this.expr(row(e), d), this.expr(mat(e, t.c), d), t);
    }],
    [1, (t, d) => this.arith(t, d)],
    [1, (t, d) => this.scale(t, d)],
    [1, (t, d) => this.b.neg(this.expr(t, d))],
    [2, (t, d) => this.kron(t, d)],
  ];

  private readonly matrixRules: Rule[] = [
    [5, (t, d) => this.arith(t, d)],
    [3, (t, d) => this.ew(t, d)],
    [1, (t, d) => this.b.neg(this.expr(t, d))],
    [5, (t, d) => {
      const e = this.innerSize();
      return this.b.bin('*', this.expr(mat(t.r, e), d), this.expr(mat(e, t.c), d), t);
    }],
    [2, (t, d) => this.b.bin('*', this.expr(vec(t.r), d), this.expr(row(t.c), d), t)],
    [3, (t, d) => this.b.transpose(this.expr(mat(t.c, t.r), d))],
    [3, (t, d) => this.scale(t, d)],
    [3, (t, d) => this.elementwise(t, d)],
    [1, (t, d) => this.b.bin('.^', this.expr(t, d), this.b.num(this.b.pick(EXPONENTS)), t)],
    [2, (t, d) => (t.r === t.c ? this.b.call('inv', this.square(t.r, d), t) : undefined)],
    [2, (t, d) => (t.r === t.c ? this.b.bin('^', this.expr(t, d), this.b.num(this.b.pick(MATRIX_EXPONENTS)), t) : undefined)],
    [1, (t, d) => (t.r === t.c ? this.b.bin('^', this.square(t.r, d), this.b.num(-1), t) : undefined)],
    [2, (t, d) => (t.r === t.c ? this.b.call('diag', this.expr(this.b.chance(0.8) ? vec(t.r) : row(t.r), d), t) : undefined)],
    [2, (t, d) => (t.r === 'n' && t.c === 'n' ? this.b.bin('+', this.b.name('S', t), this.expr(t, d), t) : undefined)],
    [3, (t, d) => this.matrixBait(t, d)],
    [4, (t, d) => this.kron(t, d)],
  ];

  private anyShape(): GType {
    return this.b.pick([vec('n'), vec('m'), row('n'), mat('n', 'n'), mat('m', 'n'), SCALAR]);
  }

  /** u ± v, u*v and u/v where they type (scalars: all four). */
  private arith(t: GType, d: number): Ast {
    const b = this.b;
    const op = kindOf(t) === 'scalar' ? b.pick(['+', '-', '*', '/'] as const) : b.pick(['+', '-'] as const);
    return b.bin(op, this.expr(t, d), this.expr(t, d), t);
  }

  /** Scaling by a scalar: c*u, u*c, u/c. */
  private scale(t: GType, d: number): Ast {
    const b = this.b;
    const c = this.expr(SCALAR, d - 1);
    const u = this.expr(t, d);
    switch (b.int(3)) {
      case 0:
        return b.bin('*', c, u, t);
      case 1:
        return b.bin('*', u, c, t);
      default:
        return b.bin('/', u, c, t);
    }
  }

  /** Hadamard product, quotient and power, sometimes with a scalar on one side. */
  private elementwise(t: GType, d: number): Ast {
    const b = this.b;
    const op = b.pick(['.*', './', '.*', '.^'] as const);
    const l = this.expr(t, d);
    const r = b.chance(0.2) ? this.expr(SCALAR, d - 1) : op === './' && b.chance(0.5) ? this.positive(t, d - 1) : this.expr(t, d);
    if (op === '.^') return b.bin('.^', this.positive(t, d - 1), r, t);
    return b.chance(0.1) ? b.bin(op, this.expr(SCALAR, d - 1), l, t) : b.bin(op, l, r, t);
  }

  /** A row times a vector, or a quadratic form u'*M*v. */
  private innerProduct(d: number): Ast {
    const b = this.b;
    const e = this.innerSize();
    if (b.chance(0.5)) return b.bin('*', this.expr(row(e), d), this.expr(vec(e), d), SCALAR);
    const f = this.innerSize();
    const left = b.bin('*', this.expr(row(e), d - 1), this.expr(mat(e, f), d - 1), row(f));
    return b.bin('*', left, this.expr(vec(f), d - 1), SCALAR);
  }

  private matVec(t: GType, d: number): Ast {
    const e = this.innerSize();
    return this.b.bin('*', this.expr(mat(t.r, e), d), this.expr(vec(e), d), t);
  }

  /** A compound expression (never a bare leaf), for bait whose trap needs one. */
  private compound(t: GType, d: number): Ast {
    for (let i = 0; i < 10; i++) {
      const a = this.expr(t, Math.max(1, d));
      if (a.kind !== 'num' && a.kind !== 'name') return a;
    }
    return this.b.bin('-', this.leaf(t), this.leaf(t), t);
  }

  private scalarBait(t: GType, d: number): Ast {
    const b = this.b;
    const u = this.compound(t, d);
    const two = b.num(2);
    switch (b.int(12)) {
      case 0:
        return b.call('sqrt', b.bin('^', u, two, t), t);
      case 1: {
        const k = b.pick([1, 3, 5, -1]);
        return b.bin('^', b.bin('^', u, two, t), b.bin('/', b.num(k), b.num(2), t), t);
      }
      case 2:
        return b.call('log', b.call('exp', u, t), t);
      case 3:
        return b.call('exp', b.call('log', u, t), t);
      case 4:
        return b.bin('*', b.call('abs', u, t), b.call('sign', u, t), t);
      case 5:
        return b.bin('/', u, u, t);
      case 6: {
        const e = this.innerSize();
        const p = this.expr(mat('n', e), d - 1);
        const q = this.expr(mat(e, 'n'), d - 1);
        const tr = (m: Ast): Ast => b.call('tr', m, t);
        return b.bin('-', tr(b.bin('*', p, q, mat('n', 'n'))), tr(b.bin('*', q, p, mat(e, e))), t);
      }
      case 7: {
        const v = this.compound(vec('n'), d - 1);
        return b.bin('-', b.bin('^', b.call('norm2', v, t), two, t), b.bin('*', b.transpose(v), v, t), t);
      }
      case 8: {
        const m = this.square('n', d - 1);
        return b.bin('*', b.call('det', b.call('inv', m, mat('n', 'n')), t), b.call('det', m, t), t);
      }
      case 9:
        return b.bin('^', b.call('sqrt', u, t), two, t);
      case 10:
        return b.bin('^', b.call('abs', u, t), b.num(b.pick([2, 3, 0.5])), t);
      default:
        return b.bin('*', u, b.call('sign', u, t), t);
    }
  }

  private vectorBait(t: GType, d: number): Ast {
    const b = this.b;
    const u = this.compound(t, d);
    const two = b.num(2);
    switch (b.int(9)) {
      case 0:
        return b.call('sqrt', b.bin('.^', u, two, t), t);
      case 1:
        return b.bin('.^', b.bin('.^', u, two, t), b.num(b.pick([1.5, 0.5, 2.5, -0.5])), t);
      case 2:
        return b.call('log', b.call('exp', u, t), t);
      case 3:
        return b.call('exp', b.call('log', u, t), t);
      case 4:
        return b.bin('./', u, u, t);
      case 5:
        return b.bin('.*', b.call('abs', u, t), b.call('sign', u, t), t);
      case 6: {
        const m = this.square(t.r, d - 1);
        const sq = mat(t.r, t.r);
        return b.bin('*', b.call('inv', b.call('inv', m, sq), sq), this.expr(t, d - 1), t);
      }
      case 7:
        return b.transpose(b.transpose(u));
      default:
        return b.bin('.^', b.call('abs', u, t), b.num(b.pick([2, 3, 0.5])), t);
    }
  }

  /** A diagonal matrix that is a sum: diag(u) ± diag(v), diag(u) ± c*eye, or diag(u) alone. */
  private diagonalSum(t: GType, d: number): Ast {
    const b = this.b;
    const diagonal = (): Ast => b.call('diag', this.expr(vec(t.r), d - 1), t);
    const first = diagonal();
    switch (b.int(3)) {
      case 0:
        return b.bin(b.pick(['+', '-'] as const), first, diagonal(), t);
      case 1:
        return b.bin(b.pick(['+', '-'] as const), first, b.bin('*', this.expr(SCALAR, d - 1), b.name('eye', t), t), t);
      default:
        return first;
    }
  }

  private matrixBait(t: GType, d: number): Ast | undefined {
    const b = this.b;
    const u = this.compound(t, d);
    const sq = t.r === t.c;
    switch (b.int(8)) {
      case 0:
        return sq ? b.call('inv', b.call('inv', this.square(t.r, d), t), t) : undefined;
      case 6:
        return sq ? this.diagonalSum(t, d) : undefined;
      case 7: {
        // Powers of diagonal matrices: diag(u)^k is diag(u.^k), and so for a sum of diagonals.
        if (!sq) return undefined;
        const matrixPower = b.chance(0.6);
        return b.bin(matrixPower ? '^' : '.^', this.diagonalSum(t, d), b.num(b.pick(matrixPower ? [2, 3, -1, -2] : [2, 3])), t);
      }
      case 1:
        return b.call('sqrt', b.bin('.^', u, b.num(2), t), t);
      case 2:
        return sq ? b.bin('*', u, b.call('inv', u, t), t) : undefined;
      case 3:
        return b.bin('./', u, u, t);
      case 4:
        return sq ? b.bin('^', b.call('inv', u, t), b.num(b.pick([2, -1, -2])), t) : undefined;
      default:
        return b.bin('.^', b.bin('.^', u, b.num(2), t), b.num(b.pick([1.5, 0.5])), t);
    }
  }
}

type Rule = readonly [weight: number, make: (t: GType, depth: number) => Ast | undefined];

function weighted(rules: readonly Rule[], rand: Rand): Rule[1] {
  let total = 0;
  for (const [w] of rules) total += w;
  let r = rand() * total;
  for (const [w, f] of rules) {
    r -= w;
    if (r < 0) return f;
  }
  return rules[rules.length - 1]![1];
}

/** Variables that occur in a tree. */
export function varsOf(a: Ast, out = new Set<string>()): Set<string> {
  if (a.kind === 'name' && a.name !== 'eye') out.add(a.name);
  for (const c of childrenOf(a)) varsOf(c, out);
  return out;
}

/** The children of an AST node (the syntax module's own walk). */
export const childrenOf = astChildren;

export function sizeOfTree(a: Ast): number {
  let n = 1;
  for (const c of childrenOf(a)) n += sizeOfTree(c);
  return n;
}
