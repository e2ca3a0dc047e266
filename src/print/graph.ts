/**
 * A product read as a graph, then reduced to matrix notation by small passes.
 *
 * The labels of an einsum product are the vertices. A matrix factor is an edge between its two
 * labels (oriented row → column), a vector factor a pendant on its label, a scalar stands apart.
 * Labels below the product's rank are free (the result's rows and columns); the others are summed.
 * Each pass rewrites one summed label (or one pair of edges) by a matrix identity:
 *
 *   selfLoop       M_aa                      → diag(M) as a pendant on a
 *   sumIsolated    Σ_a u_a v_a …             → u'*v, sum(u.*v.*w), tr(M), norm1(u), rows(B)
 *   sumLeaf        Σ_a M_ba w_a              → (M*w)_b, a pendant on b
 *   joinSeries     Σ_a L_ua w_a R_av         → (L*diag(w)*R)_uv, one edge u → v
 *   mergeParallel  M_uv, N_uv                → (M.*N)_uv
 *
 * so a label joined by three or more factors becomes diag of the Hadamard product of the vectors
 * on it between the two matrices (B'*diag(C*x)*D), and a pair of factors a matrix product. What
 * is left at the end reads off by rank: a scalar, a vector on label 0, or diag(u)*E*diag(v) /
 * u*v' between labels 0 and 1. A summed label still joined by three or more matrices (a tensor
 * network with no series-parallel reading) has no matrix form: assemble returns undefined.
 *
 * Every piece remembers the factors it is made of. A new piece that is not yet the whole product is
 * printed as a node of its own (Forms.part): the same part of two products (a backpropagated
 * vector A'*(t.*(A'*u)) in several terms of a Hessian) is then one interned node, which the
 * temporaries can name once.
 */
import { toText } from './text.js';
import { type Dim, type Factor, type MulNode, expandedFactors } from '../ir/node.js';
import { bin, call, num } from './build.js';
import { type Forms, type Piece, hadamard, isNegPow, scalarTimes } from './forms.js';
import { type MExpr, KIND_OF_RANK, ONE_VECTOR, mexpr, product, times, transposed } from './mexpr.js';

export type Label = number;

/** A piece of the product graph: its form and the factors of the product it is made of. */
export interface Part extends Piece {
  readonly factors: readonly Factor[];
}

export interface Edge extends Part {
  readonly row: Label;
  readonly col: Label;
}

export interface Pendant extends Part {
  readonly label: Label;
  /** For diag(M) made from a self-loop: M (a summed diagonal is tr(M)). */
  readonly diagOf?: MExpr;
}

export interface ProductGraph {
  readonly rank: number;
  readonly dims: ReadonlyMap<Label, Dim>;
  /** Number of factors of the product (a piece with all of them is the product itself). */
  readonly size: number;
  edges: Edge[];
  pendants: Pendant[];
  scalars: Part[];
}

/** The graph of a product; undefined where a factor has no matrix form or more than two axes. */
export function buildGraph(n: MulNode, f: Forms): ProductGraph | undefined {
  const factors = flatFactors(n, f);
  const g: ProductGraph = { rank: n.shape.length, dims: new Map(), size: factors.length, edges: [], pendants: [], scalars: [] };
  const dims = g.dims as Map<Label, Dim>;
  for (const factor of factors) {
    const e = f.sub(factor.node);
    if (!e) return undefined;
    factor.labels.forEach((l, i) => dims.set(l, factor.node.shape[i]!));
    const [a, b] = factor.labels;
    const part = { e, node: factor.node, factors: [factor] };
    if (factor.labels.length === 0) g.scalars.push(part);
    else if (factor.labels.length === 1) g.pendants.push({ ...part, label: a! });
    else if (factor.labels.length === 2) g.edges.push({ ...part, row: a!, col: b! });
    else return undefined;
  }
  return g;
}

