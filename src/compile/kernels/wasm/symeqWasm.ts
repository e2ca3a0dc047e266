/**
 * Whether an n×n matrix equals its transpose exactly, on the WebAssembly kernel (symeqKernel.ts):
 * A is copied into the kernels' memory (one memcpy, or one per row; rows and columns padded to a
 * multiple of four with zeros, which are symmetric) and read once by the kernel in 2×2 blocks.
 * The copy stays for the rest of the evaluation, for a thin product of the same matrix, and so do
 * the row sums the kernel adds up as it reads (a product of the same matrix with ones takes them).
 * Measured at n = 1000 (the MDS Hessian's D, declared symmetric and checked on every call): the
 * copy takes ≈ 0.28 ms and the kernel ≈ 0.17, the whole check 0.47–0.73 ms where the JS loop of
 * symmetric.ts takes 0.65–0.85 (best of 300, two runs).
 */
import { acquire, setStaged, symeqOn } from './runtime.js';
import { copyPadded } from './symsumWasm.js';

/** Tile edge in 2×2 blocks (as the symsum kernel: both sides of a tile pair in L1). */
const TB = 32;

/** true when every pair is equal, false when some pair is not (or is NaN), null where the kernel is not available. */
export function symeqWasm(n: number, A: Float64Array, aOff: number, lda: number): boolean | null {
  // Rows padded to four doubles, as the thin kernels lay out their operand (thinWasm.ts): a thin
  // product of the same matrix later in this evaluation reads this copy.
  const np = (n + 3) & ~3;
  // heap[0, np²): A; then np row sums, which the kernel adds up as it reads.
  const ctx = acquire(np * np + np);
  if (ctx === null) return null;
  const kernel = symeqOn(ctx);
  if (kernel === null) return null;
  const heap = ctx.heap;
  copyPadded(heap, n, A, aOff, lda, np);
  heap.fill(0, np * np, np * np + np);
  const equal = kernel(0, np * 8, np / 2, TB, np * np * 8) === 1;
  if (aOff === 0 && lda === n) setStaged(A, n, n, np, ctx, { rowSums: heap.slice(np * np, np * np + n), exact: equal });
  return equal;
}
