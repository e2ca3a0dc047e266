/**
 * The terms of a merged tensor (vec, kron: the vec layout) read as matrix-notation forms. Each term
 * is split into the connected parts of its product graph (factors joined by a summed label) and
 * read as the first of these forms that fits:
 *
 * 1. kron(A, B)[(i, k), (j, l)] = A[k, l]·B[i, j]: the parts on the fast axes of the merged pairs
 *    (the first of each, column-major) make B, those on the slow axes A. Where parts join the fast
 *    axis of one pair to the slow axis of the other (the derivative of X'), a commutation matrix
 *    swaps a pair: K·kron(A, B) for the rows, kron(A, B)·K for the columns (Magnus–Neudecker:
 *    vec(X') = K·vec(X)).
 * 2. vec(P)*vec(Q)': every part lies on the row pair or on the column pair (tr(X)*X by X).
 * 3. diag(vec(L))·M·diag(vec(R)) with M of form 1: a part on both axes of the row pair, L, scales
 *    the rows, one on the column pair, R, the columns; an axis tied to a pair's axis by a delta of
 *    the term stands for it (δ(i, k)·A(i, l) = δ(i, k)·A(k, l)). The derivative of exp(X) is
 *    diag(vec(exp(X))), that of (X.*A)*B kron(B', eye)*diag(vec(A)).
 * 4. diag(vec(eye))·T': deltas tie the two axes of a pair (diag(X) by X); all four tied, the
 *    diagonal diag(vec(M)) (the Hessian of tr(f(X))).
 * 5. L*diag(vec(G))*R: G on two axes (the factors on them, with those joined to them through
 *    summed axes of their own) between a part on the rows and a part on the columns, each side a
 *    form of its own, a sandwich too where it must be: the Hessian of sum(exp(A*X*B)) by X is
 *    kron(B, A')*diag(vec(exp(A*X*B)))*kron(B', A); that of a two-layer sum(tanh(A*tanh(B*X)))
 *    by B has kron(eye, A')*diag(vec(…))*kron(eye, A) inside its sides.
 *
 * A term that holds a sum, or a small matrix power with directions (A^4 by A), is multiplied out
 * where it has no form as it stands. kron.ts combines the forms and writes them.
 */
import { type Dim, type Factor, type FactorComponent, type Node, type NodeOf, asPermutation, delta, expandMatPow, expandedFactors, factorComponents, makeMul, matPowTerms, ones } from '../ir/node.js';

type Side = 'A' | 'B';

/** A tensor over some of the merged axes: its node and, per axis, whether it is a row (else a column) axis. */
export interface Part {
  readonly node: Node;
  readonly rowAxis: readonly boolean[];
}

/** Which merged pairs are swapped by a commutation matrix, and the diagonal scalings taken out. */
export interface Around {
  readonly swapRows: boolean;
  readonly swapCols: boolean;
  /** Matrices on the row pair and on the column pair: diag(vec(left))·…·diag(vec(right)). */
  readonly left?: Node | undefined;
  readonly right?: Node | undefined;
  /** Times (eye + K) on the columns: the term and its twin with the columns swapped. */
  readonly symmetrized?: boolean;
}

export interface KronTerm {
  readonly kind: 'kron';
  readonly a: Part;
  readonly b: Part;
  readonly around: Around;
  readonly scalars: readonly Node[];
}

export interface OuterTerm {
  readonly kind: 'outer';
  readonly rows: Part;
  readonly cols: Part;
  readonly scalars: readonly Node[];
}

/** L·diag(vec(G))·R: the term through a middle pair of axes, L and R forms of their own. */
export interface SandwichTerm {
  readonly kind: 'sandwich';
  readonly left: Through;
  readonly middle: Node;
  readonly right: Through;
  readonly scalars: readonly Node[];
}

/** One side of a sandwich: its terms' forms over its axes. */
export interface Through {
  readonly forms: readonly TermForm[];
  readonly axes: Axes;
}

