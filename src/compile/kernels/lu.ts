/**
 * LU factorisation with partial pivoting (row-major, in place) and what is
 * built on it: solve, inverse, determinant, log-determinant.
 *
 * Factor layout (LAPACK getrf style): after luFactor, the strict lower
 * triangle holds L (unit diagonal implied), the upper triangle holds U, and
 * piv[k] is the row swapped with row k at step k (applied in order k = 0..n-1).
 *
 * A matrix is "singular to working precision" when some pivot |u_kk| is
 * ≤ n * eps * max|A_ij| (which includes an exact 0 pivot and the zero matrix).
 *
 * From n = BLOCKED_MIN_N on, the factorisation and the solves work in panels
 * of NB rows/columns with the O(n³) part in gemm (≈ 3× faster at n = 512 than
 * the unblocked row-by-row elimination).
 */

import { gemm } from './gemm.js';
import { RicciError } from '../../errors.js';

/** Thrown by luFactor / inverse for a matrix that is singular to working precision (an input error). */
export class SingularMatrixError extends RicciError {
  constructor(message = 'matrix is singular to working precision: its inverse does not exist') {
    super('input', message);
    this.name = 'SingularMatrixError';
  }
}

const EPS = Number.EPSILON;
/** Panel width of the blocked factorisation and solves. */
const NB = 48;
/** From this order on, factor and solve by blocks (trailing updates through gemm). */
const BLOCKED_MIN_N = 96;

// Module-level scratch: grown on demand, never shrunk.
let luScratch = new Float64Array(0);
let pivScratch = new Int32Array(0);
function ensureLU(len: number): Float64Array {
  if (luScratch.length < len) luScratch = new Float64Array(len);
  return luScratch;
}
function ensurePiv(len: number): Int32Array {
  if (pivScratch.length < len) pivScratch = new Int32Array(len);
  return pivScratch;
}

/**
 * Factor in place. Returns the permutation sign (±1), or 0 when the matrix is
 * singular (and `throwOnSingular` is false; the factorisation is then partial).
 */
function factor(
  n: number,
  A: Float64Array,
  aOff: number,
  lda: number,
  piv: Int32Array,
  throwOnSingular: boolean,
): number {
  let scale = 0;
  for (let i = 0; i < n; i++) {
    const r = aOff + i * lda;
    for (let j = 0; j < n; j++) {
      const v = Math.abs(A[r + j]);
      if (v > scale) scale = v;
    }
  }
  // A non-finite entry makes the scale meaningless: then only exact zeros count.
  const tol = scale < Infinity ? n * EPS * scale : 0;
  let sign = 1;
  // Right-looking blocked LU (LAPACK getrf order). For each panel of NB
  // columns: factor the panel with partial pivoting (row swaps span whole
  // rows), solve L11 U12 = A12 for the block row of U, then update the
  // trailing matrix A22 -= L21 U12 with gemm. Below BLOCKED_MIN_N one panel
  // covers everything and this is the classic unblocked algorithm.
  const nb = n < BLOCKED_MIN_N ? n : NB;
  for (let k0 = 0; k0 < n; k0 += nb) {
    const k1 = k0 + nb < n ? k0 + nb : n; // panel columns [k0, k1)
    for (let k = k0; k < k1; k++) {
      // Pivot: largest |A(i,k)| for i ≥ k.
      let p = k;
      let best = Math.abs(A[aOff + k * lda + k]);
      for (let i = k + 1, ia = aOff + (k + 1) * lda + k; i < n; i++, ia += lda) {
        const v = Math.abs(A[ia]);
        if (v > best) {
          best = v;
          p = i;
        }
      }
      piv[k] = p;
      // (A NaN pivot is not "singular": the elimination below propagates it.)
      if (best <= tol) {
        if (throwOnSingular) throw new SingularMatrixError();
        return 0;
      }
      const rk = aOff + k * lda;
      if (p !== k) {
        const rp = aOff + p * lda;
        for (let j = 0; j < n; j++) {
          const t = A[rk + j];
          A[rk + j] = A[rp + j];
          A[rp + j] = t;
        }
        sign = -sign;
      }
      const ukk = A[rk + k];
      // Rank-1 update restricted to the panel columns (k, k1), row by row.
      for (let i = k + 1; i < n; i++) {
        const ri = aOff + i * lda;
        const l = A[ri + k] / ukk;
        A[ri + k] = l;
        if (l === 0) continue;
        for (let j = k + 1; j < k1; j++) A[ri + j] -= l * A[rk + j];
      }
    }
    if (k1 === n) break;
    // U12 = L11⁻¹ A12 (unit lower, forward substitution over the block row).
    for (let i = k0 + 1; i < k1; i++) {
      const ri = aOff + i * lda;
      for (let j = k0; j < i; j++) {
        const l = A[ri + j];
        if (l === 0) continue;
        const rj = aOff + j * lda;
        for (let c = k1; c < n; c++) A[ri + c] -= l * A[rj + c];
      }
    }
    // A22 -= L21 U12.
    const m2 = n - k1;
    gemm(false, false, m2, m2, k1 - k0, -1, A, aOff + k1 * lda + k0, lda, A, aOff + k0 * lda + k1, lda, 1, A, aOff + k1 * lda + k1, lda);
  }
  return sign;
}

/**
 * LU-factor the n×n matrix A in place with partial pivoting (see the module
 * comment for the layout). Returns the permutation sign ±1.
 * @throws SingularMatrixError when a pivot is ≤ n*eps*max|A|.
 */
