/**
 * The checker: types by the naming convention (overridden by declarations), symbolic sizes unified
 * across the expression, and errors that name the operator, point at it and give both sizes.
 */
import type { Ast, Span } from './ast.js';
import { astChildren } from './ast.js';
import { FUNCTIONS, isFnName, isGreek, RESERVED_NAMES } from './ops.js';
import { functionAdvice } from './suggest.js';
import { ONE, SCALAR, SIZE_NAMES, Sizes, kindOf, type Dim, type Type, type TypeKind } from './types.js';
import { typeError, unsupported, inputError } from '../errors.js';

export type DeclaredType = 'scalar' | 'vector' | 'matrix' | 'symmetric matrix';
export const DECLARED_TYPES: readonly DeclaredType[] = ['scalar', 'vector', 'matrix', 'symmetric matrix'];

export interface VarInfo {
  readonly name: string;
  readonly declared: DeclaredType;
  readonly symmetric: boolean;
  readonly type: Type;
  /** Where the variable first occurs (undefined for a variable that is only declared). */
  readonly span: Span | undefined;
  /** Whether its type came from a declaration rather than the naming convention. */
  readonly explicit: boolean;
}

export interface Checked {
  readonly text: string;
  readonly ast: Ast;
  readonly types: ReadonlyMap<Ast, Type>;
  /** Variables in order of first appearance. */
  readonly vars: ReadonlyMap<string, VarInfo>;
  readonly sizes: Sizes;
  /** Display name of a size symbol. */
  sizeName(d: Dim): string;
  /** The size symbol of every size argument (eye(rows(X)), commutation(m, n), vector(c, n)). */
  readonly sizeArgs: ReadonlyMap<Ast, Dim>;
  /**
   * What size arguments that are products or quotients say: total = the product of parts
   * (commutation(rows(S), rows(X)*len(z)); len(x)/len(y) is the k with len(x) = k·len(y)).
   */
  readonly sizeProducts: readonly SizeRelation[];
  /** Every size that is a product of others (kron, vec, commutation, size arguments): total = Π parts. */
  readonly products: readonly { readonly total: Dim; readonly parts: readonly Dim[] }[];
}

export interface SizeRelation {
  readonly total: Dim;
  readonly parts: readonly Dim[];
  /** The size argument as written (len(x)*len(z)/len(y)), for messages, and the size it stands for. */
  readonly written: string;
  readonly stands: Dim;
}

export type Declarations = Readonly<Record<string, DeclaredType | string>>;

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** The type a name has by the naming convention, or undefined if the convention says nothing. */
export function conventionalType(name: string): DeclaredType | undefined {
  if (isGreek(name)) return 'scalar';
  const c = name[0]!;
  if (c >= 'a' && c <= 'g') return 'scalar';
  if (c >= 'h' && c <= 'z') return 'vector';
  if (c >= 'A' && c <= 'Z') return 'matrix';
  return undefined;
}

export function parseDeclaredType(text: string): DeclaredType | undefined {
  const t = text.trim().replace(/\s+/g, ' ').toLowerCase();
  return (DECLARED_TYPES as readonly string[]).includes(t) ? (t as DeclaredType) : undefined;
}

/** Validates declarations given as { name: type }. */
export function validateDeclarations(decls: Declarations): Map<string, DeclaredType> {
  const out = new Map<string, DeclaredType>();
  for (const [name, type] of Object.entries(decls)) {
    if (!IDENT.test(name)) throw inputError(`cannot declare '${name}': a name is a letter or _ followed by letters, digits or _`);
    if (RESERVED_NAMES.has(name)) throw inputError(`cannot declare '${name}': it is a function name`);
    const t = parseDeclaredType(type);
    if (!t) throw inputError(`unknown type '${type}' for ${name}: use scalar, vector, matrix or symmetric matrix`);
    out.set(name, t);
  }
  return out;
}