/** diag(vec(eye))*T' (rows) or T'*diag(vec(eye)) (columns): a pair's two axes tied by deltas. */
export interface TiedTerm {
  readonly kind: 'tied';
  readonly pair: 0 | 1;
  readonly inner: Through;
  readonly scalars: readonly Node[];
}

export type TermBody = KronTerm | OuterTerm | SandwichTerm | TiedTerm;

export type TermForm = TermBody & { readonly coef: number };

type KronOf = (ps: readonly FactorComponent[], around: Omit<Around, 'swapRows' | 'swapCols'>) => KronTerm | undefined;

/** The merged tensor's axes: per label, its pair (0 rows, 1 columns), place in it and size. */
export interface Axes {
  readonly rank: number;
  readonly pair: readonly number[];
  /** 0: the fast (first) axis of a merged pair, 1: the slow one; undefined: an axis of its own. */
  readonly place: readonly (0 | 1 | undefined)[];
  readonly size: readonly Dim[];
  /** The labels of each merged pair, [fast, slow] (undefined for an unmerged axis). */
  readonly pairs: readonly (readonly [number, number] | undefined)[];
}

/** Most terms a merged sum is expanded into. */
const MAX_TERMS = 64;

/** Most chains a matrix power with directions is written out into. */
const MAX_POW_TERMS = 8;

/**
 * The forms of a tensor's terms. A term that has none as it stands but is a product holding a sum
 * (the transpose of a sum, a sum times a factor) is multiplied out, so that each of its terms can
 * take its own form (kron(A, B) - vec(P)*vec(Q)'); undefined past MAX_TERMS or where a term has no form.
 */
export function formsOf(n: Node, axes: Axes, depth = 0): TermForm[] | undefined {
  // Remembered per node, axes and depth: a sandwich's sides are searched through every candidate
  // middle, and the sides of a network's Hessian meet the same products again and again (seven
  // layers sin(t').*t by A took 25 s).
  const key = `${depth}|${axes.rank}|${axes.pair.join()}|${axes.place.join()}|${axes.size.join()}|${axes.pairs.map((q) => q?.join('.') ?? '').join()}`;
  let seen = FORMS.get(n);
  if (!seen) FORMS.set(n, (seen = new Map()));
  if (seen.has(key)) return seen.get(key);
  const forms = formsOfTerms(n, axes, depth);
  seen.set(key, forms);
  return forms;
}
const FORMS = new WeakMap<Node, Map<string, TermForm[] | undefined>>();

function formsOfTerms(n: Node, axes: Axes, depth: number): TermForm[] | undefined {
  const out: TermForm[] = [];
  const walk = (t: Node, coef: number): boolean => {
    if (out.length > MAX_TERMS) return false;
    if (t.kind === 'add') return t.terms.every((u) => walk(u.node, coef * u.coef));
    const form = termForm(t, axes, depth);
    if (form) {
      out.push({ ...form, coef });
      return true;
    }
    // A small power with directions, written out as its chains (A^4 by A: Σ A^j·E·A^(3-j)).
    const small = (n: Node): n is NodeOf<'mpow'> => n.kind === 'mpow' && n.dirs.length > 0 && matPowTerms(n.exp, n.dirs.length) <= MAX_POW_TERMS;
    if (small(t)) return walk(expandMatPow(t.base, t.exp, t.dirs), coef);
    if (t.kind !== 'mul') return false;
    const pow = t.factors.findIndex((g) => small(g.node));
    if (pow >= 0) {
      const p = t.factors[pow]!.node as NodeOf<'mpow'>;
      const factors = t.factors.map((g, i) => (i === pow ? { node: expandMatPow(p.base, p.exp, p.dirs), labels: g.labels } : g));
      return walk(makeMul(factors, t.shape.length), coef);
    }
    // The sum over the most axes first: multiplying out a scalar sum helps no form, and where its
    // terms nearly cancel (1 - t1 at a saturated sigmoid) it loses their digits; an element-wise
    // sum (1 - t1.^2) stays whole where the sum of the term's structure is what has no form.
    let at = -1;
    t.factors.forEach((g, i) => {
      if (g.node.kind === 'add' && (at < 0 || g.labels.length > t.factors[at]!.labels.length)) at = i;
    });
    if (at < 0) return false;
    const sum = t.factors[at]!;
    return (sum.node as NodeOf<'add'>).terms.every((u) => {
      const factors = t.factors.map((g, i) => (i === at ? { node: u.node, labels: sum.labels } : g));
      return walk(makeMul(factors, t.shape.length), coef * u.coef);
    });
  };
  return walk(n, 1) && out.length <= MAX_TERMS ? out : undefined;
}

