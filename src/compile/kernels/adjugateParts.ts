/**
 * The derivative of the adjugate, defined at every matrix, singular ones included: the second
 * derivative of det. As a tensor, adj2(A)^i_j^p_q = ∂adj(A)^i_j/∂A^p_q; the evaluators write it as
 *
 *   adj2 = d·f(Q, Q) + f(Q, P) + f(P, Q) + k·f(R, R),   f(M, N)^i_j^p_q = M^i_j N^q_p − M^i_p N^q_j
 *
 * (f(M, N) applied to a direction E is M·tr(N·E) − M·E·N), with three n×n matrices Q, P, R and two
 * scalars d = det(A), k that this kernel computes from one factorisation. Where A is invertible,
 * P + d·Q = adj(A) and the sum is the familiar adj·tr(A⁻¹·E) − adj·E·A⁻¹; unlike that formula it
 * never divides by a pivot that may be 0.
 *
 * Derivation. B = R⁻¹·A·C⁻¹ is A equilibrated by powers of 2 (as in adjugate.ts). Complete
 * pivoting for n − 2 steps gives P_r·B·P_c = L·U with U = [U₂ b; 0 W]: U₂ upper triangular and
 * regular, W the 2×2 Schur complement that is left (any 2×2, singular or 0). An exactly zero
 * remaining block before the n − 2 steps are done means rank ≤ n − 3, where every (n−2)-minor and
 * so adj2 is 0. Write A = S·U·T (S = R·P_rᵀ·L, T = P_cᵀ·C) and F = [U₂⁻¹, −U₂⁻¹b; 0, I₂], so that
 * U = diag(I, W)·F⁻¹. Since adj(XY) = adj(Y)·adj(X) and adj(X) = det(X)·X⁻¹ for the regular S, T, F,
 *   D adj(A)[E] = κ₂·Φ·D adj(diag(I, W))[Ψ·E·Φ]·Ψ,   Φ = T⁻¹·F, Ψ = S⁻¹, κ₂ = det(S)·det(T)·det(U₂).
 * For D_W = diag(I, W) the Schur complement formula for adj of a block matrix (with adj(W) =
 * tr(W)·I − W linear in a 2×2 W) gives, with the selectors J₁ = diag(I, 0), J₂ = diag(0, I₂) and
 * Â = diag(0, adj(W)), ω = det(W),
 *   D adj(D_W)[H] = ω·f(J₁, J₁)[H] + f(J₁, Â)[H] + f(Â, J₁)[H] + f(J₂, J₂)[H],
 * a polynomial in W. Moving Φ and Ψ inside (tr(X·Ψ·E·Φ) = tr(Φ·X·Ψ·E)) gives the form above with
 *   Q = Φ·J₁·Ψ,  R = Φ·J₂·Ψ,  P = κ₂·Φ·Â·Ψ,  d = κ₂·ω = det(A),  k = κ₂.
 * Φ·X·Ψ = C⁻¹·P_c·(F·X·L⁻¹)·P_r·R⁻¹ is F·X·L⁻¹ with its rows and columns put back and scaled.
 * κ₂ is kept as a mantissa and a binary exponent, so P, d and k overflow only where they do.
 */
import { completePivoting, equilibrated, pivotProduct, rowTimes, unitLowerInverse, upperInverseRow } from './adjugate.js';
import { ldexp } from './lu.js';