class Checker {
  readonly sizes = new Sizes();
  readonly types = new Map<Ast, Type>();
  readonly vars = new Map<string, VarInfo>();
  /** Temporaries of a where clause that are in scope, with their types. */
  readonly bindings = new Map<string, Type>();
  readonly sizeArgs = new Map<Ast, Dim>();
  readonly sizeProducts: SizeRelation[] = [];
  /** Sizes that are products of others: kron's, vec's, commutation's (with sizeProducts, all of them). */
  private readonly products: { readonly total: Dim; readonly parts: readonly Dim[] }[] = [];
  private readonly names = new Map<Dim, string>();

  constructor(
    readonly text: string,
    readonly decls: ReadonlyMap<string, DeclaredType>,
    /** The whole expression, which a hint that proposes a declaration checks again with it. */
    private readonly root: Ast,
  ) {}

  /** Whether the whole expression checks once a name is declared so: a hint proposes only that. */
  private checksWith(name: string, type: DeclaredType): boolean {
    try {
      check(this.text, this.root, { ...Object.fromEntries(this.decls), [name]: type });
      return true;
    } catch {
      return false;
    }
  }

  sizeName = (d: Dim): string => {
    const r = this.sizes.find(d);
    if (r === ONE) return '1';
    let name = this.names.get(r);
    if (name === undefined) {
      const i = this.names.size;
      name = i < SIZE_NAMES.length ? SIZE_NAMES[i]! : `n${i - SIZE_NAMES.length + 2}`;
      this.names.set(r, name);
    }
    return name;
  };

  /** Names every size symbol of the variables in order of appearance, rows before columns. */
  nameSizes(): void {
    this.names.clear();
    for (const v of this.vars.values()) {
      this.sizeName(v.type.rows);
      this.sizeName(v.type.cols);
    }
  }

  /** A new size symbol that is the product of the sizes parts. */
  product(parts: readonly Dim[]): Dim {
    const d = this.sizes.fresh();
    this.products.push({ total: d, parts });
    return d;
  }

  /** Every product relation: kron's, vec's, commutation's and the size arguments'. */
  allProducts(): { readonly total: Dim; readonly parts: readonly Dim[] }[] {
    return [...this.products, ...this.sizeProducts.map((r) => ({ total: r.total, parts: r.parts }))];
  }

  /**
   * Sizes that products make equal: where one size is two products (kron(y', z')*kron(B*y, z)
   * multiplies len(y)·len(z) columns by rows(B)·len(z) rows), their common factors cancel, and
   * where one factor is left on each side the two are the same size (rows(B) = len(y): sizes are
   * positive whole numbers). A product inside a product counts by its factors. Repeated until no
   * two sizes merge, since one merge can leave a single factor elsewhere.
   */
  cancelProducts(): void {
    const all = this.allProducts();
    const root = (d: Dim): Dim => this.sizes.find(d);
    const factors = (d: Dim, seen: ReadonlySet<Dim>): Dim[] => {
      const r = root(d);
      const rel = seen.has(r) ? undefined : all.find((x) => root(x.total) === r);
      return rel ? rel.parts.flatMap((p) => factors(p, new Set([...seen, r]))) : [r];
    };
    for (let changed = true; changed; ) {
      changed = false;
      for (let i = 0; i < all.length && !changed; i++)
        for (let j = i + 1; j < all.length && !changed; j++) {
          const a = all[i]!;
          const b = all[j]!;
          if (root(a.total) !== root(b.total)) {
            changed = this.sameProduct(a.parts, b.parts, factors) && this.sizes.unify(a.total, b.total);
            continue;
          }
          const seen = new Set([root(a.total)]);
          const left = a.parts.flatMap((p) => factors(p, seen));
          const right = b.parts.flatMap((p) => factors(p, seen));
          for (let k = left.length - 1; k >= 0; k--) {
            const at = right.indexOf(left[k]!);
            if (at >= 0) {
              right.splice(at, 1);
              left.splice(k, 1);
            }
          }
          if (left.length === 1 && right.length === 1) changed = this.sizes.unify(left[0]!, right[0]!);
        }
    }
  }