export function axesOf(groups: readonly number[], shape: readonly Dim[]): Axes {
  const pair: number[] = [];
  const place: (0 | 1 | undefined)[] = [];
  const pairs: (readonly [number, number] | undefined)[] = [];
  let at = 0;
  groups.forEach((g, k) => {
    for (let i = 0; i < g; i++) {
      pair.push(k);
      place.push(g === 2 ? (i as 0 | 1) : undefined);
    }
    pairs.push(g === 2 ? [at, at + 1] : undefined);
    at += g;
  });
  return { rank: at, pair, place, size: shape, pairs };
}

/** The factors `which` of a product as a tensor over the labels `axes` (in that order), the others summed. */
function partOf(factors: readonly Factor[], which: readonly number[], axes: readonly number[], rank: number, isRow: (l: number) => boolean): Part {
  const map = new Map<number, number>(axes.map((l, i) => [l, i]));
  const fs = which.map((i) => factors[i]!).map((g) => ({ node: g.node, labels: g.labels.map((l) => (l < rank ? map.get(l)! : l + rank)) }));
  return { node: fs.length > 0 ? makeMul(fs, axes.length) : makeMul([], 0), rowAxis: axes.map(isRow) };
}

/** Neither pair swapped, then the columns, the rows, both. */
const SWAPS = [
  [false, false],
  [false, true],
  [true, false],
  [true, true],
] as const;

/** The first form of the module comment that fits a term, or undefined. */
function termForm(t: Node, axes: Axes, depth: number): TermBody | undefined {
  const factors: readonly Factor[] = t.kind === 'mul' ? contracted(expandedFactors(t), axes.rank) : [{ node: t, labels: axes.pair.map((_, i) => i) }];
  const parts = factorComponents(factors, axes.rank);
  // Every axis must be some factor's: a part that no factor spans has no side.
  const spanned = new Set(parts.flatMap((p) => [...p.free]));
  if (spanned.size !== axes.rank) return undefined;
  const kron: KronOf = (ps, around) => {
    for (const [swapRows, swapCols] of SWAPS) {
      // Only a merged pair can be read the other way round.
      if ((swapRows && !axes.pairs[0]) || (swapCols && !axes.pairs[1])) continue;
      const split = splitKron(factors, ps, axes, [swapRows, swapCols]);
      if (split) return { kind: 'kron' as const, ...split, around: { ...around, swapRows, swapCols } };
    }
    return undefined;
  };
  const direct = kron(parts, {}) ?? outer(factors, parts, axes);
  if (direct) return direct;
  const same = tiedByDeltas(factors, parts, axes.rank);
  return peeled(factors, parts, axes, same, kron) ?? tiedPair(factors, axes, same, depth) ?? sandwiched(factors, axes, depth);
}

/**
 * A flattened product with its deltas on a summed label contracted, that label read as the other
 * everywhere: δ(s, i)·A(s, j) = A(i, j). Flattening leaves them where a nested product's axis met a
 * summed one; contracted, the factors of an element-wise map stand on the term's own axes (the
 * Hessian of norm2(z'*f(X)*B) by X is diag(vec(P))*kron(B*B', z*z')*diag(vec(Q))). A delta whose
 * summed label no other factor has, or that would give a factor one label twice, stays.
 */