/**
 * The factors of a product, with nested products that have no matrix form of their own (a tensor
 * of order ≥ 3 inside a product, as deep chains keep them) replaced by their factors.
 */
export function flatFactors(n: MulNode, f: Forms): Factor[] {
  return expandedFactors(n, (fac) => fac.node.shape.length <= 2 && f.sub(fac.node) !== undefined);
}

// ---------------------------------------------------------------------------------------------
// Helpers

const isSummed = (g: ProductGraph, l: Label): boolean => l >= g.rank;

/** Edges and pendants by label, rebuilt only when the graph has changed (passes replace or grow its lists). */
interface LabelIndex {
  readonly edges: Edge[];
  readonly pendants: Pendant[];
  readonly edgeCount: number;
  readonly pendantCount: number;
  readonly edgesAt: Map<Label, Edge[]>;
  readonly pendantsAt: Map<Label, Pendant[]>;
  readonly summed: Label[];
}

const INDEX = new WeakMap<ProductGraph, LabelIndex>();

function indexOf(g: ProductGraph): LabelIndex {
  const hit = INDEX.get(g);
  if (hit && hit.edges === g.edges && hit.pendants === g.pendants && hit.edgeCount === g.edges.length && hit.pendantCount === g.pendants.length)
    return hit;
  const edgesAt = new Map<Label, Edge[]>();
  const pendantsAt = new Map<Label, Pendant[]>();
  const add = <T>(m: Map<Label, T[]>, l: Label, x: T): void => {
    const list = m.get(l);
    if (list) list.push(x);
    else m.set(l, [x]);
  };
  for (const e of g.edges) {
    add(edgesAt, e.row, e);
    if (e.col !== e.row) add(edgesAt, e.col, e);
  }
  for (const p of g.pendants) add(pendantsAt, p.label, p);
  const summed = [...new Set([...edgesAt.keys(), ...pendantsAt.keys()])].filter((l) => isSummed(g, l)).sort((a, b) => a - b);
  const index = { edges: g.edges, pendants: g.pendants, edgeCount: g.edges.length, pendantCount: g.pendants.length, edgesAt, pendantsAt, summed };
  INDEX.set(g, index);
  return index;
}

const edgesAt = (g: ProductGraph, l: Label): Edge[] => indexOf(g).edgesAt.get(l) ?? [];
const pendantsAt = (g: ProductGraph, l: Label): Pendant[] => indexOf(g).pendantsAt.get(l) ?? [];
const otherEnd = (e: Edge, l: Label): Label => (e.row === l ? e.col : e.row);
const isEye = (e: MExpr): boolean => e.ast.kind === 'name' && e.ast.name === 'eye';
const isOnes = (p: Piece): boolean => p.node?.kind === 'const' && p.node.value === 1;

/** The edge read from `from` to the other end: M or M'. */
function orient(e: Edge, from: Label): MExpr {
  return e.row === from ? e.e : transposed(e.e);
}

function summedLabels(g: ProductGraph): Label[] {
  return indexOf(g).summed;
}

function remove<T>(list: T[], items: readonly T[]): T[] {
  return list.filter((x) => !items.includes(x));
}

/**
 * The form of a new piece made of `factors` with axes `axes`: by reference to a node of its own
 * while it is a part of the product, else (or where that node cannot print) the form built here.
 */
function emit(g: ProductGraph, f: Forms, factors: readonly Factor[], axes: readonly Label[], direct: () => MExpr | undefined): MExpr | undefined {
  if (factors.length < g.size) {
    const r = f.part(factors, axes);
    if (r) return r;
  }
  return direct();
}

const factorsOf = (ps: readonly Part[]): Factor[] => ps.flatMap((p) => p.factors);

/** The Hadamard product of the pendants on a label, as one vector. */
function weight(ps: readonly Pendant[], f: Forms): MExpr | undefined {
  return hadamard(ps, 'vector', f);
}