  /**
   * Whether two products multiply the same sizes (as many times each), so that they are one size:
   * vec(B) written twice is one length, and rows(B)·cols(B) is cols(kron(z', A)) in both places.
   */
  private sameProduct(x: readonly Dim[], y: readonly Dim[], factors: (d: Dim, seen: ReadonlySet<Dim>) => Dim[]): boolean {
    const left = x.flatMap((p) => factors(p, new Set()));
    const right = y.flatMap((p) => factors(p, new Set()));
    if (left.length !== right.length) return false;
    for (const d of left) {
      const at = right.indexOf(d);
      if (at < 0) return false;
      right.splice(at, 1);
    }
    return true;
  }

  describe(t: Type): string {
    const kind = kindOf(t, this.sizes);
    const r = this.sizeName(t.rows);
    const c = this.sizeName(t.cols);
    return kind === 'scalar' ? 'a scalar' : `${r}×${c} (${kind === 'matrix' ? 'a matrix' : `a ${kind}`})`;
  }

  snippet(a: Ast): string {
    const s = this.text.slice(a.span.start, a.span.end);
    return s.length > 40 ? s.slice(0, 37) + '...' : s;
  }

  kind(t: Type): TypeKind {
    return kindOf(t, this.sizes);
  }

  declareVar(name: string, span: Span | undefined): VarInfo {
    const existing = this.vars.get(name);
    if (existing) return existing;
    const declared = this.decls.get(name);
    const conv = conventionalType(name);
    const t = declared ?? conv;
    if (!t)
      throw typeError(
        `cannot tell the type of '${name}' from its name: declare it (for example --let "${name}: vector")`,
        span,
      );
    let type: Type;
    switch (t) {
      case 'scalar':
        type = SCALAR;
        break;
      case 'vector':
        type = { rows: this.sizes.fresh(), cols: ONE };
        break;
      case 'matrix':
        type = { rows: this.sizes.fresh(), cols: this.sizes.fresh() };
        break;
      case 'symmetric matrix': {
        const n = this.sizes.fresh();
        type = { rows: n, cols: n };
        break;
      }
    }
    // Name the new sizes now, so that messages use n, m, … in order of appearance.
    this.sizeName(type.rows);
    this.sizeName(type.cols);
    const info: VarInfo = { name, declared: t, symmetric: t === 'symmetric matrix', type, span, explicit: declared !== undefined };
    this.vars.set(name, info);
    return info;
  }

  check(a: Ast): Type {
    const t = this.infer(a);
    this.types.set(a, t);
    return t;
  }

  private infer(a: Ast): Type {
    switch (a.kind) {
      case 'num':
        if (!Number.isFinite(a.value)) throw typeError(`number ${a.text} is out of range`, a.span);
        return SCALAR;
      case 'name': {
        if (a.name === 'eye') {
          const n = this.sizes.fresh();
          return { rows: n, cols: n };
        }
        if (isFnName(a.name)) throw typeError(`${a.name} is a function: write ${a.name}(...)`, a.span);
        const bound = this.bindings.get(a.name);
        if (bound) return bound;
        return this.declareVar(a.name, a.span).type;
      }
      case 'neg':
        return this.check(a.arg);
      case 'transpose': {
        const t = this.check(a.arg);
        return { rows: t.cols, cols: t.rows };
      }
      case 'binary':
        return this.binary(a);
      case 'call':
        return this.call(a);
      case 'where':
        return this.where(a);
    }
  }

