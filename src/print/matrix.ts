/**
 * Index IR → matrix notation, as an AST of the input language (so every printed form parses back).
 *
 * One small form per node kind; products go through the graph passes of graph.ts, merges (vec,
 * kron) through kron.ts. A node's form refers to its non-trivial children by reference (a name
 * `#id` that no input can contain), so that each node is printed once and the references show
 * which nodes a form uses how often: present.ts turns the nodes used more than once into named
 * temporaries and expands the others (materialize). Where a node has no matrix form the printer
 * returns undefined and the caller shows index notation instead.
 */
import { type Ast, astChildren } from '../syntax/ast.js';
import { type Dim, type Factor, type Node, type NodeOf, type VarNode, asPermutation, broadcastScalar, compareNodes, delta, expandMatPow, factorComponents, isSymmetric, makeAdd, makeMul, matPowTerms, negatedSum, ones, softmaxArg, splitCoef, squareSplit, transpose as transposeNode } from '../ir/node.js';
import { bin, call, name, num } from './build.js';
import { toText } from './text.js';
import { type Forms, type Signed, numbering, partNode, scalarTimes, signedSum } from './forms.js';
import { flatFactors, productForm } from './graph.js';
import { type Kind, type MExpr, FLIP, KIND_OF_RANK, constantOf, infoOf, mapChildren, mexpr, powerOf, setTarget, setTranspose, sized, transposed } from './mexpr.js';
import { mergeForm } from './kron.js';
import { normalize } from './normalize.js';
import { withDefinitions } from './diagonals.js';
import { negate, retyped } from './chains.js';

/**
 * At most this many chains when a power with batch-axis directions is printed as its sum: 24 is a
 * 4th power with three directions, as a second derivative through dpow(M, 4, E) by a vector makes.
 */
const MAX_EXPANDED_POWER_TERMS = 24;

/** The input's sums of matrices longer than this, spelled out, are not tried as divisors (writtenForms). */
const MAX_WRITTEN_LENGTH = 400;

const expandablePower = (n: Node): boolean =>
  n.kind === 'mpow' && n.dirs.some((d) => d.shape.length > 2) && matPowTerms(n.exp, n.dirs.length) <= MAX_EXPANDED_POWER_TERMS;

const REF = '#';

/**
 * Σ u∘u over all axes of u, if that is what n is: x'*x (u = x), tr(M'*M) (u = M), x'*A'*A*x
 * (u = A*x: the half of the square, its shared labels as u's axes).
 */
export function sumOfSquaresOf(n: Node): Node | undefined {
  if (n.kind !== 'mul' || n.shape.length !== 0) return undefined;
  const split = squareSplit(n, false, true);
  if (!split || split.fixed.length === 0) return undefined;
  const { half, fixed } = split;
  if (half.length === 1 && half[0]!.labels.every((l, i) => l === fixed[i]) && fixed.length === half[0]!.labels.length) return half[0]!.node;
  const inner = [...new Set(half.flatMap((f) => f.labels))].filter((l) => !fixed.includes(l));
  const build = (axes: readonly number[]): Node => {
    const relabel = (l: number): number => (axes.includes(l) ? axes.indexOf(l) : axes.length + inner.indexOf(l));
    return makeMul(half.map((f) => ({ node: f.node, labels: f.labels.map(relabel) })), axes.length);
  };
  const u = build(fixed);
  if (fixed.length !== 2) return u;
  // ‖M‖ = ‖M'‖: of the two orientations, the one that reads shorter (norm2(A*X), not norm2(X'*A')).
  const t = build([fixed[1]!, fixed[0]!]);
  const size = (n: Node): number => matrixText(n)?.length ?? Infinity;
  return size(t) < size(u) ? t : u;
}

/** Forms too small to name or to print as a reference: x, 2, x', vector(1), eye, -x. */
function isSmall(a: Ast): boolean {
  switch (a.kind) {
    case 'num':
    case 'name':
      return true;
    case 'transpose':
    case 'neg':
      return a.arg.kind === 'name' || a.arg.kind === 'num';
    case 'call':
      return a.args.every((x) => x.kind === 'num');
    default:
      return false;
  }
}

/** The matrix notation of one node on its own (no temporaries), or undefined where it has none. */
export function matrixText(n: Node, vars: readonly VarNode[] = []): string | undefined {
  const p = new MatrixPrinter({ vars });
  const f = p.form(n);
  return f && toText(p.materialize(f.ast));
}

export interface MatrixContext {
  /** Variables whose axes name sizes: rows(B), cols(B), len(x). */
  readonly vars: readonly VarNode[];
  /** The texts of the input's sums (signs.ts, writtenSums): a minus does not turn them around. */
  readonly written?: ReadonlySet<string>;
  /** The keys of the input's sums as they stand (signs.ts, writtenFactors): factors a sum is written with. */
  readonly factors?: ReadonlySet<string>;
  /** Sizes that vec and kron make products of others (productSizes), for sizes no variable has. */
  readonly products?: readonly SizeProduct[];
  /** The input's sums of matrices as IR nodes: a printed sum is divided by them (division.ts). */
  readonly sums?: readonly Node[];
}

/** A reference: a node, read as it is or transposed. */
interface Ref {
  readonly node: Node;
  readonly transposed: boolean;
}

/** total = Π parts: a size that vec, kron or commutation makes (print/sizes.ts productSizes). */
export interface SizeProduct {
  readonly total: Dim;
  readonly parts: readonly Dim[];
}

/**
 * A size as a product of variables' axes: one axis where a variable has it; for a size that a
 * merge makes, its parts'; for a part of one whose other parts and total are known (the eye of
 * kron(eye, A) where the product is rows(X)*cols(X)), the total's axes without the others'. Undefined
 * where nothing gives it.
 */
function sizeInVariables(d: Dim, vars: readonly VarNode[], products: readonly SizeProduct[], seen: ReadonlySet<Dim> = new Set()): [VarNode, number][] | undefined {
  for (const v of vars) {
    const axis = v.shape.indexOf(d);
    if (axis >= 0) return [[v, axis]];
  }
  if (seen.has(d)) return undefined;
  const next = new Set([...seen, d]);
  const of = (x: Dim): [VarNode, number][] | undefined => sizeInVariables(x, vars, products, next);
  for (const p of products.filter((q) => q.total === d)) {
    const parts = p.parts.map(of);
    if (parts.every((x) => x !== undefined)) return parts.flat();
  }
  for (const p of products) {
    const at = p.parts.indexOf(d);
    if (at < 0 || p.parts.lastIndexOf(d) !== at) continue;
    const total = of(p.total);
    const others = p.parts.filter((_, k) => k !== at).map(of);
    if (!total || others.some((x) => x === undefined)) continue;
    // Cancel the others' axes from the total's, by size: what is left must be all of d.
    const left = [...total];
    const dimOf = ([v, axis]: [VarNode, number]): Dim => v.shape[axis]!;
    const cancelled = (others.flat() as [VarNode, number][]).every((o) => {
      const k = left.findIndex((t) => dimOf(t) === dimOf(o));
      if (k < 0) return false;
      left.splice(k, 1);
      return true;
    });
    if (cancelled && left.length > 0) return left;
  }
  return undefined;
}