function contracted(factors: readonly Factor[], rank: number): Factor[] {
  let fs = [...factors];
  const target = (g: Factor, at: number): [number, number] | undefined => {
    if (g.node.kind !== 'delta') return undefined;
    const [a, b] = g.labels as [number, number];
    if (a === b) return undefined;
    for (const [from, to] of [[a, b], [b, a]] as const) {
      if (from < rank) continue;
      const others = fs.filter((h, i) => i !== at && h.labels.includes(from));
      if (others.length > 0 && others.every((h) => !h.labels.includes(to))) return [from, to];
    }
    return undefined;
  };
  for (;;) {
    const at = fs.findIndex((g, i) => target(g, i) !== undefined);
    if (at < 0) return fs;
    const [from, to] = target(fs[at]!, at)!;
    fs = fs.filter((_, i) => i !== at).map((g) => (g.labels.includes(from) ? { node: g.node, labels: g.labels.map((l) => (l === from ? to : l)) } : g));
  }
}

/**
 * kron(A, B): each part on the fast axes (B) or the slow ones (A) of the merged pairs, with the
 * pairs in `swap` read the other way round; an unmerged axis goes with the part that holds it, to
 * B where that part has no merged axis.
 */
function splitKron(
  factors: readonly Factor[],
  parts: readonly FactorComponent[],
  axes: Axes,
  swap: readonly [boolean, boolean],
): { a: Part; b: Part; scalars: Node[] } | undefined {
  const want = (l: number): Side | undefined => {
    const p = axes.place[l];
    if (p === undefined) return undefined;
    return (p === 0) !== swap[axes.pair[l]!] ? 'B' : 'A';
  };
  const members: Record<Side, number[]> = { A: [], B: [] };
  const labels: Record<Side, Set<number>> = { A: new Set(), B: new Set() };
  const scalars: Node[] = [];
  for (const p of parts) {
    const sides = new Set([...p.free].map(want).filter((s): s is Side => s !== undefined));
    if (sides.size > 1) return undefined;
    if (p.free.size === 0) {
      scalars.push(makeMul(p.members.map((i) => factors[i]!), 0));
      continue;
    }
    const s = [...sides][0] ?? 'B';
    members[s].push(...p.members);
    for (const l of p.free) labels[s].add(l);
  }
  // An unmerged axis shared by parts on both sides (exp(X)*x by X) is no Kronecker product.
  if ([...labels.A].some((l) => labels.B.has(l))) return undefined;
  const isRow = (l: number): boolean => axes.pair[l] === 0;
  const build = (s: Side): Part =>
    partOf(
      factors,
      members[s],
      [...labels[s]].sort((x, y) => x - y),
      axes.rank,
      isRow,
    );
  return { a: build('A'), b: build('B'), scalars };
}

/** Most factors a term may have to be tried as a sandwich (each candidate middle splits it anew). */
const MAX_SANDWICH_FACTORS = 12;

/** Sandwiches within the sides of sandwiches, at most this deep. */
const MAX_SANDWICH_DEPTH = 3;

/**
 * L·diag(vec(G))·R: G, the factors on two axes (with those joined to them through summed axes of
 * their own: the second derivative of an element-wise map, f''(A*X*B)), is the middle; the
 * factors on the rows make L, those on the columns R, joined only through G's two axes. An axis of G that is one of the term's own is tied to a new middle axis by a delta
 * on its side, and a factor that reaches across takes the middle axis instead: the Hessian of
 * sum(f(X*W)) by W is kron(eye, X')*diag(vec(f''(X*W)))*kron(eye, X), that of sum(f(A*X*B)) by X
 * kron(B, A')*diag(vec(f''(A*X*B)))*kron(B', A).
 */
