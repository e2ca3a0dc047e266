/**
 * Small builders of printed forms shared by the passes of the matrix printer: element-wise
 * products with negative powers as division, a scalar moved into the leftmost factor, sums in
 * reading order.
 */
import type { Ast } from '../syntax/ast.js';
import { type Dim, type Factor, type Node, type NodeOf, makeMul } from '../ir/node.js';
import { bin, call, negate, num } from './build.js';
import { type Kind, type MExpr, constantOf, elementwise, infoOf, mexpr, times } from './mexpr.js';

/** What the passes need from the printer. */
export interface Forms {
  /** The printed form of a node as a part of a larger form (undefined: it has no matrix form). */
  sub(n: Node): MExpr | undefined;
  /** What a negative power divides by: s^-2 → s^2, x.^-1 → x, (Σ u∘u)^-1.5 → norm2(u)^3. */
  divisor(p: NodeOf<'pow'>, kind: Kind): MExpr | undefined;
  /**
   * A size, tied to variables that have it: rows(B), cols(B), len(x), rows(X)*len(z), or a
   * quotient of those (len(x)*cols(A)/rows(A)) where only that names it.
   */
  size(d: Dim): MExpr;
  /** Reading order of forms (text with references expanded): negative where a reads before b. */
  compareReading(a: MExpr, b: MExpr): number;
  /** A form's text, references expanded, where it has at most `most` characters. */
  shortText(e: MExpr, most: number): string | undefined;
  /** Number of transposes printed in a form, references expanded (the orientation with fewer reads better). */
  primes(e: MExpr): number;
  /**
   * A part of a product as a node of its own: the product of `factors` whose axes are `axes` (the
   * other labels summed), printed by reference, so that equal parts of different products are one
   * node (and may become one temporary). Undefined where that node is being printed.
   */
  part(factors: readonly Factor[], axes: readonly number[]): MExpr | undefined;
}

/** A factor of a product: its printed form and, where it is one IR node, that node. */
export interface Piece {
  readonly e: MExpr;
  readonly node?: Node | undefined;
}

export function isNegPow(n: Node | undefined): n is NodeOf<'pow'> {
  return n !== undefined && n.kind === 'pow' && n.exp < 0;
}

/**
 * The element-wise product of pieces of one kind, negative powers as division: y.*e./s.^2. A single
 * piece is itself (x.^-2 stays a power). Undefined where a divisor has no matrix form.
 */
export function hadamard(ps: readonly Piece[], kind: Kind, f: Forms): MExpr | undefined {
  if (ps.length === 1) return ps[0]!.e;
  const numer: MExpr[] = [];
  const denom: MExpr[] = [];
  for (const p of ps) {
    if (isNegPow(p.node)) {
      const d = f.divisor(p.node, kind);
      if (!d) return undefined;
      denom.push(d);
    } else numer.push(p.e);
  }
  const scalar = kind === 'scalar';
  let acc: MExpr =
    numer.length > 0
      ? numer.reduce((a, b) => elementwise(scalar ? '*' : '.*', a, b))
      : scalar || ps[0]!.node === undefined
        ? mexpr(scalar ? num(1) : call(kind === 'matrix' ? 'matrix' : 'vector', num(1)), kind)
        : constantOf(1, ps[0]!.node.shape);
  for (const d of denom) acc = elementwise(scalar ? '/' : './', acc, d);
  return mexpr(acc.ast, kind, ps.every((p) => p.e.symmetric));
}

/** s*(A*B) printed as s*A*B: a scalar moves into the leftmost factor of a product or quotient. */
export function scalarTimes(s: MExpr, a: MExpr): MExpr {
  const ast = a.ast;
  if (ast.kind === 'binary' && (ast.op === '*' || ast.op === '/' || ast.op === '.*' || ast.op === './')) {
    const left = infoOf(ast.left);
    const right = infoOf(ast.right);
    if (left && right) {
      const l = scalarTimes(s, left);
      return mexpr(bin(ast.op, l.ast, right.ast), a.kind, a.symmetric);
    }
  }
  if (ast.kind === 'neg') {
    const inner = infoOf(ast.arg);
    if (inner) return mexpr(negate(scalarTimes(s, inner).ast), a.kind, a.symmetric);
  }
  return times(s, a, a.symmetric);
}

export interface Signed {
  readonly sign: number;
  readonly e: MExpr;
}

/**
 * Σ ±t, positive terms first (A - B rather than -B + A), each group in reading order but for
 * multiples of the identity, which come last (A + 2*eye, X'*X + b*eye, as one writes them).
 */
export function signedSum(items: readonly Signed[], kind: Kind, symmetric: boolean, f: Forms): MExpr {
  const last = new Set(items.filter((p) => EYE_MULTIPLE.test(f.shortText(p.e, 40) ?? '')));
  const byKey = (xs: readonly Signed[]): Signed[] => [...xs].sort((a, b) => Number(last.has(a)) - Number(last.has(b)) || f.compareReading(a.e, b.e));
  const ordered = [...byKey(items.filter((p) => p.sign > 0)), ...byKey(items.filter((p) => p.sign < 0))];
  let acc: Ast | undefined;
  for (const p of ordered) {
    if (!acc) acc = p.sign < 0 ? negate(p.e.ast) : p.e.ast;
    else acc = bin(p.sign < 0 ? '-' : '+', acc, p.e.ast);
  }
  return mexpr(acc!, kind, symmetric);
}

/** eye, or numbers and scalars times eye (2*eye, 2*b*eye, (b + 1)*eye); a matrix times eye is never printed. */
const EYE_MULTIPLE = /^-?(?:[0-9.e+-]+\*|[A-Za-z][A-Za-z0-9_]*\*|\((?:[^()]|\([^()]*\))*\)\*)*eye$/;

/**
 * How a part numbers its labels: its axes 0, 1, … in order, every other label by first appearance
 * after them. Counted, not read from the map's size: a cycle's axes are one label twice.
 */
export function numbering(axes: readonly number[]): (l: number) => number {
  const at = new Map<number, number>(axes.map((l, i) => [l, i]));
  let next = axes.length;
  return (l) => {
    let k = at.get(l);
    if (k === undefined) at.set(l, (k = next++));
    return k;
  };
}

/** The product of a part's factors as a node over its axes (canonical: summed labels renamed). */
export function partNode(factors: readonly Factor[], axes: readonly number[]): Node {
  const slot = numbering(axes);
  return makeMul(
    factors.map((f) => ({ node: f.node, labels: f.labels.map(slot) })),
    axes.length,
  );
}
