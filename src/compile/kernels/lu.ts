/**
 * LU factorisation with scaled partial pivoting (row-major, in place) and what is
 * built on it: solve, inverse, determinant, log-determinant.
 *
 * Factor layout (LAPACK getrf style): after luFactor, the strict lower
 * triangle holds L (unit diagonal implied), the upper triangle holds U, and
 * piv[k] is the row swapped with row k at step k (applied in order k = 0..n-1).
 *
 * Singular to working precision — decided per pivot, whatever the scale of A's rows and
 * columns. Pivot u_kk is computed as a_kk − Σ_{j<k} l_kj·u_jk; its rounding error is a few eps
 * times S_k = |u_kk| + Σ_{j<k} |l_kj·u_jk|, the size of what was added up. A pivot that is exactly
 * 0 or at most 32·n·eps·S_k is rounding noise: A is singular to working precision. Scaling a row
 * or a column of A scales u_kk and every term of S_k alike, so a diagonal or triangular matrix
 * with entries from 1e-150 to 1e150, diag(e^30, e^-30), or any D1·M·D2 with M regular, is as
 * regular as M (the old global threshold n·eps·max|A| called them singular), and a singular
 * matrix stays singular however it is scaled. Rows are chosen as pivots by scaled partial
 * pivoting (the largest |a_ik|·2^-e_i, 2^e_i the size of row i's largest entry), which is partial
 * pivoting on the row-equilibrated matrix. A matrix with a non-finite entry: only an exact zero
 * pivot is singular (NaN and ∞ propagate).
 *
 * det and log|det| come from the pivots without overflow or underflow through the product:
 * log|det| = Σ log|u_kk|, det as a mantissa and a binary exponent.
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

/**
 * The error for fn(M) at a matrix M that is singular to working precision, naming M as the
 * user's text (or the printed form) does: "inv(X'*X): the matrix is singular …".
 */
export function singularMatrix(fn: 'inv' | 'logdet', matrix: string): SingularMatrixError {
  const what = fn === 'inv' ? 'it has no inverse' : 'its log-determinant is -∞';
  return new SingularMatrixError(`${fn}(${matrix}): the matrix is singular to working precision, so ${what}`);
}

const EPS = Number.EPSILON;
/**
 * A pivot at most SINGULAR_PIVOT·n·eps·S_k is rounding noise (module comment). The last pivot of
 * an exactly singular matrix is not within n·eps·S_k but up to a few hundred eps·S_k. Measured on
 * random rank-deficient products X·Y and Grams X'X (300 of each per size, n = 2…16; 40 at 32, 64),
 * all but 0–0.7 % fall below 32·n·eps·S_k (one of 40 at n = 32); the rest have a nearly singular
 * leading block, which amplifies the noise, and are taken as regular with a condition number of
 * about 1/eps. A regular matrix is refused from a condition number of about 1/(32·n·eps) on
 * (2·10¹³ at n = 8).
 */
export const SINGULAR_PIVOT = 32;
/** Panel width of the blocked factorisation and solves. */
const NB = 48;
/** From this order on, factor and solve by blocks (trailing updates through gemm). */
const BLOCKED_MIN_N = 96;

// Module-level scratch: grown on demand, never shrunk.
let luScratch = new Float64Array(0);
let pivScratch = new Int32Array(0);
let weightScratch = new Float64Array(0);
function ensureLU(len: number): Float64Array {
  if (luScratch.length < len) luScratch = new Float64Array(len);
  return luScratch;
}
function ensurePiv(len: number): Int32Array {
  if (pivScratch.length < len) pivScratch = new Int32Array(len);
  return pivScratch;
}
function ensureScales(n: number): void {
  if (weightScratch.length < n) weightScratch = new Float64Array(n);
}

// Binary exponents read and written through the bits of a double (little-endian: word 1 holds
// sign and exponent) — Math.log2 and 2 ** k cost more than the factorisation of a small matrix.
const bits = new Float64Array(1);
const words = new Uint32Array(bits.buffer);

/** e with 2^e ≤ |x| < 2^(e+1) for finite x ≠ 0 (subnormals: -1023, close enough for a scale). */
export function binaryExponent(x: number): number {
  bits[0] = x;
  return ((words[1]! >>> 20) & 0x7ff) - 1023;
}

/** 2^k for an integer k in [-1022, 1023]. */
function pow2(k: number): number {
  words[0] = 0;
  words[1] = (k + 1023) << 20;
  return bits[0]!;
}