/**
 * diag(w) of the pendants on label l, w by reference to a node of its own where it is a product of
 * several: where the diagonal matrix occurs more than once, its vector is what is named (diag(t1),
 * not t1 = diag(…)), so that products and sums of diagonals around it still merge into one.
 */
function diagonalOf(g: ProductGraph, f: Forms, ps: readonly Pendant[], l: Label): MExpr | undefined {
  const w = ps.length > 1 ? emit(g, f, factorsOf(ps), [l], () => weight(ps, f)) : weight(ps, f);
  return w && diagMatrix(w);
}

/** diag(w) of a vector w: a symmetric matrix. */
const diagMatrix = (w: MExpr): MExpr => mexpr(call('diag', w.ast), 'matrix', true);

// ---------------------------------------------------------------------------------------------
// Passes: each makes one reduction and says whether it did (undefined: a form failed to print).

type Pass = (g: ProductGraph, f: Forms) => boolean | undefined;

/** M_aa → diag(M) on a. */
export const selfLoop: Pass = (g, f) => {
  const e = g.edges.find((x) => x.row === x.col);
  if (!e) return false;
  const d = emit(g, f, e.factors, [e.row], () => mexpr(call('diag', e.e.ast), 'vector'));
  if (!d) return undefined;
  g.edges = remove(g.edges, [e]);
  g.pendants.push({ e: d, factors: e.factors, label: e.row, diagOf: e.e });
  return true;
};

/** A summed label with only pendants: a scalar. */
export const sumIsolated: Pass = (g, f) => {
  const l = summedLabels(g).find((x) => edgesAt(g, x).length === 0);
  if (l === undefined) return false;
  const ps = pendantsAt(g, l);
  const s = emit(g, f, factorsOf(ps), [], () => sumOfPendants(ps, g.dims.get(l)!, f));
  if (!s) return undefined;
  g.pendants = remove(g.pendants, ps);
  g.scalars.push({ e: s, factors: factorsOf(ps) });
  return true;
};

function sumOfPendants(ps: readonly Pendant[], dim: Dim, f: Forms): MExpr | undefined {
  if (ps.length === 1) {
    const p = ps[0]!;
    if (p.diagOf) return mexpr(call('tr', p.diagOf.ast), 'scalar');
    if (isOnes(p)) return f.size(dim);
    if (p.node?.kind === 'elem' && p.node.fn === 'abs') {
      const u = f.sub(p.node.arg);
      return u && mexpr(call('norm1', u.ast), 'scalar');
    }
    return mexpr(call('sum', p.e.ast), 'scalar');
  }
  if (ps.length === 2 && !ps.some((p) => isNegPow(p.node))) {
    // u'*v, transposing the side that prints fewer primes: x'*A*y rather than y'*A'*x.
    const [u, v] = ps as [Pendant, Pendant];
    const a = times(transposed(u.e), v.e);
    const b = times(transposed(v.e), u.e);
    return f.primes(b) < f.primes(a) ? b : a;
  }
  const h = weight(ps, f);
  return h && mexpr(call('sum', h.ast), 'scalar');
}

/** A summed label on one edge: Σ_a M_ba w_a = (M*w)_b, a pendant on b (Σ_ab M_ab alone is sum(M)). */
export const sumLeaf: Pass = (g, f) => {
  for (const l of summedLabels(g)) {
    const es = edgesAt(g, l);
    if (es.length !== 1) continue;
    const e = es[0]!;
    const b = otherEnd(e, l);
    const ps = pendantsAt(g, l);
    if (ps.length === 0 && isSummed(g, b) && edgesAt(g, b).length === 1 && pendantsAt(g, b).length === 0) {
      const s = emit(g, f, e.factors, [], () => mexpr(call('sum', e.e.ast), 'scalar'));
      if (!s) return undefined;
      g.edges = remove(g.edges, [e]);
      g.scalars.push({ e: s, factors: e.factors });
      return true;
    }
    const factors = [...e.factors, ...factorsOf(ps)];
    const v = emit(g, f, factors, [b], () => {
      const w = ps.length > 0 ? weight(ps, f) : ONE_VECTOR(g.dims.get(l));
      return w && (isEye(e.e) ? w : times(orient(e, b), w));
    });
    if (!v) return undefined;
    g.edges = remove(g.edges, [e]);
    g.pendants = remove(g.pendants, ps);
    g.pendants.push({ e: v, factors, label: b });
    return true;
  }
  return false;
};

