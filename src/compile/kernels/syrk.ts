/**
 * Symmetric products (syrk-like) computed once per triangle, then mirrored:
 *
 *   xtdx: C(n×n) = alpha * X' diag(d) X + beta * C     (X is m×n)
 *   xdxt: C(m×m) = alpha * X diag(d) X' + beta * C     (X is m×n)
 *
 * d = null means the identity (X'X, XX'). Only the upper triangle of C is read
 * (for beta ≠ 0); the whole of C is written, symmetric. beta = 0 does not read
 * C. C must not overlap X or d.
 *
 * On the WebAssembly kernel (gemm.ts decides, as for a gemm of the same
 * shape), d is applied while X is packed and only the tiles that touch the
 * upper triangle are computed (wasm/gemmWasm.ts), split across workers where
 * memory can be shared. The plain TS path scales X by d into a module-level
 * scratch buffer and runs the gemm machinery on row blocks of the upper
 * triangle (each block computes its diagonal tile in full). Either way
 * roughly half the flops of a full gemm are spent.
 */

import { gemm, wasmTakes } from './gemm.js';
import { xdxtUpperWasm, xtdxUpperWasm } from './wasm/gemmWasm.js';

/** Row-block height of the blocked path. */
const NB = 64;
/** Use the blocked path when the output dimension and depth reach these. */
const BLOCKED_MIN_N = 8;
const BLOCKED_MIN_K = 4;

let scratch = new Float64Array(0);
function ensureScratch(len: number): Float64Array {
  if (scratch.length < len) scratch = new Float64Array(Math.max(len, scratch.length * 2));
  return scratch;
}

/** Copy the strict upper triangle of the n×n matrix C onto the lower one. */
export function mirrorUpper(n: number, C: Float64Array, cOff: number, ldc: number): void {
  // Blocked so that the column walk of the lower triangle stays in cache.
  const T = 32;
  for (let i0 = 0; i0 < n; i0 += T) {
    const i1 = i0 + T < n ? i0 + T : n;
    for (let j0 = i0; j0 < n; j0 += T) {
      const j1 = j0 + T < n ? j0 + T : n;
      for (let i = i0; i < i1; i++) {
        const r = cOff + i * ldc;
        for (let j = j0 > i + 1 ? j0 : i + 1; j < j1; j++) C[cOff + j * ldc + i] = C[r + j];
      }
    }
  }
}

/** beta * (upper triangle of C), beta = 0 writes zeros. */
function scaleUpper(n: number, beta: number, C: Float64Array, cOff: number, ldc: number): void {
  if (beta === 1) return;
  for (let i = 0; i < n; i++) {
    const r = cOff + i * ldc;
    for (let j = i; j < n; j++) C[r + j] = beta === 0 ? 0 : beta * C[r + j];
  }
}

/** C(n×n) = alpha * X' diag(d) X + beta * C, X m×n, d of length m (or null). */
export function xtdx(
  m: number,
  n: number,
  X: Float64Array,
  xOff: number,
  ldx: number,
  d: Float64Array | null,
  dOff: number,
  alpha: number,
  beta: number,
  C: Float64Array,
  cOff: number,
  ldc: number,
): void {
  if (n <= 0) return;
  if (m <= 0 || alpha === 0) {
    scaleUpper(n, beta, C, cOff, ldc);
    mirrorUpper(n, C, cOff, ldc);
    return;
  }
  if (m < BLOCKED_MIN_K && beta === 0) {
    // Few rows of X: rank-1 updates of every entry, rows in order, no strided mirror pass.
    for (let p = 0; p < m; p++) {
      const xr = xOff + p * ldx;
      const w = d === null ? alpha : alpha * d[dOff + p];
      for (let i = 0; i < n; i++) {
        // w·(x_i·x_j): C is exactly symmetric.
        const t = X[xr + i];
        const r = cOff + i * ldc;
        if (p === 0) for (let j = 0; j < n; j++) C[r + j] = w * (t * X[xr + j]);
        else for (let j = 0; j < n; j++) C[r + j] += w * (t * X[xr + j]);
      }
    }
    return;
  }
  if (n < BLOCKED_MIN_N || m < BLOCKED_MIN_K) {
    // Direct: for each row p of X, C(i, j≥i) += alpha d_p X(p,i) X(p,j).
    scaleUpper(n, beta, C, cOff, ldc);
    for (let p = 0; p < m; p++) {
      const xr = xOff + p * ldx;
      const w = d === null ? alpha : alpha * d[dOff + p];
      if (w === 0) continue;
      for (let i = 0; i < n; i++) {
        const t = w * X[xr + i];
        const r = cOff + i * ldc;
        for (let j = i; j < n; j++) C[r + j] += t * X[xr + j];
      }
    }
    mirrorUpper(n, C, cOff, ldc);
    return;
  }
  if (wasmTakes(n, n, m)) {
    if (!xtdxUpperWasm(m, n, X, xOff, ldx, d, dOff, alpha, beta, C, cOff, ldc)) mirrorUpper(n, C, cOff, ldc);
    return;
  }
  // Y = diag(d) X (m×n, ld n) in scratch; with d = null use X itself.
  let Y = X;
  let yOff = xOff;
  let ldy = ldx;
  if (d !== null) {
    Y = ensureScratch(m * n);
    yOff = 0;
    ldy = n;
    for (let p = 0; p < m; p++) {
      const w = d[dOff + p];
      const xr = xOff + p * ldx;
      const yr = p * n;
      for (let j = 0; j < n; j++) Y[yr + j] = w * X[xr + j];
    }
  }
  // Row block I = [i0, i0+nb): C(I, i0:n) = alpha X(:,I)' Y(:, i0:n) + beta C.
  for (let i0 = 0; i0 < n; i0 += NB) {
    const nb = n - i0 < NB ? n - i0 : NB;
    gemm(true, false, nb, n - i0, m, alpha, X, xOff + i0, ldx, Y, yOff + i0, ldy, beta, C, cOff + i0 * ldc + i0, ldc);
  }
  mirrorUpper(n, C, cOff, ldc);
}