/** x·2^k for any integer k, in steps that neither overflow nor underflow on the way to a representable result. */
export function ldexp(x: number, k: number): number {
  while (k > 1000) {
    x *= pow2(1000);
    k -= 1000;
  }
  while (k < -1000) {
    x *= pow2(-1000);
    k += 1000;
  }
  return x * pow2(k);
}

/**
 * The pivoting weight 2^-e_i of each row (2^e_i ≤ its largest |entry| < 2^(e_i+1)) into the
 * scratch array. False when a row is zero (exactly singular), null when an entry is not finite.
 */
function rowWeights(n: number, A: Float64Array, aOff: number, lda: number): boolean | null {
  ensureScales(n);
  const w = weightScratch;
  for (let i = 0; i < n; i++) {
    const r = aOff + i * lda;
    let big = 0;
    for (let j = 0; j < n; j++) {
      const v = Math.abs(A[r + j]);
      if (v > big) big = v;
      else if (v !== v) big = NaN;
    }
    if (!(big <= Number.MAX_VALUE)) {
      w.fill(1, 0, n); // ∞ or NaN: no meaningful scale
      return null;
    }
    if (big === 0) return false;
    w[i] = pow2(Math.min(1023, Math.max(-1022, -binaryExponent(big))));
  }
  return true;
}

function singular(throwOnSingular: boolean): number {
  if (throwOnSingular) throw new SingularMatrixError();
  return 0;
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
  const finite = rowWeights(n, A, aOff, lda);
  if (finite === false) return singular(throwOnSingular);
  const w = weightScratch;
  const tol = finite ? SINGULAR_PIVOT * n * EPS : 0;
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
      // Pivot: largest |A(i,k)|·w_i for i ≥ k (partial pivoting on the row-equilibrated matrix).
      let p = k;
      let best = Math.abs(A[aOff + k * lda + k]) * w[k];
      for (let i = k + 1, ia = aOff + (k + 1) * lda + k; i < n; i++, ia += lda) {
        const v = Math.abs(A[ia]) * w[i];
        if (v > best) {
          best = v;
          p = i;
        }
      }
      piv[k] = p;
      const rk = aOff + k * lda;
      if (p !== k) {
        const rp = aOff + p * lda;
        for (let j = 0; j < n; j++) {
          const t = A[rk + j];
          A[rk + j] = A[rp + j];
          A[rp + j] = t;
        }
        const t = w[k];
        w[k] = w[p];
        w[p] = t;
        sign = -sign;
      }
      const ukk = A[rk + k];
      // S_k = |u_kk| + Σ_{j<k} |l_kj·u_jk| (L and U of earlier columns are final, also across
      // panels). A NaN pivot is not "singular": the elimination propagates it.
      if (ukk === 0) return singular(throwOnSingular);
      if (tol > 0) {
        let size = Math.abs(ukk);
        for (let j = 0, ju = aOff + k; j < k; j++, ju += lda) size += Math.abs(A[rk + j] * A[ju]);
        if (Math.abs(ukk) <= tol * size) return singular(throwOnSingular);
      }
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
 * LU-factor the n×n matrix A in place with scaled partial pivoting (see the module
 * comment for the layout). Returns the permutation sign ±1.
 * @throws SingularMatrixError when A is singular to working precision (module comment).
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

const BIG = 2 ** 500;
const SMALL = 2 ** -500;
function inRange(x: number): boolean {
  return Math.abs(x) <= BIG && Math.abs(x) >= SMALL;
}

/**
 * det(A) of the n×n matrix A (not modified); 0 for a matrix singular to working precision (the
 * same decision as inverse's), det of 0×0 is 1. The product of the pivots is kept as a mantissa
 * in [1, 2) and a binary exponent, so only a determinant outside the range of doubles over- or
 * underflows (to ±Infinity or 0), never an intermediate product.
 */
export function det(n: number, A: Float64Array, aOff: number, lda: number): number {
  if (n <= 0) return 1;
  const W = copyToScratch(n, A, aOff, lda);
  const sign = factor(n, W, 0, n, ensurePiv(n), false);
  if (sign === 0) return 0;
  // Factors and the running product are brought into [2^-500, 2^500] (by their binary exponent)
  // only when they leave it, so a product of two never over- or underflows.
  let m: number = sign;
  let exp = 0;
  for (let i = 0; i < n; i++) {
    let u = W[i * n + i];
    if (!inRange(u)) {
      const eu = binaryExponent(u); // (NaN and ∞ pivots propagate through ldexp)
      u = ldexp(u, -eu);
      exp += eu;
    }
    m *= u;
    if (!inRange(m)) {
      const em = binaryExponent(m);
      m = ldexp(m, -em);
      exp += em;
    }
  }
  return ldexp(m, exp);
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
