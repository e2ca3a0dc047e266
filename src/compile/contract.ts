/**
 * Products (einsum-style `mul` nodes) to kernel calls.
 *
 *   out[o] (= or +=) alpha · Σ_summed Π_f factor_f[labels_f]
 *
 * 1. Deltas whose labels are both free merge two output strides (a write onto a diagonal); a vector
 *    of ones on a free label is a broadcast; scalar factors multiply alpha at run time.
 * 2. X'·diag(d)·X patterns (two copies of one matrix sharing a summed row label, with vectors on
 *    it) go to the symmetric kernel, which computes one triangle and mirrors it.
 * 3. Otherwise factors are contracted pairwise, cheapest intermediate first (greedy), each pair by
 *    the best kernel its index pattern allows: dot, gemv, gemm (operands viewed as matrices
 *    through their strides, transposed where that is free), the strided element-wise kernel for
 *    Hadamard/outer/broadcast products, and the generic einsum for whatever remains.
 */
import type { Factor, Node, NodeOf } from '../ir/node.js';
import { delta as deltaNode } from '../ir/node.js';
import { sizeOf } from '../tensor.js';
import {
  dot,
  einsum,
  gemm,
  gemv,
  makeEinsumPlan,
  makeStridedPlan,
  stridedMul,
  transposeUpdate,
  xdxt,
  xtdx,
} from './kernels/index.js';
import { type PlanContext, type Slot, rowMajorStrides } from './plan.js';
import { inlinedFactors } from './nested.js';

/** Where a product writes: a buffer, an offset and one stride per output axis. */
export interface Target {
  readonly slot: Slot;
  readonly off: number;
  readonly strides: readonly number[];
  /** The buffer is new (all zeros) when this write runs: nothing needs clearing first. */
  readonly fresh?: boolean;
}

/** A tensor addressed through one stride per distinct label. */
interface View {
  readonly slot: Slot;
  readonly off: number;
  readonly labels: number[];
  readonly strides: number[];
}

type Alpha = () => number;

function strideOf(v: View, l: number): number {
  const i = v.labels.indexOf(l);
  return i < 0 ? 0 : v.strides[i]!;
}

