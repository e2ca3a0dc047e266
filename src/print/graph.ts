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
import { type Dim, type Factor, type MulNode, type Node, expandedFactors } from '../ir/node.js';
import { bin, call, num } from './build.js';
import { type Forms, type Piece, hadamard, isNegPow, numbering, partNode, scalarTimes } from './forms.js';
import { type MExpr, KIND_OF_RANK, ONE_VECTOR, mexpr, product, times, transposed } from './mexpr.js';

export type Label = number;

/**
 * The factors of a piece, joined lazily: a part's list is spelled out only where it is printed as
 * a node of its own for the first time, so that reducing a product of n factors costs O(n), not
 * O(n²).
 */
export class FactorList {
  private constructor(
    private readonly kids: readonly FactorList[],
    private readonly leaf: Factor | undefined,
    readonly count: number,
  ) {}

  static of(f: Factor): FactorList {
    return new FactorList([], f, 1);
  }

  static join(lists: readonly FactorList[]): FactorList {
    return new FactorList(lists, undefined, lists.reduce((s, l) => s + l.count, 0));
  }

  /** The factors in order (an explicit stack: chains of thousands of factors nest that deep). */
  list(): Factor[] {
    const out: Factor[] = [];
    const stack: FactorList[] = [this];
    while (stack.length > 0) {
      const l = stack.pop()!;
      if (l.leaf) out.push(l.leaf);
      for (let k = l.kids.length - 1; k >= 0; k--) stack.push(l.kids[k]!);
    }
    return out;
  }
}

/** A piece of the product graph: its form and the factors of the product it is made of. */
export interface Part extends Piece {
  readonly factors: FactorList;
  /**
   * The piece's structure, short: equal keys, equal factors with equal labels up to the names of
   * the summed ones, read from the piece's ends (see pieceOf).
   */
  readonly key: string;
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

/**
 * The graph of a product. Edges and pendants are kept in the order they were added, by label too,
 * and the summed labels in classes by the number of edges on them (what reduces them next), so
 * that each pass finds its label without scanning the graph.
 */
export class ProductGraph {
  readonly dims = new Map<Label, Dim>();
  readonly scalars: Part[] = [];
  private readonly edgeSet = new Set<Edge>();
  private readonly pendantSet = new Set<Pendant>();
  private readonly edgesBy = new Map<Label, Set<Edge>>();
  private readonly pendantsBy = new Map<Label, Set<Pendant>>();
  /** Edges from a label to itself. */
  readonly loops = new Set<Edge>();
  /** Summed labels with an edge or a pendant on them. */
  private readonly live = new Set<Label>();
  /** Summed labels with pendants and no edge, with one edge, with two. */
  readonly isolated = new Set<Label>();
  readonly leaves = new Set<Label>();
  readonly series = new Set<Label>();

  /** rank: labels below it are free; size: the number of factors of the product. */
  constructor(
    readonly rank: number,
    readonly size: number,
  ) {}

  get edges(): Edge[] {
    return [...this.edgeSet];
  }

  get pendants(): Pendant[] {
    return [...this.pendantSet];
  }

  edgesAt(l: Label): Edge[] {
    const s = this.edgesBy.get(l);
    return s ? [...s] : [];
  }

  pendantsAt(l: Label): Pendant[] {
    const s = this.pendantsBy.get(l);
    return s ? [...s] : [];
  }

  hasSummed(): boolean {
    return this.live.size > 0;
  }

  addEdge(e: Edge): void {
    this.edgeSet.add(e);
    at(this.edgesBy, e.row).add(e);
    this.classify(e.row);
    if (e.row === e.col) this.loops.add(e);
    else {
      at(this.edgesBy, e.col).add(e);
      this.classify(e.col);
    }
  }

  removeEdge(e: Edge): void {
    this.edgeSet.delete(e);
    this.loops.delete(e);
    this.edgesBy.get(e.row)?.delete(e);
    this.classify(e.row);
    if (e.col !== e.row) {
      this.edgesBy.get(e.col)?.delete(e);
      this.classify(e.col);
    }
  }

