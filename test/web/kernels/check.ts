/**
 * What the browser test runs, on the page's main thread and in a dedicated worker: products on the
 * library's kernels against naive loops, and the kernel diagnostic after each.
 */
import { gemm, kernelInfo, xtdx, type KernelInfo } from '../../../src/compile/kernels/index.js';
import { hessian } from '../../../src/index.js';

export interface CheckResult {
  readonly crossOriginIsolated: boolean;
  /** Before any product. */
  readonly before: KernelInfo;
  /** After a large gemm and X'·diag(d)·X (and, where workers may start, again once they run). */
  readonly after: KernelInfo;
  readonly workersReady: boolean;
  /** Largest relative error against the naive loops, over every product run. */
  readonly maxError: number;
  /** The compiled Hessian of a least-squares problem (X'X by syrk) against the naive product. */
  readonly hessianError: number;
}

function rand(n: number, seed: number): Float64Array {
  let s = seed >>> 0;
  return Float64Array.from({ length: n }, () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32) - 0.5);
}

function relErr(a: Float64Array, b: Float64Array): number {
  let num = 0;
  let den = 1e-300;
  for (let i = 0; i < a.length; i++) {
    num = Math.max(num, Math.abs(a[i]! - b[i]!));
    den = Math.max(den, Math.abs(b[i]!));
  }
  return num / den;
}

function products(n: number): number {
  const A = rand(n * n, 1);
  const B = rand(n * n, 2);
  const d = rand(n, 3);
  const C = new Float64Array(n * n);
  const want = new Float64Array(n * n);
  gemm(false, false, n, n, n, 1, A, 0, n, B, 0, n, 0, C, 0, n);
  for (let i = 0; i < n; i++) for (let k = 0; k < n; k++) for (let j = 0; j < n; j++) want[i * n + j] += A[i * n + k]! * B[k * n + j]!;
  let err = relErr(C, want);
  xtdx(n, n, A, 0, n, d, 0, 1, 0, C, 0, n);
  want.fill(0);
  for (let p = 0; p < n; p++) for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) want[i * n + j] += A[p * n + i]! * d[p]! * A[p * n + j]!;
  err = Math.max(err, relErr(C, want));
  return err;
}

export async function check(waitForWorkers: boolean): Promise<CheckResult> {
  const before = kernelInfo();
  const n = 160;
  let maxError = products(n);
  // The first large product starts the workers (where this thread may block on a barrier). A
  // browser starts them while this thread's event loop runs: wait for them without blocking.
  let workersReady = false;
  if (waitForWorkers && before.workersAllowed) {
    const until = Date.now() + 20_000;
    while (kernelInfo().workersReady < before.threads - 1 && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    workersReady = kernelInfo().workersReady >= before.threads - 1;
    maxError = Math.max(maxError, products(n));
  }
  const m = 200;
  const X = rand(m * n, 4);
  const H = hessian('norm2(X*w - y)^2', 'w').compile()({ X: { shape: [m, n], data: X }, y: rand(m, 5), w: rand(n, 6) });
  const want = new Float64Array(n * n);
  for (let p = 0; p < m; p++) for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) want[i * n + j] += 2 * X[p * n + i]! * X[p * n + j]!;
  return { crossOriginIsolated: globalThis.crossOriginIsolated === true, before, after: kernelInfo(), workersReady, maxError, hessianError: relErr(H.data, want) };
}