/** Plans `target (= or +=) alpha · mul` (a delta node is the product δ_ij). */
export function planMul(ctx: PlanContext, node: Node, target: Target, alpha: number, accumulate: boolean): void {
  const own: Factor[] = node.kind === 'mul' ? [...node.factors] : [{ node, labels: node.shape.map((_, i) => i) }];
  // Nested products that this one reads in (nested.ts) are factors of it here.
  const factors = inlinedFactors(own, ctx.inlined);
  const m: NodeOf<'mul'> =
    node.kind === 'mul' && factors.length === own.length
      ? node
      : ({ kind: 'mul', factors, nlabels: Math.max(node.shape.length, ...factors.flatMap((f) => f.labels.map((l) => l + 1))), shape: node.shape } as unknown as NodeOf<'mul'>);
  const rank = m.shape.length;
  const spread = m.factors.findIndex((f) => ctx.distributed.has(f.node));
  if (spread >= 0) {
    // Σ_t c_t (… term_t …): one product per term of the sum, all written into the target.
    const sum = m.factors[spread]!;
    const next = Math.max(m.nlabels, ...m.factors.flatMap((f) => f.labels)) + 1;
    (sum.node as NodeOf<'add'>).terms.forEach((t, k) => {
      const inner: Factor[] =
        t.node.kind === 'mul'
          ? t.node.factors.map((g) => ({ node: g.node, labels: g.labels.map((l) => (l < t.node.shape.length ? sum.labels[l]! : next + l)) }))
          : [{ node: t.node, labels: [...sum.labels] }];
      const factors = [...m.factors.slice(0, spread), ...inner, ...m.factors.slice(spread + 1)];
      const nlabels = Math.max(...factors.flatMap((f) => f.labels)) + 1;
      const part = { kind: 'mul', factors, nlabels, shape: m.shape } as unknown as NodeOf<'mul'>;
      planMul(ctx, part, k === 0 ? target : { ...target, fresh: false }, alpha * t.coef, accumulate || k > 0);
    });
    return;
  }
  const size = new Map<number, number>();
  for (const f of m.factors) f.labels.forEach((l, i) => size.set(l, ctx.sizes.get(f.node.shape[i]!)!));

  let alphaStatic = alpha;
  const scalars: Slot[] = [];
  const views: View[] = [];
  const rename = new Map<number, number>();
  const outStride = new Map<number, number>();
  for (let l = 0; l < rank; l++) outStride.set(l, target.strides[l]!);
  let diagonal = false;
  const resolve = (l: number): number => {
    while (rename.has(l)) l = rename.get(l)!;
    return l;
  };

  alphaStatic *= onesOnlyCount(m, rank, size);

  for (const f of m.factors) {
    const n = f.node;
    if (n.kind === 'delta') {
      const [a, b] = f.labels.map(resolve) as [number, number];
      if (a < rank && b < rank && a !== b) {
        // δ_ab with both free: the output is zero off the diagonal a = b.
        rename.set(b, a);
        outStride.set(a, outStride.get(a)! + outStride.get(b)!);
        outStride.delete(b);
        diagonal = true;
        continue;
      }
    }
    if (n.kind === 'const' && n.value === 1) continue; // all-ones: counted below, never materialised
    if (n.shape.length === 0) {
      scalars.push(ctx.slot(n));
      continue;
    }
    const slot = n.kind === 'delta' ? identitySlot(ctx, n) : ctx.slot(n);
    const axisStrides = rowMajorStrides(ctx.shape(n));
    const labels: number[] = [];
    const strides: number[] = [];
    f.labels.forEach((l, i) => {
      const k = labels.indexOf(l);
      if (k >= 0) strides[k] += axisStrides[i]!;
      else {
        labels.push(l);
        strides.push(axisStrides[i]!);
      }
    });
    views.push({ slot, off: 0, labels, strides });
  }
  // Apply the renames of merged delta labels to the operands.
  for (const v of views) {
    for (let i = 0; i < v.labels.length; i++) v.labels[i] = resolve(v.labels[i]!);
    // Two labels that became one are one axis with the summed stride.
    for (let i = v.labels.length - 1; i >= 0; i--) {
      const k = v.labels.indexOf(v.labels[i]!);
      if (k < i) {
        v.strides[k] += v.strides[i]!;
        v.labels.splice(i, 1);
        v.strides.splice(i, 1);
      }
    }
  }

  const alphaFn: Alpha =
    scalars.length === 0
      ? () => alphaStatic
      : () => {
          let a = alphaStatic;
          for (const s of scalars) a *= s.buf[0]!;
          return a;
        };

  const outLabels = [...outStride.keys()];
  // Extent of the target region: the last entry's offset + 1.
  const fullSize = target.strides.reduce((acc, s, i) => acc + s * (ctx.sizes.get(m.shape[i]!)! - 1), 0) + 1;
  if (diagonal && !accumulate) {
    // Off-diagonal entries are zero (a fresh result buffer already is).
    const t = target;
    const n = fullSize;
    if (!t.fresh) ctx.steps.push(() => t.slot.buf.fill(0, t.off, t.off + n));
    else ctx.reliesOnZeros.add(t.slot);
    accumulate = true;
  }

  const used = new Set(views.flatMap((v) => v.labels));
  const broadcast = outLabels.filter((l) => !used.has(l));
  const core = outLabels.filter((l) => used.has(l));
  if (broadcast.length === 0) {
    contract(ctx, views, { slot: target.slot, off: target.off, labels: core, strides: core.map((l) => outStride.get(l)!) }, size, alphaFn, accumulate);
    return;
  }
  // Compute the part that varies, then copy it along the broadcast labels.
  const coreShape = core.map((l) => size.get(l)!);
  const tmp = ctx.pool.take(Math.max(1, sizeOf(coreShape)));
  ctx.temps.push(tmp);
  const tmpSlot: Slot = { buf: tmp };
  const tmpStrides = rowMajorStrides(coreShape);
  contract(ctx, views, { slot: tmpSlot, off: 0, labels: core, strides: tmpStrides }, size, alphaFn, false);
  const all = [...core, ...broadcast];
  const plan = makeStridedPlan(
    all.map((l) => size.get(l)!),
    all.map((l) => outStride.get(l)!),
    [all.map((l) => (core.includes(l) ? tmpStrides[core.indexOf(l)]! : 0))],
  );
  const t = target;
  const acc = accumulate;
  ctx.steps.push(() => stridedMul(plan, t.slot.buf, t.off, [tmpSlot.buf], [0], 1, acc));
}

