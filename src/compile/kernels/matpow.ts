/**
 * Matrix powers by repeated squaring on gemm, the bits of k read from the top (A^(2e) = A^e·A^e,
 * A^(2e+1) = A^(2e)·A), and the Fréchet derivatives of A^k,
 *   P(A, k; E_1..E_m) = Σ_σ Σ_{a_0+…+a_m = k−m} A^{a_0} E_σ1 A^{a_1} ⋯ E_σm A^{a_m},
 * the coefficient of t_1⋯t_m in (A + t_1E_1 + … + t_mE_m)^k, by the same squaring on polynomials in
 * t_1..t_m with t_i² = 0: a power X^(e) is one matrix X_S per subset S of the directions (X_∅ = A^e),
 *   (X^(a+b))_S = Σ_{T⊆S} X^(a)_T X^(b)_{S∖T},   (X^(e+1))_S = X^(e)_S A + Σ_{i∈S} X^(e)_{S∖i} E_i.
 * X_∅ = A^e is the same for every batch entry of the directions and is computed once.
 * Row-major, explicit offsets; scratch is module-level and grows on demand.
 */
import { gemm } from './gemm.js';

let scratch = new Float64Array(0);
function ensure(len: number): Float64Array {
  if (scratch.length < len) scratch = new Float64Array(len);
  return scratch;
}

/** C = A·B (n×n, contiguous) at offsets of one buffer or several. */
function mm(n: number, a: Float64Array, aOff: number, b: Float64Array, bOff: number, c: Float64Array, cOff: number, beta: number): void {
  gemm(false, false, n, n, n, 1, a, aOff, n, b, bOff, n, beta, c, cOff, n);
}

/** The bits of k ≥ 1 after the leading one, from the top. */
function lowerBits(k: number): boolean[] {
  return k.toString(2).slice(1).split('').map((c) => c === '1');
}

/** out = A^k for k ≥ 1 (n×n). */
export function matPow(n: number, k: number, A: Float64Array, aOff: number, out: Float64Array, outOff: number): void {
  const nn = n * n;
  const s = ensure(2 * nn);
  let cur = 0;
  s.set(A.subarray(aOff, aOff + nn), cur);
  for (const bit of lowerBits(k)) {
    mm(n, s, cur, s, cur, s, nn - cur, 0);
    cur = nn - cur;
    if (bit) {
      mm(n, s, cur, A, aOff, s, nn - cur, 0);
      cur = nn - cur;
    }
  }
  out.set(s.subarray(cur, cur + nn), outOff);
}

/** A direction E_t: entry (i, j, b) at off + (i·n + j)·size + b, b < size (the product of its batch sizes). */
export interface FrechetDirection {
  readonly data: Float64Array;
  readonly off: number;
  readonly size: number;
}

/**
 * out[i, j, b_1…, b_m] = P(A, k; E_1..E_m)[i, j] at the batch entries b_t of the directions (k > m ≥ 1),
 * row-major with the batch entries of the last direction fastest.
 */
export function matPowFrechet(
  n: number,
  k: number,
  A: Float64Array,
  aOff: number,
  dirs: readonly FrechetDirection[],
  out: Float64Array,
  outOff: number,
): void {
  const m = dirs.length;
  const nn = n * n;
  const full = (1 << m) - 1;
  const steps = lowerBits(k).flatMap((bit) => (bit ? ['square', 'times'] : ['square']));
  const total = dirs.reduce((p, d) => p * d.size, 1);
  // Scratch: the diagonal X_∅ before each step, the directions' slices, current and next X_S (S ≠ ∅).
  const diagAt = 0;
  const eAt = diagAt + steps.length * nn;
  const curAt = eAt + m * nn;
  const nextAt = curAt + full * nn;
  const s = ensure(nextAt + full * nn);
  s.set(A.subarray(aOff, aOff + nn), diagAt);
  for (let q = 0; q + 1 < steps.length; q++) {
    const d = diagAt + q * nn;
    if (steps[q] === 'square') mm(n, s, d, s, d, s, d + nn, 0);
    else mm(n, s, d, A, aOff, s, d + nn, 0);
  }
  // X_S is nonzero only while |S| ≤ e; live[S] says whether it holds a value (else it is 0).
  const live = new Uint8Array(full + 1);
  const nextLive = new Uint8Array(full + 1);
  const at = new Array<number>(m).fill(0);
  for (let b = 0; b < total; b++) {
    for (let t = m - 1, rest = b; t >= 0; t--) {
      at[t] = rest % dirs[t]!.size;
      rest = Math.floor(rest / dirs[t]!.size);
    }
    for (let t = 0; t < m; t++) {
      const d = dirs[t]!;
      for (let ij = 0; ij < nn; ij++) s[eAt + t * nn + ij] = d.data[d.off + ij * d.size + at[t]!]!;
    }
    // X^(1): X_{i} = E_i, larger subsets 0.
    live.fill(0);
    for (let t = 0; t < m; t++) {
      s.copyWithin(curAt + ((1 << t) - 1) * nn, eAt + t * nn, eAt + (t + 1) * nn);
      live[1 << t] = 1;
    }
    let cur = curAt;
    let next = nextAt;
    for (let q = 0; q < steps.length; q++) {
      const D = diagAt + q * nn;
      const X = (S: number): number => (S === 0 ? D : cur + (S - 1) * nn);
      const isLive = (S: number): boolean => S === 0 || live[S] === 1;
      nextLive.fill(0);
      for (let S = 1; S <= full; S++) {
        const o = next + (S - 1) * nn;
        let beta = 0;
        if (steps[q] === 'square') {
          // Σ over T ⊆ S (T = ∅ and T = S included: A^e X_S and X_S A^e)
          for (let T = S; ; T = (T - 1) & S) {
            if (isLive(T) && isLive(S ^ T)) {
              mm(n, s, X(T), s, X(S ^ T), s, o, beta);
              beta = 1;
            }
            if (T === 0) break;
          }
        } else {
          if (live[S]) {
            mm(n, s, X(S), A, aOff, s, o, beta);
            beta = 1;
          }
          for (let t = 0; t < m; t++)
            if (S & (1 << t) && isLive(S ^ (1 << t))) {
              mm(n, s, X(S ^ (1 << t)), s, eAt + t * nn, s, o, beta);
              beta = 1;
            }
        }
        nextLive[S] = beta;
      }
      [cur, next] = [next, cur];
      live.set(nextLive);
    }
    const top = cur + (full - 1) * nn;
    for (let ij = 0; ij < nn; ij++) out[outOff + ij * total + b] = live[full] ? s[top + ij]! : 0;
  }
}