  addPendant(p: Pendant): void {
    this.pendantSet.add(p);
    at(this.pendantsBy, p.label).add(p);
    this.classify(p.label);
  }

  removePendant(p: Pendant): void {
    this.pendantSet.delete(p);
    this.pendantsBy.get(p.label)?.delete(p);
    this.classify(p.label);
  }

  private classify(l: Label): void {
    if (l < this.rank) return;
    const edges = this.edgesBy.get(l)?.size ?? 0;
    const pendants = this.pendantsBy.get(l)?.size ?? 0;
    toggle(this.live, l, edges + pendants > 0);
    toggle(this.isolated, l, edges === 0 && pendants > 0);
    toggle(this.leaves, l, edges === 1);
    toggle(this.series, l, edges === 2);
  }
}

function at<T>(m: Map<Label, Set<T>>, l: Label): Set<T> {
  let s = m.get(l);
  if (!s) m.set(l, (s = new Set()));
  return s;
}

function toggle(s: Set<Label>, l: Label, on: boolean): void {
  if (on) s.add(l);
  else s.delete(l);
}

function smallest(s: ReadonlySet<Label>): Label | undefined {
  let best: Label | undefined;
  for (const l of s) if (best === undefined || l < best) best = l;
  return best;
}

/** The graph of a product; undefined where a factor has no matrix form or more than two axes. */
export function buildGraph(n: MulNode, f: Forms): ProductGraph | undefined {
  const factors = flatFactors(n, f);
  const g = new ProductGraph(n.shape.length, factors.length);
  for (const factor of factors) {
    const e = f.sub(factor.node);
    if (!e) return undefined;
    factor.labels.forEach((l, i) => g.dims.set(l, factor.node.shape[i]!));
    const [a, b] = factor.labels;
    const node = factor.node;
    const factors = FactorList.of(factor);
    if (factor.labels.length === 0) g.scalars.push({ e, node, factors, key: `n${node.id}` });
    else if (factor.labels.length === 1) g.addPendant({ e, node, factors, key: `n${node.id}`, label: a! });
    else if (factor.labels.length === 2) g.addEdge({ e, node, factors, key: `n${node.id}${a === b ? '=' : ''}`, row: a!, col: b! });
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

const otherEnd = (e: Edge, l: Label): Label => (e.row === l ? e.col : e.row);
const isEye = (e: MExpr): boolean => e.ast.kind === 'name' && e.ast.name === 'eye';
const isOnes = (p: Piece): boolean => p.node?.kind === 'const' && p.node.value === 1;

/** The edge read from `from` to the other end: M or M'. */
function orient(e: Edge, from: Label): MExpr {
  return e.row === from ? e.e : transposed(e.e);
}

/** The labels a part is read from: an edge's row and column (one label for a loop), a pendant's label. */
function endsOf(p: Part): Label[] {
  if ('row' in p) {
    const e = p as Edge;
    return e.row === e.col ? [e.row] : [e.row, e.col];
  }
  return 'label' in p ? [(p as Pendant).label] : [];
}

/** Per printer: structural keys of the pieces made so far, and what printing each as a part gave. */
interface Memo {
  readonly keys: Map<string, string>;
  readonly parts: Map<string, MExpr | undefined>;
}

const MEMOS = new WeakMap<Forms, Memo>();

function memoOf(f: Forms): Memo {
  let m = MEMOS.get(f);
  if (!m) MEMOS.set(f, (m = { keys: new Map(), parts: new Map() }));
  return m;
}

/** A new piece made of parts, with axes `axes`: its factors (joined lazily) and its structural key. */
interface Made {
  readonly factors: FactorList;
  readonly key: string;
  readonly axes: readonly Label[];
}

/**
 * The piece made of `kids` (in this order) whose axes are `axes`, the kids' other ends summed. Its
 * key lists the kids' keys and where each kid's ends go (the axes first, then the summed labels by
 * appearance); the kids' own summed labels are theirs alone, so the key fixes the factors and
 * their labels up to renaming the summed ones, which is what Forms.part identifies parts by.
 */
function pieceOf(f: Forms, kids: readonly Part[], axes: readonly Label[]): Made {
  const slot = numbering(axes);
  const desc = `${axes.length}|${kids.map((p) => `${p.key}:${endsOf(p).map(slot).join('.')}`).join(',')}`;
  const keys = memoOf(f).keys;
  let key = keys.get(desc);
  if (key === undefined) keys.set(desc, (key = `k${keys.size}`));
  return { factors: FactorList.join(kids.map((p) => p.factors)), key, axes };
}

/**
 * The form of a new piece: by reference to a node of its own while it is a part of the product,
 * else (or where that node cannot print) the form built here.
 */
function emit(g: ProductGraph, f: Forms, made: Made, direct: () => MExpr | undefined): MExpr | undefined {
  if (made.factors.count < g.size) {
    if (keyAudit.on) audit(f, made);
    const parts = memoOf(f).parts;
    let r = parts.get(made.key);
    if (r === undefined && !parts.has(made.key)) parts.set(made.key, (r = f.part(made.factors.list(), made.axes)));
    if (r) return r;
  }
  return direct();
}

/**
 * For tests: where on, every piece looked up by its structural key is checked against the first
 * piece of that key, by the product of its factors with the summed labels renamed (an interned,
 * canonical node); the keys that disagree are listed.
 */
export const keyAudit: { on: boolean; readonly mismatches: string[] } = { on: false, mismatches: [] };

const AUDITED = new WeakMap<Forms, Map<string, Node>>();

function audit(f: Forms, made: Made): void {
  let seen = AUDITED.get(f);
  if (!seen) AUDITED.set(f, (seen = new Map()));
  const node = partNode(made.factors.list(), made.axes);
  const first = seen.get(made.key);
  if (!first) seen.set(made.key, node);
  else if (first !== node) keyAudit.mismatches.push(`${made.key}: ${first.key} ≠ ${node.key}`);
}

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
  const w = ps.length > 1 ? emit(g, f, pieceOf(f, ps, [l]), () => weight(ps, f)) : weight(ps, f);
  return w && diagMatrix(w);
}

/** diag(w) of a vector w: a symmetric matrix. */
const diagMatrix = (w: MExpr): MExpr => mexpr(call('diag', w.ast), 'matrix', true);

// ---------------------------------------------------------------------------------------------
// Passes: each makes one reduction and says whether it did (undefined: a form failed to print).

type Pass = (g: ProductGraph, f: Forms) => boolean | undefined;

/** M_aa → diag(M) on a. */
export const selfLoop: Pass = (g, f) => {
  const e = first(g.loops);
  if (!e) return false;
  const made = pieceOf(f, [e], [e.row]);
  const d = emit(g, f, made, () => mexpr(call('diag', e.e.ast), 'vector'));
  if (!d) return undefined;
  g.removeEdge(e);
  g.addPendant({ e: d, factors: made.factors, key: made.key, label: e.row, diagOf: e.e });
  return true;
};

function first<T>(s: ReadonlySet<T>): T | undefined {
  for (const x of s) return x;
  return undefined;
}

/** A summed label with only pendants: a scalar. */
export const sumIsolated: Pass = (g, f) => {
  const l = smallest(g.isolated);
  if (l === undefined) return false;
  const ps = g.pendantsAt(l);
  const made = pieceOf(f, ps, []);
  const s = emit(g, f, made, () => sumOfPendants(ps, g.dims.get(l)!, f));
  if (!s) return undefined;
  for (const p of ps) g.removePendant(p);
  g.scalars.push({ e: s, factors: made.factors, key: made.key });
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
  const l = smallest(g.leaves);
  if (l === undefined) return false;
  const e = g.edgesAt(l)[0]!;
  const b = otherEnd(e, l);
  const ps = g.pendantsAt(l);
  if (ps.length === 0 && b >= g.rank && g.edgesAt(b).length === 1 && g.pendantsAt(b).length === 0) {
    const made = pieceOf(f, [e], []);
    const s = emit(g, f, made, () => mexpr(call('sum', e.e.ast), 'scalar'));
    if (!s) return undefined;
    g.removeEdge(e);
    g.scalars.push({ e: s, factors: made.factors, key: made.key });
    return true;
  }
  const made = pieceOf(f, [e, ...ps], [b]);
  const v = emit(g, f, made, () => {
    const w = ps.length > 0 ? weight(ps, f) : ONE_VECTOR(g.dims.get(l));
    return w && (isEye(e.e) ? w : times(orient(e, b), w));
  });
  if (!v) return undefined;
  g.removeEdge(e);
  for (const p of ps) g.removePendant(p);
  g.addPendant({ e: v, factors: made.factors, key: made.key, label: b });
  return true;
};

/**
 * The next label to join in series: of the summed labels between two edges, the one nearest a free
 * label (then the smallest). Chains then grow from their free ends inward, so the parts they make
 * are prefixes and suffixes (A'*diag(s)*A'…), which different terms share. A label next to a free
 * one is found among the free labels' edges; only where there is none are distances computed.
 */
function nextInSeries(g: ProductGraph): Label | undefined {
  if (g.series.size === 0) return undefined;
  let near: Label | undefined;
  for (let free = 0; free < g.rank; free++)
    for (const e of g.edgesAt(free)) {
      const o = otherEnd(e, free);
      if (g.series.has(o) && (near === undefined || o < near)) near = o;
    }
  if (near !== undefined) return near;
  const dist = new Map<Label, number>();
  let frontier: Label[] = [];
  for (let l = 0; l < g.rank; l++) {
    dist.set(l, 0);
    frontier.push(l);
  }
  while (frontier.length > 0) {
    const next: Label[] = [];
    for (const l of frontier)
      for (const e of g.edgesAt(l)) {
        const o = otherEnd(e, l);
        if (!dist.has(o)) {
          dist.set(o, dist.get(l)! + 1);
          next.push(o);
        }
      }
    frontier = next;
  }
  const far = Number.MAX_SAFE_INTEGER;
  let best: Label | undefined;
  for (const l of g.series) {
    if (best === undefined) best = l;
    else {
      const d = (dist.get(l) ?? far) - (dist.get(best) ?? far);
      if (d < 0 || (d === 0 && l < best)) best = l;
    }
  }
  return best;
}

/** A summed label between two edges: Σ_a L_ua w_a R_av = (L*diag(w)*R)_uv. */
export const joinSeries: Pass = (g, f) => {
  const l = nextInSeries(g);
  if (l === undefined) return false;
  const [e1, e2] = g.edgesAt(l) as [Edge, Edge];
  const [u, v] = [otherEnd(e1, l), otherEnd(e2, l)];
  const ps = g.pendantsAt(l);
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
  const made = pieceOf(f, [e1, e2, ...ps], [row, col]);
  // A cycle (row = col) is no matrix of its own here; its diagonal is, in the next pass.
  const direct = (): MExpr => (useBackward ? backward : forward);
  const e = row === col ? direct() : emit(g, f, made, direct);
  if (!e) return undefined;
  g.removeEdge(e1);
  g.removeEdge(e2);
  for (const p of ps) g.removePendant(p);
  g.addEdge({ e, factors: made.factors, key: made.key, row, col });
  return true;
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
    const made = pieceOf(f, [a, b], [a.row, a.col]);
    const h = emit(g, f, made, () => hadamard([a, same ? b : { e: transposed(b.e), node: undefined }], 'matrix', f));
    if (!h) return undefined;
    g.removeEdge(a);
    g.removeEdge(b);
    g.addEdge({ e: h, factors: made.factors, key: made.key, row: a.row, col: a.col });
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
  if (g.hasSummed()) return undefined;
  let main: MExpr | undefined;
  if (g.rank === 1) main = weight(g.pendantsAt(0), f);
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
  const u = g.pendantsAt(0);
  const v = g.pendantsAt(1);
  const edges = g.edges;
  if (edges.length > 1 || g.loops.size > 0) return undefined;
  const e = edges[0];
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