  /** Temporaries in order (each may use those before it), then the body. */
  private where(a: Ast & { kind: 'where' }): Type {
    a.bindings.forEach((b, k) => {
      if (RESERVED_NAMES.has(b.name)) throw typeError(`cannot name a temporary '${b.name}': it is a function name`, b.nameSpan);
      if (this.bindings.has(b.name)) throw typeError(`the temporary ${b.name} is defined twice`, b.nameSpan);
      if (this.decls.has(b.name)) throw typeError(`${b.name} is declared as a variable and defined as a temporary`, b.nameSpan);
      const early = a.bindings.slice(0, k + 1).find((c) => usesName(c.value, b.name));
      if (early) throw typeError(`the temporary ${b.name} is used before its definition`, early.value.span);
      this.bindings.set(b.name, this.check(b.value));
    });
    return this.check(a.body);
  }

  private sameShape(op: string, a: Ast & { kind: 'binary' }, l: Type, r: Type): void {
    const okRows = this.sizes.unify(l.rows, r.rows);
    const okCols = okRows && this.sizes.unify(l.cols, r.cols);
    if (!okRows || !okCols) {
      const lk = this.kind(l);
      const rk = this.kind(r);
      const hint =
        (lk === 'scalar') !== (rk === 'scalar') && (op === '+' || op === '-')
          ? this.conventionHint(a.left, lk, rk) ??
            this.conventionHint(a.right, rk, lk) ??
            this.transposedScalarHint(a.left) ??
            this.transposedScalarHint(a.right) ??
            this.scaledNameHint(lk === 'scalar' ? a.right : a.left) ??
            '; to add a scalar s to every entry write s*vector(1) or s*matrix(1)'
          : lk === 'vector' && rk === 'row vector' || lk === 'row vector' && rk === 'vector'
            ? '; transpose one side with \''
            : '';
      throw typeError(
        `${op}: shapes differ: ${this.snippet(a.left)} is ${this.describe(l)}, ${this.snippet(a.right)} is ${this.describe(r)}${hint}`,
        a.opSpan,
      );
    }
  }

  /**
   * Where a name typed by the naming convention alone meets the other kind in a sum (`A*x - b`, b
   * a scalar as a–g are): how to declare it the kind the other side has.
   */
  private conventionHint(side: Ast, kind: string, other: string): string | undefined {
    if (side.kind !== 'name' || this.vars.get(side.name)?.explicit !== false) return undefined;
    const want = other === 'row vector' ? 'vector' : other;
    if (want !== 'vector' && want !== 'matrix') return undefined;
    const every = kind === 'scalar' ? `, or write ${side.name}*${want}(1) to add it to every entry` : '';
    return `; ${side.name} is a ${kind} by the naming convention (a–g and Greek names are scalars, h–z vectors, A–Z matrices): declare "${side.name}: ${want}" to make it a ${want}${every}`;
  }

  /**
   * A scalar by the naming convention that is transposed (`x'*A*x + b'*x`, b a scalar as a–g are)
   * was most likely meant as a vector: a transposed scalar is the same scalar, so the side it is in
   * took the other kind. Says how to declare it, where that makes the whole expression check.
   */
  private transposedScalarHint(side: Ast): string | undefined {
    const found = findAst(side, (n) => n.kind === 'transpose' && n.arg.kind === 'name' && this.vars.get(n.arg.name)?.explicit === false && this.vars.get(n.arg.name)?.declared === 'scalar');
    if (found?.kind !== 'transpose' || found.arg.kind !== 'name') return undefined;
    const name = found.arg.name;
    if (!this.checksWith(name, 'vector')) return undefined;
    return `; ${name} is a scalar by the naming convention (a–g and Greek names are scalars, h–z vectors, A–Z matrices), so ${name}' is that scalar: declare "${name}: vector" to make it a vector`;
  }

