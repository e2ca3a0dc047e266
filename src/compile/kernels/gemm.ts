/**
 * General matrix multiply, BLAS dgemm semantics, row-major storage.
 *
 *   C(m×n) = alpha * op(A) * op(B) + beta * C
 *
 * op(A) is m×k; when `transA` is true A is stored k×m (row-major, leading
 * dimension lda) and op(A) = A'. Likewise for B (op(B) is k×n).
 *
 * Where WebAssembly SIMD is available, all but the smallest products run on a
 * wasm f64x2 micro-kernel emitted at load time (wasm/gemmWasm.ts: ≈ 22
 * GFLOP/s, 26 with relaxed-SIMD FMA, against ≈ 6 for the plain TS kernel
 * below, flat from n = 256 to 1024; large products split across workers
 * where memory can be shared). The plain TS paths below are the fallback and
 * serve small products; setGemmBackend forces either (tests, benchmarks).
 *
 * Plain TS paths: large products follow the BLIS loop order: the k×n operand is packed into
 * NR-wide column panels (one KC×NR panel ≈ 6 KB stays in L1), the m×k operand
 * into MR-tall row panels of an MC×KC block (≤ 256 KB, stays in L2), and a
 * 4×3 register-tiled micro-kernel keeps its C tile in 12 local doubles for a
 * whole k-block. Packing handles the four transpose combinations and zero-pads
 * the edges, so the micro-kernel never branches on the shape.
 *
 * Tiny products and vector shapes (see SMALL_WORK) take a direct loop:
 * there packing would cost more than it saves.
 *
 * V8 notes (measured, see bench/gemm.ts and shared/PERFORMANCE.md):
 * - The packing buffers are fixed-size `const`s captured by closures that are
 *   created exactly once (lazily, by `makeEngine`). TurboFan then specialises
 *   the micro-kernel on them and embeds their base address and length as
 *   constants instead of reloading them (≈ +25 %).
 * - Packed-buffer indices are written `(i + c) | 0`: int32 wrap-around needs
 *   no overflow check, the bounds check alone remains (≈ +9 %).
 * - 4×3 and 3×4 tiles are the fastest; larger tiles spill (V8 schedules all
 *   products before the additions), smaller ones load too much per flop.
 */

import { gemmWasm, wasmGemmAvailable } from './wasm/gemmWasm.js';
import { thinTakes, thinWasm } from './wasm/thinWasm.js';

/** Rows of the register tile. */
export const GEMM_MR = 4;
/** Columns of the register tile. */
export const GEMM_NR = 3;
/** k-block depth: one packed B panel is KC*NR doubles (6 KB, L1). */
const KC = 256;
/** Rows of op(A) packed per block (multiple of MR): MC*KC*8 bytes = 120 KB (L2). */
const MC = 60;
/** Columns of op(B) packed per outer iteration (multiple of NR): 3 MB. */
const NC = 1536;
/**
 * The direct loop is used for products of fewer than SMALL_WORK multiply-adds
 * and for vector shapes (m, n or k = 1). Measured: from about 6×6×6 on, and
 * for thin shapes such as 512×3×512 or 512×512×4, packing pays for itself
 * (blocked 1.5–4 GFLOP/s against 0.4–1 for the direct loops).
 */
const SMALL_WORK = 160;
/**
 * Products with at most this many entries of C (2×2: W'·V of two n×2 matrices, in the MDS
 * Hessian's matvec) also take the direct loop, one dot product per entry, at any k below the
 * thin kernel's. Measured (best of 2000 calls, three runs each way, interleaved): 2×2×1000 with
 * op(A) = A' 13.9–16.6 µs packed, 8.6–9.5 µs direct; 2×2×300 4.2–4.8 → 2.4–2.6 µs. At 3×3×1000
 * the two were even (11.8 against 12.3 µs) and at 4×4×1000 packing won (6.5 against 20.7).
 */
const TINY_OUTPUT = 4;
/**
 * 'auto' sends a product to the WebAssembly kernel when k ≥ WASM_MIN_K,
 * m*n ≥ WASM_MIN_MN and m*n*k ≥ WASM_MIN_WORK. Measured against the JS paths
 * (interleaved timings of both on the same shapes): the wasm kernel is
 * faster from about 8×8×8 on, for thin shapes such as 2×64×64 or 1×32×32
 * too; it loses for k ≤ 3 (with beta ≠ 0, copying C in and out costs more
 * than 2k flops per entry: 512×512×2 is 1.6× slower) and when m*n is tiny
 * (2×2×256, 3×3×64: most of a 4×4 tile is padding).
 */
