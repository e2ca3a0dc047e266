/**
 * Small helpers shared by the examples: a seeded random source, dense linear algebra on
 * row-major Float64Arrays (Cholesky and LU solves for Newton steps), and the glue that runs an
 * example as a script (progress on stdout, a non-zero exit code when it does not converge).
 */
import { pathToFileURL } from 'node:url';
import { mulberry32 } from '../src/random.js';

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

/** C = A·B for A m×k and B k×n. */
export function matmul(a: Float64Array, b: Float64Array, m: number, k: number, n: number): Float64Array {
  const c = new Float64Array(m * n);
  for (let i = 0; i < m; i++)
    for (let p = 0; p < k; p++) {
      const x = a[i * k + p]!;
      for (let j = 0; j < n; j++) c[i * n + j] += x * b[p * n + j]!;
    }
  return c;
}

export function transpose(a: Float64Array, m: number, n: number): Float64Array {
  const t = new Float64Array(m * n);
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) t[j * m + i] = a[i * n + j]!;
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

/** x with A·x = b by LU with partial pivoting (any invertible A). */
export function solve(a: Float64Array, b: ArrayLike<number>, n: number): Float64Array {
  const m = Float64Array.from(a);
  const x = Float64Array.from(b);
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let i = c + 1; i < n; i++) if (Math.abs(m[i * n + c]!) > Math.abs(m[p * n + c]!)) p = i;
    if (m[p * n + c] === 0) throw new Error('singular system');
    if (p !== c) {
      for (let k = 0; k < n; k++) [m[p * n + k], m[c * n + k]] = [m[c * n + k]!, m[p * n + k]!];
      [x[p], x[c]] = [x[c]!, x[p]!];
    }
    for (let i = c + 1; i < n; i++) {
      const f = m[i * n + c]! / m[c * n + c]!;
      if (f === 0) continue;
      for (let k = c; k < n; k++) m[i * n + k] -= f * m[c * n + k]!;
      x[i] -= f * x[c]!;
    }
  }
  for (let i = n - 1; i >= 0; i--) {
    let s = x[i]!;
    for (let k = i + 1; k < n; k++) s -= m[i * n + k]! * x[k]!;
    x[i] = s / m[i * n + i]!;
  }
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