  /**
   * The side of a sum that is not a scalar (`1 + exp(-y*(w'*x))`), where its shape comes from a
   * name typed by the naming convention alone that a scalar scales (y, a vector as h–z are): how to
   * declare it a scalar. Only subtrees that are not scalars are searched, since a scalar part
   * cannot have given the side its shape. The hint is given only where that declaration makes the
   * whole expression check and the name is nowhere transposed (x in `x'*x - 2*x` is a vector).
   */
  private scaledNameHint(side: Ast): string | undefined {
    const scalar = (n: Ast) => this.kind(this.types.get(n)!) === 'scalar';
    const unsigned = (n: Ast): Ast => (n.kind === 'neg' || n.kind === 'transpose' ? unsigned(n.arg) : n);
    const scaledName = (n: Ast): (Ast & { kind: 'name' }) | undefined => {
      if (n.kind !== 'binary' || !['*', '.*', '/', './'].includes(n.op)) return undefined;
      const [l, r] = [unsigned(n.left), unsigned(n.right)];
      for (const [c, other] of [[l, r], [r, l]] as const) {
        if (c.kind === 'name' && this.vars.get(c.name)?.explicit === false && !scalar(c) && scalar(other)) return c;
      }
      return undefined;
    };
    const found = findAst(side, (n) => scaledName(n) !== undefined, (n) => !scalar(n));
    const named = found && scaledName(found);
    if (!named || transposes(this.root, named.name) || !this.checksWith(named.name, 'scalar')) return undefined;
    const kind = this.kind(this.types.get(named)!);
    return `; ${named.name} is a ${kind} by the naming convention (a–g and Greek names are scalars, h–z vectors, A–Z matrices): declare "${named.name}: scalar" to make it a scalar, or write s*${kind === 'vector' ? 'vector' : 'matrix'}(1) to add a scalar s to every entry`;
  }

  private binary(a: Ast & { kind: 'binary' }): Type {
    const l = this.check(a.left);
    const r = this.check(a.right);
    const lk = this.kind(l);
    const rk = this.kind(r);
    switch (a.op) {
      case '+':
      case '-':
        this.sameShape(a.op, a, l, r);
        return l;
      case '.*':
      case './':
        if (lk === 'scalar') return r;
        if (rk === 'scalar') return l;
        this.sameShape(a.op, a, l, r);
        return l;
      case '*': {
        if (lk === 'scalar') return r;
        if (rk === 'scalar') return l;
        if (!this.sizes.unify(l.cols, r.rows)) {
          throw typeError(
            `*: inner sizes ${this.sizeName(l.cols)} and ${this.sizeName(r.rows)} differ: ${this.snippet(a.left)} is ${this.describe(l)}, ${this.snippet(a.right)} is ${this.describe(r)}`,
            a.opSpan,
          );
        }
        return { rows: l.rows, cols: r.cols };
      }
      case '/':
        if (rk !== 'scalar')
          throw typeError(
            `/: divides by a scalar, but ${this.snippet(a.right)} is ${this.describe(r)}; use ./ for element-wise division or inv(...) for a matrix inverse`,
            a.opSpan,
          );
        return l;
      case '^': {
        if (lk === 'scalar' && rk === 'scalar') return SCALAR;
        if (rk !== 'scalar') throw typeError(`^: the exponent must be a scalar, but ${this.snippet(a.right)} is ${this.describe(r)}; ${this.powerAdvice(a)}`, a.opSpan);
        if (lk === 'vector' || lk === 'row vector')
          throw typeError(`^: ${this.snippet(a.left)} is ${this.describe(l)}, not a square matrix; use .^ for element-wise powers`, a.opSpan);
        if (integerConstant(a.right) === undefined)
          throw unsupported(`^: a matrix power needs an integer constant exponent (A^2, A^-1); ${this.snippet(a.right)} is not one`, a.right.span);
        if (!Number.isSafeInteger(integerConstant(a.right)))
          throw unsupported(`^: a matrix power's exponent must be below 2^53 in size (exact in double precision); ${this.snippet(a.right)} is not`, a.right.span);
        if (!this.sizes.unify(l.rows, l.cols))
          throw typeError(`^: a matrix power needs a square matrix, but ${this.snippet(a.left)} is ${this.describe(l)}`, a.opSpan);
        return l;
      }
      case '.^':
        if (rk === 'scalar') return l;
        if (lk === 'scalar') return r;
        this.sameShape(a.op, a, l, r);
        return l;
    }
  }

