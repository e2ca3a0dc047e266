/**
 * adj3(A), the third derivative of det: out[((((i·n + j)·n + p)·n + q)·n + r)·n + s] =
 * ∂³det(A)/∂A^j_i ∂A^p_q ∂A^r_s, defined at every matrix, singular ones included. The evaluators
 * use it only where the form with A⁻¹ meets a singular matrix (derive.ts, `singularNode`): it is
 * an n⁶ tensor.
 *
 * An entry is an iterated cofactor: removing row j and column i gives the sign (−1)^(j+i), then
 * row p and column q of what is left (at p₁ = p − [p > j], q₁ = q − [q > i]) the sign
 * (−1)^(p₁+q₁), and the minor without rows j, p, r and columns i, q, s is what remains. For every
 * pair of rows {j, p} and columns {i, q}, the adjugate of the (n−2)×(n−2) matrix S left after
 * removing them (kernels/adjugate.ts, exact in rank) holds all those minors at once:
 * adj(S)[s₂][r₂] = (−1)^(r₂+s₂)·det(S without row r₂ and column s₂). Entries with a repeated row
 * or column are 0. C(n, 2)² adjugates of order n − 2: O(n⁷) work for an n⁶ result.
 */
import { adjugate } from './adjugate.js';
import { unsupported } from '../../errors.js';

/** The largest n whose adj3 (n⁶ entries) the evaluators form: 20⁶ doubles are 512 MB. */
export const MAX_THIRD_COFACTORS_ORDER = 20;

/** Throws where adj3 of an n×n matrix is too large to form. */
export function checkThirdCofactorsOrder(n: number): void {
  if (n > MAX_THIRD_COFACTORS_ORDER)
    throw unsupported(`the third derivative of det at a singular ${n}×${n} matrix needs its ${n}⁶ minors of order ${n - 3}; ricci forms them up to n = ${MAX_THIRD_COFACTORS_ORDER}`);
}

export function thirdCofactors(n: number, A: Float64Array, aOff: number, out: Float64Array, outOff: number): void {
  const size = n ** 6;
  out.fill(0, outOff, outOff + size);
  if (n < 3) return;
  const m = n - 2;
  const S = new Float64Array(m * m);
  const adjS = new Float64Array(m * m);
  const at = (i: number, j: number, p: number, q: number, r: number, s: number): number => outOff + ((((i * n + j) * n + p) * n + q) * n + r) * n + s;
  for (let j = 0; j < n; j++)
    for (let p = j + 1; p < n; p++)
      for (let i = 0; i < n; i++)
        for (let q = i + 1; q < n; q++) {
          let k = 0;
          for (let r = 0; r < n; r++) {
            if (r === j || r === p) continue;
            for (let c = 0; c < n; c++) if (c !== i && c !== q) S[k++] = A[aOff + r * n + c]!;
          }
          adjugate(m, S, 0, m, adjS, 0, m);
          // The four ways to pair the two rows with the two columns, in both orders of removal.
          for (const [J, P] of [
            [j, p],
            [p, j],
          ] as const)
            for (const [I, Q] of [
              [i, q],
              [q, i],
            ] as const) {
              const P1 = P - (P > J ? 1 : 0);
              const Q1 = Q - (Q > I ? 1 : 0);
              const sign = (J + I + P1 + Q1) % 2 === 0 ? 1 : -1;
              for (let r = 0, r2 = 0; r < n; r++) {
                if (r === j || r === p) continue;
                for (let s = 0, s2 = 0; s < n; s++) {
                  if (s === i || s === q) continue;
                  out[at(I, J, P, Q, r, s)] = sign * adjS[s2 * m + r2]!;
                  s2++;
                }
                r2++;
              }
            }
        }
}
