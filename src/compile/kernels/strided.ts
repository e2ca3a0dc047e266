/**
 * Strided element-wise kernels: out[·] (= or +=) alpha · A[·] · B[·] over any number of labels,
 * where each tensor reaches a label through a stride (0 = broadcast along it). This one kernel is
 * Hadamard products, outer products, row and column scaling, broadcasting, transposed copies and
 * writes onto diagonals (an output stride that is the sum of two axis strides).
 *
 * The plan is built once outside the hot call: labels of extent 1 are dropped, labels are ordered
 * by decreasing output stride, and neighbours that address memory as one label (for the output
 * and every operand) are merged, so a contiguous run is one long loop. The two innermost labels
 * run as plain nested loops (an innermost extent of 2 — a d = 2 axis, say — unrolled), and only
 * the labels outside them step an odometer: no per-element index arithmetic beyond two strides.
 * Measured on a 1000×2×1000×2 outer product: 52 ms with the odometer on the innermost label
 * alone, 4.6 ms with the two-level inner block. Where the inner block would be small (a
 * 1000×2×2 output: 1000 calls of a 2×2 block) and an outer label long, that label becomes the
 * block's outer loop instead (2 calls of 1000×2; the MDS Hessian's 2×2 blocks, timed step by step
 * inside its plans: 26–35 → ≈ 18 µs).
 */

export interface StridedPlan {
  /** Extent of each loop label, outermost first; the last two run as the inner block. */
  readonly dims: Int32Array;
  readonly out: Int32Array;
  /** Strides of the operands (zero, one or two of them). */
  readonly ops: readonly Int32Array[];
  /** Odometer scratch owned by the plan. */
  readonly counters: Int32Array;
  /** The output has no entries (some extent is 0). */
  readonly empty: boolean;
}

/** A plan over labels with the given extents and per-label strides (see the module comment). */
export function makeStridedPlan(dims: readonly number[], out: readonly number[], ops: readonly (readonly number[])[]): StridedPlan {
  const empty = dims.some((d) => d === 0);
  const order = dims.map((_, i) => i).filter((i) => dims[i] !== 1);
  // Outer labels by decreasing output stride; the unit-stride label innermost.
  order.sort((a, b) => Math.abs(out[b]!) - Math.abs(out[a]!) || Math.abs(ops[0]?.[b] ?? 0) - Math.abs(ops[0]?.[a] ?? 0));
  const D: number[] = [];
  const O: number[] = [];
  const P: number[][] = ops.map(() => []);
  for (const i of order) {
    const k = D.length - 1;
    // Merge label i into the previous (outer) one when both step through memory as one label.
    const merges = k >= 0 && O[k] === out[i]! * dims[i]! && ops.every((s, q) => P[q]![k] === s[i]! * dims[i]!);
    if (merges) {
      D[k] *= dims[i]!;
      O[k] = out[i]!;
      ops.forEach((s, q) => (P[q]![k] = s[i]!));
    } else {
      D.push(dims[i]!);
      O.push(out[i]!);
      ops.forEach((s, q) => P[q]!.push(s[i]!));
    }
  }
  longInner(D, O, P);
  return { dims: Int32Array.from(D), out: Int32Array.from(O), ops: P.map((p) => Int32Array.from(p)), counters: new Int32Array(D.length), empty };
}

/** Inner blocks of fewer entries than this take the longest outer label as their outer loop. */
const SMALL_BLOCK = 32;

/**
 * Where the inner block (the last two labels) is small and an outer label is longer than its
 * outer loop, move that label there (in place). Only where every output stride is nonzero: each
 * entry is then written once, in any order.
 */