/**
 * A size that only a quotient names: d a part of a product whose total and other parts have names
 * that do not cancel (k with k·rows(A) = len(x)·cols(A) is len(x)*cols(A)/rows(A)), as a value
 * or as a size argument.
 */
function sizeQuotient(d: Dim, vars: readonly VarNode[], products: readonly SizeProduct[]): { numerator: [VarNode, number][]; denominator: [VarNode, number][] } | undefined {
  for (const p of products) {
    const at = p.parts.indexOf(d);
    if (at < 0 || p.parts.lastIndexOf(d) !== at) continue;
    const numerator = sizeInVariables(p.total, vars, products);
    const others = p.parts.filter((_, k) => k !== at).map((x) => sizeInVariables(x, vars, products));
    if (numerator && others.every((x) => x !== undefined)) return cancelled(numerator, others.flat() as [VarNode, number][]);
  }
  return undefined;
}

/**
 * The quotient with the sizes common to both sides cancelled (len(z)*len(x)/len(z) is len(x)),
 * or as it is where everything would cancel (the size is 1, which no variable names).
 */
function cancelled(numerator: [VarNode, number][], denominator: [VarNode, number][]): { numerator: [VarNode, number][]; denominator: [VarNode, number][] } {
  const dimOf = ([v, axis]: [VarNode, number]): Dim => v.shape[axis]!;
  const top = [...numerator];
  const bottom = denominator.filter((b) => {
    const k = top.findIndex((t) => dimOf(t) === dimOf(b));
    if (k < 0) return true;
    top.splice(k, 1);
    return false;
  });
  return top.length === 0 ? { numerator, denominator } : { numerator: top, denominator: bottom };
}

/** The temporaries' definitions that merges asked for while one form was made (MatrixPrinter.materialize). */
interface AskedDefinitions {
  /** The names of the form asked for first; a definition is made with all of them but its own. */
  readonly names: ReadonlyMap<Node, string>;
  readonly made: Map<Node, Ast | undefined>;
  /** How often a definition was asked for while it was being made (and got none). */
  misses: number;
}

/** A product of sizes (len(y)*cols(X), len(z)^2), which a size argument may be too. */
function sizeProduct(named: readonly [VarNode, number][]): Ast {
  const counts = new Map<string, { v: VarNode; axis: number; k: number }>();
  for (const [v, axis] of named) {
    const key = `${v.name}|${axis}`;
    const c = counts.get(key);
    if (c) c.k++;
    else counts.set(key, { v, axis, k: 1 });
  }
  const factors = [...counts.values()].map(({ v, axis, k }) => {
    const s = call(v.shape.length === 1 ? 'len' : axis === 0 ? 'rows' : 'cols', name(v.name));
    return k === 1 ? s : bin('^', s, num(k));
  });
  return factors.slice(1).reduce((acc, f) => bin('*', acc, f), factors[0]!);
}

export class MatrixPrinter implements Forms {
  private readonly forms = new Map<Node, MExpr | null>();
  private readonly building = new Set<Node>();
  private readonly transposedForms = new Map<Node, MExpr>();
  private readonly refs = new Map<Node, MExpr>();
  private readonly refsT = new Map<Node, MExpr>();
  private readonly byRef = new Map<string, Ref>();
  /** Products printed as the sum they distribute into (see distributed). */
  private readonly spread = new Map<Node, Node>();

  constructor(private readonly ctx: MatrixContext) {}

  /** The form of n, with its non-trivial children as references (undefined: no matrix form). */
  form(n: Node): MExpr | undefined {
    const hit = this.forms.get(n);
    if (hit !== undefined) return hit ?? undefined;
    // A form that needs itself (a product distributed over a sum whose terms group back into the
    // same product, the Hessian of (kron(x', x')*kron(y, X')*(X*y))^2 by y) is not made this way.
    if (this.building.has(n)) return undefined;
    this.building.add(n);
    const r = n.shape.length <= 2 ? this.build(n) : undefined;
    this.building.delete(n);
    this.forms.set(n, r ?? null);
    return r;
  }

  /** The transpose of n's form (pushed into its products), with references inside. */
  private transposedForm(n: Node): MExpr {
    let t = this.transposedForms.get(n);
    if (!t) this.transposedForms.set(n, (t = transposed(this.form(n)!)));
    return t;
  }

  sub(n: Node): MExpr | undefined {
    const hit = this.refs.get(n);
    if (hit) return hit;
    const f = this.form(n);
    if (!f) return undefined;
    if (isSmall(f.ast)) return f;
    const r = mexpr(name(`${REF}${n.id}`), f.kind, f.symmetric);
    this.refs.set(n, r);
    this.byRef.set(`${REF}${n.id}`, { node: n, transposed: false });
    setTranspose(r, () => this.subTransposed(n));
    setTarget(r, () => this.form(n));
    return r;
  }

  /** A reference to n read transposed: t1' where n is the temporary t1, else n's form transposed. */
  private subTransposed(n: Node): MExpr {
    const hit = this.refsT.get(n);
    if (hit) return hit;
    const plain = this.sub(n)!;
    const r = mexpr(name(`${REF}t${n.id}`), FLIP[plain.kind], plain.symmetric);
    this.refsT.set(n, r);
    this.byRef.set(`${REF}t${n.id}`, { node: n, transposed: true });
    setTranspose(r, () => plain);
    setTarget(r, () => this.transposedForm(n));
    return r;
  }

  part(factors: readonly Factor[], axes: readonly number[]): MExpr | undefined {
    // The same part (same factors, labels renamed in order of appearance) is made once.
    const slot = numbering(axes);
    const memoKey = `${axes.length}|${factors.map((f) => `${f.node.id}:${f.labels.map(slot).join('.')}`).join(',')}`;
    if (this.parts.has(memoKey)) return this.parts.get(memoKey);
    const r = this.makePart(factors, axes);
    this.parts.set(memoKey, r);
    return r;
  }

  private readonly parts = new Map<string, MExpr | undefined>();