/**
 * All-ones factors are never materialised, so the labels they carry drop out of the loops. A
 * summed label that only all-ones factors carry (one or several, and once or twice on one factor:
 * tr(1·1ᵀ) = Σ_i 1_i 1_i = n) still sums n equal terms: it contributes the factor n, once per label.
 * A free label carried only by ones is a broadcast (handled by the caller).
 */
function onesOnlyCount(m: NodeOf<'mul'>, rank: number, size: ReadonlyMap<number, number>): number {
  const isOnes = (n: Node): boolean => n.kind === 'const' && n.value === 1;
  const carriedByOther = new Set<number>();
  const carriedByOnes = new Set<number>();
  for (const f of m.factors) for (const l of f.labels) (isOnes(f.node) ? carriedByOnes : carriedByOther).add(l);
  let count = 1;
  for (const l of carriedByOnes) if (l >= rank && !carriedByOther.has(l)) count *= size.get(l)!;
  return count;
}

function identitySlot(ctx: PlanContext, n: Node): Slot {
  const d = ctx.sizes.get(n.shape[0]!)!;
  const buf = new Float64Array(d * d);
  for (let i = 0; i < d; i++) buf[i * d + i] = 1;
  void deltaNode;
  return { buf };
}

/** target (= or +=) alpha · Σ Π views; the target's labels are all carried by some view. */
function contract(ctx: PlanContext, views: View[], target: View, size: ReadonlyMap<number, number>, alpha: Alpha, accumulate: boolean): void {
  if (views.length === 0) {
    const plan = makeStridedPlan(target.labels.map((l) => size.get(l)!), target.strides, []);
    ctx.steps.push(() => stridedMul(plan, target.slot.buf, target.off, [], [], alpha(), accumulate));
    return;
  }
  if (trySymmetricProduct(ctx, views, target, size, alpha, accumulate)) return;
  let ops = [...views];
  while (ops.length > 2) {
    const [i, j] = cheapestPair(ops, target, size);
    const a = ops[i]!;
    const b = ops[j]!;
    const rest = ops.filter((_, k) => k !== i && k !== j);
    const keep = new Set([...target.labels, ...rest.flatMap((v) => v.labels)]);
    const labels = [...a.labels, ...b.labels.filter((l) => !a.labels.includes(l))].filter((l) => keep.has(l));
    const shape = labels.map((l) => size.get(l)!);
    const buf = ctx.pool.take(Math.max(1, sizeOf(shape)));
    ctx.temps.push(buf);
    const tmp: View = { slot: { buf }, off: 0, labels, strides: rowMajorStrides(shape) };
    binary(ctx, a, b, tmp, size, () => 1, false);
    ops = [...rest, tmp];
  }
  if (ops.length === 2) binary(ctx, ops[0]!, ops[1]!, target, size, alpha, accumulate);
  else unary(ctx, ops[0]!, target, size, alpha, accumulate);
}

/** The pair whose intermediate result is smallest (ties: the pair that shares labels). */
function cheapestPair(ops: readonly View[], target: View, size: ReadonlyMap<number, number>): [number, number] {
  let best: [number, number] = [0, 1];
  let bestCost = Infinity;
  for (let i = 0; i < ops.length; i++)
    for (let j = i + 1; j < ops.length; j++) {
      const rest = ops.filter((_, k) => k !== i && k !== j);
      const keep = new Set([...target.labels, ...rest.flatMap((v) => v.labels)]);
      const union = new Set([...ops[i]!.labels, ...ops[j]!.labels]);
      let cost = 1;
      let work = 1;
      for (const l of union) {
        work *= size.get(l)!;
        if (keep.has(l)) cost *= size.get(l)!;
      }
      const shares = ops[i]!.labels.some((l) => ops[j]!.labels.includes(l));
      const score = cost + work * 1e-9 + (shares ? 0 : 0.5);
      if (score < bestCost) {
        bestCost = score;
        best = [i, j];
      }
    }
  return best;
}