function sandwiched(factors: readonly Factor[], axes: Axes, depth: number): SandwichTerm | undefined {
  if (axes.pairs.length !== 2 || factors.length > MAX_SANDWICH_FACTORS || depth >= MAX_SANDWICH_DEPTH) return undefined;
  const summed = (l: number): boolean => l >= axes.rank;
  // Candidate middle axes: those of each factor on two axes, summed ones first, then those of
  // factors that are not a plain variable.
  const pairs = new Map<string, { labels: [number, number]; rank: number }>();
  for (const g of factors) {
    if (g.node.kind === 'delta' || g.labels.length !== 2 || g.labels[0] === g.labels[1]) continue;
    const key = [...g.labels].sort((a, b) => a - b).join();
    const rank = 2 * g.labels.filter(summed).length + Number(g.node.kind !== 'var');
    if ((pairs.get(key)?.rank ?? -1) < rank) pairs.set(key, { labels: [g.labels[0]!, g.labels[1]!], rank });
  }
  for (const { labels } of [...pairs.values()].sort((x, y) => y.rank - x.rank)) {
    // G or its transpose in the middle: the one whose sides need fewer commutation matrices.
    const tries = [false, true].map((flip) => throughMiddle(factors, labels, axes, flip, depth)).filter((t): t is SandwichTerm => t !== undefined);
    if (tries.length > 0) return tries.sort((x, y) => swaps(x) - swaps(y) || Number(transposedView(x.middle)) - Number(transposedView(y.middle)))[0];
  }
  return undefined;
}

/**
 * The factors of the middle on the axes u, v: those joined to each other through other axes that
 * no factor outside them has and that are summed (A'*H on u, v is A(p, u)·H(p, v)).
 */
function middleOf(factors: readonly Factor[], [u, v]: readonly [number, number], rank: number): number[] {
  const other = (l: number): boolean => l !== u && l !== v;
  const groups = joinedBySummed(
    factors.map((g, i) => ({ labels: g.labels, i })),
    other,
  );
  return groups
    .filter((group) => !group.some((g) => g.labels.some((l) => other(l) && l < rank)) && group.some((g) => !g.labels.every(other)))
    .flatMap((group) => group.map((g) => g.i))
    .sort((a, b) => a - b);
}

/** Whether a matrix is the transpose of another node (printed with a prime). */
const transposedView = (n: Node): boolean => asPermutation(n)?.perm[0] === 1;

/** How many commutation matrices a sandwich's sides print. */
function swaps(t: SandwichTerm): number {
  const count = (fs: readonly TermForm[]): number =>
    fs.reduce((n, p) => n + (p.kind === 'kron' ? Number(p.around.swapRows) + Number(p.around.swapCols) : p.kind === 'sandwich' ? swaps(p) : 0), 0);
  return count(t.left.forms) + count(t.right.forms);
}

/** One side of a sandwich: its factors as a tensor over `out` (merged by `groups`), and its forms. */
function sideThrough(factors: readonly Factor[], out: readonly number[], groups: readonly number[], dims: ReadonlyMap<number, Dim>, depth: number): Through | undefined {
  // An axis no factor of the side spans is constant along it.
  const fs = [...factors];
  for (const l of out) if (!fs.some((g) => g.labels.includes(l))) fs.push({ node: ones([dims.get(l)!]), labels: [l] });
  const map = new Map<number, number>(out.map((l, i) => [l, i]));
  let extra = out.length;
  const relabel = (l: number): number => map.get(l) ?? (map.set(l, extra++), extra - 1);
  const node = makeMul(
    fs.map((g) => ({ node: g.node, labels: g.labels.map(relabel) })),
    out.length,
  );
  const a = axesOf(groups, out.map((l) => dims.get(l)!));
  const forms = formsOf(node, a, depth + 1);
  return forms && { forms, axes: a };
}

/**
 * The sandwich through the middle axes `pair` (with `flip`, G' in the middle), or undefined where
 * the other factors do not split into a side on the rows and a side on the columns.
 */