  private makePart(factors: readonly Factor[], axes: readonly number[]): MExpr | undefined {
    const node = partNode(factors, axes);
    if (this.building.has(node)) return undefined;
    // A matrix part and its transpose are one node (the one first in canonical order), read either way.
    if (axes.length === 2) {
      const t = transposeNode(node);
      if (compareNodes(t, node) < 0 && !this.building.has(t)) {
        const r = this.sub(t);
        return r && transposed(r);
      }
    }
    return this.sub(node);
  }

  /** The node behind a reference name, if the name is one. */
  private refOf(a: Ast): Ref | undefined {
    return a.kind === 'name' ? this.byRef.get(a.name) : undefined;
  }

  /**
   * Whether n prints as diag(w) of a vector w that is a node of its own, alone or between small
   * factors (diag(w)*A, A'*diag(w)), or as a sum of such products and small forms (A -
   * diag(w)*A): such a node is never named itself (its vector is, diag(t1)*A), so that the
   * diagonals and factors around it still merge (A'*diag(u)*A - A'*diag(v)*A is A'*diag(u - v)*A,
   * and A - diag(w)*A is diag(vector(1) - w)*A).
   */
  isDiagonalOfPart(n: Node): boolean {
    let known = this.diagonalParts.get(n);
    if (known === undefined) {
      const a = this.form(n)?.ast;
      this.diagonalParts.set(n, (known = a !== undefined && this.isDiagonalProduct(a)));
    }
    return known;
  }
  private readonly diagonalParts = new Map<Node, boolean>();

  /** diag(w) of a part w between small factors, or a sum of such and small forms. */
  private isDiagonalProduct(a: Ast): boolean {
    if (a.kind === 'binary' && (a.op === '+' || a.op === '-')) {
      // A side is a reference to another node, or a form written out.
      const diagonal = (x: Ast): boolean => {
        const r = this.refOf(x);
        return r ? this.isDiagonalOfPart(r.node) : this.isDiagonalProduct(x);
      };
      // Each side read once: a sum of k terms nests k deep.
      const sides = [a.left, a.right];
      const diagonals = sides.map(diagonal);
      return diagonals.some(Boolean) && sides.every((x, i) => diagonals[i] || isSmall(x));
    }
    if (a.kind === 'neg') return this.isDiagonalProduct(a.arg);
    const isDiagonal = (x: Ast): boolean => x.kind === 'call' && x.fn === 'diag' && infoOf(x)?.kind === 'matrix' && this.refOf(x.args[0]!) !== undefined;
    const factors: Ast[] = [];
    const flatten = (x: Ast): void => {
      if (x.kind === 'binary' && x.op === '*') {
        flatten(x.left);
        flatten(x.right);
      } else factors.push(x);
    };
    flatten(a);
    // A reference to a part is not small here: a chain that holds one (A*diag(t3)*A*diag(t1)*A)
    // may be named.
    const small = (x: Ast): boolean => isSmall(x) && this.refOf(x) === undefined;
    return factors.filter(isDiagonal).length === 1 && factors.every((x) => isDiagonal(x) || small(x));
  }

  /** The nodes a form refers to, once per occurrence. */
  references(a: Ast): Node[] {
    const out: Node[] = [];
    const walk = (x: Ast): void => {
      const r = this.refOf(x);
      if (r) out.push(r.node);
      else for (const c of astChildren(x)) walk(c);
    };
    walk(a);
    return out;
  }

  /** The form a reference stands for (with references inside). */
  private target(r: Ref): Ast {
    return r.transposed ? this.transposedForm(r.node).ast : this.form(r.node)!.ast;
  }

  /**
   * The form with references replaced: by the name of a temporary where `names` has one (t1, or
   * t1' for the transposed reference; -t1 where the name stands for the node's negation,
   * `negated`), else by the referred form, recursively; then normalized.
   */
  materialize(a: Ast, names: ReadonlyMap<Node, string> = new Map(), negated: ReadonlySet<Node> = new Set(), asked?: AskedDefinitions): Ast {
    const memo = new Map<string, Ast>();
    const expand = (x: Ast): Ast => {
      const r = this.refOf(x);
      if (!r) return mapChildren(x, expand);
      const t = names.get(r.node);
      if (t !== undefined) {
        // A temporary's name has its form's kind (so that products around it still re-associate).
        const plain = mexpr(name(t), this.form(r.node)!.kind);
        const ref = r.transposed ? transposed(plain).ast : plain.ast;
        return negated.has(r.node) ? negate(ref) : ref;
      }
      const key = (x as Ast & { kind: 'name' }).name;
      let e = memo.get(key);
      if (!e) memo.set(key, (e = expand(this.target(r))));
      return e;
    };
    // A temporary's definition, printed with the other names, where a merge asks for it (rarely:
    // the map from names to nodes is made on the first ask). The definitions that those ask for in
    // turn are the same ones, made once: asked anew at each level, the definitions of a residual
    // network's layers, t2 = t1 + a*tanh(A*t1), …, were made 2^depth times.
    const shared = asked ?? { names, made: new Map<Node, Ast | undefined>(), misses: 0 };
    let byName: Map<string, Node> | undefined;
    const definition = (t: string): Ast | undefined => {
      byName ??= new Map([...shared.names].map(([n, name]) => [name, n]));
      const n = byName.get(t);
      if (n === undefined || negated.has(n)) return undefined;
      if (!shared.made.has(n)) {
        shared.made.set(n, undefined); // (while it is made, a definition that asks for it gets none)
        shared.made.set(n, this.definitionWith(n, new Map([...shared.names].filter(([m]) => m !== n)), negated, shared));
      } else if (shared.made.get(n) === undefined) shared.misses++;
      return shared.made.get(n);
    };
    return withDefinitions(definition, () => normalize(expand(a), new Set(names.values()), this.ctx.written), this.ctx.factors, this.writtenForms());
  }

  /**
   * The definition of n printed with `names`, as a merge asks for it. It depends only on the names
   * of the nodes that n's form reaches, so it is made once for all the forms printed with the same
   * names there: each temporary's text is made with the others' names (present.ts), and a deep
   * network's definitions were each made again for every other one (30,033 of them for the
   * Hessian of 16 layers inv(eye + t*t')*sin(t), 238 temporaries; 778 now). A definition made while one it
   * asked for was itself being made (and got none) is not kept.
   */
  private definitionWith(n: Node, names: ReadonlyMap<Node, string>, negated: ReadonlySet<Node>, shared: AskedDefinitions): Ast {
    const key = `${n.id}|${this.reach(n).filter((m) => names.has(m)).map((m) => `${m.id}=${names.get(m)}${negated.has(m) ? '-' : ''}`).join(',')}`;
    const hit = this.definitions.get(key);
    if (hit) return hit;
    const misses = shared.misses;
    const made = this.materialize(this.form(n)!.ast, names, negated, shared);
    if (shared.misses === misses) this.definitions.set(key, made);
    return made;
  }
  private readonly definitions = new Map<string, Ast>();

