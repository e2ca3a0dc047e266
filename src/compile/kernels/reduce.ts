/**
 * Reductions over strided vectors and row-major matrices.
 */

/** Σ x_i. */
export function sum(n: number, x: Float64Array, xOff: number, incx: number): number {
  if (incx === 1) {
    let s0 = 0, s1 = 0;
    let i = 0;
    for (; i + 1 < n; i += 2) {
      s0 += x[xOff + i];
      s1 += x[xOff + i + 1];
    }
    if (i < n) s0 += x[xOff + i];
    return s0 + s1;
  }
  let s = 0;
  for (let i = 0, ix = xOff; i < n; i++, ix += incx) s += x[ix];
  return s;
}

/** Σ x_i² (norm2 = sqrt(sumsq)). */
export function sumsq(n: number, x: Float64Array, xOff: number, incx: number): number {
  let s0 = 0, s1 = 0;
  if (incx === 1) {
    let i = 0;
    for (; i + 1 < n; i += 2) {
      const a = x[xOff + i];
      const b = x[xOff + i + 1];
      s0 += a * a;
      s1 += b * b;
    }
    if (i < n) {
      const a = x[xOff + i];
      s0 += a * a;
    }
    return s0 + s1;
  }
  for (let i = 0, ix = xOff; i < n; i++, ix += incx) {
    const a = x[ix];
    s0 += a * a;
  }
  return s0;
}

/** Σ |x_i| (norm1). */
export function asum(n: number, x: Float64Array, xOff: number, incx: number): number {
  let s = 0;
  for (let i = 0, ix = xOff; i < n; i++, ix += incx) s += Math.abs(x[ix]);
  return s;
}

/** Σ A_ii of the n×n matrix A. */
export function trace(n: number, A: Float64Array, aOff: number, lda: number): number {
  let s = 0;
  for (let i = 0, ia = aOff; i < n; i++, ia += lda + 1) s += A[ia];
  return s;
}

/** out_i = Σ_j A_ij for the m×n matrix A (out has m entries, contiguous). */
export function rowSums(
  m: number,
  n: number,
  A: Float64Array,
  aOff: number,
  lda: number,
  out: Float64Array,
  outOff: number,
): void {
  for (let i = 0; i < m; i++) out[outOff + i] = sum(n, A, aOff + i * lda, 1);
}

/** out_j = Σ_i A_ij for the m×n matrix A (out has n entries, contiguous). */
export function colSums(
  m: number,
  n: number,
  A: Float64Array,
  aOff: number,
  lda: number,
  out: Float64Array,
  outOff: number,
): void {
  for (let j = 0; j < n; j++) out[outOff + j] = 0;
  for (let i = 0; i < m; i++) {
    const r = aOff + i * lda;
    for (let j = 0; j < n; j++) out[outOff + j] += A[r + j];
  }
}
