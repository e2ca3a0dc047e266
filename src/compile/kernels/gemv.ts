/**
 * Level-2 kernels: matrix-vector product and rank-1 update. A is stored m×n
 * row-major with leading dimension lda; vectors are strided (see blas1.ts).
 */

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
  if (!trans) {
    // One dot product per row; rows of A are contiguous.
    for (let i = 0, iy = yOff; i < m; i++, iy += incy) {
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
  for (let i = 0, ix = xOff; i < m; i++, ix += incx) {
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
