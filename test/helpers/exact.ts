/**
 * Exact integer matrices for checking cofactor kernels: low-rank integer matrices scaled by
 * powers of 2 (exact in floating point) and their determinants in BigInt.
 */

/** det of an integer matrix, exactly (cofactor expansion along the first row; small n). */
export function exactDet(a: bigint[][]): bigint {
  const n = a.length;
  if (n === 0) return 1n;
  let s = 0n;
  for (let c = 0; c < n; c++) {
    if (a[0]![c] === 0n) continue;
    const minor = a.slice(1).map((row) => row.filter((_, k) => k !== c));
    s += (c % 2 === 0 ? 1n : -1n) * a[0]![c]! * exactDet(minor);
  }
  return s;
}

export interface ScaledInteger {
  /** "regular, n = 4", "rank ≤ 2, n = 5, scaled by 2^±30", "zero, n = 3". */
  readonly name: string;
  readonly n: number;
  /** The integer matrix M. */
  readonly m: bigint[][];
  /** A = diag(2^e1)·M·diag(2^e2), row-major. */
  readonly a: Float64Array;
  readonly e1: number[];
  readonly e2: number[];
  /** max |M_ij| (at least 1). */
  readonly big: number;
}

/**
 * D1·M·D2 for an integer M = X·Y of rank ≤ r with entries of X and Y in [−k, k], D1, D2 diagonal
 * powers of 2 (|exponents| ≤ scale).
 */
export function scaledIntegerMatrix(n: number, r: number, rand: () => number, scale: number, k: number): ScaledInteger {
  const int = (): bigint => BigInt(Math.floor(rand() * (2 * k + 1)) - k);
  const x = Array.from({ length: n }, () => Array.from({ length: r }, int));
  const y = Array.from({ length: r }, () => Array.from({ length: n }, int));
  const m = x.map((row) => Array.from({ length: n }, (_, j) => row.reduce((s, v, l) => s + v * y[l]![j]!, 0n)));
  const e1 = Array.from({ length: n }, () => Math.round((2 * rand() - 1) * scale));
  const e2 = Array.from({ length: n }, () => Math.round((2 * rand() - 1) * scale));
  const a = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) a[i * n + j] = Number(m[i]![j]!) * 2 ** (e1[i]! + e2[j]!);
  let big = 1;
  for (const row of m) for (const v of row) big = Math.max(big, Math.abs(Number(v)));
  const rank = r >= n ? 'regular' : r === 0 ? 'zero' : `rank ≤ ${r}`;
  return { name: `${rank}, n = ${n}${scale ? `, scaled by 2^±${scale}` : ''}`, n, m, a, e1, e2, big };
}

/** Σ of the exponents e but those at the indices in skip: the scale of a minor without them. */
export const exponentSum = (e: readonly number[], skip: readonly number[]): number => e.reduce((s, v, k) => (skip.includes(k) ? s : s + v), 0);