/** C(m×m) = alpha * X diag(d) X' + beta * C, X m×n, d of length n (or null). */
export function xdxt(
  m: number,
  n: number,
  X: Float64Array,
  xOff: number,
  ldx: number,
  d: Float64Array | null,
  dOff: number,
  alpha: number,
  beta: number,
  C: Float64Array,
  cOff: number,
  ldc: number,
): void {
  if (m <= 0) return;
  if (n <= 0 || alpha === 0) {
    scaleUpper(m, beta, C, cOff, ldc);
    mirrorUpper(m, C, cOff, ldc);
    return;
  }
  if (n < BLOCKED_MIN_K && beta === 0) {
    // A thin X (W·W' of n×2 coordinates): every entry directly, rows written in order — half
    // the flops again, but no strided mirror pass (which costs more than 2k flops per entry).
    for (let i = 0; i < m; i++) {
      const xi = xOff + i * ldx;
      const r = cOff + i * ldc;
      if (n <= 2) {
        // The row's entries in registers; products formed as x_i·x_j so that C is exactly symmetric.
        const x0 = X[xi];
        const x1 = n === 2 ? X[xi + 1] : 0;
        const d0 = d === null ? 1 : d[dOff];
        const d1 = d === null || n < 2 ? 1 : d[dOff + 1];
        if (n === 2) for (let j = 0, xj = xOff; j < m; j++, xj += ldx) C[r + j] = alpha * (d0 * (x0 * X[xj]) + d1 * (x1 * X[xj + 1]));
        else for (let j = 0, xj = xOff; j < m; j++, xj += ldx) C[r + j] = alpha * (d0 * (x0 * X[xj]));
        continue;
      }
      for (let j = 0, xj = xOff; j < m; j++, xj += ldx) {
        let s = 0;
        if (d === null) for (let p = 0; p < n; p++) s += X[xi + p] * X[xj + p];
        else for (let p = 0; p < n; p++) s += d[dOff + p] * (X[xi + p] * X[xj + p]);
        C[r + j] = alpha * s;
      }
    }
    return;
  }
  if (m < BLOCKED_MIN_N || n < BLOCKED_MIN_K) {
    // Direct: C(i, j≥i) = alpha Σ_p X(i,p) d_p X(j,p) + beta C(i,j).
    for (let i = 0; i < m; i++) {
      const xi = xOff + i * ldx;
      const r = cOff + i * ldc;
      for (let j = i; j < m; j++) {
        const xj = xOff + j * ldx;
        let s = 0;
        if (d === null) {
          for (let p = 0; p < n; p++) s += X[xi + p] * X[xj + p];
        } else {
          for (let p = 0; p < n; p++) s += X[xi + p] * d[dOff + p] * X[xj + p];
        }
        C[r + j] = beta === 0 ? alpha * s : alpha * s + beta * C[r + j];
      }
    }
    mirrorUpper(m, C, cOff, ldc);
    return;
  }
  if (wasmTakes(m, m, n)) {
    if (!xdxtUpperWasm(m, n, X, xOff, ldx, d, dOff, alpha, beta, C, cOff, ldc)) mirrorUpper(m, C, cOff, ldc);
    return;
  }
  // Y = X diag(d) (m×n, ld n) in scratch; with d = null use X itself.
  let Y = X;
  let yOff = xOff;
  let ldy = ldx;
  if (d !== null) {
    Y = ensureScratch(m * n);
    yOff = 0;
    ldy = n;
    for (let p = 0; p < m; p++) {
      const xr = xOff + p * ldx;
      const yr = p * n;
      for (let j = 0; j < n; j++) Y[yr + j] = X[xr + j] * d[dOff + j];
    }
  }
  // Row block I: C(I, i0:m) = alpha X(I,:) Y(i0:m, :)' + beta C.
  for (let i0 = 0; i0 < m; i0 += NB) {
    const nb = m - i0 < NB ? m - i0 : NB;
    gemm(false, true, nb, m - i0, n, alpha, X, xOff + i0 * ldx, ldx, Y, yOff + i0 * ldy, ldy, beta, C, cOff + i0 * ldc + i0, ldc);
  }
  mirrorUpper(m, C, cOff, ldc);
}
