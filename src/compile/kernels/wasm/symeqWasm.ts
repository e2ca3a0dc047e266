/**
 * Whether an n×n matrix equals its transpose exactly, on the WebAssembly kernel (symeqKernel.ts):
 * A is copied into the kernels' memory (rows and columns padded to a multiple of four with
 * zeros, which are symmetric) and read once by the kernel in 2×2 blocks. The copy stays for the
 * rest of the evaluation, for a thin product of the same matrix, and so do the row sums the
 * kernel adds up as it reads (a product of the same matrix with ones takes them).
 *
 * Only the calling thread can read the caller's array, so it alone copies; with workers (from
 * order SYMEQ_PIPELINE_MIN_N on) it copies tile rows from the bottom up while the workers check
 * the tiles already copied (a tile row's pairs lie in its rows and those below), then checks
 * tiles from the top until they meet (WorkerPool.runSymeq): the check runs behind the copy
 * instead of after it. Each thread adds row sums of its own, summed here.
 * Measured at n = 1000 (the MDS Hessian's D, declared symmetric and checked on every call): the
 * copy takes ≈ 0.28 ms and the kernel ≈ 0.27 after it on one thread. A resident A (runtime.ts,
 * residentArray) whose rows need no padding is not copied: the kernel reads it where it lies, and
 * every thread checks tiles from the start.
 */
import { JOB_SYMEQ, MAX_WORKERS } from '../parallel/pool.js';
import { threadsFor } from '../parallel/config.js';
import { acquire, recordCheck, residentAt, setStaged, symeqOn } from './runtime.js';
import { copyPadded } from './symsumWasm.js';

/** Tile edge in 2×2 blocks (as the symsum kernel: both sides of a tile pair in L1). */
const TB = 32;

/**
 * From this order on the check runs behind the copy on workers (where there are any). Measured
 * by bench/parallel-threshold.ts (symeq, two threads against one, best of 25 interleaved
 * rounds): 0.38–0.60× up to n = 256, 0.91× at 384, 1.28× at 512, 1.40× at 768, 1.46× at 1000
 * (0.574 → 0.393 ms; medians alike).
 */
export const SYMEQ_PIPELINE_MIN_N = 512;

/**
 * From this order on the check of a resident matrix (read where it lies: nothing to copy) is
 * split across threads. bench/parallel-threshold.ts (symeq-resident, two threads against one,
 * best of 25): 0.61× at n = 128, 0.85× at 192, 1.07× at 256, 1.25× at 384, 1.46–1.60× from 512
 * on (0.242 → 0.151 ms at n = 1000, against 0.364 for the check behind the copy).
 */
export const SYMEQ_RESIDENT_MIN_N = 256;

/** true when every pair is equal, false when some pair is not (or is NaN), null where the kernel is not available. */
export function symeqWasm(n: number, A: Float64Array, aOff: number, lda: number): boolean | null {
  // Rows padded to four doubles, as the thin kernels lay out their operand (thinWasm.ts): a thin
  // product of the same matrix later in this evaluation reads this copy. A resident array whose
  // rows need no padding is read where it lies (runtime.ts, residentArray): no copy.
  const np = (n + 3) & ~3;
  const nb = np / 2;
  const resident = np === n && lda === n ? residentAt(A, aOff) : -1;
  const inPlace = resident >= 0;
  const at = inPlace ? resident : 0;
  // heap[0, np²): A, unless resident; then np row sums per thread (the caller's first), added up as the kernel reads.
  const sums = inPlace ? 0 : np * np;
  const ctx = acquire(sums + (1 + MAX_WORKERS) * np);
  if (ctx === null) return null;
  const kernel = symeqOn(ctx);
  if (kernel === null) return null;
  const heap = ctx.heap;
  const pool = ctx.pool !== null && ctx.pool.supportsJob(JOB_SYMEQ) ? ctx.pool : null;
  const threads = threadsFor(n >= (inPlace ? SYMEQ_RESIDENT_MIN_N : SYMEQ_PIPELINE_MIN_N) ? Infinity : 0, pool);
  let equal: boolean;
  if (threads > 1) {
    heap.fill(0, sums, sums + (1 + MAX_WORKERS) * np);
    const tiles = Math.ceil(nb / TB);
    const rows = 2 * TB;
    // A resident matrix is there already: the workers start on every tile at once.
    const copy = inPlace ? () => {} : (t: number): void => copyPadded(heap, n, A, aOff, lda, np, t * rows, Math.min(np, (t + 1) * rows));
    const check = (t: number): boolean => kernel(at * 8, np * 8, nb, TB, sums * 8, t * TB, Math.min(nb, (t + 1) * TB)) === 1;
    equal = pool!.runSymeq([at * 8, np * 8, nb, TB, sums * 8, np * 8], tiles, threads, copy, check);
    for (let w = 1; w <= MAX_WORKERS; w++) for (let i = 0, s = sums + w * np; i < n; i++, s++) heap[sums + i] += heap[s]!;
  } else {
    if (!inPlace) copyPadded(heap, n, A, aOff, lda, np);
    heap.fill(0, sums, sums + np);
    equal = kernel(at * 8, np * 8, nb, TB, sums * 8, 0, nb) === 1;
  }
  if (aOff === 0 && lda === n) setStaged(A, n, n, np, ctx, { rowSums: heap.slice(sums, sums + n), exact: equal }, at);
  recordCheck({ kernel: 'symeq', threads, sharedMemory: ctx.shared, inPlace });
  return equal;
}