  /** The nodes that n's form refers to, directly or through the forms of those, in order of their ids. */
  private reach(n: Node): readonly Node[] {
    const hit = this.reached.get(n);
    if (hit) return hit;
    const out = new Set<Node>();
    for (const m of this.references(this.form(n)!.ast)) {
      if (out.has(m)) continue;
      out.add(m);
      for (const k of this.reach(m)) out.add(k);
    }
    const sorted = [...out].sort((a, b) => a.id - b.id);
    this.reached.set(n, sorted);
    return sorted;
  }
  private readonly reached = new Map<Node, readonly Node[]>();

  /** The input's sums of matrices as printed (spelled out, each its own form), made on the first ask. */
  private writtenForms(): readonly Ast[] {
    if (this.sumForms) return this.sumForms;
    this.sumForms = [];
    const forms: Ast[] = [];
    for (const n of this.ctx.sums ?? []) {
      // Spelled out, a sum written in terms of deep layers is exponentially long (t2 = inv(eye +
      // t1*t1')*t1 holds t1 three times); a divisor that long never makes a shorter product.
      const f = this.form(n);
      if (f && this.lengthOf(n) <= MAX_WRITTEN_LENGTH) forms.push(retyped(this.materialize(f.ast)));
    }
    return (this.sumForms = forms);
  }
  private sumForms: readonly Ast[] | undefined;

  /**
   * The length of a node's text with every reference spelled out (the size of a temporary's
   * definition), read from its key without joining the text.
   */
  lengthOf(n: Node): number {
    return this.key(this.form(n)!.ast, undefined).length;
  }

  /** A node's text where the nodes in `named` are names (t9: every name alike). */
  textWith(n: Node, named: ReadonlySet<Node>): string {
    return this.key(this.form(n)!.ast, named).text;
  }

  /** The length of a node's text where the nodes in `named` are names (two characters). */
  lengthWith(n: Node, named: ReadonlySet<Node>): number {
    return this.key(this.form(n)!.ast, named).length;
  }

  private readonly keyMemos = new WeakMap<object, Map<string, Key>>();
  private readonly plainKeys = new Map<string, Key>();

  private key(a: Ast, named: ReadonlySet<Node> | undefined): Key {
    let memo = this.plainKeys;
    if (named) {
      memo = this.keyMemos.get(named) ?? new Map();
      this.keyMemos.set(named, memo);
    }
    const walk = (x: Ast): Key => {
      const r = this.refOf(x);
      if (r) {
        if (named?.has(r.node)) return plainKey(r.transposed ? "t9'" : 't9', 'atom');
        const name = (x as Ast & { kind: 'name' }).name;
        let k = memo.get(name);
        if (!k) memo.set(name, (k = walk(this.target(r))));
        return k;
      }
      return keyOf(x, walk);
    };
    // The references' keys first, innermost first and without recursion, so that walking a form
    // never goes deeper than the form itself (a chain's references nest as deep as the chain).
    const pending = (x: Ast): { name: string; r: Ref }[] =>
      this.refsIn(x).filter(({ name, r }) => !memo.has(name) && !named?.has(r.node));
    const stack = pending(a).map((x) => ({ ...x, open: false }));
    while (stack.length > 0) {
      const top = stack.pop()!;
      if (memo.has(top.name)) continue;
      if (top.open) memo.set(top.name, walk(this.target(top.r)));
      else stack.push({ ...top, open: true }, ...pending(this.target(top.r)).map((x) => ({ ...x, open: false })));
    }
    return walk(a);
  }

  /** The references in a form (not looking through them), with their names. */
  private refsIn(a: Ast): { name: string; r: Ref }[] {
    const out: { name: string; r: Ref }[] = [];
    const visit = (x: Ast): void => {
      const r = this.refOf(x);
      if (r) out.push({ name: (x as Ast & { kind: 'name' }).name, r });
      else for (const c of astChildren(x)) visit(c);
    };
    visit(a);
    return out;
  }

  compareReading(a: MExpr, b: MExpr): number {
    return compareKeys(this.key(a.ast, undefined), this.key(b.ast, undefined));
  }

  shortText(e: MExpr, most: number): string | undefined {
    const k = this.key(e.ast, undefined);
    return k.length <= most ? k.prefix(most) : undefined;
  }

  primes(e: MExpr): number {
    return this.key(e.ast, undefined).primes;
  }

  /**
   * The nodes named in `names` that a form uses, looking through the references that are spelled
   * out (a temporary inside a part that is not itself named is still used).
   */
  namedUses(a: Ast, names: ReadonlyMap<Node, string>): Node[] {
    const out: Node[] = [];
    const seen = new Set<Node>();
    const walk = (x: Ast): void => {
      const r = this.refOf(x);
      if (!r) {
        for (const c of astChildren(x)) walk(c);
        return;
      }
      if (names.has(r.node)) out.push(r.node);
      else if (!seen.has(r.node)) {
        seen.add(r.node);
        walk(this.form(r.node)!.ast);
      }
    };
    walk(a);
    return out;
  }

  /** A size tied to variables (rows(B), cols(B), len(x), rows(X)*len(z)), or undefined where none has it. */
  sizeTied(d: Dim): Ast | undefined {
    const e = this.size(d);
    return e.ast.kind === 'call' && e.ast.fn === 'sum' ? undefined : e.ast;
  }

  size(d: Dim): MExpr {
    const products = this.ctx.products ?? [];
    const named = sizeInVariables(d, this.ctx.vars, products);
    if (named) return mexpr(sizeProduct(named), 'scalar');
    const q = sizeQuotient(d, this.ctx.vars, products);
    if (q) return mexpr(q.denominator.length === 0 ? sizeProduct(q.numerator) : bin('/', sizeProduct(q.numerator), sizeProduct(q.denominator)), 'scalar');
    return mexpr(call('sum', call('vector', num(1))), 'scalar');
  }

  divisor(p: NodeOf<'pow'>, kind: Kind): MExpr | undefined {
    // (Σ u∘u)^-k divides by norm2(u)^2k where u has a form; else (y'*y)^2*x'*x is a scalar like any other.
    const sqn = sumOfSquaresOf(p.base);
    const u = sqn && this.sub(sqn);
    const sq = u !== undefined;
    const inner = u ?? this.sub(p.base);
    if (!inner) return undefined;
    const base = sq ? call('norm2', inner.ast) : inner.ast;
    const e = sq ? -2 * p.exp : -p.exp;
    return mexpr(e === 1 ? base : bin(kind === 'scalar' || sq ? '^' : '.^', base, num(e)), sq ? 'scalar' : kind);
  }