  /** What to write for A^M with a matrix M: x^T is a textbook's transpose, x'. */
  private powerAdvice(a: Ast & { kind: 'binary' }): string {
    if (a.right.kind !== 'name' || a.right.name !== 'T') return 'use .^ for element-wise powers';
    const base = a.left.kind === 'name' || a.left.kind === 'call' ? this.snippet(a.left) : `(${this.snippet(a.left)})`;
    return `for a transpose write ${base}'`;
  }

  private call(a: Ast & { kind: 'call' }): Type {
    if (!isFnName(a.fn)) {
      if (a.fn === 'eye') throw typeError('eye takes no arguments: its size comes from the context', a.nameSpan);
      const isVar = this.decls.has(a.fn) || this.vars.has(a.fn);
      const advice = isVar ? `${a.fn} is a variable (write * for a product)` : functionAdvice(a.fn);
      throw typeError(`unknown function '${a.fn}'${advice ? `: ${advice}` : ''}`, a.nameSpan);
    }
    const info = FUNCTIONS[a.fn];
    const most = info.variadic ? Infinity : info.arity + (info.sizes ?? 0);
    if (a.args.length < info.arity || a.args.length > most) {
      const takes = most === info.arity ? `${info.arity}` : most === Infinity ? `${info.arity} or more` : `${info.arity} to ${most}`;
      throw typeError(`${a.fn} takes ${takes} argument${most === 1 ? '' : 's'}, not ${a.args.length}`, a.span);
    }
    if (a.fn === 'eye') {
      const d = this.sizeArg(a.args[0]!);
      return { rows: d, cols: d };
    }
    if (a.fn === 'dpow') return this.dpow(a);
    if (a.fn === 'commutation') {
      // commutation(m, n) is mn×mn; with a size 1 it is the identity of the other size.
      const [m, n] = a.args.map((x) => this.sizes.find(this.sizeArg(x))) as [Dim, Dim];
      const d = m === ONE ? n : n === ONE ? m : this.product([m, n]);
      return { rows: d, cols: d };
    }
    const arg = a.args[0]!;
    const t = this.check(arg);
    const k = this.kind(t);
    if (info.elementwise) return t;
    switch (a.fn) {
      case 'kron': {
        // kron(A, B) is rows(A)·rows(B) × cols(A)·cols(B); a size times 1 is that size, a product
        // of two sizes a new symbol (the evaluators check that it is the product).
        const u = this.check(a.args[1]!);
        const times = (x: Dim, y: Dim): Dim => (this.sizes.find(x) === ONE ? y : this.sizes.find(y) === ONE ? x : this.product([x, y]));
        return { rows: times(t.rows, u.rows), cols: times(t.cols, u.cols) };
      }
      case 'vec':
        if (k === 'scalar' || k === 'vector') return t;
        if (k === 'row vector') return { rows: t.cols, cols: ONE };
        return { rows: this.product([t.rows, t.cols]), cols: ONE };
      case 'rows':
      case 'cols':
        return SCALAR;
      case 'len':
        if (k === 'matrix') throw typeError(`len needs a vector, but ${this.snippet(arg)} is ${this.describe(t)}; use rows(...) or cols(...)`, a.nameSpan);
        return SCALAR;
      case 'sum':
      case 'norm1':
      case 'norm2':
      case 'logsumexp':
        return SCALAR;
      case 'softmax':
        return t;
      case 'tr':
      case 'det':
      case 'logdet':
      case 'inv':
      case 'adj': {
        if (k === 'scalar') return SCALAR;
        if (k !== 'matrix' || !this.sizes.unify(t.rows, t.cols))
          throw typeError(`${a.fn} needs a square matrix, but ${this.snippet(arg)} is ${this.describe(t)}`, a.nameSpan);
        return a.fn === 'inv' || a.fn === 'adj' ? t : SCALAR;
      }
      case 'diag': {
        if (k === 'scalar') return SCALAR;
        if (k === 'vector') return { rows: t.rows, cols: t.rows };
        if (k === 'row vector') return { rows: t.cols, cols: t.cols };
        if (!this.sizes.unify(t.rows, t.cols))
          throw typeError(`diag of a matrix needs a square matrix, but ${this.snippet(arg)} is ${this.describe(t)}`, a.nameSpan);
        return { rows: t.rows, cols: ONE };
      }
      case 'vector':
      case 'matrix':
        if (k !== 'scalar')
          throw typeError(`${a.fn}(c) takes a scalar c, but ${this.snippet(arg)} is ${this.describe(t)}`, arg.span);
        // Sizes given as rows(X), cols(X), len(x) tie the constant to a variable's size.
        return a.fn === 'vector'
          ? { rows: a.args[1] ? this.sizeArg(a.args[1]) : this.sizes.fresh(), cols: ONE }
          : { rows: a.args[1] ? this.sizeArg(a.args[1]) : this.sizes.fresh(), cols: a.args[2] ? this.sizeArg(a.args[2]) : this.sizes.fresh() };
    }
    throw new Error(`internal: no type rule for ${a.fn}`);
  }