/**
 * X'·diag(d)·X: two views of one buffer with the same strides, sharing a summed label k, with
 * their other labels free, and any vectors on k. One triangle is computed and mirrored.
 */
function trySymmetricProduct(ctx: PlanContext, views: View[], target: View, size: ReadonlyMap<number, number>, alpha: Alpha, accumulate: boolean): boolean {
  const mats = views.filter((v) => v.labels.length === 2);
  if (mats.length !== 2 || target.labels.length !== 2) return false;
  const [p, q] = mats as [View, View];
  if (p.slot !== q.slot || p.off !== q.off) return false;
  const k = p.labels.find((l) => q.labels.includes(l) && strideOf(p, l) === strideOf(q, l) && !target.labels.includes(l));
  if (k === undefined) return false;
  const a = p.labels.find((l) => l !== k)!;
  const b = q.labels.find((l) => l !== k)!;
  if (a === b || !target.labels.includes(a) || !target.labels.includes(b) || strideOf(p, a) !== strideOf(q, b)) return false;
  const vecs = views.filter((v) => v.labels.length === 1);
  if (vecs.length + 2 !== views.length || vecs.some((v) => v.labels[0] !== k)) return false;
  // C[a, b] must be a plain matrix (either orientation: the result is symmetric).
  const ca = strideOf(target, a);
  const cb = strideOf(target, b);
  let ldc: number;
  if (cb === 1) ldc = ca;
  else if (ca === 1) ldc = cb;
  else return false;
  const mk = size.get(k)!;
  const na = size.get(a)!;
  if (accumulate) {
    // The symmetric kernels mirror one triangle, so they cannot add onto a target that is not
    // symmetric: compute into a temporary and add that.
    const buf = ctx.pool.take(na * na);
    ctx.temps.push(buf);
    const tmp: View = { slot: { buf }, off: 0, labels: [a, b], strides: [na, 1] };
    if (!trySymmetricProduct(ctx, views, tmp, size, alpha, false)) return false;
    unary(ctx, tmp, target, size, () => 1, true);
    return true;
  }
  // d = Π vectors (contiguous), or none.
  let d: Slot | null = null;
  if (vecs.length === 1 && strideOf(vecs[0]!, k) === 1) d = vecs[0]!.slot;
  else if (vecs.length > 0) {
    const buf = ctx.pool.take(mk);
    ctx.temps.push(buf);
    d = { buf };
    const dv: View = { slot: d, off: 0, labels: [k], strides: [1] };
    let acc: View = vecs[0]!;
    for (const v of vecs.slice(1)) {
      binary(ctx, acc, v, dv, size, () => 1, false);
      acc = dv;
    }
    if (vecs.length === 1) unary(ctx, acc, dv, size, () => 1, false);
  }
  const dOff = d === vecs[0]?.slot && vecs.length === 1 ? vecs[0]!.off : 0;
  const sk = strideOf(p, k);
  const sa = strideOf(p, a);
  const X = p.slot;
  const t = target;
  if (sa === 1) {
    // X stored with rows k: C = X' D X.
    ctx.steps.push(() => xtdx(mk, na, X.buf, p.off, sk, d ? d.buf : null, dOff, alpha(), accumulate ? 1 : 0, t.slot.buf, t.off, ldc));
    return true;
  }
  if (sk === 1) {
    // X stored with rows a: C = X D X'.
    ctx.steps.push(() => xdxt(na, mk, X.buf, p.off, sa, d ? d.buf : null, dOff, alpha(), accumulate ? 1 : 0, t.slot.buf, t.off, ldc));
    return true;
  }
  return false;
}

/** A group of labels as one matrix axis: its size and stride, if the labels are contiguous. */
function fuse(v: View, labels: readonly number[], size: ReadonlyMap<number, number>): { n: number; s: number } | undefined {
  const ls = labels.filter((l) => size.get(l)! !== 1);
  if (ls.length === 0) return { n: 1, s: 0 };
  const sorted = [...ls].sort((x, y) => strideOf(v, y) - strideOf(v, x));
  for (let i = 0; i + 1 < sorted.length; i++)
    if (strideOf(v, sorted[i]!) !== strideOf(v, sorted[i + 1]!) * size.get(sorted[i + 1]!)!) return undefined;
  let n = 1;
  for (const l of ls) n *= size.get(l)!;
  return { n, s: strideOf(v, sorted[sorted.length - 1]!) };
}

