/**
 * Merged axes (vec, kron) in matrix notation: vec(M) prints as itself; for a merge of two axes per
 * output axis, vecterms.ts reads each term as a form (kron, commutation, diag(vec(…)),
 * vec(P)*vec(Q)', L*diag(vec(G))*R) and this module combines and writes them. Equal terms are
 * added first. Terms with the same A and the same surroundings are added inside: kron(A, B) +
 * kron(A, C) = kron(A, B + C), likewise for the same B; a term and its twin with the columns
 * swapped are M*(eye + K); terms in the same surroundings share them: (kron(S, eye) + kron(eye,
 * S))*(eye + K). Sandwiches equal but for one part are one with that part added:
 * (L1 + L2)*diag(vec(G))*(R1 + R2). This is how the vec layout prints derivatives by a matrix: the Hessian of
 * norm2(X*W - Y)^2 by W is 2*kron(eye, X'*X), that of tr(X*X) by X 2*commutation(rows(X), rows(X)).
 */
import { type Dim, type Node, type NodeOf, delta, isZero, makeAdd } from '../ir/node.js';
import { bin, call, name, num } from './build.js';
import { type Forms, type Signed, scalarTimes, signedSum } from './forms.js';
import { type Kind, type MExpr, constantOf, elementwise, infoOf, mexpr, product, setTranspose, times, transposed } from './mexpr.js';
import { type Around, type Axes, type KronTerm, type OuterTerm, type Part, type SandwichTerm, type TermBody, type TermForm, type Through, type TiedTerm, axesOf, formsOf } from './vecterms.js';

export function mergeForm(n: NodeOf<'merge'>, f: Forms, symmetric: boolean): MExpr | undefined {
  if (isZero(n.arg)) return constantOf(0, n.shape);
  if (n.groups.length === 1 && n.groups[0] === 2) {
    const m = f.sub(n.arg);
    return m && mexpr(call('vec', m.ast), 'vector');
  }
  if (n.groups.length > 2 || n.groups.some((g) => g > 2)) return undefined;
  const axes = axesOf(n.groups, n.arg.shape);
  const forms = formsOf(n.arg, axes);
  return forms && formsExpr(forms, axes, n.shape.length === 2 ? 'matrix' : 'vector', symmetric, f, n.shape);
}

/**
 * The sum of the terms' forms. Where they cancel, the 0 of `shape` (a result's), or none (a part
 * of a term).
 */
function formsExpr(forms: readonly TermForm[], axes: Axes, kind: Kind, symmetric: boolean, f: Forms, shape?: readonly Dim[]): MExpr | undefined {
  const items: Signed[] = [];
  for (const group of bySurroundings(combine(forms))) {
    const item = group.length === 1 ? signed(group[0]!, axes, f) : sharedSurroundings(group, axes, f);
    if (!item) return undefined;
    items.push(item);
  }
  if (items.length === 0) return shape && constantOf(0, shape);
  return signedSum(items, kind, symmetric, f);
}

/**
 * Kronecker terms written together: M + M*K as M*(eye + K) (every derivative by a symmetric matrix
 * has such pairs), then kron(A, B) + kron(A, C) as kron(A, B + C) and kron(A, B) + kron(C, B) as
 * kron(A + C, B).
 */
function combine(forms: readonly TermForm[]): TermForm[] {
  const sandwiches = mergeSandwiches('right', mergeSandwiches('left', mergeSandwiches('middle', sameForms(forms))));
  return mergeOn('a', mergeOn('b', symmetrized(mergeScalings('right', mergeScalings('left', sandwiches)))));
}

/**
 * Kronecker terms equal but for one diagonal scaling, that scaling summed: c1*diag(vec(G1))*M +
 * c2*diag(vec(G2))*M = c1*diag(vec(G1 + c2/c1*G2))*M (the Hessian by A of five layers
 * A'.*relu(A.^1.5) in the vec layout printed 19,155 characters, its sides sums of such terms).
 */
