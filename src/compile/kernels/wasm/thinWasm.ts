/**
 * Memory-bound products on the WebAssembly thin kernels (thinKernel.ts): C(m×nc) = alpha·op(A)·B
 * + beta·C with a large op(A) (m×k) and nc ≤ 4 columns of B and C — gemv, row and column sums
 * (B a column of ones), and thin gemm (D·V with V of n×2 coordinates).
 *
 * A is copied into the kernels' memory — one memcpy where its rows are contiguous and a multiple
 * of four doubles long, else row by row with the rows padded to four doubles with zeros; not at
 * all where the symmetric check of the same evaluation left it there (runtime.ts, setStaged), or
 * where A is a resident array whose rows need no padding (read where it lies, residentArray) —
 * then read once by the kernel in f64x2 streams, a block of rows at a time; B and C are small and
 * move through JS loops. On this machine (n = 1000, D 8 MB) the copy runs at ≈ 30 GB/s and the
 * kernel reads the copy from cache: ≈ 0.44 ms in all for row sums, 0.55 for D·V (best of 500),
 * against 0.9 ms for the JS gemv (four rows at a time), 1.8 ms for D·V on the
 * packed gemm path (packing alone, in JS, is most of it) and 0.9 ms for row sums by the generic
 * einsum. A product that reads A in place is split by rows across threads where A is large
 * (parallel/config.ts, thinThreads): D·V in place at n = 1000, 0.25 → 0.14 ms.
 */
import { acquire, isStaged, recordRun, residentAt, stagedSums, thinOn } from './runtime.js';
import { ROW_BLOCK, THIN_MAX_COLUMNS } from './thinKernel.js';
import { JOB_THIN } from '../parallel/pool.js';
import { thinThreads } from '../parallel/config.js';

/** Products whose large operand has fewer entries stay in JS (the copy and the call cost a few µs). */
export const THIN_MIN_ENTRIES = 1 << 15;

const roundUp4 = (x: number): number => (x + 3) & ~3;

/**
 * C(i, j) = alpha·Σ_p op(A)(i, p)·B(p, j) + beta·C(i, j) for i < m, j < nc, p < k, where
 * op(A)(i, p) is A[aOff + i·lda + p] (transA false) or A[aOff + p·lda + i] (transA true),
 * B(p, j) is B[bOff + p·bps + j·bjs] and C(i, j) is C[cOff + i·cis + j·cjs]. beta = 0 does not
 * read C. C must not overlap A or B. false (nothing done) where the kernel is not available or
 * nc is out of range: the caller runs its JS path.
 */