  /** dpow(A, k, E1, …, Em): A square, k a constant integer ≥ 0, each E of A's size; the result has A's size. */
  private dpow(a: Ast & { kind: 'call' }): Type {
    const [base, exp, ...dirs] = a.args as [Ast, Ast, ...Ast[]];
    const t = this.check(base);
    this.check(exp);
    const es = dirs.map((d) => this.check(d));
    if (this.kind(t) !== 'matrix' || !this.sizes.unify(t.rows, t.cols))
      throw typeError(`dpow needs a square matrix A in dpow(A, k, E), but ${this.snippet(base)} is ${this.describe(t)}`, base.span);
    const k = integerConstant(exp);
    if (k === undefined || k < 0 || !Number.isSafeInteger(k))
      throw unsupported(`dpow: the exponent k of dpow(A, k, E) must be a constant integer ≥ 0 (below 2^53); ${this.snippet(exp)} is not one`, exp.span);
    dirs.forEach((dir, i) => {
      const e = es[i]!;
      if (!this.sizes.unify(e.rows, t.rows) || !this.sizes.unify(e.cols, t.cols))
        throw typeError(
          `dpow: the direction E of dpow(A, k, E) must have the size of A, but ${this.snippet(base)} is ${this.describe(t)} and ${this.snippet(dir)} is ${this.describe(e)}`,
          dir.span,
        );
    });
    return t;
  }

  /** The size symbol a size argument names: rows(X), cols(X) or len(x). */
  private sizeArg(x: Ast): Dim {
    const d = this.sizeOf(x);
    this.check(x);
    this.sizeArgs.set(x, d);
    return d;
  }

  /**
   * The size rows(X), cols(X), len(x), a product of those (rows(X)*len(z), len(z)^2) or a quotient
   * (len(x)*len(z)/len(y): the size k with k·len(y) = len(x)·len(z), which the evaluators check is
   * a whole number) stands for.
   */
  private sizeOf(x: Ast): Dim {
    if (x.kind === 'binary' && x.op === '/') {
      const total = this.sizeOf(x.left);
      const divisor = this.sizeOf(x.right);
      if (this.sizes.find(divisor) === ONE) return total;
      const d = this.sizes.fresh();
      this.sizeProducts.push({ total, parts: [d, divisor], written: this.snippet(x), stands: d });
      return d;
    }
    const power = x.kind === 'binary' && x.op === '^' ? integerConstant(x.right) : undefined;
    if ((x.kind === 'binary' && x.op === '*') || (power !== undefined && power >= 1)) {
      const b = x as Ast & { kind: 'binary' };
      const factors = power === undefined ? [this.sizeOf(b.left), this.sizeOf(b.right)] : Array.from({ length: power }, () => this.sizeOf(b.left));
      const parts = factors.filter((d) => this.sizes.find(d) !== ONE);
      if (parts.length < 2) return parts[0] ?? ONE;
      const d = this.sizes.fresh();
      this.sizeProducts.push({ total: d, parts, written: this.snippet(x), stands: d });
      return d;
    }
    if (x.kind !== 'call' || !['rows', 'cols', 'len'].includes(x.fn) || x.args.length !== 1)
      throw typeError(`a size is written rows(X), cols(X), len(x), or a product or quotient of those, not ${this.snippet(x)}`, x.span);
    this.check(x);
    const t = this.types.get(x.args[0]!)!;
    if (x.fn === 'cols') return t.cols;
    return x.fn === 'len' && this.kind(t) === 'row vector' ? t.cols : t.rows;
  }
}