/** Fused groups must enumerate their labels in the same order in both views. */
function sameOrder(u: View, v: View, labels: readonly number[], size: ReadonlyMap<number, number>): boolean {
  const ls = labels.filter((l) => size.get(l)! !== 1);
  const ou = [...ls].sort((x, y) => strideOf(u, y) - strideOf(u, x));
  const ov = [...ls].sort((x, y) => strideOf(v, y) - strideOf(v, x));
  return ou.every((l, i) => l === ov[i]);
}

/** A rows × cols matrix with the given strides as a gemm operand, or undefined. */
function asMatrix(rows: { n: number; s: number }, cols: { n: number; s: number }): { trans: boolean; ld: number } | undefined {
  if (cols.s === 1 || cols.n === 1) return { trans: false, ld: rows.n === 1 ? Math.max(cols.n, 1) : rows.s };
  if (rows.s === 1 || rows.n === 1) return { trans: true, ld: cols.n === 1 ? Math.max(rows.n, 1) : cols.s };
  return undefined;
}

function binary(ctx: PlanContext, a: View, b: View, c: View, size: ReadonlyMap<number, number>, alpha: Alpha, accumulate: boolean): void {
  const all = [...new Set([...a.labels, ...b.labels])];
  const inC = (l: number) => c.labels.includes(l);
  const contracted = all.filter((l) => a.labels.includes(l) && b.labels.includes(l) && !inC(l));
  const lonely = all.filter((l) => !inC(l) && !(a.labels.includes(l) && b.labels.includes(l)));
  const batch = all.filter((l) => a.labels.includes(l) && b.labels.includes(l) && inC(l));
  if (contracted.length === 0 && lonely.length === 0) {
    // Element-wise with broadcasting: Hadamard, outer products, scaling.
    const labels = c.labels;
    const plan = makeStridedPlan(
      labels.map((l) => size.get(l)!),
      labels.map((l) => strideOf(c, l)),
      [labels.map((l) => strideOf(a, l)), labels.map((l) => strideOf(b, l))],
    );
    ctx.steps.push(() => stridedMul(plan, c.slot.buf, c.off, [a.slot.buf, b.slot.buf], [a.off, b.off], alpha(), accumulate));
    return;
  }
  if (lonely.length > 0) {
    // A label only one operand carries is summed out of that operand first: Σ_l A[i,j] B[l,k]
    // is A[i,j] · (Σ_l B[l,k]), one pass over B instead of one per entry of the result.
    binary(ctx, sumOut(ctx, a, lonely, size), sumOut(ctx, b, lonely, size), c, size, alpha, accumulate);
    return;
  }
  if (batch.length === 0 && tryBlas(ctx, a, b, c, contracted, size, alpha, accumulate)) return;
  if (batch.length > 0 && shortContraction(ctx, a, b, c, contracted, size, alpha, accumulate)) return;
  generic(ctx, [a, b], c, size, alpha, accumulate);
}

/** Batched products whose contracted labels span at most this many entries run as element-wise sums. */
const SHORT_CONTRACTION = 16;

/**
 * c[I] (= or +=) alpha · Σ_K a[·] b[·] where K spans few entries (row-wise dot products of two
 * n×2 matrices, say: diag(W*W')): the element-wise kernel adding into c along K (an output
 * stride of 0), after zeroing c unless the product adds to it. The generic einsum interprets
 * such a product entry by entry: 19–24 µs for 1000 dots of two, timed step by step inside the MDS
 * Hessian's plans, where these steps then took under 5.4 µs each. false where K is long.
 */
function shortContraction(ctx: PlanContext, a: View, b: View, c: View, K: readonly number[], size: ReadonlyMap<number, number>, alpha: Alpha, accumulate: boolean): boolean {
  if (K.reduce((p, l) => p * size.get(l)!, 1) > SHORT_CONTRACTION) return false;
  const labels = [...c.labels, ...K];
  const outStrides = labels.map((l) => (K.includes(l) ? 0 : strideOf(c, l)));
  const plan = makeStridedPlan(
    labels.map((l) => size.get(l)!),
    outStrides,
    [labels.map((l) => strideOf(a, l)), labels.map((l) => strideOf(b, l))],
  );
  if (!accumulate) {
    const zero = makeStridedPlan(
      c.labels.map((l) => size.get(l)!),
      c.labels.map((l) => strideOf(c, l)),
      [],
    );
    ctx.steps.push(() => stridedMul(zero, c.slot.buf, c.off, [], [], 0, false));
  }
  ctx.steps.push(() => stridedMul(plan, c.slot.buf, c.off, [a.slot.buf, b.slot.buf], [a.off, b.off], alpha(), true));
  return true;
}