  private build(n: Node): MExpr | undefined {
    const kind = KIND_OF_RANK[n.shape.length]!;
    const sym = n.shape.length === 2 && isSymmetric(n);
    switch (n.kind) {
      case 'var':
        return mexpr(name(n.name), kind, sym);
      case 'const':
        if (kind === 'scalar') return mexpr(num(n.value), kind);
        return sized(mexpr(call(kind, num(n.value)), kind, sym), n.shape);
      case 'delta':
        return sized(mexpr(name('eye'), 'matrix', true), n.shape);
      case 'add':
        return this.sum(n, kind, sym);
      case 'mul': {
        // Σ M∘M over both axes of a matrix: norm2(M)^2 reads better than tr(M'*M); not where M is an
        // outer product (x'*x*y'*y, not norm2(x*y')^2).
        const sq = sumOfSquaresOf(n);
        if (sq && sq.shape.length === 2 && !(sq.kind === 'mul' && isOuterProduct(sq.factors))) {
          const m = this.sub(sq);
          return m && mexpr(bin('^', call('norm2', m.ast), num(2)), 'scalar');
        }
        return productForm(n, this, sym) ?? this.distributed(n);
      }
      case 'elem': {
        // softmax(u) is exp(u − logsumexp(u)) in the IR: printed as the function it is.
        const u = softmaxArg(n);
        const s = u && this.sub(u);
        if (s) return mexpr(call('softmax', s.ast), kind, sym);
        const a = this.sub(n.arg);
        return a && mexpr(call(n.fn, a.ast), kind, sym);
      }
      case 'pow':
        return this.power(n, kind, sym);
      case 'powv': {
        // x.^a, not x.^(a*vector(1)): an exponent that is a scalar broadcast prints as the scalar.
        const b = this.sub(n.base);
        const e = this.sub(broadcastScalar(n.exponent) ?? n.exponent);
        return b && e && mexpr(bin(kind === 'scalar' ? '^' : '.^', b.ast, e.ast), kind, sym);
      }
      case 'inv':
      case 'adj': {
        const a = this.sub(n.arg);
        return a && mexpr(call(n.kind, a.ast), 'matrix', sym);
      }
      case 'det':
      case 'logdet':
      case 'logsumexp': {
        const a = this.sub(n.arg);
        return a && mexpr(call(n.kind, a.ast), 'scalar');
      }
      case 'merge':
        return mergeForm(n, this, sym);
      case 'mpow':
        return this.matPower(n, sym);
    }
  }

  /** A^k; P(A, k; E1, …, Em) with matrix directions as dpow(A, k, E1, …, Em); with batch axes none. */
  private matPower(n: NodeOf<'mpow'>, sym: boolean): MExpr | undefined {
    const a = this.sub(n.base);
    if (!a) return undefined;
    if (n.dirs.length === 0) return mexpr(bin('^', a.ast, num(n.exp)), 'matrix', sym);
    if (n.dirs.some((d) => d.shape.length !== 2)) return undefined;
    const es = n.dirs.map((d) => this.sub(d));
    if (es.some((e) => e === undefined)) return undefined;
    return mexpr(call('dpow', a.ast, num(n.exp), ...es.map((e) => e!.ast)), 'matrix', sym);
  }

  /**
   * A product with a sum factor that has no matrix form of its own (a sum of 4-index derivative
   * terms contracted with inv(M)) as the sum of the products with each term: Σ_t c_t (… T_t …).
   */
  private distributed(n: NodeOf<'mul'>): MExpr | undefined {
    // Nested products kept whole by the IR count as their factors here.
    const factors = flatFactors(n, this);
    const k = factors.findIndex((f) => (f.node.kind === 'add' && (f.node.shape.length > 2 || !this.form(f.node))) || expandablePower(f.node));
    if (k < 0) return undefined;
    // A small power whose directions have batch axes (a derivative by a vector) as its defining sum.
    const f = factors[k]!.node;
    const sum = f.kind === 'mpow' ? expandMatPow(f.base, f.exp, f.dirs) : f;
    if (sum.kind !== 'add') return undefined;
    const terms = sum.terms.map((t) => ({
      coef: t.coef,
      node: makeMul(factors.map((f, j) => (j === k ? { node: t.node, labels: f.labels } : f)), n.shape.length),
    }));
    const add = makeAdd(this.nestedGrouped(terms, n.shape.length), n.shape);
    this.spread.set(n, add);
    return this.form(add);
  }

  /**
   * The terms of a product distributed over a sum, where terms hold a sum S' of the same kind
   * again (a sum nested in its own terms, as the weights of a chain of layers are): the terms
   * with the same S' on the same axes as one product (Σ_t c_t W_t)·S', W_t the rest of each, so
   * that the next distribution starts from one sum of their weights (Horner's scheme), not from
   * each term: multiplied out term by term, the terms double at each level of nesting. Where the
   * weights would have more than two axes, the terms stay as they are.
   */
  private nestedGrouped(terms: readonly { coef: number; node: Node }[], rank: number): { coef: number; node: Node }[] {
    const out: { coef: number; node: Node }[] = [];
    const groups = new Map<string, { inner: Factor; members: { coef: number; rest: Factor[] }[] }>();
    for (const t of terms) {
      const [c, core] = splitCoef(t.node);
      const fs = core.kind === 'mul' ? flatFactors(core, this) : [];
      const j = fs.findIndex((f) => f.node.kind === 'add' && (f.node.shape.length > 2 || !this.form(f.node)));
      if (j < 0) {
        out.push(t);
        continue;
      }
      // One label space for every term: output labels as they are, the inner sum's others by
      // their first slot, the rest's own labels after those.
      const inner = fs[j]!;
      const summed = [...new Set(inner.labels.filter((l) => l >= rank))];
      const fresh = new Map<number, number>();
      const relabel = (l: number): number => (l < rank ? l : summed.includes(l) ? rank + summed.indexOf(l) : (fresh.get(l) ?? (fresh.set(l, rank + summed.length + fresh.size), fresh.get(l)!)));
      const canonical = { node: inner.node, labels: inner.labels.map(relabel) };
      const key = `${inner.node.id}|${canonical.labels.join(',')}`;
      const rest = fs.filter((_, i) => i !== j).map((f) => ({ node: f.node, labels: f.labels.map(relabel) }));
      const g = groups.get(key) ?? { inner: canonical, members: [] };
      g.members.push({ coef: t.coef * c, rest });
      groups.set(key, g);
    }
    for (const { inner, members } of groups.values()) {
      const whole = (m: { coef: number; rest: Factor[] }) => ({ coef: m.coef, node: makeMul([...m.rest, inner], rank) });
      const carried = (l: number): boolean => members.some((m) => m.rest.some((f) => f.labels.includes(l)));
      const axes = [...new Set([...inner.labels, ...Array.from({ length: rank }, (_, l) => l)])].filter(carried);
      if (members.length === 1 || axes.length > 2) {
        out.push(...members.map(whole));
        continue;
      }
      const all = [inner, ...members.flatMap((m) => m.rest)];
      const dim = (l: number): Dim => {
        const f = all.find((g) => g.labels.includes(l))!;
        return f.node.shape[f.labels.indexOf(l)]!;
      };
      const weights = makeAdd(
        members.map((m) => {
          const map = new Map<number, number>(axes.map((l, i) => [l, i]));
          const label = (l: number): number => map.get(l) ?? (map.set(l, map.size), map.size - 1);
          const fs: Factor[] = m.rest.map((f) => ({ node: f.node, labels: f.labels.map(label) }));
          axes.forEach((l, i) => m.rest.some((f) => f.labels.includes(l)) || fs.push({ node: ones([dim(l)]), labels: [i] }));
          return { coef: m.coef, node: makeMul(fs, axes.length) };
        }),
        axes.map(dim),
      );
      out.push({ coef: 1, node: makeMul([{ node: weights, labels: axes }, inner], rank) });
    }
    return out;
  }