function mergeScalings(side: 'left' | 'right', forms: readonly TermForm[]): TermForm[] {
  return mergeKron(
    forms,
    (p) => (p.around[side] ? kronKey(p, side) : undefined),
    (p) => p.around[side]!,
    (p, sum) => ({ ...p, around: { ...p.around, [side]: sum } }),
  );
}

/**
 * Kronecker terms in groups by `key` (none: a term of its own), each group one term: the node
 * that `at` reads, summed with coefficients relative to the first term's, put back by `put`.
 */
function mergeKron(
  forms: readonly TermForm[],
  key: (p: KronTerm) => string | undefined,
  at: (p: KronTerm) => Node,
  put: (p: KronTerm & { readonly coef: number }, sum: Node) => TermForm,
): TermForm[] {
  const groups = groupBy(forms, (p, i) => (p.kind === 'kron' ? key(p) : undefined) ?? `term ${i}`);
  const out: TermForm[] = [];
  for (const group of groups) {
    const first = group[0]!;
    if (group.length === 1 || first.kind !== 'kron') {
      out.push(...group);
      continue;
    }
    const sum = makeAdd(
      group.map((p) => ({ coef: p.coef / first.coef, node: at(p as KronTerm) })),
      at(first).shape,
    );
    if (!isZero(sum)) out.push(put(first, sum));
  }
  return out;
}

/**
 * Sandwiches equal but for one part, that part added: L*diag(vec(G))*R1 + L*diag(vec(G))*R2 =
 * L*diag(vec(G))*(R1 + R2), likewise for the left sides and (L*diag(vec(G1 + G2))*R) the
 * middles. Merged on the middle, the left and then the right, the four terms of the Hessian of
 * sum(exp(X*A*X)) through exp(X*A*X) become one, (L1 + L2)*diag(vec(G))*(R1 + R2).
 */
function mergeSandwiches(merged: 'left' | 'middle' | 'right', forms: readonly TermForm[]): TermForm[] {
  const groups = groupBy(forms, (t, i) =>
    t.kind !== 'sandwich'
      ? `term ${i}`
      : [
          t.scalars.map((x) => x.id).join(','),
          merged === 'middle' ? '' : t.middle.id,
          merged === 'left' ? '' : throughKey(t.left),
          merged === 'right' ? '' : throughKey(t.right),
        ].join('|'),
  );
  const out: TermForm[] = [];
  for (const group of groups) {
    const first = group[0]!;
    if (group.length === 1 || first.kind !== 'sandwich') {
      out.push(...group);
      continue;
    }
    const relative = (t: TermForm): number => t.coef / first.coef;
    if (merged === 'middle') {
      const middle = makeAdd(
        group.map((t) => ({ coef: relative(t), node: (t as SandwichTerm).middle })),
        first.middle.shape,
      );
      if (!isZero(middle)) out.push({ ...first, middle });
      continue;
    }
    const sides = sameForms(group.flatMap((t) => (t as SandwichTerm)[merged].forms.map((x) => ({ ...x, coef: x.coef * relative(t) }))));
    if (sides.length > 0) out.push({ ...first, [merged]: { forms: sides, axes: first[merged].axes } });
  }
  return out;
}

/** What identifies a sandwich's side: its forms as a set (in any order), with their coefficients. */
function throughKey(x: Through): string {
  return x.forms
    .map((t) => `${t.coef}*${formKey(t)}`)
    .sort()
    .join('+');
}

/** Equal terms as one, their coefficients added (terms that cancel are left out). */
function sameForms(forms: readonly TermForm[]): TermForm[] {
  const byKey = new Map<string, TermForm>();
  for (const t of forms) {
    const key = formKey(t);
    const seen = byKey.get(key);
    byKey.set(key, seen ? { ...seen, coef: seen.coef + t.coef } : t);
  }
  return [...byKey.values()].filter((t) => t.coef !== 0);
}