/** The view summed over those of `labels` it carries (itself when it carries none), in a pooled temporary. */
function sumOut(ctx: PlanContext, v: View, labels: readonly number[], size: ReadonlyMap<number, number>): View {
  if (!v.labels.some((l) => labels.includes(l))) return v;
  const keep = v.labels.filter((l) => !labels.includes(l));
  const shape = keep.map((l) => size.get(l)!);
  const buf = ctx.pool.take(Math.max(1, sizeOf(shape)));
  ctx.temps.push(buf);
  const tmp: View = { slot: { buf }, off: 0, labels: keep, strides: rowMajorStrides(shape) };
  generic(ctx, [v], tmp, size, () => 1, false);
  return tmp;
}

/** dot, gemv or gemm, when the operands are matrices through their strides. */
function tryBlas(ctx: PlanContext, a: View, b: View, c: View, K: number[], size: ReadonlyMap<number, number>, alpha: Alpha, accumulate: boolean): boolean {
  const I = a.labels.filter((l) => !K.includes(l));
  const J = b.labels.filter((l) => !K.includes(l));
  if (!sameOrder(a, b, K, size) || !sameOrder(a, c, I, size) || !sameOrder(b, c, J, size)) return false;
  const aI = fuse(a, I, size);
  const aK = fuse(a, K, size);
  const bK = fuse(b, K, size);
  const bJ = fuse(b, J, size);
  const cI = fuse(c, I, size);
  const cJ = fuse(c, J, size);
  if (!aI || !aK || !bK || !bJ || !cI || !cJ) return false;
  const beta = accumulate ? 1 : 0;
  const A = a.slot;
  const B = b.slot;
  const C = c.slot;
  if (aI.n === 1 && bJ.n === 1) {
    const n = aK.n;
    ctx.steps.push(() => {
      const v = alpha() * dot(n, A.buf, a.off, aK.s, B.buf, b.off, bK.s);
      C.buf[c.off] = accumulate ? C.buf[c.off]! + v : v;
    });
    return true;
  }
  if (bJ.n === 1) {
    // y(I) = A(I×K) x(K)
    const am = asMatrix(aI, aK);
    if (!am) return false;
    ctx.steps.push(
      am.trans
        ? () => gemv(true, aK.n, aI.n, alpha(), A.buf, a.off, am.ld, B.buf, b.off, bK.s, beta, C.buf, c.off, cI.s)
        : () => gemv(false, aI.n, aK.n, alpha(), A.buf, a.off, am.ld, B.buf, b.off, bK.s, beta, C.buf, c.off, cI.s),
    );
    return true;
  }
  if (aI.n === 1) {
    // y(J) = B(K×J)' x(K)
    const bm = asMatrix(bK, bJ);
    if (!bm) return false;
    ctx.steps.push(
      bm.trans
        ? () => gemv(false, bJ.n, bK.n, alpha(), B.buf, b.off, bm.ld, A.buf, a.off, aK.s, beta, C.buf, c.off, cJ.s)
        : () => gemv(true, bK.n, bJ.n, alpha(), B.buf, b.off, bm.ld, A.buf, a.off, aK.s, beta, C.buf, c.off, cJ.s),
    );
    return true;
  }
  const am = asMatrix(aI, aK);
  const bm = asMatrix(bK, bJ);
  if (!am || !bm) return false;
  const m = aI.n;
  const n = bJ.n;
  const k = aK.n;
  if (cJ.s === 1 || n === 1) {
    const ldc = m === 1 ? Math.max(n, 1) : cI.s;
    ctx.steps.push(() => gemm(am.trans, bm.trans, m, n, k, alpha(), A.buf, a.off, am.ld, B.buf, b.off, bm.ld, beta, C.buf, c.off, ldc));
    return true;
  }
  if (cI.s === 1) {
    // C' (n×m) = op(B)' op(A)'
    const ldc = cJ.s;
    ctx.steps.push(() => gemm(!bm.trans, !am.trans, n, m, k, alpha(), B.buf, b.off, bm.ld, A.buf, a.off, am.ld, beta, C.buf, c.off, ldc));
    return true;
  }
  return false;
}