/** The parts of adj2(A) for an n×n matrix A (row-major, leading dimension lda); Q, P, R: n×n, row-major. */
export function adjugateParts(n: number, A: Float64Array, aOff: number, lda: number, Q: Float64Array, P: Float64Array, R: Float64Array): { d: number; k: number } {
  Q.fill(0, 0, n * n);
  P.fill(0, 0, n * n);
  R.fill(0, 0, n * n);
  if (n < 2) return { d: 0, k: 0 }; // adj of a 1×1 matrix is the constant 1
  const B = new Float64Array(n * n);
  const e = new Float64Array(n);
  const f = new Float64Array(n);
  if (!equilibrated(n, A, aOff, lda, B, e, f)) {
    for (const M of [Q, P, R]) M.fill(NaN, 0, n * n);
    return { d: NaN, k: NaN };
  }
  const rows = new Int32Array(n);
  const cols = new Int32Array(n);
  const m = n - 2;
  const sign = completePivoting(n, B, rows, cols, m);
  if (sign === 0) return { d: 0, k: 0 }; // rank ≤ n − 3: adj2(A) = 0

  // κ₂ = sign·det(U₂)·2^(Σe + Σf) as mant·2^E.
  const pivots = pivotProduct(n, B, m, sign);
  const mant = pivots.m;
  let E = pivots.E;
  for (let i = 0; i < n; i++) E += e[i]! + f[i]!;
  const [w11, w12, w21, w22] = [B[m * n + m]!, B[m * n + m + 1]!, B[(m + 1) * n + m]!, B[(m + 1) * n + m + 1]!];
  const adjW = [w22, -w12, -w21, w11];
  const omega = w11 * w22 - w12 * w21;

  B[(m + 1) * n + m] = 0; // L's trailing 2×2 is I₂ (w21 sat there)
  const Linv = new Float64Array(n * n);
  unitLowerInverse(n, B, Linv);
  // Y1 = F·J₁·L⁻¹ (rows < m: rows of U₂⁻¹), Y2 = F·J₂·L⁻¹, Y3 = F·Â·L⁻¹ (rows [K | I₂] and
  // [K·adj(W) | adj(W)] on columns m, m + 1, with K = −U₂⁻¹·b).
  const Y1 = new Float64Array(n * n);
  const Y2 = new Float64Array(n * n);
  const Y3 = new Float64Array(n * n);
  const z = new Float64Array(n); // a row of U₂⁻¹ (zero from m on)
  const row = new Float64Array(n);
  for (let i = 0; i < m; i++) {
    upperInverseRow(n, B, m, i, z); // z = e_iᵀ·U₂⁻¹
    rowTimes(n, z, Linv, Y1, i);
    let k0 = 0;
    let k1 = 0;
    for (let t = i; t < m; t++) {
      k0 -= z[t]! * B[t * n + m]!;
      k1 -= z[t]! * B[t * n + m + 1]!;
    }
    row.fill(0);
    row[m] = k0;
    row[m + 1] = k1;
    rowTimes(n, row, Linv, Y2, i);
    row[m] = k0 * adjW[0]! + k1 * adjW[2]!;
    row[m + 1] = k0 * adjW[1]! + k1 * adjW[3]!;
    rowTimes(n, row, Linv, Y3, i);
  }
  for (let r = 0; r < 2; r++) {
    row.fill(0);
    row[m + r] = 1;
    rowTimes(n, row, Linv, Y2, m + r);
    row[m] = adjW[2 * r]!;
    row[m + 1] = adjW[2 * r + 1]!;
    rowTimes(n, row, Linv, Y3, m + r);
  }
  // Back to A's rows and columns: X[cols[a]][rows[b]] = 2^(−f[cols[a]] − e[rows[b]])·Y[a][b].
  for (let a = 0; a < n; a++) {
    const i = cols[a]!;
    for (let b = 0; b < n; b++) {
      const j = rows[b]!;
      const s = -f[i]! - e[j]!;
      Q[i * n + j] = ldexp(Y1[a * n + b]!, s);
      R[i * n + j] = ldexp(Y2[a * n + b]!, s);
      P[i * n + j] = ldexp(mant * Y3[a * n + b]!, E + s);
    }
  }
  return { d: ldexp(mant * omega, E), k: ldexp(mant, E) };
}

/**
 * adj2(A) as a dense n×n×n×n tensor from its parts (for tests and small sizes; the planner
 * contracts the parts with what multiplies adj2 instead).
 */
export function adjugateDerivative(n: number, A: Float64Array): Float64Array {
  const Q = new Float64Array(n * n);
  const P = new Float64Array(n * n);
  const R = new Float64Array(n * n);
  const { d, k } = adjugateParts(n, A, 0, n, Q, P, R);
  const out = new Float64Array(n ** 4);
  const fOf = (M: Float64Array, N: Float64Array, c: number, i: number, j: number, p: number, q: number): number =>
    c * (M[i * n + j]! * N[q * n + p]! - M[i * n + p]! * N[q * n + j]!);
  for (let i = 0; i < n; i++)
    for (let j = 0; j < n; j++)
      for (let p = 0; p < n; p++)
        for (let q = 0; q < n; q++)
          out[((i * n + j) * n + p) * n + q] = fOf(Q, Q, d, i, j, p, q) + fOf(Q, P, 1, i, j, p, q) + fOf(P, Q, 1, i, j, p, q) + fOf(R, R, k, i, j, p, q);
  return out;
}