/** What identifies a term's form, but for its coefficient. */
function formKey(t: TermBody): string {
  const scalars = t.scalars.map((x) => x.id).join(',');
  const through = throughKey;
  switch (t.kind) {
    case 'kron':
      return `kron|${kronKey(t, 'none')}`;
    case 'outer':
      return `outer|${t.rows.node.id}|${t.rows.rowAxis.join()}|${t.cols.node.id}|${t.cols.rowAxis.join()}|${scalars}`;
    case 'sandwich':
      return `sandwich|${t.middle.id}|${through(t.left)}|${through(t.right)}|${scalars}`;
    case 'tied':
      return `tied|${t.pair}|${through(t.inner)}|${scalars}`;
  }
}

/** What identifies a Kronecker term, but for the parts left out. */
function kronKey(p: KronTerm, leave: 'a' | 'b' | 'swapCols' | 'left' | 'right' | 'none'): string {
  const { around: w } = p;
  return [
    leave === 'a' ? '' : p.a.node.id,
    leave === 'b' ? '' : p.b.node.id,
    p.a.rowAxis.join(),
    p.b.rowAxis.join(),
    p.scalars.map((s) => s.id).join(','),
    w.swapRows,
    leave === 'swapCols' ? '' : w.swapCols,
    w.symmetrized === true,
    leave === 'left' ? '' : w.left?.id,
    leave === 'right' ? '' : w.right?.id,
  ].join('|');
}

function symmetrized(forms: readonly TermForm[]): TermForm[] {
  const swapped = new Map<string, number[]>();
  forms.forEach((p, i) => {
    if (p.kind !== 'kron' || !p.around.swapCols) return;
    const key = `${kronKey(p, 'swapCols')}|${p.coef}`;
    swapped.set(key, [...(swapped.get(key) ?? []), i]);
  });
  const twinned = new Set<number>();
  const paired = new Set<number>();
  forms.forEach((p, i) => {
    if (p.kind !== 'kron' || p.around.swapCols) return;
    const twin = swapped.get(`${kronKey(p, 'swapCols')}|${p.coef}`)?.pop();
    if (twin === undefined) return;
    twinned.add(twin);
    paired.add(i);
  });
  return forms.flatMap((p, i) =>
    twinned.has(i) ? [] : paired.has(i) && p.kind === 'kron' ? [{ ...p, around: { ...p.around, symmetrized: true } }] : [p],
  );
}

/** Kronecker terms equal but for one side, with that side summed (coefficients relative to the first). */
function mergeOn(side: 'a' | 'b', forms: readonly TermForm[]): TermForm[] {
  return mergeKron(
    forms,
    (p) => kronKey(p, side),
    (p) => p[side].node,
    (p, sum) => ({ ...p, [side]: { node: sum, rowAxis: p[side].rowAxis } }),
  );
}

/** The printed form of one term, ±c·s₁·…·(its kron or outer product), with its surroundings. */
function signed(t: TermForm, axes: Axes, f: Forms, bare = false): Signed | undefined {
  const body =
    t.kind === 'kron'
      ? kronExpr(t, bare ? NOTHING_AROUND : t.around, axes, f)
      : t.kind === 'outer'
        ? outerExpr(t, f)
        : t.kind === 'sandwich'
          ? sandwichExpr(t, f)
          : tiedExpr(t, f);
  if (!body) return undefined;
  const front: MExpr[] = [];
  if (Math.abs(t.coef) !== 1) front.push(mexpr(num(Math.abs(t.coef)), 'scalar'));
  for (const s of t.scalars) {
    const e = f.sub(s);
    if (!e) return undefined;
    front.push(e);
  }
  return { sign: Math.sign(t.coef), e: front.length > 0 ? scalarTimes(product(front), body) : body };
}

const NOTHING_AROUND: Around = { swapRows: false, swapCols: false };

/**
 * Kronecker terms with the same surroundings (commutation matrices, diag(vec(…)) scalings) other
 * than none, in groups; every other term on its own.
 */
function bySurroundings(forms: readonly TermForm[]): TermForm[][] {
  return groupBy(forms, (p, i) => {
    const w = p.kind === 'kron' ? p.around : undefined;
    const plain = !w || (!w.swapRows && !w.swapCols && !w.symmetrized && !w.left && !w.right);
    return plain ? `term ${i}` : [w.swapRows, w.swapCols, w.symmetrized === true, w.left?.id, w.right?.id].join('|');
  });
}