function longInner(D: number[], O: number[], P: number[][]): void {
  const L = D.length;
  if (L < 3 || D[L - 1]! * D[L - 2]! >= SMALL_BLOCK || O.some((o) => o === 0)) return;
  let m = 0;
  for (let l = 1; l < L - 2; l++) if (D[l]! > D[m]!) m = l;
  if (D[m]! <= D[L - 2]!) return;
  for (const xs of [D, O, ...P]) xs.splice(L - 2, 0, xs.splice(m, 1)[0]!);
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
  if (plan.empty) return;
  const L = plan.dims.length;
  const nOps = plan.ops.length;
  const dims = plan.dims;
  const os = plan.out;
  const A = nOps > 0 ? ops[0]! : out;
  const B = nOps > 1 ? ops[1]! : out;
  const as = nOps > 0 ? plan.ops[0]! : os;
  const bs = nOps > 1 ? plan.ops[1]! : os;
  let o = outOff;
  let a = nOps > 0 ? offs[0]! : 0;
  let b = nOps > 1 ? offs[1]! : 0;
  if (L === 0) {
    inner(nOps, accumulate, 1, 1, alpha, out, o, 0, 0, A, a, 0, 0, B, b, 0, 0);
    return;
  }
  // The inner block: label L-1 innermost, L-2 around it (extent 1 when there is none).
  const n0 = dims[L - 1]!;
  const o0 = os[L - 1]!;
  const a0 = nOps > 0 ? as[L - 1]! : 0;
  const b0 = nOps > 1 ? bs[L - 1]! : 0;
  const n1 = L > 1 ? dims[L - 2]! : 1;
  const o1 = L > 1 ? os[L - 2]! : 0;
  const a1 = L > 1 && nOps > 0 ? as[L - 2]! : 0;
  const b1 = L > 1 && nOps > 1 ? bs[L - 2]! : 0;
  const outer = L - 2;
  if (outer <= 0) {
    inner(nOps, accumulate, n1, n0, alpha, out, o, o1, o0, A, a, a1, a0, B, b, b1, b0);
    return;
  }
  const cnt = plan.counters;
  for (let l = 0; l < outer; l++) cnt[l] = 0;
  for (;;) {
    inner(nOps, accumulate, n1, n0, alpha, out, o, o1, o0, A, a, a1, a0, B, b, b1, b0);
    // Odometer over the outer labels.
    let l = outer - 1;
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

/** The inner block n1 × n0 of stridedMul, one loop nest per operand count and mode. */
function inner(
  nOps: number,
  acc: boolean,
  n1: number,
  n0: number,
  alpha: number,
  out: Float64Array,
  o: number,
  o1: number,
  o0: number,
  A: Float64Array,
  a: number,
  a1: number,
  a0: number,
  B: Float64Array,
  b: number,
  b1: number,
  b0: number,
): void {
  if (nOps === 2) {
    if (acc) twoAcc(n1, n0, alpha, out, o, o1, o0, A, a, a1, a0, B, b, b1, b0);
    else twoSet(n1, n0, alpha, out, o, o1, o0, A, a, a1, a0, B, b, b1, b0);
  } else if (nOps === 1) {
    if (acc) oneAcc(n1, n0, alpha, out, o, o1, o0, A, a, a1, a0);
    else oneSet(n1, n0, alpha, out, o, o1, o0, A, a, a1, a0);
  } else {
    for (let i = 0; i < n1; i++, o += o1) {
      if (acc) for (let j = 0, p = o; j < n0; j++, p += o0) out[p] += alpha;
      else for (let j = 0, p = o; j < n0; j++, p += o0) out[p] = alpha;
    }
  }
}

function twoAcc(n1: number, n0: number, alpha: number, out: Float64Array, o: number, o1: number, o0: number, A: Float64Array, a: number, a1: number, a0: number, B: Float64Array, b: number, b1: number, b0: number): void {
  // An operand constant along the inner loop (an outer product's row) is one scalar per row.
  if (a0 === 0 && n0 > 2) {
    for (let i = 0; i < n1; i++, o += o1, a += a1, b += b1) {
      const s = alpha * A[a]!;
      for (let j = 0, po = o, pb = b; j < n0; j++, po += o0, pb += b0) out[po] += s * B[pb]!;
    }
    return;
  }
  if (b0 === 0 && n0 > 2) {
    twoAcc(n1, n0, alpha, out, o, o1, o0, B, b, b1, b0, A, a, a1, a0);
    return;
  }
  if (n0 === 2) {
    for (let i = 0; i < n1; i++, o += o1, a += a1, b += b1) {
      out[o] += alpha * A[a]! * B[b]!;
      out[o + o0] += alpha * A[a + a0]! * B[b + b0]!;
    }
    return;
  }
  for (let i = 0; i < n1; i++, o += o1, a += a1, b += b1)
    for (let j = 0, po = o, pa = a, pb = b; j < n0; j++, po += o0, pa += a0, pb += b0) out[po] += alpha * A[pa]! * B[pb]!;
}

function twoSet(n1: number, n0: number, alpha: number, out: Float64Array, o: number, o1: number, o0: number, A: Float64Array, a: number, a1: number, a0: number, B: Float64Array, b: number, b1: number, b0: number): void {
  if (a0 === 0 && n0 > 2) {
    for (let i = 0; i < n1; i++, o += o1, a += a1, b += b1) {
      const s = alpha * A[a]!;
      for (let j = 0, po = o, pb = b; j < n0; j++, po += o0, pb += b0) out[po] = s * B[pb]!;
    }
    return;
  }
  if (b0 === 0 && n0 > 2) {
    twoSet(n1, n0, alpha, out, o, o1, o0, B, b, b1, b0, A, a, a1, a0);
    return;
  }
  if (n0 === 2) {
    for (let i = 0; i < n1; i++, o += o1, a += a1, b += b1) {
      out[o] = alpha * A[a]! * B[b]!;
      out[o + o0] = alpha * A[a + a0]! * B[b + b0]!;
    }
    return;
  }
  for (let i = 0; i < n1; i++, o += o1, a += a1, b += b1)
    for (let j = 0, po = o, pa = a, pb = b; j < n0; j++, po += o0, pa += a0, pb += b0) out[po] = alpha * A[pa]! * B[pb]!;
}

function oneAcc(n1: number, n0: number, alpha: number, out: Float64Array, o: number, o1: number, o0: number, A: Float64Array, a: number, a1: number, a0: number): void {
  if (n0 === 2) {
    for (let i = 0; i < n1; i++, o += o1, a += a1) {
      out[o] += alpha * A[a]!;
      out[o + o0] += alpha * A[a + a0]!;
    }
    return;
  }
  for (let i = 0; i < n1; i++, o += o1, a += a1) for (let j = 0, po = o, pa = a; j < n0; j++, po += o0, pa += a0) out[po] += alpha * A[pa]!;
}

function oneSet(n1: number, n0: number, alpha: number, out: Float64Array, o: number, o1: number, o0: number, A: Float64Array, a: number, a1: number, a0: number): void {
  if (n0 === 2) {
    for (let i = 0; i < n1; i++, o += o1, a += a1) {
      out[o] = alpha * A[a]!;
      out[o + o0] = alpha * A[a + a0]!;
    }
    return;
  }
  for (let i = 0; i < n1; i++, o += o1, a += a1) for (let j = 0, po = o, pa = a; j < n0; j++, po += o0, pa += a0) out[po] = alpha * A[pa]!;
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