/**
 * Summed labels nearest a free label first: chains then grow from their free ends inward, so the
 * parts they make are prefixes and suffixes (A'*diag(s)*A'…), which different terms share.
 */
function byDistanceFromFree(g: ProductGraph): Label[] {
  const dist = new Map<Label, number>();
  let frontier: Label[] = [];
  for (let l = 0; l < g.rank; l++) {
    dist.set(l, 0);
    frontier.push(l);
  }
  while (frontier.length > 0) {
    const next: Label[] = [];
    for (const l of frontier)
      for (const e of edgesAt(g, l)) {
        const o = otherEnd(e, l);
        if (!dist.has(o)) {
          dist.set(o, dist.get(l)! + 1);
          next.push(o);
        }
      }
    frontier = next;
  }
  const far = Number.MAX_SAFE_INTEGER;
  return summedLabels(g).sort((a, b) => (dist.get(a) ?? far) - (dist.get(b) ?? far) || a - b);
}

/** A summed label between two edges: Σ_a L_ua w_a R_av = (L*diag(w)*R)_uv. */
export const joinSeries: Pass = (g, f) => {
  for (const l of byDistanceFromFree(g)) {
    const es = edgesAt(g, l);
    if (es.length !== 2) continue;
    const [e1, e2] = es as [Edge, Edge];
    const [u, v] = [otherEnd(e1, l), otherEnd(e2, l)];
    const ps = pendantsAt(g, l);
    let middle: MExpr[] = [];
    if (ps.length > 0) {
      const d = diagonalOf(g, f, ps, l);
      if (!d) return undefined;
      middle = [d];
    }
    const chain = (items: MExpr[]): MExpr => {
      const kept = items.filter((x) => !isEye(x));
      if (kept.length === 0) return items[0]!;
      // L*D*L' reads the same transposed: symmetric, so it is never printed with a prime.
      const n = kept.length;
      const sym = n >= 2 && kept.every((x, k) => toText(transposed(x).ast) === toText(kept[n - 1 - k]!.ast));
      return product(kept, sym);
    };
    const forward = chain([orient(e1, u), ...middle, orient(e2, l)]);
    const backward = chain([orient(e2, v), ...middle, orient(e1, l)]);
    const useBackward = f.primes(backward) < f.primes(forward);
    const [row, col] = useBackward ? [v, u] : [u, v];
    const factors = [...e1.factors, ...e2.factors, ...factorsOf(ps)];
    // A cycle (row = col) is no matrix of its own here; its diagonal is, in the next pass.
    const direct = (): MExpr => (useBackward ? backward : forward);
    const e = row === col ? direct() : emit(g, f, factors, [row, col], direct);
    if (!e) return undefined;
    g.edges = remove(g.edges, [e1, e2]);
    g.pendants = remove(g.pendants, ps);
    g.edges.push({ e, factors, row, col });
    return true;
  }
  return false;
};

/** Two edges between the same labels: M .* N (N transposed to M's orientation where needed). */
export const mergeParallel: Pass = (g, f) => {
  const byPair = new Map<string, Edge>();
  for (const b of g.edges) {
    if (b.row === b.col) continue;
    const pair = b.row < b.col ? `${b.row},${b.col}` : `${b.col},${b.row}`;
    const a = byPair.get(pair);
    if (!a) {
      byPair.set(pair, b);
      continue;
    }
    const same = a.row === b.row;
    const factors = [...a.factors, ...b.factors];
    const h = emit(g, f, factors, [a.row, a.col], () => hadamard([a, same ? b : { e: transposed(b.e), node: undefined }], 'matrix', f));
    if (!h) return undefined;
    g.edges = remove(g.edges, [a, b]);
    g.edges.push({ e: h, factors, row: a.row, col: a.col });
    return true;
  }
  return false;
};

