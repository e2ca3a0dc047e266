/**
 * Out-of-place transpose. A and B must not overlap.
 */

/** Tile edge of the cache-blocked path (32×32 doubles = 8 KB per tile). */
const TILE = 32;

/** B(n×m) = A(m×n)'. */
export function transpose(
  m: number,
  n: number,
  A: Float64Array,
  aOff: number,
  lda: number,
  B: Float64Array,
  bOff: number,
  ldb: number,
): void {
  if (m <= TILE || n <= TILE) {
    for (let i = 0; i < m; i++) {
      const r = aOff + i * lda;
      for (let j = 0, b = bOff + i; j < n; j++, b += ldb) B[b] = A[r + j];
    }
    return;
  }
  for (let i0 = 0; i0 < m; i0 += TILE) {
    const i1 = i0 + TILE < m ? i0 + TILE : m;
    for (let j0 = 0; j0 < n; j0 += TILE) {
      const j1 = j0 + TILE < n ? j0 + TILE : n;
      for (let i = i0; i < i1; i++) {
        const r = aOff + i * lda;
        for (let j = j0, b = bOff + j0 * ldb + i; j < j1; j++, b += ldb) B[b] = A[r + j];
      }
    }
  }
}
