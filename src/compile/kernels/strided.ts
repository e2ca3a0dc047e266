/**
 * Strided element-wise kernels: out[·] (= or +=) alpha · A[·] · B[·] over any number of labels,
 * where each tensor reaches a label through a stride (0 = broadcast along it). This one kernel is
 * Hadamard products, outer products, row and column scaling, broadcasting, transposed copies and
 * writes onto diagonals (an output stride that is the sum of two axis strides).
 *
 * The plan is built once outside the hot call; the innermost label runs as a tight loop.
 */

export interface StridedPlan {
  /** Extent of each loop label, outermost first; the last is run as the inner loop. */
  readonly dims: Int32Array;
  readonly out: Int32Array;
  /** Strides of the operands (zero, one or two of them). */
  readonly ops: readonly Int32Array[];
  /** Odometer scratch owned by the plan. */
  readonly counters: Int32Array;
}

/**
 * A plan over labels with the given extents and per-label strides. The label with the smallest
 * output stride becomes the inner loop.
 */
export function makeStridedPlan(dims: readonly number[], out: readonly number[], ops: readonly (readonly number[])[]): StridedPlan {
  const order = dims.map((_, i) => i);
  // Outer labels by decreasing output stride; the unit-stride label innermost.
  order.sort((a, b) => Math.abs(out[b]!) - Math.abs(out[a]!) || Math.abs(ops[0]?.[b] ?? 0) - Math.abs(ops[0]?.[a] ?? 0));
  const pick = (xs: readonly number[]): Int32Array => Int32Array.from(order.map((i) => xs[i]!));
  return {
    dims: pick(dims),
    out: pick(out),
    ops: ops.map(pick),
    counters: new Int32Array(dims.length),
  };
}

/** out (= or +=) alpha · Π operands, element by element over the plan's labels. */
export function stridedMul(
  plan: StridedPlan,
  out: Float64Array,
  outOff: number,
  ops: readonly Float64Array[],
  offs: readonly number[],
  alpha: number,
  accumulate: boolean,
): void {
  const L = plan.dims.length;
  const nOps = plan.ops.length;
  if (L === 0) {
    let v = alpha;
    for (let k = 0; k < nOps; k++) v *= ops[k]![offs[k]!]!;
    out[outOff] = accumulate ? out[outOff]! + v : v;
    return;
  }
  for (let l = 0; l < L; l++) if (plan.dims[l] === 0) return;
  const dims = plan.dims;
  const os = plan.out;
  const cnt = plan.counters;
  const A = nOps > 0 ? ops[0]! : out;
  const B = nOps > 1 ? ops[1]! : out;
  const as = nOps > 0 ? plan.ops[0]! : os;
  const bs = nOps > 1 ? plan.ops[1]! : os;
  const last = L - 1;
  const n = dims[last]!;
  const oi = os[last]!;
  const ai = nOps > 0 ? as[last]! : 0;
  const bi = nOps > 1 ? bs[last]! : 0;
  let o = outOff;
  let a = nOps > 0 ? offs[0]! : 0;
  let b = nOps > 1 ? offs[1]! : 0;
  for (let l = 0; l < L; l++) cnt[l] = 0;
  for (;;) {
    // Inner run.
    if (nOps === 2) {
      if (accumulate) for (let i = 0, po = o, pa = a, pb = b; i < n; i++, po += oi, pa += ai, pb += bi) out[po] += alpha * A[pa]! * B[pb]!;
      else for (let i = 0, po = o, pa = a, pb = b; i < n; i++, po += oi, pa += ai, pb += bi) out[po] = alpha * A[pa]! * B[pb]!;
    } else if (nOps === 1) {
      if (accumulate) for (let i = 0, po = o, pa = a; i < n; i++, po += oi, pa += ai) out[po] += alpha * A[pa]!;
      else for (let i = 0, po = o, pa = a; i < n; i++, po += oi, pa += ai) out[po] = alpha * A[pa]!;
    } else {
      if (accumulate) for (let i = 0, po = o; i < n; i++, po += oi) out[po] += alpha;
      else for (let i = 0, po = o; i < n; i++, po += oi) out[po] = alpha;
    }
    // Odometer over the outer labels.
    let l = last - 1;
    while (l >= 0) {
      cnt[l]!++;
      o += os[l]!;
      if (nOps > 0) a += as[l]!;
      if (nOps > 1) b += bs[l]!;
      if (cnt[l]! < dims[l]!) break;
      const back = cnt[l]!;
      cnt[l] = 0;
      o -= back * os[l]!;
      if (nOps > 0) a -= back * as[l]!;
      if (nOps > 1) b -= back * bs[l]!;
      l--;
    }
    if (l < 0) return;
  }
}

/** Tile edge for the blocked transposed update. */
const TILE = 32;

/** C(m×n) = alpha · A' + beta · C, A stored n×m (lda), C m×n (ldc); beta = 0 does not read C. */
export function transposeUpdate(
  m: number,
  n: number,
  alpha: number,
  A: Float64Array,
  aOff: number,
  lda: number,
  beta: number,
  C: Float64Array,
  cOff: number,
  ldc: number,
): void {
  for (let i0 = 0; i0 < m; i0 += TILE) {
    const i1 = Math.min(m, i0 + TILE);
    for (let j0 = 0; j0 < n; j0 += TILE) {
      const j1 = Math.min(n, j0 + TILE);
      for (let i = i0; i < i1; i++) {
        const c = cOff + i * ldc;
        if (beta === 0) for (let j = j0, a = aOff + j0 * lda + i; j < j1; j++, a += lda) C[c + j] = alpha * A[a]!;
        else if (beta === 1) for (let j = j0, a = aOff + j0 * lda + i; j < j1; j++, a += lda) C[c + j] += alpha * A[a]!;
        else for (let j = j0, a = aOff + j0 * lda + i; j < j1; j++, a += lda) C[c + j] = beta * C[c + j]! + alpha * A[a]!;
      }
    }
  }
}