const WASM_MIN_K = 4;
const WASM_MIN_MN = 16;
const WASM_MIN_WORK = 1024;

/** Which implementation gemm uses; see setGemmBackend. */
export type GemmBackend = 'js' | 'wasm' | 'auto';
let backend: GemmBackend = 'auto';

/**
 * Choose the gemm implementation (for tests and benchmarks; the default is
 * 'auto'). 'js': the plain TypeScript paths only. 'wasm': every product with
 * m, n, k ≥ 1 and alpha ≠ 0 on the WebAssembly SIMD kernel (throws when it is
 * unavailable). 'auto': the wasm kernel where it is available and measured
 * faster (see WASM_MIN_K), else the plain TS paths.
 */
export function setGemmBackend(b: GemmBackend): void {
  if (b === 'wasm' && !wasmGemmAvailable()) throw new Error('setGemmBackend: WebAssembly SIMD is not available on this host');
  backend = b;
}
export function getGemmBackend(): GemmBackend {
  return backend;
}
export { wasmGemmAvailable };

/** C = beta*C on an m×n block; beta = 0 writes zeros (ignores NaN garbage). */
export function scaleMatrix(
  m: number,
  n: number,
  beta: number,
  C: Float64Array,
  cOff: number,
  ldc: number,
): void {
  if (beta === 1) return;
  for (let i = 0; i < m; i++) {
    const r = cOff + i * ldc;
    const e = r + n;
    if (beta === 0) {
      for (let j = r; j < e; j++) C[j] = 0;
    } else {
      for (let j = r; j < e; j++) C[j] *= beta;
    }
  }
}

/**
 * C(m×n) = alpha * op(A) * op(B) + beta * C. See the module comment.
 * With beta = 0, C is not read (NaN / Inf already in C are overwritten).
 * C must not overlap A or B.
 */
export function gemm(
  transA: boolean,
  transB: boolean,
  m: number,
  n: number,
  k: number,
  alpha: number,
  A: Float64Array,
  aOff: number,
  lda: number,
  B: Float64Array,
  bOff: number,
  ldb: number,
  beta: number,
  C: Float64Array,
  cOff: number,
  ldc: number,
): void {
  if (m <= 0 || n <= 0) return;
  if (k <= 0 || alpha === 0) {
    scaleMatrix(m, n, beta, C, cOff, ldc);
    return;
  }
  if (backend === 'auto' && thinProduct(transA, transB, m, n, k, alpha, A, aOff, lda, B, bOff, ldb, beta, C, cOff, ldc)) return;
  if (wasmTakes(m, n, k)) {
    gemmWasm(transA, transB, m, n, k, alpha, A, aOff, lda, B, bOff, ldb, beta, C, cOff, ldc);
    return;
  }
  if (m === 1 || n === 1 || k === 1 || m * n <= TINY_OUTPUT || m * n * k < SMALL_WORK) {
    gemmSmall(transA, transB, m, n, k, alpha, A, aOff, lda, B, bOff, ldb, beta, C, cOff, ldc);
    return;
  }
  scaleMatrix(m, n, beta, C, cOff, ldc);
  if (engine === null) engine = makeEngine();
  engine(transA, transB, m, n, k, alpha, A, aOff, lda, B, bOff, ldb, C, cOff, ldc);
}

/**
 * A large operand times at most four columns (or rows) on the WebAssembly thin kernel: memory-
 * bound, where packing the large operand for the tiled kernel would cost more than the product
 * (D·V with V of n×2 coordinates at n = 1000: 1.8 ms packed, ≈ 0.35 ms thin). false where it
 * does not apply.
 */
