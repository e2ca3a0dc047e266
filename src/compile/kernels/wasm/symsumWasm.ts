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
 *
 * A copy's rows are padded where they would alias in the cache (paddedStride), and up to
 * SYMSUM_PLAIN_MAX_N the copy goes to a plain memory on the calling thread alone, since V8 copies
 * into and out of shared memory at half memcpy's speed (runtime.ts acquireCopyThrough): at
 * n = 1000 the whole took 0.70–0.91 ms on the shared memory split across two threads and
 * 0.44–0.52 ms so (scratch probe, best of 40).
 */
import { acquire, acquireCopyThrough, recordRun, residentAt, symsumOn } from './runtime.js';
import { JOB_SYMSUM } from '../parallel/pool.js';
import { SYMSUM_PLAIN_MAX_N, symsumThreads } from '../parallel/config.js';

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

/**
 * The row stride (doubles) of A's copy: its order made even, and 8 more where rows would lie a
 * multiple of 1 KiB apart, whose 2×2 blocks down a column then share cache sets (at n = 512 the
 * kernel took 0.46–0.77 ms with rows 4 KiB apart and 0.13 ms with 64 bytes more; 1.96 and 0.61 ms
 * at n = 1024).
 */
export function paddedStride(n: number): number {
  const even = n + (n & 1);
  return (even * 8) % 1024 === 0 ? even + 8 : even;
}

/** C(n×n) = c·(X + X') through the wasm kernel; false where it is not available (the caller runs the JS loop). */
export function symsumWasm(n: number, c: number, X: Float64Array, xOff: number, ldx: number, C: Float64Array, cOff: number, ldc: number): boolean {
  const even = n + (n & 1);
  // A resident X of even order (rows as the kernel reads them) is read where it lies, C written
  // to heap[0..) of the shared memory; any other X is copied into the kernels' memory and turned
  // into C in place: a plain memory of its own up to SYMSUM_PLAIN_MAX_N (its copies are twice as
  // fast), the shared one, split across threads, above.
  const resident = even === n && ldx === n ? residentAt(X, xOff) : -1;
  const np = resident >= 0 ? n : paddedStride(n);
  const ctx = resident < 0 && n <= SYMSUM_PLAIN_MAX_N ? acquireCopyThrough(np * even) : acquire(np * even);
  if (ctx === null) return false;
  const kernel = symsumOn(ctx);
  if (kernel === null) return false;
  const heap = ctx.heap;
  const at = ctx.shared ? resident : -1;
  if (at < 0) copyPadded(heap, n, X, xOff, ldx, np, 0, even);
  const a = Math.max(at, 0) * 8;
  const nb = even / 2;
  const pool = ctx.pool !== null && ctx.pool.supportsJob(JOB_SYMSUM) ? ctx.pool : null;
  const threads = symsumThreads(n, pool);
  const ranges = splitRows(nb, threads);
  // In place (cOut = a): each 2×2 block pair is read before either block is written, and no
  // other pair (nor another thread's range) reads it.
  const args = [a, 0, np * 8, nb, TB, c];
  const self = (from: number, to: number) => kernel(a, 0, np * 8, nb, TB, c, from, to);
  if (ranges.length > 1) pool!.run(JOB_SYMSUM, args, ranges, self);
  else self(0, nb);
  if (np === n && ldc === n) C.set(heap.subarray(0, n * n), cOff);
  else for (let i = 0; i < n; i++) C.set(heap.subarray(i * np, i * np + n), cOff + i * ldc);
  recordRun({ kernel: 'symsum', variant: 'simd', threads: ranges.length, sharedMemory: ctx.shared, inPlace: at >= 0 });
  return true;
}