/** The terms in groups by key, each group and the groups in the order of their first term. */
function groupBy(forms: readonly TermForm[], key: (t: TermForm, i: number) => string): TermForm[][] {
  const groups = new Map<string, TermForm[]>();
  forms.forEach((t, i) => {
    const k = key(t, i);
    const g = groups.get(k);
    if (g) g.push(t);
    else groups.set(k, [t]);
  });
  return [...groups.values()];
}

/** (Σ ±c·kron(A, B)) inside the surroundings the terms share, a common factor c in front. */
function sharedSurroundings(group: readonly TermForm[], axes: Axes, f: Forms): Signed | undefined {
  const c = Math.abs(group[0]!.coef);
  const common = group.every((t) => Math.abs(t.coef) === c) ? c : 1;
  const items: Signed[] = [];
  for (const t of group) {
    const item = signed({ ...t, coef: t.coef / common }, axes, f, true);
    if (!item) return undefined;
    items.push(item);
  }
  const inner = signedSum(items, items[0]!.e.kind, false, f);
  const body = kronAround(inner, (group[0] as KronTerm).around, axes, f);
  if (!body) return undefined;
  return { sign: 1, e: common !== 1 ? scalarTimes(mexpr(num(common), 'scalar'), body) : body };
}

/** A side as a matrix, a column vector (a row axis only) or a row (a column axis only). */
function sideForm(p: Part, f: Forms): MExpr | undefined {
  const e = f.sub(p.node);
  if (!e) return undefined;
  if (p.rowAxis.length === 1 && !p.rowAxis[0]) return transposed(e);
  return e;
}

const isEye = (e: MExpr): boolean => e.ast.kind === 'name' && e.ast.name === 'eye';

const eye = (): MExpr => mexpr(name('eye'), 'matrix', true);

/** kron(A, B) in its surroundings; kron(eye, eye) is eye. */
function kronExpr(t: KronTerm, around: Around, axes: Axes, f: Forms): MExpr | undefined {
  const ea = sideForm(t.a, f);
  const eb = sideForm(t.b, f);
  if (!ea || !eb) return undefined;
  const hasRow = t.a.rowAxis.includes(true) || t.b.rowAxis.includes(true);
  const hasCol = t.a.rowAxis.includes(false) || t.b.rowAxis.includes(false);
  const kind = hasRow ? (hasCol ? 'matrix' : 'vector') : 'row';
  const k = isEye(ea) && isEye(eb) ? ea : mexpr(call('kron', ea.ast, eb.ast), kind, ea.symmetric && eb.symmetric);
  return kronAround(k, around, axes, f);
}

/** [diag(vec(L))*][K*]M[*K][*(eye + K)][*diag(vec(R))]; an eye between other factors is left out. */
function kronAround(k: MExpr, around: Around, axes: Axes, f: Forms): MExpr | undefined {
  const scale = (m: Node | undefined): MExpr | undefined | null => {
    if (!m) return null;
    const e = f.sub(m);
    return e && mexpr(call('diag', call('vec', e.ast)), 'matrix', true);
  };
  const left = scale(around.left);
  const right = scale(around.right);
  if (left === undefined || right === undefined) return undefined;
  const [rf, rs] = axes.pairs[0] ?? [];
  const [cf, cs] = axes.pairs[1] ?? [];
  // Rows swapped: T[(i, k), c] = M[(k, i), c] = (K_{|k|,|i|}·M); columns: T[r, (j, l)] = (M·K_{|j|,|l|}).
  const factors = [
    left,
    around.swapRows ? commutation(axes.size[rs!]!, axes.size[rf!]!, f) : null,
    k,
    around.swapCols ? commutation(axes.size[cf!]!, axes.size[cs!]!, f) : null,
    around.symmetrized ? mexpr(bin('+', eye().ast, commutation(axes.size[cf!]!, axes.size[cs!]!, f).ast), 'matrix', axes.size[cf!] === axes.size[cs!]) : null,
    right,
  ].filter((e): e is MExpr => e !== null);
  const shown = factors.length > 1 ? factors.filter((e) => !isEye(e)) : factors;
  return product(shown);
}

