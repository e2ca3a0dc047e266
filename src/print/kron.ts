/**
 * Merged axes (vec, kron) in matrix notation.
 *
 * vec(M) prints as itself. A merge of two axes per output axis is read as Kronecker products:
 * kron(A, B)[(i, k), (j, l)] = A[k, l]·B[i, j], where the first axis of each merged pair (which
 * varies fastest, column-major) belongs to B and the second to A. Each term of the merged tensor is
 * split into the connected parts of its product graph; the parts on the fast axes make B, those on
 * the slow axes A, and a part on both has no Kronecker form (undefined). Terms with the same A are
 * added inside it: kron(A, B) + kron(A, C) = kron(A, B + C). This is how the vec layout prints
 * derivatives by a matrix: the Hessian of norm2(X*W - Y)^2 by W is 2*kron(eye, X'*X).
 */
import { type Factor, type Node, type NodeOf, isZero, makeAdd, makeMul } from '../ir/node.js';
import { call, num } from './build.js';
import { type Forms, type Signed, scalarTimes, signedSum } from './forms.js';
import { type MExpr, constantOf, mexpr, product, transposed } from './mexpr.js';

type Side = 'A' | 'B';

/** One side of a Kronecker product: its node and, per axis, whether it is a row (else a column) axis. */
interface Part {
  readonly node: Node;
  readonly rowAxis: readonly boolean[];
}

interface Split {
  readonly a: Part;
  readonly b: Part;
  readonly scalars: readonly Node[];
}

export function mergeForm(n: NodeOf<'merge'>, f: Forms, symmetric: boolean): MExpr | undefined {
  const kind = n.shape.length === 2 ? 'matrix' : 'vector';
  if (isZero(n.arg)) return constantOf(0, n.shape);
  if (n.groups.length === 1 && n.groups[0] === 2) {
    const m = f.sub(n.arg);
    return m && mexpr(call('vec', m.ast), 'vector');
  }
  if (n.groups.length > 2 || n.groups.some((g) => g > 2)) return undefined;
  const terms = n.arg.kind === 'add' ? n.arg.terms : [{ coef: 1, node: n.arg }];
  const parts: (Split & { coef: number })[] = [];
  for (const t of terms) {
    const split = splitTerm(t.node, n.groups);
    if (!split) return undefined;
    parts.push({ coef: t.coef, ...split });
  }
  // kron(A, B) + kron(A, C) = kron(A, B + C): terms with the same A and scalars are added inside.
  const byA = new Map<string, typeof parts>();
  for (const p of parts) {
    const key = `${p.a.node.id}|${p.a.rowAxis.join()}|${p.b.rowAxis.join()}|${p.scalars.map((s) => s.id).join(',')}`;
    byA.set(key, [...(byA.get(key) ?? []), p]);
  }
  const items: Signed[] = [];
  for (const group of byA.values()) {
    const first = group[0]!;
    const b =
      group.length === 1 ? first.b.node : makeAdd(group.map((p) => ({ coef: p.coef / first.coef, node: p.b.node })), first.b.node.shape);
    const e = kronOf(first.a, { node: b, rowAxis: first.b.rowAxis }, first.scalars, Math.abs(first.coef), f);
    if (!e) return undefined;
    items.push({ sign: Math.sign(first.coef), e });
  }
  return signedSum(items, n.shape.length === 2 ? 'matrix' : 'vector', symmetric, f);
}

/**
 * Splits a term T[axes] into A[slow axes]·B[fast axes]·scalars along the connected parts of its
 * product; a lone (unmerged) axis goes with the part that holds it, to B where that part has no
 * merged axis.
 */
function splitTerm(t: Node, groups: readonly number[]): Split | undefined {
  const want: (Side | undefined)[] = [];
  const isRow: boolean[] = [];
  groups.forEach((g, k) => {
    want.push(...(g === 2 ? (['B', 'A'] as const) : [undefined]));
    isRow.push(...Array.from({ length: g }, () => k === 0));
  });
  const rank = want.length;
  const factors: readonly Factor[] = t.kind === 'mul' ? t.factors : [{ node: t, labels: want.map((_, i) => i) }];
  // Connected parts: factors that share a summed label.
  const parent = factors.map((_, i) => i);
  const find = (i: number): number => (parent[i] === i ? i : (parent[i] = find(parent[i]!)));
  const owner = new Map<number, number>();
  factors.forEach((g, i) =>
    g.labels.forEach((l) => {
      if (l < rank) return;
      const o = owner.get(l);
      if (o === undefined) owner.set(l, i);
      else parent[find(i)] = find(o);
    }),
  );
  const free = new Map<number, Set<number>>();
  factors.forEach((g, i) => {
    const r = find(i);
    const set = free.get(r) ?? new Set<number>();
    for (const l of g.labels) if (l < rank) set.add(l);
    free.set(r, set);
  });
  const sideOfPart = new Map<number, Side | undefined>();
  const sideOfAxis = new Map<number, Side>();
  for (const [r, labels] of free) {
    const sides = new Set([...labels].map((l) => want[l]).filter((s): s is Side => s !== undefined));
    if (sides.size > 1) return undefined;
    const s = labels.size === 0 ? undefined : ([...sides][0] ?? 'B');
    sideOfPart.set(r, s);
    if (s) for (const l of labels) sideOfAxis.set(l, s);
  }
  const build = (s: Side): Part => {
    const axes = want.map((_, l) => l).filter((l) => sideOfAxis.get(l) === s);
    const map = new Map<number, number>(axes.map((l, i) => [l, i]));
    const fs = factors
      .filter((_, i) => sideOfPart.get(find(i)) === s)
      .map((g) => ({ node: g.node, labels: g.labels.map((l) => (l < rank ? map.get(l)! : l + rank)) }));
    return { node: fs.length > 0 ? makeMul(fs, axes.length) : makeMul([], 0), rowAxis: axes.map((l) => isRow[l]!) };
  };
  const scalars = factors.filter((_, i) => sideOfPart.get(find(i)) === undefined).map((g) => makeMul([g], 0));
  return { a: build('A'), b: build('B'), scalars };
}

/** A side as a matrix, a column vector (a row axis only) or a row (a column axis only). */
function sideForm(p: Part, f: Forms): MExpr | undefined {
  const e = f.sub(p.node);
  if (!e) return undefined;
  if (p.rowAxis.length === 1 && !p.rowAxis[0]) return transposed(e);
  return e;
}

/** c·s₁·…·kron(A, B). */
function kronOf(a: Part, b: Part, scalars: readonly Node[], coef: number, f: Forms): MExpr | undefined {
  const ea = sideForm(a, f);
  const eb = sideForm(b, f);
  if (!ea || !eb) return undefined;
  const kind = a.rowAxis.includes(true) || b.rowAxis.includes(true) ? (a.rowAxis.includes(false) || b.rowAxis.includes(false) ? 'matrix' : 'vector') : 'row';
  const isEye = (e: MExpr): boolean => e.ast.kind === 'name' && e.ast.name === 'eye';
  // kron(eye, eye) is eye (of the product size, which the context fixes).
  const k = isEye(ea) && isEye(eb) ? ea : mexpr(call('kron', ea.ast, eb.ast), kind, ea.symmetric && eb.symmetric);
  const front: MExpr[] = [];
  if (coef !== 1) front.push(mexpr(num(coef), 'scalar'));
  for (const s of scalars) {
    const e = f.sub(s);
    if (!e) return undefined;
    front.push(e);
  }
  return front.length > 0 ? scalarTimes(product(front), k) : k;
}
