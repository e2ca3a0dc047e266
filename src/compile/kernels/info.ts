/**
 * A read-only diagnostic of the numeric kernels on this host: which gemm micro-kernel runs,
 * whether its memory is shared with workers, how many threads large products use, and what the
 * last WebAssembly product actually ran on (what a browser test or a benchmark reports).
 */
import { activeVariant, availableVariants, lastCheckRun, lastProductRun, residentBytes, sharedPool, useShared, type CheckRun, type ProductRun, type WasmVariant } from './wasm/runtime.js';
import { relaxedSimdValidates } from './wasm/flags.js';
import { parallelHost } from './parallel/pool.js';
import { wantedThreads } from './parallel/config.js';
import { getGemmBackend } from './gemm.js';

export interface KernelInfo {
  /** The micro-kernel large products run on: relaxed-SIMD FMA, plain f64x2 SIMD, or TypeScript only. */
  readonly kernel: WasmVariant | 'js';
  /** The WebAssembly variants this host validates, best first. */
  readonly available: readonly WasmVariant[];
  /** Relaxed SIMD validates here (else see enableRelaxedSimd). */
  readonly relaxedSimd: boolean;
  /** The kernels' memory is shared with workers (needs SharedArrayBuffer: cross-origin isolation in browsers). */
  readonly sharedMemory: boolean;
  /** This thread may block on a barrier and start workers (false on a browser's main thread). */
  readonly workersAllowed: boolean;
  /** Threads a product above the threshold uses, once its workers are ready. */
  readonly threads: number;
  /** Workers started so far (with the first product above the threshold), and those ready now. */
  readonly workersStarted: number;
  readonly workersReady: number;
  /** Why a worker could not start or died (products then use the threads that run), or null. */
  readonly workerError: string | null;
  /** What the last WebAssembly product ran on, or null before the first. */
  readonly lastProduct: ProductRun | null;
  /** What the last symmetric check of a declared-symmetric input ran on (its WebAssembly kernel), or null before the first. */
  readonly lastCheck: CheckRun | null;
  /** Bytes held by live resident arrays (residentArray). */
  readonly residentBytes: number;
}

export function kernelInfo(): KernelInfo {
  const variant = getGemmBackend() === 'js' ? null : activeVariant();
  const shared = variant !== null && useShared();
  const pool = shared ? sharedPool() : null;
  return {
    kernel: variant ?? 'js',
    available: availableVariants(),
    relaxedSimd: relaxedSimdValidates(),
    sharedMemory: shared,
    workersAllowed: parallelHost() !== null,
    threads: shared ? wantedThreads() : 1,
    workersStarted: pool?.startedCount() ?? 0,
    workersReady: pool?.ready() ?? 0,
    workerError: pool?.error ?? null,
    lastProduct: lastProductRun(),
    lastCheck: lastCheckRun(),
    residentBytes: residentBytes(),
  };
}