  /**
   * A product with a sum factor is distributed where every term that makes reads like another term
   * of the sum, so that they add up: (2*(A^9)'*A' + (A^10)')*A' + 9*(A^11)' = 12*(A^11)'.
   */
  private collectable(terms: { coef: number; node: Node }[]): { coef: number; node: Node }[] {
    const key = (node: Node): string | undefined => {
      const e = this.sub(node);
      return e && this.key(e.ast, undefined).id;
    };
    const keys = terms.map((t) => key(t.node));
    return terms.flatMap((t, i) => {
      const n = t.node;
      // Small products only: this is for chains such as (A^9)'*A' + (A^10)' folding into powers.
      if (n.kind !== 'mul' || n.factors.length > 4) return [t];
      const k = n.factors.findIndex((f) => f.node.kind === 'add');
      if (k < 0) return [t];
      const sum = n.factors[k]!.node as NodeOf<'add'>;
      const spread = sum.terms.map((u) => {
        const [c, core] = splitCoef(makeMul(n.factors.map((f, j) => (j === k ? { node: u.node, labels: f.labels } : f)), n.shape.length));
        return { coef: t.coef * u.coef * c, node: core };
      });
      const others = new Set(keys.filter((_, j) => j !== i));
      const spreadKeys = spread.map((u) => key(u.node));
      const collects = spreadKeys.every((s) => s !== undefined && (others.has(s) || spreadKeys.filter((x) => x === s).length > 1));
      return collects ? spread : [t];
    });
  }

  /** The terms of a sum as printed: a term that is a distributed product is its sum's terms. */
  private flatTerms(terms: readonly { coef: number; node: Node }[]): { coef: number; node: Node }[] {
    return terms.flatMap((t) => {
      // (Printing the term first tells whether it is distributed.)
      const d = this.form(t.node) && this.spread.get(t.node);
      if (d && d.kind === 'add') return this.flatTerms(d.terms.map((u) => ({ coef: t.coef * u.coef, node: u.node })));
      // A term that is a transposed sum is that sum's terms transposed: (P + Q)' + R = P' + Q' + R,
      // and so on down ((P + Q)' + R)' = P + Q + R' (a sum is its terms too).
      if (t.node.kind === 'add' && !t.node.held) return this.flatTerms(t.node.terms.map((u) => ({ coef: t.coef * u.coef, node: u.node })));
      const p = asPermutation(t.node);
      if (!p || p.base.kind !== 'add' || p.perm.length !== 2) return [t];
      return this.flatTerms(p.base.terms.map((u) => ({ coef: t.coef * u.coef, node: transposeNode(u.node) })));
    });
  }

  /** Σ c_t T_t; terms sharing a coefficient magnitude are grouped: 0.5*A + 0.5*A' → 0.5*(A + A'). */
  private sum(n: NodeOf<'add'>, kind: Kind, sym: boolean): MExpr | undefined {
    // Terms that print alike are one term (products the IR could not identify: t2 + t2 = 2*t2),
    // also where one prints with a number in front (3*(A^11)' + (A^11)' = 4*(A^11)').
    const printed: { c: number; e: MExpr; node: Node; key: string; full: string; factor: number }[] = [];
    const terms = identityTerms(this.collectable(this.flatTerms(n.terms)));
    // Symmetric where its printed terms are, though the IR holds a transposed sum as one term:
    // (A*B + C)' + A*B + C prints B'*A' + A*B + C' + C, its own transpose.
    sym ||= kind === 'matrix' && selfTransposed(terms);
    for (const t of terms) {
      const e = this.sub(t.node);
      if (!e) return undefined;
      // Texts are compared by their ids (Key.id): a term's may be too long to spell out.
      const k = this.key(e.ast, undefined);
      const lead = k.shape === 'product' ? /^([0-9]+(?:\.[0-9]+)?(?:e[+-]?[0-9]+)?)\*/.exec(k.prefix(40)) : null;
      printed.push({ c: t.coef, e, node: t.node, key: lead ? k.idAfter(lead[0]) : k.id, full: k.id, factor: lead ? Number(lead[1]) : 1 });
    }
    const parts: { c: number; e: MExpr; node: Node }[] = [];
    const byText = new Map<string, { c: number; e: MExpr; node: Node }>();
    // Plain terms first: a group is printed by a member without a number of its own.
    for (const p of [...printed.filter((q) => q.factor === 1), ...printed.filter((q) => q.factor !== 1)]) {
      const same = byText.get(p.key);
      if (same) same.c += p.c * p.factor;
      else {
        const q = { c: p.c, e: p.e, node: p.node };
        // A term with its own number starts no group (others add to it only by its full text).
        byText.set(p.factor === 1 ? p.key : p.full, q);
        parts.push(q);
      }
    }
    if (parts.every((p) => p.c === 0)) return kind === 'scalar' ? mexpr(num(0), kind) : constantOf(0, n.shape);
    parts.splice(0, parts.length, ...parts.filter((p) => p.c !== 0));
    const groups = new Map<number, typeof parts>();
    for (const p of parts) groups.set(Math.abs(p.c), [...(groups.get(Math.abs(p.c)) ?? []), p]);
    const items: Signed[] = [];
    for (const [k, g] of groups) {
      if (k !== 1 && g.length > 1 && !g.some((p) => p.node.kind === 'const')) {
        // The group in the sign the engine gives the sum of its terms: -2*(y - c) where (y - c)
        // is a factor elsewhere, not 2*(c - y).
        const group = makeAdd(g.map((p) => ({ coef: Math.sign(p.c), node: p.node })), n.shape);
        const sign = negatedSum(group) ? -1 : 1;
        const inner = signedSum(g.map((p) => ({ sign: Math.sign(sign * p.c), e: p.e })), kind, false, this);
        items.push({ sign, e: mexpr(bin('*', num(k), inner.ast), kind) });
      } else for (const p of g) items.push({ sign: Math.sign(p.c), e: scaled(Math.abs(p.c), p.e, p.node) });
    }
    return signedSum(items, kind, sym, this);
  }