function thinProduct(
  transA: boolean,
  transB: boolean,
  m: number,
  n: number,
  k: number,
  alpha: number,
  A: Float64Array,
  aOff: number,
  lda: number,
  B: Float64Array,
  bOff: number,
  ldb: number,
  beta: number,
  C: Float64Array,
  cOff: number,
  ldc: number,
): boolean {
  if (thinTakes(m * k, n)) {
    // op(B)(p, j) = B[p*ldb + j] or B[j*ldb + p].
    return thinWasm(transA, m, k, n, alpha, A, aOff, lda, B, bOff, transB ? 1 : ldb, transB ? ldb : 1, beta, C, cOff, ldc, 1);
  }
  if (thinTakes(n * k, m)) {
    // C' (n×m) = op(B)' op(A)': op(B)' is B' when B is stored k×n, B when stored n×k.
    return thinWasm(!transB, n, k, m, alpha, B, bOff, ldb, A, aOff, transA ? lda : 1, transA ? 1 : lda, beta, C, cOff, 1, ldc);
  }
  return false;
}

/** 'auto': whether the wasm kernel takes this product (see WASM_MIN_WORK). */
function useWasm(m: number, n: number, k: number): boolean {
  return k >= WASM_MIN_K && m * n >= WASM_MIN_MN && m * n * k >= WASM_MIN_WORK && wasmGemmAvailable();
}

/** Whether a product of this shape runs on the wasm kernel under the current backend (syrk.ts asks too). */
export function wasmTakes(m: number, n: number, k: number): boolean {
  return backend === 'wasm' || (backend === 'auto' && useWasm(m, n, k));
}

/** Direct loops for small shapes (no packing). */
function gemmSmall(
  transA: boolean,
  transB: boolean,
  m: number,
  n: number,
  k: number,
  alpha: number,
  A: Float64Array,
  aOff: number,
  lda: number,
  B: Float64Array,
  bOff: number,
  ldb: number,
  beta: number,
  C: Float64Array,
  cOff: number,
  ldc: number,
): void {
  // Element strides of op(A)(i,p) and op(B)(p,j).
  const ais = transA ? 1 : lda;
  const aps = transA ? lda : 1;
  const bps = transB ? 1 : ldb;
  const bjs = transB ? ldb : 1;
  if (bjs === 1 && n > 2) {
    // i-p-j: rows of op(B) and C are contiguous.
    scaleMatrix(m, n, beta, C, cOff, ldc);
    for (let i = 0; i < m; i++) {
      const cr = cOff + i * ldc;
      const ce = cr + n;
      let ai = aOff + i * ais;
      let br = bOff;
      for (let p = 0; p < k; p++, ai += aps, br += bps) {
        const a = alpha * A[ai];
        for (let j = cr, b = br; j < ce; j++, b++) C[j] += a * B[b];
      }
    }
    return;
  }
  // One dot product per entry of C (op(B) = B', or C has one or two columns).
  for (let i = 0; i < m; i++) {
    const cr = cOff + i * ldc;
    const ar = aOff + i * ais;
    for (let j = 0; j < n; j++) {
      let s = 0;
      let ai = ar;
      let bi = bOff + j * bjs;
      for (let p = 0; p < k; p++, ai += aps, bi += bps) s += A[ai] * B[bi];
      const c = cr + j;
      C[c] = beta === 0 ? alpha * s : alpha * s + beta * C[c];
    }
  }
}

type BlockedGemm = (
  transA: boolean,
  transB: boolean,
  m: number,
  n: number,
  k: number,
  alpha: number,
  A: Float64Array,
  aOff: number,
  lda: number,
  B: Float64Array,
  bOff: number,
  ldb: number,
  C: Float64Array,
  cOff: number,
  ldc: number,
) => void;

let engine: BlockedGemm | null = null;

/**
 * Build the blocked gemm once: the packing buffers are fixed-size constants of
 * this closure (see the module comment for why this matters to V8).
 */