function unary(ctx: PlanContext, a: View, c: View, size: ReadonlyMap<number, number>, alpha: Alpha, accumulate: boolean): void {
  const sameLabels = a.labels.length === c.labels.length && a.labels.every((l) => c.labels.includes(l));
  if (sameLabels) {
    if (a.labels.length === 2) {
      const [i, j] = c.labels as [number, number];
      // C[i,j] = A[j,i] with both contiguous: the blocked transposed update.
      if (strideOf(c, j) === 1 && strideOf(a, i) === 1 && strideOf(a, j) !== 1) {
        const m = size.get(i)!;
        const n = size.get(j)!;
        const lda = strideOf(a, j);
        const ldc = strideOf(c, i);
        ctx.steps.push(() => transposeUpdate(m, n, alpha(), a.slot.buf, a.off, lda, accumulate ? 1 : 0, c.slot.buf, c.off, ldc));
        return;
      }
    }
    const labels = c.labels;
    const plan = makeStridedPlan(
      labels.map((l) => size.get(l)!),
      labels.map((l) => strideOf(c, l)),
      [labels.map((l) => strideOf(a, l))],
    );
    ctx.steps.push(() => stridedMul(plan, c.slot.buf, c.off, [a.slot.buf], [a.off], alpha(), accumulate));
    return;
  }
  if (rowSums(ctx, a, c, size, alpha, accumulate)) return;
  generic(ctx, [a], c, size, alpha, accumulate);
}

/**
 * C[i] = Σ_k A[i,k] (or Σ_k A[k,i]) as gemv with a vector of ones: the generic einsum walks A
 * entry by entry through its strides (≈ 0.9 ms for the row sums of a 1000×1000 matrix, MDS);
 * gemv reads it in streams, on the WebAssembly thin kernel when A is large. false where A is
 * not a matrix with one contiguous axis.
 */
function rowSums(ctx: PlanContext, a: View, c: View, size: ReadonlyMap<number, number>, alpha: Alpha, accumulate: boolean): boolean {
  if (a.labels.length !== 2 || c.labels.length !== 1 || new Set(a.labels).size !== 2) return false;
  const i = c.labels[0]!;
  const k = a.labels.find((l) => l !== i)!;
  if (!a.labels.includes(i)) return false;
  const rows = { n: size.get(i)!, s: strideOf(a, i) };
  const cols = { n: size.get(k)!, s: strideOf(a, k) };
  const am = asMatrix(rows, cols);
  if (!am || rows.n === 0) return false;
  const ones = new Float64Array(cols.n).fill(1);
  const incy = strideOf(c, i);
  const beta = accumulate ? 1 : 0;
  const A = a.slot;
  const C = c.slot;
  ctx.steps.push(
    am.trans
      ? () => gemv(true, cols.n, rows.n, alpha(), A.buf, a.off, am.ld, ones, 0, 1, beta, C.buf, c.off, incy)
      : () => gemv(false, rows.n, cols.n, alpha(), A.buf, a.off, am.ld, ones, 0, 1, beta, C.buf, c.off, incy),
  );
  return true;
}

/** The generic strided einsum (traces, diagonals, batched contractions, order-3/4 patterns). */
function generic(ctx: PlanContext, ops: View[], c: View, size: ReadonlyMap<number, number>, alpha: Alpha, accumulate: boolean): void {
  const sizes = new Map<number, number>();
  for (const v of [...ops, c]) for (const l of v.labels) sizes.set(l, size.get(l)!);
  const plan = makeEinsumPlan(
    ops.map((v) => v.labels),
    c.labels,
    sizes,
    ops.map((v) => v.strides),
    c.strides,
  );
  const bufs = ops.map((v) => v.slot);
  const offs = ops.map((v) => v.off);
  ctx.steps.push(() => einsum(plan, bufs.map((s) => s.buf), offs, c.slot.buf, c.off, alpha(), accumulate));
}