function throughMiddle(factors: readonly Factor[], pair: readonly [number, number], axes: Axes, flip: boolean, depth: number): SandwichTerm | undefined {
  const side = (l: number): number | undefined => (l < axes.rank ? axes.pair[l] : undefined);
  const dims = new Map<number, Dim>();
  for (const g of factors) g.labels.forEach((l, k) => dims.set(l, g.node.shape[k]!));
  let next = Math.max(axes.rank, ...factors.flatMap((g) => g.labels)) + 1;
  const members = new Set(middleOf(factors, pair, axes.rank));
  const rest = factors.filter((_, i) => !members.has(i)).map((g) => ({ node: g.node, labels: [...g.labels] }));
  const sides: Factor[][] = [[], []];
  const mid: number[] = [];
  const joined = joinedBySummed(rest, (l) => l >= axes.rank && !pair.includes(l));
  for (const w of pair) {
    const s = side(w);
    if (s === undefined) {
      mid.push(w);
      continue;
    }
    // One of the term's axes: a new middle axis m, δ(w, m) on w's side; factors that reach the
    // other side, by themselves or through summed axes (X(k, p)·A(p, i)), read m for w.
    const m = next++;
    mid.push(m);
    dims.set(m, dims.get(w)!);
    sides[s]!.push({ node: delta(dims.get(w)!), labels: [w, m] });
    for (const group of joined) {
      if (!group.some((g) => g.labels.includes(w)) || !group.some((g) => g.labels.some((l) => side(l) === 1 - s))) continue;
      for (const g of group) g.labels = g.labels.map((l) => (l === w ? m : l));
    }
  }
  // G's axes u, v read as the middle ones.
  const toMid = (l: number): number => (l === pair[0] ? mid[0]! : l === pair[1] ? mid[1]! : l);
  const inMiddle: Factor[] = [...members].map((i) => ({ node: factors[i]!.node, labels: factors[i]!.labels.map(toMid) }));
  const internal = new Set(inMiddle.flatMap((g) => g.labels).filter((l) => !mid.includes(l)));
  const scalarFactors: Factor[] = [];
  // The middle pair's order: G's axes, or (flip) G' in the middle.
  if (flip) mid.reverse();
  // Each group of factors joined through summed axes goes to the side it reaches, whole.
  for (const group of joined) {
    const s = new Set(group.flatMap((g) => g.labels.map(side)).filter((x): x is number => x !== undefined));
    if (s.size > 1) return undefined;
    if (s.size === 1) {
      sides[[...s][0]!]!.push(...group);
      continue;
    }
    for (const g of group) {
      if (g.labels.every((l) => mid.includes(l))) inMiddle.push(g);
      else if (g.labels.every((l) => l >= axes.rank && !mid.includes(l))) scalarFactors.push(g);
      else return undefined;
    }
  }
  // A part on summed axes only is a scalar, if it shares none of them with the rest.
  const inScalars = new Set(scalarFactors.flatMap((g) => g.labels));
  if ([...sides[0]!, ...sides[1]!, ...inMiddle].some((g) => g.labels.some((l) => inScalars.has(l)))) return undefined;
  // The two sides meet only in the middle.
  const summedOf = (fs: readonly Factor[]): Set<number> => new Set(fs.flatMap((g) => g.labels).filter((l) => l >= axes.rank && !mid.includes(l)));
  const [sl, sr] = [summedOf(sides[0]!), summedOf(sides[1]!)];
  if ([...sl].some((l) => sr.has(l))) return undefined;
  const own = (k: number): number[] => axes.pair.map((_, l) => l).filter((l) => axes.pair[l] === k);
  const left = sideThrough(sides[0]!, [...own(0), ...mid], [own(0).length, 2], dims, depth);
  const right = left && sideThrough(sides[1]!, [...mid, ...own(1)], [2, own(1).length], dims, depth);
  if (!left || !right) return undefined;
  // The middle's own summed axes after its two.
  const inner = [...internal];
  const g = makeMul(inMiddle.map((x) => ({ node: x.node, labels: x.labels.map((l) => (mid.includes(l) ? mid.indexOf(l) : 2 + inner.indexOf(l))) })), 2);
  return { kind: 'sandwich', left, middle: g, right, scalars: scalarFactors.length > 0 ? [makeMul(scalarFactors, 0)] : [] };
}