export function thinWasm(
  transA: boolean,
  m: number,
  k: number,
  nc: number,
  alpha: number,
  A: Float64Array,
  aOff: number,
  lda: number,
  B: Float64Array,
  bOff: number,
  bps: number,
  bjs: number,
  beta: number,
  C: Float64Array,
  cOff: number,
  cis: number,
  cjs: number,
): boolean {
  if (nc < 1 || nc > THIN_MAX_COLUMNS || m < 1 || k < 1) return false;
  // The stored rows of A: m rows of k (op(A) = A) or k rows of m (op(A) = A').
  const rows = transA ? k : m;
  const len = transA ? m : k;
  const stride = roundUp4(len);
  const aSize = rows * stride;
  // rowdot: Bt, nc rows of `stride`; colacc: b, rows × nc (padded to 4 doubles).
  const bSize = transA ? roundUp4(rows * nc) : nc * stride;
  const cSize = transA ? nc * stride : roundUp4(m * nc);
  // A resident array (runtime.ts, residentArray) whose rows are laid out as the kernels read
  // them (contiguous, a multiple of four doubles long: no padding to add) is read where it lies.
  // A copied into the memory by the symmetric check of this evaluation is there already. Either
  // way the check's row sums are there too (and, where A is exactly symmetric, its column sums).
  const residentOffset = lda === len && stride === len ? residentAt(A, aOff) : -1;
  const resident = residentOffset >= 0;
  const wasStaged = !resident && aOff === 0 && lda === len && isStaged(A, rows, len, stride);
  if ((resident || wasStaged) && nc === 1 && aOff === 0 && lda === len && sumsFromCheck(transA, m, k, alpha, A, B, bOff, bps, beta, C, cOff, cis)) return true;
  const ctx = acquire((resident ? 0 : aSize) + bSize + cSize, wasStaged);
  if (ctx === null) return false;
  const kernels = thinOn(ctx);
  if (kernels === null) return false;
  const heap = ctx.heap;
  const at = resident ? residentOffset : 0;
  const bBase = resident ? 0 : aSize;
  const cBase = bBase + bSize;
  const inPlace = resident || (wasStaged && isStaged(A, rows, len, stride, ctx));
  if (!inPlace && lda === len && stride === len) heap.set(A.subarray(aOff, aOff + aSize), 0);
  else if (!inPlace)
    for (let r = 0; r < rows; r++) {
      heap.set(A.subarray(aOff + r * lda, aOff + r * lda + len), r * stride);
      for (let q = len; q < stride; q++) heap[r * stride + q] = 0;
    }
  let threads = 1;
  if (!transA) {
    // Bt[j, p] = B(p, j), zero past k.
    for (let j = 0; j < nc; j++) {
      const t = bBase + j * stride;
      for (let p = 0, s = bOff + j * bjs; p < k; p++, s += bps) heap[t + p] = B[s]!;
      for (let p = k; p < stride; p++) heap[t + p] = 0;
    }
    // Whole blocks of rows on rowblock (split by rows across threads where large), the rest
    // (fewer than a block) one at a time.
    const blocked = m - (m % ROW_BLOCK(nc));
    const pool = ctx.pool !== null && ctx.pool.supportsJob(JOB_THIN) ? ctx.pool : null;
    const ranges = rowRanges(blocked, ROW_BLOCK(nc), thinThreads(blocked * stride, inPlace, pool));
    const block = (from: number, to: number): void => kernels.rowblock[nc]!((at + from * stride) * 8, stride * 8, to - from, stride / 4, bBase * 8, (cBase + from * nc) * 8);
    if (ranges.length > 1) pool!.run(JOB_THIN, [nc, at * 8, stride * 8, stride / 4, bBase * 8, cBase * 8], ranges, block);
    else if (blocked > 0) block(0, blocked);
    threads = Math.max(1, ranges.length);
    if (blocked < m) kernels.rowdot[nc]!((at + blocked * stride) * 8, stride * 8, m - blocked, stride / 4, bBase * 8, (cBase + blocked * nc) * 8);
    for (let i = 0; i < m; i++)
      for (let j = 0; j < nc; j++) {
        const c = cOff + i * cis + j * cjs;
        const v = alpha * heap[cBase + i * nc + j]!;
        C[c] = beta === 0 ? v : v + beta * C[c]!;
      }
  } else {
    // b[p·nc + j] = B(p, j).
    for (let p = 0; p < rows; p++) for (let j = 0; j < nc; j++) heap[bBase + p * nc + j] = B[bOff + p * bps + j * bjs]!;
    kernels.colacc[nc]!(at * 8, stride * 8, rows, stride / 4, bBase * 8, cBase * 8);
    for (let j = 0; j < nc; j++) {
      const t = cBase + j * stride;
      for (let i = 0; i < m; i++) {
        const c = cOff + i * cis + j * cjs;
        const v = alpha * heap[t + i]!;
        C[c] = beta === 0 ? v : v + beta * C[c]!;
      }
    }
  }
  recordRun({ kernel: 'thin', variant: 'simd', threads, sharedMemory: ctx.shared, inPlace });
  return true;
}

/**
 * C = alpha·op(A)·1 + beta·C from the row sums the symmetric check of this evaluation took of A
 * (column sums: where A is exactly symmetric); false where B is not a column of ones or there
 * are no such sums.
 */
function sumsFromCheck(transA: boolean, m: number, k: number, alpha: number, A: Float64Array, B: Float64Array, bOff: number, bps: number, beta: number, C: Float64Array, cOff: number, cis: number): boolean {
  const sums = stagedSums(A, transA ? k : m, transA ? m : k);
  if (!sums || (transA && !sums.exact)) return false;
  for (let p = 0, s = bOff; p < k; p++, s += bps) if (B[s] !== 1) return false;
  const r = sums.rowSums;
  for (let i = 0, c = cOff; i < m; i++, c += cis) C[c] = beta === 0 ? alpha * r[i]! : alpha * r[i]! + beta * C[c]!;
  recordRun({ kernel: 'check-sums', variant: 'simd', threads: 1, sharedMemory: false });
  return true;
}

/** [0, rows) in `threads` ranges of whole `step`-row blocks, about equal (fewer where there are fewer blocks). */
function rowRanges(rows: number, step: number, threads: number): [number, number][] {
  const blocks = rows / step;
  const ranges: [number, number][] = [];
  for (let t = 0; t < threads; t++) {
    const from = Math.round((blocks * t) / threads) * step;
    const to = Math.round((blocks * (t + 1)) / threads) * step;
    if (to > from) ranges.push([from, to]);
  }
  return ranges;
}

/** Whether a product with a large operand of `entries` entries and nc columns goes to thinWasm. */
export function thinTakes(entries: number, nc: number): boolean {
  return entries >= THIN_MIN_ENTRIES && nc >= 1 && nc <= THIN_MAX_COLUMNS;
}