  private power(n: NodeOf<'pow'>, kind: Kind, sym: boolean): MExpr | undefined {
    const sq = sumOfSquaresOf(n.base);
    const u = sq && sq.shape.length <= 2 ? this.sub(sq) : undefined;
    if (u) {
      const norm = call('norm2', u.ast);
      const p = 2 * n.exp;
      return mexpr(p === 1 ? norm : bin('^', norm, num(p)), 'scalar');
    }
    const b = this.sub(n.base);
    if (!b) return undefined;
    if (n.exp === 0.5) return mexpr(call('sqrt', b.ast), kind, sym);
    return mexpr(bin(kind === 'scalar' ? '^' : '.^', b.ast, num(n.exp)), kind, sym);
  }
}

export { constantDims } from './mexpr.js';

/**
 * The terms of a matrix sum with its multiples of the identity as one term, their scalars summed:
 * 2*X'*X + 2*b*eye + eye is 2*X'*X + (2*b + 1)*eye, not 2*(X'*X + b*eye) + eye.
 */
function identityTerms(terms: { coef: number; node: Node }[]): { coef: number; node: Node }[] {
  const scalarsOf = (n: Node): Factor[] | undefined => {
    if (n.kind === 'delta') return [];
    if (n.kind !== 'mul' || n.shape.length !== 2) return undefined;
    const k = n.factors.findIndex((f) => f.node.kind === 'delta' && f.labels[0] === 0 && f.labels[1] === 1);
    // (A scalar that divides stays with its own eye: eye/a + eye, not (1 + a^-1)*eye.)
    const plain = (f: Factor): boolean => f.labels.length === 0 && !(f.node.kind === 'pow' && f.node.exp < 0);
    return k >= 0 && n.factors.every((f, j) => j === k || plain(f)) ? n.factors.filter((_, j) => j !== k) : undefined;
  };
  const scalars = terms.map((t) => scalarsOf(t.node));
  const at = scalars.flatMap((s, i) => (s ? [i] : []));
  if (at.length < 2) return terms;
  const scalar = makeAdd(at.map((i) => ({ coef: terms[i]!.coef, node: makeMul(scalars[i]!.length > 0 ? scalars[i]! : [{ node: ones([]), labels: [] }], 0) })), []);
  const merged = { coef: 1, node: makeMul([{ node: scalar, labels: [] }, { node: delta(terms[at[0]!]!.node.shape[0]!), labels: [0, 1] }], 2) };
  return [...terms.filter((_, i) => !scalars[i]), merged];
}

/** Whether Σ c·T is Σ c·T' term by term (T' the transposed node; the IR makes each node once). */
function selfTransposed(terms: readonly { coef: number; node: Node }[]): boolean {
  const count = new Map<Node, number>();
  for (const t of terms) count.set(t.node, (count.get(t.node) ?? 0) + 1);
  return terms.every((t) => {
    const u = transposeNode(t.node);
    return u === t.node || terms.some((v) => v.node === u && v.coef === t.coef);
  }) && terms.every((t) => count.get(t.node) === count.get(transposeNode(t.node)));
}

/** A term c·T: 2*A, -x, c*vector(1) → vector(c). */
function scaled(c: number, e: MExpr, node: Node): MExpr {
  if (node.kind === 'const' && node.value === 1 && e.kind !== 'scalar') return sized(mexpr(call(e.kind, num(c)), e.kind, e.symmetric), node.shape);
  if (c === 1) return e;
  if (e.ast.kind === 'num') return mexpr(num(c * e.ast.value), e.kind);
  return scalarTimes(mexpr(num(c), 'scalar'), e);
}




/**
 * A form's text for comparisons: products flat, everything else parenthesized unless atomic. The
 * text is a rope of plain strings and the keys of sub-forms (each reference's key is one object,
 * shared by every form that uses it), so that deep forms are compared without spelling out their
 * texts (compareKeys); the text itself is joined only where it is asked for.
 */
export class Key {
  readonly length: number;
  /** The number of primes (') in the text. */
  readonly primes: number;
  private joinedText: string | undefined;

  constructor(
    readonly parts: readonly (string | Key)[],
    readonly shape: 'atom' | 'product' | 'other',
  ) {
    let length = 0;
    let primes = 0;
    for (const p of parts) {
      length += p.length;
      primes += typeof p === 'string' ? p.split("'").length - 1 : p.primes;
    }
    this.length = length;
    this.primes = primes;
  }

  get text(): string {
    if (this.joinedText === undefined) {
      let t = '';
      for (const p of this.parts) t += typeof p === 'string' ? p : p.text;
      this.joinedText = t;
    }
    return this.joinedText;
  }

  /**
   * The text's identity without spelling it out: its length and two polynomial hashes of it, each
   * made from its parts' (so equal texts have equal ids however their ropes are cut). A form
   * whose parts share sub-forms has a text exponential in its size; the id costs one step a part.
   */
  get id(): string {
    if (this.hashes === undefined) {
      let h1 = 0;
      let h2 = 0;
      for (const p of this.parts) {
        const [a, b] = typeof p === 'string' ? stringHashes(p) : p.hashPair();
        h1 = (mulMod(h1, powMod(BASE, p.length, P1), P1) + a) % P1;
        h2 = (mulMod(h2, powMod(BASE, p.length, P2), P2) + b) % P2;
      }
      this.hashes = [h1, h2];
    }
    return `${this.length}.${this.hashes[0]}.${this.hashes[1]}`;
  }
  private hashes: [number, number] | undefined;

  private hashPair(): [number, number] {
    void this.id;
    return this.hashes!;
  }

