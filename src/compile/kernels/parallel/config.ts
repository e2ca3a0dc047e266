/**
 * How many threads a product uses: one below the measured threshold, else every core (up to
 * 1 + MAX_WORKERS) once the workers are ready. setParallel forces either (tests, benchmarks).
 */
import { MAX_WORKERS, parallelHost, type WorkerPool } from './pool.js';

/**
 * Products of at least this many multiply-adds are split across threads.
 *
 * Measured by bench/parallel-threshold.ts (npm run bench:threshold) on this project's 2-vCPU
 * machine, Node 20, FMA kernel, best of 25 interleaved rounds, load average 2.3–2.5 (the machine
 * is shared by about seven engineers): splitting costs ≈ 11 µs per product (square gemm 64³:
 * 0.031 → 0.042 ms) and won at no size — gemm 0.73× at 64³, 0.93× at 128³, 0.98× at 256³ —
 * because the second core was busy: a trivially parallel JS loop split across two threads ran
 * 1.0× in the same minutes. PERFORMANCE.md's ceiling study on an idle machine of the same kind
 * measured 1.45× (median) to 1.9× with two workers. 128³ is where the split's own cost is at
 * most 7 % when the second core is busy; with a free one the arithmetic halves (≈ 1.8× at 128³:
 * 0.193 ms → 0.097 + 0.011).
 */
export const PARALLEL_MIN_WORK = 128 * 128 * 128;

let forcedThreads: number | 'auto' = 'auto';
let minWork = PARALLEL_MIN_WORK;

export interface ParallelSettings {
  /** Threads per product including the calling one ('auto': every core). 1 = no workers. */
  readonly threads?: number | 'auto';
  /** Products of fewer multiply-adds stay on one thread ('auto': PARALLEL_MIN_WORK). */
  readonly minWork?: number | 'auto';
}

/** Force the thread count or the threshold (tests, benchmarks). */
export function setParallel(s: ParallelSettings): void {
  if (s.threads !== undefined) {
    if (s.threads !== 'auto' && !(Number.isInteger(s.threads) && s.threads >= 1 && s.threads <= MAX_WORKERS + 1))
      throw new RangeError(`setParallel: threads must be 'auto' or an integer from 1 to ${MAX_WORKERS + 1}`);
    forcedThreads = s.threads;
  }
  if (s.minWork !== undefined) minWork = s.minWork === 'auto' ? PARALLEL_MIN_WORK : s.minWork;
}

/** Threads wanted for products on this host and setting (before the threshold). */
export function wantedThreads(): number {
  if (forcedThreads !== 'auto') return forcedThreads;
  const host = parallelHost();
  return host === null ? 1 : Math.max(1, Math.min(host.cores, MAX_WORKERS + 1));
}

/**
 * Threads for a product of `work` multiply-adds: starts the workers on the first large product
 * (without waiting for them) and counts only those ready.
 */
export function threadsFor(work: number, pool: WorkerPool | null): number {
  if (pool === null || work < minWork) return 1;
  const want = wantedThreads();
  if (want <= 1) return 1;
  if (pool.startedCount() < want - 1) pool.start(want - 1);
  return 1 + Math.min(pool.ready(), want - 1);
}

/**
 * C = c·(A + A') is split across threads from this order on. The same measurement: at load
 * 2.3–2.5 the split cost 0.89× at n = 256, 0.94× at 384 and 0.99× at 512 (no gain: the second
 * core was busy); 512 keeps that cost ≤ 1 %. The copies in and out run on the calling thread
 * alone, so the split can at best halve the kernel's part (≈ 0.6 of 1.7 ms at n = 1000).
 */
export const SYMSUM_PARALLEL_MIN_N = 512;

/**
 * Up to this order, C = c·(A + A') of an A that has to be copied in runs on one thread in a plain
 * memory (runtime.ts acquireCopyThrough), whose copies take half the time of the shared memory's;
 * above it, the split across threads gains more than the copies lose. Measured (scratch probe,
 * best of 40, two rounds, load ≈ 1, rows padded where they alias): shared and split against plain
 * 0.46–0.77 / 0.13 ms at n = 512, 0.80 / 0.28 at 768, 0.70–0.74 / 0.51–0.52 at 1000, 1.32 /
 * 0.87–0.88 at 1200, 2.28–2.44 / 2.51–2.59 at 1600, 4.1–4.3 / 5.0–5.3 at 2000.
 */
export const SYMSUM_PLAIN_MAX_N = 1400;

/** Threads for C = c·(A + A') of order n (as threadsFor; setParallel's minWork 0 splits any order). */
export function symsumThreads(n: number, pool: WorkerPool | null): number {
  return threadsFor(minWork <= 0 || n >= SYMSUM_PARALLEL_MIN_N ? Infinity : 0, pool);
}

/**
 * A thin product (wasm/thinWasm.ts: a large operand read once against at most four columns) is
 * split across threads by rows where it reads its operand in place (staged by the symmetric
 * check of the same evaluation: the MDS Hessian's D·V) and the operand has at least this many
 * entries. Measured by bench/parallel-threshold.ts (thin-in-place: D·V with V of n×2, two
 * threads against one, best of 25 interleaved rounds; load ≈ 1): 1.32× at n = 256 (its median
 * 0.92×: the load), 1.25–1.65× from 384 to 1000 (medians 1.08–1.63×); 0.92–1.12× below (a
 * second run: 1.45–1.72× from 192 to 512, 1.26–1.29× at 768 and 1000, 0.98× at 128). A product
 * that copies its operand first is not split: the copy, on the calling thread alone (it alone can
 * read the caller's array), is about half the time, and the split measured 0.64–0.95× up to
 * n = 768 and 1.17× at 1000 (another run: 1.09×, median 0.99×).
 */
export const THIN_PARALLEL_MIN_ENTRIES = 1 << 16;

/** Threads for a thin product over a large operand of `entries` entries, read in place or not (as threadsFor; minWork 0 splits any). */
export function thinThreads(entries: number, inPlace: boolean, pool: WorkerPool | null): number {
  return threadsFor(minWork <= 0 || (inPlace && entries >= THIN_PARALLEL_MIN_ENTRIES) ? Infinity : 0, pool);
}