export function luFactor(n: number, A: Float64Array, aOff: number, lda: number, piv: Int32Array): number {
  return factor(n, A, aOff, lda, piv, true);
}

/** Overwrite B (n×nrhs, leading dimension ldb) with A⁻¹B, given luFactor's output. */
export function luSolve(
  n: number,
  nrhs: number,
  LU: Float64Array,
  luOff: number,
  ldlu: number,
  piv: Int32Array,
  B: Float64Array,
  bOff: number,
  ldb: number,
): void {
  // Row interchanges.
  for (let k = 0; k < n; k++) {
    const p = piv[k];
    if (p === k) continue;
    const rk = bOff + k * ldb;
    const rp = bOff + p * ldb;
    for (let j = 0; j < nrhs; j++) {
      const t = B[rk + j];
      B[rk + j] = B[rp + j];
      B[rp + j] = t;
    }
  }
  // Blocks of NB rows (one block for small n / few right-hand sides): the
  // coupling to the already solved rows goes through gemm, the rest is
  // substitution within the block.
  const nb = n >= BLOCKED_MIN_N && nrhs >= 8 ? NB : n;
  // Forward substitution with unit-lower L.
  for (let i0 = 0; i0 < n; i0 += nb) {
    const i1 = i0 + nb < n ? i0 + nb : n;
    if (i0 > 0) {
      // B(I,:) -= L(I, 0:i0) B(0:i0, :)
      gemm(false, false, i1 - i0, nrhs, i0, -1, LU, luOff + i0 * ldlu, ldlu, B, bOff, ldb, 1, B, bOff + i0 * ldb, ldb);
    }
    for (let i = i0 + 1; i < i1; i++) {
      const li = luOff + i * ldlu;
      const bi = bOff + i * ldb;
      for (let j = i0; j < i; j++) {
        const l = LU[li + j];
        if (l === 0) continue;
        const bj = bOff + j * ldb;
        for (let c = 0; c < nrhs; c++) B[bi + c] -= l * B[bj + c];
      }
    }
  }
  // Back substitution with U, bottom block first.
  const last = Math.floor((n - 1) / nb) * nb;
  for (let i0 = last; i0 >= 0; i0 -= nb) {
    const i1 = i0 + nb < n ? i0 + nb : n;
    if (i1 < n) {
      // B(I,:) -= U(I, i1:n) B(i1:n, :)
      gemm(false, false, i1 - i0, nrhs, n - i1, -1, LU, luOff + i0 * ldlu + i1, ldlu, B, bOff + i1 * ldb, ldb, 1, B, bOff + i0 * ldb, ldb);
    }
    for (let i = i1 - 1; i >= i0; i--) {
      const ui = luOff + i * ldlu;
      const bi = bOff + i * ldb;
      for (let j = i + 1; j < i1; j++) {
        const u = LU[ui + j];
        if (u === 0) continue;
        const bj = bOff + j * ldb;
        for (let c = 0; c < nrhs; c++) B[bi + c] -= u * B[bj + c];
      }
      const d = LU[ui + i];
      for (let c = 0; c < nrhs; c++) B[bi + c] /= d;
    }
  }
}

/** Copy the n×n matrix A into the contiguous LU scratch (ld n). */
function copyToScratch(n: number, A: Float64Array, aOff: number, lda: number): Float64Array {
  const W = ensureLU(n * n);
  for (let i = 0; i < n; i++) {
    const r = aOff + i * lda;
    const w = i * n;
    for (let j = 0; j < n; j++) W[w + j] = A[r + j];
  }
  return W;
}

/**
 * out(n×n, leading dimension ldo) = A⁻¹. A is not modified (it is copied into
 * scratch first, so out may be A itself).
 * @throws SingularMatrixError for a matrix singular to working precision.
 */
export function inverse(
  n: number,
  A: Float64Array,
  aOff: number,
  lda: number,
  out: Float64Array,
  outOff: number,
  ldo: number,
): void {
  if (n <= 0) return;
  const W = copyToScratch(n, A, aOff, lda);
  const piv = ensurePiv(n);
  factor(n, W, 0, n, piv, true);
  for (let i = 0; i < n; i++) {
    const r = outOff + i * ldo;
    for (let j = 0; j < n; j++) out[r + j] = i === j ? 1 : 0;
  }
  luSolve(n, n, W, 0, n, piv, out, outOff, ldo);
}

/** det(A) of the n×n matrix A (not modified); 0 for a singular matrix. det of 0×0 is 1. */
export function det(n: number, A: Float64Array, aOff: number, lda: number): number {
  if (n <= 0) return 1;
  const W = copyToScratch(n, A, aOff, lda);
  const sign = factor(n, W, 0, n, ensurePiv(n), false);
  if (sign === 0) return 0;
  let d = sign;
  for (let i = 0; i < n; i++) d *= W[i * n + i];
  return d;
}

/**
 * log|det A| and sign(det A), as Σ log|u_ii| (no overflow for large n).
 * A singular matrix gives { logAbs: -Infinity, sign: 0 }.
 */
export function logAbsDet(n: number, A: Float64Array, aOff: number, lda: number): { logAbs: number; sign: number } {
  if (n <= 0) return { logAbs: 0, sign: 1 };
  const W = copyToScratch(n, A, aOff, lda);
  let sign = factor(n, W, 0, n, ensurePiv(n), false);
  if (sign === 0) return { logAbs: -Infinity, sign: 0 };
  let logAbs = 0;
  for (let i = 0; i < n; i++) {
    const u = W[i * n + i];
    if (u < 0) sign = -sign;
    logAbs += Math.log(Math.abs(u));
  }
  return { logAbs, sign };
}
