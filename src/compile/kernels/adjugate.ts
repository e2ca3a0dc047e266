/**
 * The adjugate adj(A) (transposed cofactor matrix, A·adj(A) = det(A)·I), defined and computed at
 * every matrix, singular ones included — it is the derivative of det.
 *
 * From an LU factorisation with complete pivoting P·B·Q = L·U of B, the matrix A equilibrated by
 * powers of 2 (B = R·A·C, as in lu.ts; a zero row or column keeps scale 1). Complete pivoting
 * puts the smallest pivot last: U = [U₁ b; 0 δ] with U₁ regular unless the rank is ≤ n − 2. Then
 *   adj(U) = det(U₁)·[δ·U₁⁻¹, −U₁⁻¹b; 0, 1]       (U·adj(U) = det(U₁)·δ·I = det(U)·I)
 *   adj(B) = adj(Q⁻¹)·adj(U)·adj(L)·adj(P⁻¹) = det(P)det(Q)·Q·adj(U)·L⁻¹·P
 *   adj(A) = adj(R⁻¹BC⁻¹) = 2^(Σe+Σf)·C·adj(B)·R   (exact: R, C are powers of 2)
 * This is a polynomial in δ, so δ = 0 (rank n − 1) needs nothing special: adj is then the rank-one
 * matrix of the null vectors. Elimination meeting an exactly zero remaining block before the last
 * step means rank ≤ n − 2, where every (n−1)-minor and so adj(A) is 0. No tolerance is involved:
 * a rounding-level δ or a nearly singular U₁ only gives rounding-level entries, since each factor
 * 1/u_kk of U₁⁻¹ meets its u_kk in det(U₁). det(U₁) is kept as a mantissa and a binary exponent,
 * so no intermediate over- or underflows. A non-finite entry gives NaN everywhere.
 */
import { binaryExponent, ldexp } from './lu.js';

// Module-level scratch: grown on demand, never shrunk.
let work = new Float64Array(0);
let ints = new Int32Array(0);
let exps = new Float64Array(0);
let vecs = new Float64Array(0);

/** out (n×n, leading dimension ldo) = adj(A) for the n×n matrix A (not modified; out may not alias A). */
export function adjugate(n: number, A: Float64Array, aOff: number, lda: number, out: Float64Array, outOff: number, ldo: number): void {
  if (n <= 0) return;
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) out[outOff + i * ldo + j] = 0;
  if (work.length < 3 * n * n) work = new Float64Array(3 * n * n);
  if (ints.length < 2 * n) ints = new Int32Array(2 * n);
  if (exps.length < 2 * n) {
    exps = new Float64Array(2 * n);
    vecs = new Float64Array(2 * n);
  }
  const B = work; // B, then its LU factors in place
  const Linv = work.subarray(n * n, 2 * n * n);
  const Y = work.subarray(2 * n * n, 3 * n * n);
  const rows = ints.subarray(0, n); // rows[k]: the row of B at position k
  const cols = ints.subarray(n, 2 * n);
  const e = exps.subarray(0, n);
  const f = exps.subarray(n, 2 * n);
  if (!equilibrated(n, A, aOff, lda, B, e, f)) {
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) out[outOff + i * ldo + j] = NaN;
    return;
  }
  const sign = completePivoting(n, B, rows, cols);
  if (sign === 0) return; // rank ≤ n − 2: adj(A) = 0

  // det(U₁) as m·2^E.
  const { m, E } = pivotProduct(n, B, n - 1, sign);
  unitLowerInverse(n, B, Linv);
  // Y = [δ·U₁⁻¹, −U₁⁻¹b; 0, 1]·L⁻¹, built row by row: row i of M = (U₁⁻¹ row i)·[δ·I | −b].
  adjUTimes(n, B, Linv, Y);
  // adj(A)[cols[a]][rows[b]] = m·2^(E + Σe + Σf − f[cols[a]] − e[rows[b]]) · Y[a][b]
  let shift = E;
  for (let i = 0; i < n; i++) shift += e[i]! + f[i]!;
  for (let a = 0; a < n; a++) {
    const i = cols[a]!;
    for (let b = 0; b < n; b++) {
      const j = rows[b]!;
      out[outOff + i * ldo + j] = ldexp(m * Y[a * n + b]!, shift - f[i]! - e[j]!);
    }
  }
}

/**
 * B = R·A·C with row and column exponents e, f (powers of 2; a zero row or column keeps 0).
 * False when an entry is not finite.
 */
export function equilibrated(n: number, A: Float64Array, aOff: number, lda: number, B: Float64Array, e: Float64Array, f: Float64Array): boolean {
  f.fill(-Infinity);
  for (let i = 0; i < n; i++) {
    let big = 0;
    for (let j = 0; j < n; j++) {
      const v = Math.abs(A[aOff + i * lda + j]!);
      if (!(v <= Number.MAX_VALUE)) return false;
      if (v > big) big = v;
    }
    e[i] = big === 0 ? 0 : binaryExponent(big);
    for (let j = 0; j < n; j++) {
      const v = A[aOff + i * lda + j]!;
      if (v !== 0) f[j] = Math.max(f[j]!, binaryExponent(v) - e[i]!);
    }
  }
  for (let j = 0; j < n; j++) if (f[j] === -Infinity) f[j] = 0;
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) B[i * n + j] = ldexp(A[aOff + i * lda + j]!, -e[i]! - f[j]!);
  return true;
}

