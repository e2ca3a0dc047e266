/**
 * How many threads a product uses: one below the measured threshold, else every core (up to
 * 1 + MAX_WORKERS) once the workers are ready. setParallel forces either (tests, benchmarks).
 */
import { MAX_WORKERS, parallelHost, type WorkerPool } from './pool.js';

/**
 * Products of at least this many multiply-adds are split across threads. Measured by
 * bench/parallel-threshold.ts on this project's 2-core machine (Node 20, relaxed-SIMD FMA):
 * square gemm with one worker against none, median of interleaved runs — two threads lose below
 * about 48³ (the barrier and the wake-up of a worker cost ≈ 30–60 µs) and win from 64³ on
 * (1.25× at 64³, 1.6× at 96³, 1.8× from 192³). See that script for the figures.
 */
export const PARALLEL_MIN_WORK = 64 * 64 * 64;

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
 * C = c·(A + A') is split across threads from this order on. Measured by
 * bench/parallel-threshold.ts (see PARALLEL_MIN_WORK).
 */
export const SYMSUM_PARALLEL_MIN_N = 256;
let symsumMinN = SYMSUM_PARALLEL_MIN_N;

/** Threads for C = c·(A + A') of order n (as threadsFor). */
export function symsumThreads(n: number, pool: WorkerPool | null): number {
  return threadsFor(minWork <= 0 || n >= symsumMinN ? Infinity : 0, pool);
}
