/**
 * Level-2 kernels: matrix-vector product and rank-1 update. A is stored m×n
 * row-major with leading dimension lda; vectors are strided (see blas1.ts).
 *
 * A large gemv (from THIN_MIN_ENTRIES entries of A) runs on the WebAssembly thin kernel where
 * it is available (wasm/thinWasm.ts: A copied by memcpy and read in f64x2 streams, ≈ 2.5× the
 * JS loops below at 1000×1000); the JS loops are the fallback and serve small products.
 */
import { getGemmBackend } from './gemm.js';
import { thinTakes, thinWasm } from './wasm/thinWasm.js';

/**
 * y = alpha * op(A) * x + beta * y, A stored m×n.
 * trans = false: x has n entries, y has m. trans = true: x has m, y has n.
 * beta = 0 does not read y (NaN garbage is overwritten).
 */
export function gemv(
  trans: boolean,
  m: number,
  n: number,
  alpha: number,
  A: Float64Array,
  aOff: number,
  lda: number,
  x: Float64Array,
  xOff: number,
  incx: number,
  beta: number,
  y: Float64Array,
  yOff: number,
  incy: number,
): void {
  const leny = trans ? n : m;
  if (leny <= 0) return;
  if (getGemmBackend() === 'auto' && m > 0 && n > 0 && thinTakes(m * n, 1)) {
    // op(A) is leny × (the other dimension); x is its one column.
    if (thinWasm(trans, leny, trans ? m : n, 1, alpha, A, aOff, lda, x, xOff, incx, 0, beta, y, yOff, incy, 0)) return;
  }
  if (!trans) {
    // One dot product per row; rows of A are contiguous. Four rows at a time with a contiguous
    // x: each x_j is loaded once for four multiply-adds (the loop is load-bound in JS).
    let i = 0;
    if (incx === 1) {
      for (let iy = yOff; i + 3 < m; i += 4, iy += 4 * incy) {
        const r0 = aOff + i * lda;
        const r1 = r0 + lda;
        const r2 = r1 + lda;
        const r3 = r2 + lda;
        let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        for (let j = 0; j < n; j++) {
          const xj = x[xOff + j];
          s0 += A[r0 + j] * xj;
          s1 += A[r1 + j] * xj;
          s2 += A[r2 + j] * xj;
          s3 += A[r3 + j] * xj;
        }
        y[iy] = beta === 0 ? alpha * s0 : alpha * s0 + beta * y[iy];
        y[iy + incy] = beta === 0 ? alpha * s1 : alpha * s1 + beta * y[iy + incy];
        y[iy + 2 * incy] = beta === 0 ? alpha * s2 : alpha * s2 + beta * y[iy + 2 * incy];
        y[iy + 3 * incy] = beta === 0 ? alpha * s3 : alpha * s3 + beta * y[iy + 3 * incy];
      }
    }
    for (let iy = yOff + i * incy; i < m; i++, iy += incy) {
      const r = aOff + i * lda;
      let s0 = 0, s1 = 0;
      if (incx === 1) {
        let j = 0;
        for (; j + 1 < n; j += 2) {
          s0 += A[r + j] * x[xOff + j];
          s1 += A[r + j + 1] * x[xOff + j + 1];
        }
        if (j < n) s0 += A[r + j] * x[xOff + j];
      } else {
        for (let j = 0, ix = xOff; j < n; j++, ix += incx) s0 += A[r + j] * x[ix];
      }
      const s = alpha * (s0 + s1);
      y[iy] = beta === 0 ? s : s + beta * y[iy];
    }
    return;
  }
  // y = beta*y, then y += (alpha*x_i) * A(i,:) row by row.
  if (beta === 0) {
    for (let j = 0, iy = yOff; j < n; j++, iy += incy) y[iy] = 0;
  } else if (beta !== 1) {
    for (let j = 0, iy = yOff; j < n; j++, iy += incy) y[iy] *= beta;
  }
  if (alpha === 0) return;
  let i = 0;
  if (incy === 1) {
    // Four rows at a time: y is loaded and stored once per four rows (the loop is load-bound).
    for (let ix = xOff; i + 3 < m; i += 4, ix += 4 * incx) {
      const t0 = alpha * x[ix];
      const t1 = alpha * x[ix + incx];
      const t2 = alpha * x[ix + 2 * incx];
      const t3 = alpha * x[ix + 3 * incx];
      const r0 = aOff + i * lda;
      const r1 = r0 + lda;
      const r2 = r1 + lda;
      const r3 = r2 + lda;
      for (let j = 0; j < n; j++) y[yOff + j] += t0 * A[r0 + j] + t1 * A[r1 + j] + t2 * A[r2 + j] + t3 * A[r3 + j];
    }
  }
  for (let ix = xOff + i * incx; i < m; i++, ix += incx) {
    const t = alpha * x[ix];
    const r = aOff + i * lda;
    if (incy === 1) {
      for (let j = 0; j < n; j++) y[yOff + j] += t * A[r + j];
    } else {
      for (let j = 0, iy = yOff; j < n; j++, iy += incy) y[iy] += t * A[r + j];
    }
  }
}

/** A(m×n) += alpha * x * y'. */
export function ger(
  m: number,
  n: number,
  alpha: number,
  x: Float64Array,
  xOff: number,
  incx: number,
  y: Float64Array,
  yOff: number,
  incy: number,
  A: Float64Array,
  aOff: number,
  lda: number,
): void {
  if (alpha === 0) return;
  for (let i = 0, ix = xOff; i < m; i++, ix += incx) {
    const t = alpha * x[ix];
    const r = aOff + i * lda;
    if (incy === 1) {
      for (let j = 0; j < n; j++) A[r + j] += t * y[yOff + j];
    } else {
      for (let j = 0, iy = yOff; j < n; j++, iy += incy) A[r + j] += t * y[iy];
    }
  }
}