/**
 * P·B·Q = L·U in place (L unit lower below the diagonal, U on and above), pivoting on the largest
 * entry of the remaining block for the first `steps` steps (n − 1 by default; after fewer, the
 * trailing block holds its Schur complement). Returns det(P)·det(Q), or 0 when a remaining block
 * is exactly zero before those steps are done (rank < steps + 1: rank ≤ n − 2 by default).
 */
export function completePivoting(n: number, B: Float64Array, rows: Int32Array, cols: Int32Array, steps = n - 1): number {
  for (let k = 0; k < n; k++) {
    rows[k] = k;
    cols[k] = k;
  }
  let sign = 1;
  for (let k = 0; k < steps; k++) {
    let p = k;
    let q = k;
    let best = 0;
    for (let i = k; i < n; i++)
      for (let j = k; j < n; j++) {
        const v = Math.abs(B[i * n + j]!);
        if (v > best) {
          best = v;
          p = i;
          q = j;
        }
      }
    if (best === 0) return 0;
    if (p !== k) {
      for (let j = 0; j < n; j++) {
        const t = B[k * n + j]!;
        B[k * n + j] = B[p * n + j]!;
        B[p * n + j] = t;
      }
      const t = rows[k]!;
      rows[k] = rows[p]!;
      rows[p] = t;
      sign = -sign;
    }
    if (q !== k) {
      for (let i = 0; i < n; i++) {
        const t = B[i * n + k]!;
        B[i * n + k] = B[i * n + q]!;
        B[i * n + q] = t;
      }
      const t = cols[k]!;
      cols[k] = cols[q]!;
      cols[q] = t;
      sign = -sign;
    }
    const ukk = B[k * n + k]!;
    for (let i = k + 1; i < n; i++) {
      const l = (B[i * n + k]! /= ukk);
      if (l === 0) continue;
      for (let j = k + 1; j < n; j++) B[i * n + j]! -= l * B[k * n + j]!;
    }
  }
  return sign;
}

/**
 * sign·Π u_kk over the first `steps` pivots on the diagonal of LU, as m·2^E with 0.5 ≤ |m| < 1 (or
 * m = 0), so that no partial product over- or underflows.
 */
export function pivotProduct(n: number, LU: Float64Array, steps: number, sign: number): { m: number; E: number } {
  let m = sign;
  let E = 0;
  for (let k = 0; k < steps; k++) {
    const u = LU[k * n + k]!;
    const eu = binaryExponent(u);
    m *= ldexp(u, -eu);
    const em = binaryExponent(m);
    m = ldexp(m, -em);
    E += eu + em;
  }
  return { m, E };
}

/**
 * z = e_iᵀ·U⁻¹ for the leading k×k upper triangle U on and above the diagonal of LU, by back
 * substitution: z_j = 0 for j < i, z_i = 1/u_ii, z_j = −(Σ_{i≤t<j} z_t u_tj)/u_jj (j < k). z has k entries.
 */
export function upperInverseRow(n: number, LU: Float64Array, k: number, i: number, z: Float64Array): void {
  z.fill(0, 0, k);
  z[i] = 1 / LU[i * n + i]!;
  for (let j = i + 1; j < k; j++) {
    let s = 0;
    for (let t = i; t < j; t++) s += z[t]! * LU[t * n + j]!;
    z[j] = -s / LU[j * n + j]!;
  }
}

/** Linv = L⁻¹ for the unit lower triangle L stored below the diagonal of LU. */
export function unitLowerInverse(n: number, LU: Float64Array, Linv: Float64Array): void {
  Linv.fill(0, 0, n * n);
  for (let j = 0; j < n; j++) {
    Linv[j * n + j] = 1;
    for (let i = j + 1; i < n; i++) {
      let s = 0;
      for (let k = j; k < i; k++) s -= LU[i * n + k]! * Linv[k * n + j]!;
      Linv[i * n + j] = s;
    }
  }
}

/**
 * Y = M·L⁻¹ with M = [δ·U₁⁻¹, −U₁⁻¹b; 0, 1] (U = [U₁ b; 0 δ] on and above the diagonal of LU).
 * Row i < n − 1 of M is z·[δ·I | −b] for z = row i of U₁⁻¹, found by back substitution on U₁ᵀ.
 */
function adjUTimes(n: number, LU: Float64Array, Linv: Float64Array, Y: Float64Array): void {
  const n1 = n - 1;
  const delta = LU[n1 * n + n1]!;
  Y.fill(0, 0, n * n);
  const M = vecs.subarray(0, n); // one row of M at a time
  const z = vecs.subarray(n, 2 * n - 1);
  for (let i = 0; i < n1; i++) {
    upperInverseRow(n, LU, n1, i, z);
    let zb = 0;
    for (let k = i; k < n1; k++) {
      M[k] = delta * z[k]!;
      zb += z[k]! * LU[k * n + n1]!;
    }
    for (let k = 0; k < i; k++) M[k] = 0;
    M[n1] = -zb;
    rowTimes(n, M, Linv, Y, i);
  }
  M.fill(0);
  M[n1] = 1;
  rowTimes(n, M, Linv, Y, n1);
}

/** Y[i, :] = row · Linv. */
export function rowTimes(n: number, row: Float64Array, Linv: Float64Array, Y: Float64Array, i: number): void {
  for (let k = 0; k < n; k++) {
    const r = row[k]!;
    if (r === 0) continue;
    for (let j = 0; j <= k; j++) Y[i * n + j]! += r * Linv[k * n + j]!;
  }
}
