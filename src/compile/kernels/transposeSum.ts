/**
 * Sums of matrices and transposes in one cache-blocked pass: C = Σ_t c_t · op_t(X_t) with
 * op_t(X) = X or X' — the Hessian of x'·A·x is A + A'. Memory-bound: the aim is one read of
 * each operand and one write of C, at the speed of a copy.
 *
 * symmetricSum: C = c·(X + X'), which is symmetric. From order 64 on, on the WebAssembly kernel
 * (wasm/symsumWasm.ts: copy in, 2×2 f64x2 blocks, split across the workers, copy out); below, and
 * without WebAssembly, in JS: for each pair of tiles (I, J), (J, I) above the diagonal it reads
 * X(I, J) and X(J, I) once and writes both tiles of C.
 *
 * transposeSum: the general sum, tile by tile: each term adds its tile into C's tile (contiguous
 * rows for X, a strided walk inside the tile for X'), so C's tile stays in L1 between terms.
 */

import { symsumWasm } from './wasm/symsumWasm.js';
import { getGemmBackend } from './gemm.js';

const TILE = 64;
/**
 * From this order on the WebAssembly kernel takes symmetricSum. Measured with the in-place kernel
 * (best of 15, two interleaved runs of symmetricSumJs against symsumWasm, 2026-12-02): JS 1.3 µs,
 * wasm 1.6 at n = 32; 3.1–4.0 and 2.6–4.6 at 48 (either); 5.9–9.5 and 3.9–6.8 at 64; 14.4 and
 * 8.1 at 100; 23.8 and 18.3 at 128. (Before the kernel worked in place: JS 7 µs, wasm 9 µs at
 * n = 64.)
 */
const SYMSUM_WASM_MIN_N = 64;

/** C(n×n) = c·(X + X'), X n×n with leading dimension ldx. C must not overlap X. */
export function symmetricSum(n: number, c: number, X: Float64Array, xOff: number, ldx: number, C: Float64Array, cOff: number, ldc: number): void {
  if (n >= SYMSUM_WASM_MIN_N && getGemmBackend() !== 'js' && symsumWasm(n, c, X, xOff, ldx, C, cOff, ldc)) return;
  symmetricSumJs(n, c, X, xOff, ldx, C, cOff, ldc);
}

/** symmetricSum in plain JS: tile pairs (I, J), (J, I) above the diagonal. */
export function symmetricSumJs(n: number, c: number, X: Float64Array, xOff: number, ldx: number, C: Float64Array, cOff: number, ldc: number): void {
  for (let i0 = 0; i0 < n; i0 += TILE) {
    const i1 = i0 + TILE < n ? i0 + TILE : n;
    // Diagonal tile: each entry pair once.
    for (let i = i0; i < i1; i++) {
      const xr = xOff + i * ldx;
      const cr = cOff + i * ldc;
      for (let j = i, xc = xOff + i * ldx + i, cc = cOff + i * ldc + i; j < i1; j++, xc += ldx, cc += ldc) {
        const s = c * (X[xr + j]! + X[xc]!);
        C[cr + j] = s;
        C[cc] = s;
      }
    }
    for (let j0 = i1; j0 < n; j0 += TILE) {
      const j1 = j0 + TILE < n ? j0 + TILE : n;
      for (let i = i0; i < i1; i++) {
        const xr = xOff + i * ldx;
        const cr = cOff + i * ldc;
        for (let j = j0, xc = xOff + j0 * ldx + i, cc = cOff + j0 * ldc + i; j < j1; j++, xc += ldx, cc += ldc) {
          const s = c * (X[xr + j]! + X[xc]!);
          C[cr + j] = s;
          C[cc] = s;
        }
      }
    }
  }
}

export interface TransposeTerm {
  readonly coef: number;
  readonly buf: Float64Array;
  readonly off: number;
  /** Leading dimension of the stored matrix (m×n, or n×m when trans). */
  readonly ld: number;
  readonly trans: boolean;
}

/** C(m×n) (= or +=) Σ_t coef_t · op_t(X_t). C must not overlap any X_t. */
export function transposeSum(m: number, n: number, terms: readonly TransposeTerm[], C: Float64Array, cOff: number, ldc: number, accumulate: boolean): void {
  for (let i0 = 0; i0 < m; i0 += TILE) {
    const i1 = i0 + TILE < m ? i0 + TILE : m;
    for (let j0 = 0; j0 < n; j0 += TILE) {
      const j1 = j0 + TILE < n ? j0 + TILE : n;
      for (let t = 0; t < terms.length; t++) {
        const { coef, buf: X, off, ld, trans } = terms[t]!;
        const set = t === 0 && !accumulate;
        for (let i = i0; i < i1; i++) {
          const cr = cOff + i * ldc;
          if (trans) {
            if (set) for (let j = j0, x = off + j0 * ld + i; j < j1; j++, x += ld) C[cr + j] = coef * X[x]!;
            else for (let j = j0, x = off + j0 * ld + i; j < j1; j++, x += ld) C[cr + j] += coef * X[x]!;
          } else {
            const xr = off + i * ld;
            if (set) for (let j = j0; j < j1; j++) C[cr + j] = coef * X[xr + j]!;
            else for (let j = j0; j < j1; j++) C[cr + j] += coef * X[xr + j]!;
          }
        }
      }
    }
  }
}