/** The factors in groups joined through the labels that `joins` (each group in the factors' order). */
function joinedBySummed<F extends { labels: readonly number[] }>(factors: readonly F[], joins: (l: number) => boolean): F[][] {
  const parent = factors.map((_, i) => i);
  const find = (i: number): number => (parent[i] === i ? i : (parent[i] = find(parent[i]!)));
  const owner = new Map<number, number>();
  factors.forEach((g, i) =>
    g.labels.forEach((l) => {
      if (!joins(l)) return;
      const o = owner.get(l);
      if (o === undefined) owner.set(l, i);
      else parent[find(i)] = find(o);
    }),
  );
  const groups = new Map<number, F[]>();
  factors.forEach((g, i) => {
    const r = find(i);
    groups.set(r, [...(groups.get(r) ?? []), g]);
  });
  return [...groups.values()];
}

/**
 * diag(vec(eye))·T': where deltas tie the two axes of a pair (diag(X) by X, δ(i, k)·δ(i, l)),
 * T = δ(f, s)·T|s→f, and T' is T with s read as f, constant along s: diag(X) by X is
 * kron(vector(1)', eye)*diag(vec(eye)).
 */
function tiedPair(factors: readonly Factor[], axes: Axes, same: Tied, depth: number): TermBody | undefined {
  if (depth >= MAX_SANDWICH_DEPTH) return undefined;
  const [rows, cols] = axes.pairs;
  if (rows && cols && [rows[1], ...cols].every((l) => same(rows[0], l))) return diagonal(factors, axes, rows);
  for (const k of [0, 1] as const) {
    const pr = axes.pairs[k];
    if (!pr || !same(pr[0], pr[1])) continue;
    const [f0, s0] = pr;
    const deltas = new Set<string>();
    const fs: Factor[] = [];
    for (const g of factors) {
      const labels = g.labels.map((l) => (l === s0 ? f0 : l));
      if (g.node.kind === 'delta') {
        // δ(f, s) is 1 on the diagonal it now reads; a delta twice is the delta.
        const key = [...labels].sort((a, b) => a - b).join();
        if (labels[0] === labels[1] || deltas.has(key)) continue;
        deltas.add(key);
      }
      fs.push({ node: g.node, labels });
    }
    fs.push({ node: ones([axes.size[s0]!]), labels: [s0] });
    const forms = formsOf(makeMul(fs, axes.rank), axes, depth + 1);
    if (forms) return { kind: 'tied', pair: k, inner: { forms, axes }, scalars: [] };
  }
  return undefined;
}

/**
 * All four axes tied (the Hessian of tr(f(X))): T = δ·h(i) on the diagonal, diag(vec(M)) with M
 * the diagonal matrix of h; h is the term's other factors with every axis read as the first.
 */
function diagonal(factors: readonly Factor[], axes: Axes, [f0, s0]: readonly [number, number]): KronTerm {
  const fs = factors
    .filter((g) => g.node.kind !== 'delta' || g.labels.some((l) => l >= axes.rank))
    .map((g) => ({ node: g.node, labels: g.labels.map((l) => (l < axes.rank ? 0 : l - axes.rank + 1)) }));
  if (!fs.some((g) => g.labels.includes(0))) fs.push({ node: ones([axes.size[f0]!]), labels: [0] });
  const h = makeMul(fs, 1);
  const m = makeMul(
    [
      { node: h, labels: [0] },
      { node: delta(axes.size[f0]!), labels: [0, 1] },
    ],
    2,
  );
  const eye = (d: Dim, rowAxis: readonly boolean[]): Part => ({ node: delta(d), rowAxis });
  return {
    kind: 'kron',
    a: eye(axes.size[s0]!, [true, false]),
    b: eye(axes.size[f0]!, [true, false]),
    around: { swapRows: false, swapCols: false, left: m },
    scalars: [],
  };
}