/** commutation(m, n), whose transpose is commutation(n, m). */
function commutation(m: Dim, n: Dim, f: Forms): MExpr {
  const e = mexpr(call('commutation', f.size(m).ast, f.size(n).ast), 'matrix', m === n);
  if (m !== n) setTranspose(e, () => commutation(n, m, f));
  return e;
}

/** L*diag(vec(G))*R. */
function sandwichExpr(t: SandwichTerm, f: Forms): MExpr | undefined {
  const l = formsExpr(t.left.forms, t.left.axes, 'matrix', false, f);
  const r = formsExpr(t.right.forms, t.right.axes, 'matrix', false, f);
  const g = f.sub(t.middle);
  if (!l || !r || !g) return undefined;
  // A side that ends (starts) with diag(vec(x)) next to the middle: diag(vec(x.*G)), one scaling.
  const [lRest, lx] = diagVecAt(l, 'end');
  const [rRest, rx] = diagVecAt(r, 'start');
  const middle = [lx, g, rx].filter((e): e is MExpr => e !== undefined).reduce((a, b) => elementwise('.*', a, b));
  const shown = [lRest, mexpr(call('diag', call('vec', middle.ast)), 'matrix', true), rRest].filter((e): e is MExpr => e !== undefined && !isEye(e));
  return product(shown);
}

/** A product's last (first) factor diag(vec(x)): the rest of the product (undefined: none) and x. */
function diagVecAt(e: MExpr, at: 'start' | 'end'): [MExpr | undefined, MExpr | undefined] {
  const x = diagVecOf(e);
  if (x) return [undefined, x];
  const a = e.ast;
  if (a.kind !== 'binary' || a.op !== '*') return [e, undefined];
  const [l, r] = [infoOf(a.left), infoOf(a.right)];
  if (!l || !r || l.kind === 'scalar') return [e, undefined];
  if (at === 'end') {
    const inner = diagVecOf(r);
    return inner ? [l, inner] : [e, undefined];
  }
  // Products lean left: the first factor is at the bottom of the left operands.
  const [rest, inner] = diagVecAt(l, 'start');
  return inner ? [rest ? times(rest, r) : r, inner] : [e, undefined];
}

/** x where e is diag(vec(x)). */
function diagVecOf(e: MExpr): MExpr | undefined {
  const a = e.ast;
  if (a.kind !== 'call' || a.fn !== 'diag') return undefined;
  const v = a.args[0]!;
  if (v.kind !== 'call' || v.fn !== 'vec') return undefined;
  return infoOf(v.args[0]!);
}

/** diag(vec(eye))*T' or T'*diag(vec(eye)). */
function tiedExpr(t: TiedTerm, f: Forms): MExpr | undefined {
  const { axes } = t.inner;
  const inner = formsExpr(t.inner.forms, axes, 'matrix', false, f);
  const eyeOf = f.sub(delta(axes.size[axes.pairs[t.pair]![0]]!));
  if (!inner || !eyeOf) return undefined;
  const d = mexpr(call('diag', call('vec', eyeOf.ast)), 'matrix', true);
  return product(t.pair === 0 ? [d, inner] : [inner, d]);
}

/** vec(P)*vec(Q)', a vector side as itself. */
function outerExpr(t: OuterTerm, f: Forms): MExpr | undefined {
  const p = f.sub(t.rows.node);
  const q = f.sub(t.cols.node);
  if (!p || !q) return undefined;
  const vec = (e: MExpr, rank: number): MExpr => (rank === 2 ? mexpr(call('vec', e.ast), 'vector') : e);
  return product([vec(p, t.rows.rowAxis.length), transposed(vec(q, t.cols.rowAxis.length))]);
}
