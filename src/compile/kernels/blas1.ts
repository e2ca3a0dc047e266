/**
 * Level-1 vector kernels. Element i of a strided vector x lives at
 * x[xOff + i*incx]; the caller picks the offset (a negative increment walks
 * backwards from xOff). Nothing here allocates.
 */

/** Σ x_i y_i. */
export function dot(
  n: number,
  x: Float64Array,
  xOff: number,
  incx: number,
  y: Float64Array,
  yOff: number,
  incy: number,
): number {
  if (incx === 1 && incy === 1) {
    // Four independent partial sums: shorter dependency chains.
    let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    let i = 0;
    for (; i + 3 < n; i += 4) {
      s0 += x[xOff + i] * y[yOff + i];
      s1 += x[xOff + i + 1] * y[yOff + i + 1];
      s2 += x[xOff + i + 2] * y[yOff + i + 2];
      s3 += x[xOff + i + 3] * y[yOff + i + 3];
    }
    for (; i < n; i++) s0 += x[xOff + i] * y[yOff + i];
    return s0 + s1 + (s2 + s3);
  }
  let s = 0;
  for (let i = 0, ix = xOff, iy = yOff; i < n; i++, ix += incx, iy += incy) s += x[ix] * y[iy];
  return s;
}

/** y += alpha * x. */
export function axpy(
  n: number,
  alpha: number,
  x: Float64Array,
  xOff: number,
  incx: number,
  y: Float64Array,
  yOff: number,
  incy: number,
): void {
  if (alpha === 0) return;
  if (incx === 1 && incy === 1) {
    for (let i = 0; i < n; i++) y[yOff + i] += alpha * x[xOff + i];
    return;
  }
  for (let i = 0, ix = xOff, iy = yOff; i < n; i++, ix += incx, iy += incy) y[iy] += alpha * x[ix];
}

/** x *= alpha. alpha = 0 writes zeros (NaN in x is not propagated). */
export function scal(n: number, alpha: number, x: Float64Array, xOff: number, incx: number): void {
  if (alpha === 1) return;
  if (alpha === 0) {
    fill(n, 0, x, xOff, incx);
    return;
  }
  for (let i = 0, ix = xOff; i < n; i++, ix += incx) x[ix] *= alpha;
}

/** y = x. */
export function copy(
  n: number,
  x: Float64Array,
  xOff: number,
  incx: number,
  y: Float64Array,
  yOff: number,
  incy: number,
): void {
  if (incx === 1 && incy === 1) {
    if (x === y) {
      // Same buffer: copyWithin handles overlap like memmove.
      if (xOff !== yOff) x.copyWithin(yOff, xOff, xOff + n);
      return;
    }
    for (let i = 0; i < n; i++) y[yOff + i] = x[xOff + i];
    return;
  }
  for (let i = 0, ix = xOff, iy = yOff; i < n; i++, ix += incx, iy += incy) y[iy] = x[ix];
}

/** x_i = value. */
export function fill(n: number, value: number, x: Float64Array, xOff: number, incx: number): void {
  if (incx === 1) {
    x.fill(value, xOff, xOff + n);
    return;
  }
  for (let i = 0, ix = xOff; i < n; i++, ix += incx) x[ix] = value;
}
