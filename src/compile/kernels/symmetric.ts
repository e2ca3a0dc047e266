/**
 * Whether an n×n matrix is symmetric to the tolerance of a declared-symmetric input
 * (|a_ij - a_ji| ≤ 1e-9·(|a_ij| + |a_ji|); equal entries, infinities included, always pass and a
 * NaN never does), by tile pairs so that the transposed side stays in cache: a declared-symmetric
 * input is checked on every call, and a row-against-column walk costs ≈ 2-3 ms at n = 1000 (one
 * cache miss per entry). Four rows at a time: the four column entries they compare against share
 * a cache line, and one exact test per four pairs leaves the tolerance to the rare unequal pair
 * (0.95 → 0.57 ms at n = 1000, the MDS Hessian's D). From order SYMEQ_WASM_MIN_N on, an exact
 * test on the WebAssembly kernel runs first (wasm/symeqWasm.ts: a memcpy and one pass in 2×2
 * blocks, 0.47–0.73 against 0.65–0.85 ms at n = 1000; measured even with this loop at n ≈ 100–250)
 * and this loop, with the tolerance, only judges a matrix with an unequal pair.
 */
import { symeqWasm } from './wasm/symeqWasm.js';

const TILE = 32;

/** a_ij and a_ji differ by more than the tolerance (an infinite difference always does: 1 against Inf). */
const apart = (x: number, y: number): boolean => {
  const d = Math.abs(x - y);
  return !(d <= 1e-9 * (Math.abs(x) + Math.abs(y) + 1e-300)) || d === Infinity;
};
/** Unequal (or NaN) and apart. */
const differ = (x: number, y: number): boolean => x !== y && apart(x, y);

/** Orders from which the exact test runs first on the WebAssembly kernel. */
export const SYMEQ_WASM_MIN_N = 128;

export function isSymmetric(n: number, a: Float64Array): boolean {
  // Exactly symmetric (the usual case) on the kernel; an unequal pair is judged here, with the tolerance.
  if (n >= SYMEQ_WASM_MIN_N && symeqWasm(n, a, 0, n) === true) return true;
  for (let i0 = 0; i0 < n; i0 += TILE) {
    const i1 = i0 + TILE < n ? i0 + TILE : n;
    for (let j0 = 0; j0 <= i0; j0 += TILE) {
      const j1 = j0 + TILE < n ? j0 + TILE : n;
      let i = i0;
      for (; i + 3 < i1; i += 4) {
        // Rows i…i+3 against columns j < min(j1, i), which all four have below the diagonal.
        const r = i * n;
        const jEnd = j1 < i ? j1 : i;
        for (let j = j0, c = j0 * n + i; j < jEnd; j++, c += n) {
          const x0 = a[r + j]!;
          const x1 = a[r + n + j]!;
          const x2 = a[r + 2 * n + j]!;
          const x3 = a[r + 3 * n + j]!;
          const y0 = a[c]!;
          const y1 = a[c + 1]!;
          const y2 = a[c + 2]!;
          const y3 = a[c + 3]!;
          if ((x0 !== y0 || x1 !== y1 || x2 !== y2 || x3 !== y3) && (differ(x0, y0) || differ(x1, y1) || differ(x2, y2) || differ(x3, y3))) return false;
        }
        // The small triangle left: row i+q at columns i ≤ j < i+q (inside this column tile).
        for (let q = 1; q < 4; q++) {
          const jHi = j1 < i + q ? j1 : i + q;
          for (let j = i > j0 ? i : j0; j < jHi; j++) if (differ(a[(i + q) * n + j]!, a[j * n + i + q]!)) return false;
        }
      }
      for (; i < i1; i++) {
        const r = i * n;
        const jEnd = j1 < i ? j1 : i;
        for (let j = j0, c = j0 * n + i; j < jEnd; j++, c += n) if (differ(a[r + j]!, a[c]!)) return false;
      }
    }
  }
  return true;
}
