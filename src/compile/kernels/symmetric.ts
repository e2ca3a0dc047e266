/**
 * Whether an n×n matrix is symmetric to the tolerance of a declared-symmetric input
 * (|a_ij - a_ji| ≤ 1e-9·(|a_ij| + |a_ji|)), by tile pairs so that the transposed side stays in
 * cache: a declared-symmetric input is checked on every call, and a row-against-column walk costs
 * ≈ 2-3 ms at n = 1000 (one cache miss per entry).
 */
const TILE = 32;

export function isSymmetric(n: number, a: Float64Array): boolean {
  for (let i0 = 0; i0 < n; i0 += TILE) {
    const i1 = i0 + TILE < n ? i0 + TILE : n;
    for (let j0 = 0; j0 <= i0; j0 += TILE) {
      const j1 = j0 + TILE < n ? j0 + TILE : n;
      for (let i = i0; i < i1; i++) {
        const r = i * n;
        const jEnd = j1 < i ? j1 : i;
        for (let j = j0, c = j0 * n + i; j < jEnd; j++, c += n) {
          const x = a[r + j]!;
          const y = a[c]!;
          if (!(Math.abs(x - y) <= 1e-9 * (Math.abs(x) + Math.abs(y) + 1e-300))) return false;
        }
      }
    }
  }
  return true;
}
