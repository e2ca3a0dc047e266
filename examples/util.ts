/**
 * Small helpers shared by the examples: a seeded random source, dense linear algebra on
 * row-major Float64Arrays (Cholesky and LU solves for Newton steps), and the glue that runs an
 * example as a script (progress on stdout, a non-zero exit code when it does not converge).
 */
import { pathToFileURL } from 'node:url';
import { mulberry32 } from '../src/random.js';
import { gemm, luFactor, luSolve, transpose as transposeKernel } from '../src/compile/kernels/index.js';

export const rng = mulberry32;

/** Standard normal samples (Box-Muller) from a uniform source. */
export function gaussian(rand: () => number): () => number {
  return () => {
    const u = 1 - rand();
    const v = rand();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  };
}

/** An m×n matrix (or a vector when n is omitted) of independent draws. */
export function randomArray(draw: () => number, m: number, n = 1): Float64Array {
  return Float64Array.from({ length: m * n }, draw);
}

export type Log = (line: string) => void;
export const silent: Log = () => {};

export function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

export function norm(a: ArrayLike<number>): number {
  return Math.sqrt(dot(a, a));
}

/** a + t·b as a new array. */
export function axpy(a: ArrayLike<number>, t: number, b: ArrayLike<number>): Float64Array {
  return Float64Array.from(a, (x, i) => x + t * b[i]!);
}

/** C = A·B for A m×k and B k×n (the library's gemm kernel). */
export function matmul(a: Float64Array, b: Float64Array, m: number, k: number, n: number): Float64Array {
  const c = new Float64Array(m * n);
  gemm(false, false, m, n, k, 1, a, 0, k, b, 0, n, 0, c, 0, n);
  return c;
}

/** A' for A m×n. */
export function transpose(a: Float64Array, m: number, n: number): Float64Array {
  const t = new Float64Array(m * n);
  transposeKernel(m, n, a, 0, n, t, 0, m);
  return t;
}

/** The lower Cholesky factor L of a symmetric n×n matrix (A = L·L'), or null if A is not positive definite. */
export function cholesky(a: Float64Array, n: number): Float64Array | null {
  const l = new Float64Array(n * n);
  for (let j = 0; j < n; j++) {
    let d = a[j * n + j]!;
    for (let k = 0; k < j; k++) d -= l[j * n + k]! ** 2;
    if (!(d > 0)) return null;
    const ljj = Math.sqrt(d);
    l[j * n + j] = ljj;
    for (let i = j + 1; i < n; i++) {
      let s = a[i * n + j]!;
      for (let k = 0; k < j; k++) s -= l[i * n + k]! * l[j * n + k]!;
      l[i * n + j] = s / ljj;
    }
  }
  return l;
}

/** x with A·x = b for a symmetric positive definite A, or null if A is not positive definite. */
export function solveSpd(a: Float64Array, b: ArrayLike<number>, n: number): Float64Array | null {
  const l = cholesky(a, n);
  if (!l) return null;
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = b[i]!;
    for (let k = 0; k < i; k++) s -= l[i * n + k]! * y[k]!;
    y[i] = s / l[i * n + i]!;
  }
  const x = new Float64Array(n);
  for (let i = n - 1; i >= 0; i--) {
    let s = y[i]!;
    for (let k = i + 1; k < n; k++) s -= l[k * n + i]! * x[k]!;
    x[i] = s / l[i * n + i]!;
  }
  return x;
}

/** x with A·x = b by LU with partial pivoting (any invertible A; the library's LU kernels). */
export function solve(a: Float64Array, b: ArrayLike<number>, n: number): Float64Array {
  const lu = Float64Array.from(a);
  const piv = new Int32Array(n);
  luFactor(n, lu, 0, n, piv);
  const x = Float64Array.from(b);
  luSolve(n, 1, lu, 0, n, piv, x, 0, 1);
  return x;
}

/** Seconds since `start` (from performance.now()). */
export function seconds(start: number): number {
  return (performance.now() - start) / 1000;
}

/** A number for progress lines: fixed width, exponent form. */
export function sci(x: number, digits = 3): string {
  return x.toExponential(digits).padStart(digits + 8);
}

/**
 * Runs `main` when the module is the script that node/tsx was started with: its progress goes to
 * stdout; a result that did not converge (main returns false) or an exception exits with 1.
 */
export function runIfMain(metaUrl: string, main: () => boolean): void {
  const script = process.argv[1];
  if (!script || metaUrl !== pathToFileURL(script).href) return;
  try {
    if (!main()) {
      console.error('did not converge');
      process.exitCode = 1;
    }
  } catch (e) {
    console.error(e instanceof Error ? (e.stack ?? e.message) : String(e));
    process.exitCode = 1;
  }
}