/** The value of an integer constant exponent (`2`, `-1`, `(-3)`), or undefined. */
export function integerConstant(a: Ast): number | undefined {
  if (a.kind === 'num') return Number.isInteger(a.value) ? a.value : undefined;
  if (a.kind === 'transpose') return integerConstant(a.arg);
  if (a.kind === 'neg') {
    const v = integerConstant(a.arg);
    return v === undefined ? undefined : -v;
  }
  return undefined;
}

/** The first node of a tree, in source order, that satisfies a test, searching only where `enter` holds. */
function findAst(a: Ast, test: (n: Ast) => boolean, enter: (n: Ast) => boolean = () => true): Ast | undefined {
  if (!enter(a)) return undefined;
  if (test(a)) return a;
  for (const c of astChildren(a)) {
    const found = findAst(c, test, enter);
    if (found) return found;
  }
  return undefined;
}

/** Whether a tree transposes a name (`x'`). */
function transposes(a: Ast, name: string): boolean {
  return findAst(a, (n) => n.kind === 'transpose' && n.arg.kind === 'name' && n.arg.name === name) !== undefined;
}

/** Whether a name occurs in a tree. */
function usesName(a: Ast, name: string): boolean {
  return findAst(a, (n) => n.kind === 'name' && n.name === name) !== undefined;
}

/** Variable names (with their first spans) in order of first appearance, as the checker orders them. */
export function variableOrder(ast: Ast): { name: string; span: Span }[] {
  const out: { name: string; span: Span }[] = [];
  // The temporaries of a where clause are not variables.
  const seen = new Set<string>(ast.kind === 'where' ? ast.bindings.map((b) => b.name) : []);
  const stack: Ast[] = [ast];
  const visit: Ast[] = [];
  while (stack.length > 0) {
    const a = stack.pop()!;
    visit.push(a);
    const ch = astChildren(a);
    for (let i = ch.length - 1; i >= 0; i--) stack.push(ch[i]!);
  }
  for (const a of visit) {
    if (a.kind === 'name' && a.name !== 'eye' && !isFnName(a.name) && !seen.has(a.name)) {
      seen.add(a.name);
      out.push({ name: a.name, span: a.span });
    }
  }
  return out;
}

export function check(text: string, ast: Ast, decls: Declarations = {}, extraVars: readonly string[] = []): Checked {
  const c = new Checker(text, validateDeclarations(decls), ast);
  // Variables get their size symbols in order of appearance, so sizes are named n, m, … in that order.
  for (const v of variableOrder(ast)) c.declareVar(v.name, v.span);
  c.check(ast);
  c.cancelProducts();
  for (const name of extraVars) {
    if (!IDENT.test(name) || RESERVED_NAMES.has(name)) throw inputError(`'${name}' is not a variable name`);
    c.declareVar(name, undefined);
  }
  c.nameSizes();
  return { text, ast, types: c.types, vars: c.vars, sizes: c.sizes, sizeName: c.sizeName, sizeArgs: c.sizeArgs, sizeProducts: c.sizeProducts, products: c.allProducts() };
}