function makeEngine(): BlockedGemm {
  const MR = GEMM_MR;
  const NR = GEMM_NR;
  const packA = new Float64Array(MC * KC);
  const packB = new Float64Array(KC * NC);

  /**
   * Pack rows [i0, i0+mc) × cols [p0, p0+kc) of op(A) into MR-row panels:
   * panel r holds op(A)(i0+r*MR+ii, p0+p) at packA[r*MR*kc + p*MR + ii].
   * Rows past mc are zero.
   */
  function packAPanels(
    transA: boolean,
    mc: number,
    kc: number,
    A: Float64Array,
    aOff: number,
    lda: number,
    i0: number,
    p0: number,
  ): void {
    const dst = packA;
    let d = 0;
    for (let ir = 0; ir < mc; ir += MR, d += MR * kc) {
      const rows = mc - ir < MR ? mc - ir : MR;
      if (!transA) {
        // op(A)(i,p) = A[i*lda + p]: each row of the panel is a contiguous run.
        for (let ii = 0; ii < rows; ii++) {
          let s = aOff + (i0 + ir + ii) * lda + p0;
          for (let p = 0, t = d + ii; p < kc; p++, s++, t += MR) dst[t] = A[s];
        }
      } else if (rows === MR) {
        // op(A)(i,p) = A[p*lda + i]: the MR values of one p are contiguous.
        let s = aOff + p0 * lda + i0 + ir;
        for (let p = 0, t = d; p < kc; p++, s += lda, t += MR) {
          dst[t] = A[s];
          dst[t + 1] = A[s + 1];
          dst[t + 2] = A[s + 2];
          dst[t + 3] = A[s + 3];
        }
      } else {
        let s = aOff + p0 * lda + i0 + ir;
        for (let p = 0, t = d; p < kc; p++, s += lda, t += MR) {
          for (let ii = 0; ii < rows; ii++) dst[t + ii] = A[s + ii];
        }
      }
      for (let ii = rows; ii < MR; ii++) {
        for (let p = 0, t = d + ii; p < kc; p++, t += MR) dst[t] = 0;
      }
    }
  }

  /**
   * Pack rows [p0, p0+kc) × cols [j0, j0+nc) of op(B) into NR-column panels:
   * panel r holds op(B)(p0+p, j0+r*NR+jj) at packB[r*NR*kc + p*NR + jj].
   * Columns past nc are zero.
   */
  function packBPanels(
    transB: boolean,
    kc: number,
    nc: number,
    B: Float64Array,
    bOff: number,
    ldb: number,
    p0: number,
    j0: number,
  ): void {
    const dst = packB;
    let d = 0;
    for (let jr = 0; jr < nc; jr += NR, d += NR * kc) {
      const cols = nc - jr < NR ? nc - jr : NR;
      if (!transB && cols === NR) {
        // op(B)(p,j) = B[p*ldb + j]: the NR values of one p are contiguous.
        let s = bOff + p0 * ldb + j0 + jr;
        for (let p = 0, t = d; p < kc; p++, s += ldb, t += NR) {
          dst[t] = B[s];
          dst[t + 1] = B[s + 1];
          dst[t + 2] = B[s + 2];
        }
        continue;
      }
      for (let jj = 0; jj < NR; jj++) {
        if (jj >= cols) {
          for (let p = 0, t = d + jj; p < kc; p++, t += NR) dst[t] = 0;
        } else if (transB) {
          // op(B)(p,j) = B[j*ldb + p]: each column of the panel is contiguous.
          let s = bOff + (j0 + jr + jj) * ldb + p0;
          for (let p = 0, t = d + jj; p < kc; p++, s++, t += NR) dst[t] = B[s];
        } else {
          let s = bOff + p0 * ldb + j0 + jr + jj;
          for (let p = 0, t = d + jj; p < kc; p++, s += ldb, t += NR) dst[t] = B[s];
        }
      }
    }
  }

  /**
   * 4×3 micro-kernel: C[c.., 4×3 tile] += alpha * (A panel at ap) * (B panel
   * at bp) over kc steps. The panels are zero-padded, so the full tile is
   * always computed; only the write-back honours mr×nr.
   */
  function micro(
    kc: number,
    ap: number,
    bp: number,
    alpha: number,
    C: Float64Array,
    c: number,
    ldc: number,
    mr: number,
    nr: number,
  ): void {
    const Ap = packA;
    const Bp = packB;
    let c00 = 0, c01 = 0, c02 = 0;
    let c10 = 0, c11 = 0, c12 = 0;
    let c20 = 0, c21 = 0, c22 = 0;
    let c30 = 0, c31 = 0, c32 = 0;
    const end = ap + 4 * kc;
    for (; ap < end; ap = (ap + 4) | 0, bp = (bp + 3) | 0) {
      const b0 = Bp[bp];
      const b1 = Bp[(bp + 1) | 0];
      const b2 = Bp[(bp + 2) | 0];
      const a0 = Ap[ap];
      c00 += a0 * b0;
      c01 += a0 * b1;
      c02 += a0 * b2;
      const a1 = Ap[(ap + 1) | 0];
      c10 += a1 * b0;
      c11 += a1 * b1;
      c12 += a1 * b2;
      const a2 = Ap[(ap + 2) | 0];
      c20 += a2 * b0;
      c21 += a2 * b1;
      c22 += a2 * b2;
      const a3 = Ap[(ap + 3) | 0];
      c30 += a3 * b0;
      c31 += a3 * b1;
      c32 += a3 * b2;
    }
    if (mr === 4 && nr === 3) {
      C[c] += alpha * c00;
      C[c + 1] += alpha * c01;
      C[c + 2] += alpha * c02;
      c += ldc;
      C[c] += alpha * c10;
      C[c + 1] += alpha * c11;
      C[c + 2] += alpha * c12;
      c += ldc;
      C[c] += alpha * c20;
      C[c + 1] += alpha * c21;
      C[c + 2] += alpha * c22;
      c += ldc;
      C[c] += alpha * c30;
      C[c + 1] += alpha * c31;
      C[c + 2] += alpha * c32;
      return;
    }
    // Partial tile at the bottom / right edge.
    C[c] += alpha * c00;
    if (nr > 1) C[c + 1] += alpha * c01;
    if (nr > 2) C[c + 2] += alpha * c02;
    if (mr > 1) {
      c += ldc;
      C[c] += alpha * c10;
      if (nr > 1) C[c + 1] += alpha * c11;
      if (nr > 2) C[c + 2] += alpha * c12;
    }
    if (mr > 2) {
      c += ldc;
      C[c] += alpha * c20;
      if (nr > 1) C[c + 1] += alpha * c21;
      if (nr > 2) C[c + 2] += alpha * c22;
    }
    if (mr > 3) {
      c += ldc;
      C[c] += alpha * c30;
      if (nr > 1) C[c + 1] += alpha * c31;
      if (nr > 2) C[c + 2] += alpha * c32;
    }
  }

  /** C += alpha * op(A) op(B) (beta already applied by the caller). */
  function gemmBlocked(
    transA: boolean,
    transB: boolean,
    m: number,
    n: number,
    k: number,
    alpha: number,
    A: Float64Array,
    aOff: number,
    lda: number,
    B: Float64Array,
    bOff: number,
    ldb: number,
    C: Float64Array,
    cOff: number,
    ldc: number,
  ): void {
    for (let jc = 0; jc < n; jc += NC) {
      const nc = n - jc < NC ? n - jc : NC;
      for (let pc = 0; pc < k; pc += KC) {
        const kc = k - pc < KC ? k - pc : KC;
        packBPanels(transB, kc, nc, B, bOff, ldb, pc, jc);
        for (let ic = 0; ic < m; ic += MC) {
          const mc = m - ic < MC ? m - ic : MC;
          packAPanels(transA, mc, kc, A, aOff, lda, ic, pc);
          // Macro-kernel: each B panel (L1) against every A panel of the block (L2).
          for (let jr = 0; jr < nc; jr += NR) {
            const nr = nc - jr < NR ? nc - jr : NR;
            const bp = jr * kc;
            let c = cOff + ic * ldc + jc + jr;
            for (let ir = 0; ir < mc; ir += MR, c += MR * ldc) {
              micro(kc, ir * kc, bp, alpha, C, c, ldc, mc - ir < MR ? mc - ir : MR, nr);
            }
          }
        }
      }
    }
  }

  // Prime the type feedback of every branch (edge tiles of each shape, both
  // transposes, several k and n blocks) on tiny problems, so that TurboFan's
  // first optimised code already covers them. Without this, code optimised on
  // a shape without edge tiles deoptimises on the first edge tile, repeatedly
  // ("insufficient type feedback"), which was measured to halve throughput.
  const pa = new Float64Array(7 * (KC + 2));
  const pb = new Float64Array((NC + 2) * (KC + 2));
  const pc = new Float64Array(7 * (NC + 2));
  for (const [m, n, k] of [[7, 5, KC + 2], [6, 4, 3], [5, NC + 2, 2]]) {
    for (let t = 0; t < 4; t++) {
      const tA = (t & 1) === 1;
      const tB = (t & 2) === 2;
      gemmBlocked(tA, tB, m, n, k, 1, pa, 0, tA ? m : k, pb, 0, tB ? k : n, pc, 0, n);
    }
  }
  return gemmBlocked;
}