/** The passes in order of preference: series before parallel, so that a cycle reads as a trace. */
export const PASSES: readonly Pass[] = [selfLoop, sumIsolated, sumLeaf, joinSeries, mergeParallel];

/** Applies the passes until none applies; false where a form failed to print. */
export function reduce(g: ProductGraph, f: Forms): boolean {
  for (let guard = 0; guard < 10_000; guard++) {
    let progress = false;
    for (const pass of PASSES) {
      const r = pass(g, f);
      if (r === undefined) return false;
      if (r) {
        progress = true;
        break;
      }
    }
    if (!progress) return true;
  }
  return false;
}

// ---------------------------------------------------------------------------------------------
// Reading off the result

/**
 * The reduced graph as one form: scalars in front, negative powers as division; rank 1 is the
 * Hadamard product of the pendants on label 0; rank 2 is diag(u)*E*diag(v), or u*v' without an edge.
 */
export function assemble(g: ProductGraph, f: Forms, symmetric: boolean): MExpr | undefined {
  if (summedLabels(g).length > 0) return undefined;
  let main: MExpr | undefined;
  if (g.rank === 1) main = weight(pendantsAt(g, 0), f);
  else if (g.rank === 2) main = matrixOf(g, f);
  if (g.rank > 0 && !main) return undefined;
  const numer: MExpr[] = [];
  const denom: MExpr[] = [];
  for (const s of g.scalars) {
    if (isNegPow(s.node)) {
      const d = f.divisor(s.node, 'scalar');
      if (!d) return undefined;
      denom.push(d);
    } else numer.push(s.e);
  }
  const kind = KIND_OF_RANK[g.rank]!;
  let acc: MExpr | undefined = numer.length > 0 ? product(numer) : undefined;
  if (main) acc = acc ? scalarTimes(acc, main) : main;
  if (!acc) acc = mexpr(num(1), 'scalar');
  for (const d of denom) acc = mexpr(bin('/', acc.ast, d.ast), kind);
  return mexpr(acc.ast, kind, symmetric);
}

function matrixOf(g: ProductGraph, f: Forms): MExpr | undefined {
  const u = pendantsAt(g, 0);
  const v = pendantsAt(g, 1);
  if (g.edges.length > 1 || g.edges.some((e) => e.row === e.col)) return undefined;
  const e = g.edges[0];
  if (!e) {
    const wu = u.length > 0 ? weight(u, f) : undefined;
    const wv = v.length > 0 ? weight(v, f) : undefined;
    return wu && wv ? times(wu, transposed(wv)) : undefined;
  }
  const edge = orient(e, 0);
  if (isEye(edge) && u.length > 0 && v.length > 0) {
    // u_i δ_ij v_j: one diagonal of the pendants of both ends.
    const h = hadamard([...u, ...v], 'vector', f);
    return h && diagMatrix(h);
  }
  const du = u.length > 0 ? diagonalOf(g, f, u, 0) : undefined;
  const dv = v.length > 0 ? diagonalOf(g, f, v, 1) : undefined;
  if ((u.length > 0 && !du) || (v.length > 0 && !dv)) return undefined;
  if (isEye(edge)) return du ?? dv ?? edge;
  return product([...(du ? [du] : []), edge, ...(dv ? [dv] : [])]);
}

/** The matrix form of a product through the passes (undefined where it has none). */
export function productForm(n: MulNode, f: Forms, symmetric: boolean): MExpr | undefined {
  const g = buildGraph(n, f);
  if (!g || !reduce(g, f)) return undefined;
  return assemble(g, f, symmetric);
}