/** vec(P)*vec(Q)': every part on the rows or on the columns, and each side spanned. */
function outer(factors: readonly Factor[], parts: readonly FactorComponent[], axes: Axes): TermBody | undefined {
  if (axes.pairs.length !== 2) return undefined;
  const on: number[][] = [[], []];
  const scalars: Node[] = [];
  for (const p of parts) {
    const pairs = new Set([...p.free].map((l) => axes.pair[l]!));
    if (pairs.size > 1) return undefined;
    if (pairs.size === 0) scalars.push(makeMul(p.members.map((i) => factors[i]!), 0));
    else on[[...pairs][0]!]!.push(...p.members);
  }
  const side = (k: number): Part => {
    const labels = axes.pair.map((_, l) => l).filter((l) => axes.pair[l] === k);
    return partOf(factors, on[k]!, labels, axes.rank, () => k === 0);
  };
  return { kind: 'outer', rows: side(0), cols: side(1), scalars };
}

/**
 * diag(vec(L))·kron(…)·diag(vec(R)): the parts on both axes of the row pair (L) and of the column
 * pair (R) taken out, the rest written as a Kronecker product.
 */
function peeled(factors: readonly Factor[], parts: readonly FactorComponent[], axes: Axes, same: Tied, kron: KronOf): TermBody | undefined {
  // A part on two axes tied (by deltas of the term) to the two of a pair, as the labels it takes there.
  const onPair = (p: FactorComponent, k: number): Map<number, number> | undefined => {
    const pr = axes.pairs[k];
    if (!pr || p.free.size !== 2 || isLoneDelta(factors, p)) return undefined;
    const [x, y] = [...p.free] as [number, number];
    if (same(x, pr[0]) && same(y, pr[1])) return new Map([[x, pr[0]], [y, pr[1]]]);
    if (same(x, pr[1]) && same(y, pr[0])) return new Map([[x, pr[1]], [y, pr[0]]]);
    return undefined;
  };
  const taken: Factor[][] = [[], []];
  const rest: FactorComponent[] = [];
  for (const p of parts) {
    const k = [0, 1].find((k) => onPair(p, k));
    if (k === undefined) {
      rest.push(p);
      continue;
    }
    const to = onPair(p, k)!;
    for (const i of p.members) {
      const g = factors[i]!;
      taken[k]!.push({ node: g.node, labels: g.labels.map((l) => to.get(l) ?? l) });
    }
  }
  if (taken[0]!.length + taken[1]!.length === 0) return undefined;
  // The rest must still span every axis (diag(vec(L)) scales; it does not broadcast).
  const spanned = new Set(rest.flatMap((p) => [...p.free]));
  if (spanned.size !== axes.rank) return undefined;
  const matrix = (k: number): Node | undefined => {
    const fs = taken[k]!;
    return fs.length > 0 ? partOf(fs, fs.map((_, i) => i), axes.pairs[k]!, axes.rank, () => true).node : undefined;
  };
  return kron(rest, { left: matrix(0), right: matrix(1) });
}

const isLoneDelta = (factors: readonly Factor[], p: FactorComponent): boolean => p.members.length === 1 && factors[p.members[0]!]!.node.kind === 'delta';

/**
 * Whether two free labels are equal wherever the term is non-zero: joined by a chain of deltas that
 * stand alone in the term (δ(i, k)·A(i, l) = δ(i, k)·A(k, l)).
 */
/** Whether two free labels of a term are tied by its deltas. */
type Tied = (a: number, b: number) => boolean;

function tiedByDeltas(factors: readonly Factor[], parts: readonly FactorComponent[], rank: number): Tied {
  const parent = Array.from({ length: rank }, (_, i) => i);
  const find = (i: number): number => (parent[i] === i ? i : (parent[i] = find(parent[i]!)));
  for (const p of parts) {
    if (!isLoneDelta(factors, p) || p.free.size !== 2) continue;
    const [a, b] = [...p.free] as [number, number];
    parent[find(a)] = find(b);
  }
  return (a, b) => find(a) === find(b);
}