  /** The first n characters of the text (fewer where it is shorter), read without joining the rest. */
  prefix(n: number): string {
    let out = '';
    const stack: (string | Key)[] = [this];
    while (out.length < n && stack.length > 0) {
      const p = stack.pop()!;
      if (typeof p === 'string') out += p;
      else for (let j = p.parts.length - 1; j >= 0; j--) stack.push(p.parts[j]!);
    }
    return out.slice(0, n);
  }

  /** The id (as `id` gives it) of the text after its first m characters, `head`. */
  idAfter(head: string): string {
    const [h1, h2] = this.hashPair();
    const [a, b] = stringHashes(head);
    const rest = this.length - head.length;
    const s1 = (h1 - mulMod(a, powMod(BASE, rest, P1), P1) + P1) % P1;
    const s2 = (h2 - mulMod(b, powMod(BASE, rest, P2), P2) + P2) % P2;
    return `${rest}.${s1}.${s2}`;
  }
}

/** Moduli under 2^26, so that a product of two residues is exact in a double. */
const P1 = 67108859;
const P2 = 33554393;
const BASE = 131;

function mulMod(a: number, b: number, p: number): number {
  return (a * b) % p;
}

function powMod(b: number, e: number, p: number): number {
  let r = 1;
  let x = b % p;
  for (let k = e; k > 0; k = Math.floor(k / 2)) {
    if (k % 2 === 1) r = mulMod(r, x, p);
    x = mulMod(x, x, p);
  }
  return r;
}

function stringHashes(t: string): [number, number] {
  let h1 = 0;
  let h2 = 0;
  for (let i = 0; i < t.length; i++) {
    const c = t.charCodeAt(i);
    h1 = (h1 * BASE + c) % P1;
    h2 = (h2 * BASE + c) % P2;
  }
  return [h1, h2];
}

const plainKey = (text: string, shape: Key['shape']): Key => new Key([text], shape);

/** The plain strings of a key's text in order, from a stack of ropes (top last). */
function nextChunk(stack: (string | Key)[]): string | undefined {
  for (;;) {
    const top = stack.pop();
    if (top === undefined || typeof top === 'string') return top;
    pushParts(stack, top);
  }
}

/** A key's parts onto a stack of ropes, its first part on top. */
function pushParts(stack: (string | Key)[], k: Key): void {
  for (let j = k.parts.length - 1; j >= 0; j--) stack.push(k.parts[j]!);
}

/** Whether what is left on a stack of ropes has any text. */
function hasText(stack: (string | Key)[]): boolean {
  for (let c = nextChunk(stack); c !== undefined; c = nextChunk(stack)) if (c.length > 0) return true;
  return false;
}

/**
 * a's text compared with b's, a prime (') read as if it were '~' (so x sorts before x'). Where
 * both are at the start of the same sub-key, that stretch is equal and skipped.
 */
export function compareKeys(a: Key, b: Key): number {
  const PRIME = 39;
  const TILDE = 126;
  const sa: (string | Key)[] = [a];
  const sb: (string | Key)[] = [b];
  let ta = '';
  let tb = '';
  let ia = 0;
  let ib = 0;
  const open = (s: (string | Key)[]): void => pushParts(s, s.pop() as Key);
  for (;;) {
    if (ia === ta.length && ib === tb.length) {
      // Both between chunks: a sub-key on top of both is equal text, skipped whole. Of two
      // different sub-keys the longer one is opened first (the shorter may lie inside it).
      const x = sa[sa.length - 1];
      const y = sb[sb.length - 1];
      if (x instanceof Key && y instanceof Key) {
        if (x === y) {
          sa.pop();
          sb.pop();
        } else if (x.length > y.length) open(sa);
        else if (y.length > x.length) open(sb);
        else {
          open(sa);
          open(sb);
        }
        continue;
      }
    }
    if (ia === ta.length) {
      const x = sa.pop();
      if (x === undefined) return ib < tb.length || hasText(sb) ? -1 : 0;
      if (typeof x === 'string') [ta, ia] = [x, 0];
      else pushParts(sa, x);
      continue;
    }
    if (ib === tb.length) {
      const y = sb.pop();
      if (y === undefined) return 1;
      if (typeof y === 'string') [tb, ib] = [y, 0];
      else pushParts(sb, y);
      continue;
    }
    let x = ta.charCodeAt(ia++);
    let y = tb.charCodeAt(ib++);
    if (x === y) continue;
    if (x === PRIME) x = TILDE;
    if (y === PRIME) y = TILDE;
    if (x !== y) return x - y;
  }
}

function keyOf(a: Ast, sub: (x: Ast) => Key): Key {
  const inParens = (k: Key): (string | Key)[] => (k.shape === 'atom' ? [k] : ['(', k, ')']);
  // A power made by the printer reads as its factors: (A^2)'*A' and (A^3)' read alike.
  const p = powerOf(a);
  if (p && p.count <= 64) {
    const b = sub(p.base.ast);
    const f = b.shape === 'other' ? ['(', b, ')'] : [b];
    return new Key(Array.from({ length: p.count }, (_, k) => (k === 0 ? f : ['*', ...f])).flat(), 'product');
  }
  switch (a.kind) {
    case 'num':
      return plainKey(a.text, a.value < 0 ? 'other' : 'atom');
    case 'name':
      return plainKey(a.name, 'atom');
    case 'neg':
      return new Key(['-', ...inParens(sub(a.arg))], 'other');
    case 'transpose':
      return new Key([...inParens(sub(a.arg)), "'"], 'atom');
    case 'call':
      return new Key([`${a.fn}(`, ...a.args.flatMap((x, k) => (k === 0 ? [sub(x)] : [', ', sub(x)])), ')'], 'atom');
    case 'binary': {
      const [l, r] = [sub(a.left), sub(a.right)];
      if (a.op === '*') {
        const side = (k: Key): (string | Key)[] => (k.shape === 'other' ? ['(', k, ')'] : [k]);
        return new Key([...side(l), '*', ...side(r)], 'product');
      }
      const sep = a.op === '+' || a.op === '-' ? ` ${a.op} ` : a.op;
      const left = a.op === '+' || a.op === '-' ? [l] : inParens(l);
      return new Key([...left, sep, ...inParens(r)], 'other');
    }
    case 'where':
      return plainKey(toText(a), 'other');
  }
}

/** Factors that fall apart into more than one part with labels, joined by any label (x_i y_j). */
function isOuterProduct(fs: readonly Factor[]): boolean {
  // Rank 0: every label joins, free ones too.
  return factorComponents(fs, 0).filter((c) => fs[c.members[0]!]!.labels.length > 0).length > 1;
}
