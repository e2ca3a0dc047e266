/**
 * C = c·(A + A') on the WebAssembly kernel (symsumKernel.ts): A is copied into the kernels'
 * memory (one memcpy, or one per row; an odd n is padded to even with a zero row and column; not
 * at all where A is a resident array of even order, which the kernel reads where it lies), the
 * kernel turns that copy into C in place — split by block rows across the workers that share the
 * memory, balanced by the blocks of the upper triangle each row holds — and C is copied out. JS
 * loops are compute-bound on this (≈ 1–1.8 ns per entry even on contiguous rows: 1.8–2.5 ms at
 * n = 1000); the copies run at memcpy speed and the kernel near it.
 *
 * In place, the working set is A, one n×n region of wasm memory and C (24 MB at n = 1000)
 * instead of A, two regions and C (32 MB, more than this machine's L3 holds next to anything
 * else): measured at n = 1000, one thread, interleaved, 1.85–1.95 → 1.05–1.23 ms (best of 30),
 * against NumPy's A + A.T 1.11–1.23 ms in the same minutes.
 */
import { acquire, recordRun, residentAt, symsumOn } from './runtime.js';
import { JOB_SYMSUM } from '../parallel/pool.js';
import { symsumThreads } from '../parallel/config.js';

/** Tile edge in 2×2 blocks: 64 rows and columns (measured best of 8, 16, 32 blocks: 32). */
const TB = 32;

/** Block-row ranges with about equal numbers of upper-triangle blocks (nb - bi in row bi). */
export function splitRows(nb: number, threads: number): [number, number][] {
  const total = (nb * (nb + 1)) / 2;
  const ranges: [number, number][] = [];
  let from = 0;
  let acc = 0;
  for (let t = 1; t <= threads && from < nb; t++) {
    const goal = t === threads ? total : (total * t) / threads;
    let to = from;
    while (to < nb && acc + (nb - to) <= goal) acc += nb - to++;
    if (to === from) acc += nb - to++;
    ranges.push([from, t === threads ? nb : to]);
    from = to;
  }
  return ranges.filter(([a, b]) => b > a);
}

/**
 * Rows [r0, r1) (default: all np) of X (n×n, row stride ldx) into heap[0..np·np) with rows np ≥ n
 * apart: one memcpy, or one per row; the rows and columns past n are zero (symmetric, and adding
 * nothing).
 */
export function copyPadded(heap: Float64Array, n: number, X: Float64Array, xOff: number, ldx: number, np: number, r0 = 0, r1 = np): void {
  const last = Math.min(r1, n);
  if (np === n && ldx === n) heap.set(X.subarray(xOff + r0 * n, xOff + last * n), r0 * n);
  else
    for (let i = r0; i < last; i++) {
      heap.set(X.subarray(xOff + i * ldx, xOff + i * ldx + n), i * np);
      if (np !== n) heap.fill(0, i * np + n, (i + 1) * np);
    }
  if (r1 > n) heap.fill(0, Math.max(r0, n) * np, r1 * np);
}

/** C(n×n) = c·(X + X') through the wasm kernel; false where it is not available (the caller runs the JS loop). */
export function symsumWasm(n: number, c: number, X: Float64Array, xOff: number, ldx: number, C: Float64Array, cOff: number, ldc: number): boolean {
  const np = n + (n & 1);
  const size = np * np;
  const ctx = acquire(size);
  if (ctx === null) return false;
  const kernel = symsumOn(ctx);
  if (kernel === null) return false;
  const heap = ctx.heap;
  // A resident X of even order (rows as the kernel reads them) is read where it lies, C written
  // to heap[0..); any other X is copied there and turned into C in place.
  const at = np === n && ldx === n ? residentAt(X, xOff) : -1;
  if (at < 0) copyPadded(heap, n, X, xOff, ldx, np);
  const a = Math.max(at, 0) * 8;
  const nb = np / 2;
  const pool = ctx.pool !== null && ctx.pool.supportsJob(JOB_SYMSUM) ? ctx.pool : null;
  const threads = symsumThreads(n, pool);
  const ranges = splitRows(nb, threads);
  // In place (cOut = a): each 2×2 block pair is read before either block is written, and no
  // other pair (nor another thread's range) reads it.
  const args = [a, 0, np * 8, nb, TB, c];
  const self = (from: number, to: number) => kernel(a, 0, np * 8, nb, TB, c, from, to);
  if (ranges.length > 1) pool!.run(JOB_SYMSUM, args, ranges, self);
  else self(0, nb);
  if (np === n && ldc === n) C.set(heap.subarray(0, size), cOff);
  else for (let i = 0; i < n; i++) C.set(heap.subarray(i * np, i * np + n), cOff + i * ldc);
  recordRun({ kernel: 'symsum', variant: 'simd', threads: ranges.length, sharedMemory: ctx.shared, inPlace: at >= 0 });
  return true;
}
