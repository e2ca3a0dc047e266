/**
 * gemm and syrk on the WebAssembly SIMD kernel (see gemmKernel.ts): BLIS loop order, with the
 * packed panels and the product in one WebAssembly.Memory (runtime.ts), split across workers
 * that share it where the host allows (parallel/pool.ts).
 *
 *   for each NC-wide column block of C (jc)
 *     for each MS-row slab of C (i0)
 *       [Cbuf = C(slab, block)]                              (copy in, beta ≠ 0; see below)
 *       for each KC-deep block of k (pc)
 *         pack op(B)(pc.., jc..) into NR-column panels       (syrk: scaled by d)
 *         pack op(A)(slab, pc..) into MR-row panels          (syrk's diagonal blocks: both packs
 *                                                             in one pass)
 *         for each thread's range of row panels, in MC-row blocks:
 *           kernel: Cbuf(rows, :) = [beta*]Cbuf + alpha * Apack · Bpack   (wasm, every thread)
 *         (threads sharing the slab: block pc + KC is packed into a second pair of panels by the
 *         calling thread while the workers start on block pc)
 *       C(slab, block) = Cbuf                                (copy out)
 *
 * Packing: where the panels' rows are rows of the caller's matrix (op(B) = B, op(A) = A'), the
 * block is copied into a staging region of the kernels' memory (memcpy) and packed there by the
 * WebAssembly packing kernels (packKernel.ts); the other two cases and the edge panels are
 * packed by JS loops. Only the calling thread can read the caller's arrays, so it packs alone;
 * the kernel calls, which hold all the arithmetic, are split by row panels (claimed from a shared
 * counter) and end at a barrier. Where threads share the work and k has more than one block, the
 * calling thread packs the next k block, into the second pair of panels, after it has posted the
 * current one and before it claims panels of it itself, so that packing is off the critical path
 * (the logistic Hessian at n = 1000, m = 2000, best of 30 calls: 50.3 and 54.9 ms with the mirror
 * below alone, 44.5–48.6 ms with both; medians 62.5–65.1 → 53.4–60.7). Cbuf is padded to whole tiles (rows to MR, columns
 * to NR) and the packed edges are zero-padded, so the kernel never branches on the shape; padded
 * rows and columns of Cbuf are simply not written back.
 *
 * syrk (X'·diag(d)·X and X·diag(d)·X'): the same loops with op(B)'s rows scaled by d while it
 * is packed (no scaled copy of X), and only the tiles that touch the upper triangle computed
 * (the kernel's `tri` argument). Where the whole result is one block (n ≤ MS and NC), the mirror
 * kernel (symsumKernel.ts) copies its upper triangle onto the lower one in the kernels' memory,
 * split across threads, and the whole matrix is copied out (row memcpys); else the upper
 * triangle is copied out and syrk.ts mirrors it (a JS walk: 1.6 ms at n = 1000 against
 * ≈ 0.2 ms for the kernel).
 *
 * alpha and beta: for column blocks of at least COPY_SET_MIN, C's block is copied into Cbuf
 * (only when beta ≠ 0: beta = 0 never reads C, so NaN garbage there is overwritten), the
 * kernel's first k block writes beta*T + alpha*P and later ones T + alpha*P (the rounding of the
 * JS path), and Cbuf is copied back. Narrower blocks (where a row copy costs more than a JS loop)
 * take the raw product and a fused JS write-back alpha*Cbuf + beta*C.
 *
 * Memory layout per call (in doubles): [A slab | B block | Cbuf | staging | row scales | A slab |
 * B block], each sized for this call (at most MS*KC, KC*NC, MS*NC, KC*max(MS, NC) and KC, the
 * second pair only with more than one k block: ≈ 18 MB in all).
 */

import { TRI_ALL } from './gemmKernel.js';
import { acquire, mirrorOn, packOn, recordRun, residentAt, TILE, wasmAvailable, type WasmContext } from './runtime.js';
import type { PackKernels } from './packKernel.js';
import { JOB_MIRROR, runPanels, type PanelJob } from '../parallel/pool.js';
import { symsumThreads, threadsFor } from '../parallel/config.js';
import { splitRows } from './symsumWasm.js';

/** Register tile (4×2 f64x2 accumulators: measured fastest, with 2×4). */
const MR = TILE.mr;
const NR = 2 * TILE.nv;
// The packing loops below are written out for a 4×4 tile.
if (MR !== 4 || NR !== 4) throw new Error('internal: the packing code assumes a 4×4 tile');
/** k-block depth: one packed B panel is KC*NR doubles = 8 KB (L1). */
const KC = 256;
/** Rows of op(A) per kernel call (multiple of MR): MC*KC*8 = 256 KB (L2). */
const MC = 128;
/**
 * Row panels a thread claims at a time when threads share a block (parallel/pool.ts): 8 panels of
 * MR rows, so that a 1000-row syrk block is 32 claims and a thread slowed by another process
 * leaves the rest to the others.
 */
const SHARED_CHUNK = 8;
/** Columns of op(B) per packed block (multiple of NR): KC*NC*8 = 2 MB. */
const NC = 1024;
/** Rows of C per slab (multiple of MR): bounds Cbuf to MS*NC*8 = 8 MB and the A slab to 2 MB. */
const MS = 1024;

/**
 * Column blocks at least this wide keep C in wasm memory: copied in (when
 * beta ≠ 0) and out row by row with TypedArray.set, alpha and beta applied by
 * the kernel. Measured: a JS element loop costs ≈ 1.4 ns per double here, a
 * row copy by set ≈ 60 ns + 0.2 ns per double, so set wins from ≈ 32 on.
 */
const COPY_SET_MIN = 32;

/** The mirror kernel's tile edge in 2×2 blocks (as symsum's). */
const MIRROR_TB = 32;

function roundUp(x: number, r: number): number {
  return Math.ceil(x / r) * r;
}

let primed = false;
let priming = false;

/**
 * Give the JS side (packing, copies, write-back, the driver) type feedback
 * for every branch on tiny problems: edge panels, both transposes, wide and
 * narrow column blocks, every beta case, two k blocks, scaled and triangular
 * products. TurboFan's first optimised code then covers them all instead of
 * deoptimising on the first shape it has not seen (measured with --trace-deopt).
 */
function prime(): void {
  primed = true;
  priming = true;
  const k = KC + 1;
  const A = new Float64Array(7 * k);
  const B = new Float64Array(k * (COPY_SET_MIN + 5));
  const C = new Float64Array(7 * (COPY_SET_MIN + 5));
  const d = new Float64Array(k);
  for (const n of [COPY_SET_MIN + 5, 5]) {
    for (let t = 0; t < 4; t++) {
      const tA = (t & 1) === 1;
      const tB = (t & 2) === 2;
      for (const beta of [0, 1, 0.5]) {
        product(tA, tB, 7, n, k, 1.5, A, 0, tA ? 7 : k, B, 0, tB ? k : n, beta, C, 0, n, null, 0, false);
      }
    }
  }
  product(true, false, 7, 7, k, 1, A, 0, 7, A, 0, 7, 0, C, 0, 7, d, 0, true);
  product(false, true, 7, 7, k, 1, A, 0, k, A, 0, k, 1, C, 0, 7, d, 0, true);
  priming = false;
}

/** Whether the WebAssembly SIMD kernel compiled on this host (compiles it on first call). */
export function wasmGemmAvailable(): boolean {
  return wasmAvailable();
}

/**
 * Pack rows [i0, i0+mc) × cols [p0, p0+kc) of op(A) into MR-row panels at
 * dst[d..]: panel r holds op(A)(i0 + r*MR + ii, p0 + p) at d + r*MR*kc + p*MR + ii.
 * Rows past mc (up to the next multiple of MR) are zero.
 */
function packA(
  dst: Float64Array,
  d: number,
  transA: boolean,
  mc: number,
  kc: number,
  A: Float64Array,
  aOff: number,
  lda: number,
  i0: number,
  p0: number,
): void {
  if (transA) {
    // Row by row of A (op(A) = A'): contiguous reads, one 4-wide write per panel.
    const full = mc - (mc % MR);
    const step = MR * kc;
    for (let p = 0; p < kc; p++) {
      let s = aOff + (p0 + p) * lda + i0;
      const sEnd = s + full;
      for (let t = d + p * MR; s < sEnd; s += 4, t += step) {
        dst[t] = A[s];
        dst[t + 1] = A[s + 1];
        dst[t + 2] = A[s + 2];
        dst[t + 3] = A[s + 3];
      }
    }
    if (full === mc) return;
    d += full * kc;
    i0 += full;
    mc -= full;
  }
  for (let ir = 0; ir < mc; ir += MR, d += MR * kc) {
    const rows = mc - ir < MR ? mc - ir : MR;
    const end = d + MR * kc;
    if (rows === MR) {
      if (!transA) {
        // Four rows of A side by side: four contiguous reads, one contiguous write.
        let s0 = aOff + (i0 + ir) * lda + p0;
        let s1 = s0 + lda;
        let s2 = s1 + lda;
        let s3 = s2 + lda;
        for (let t = d; t < end; t += 4) {
          dst[t] = A[s0++];
          dst[t + 1] = A[s1++];
          dst[t + 2] = A[s2++];
          dst[t + 3] = A[s3++];
        }
      } else {
        // op(A)(i,p) = A[p*lda + i]: the MR values of one p are contiguous.
        let s = aOff + p0 * lda + i0 + ir;
        for (let t = d; t < end; t += 4, s += lda) {
          dst[t] = A[s];
          dst[t + 1] = A[s + 1];
          dst[t + 2] = A[s + 2];
          dst[t + 3] = A[s + 3];
        }
      }
      continue;
    }
    // Bottom edge panel: `rows` < MR real rows, the rest zero.
    const is = transA ? 1 : lda;
    const ps = transA ? lda : 1;
    const base = transA ? aOff + p0 * lda + i0 + ir : aOff + (i0 + ir) * lda + p0;
    for (let ii = 0; ii < MR; ii++) {
      if (ii < rows) {
        let s = base + ii * is;
        for (let t = d + ii; t < end; t += 4, s += ps) dst[t] = A[s];
      } else {
        for (let t = d + ii; t < end; t += 4) dst[t] = 0;
      }
    }
  }
}

/**
 * Pack rows [p0, p0+kc) × cols [j0, j0+nc) of op(B) into NR-column panels at
 * dst[d..]: panel r holds op(B)(p0 + p, j0 + r*NR + jj) at d + r*NR*kc + p*NR + jj.
 * Columns past nc (up to the next multiple of NR) are zero.
 */
function packB(
  dst: Float64Array,
  d: number,
  transB: boolean,
  kc: number,
  nc: number,
  B: Float64Array,
  bOff: number,
  ldb: number,
  p0: number,
  j0: number,
): void {
  if (!transB) {
    // Row by row of op(B) = B: contiguous reads, one 4-wide write per panel.
    const full = nc - (nc % NR);
    const step = NR * kc;
    for (let p = 0; p < kc; p++) {
      let s = bOff + (p0 + p) * ldb + j0;
      const sEnd = s + full;
      for (let t = d + p * NR; s < sEnd; s += 4, t += step) {
        dst[t] = B[s];
        dst[t + 1] = B[s + 1];
        dst[t + 2] = B[s + 2];
        dst[t + 3] = B[s + 3];
      }
    }
    if (full === nc) return;
    d += full * kc;
    j0 += full;
    nc -= full;
  }
  for (let jr = 0; jr < nc; jr += NR, d += NR * kc) {
    const cols = nc - jr < NR ? nc - jr : NR;
    const end = d + NR * kc;
    if (cols === NR) {
      if (!transB) {
        // op(B)(p,j) = B[p*ldb + j]: the NR values of one p are contiguous.
        let s = bOff + p0 * ldb + j0 + jr;
        for (let t = d; t < end; t += 4, s += ldb) {
          dst[t] = B[s];
          dst[t + 1] = B[s + 1];
          dst[t + 2] = B[s + 2];
          dst[t + 3] = B[s + 3];
        }
      } else {
        // op(B)(p,j) = B[j*ldb + p]: four rows of B side by side.
        let s0 = bOff + (j0 + jr) * ldb + p0;
        let s1 = s0 + ldb;
        let s2 = s1 + ldb;
        let s3 = s2 + ldb;
        for (let t = d; t < end; t += 4) {
          dst[t] = B[s0++];
          dst[t + 1] = B[s1++];
          dst[t + 2] = B[s2++];
          dst[t + 3] = B[s3++];
        }
      }
      continue;
    }
    // Right edge panel: `cols` < NR real columns, the rest zero.
    const js = transB ? ldb : 1;
    const ps = transB ? 1 : ldb;
    const base = transB ? bOff + (j0 + jr) * ldb + p0 : bOff + p0 * ldb + j0 + jr;
    for (let jj = 0; jj < NR; jj++) {
      if (jj < cols) {
        let s = base + jj * js;
        for (let t = d + jj; t < end; t += 4, s += ps) dst[t] = B[s];
      } else {
        for (let t = d + jj; t < end; t += 4) dst[t] = 0;
      }
    }
  }
}


/** packB with row p of op(B) scaled by d[dOff + p0 + p] (syrk: diag(d)·X packed in one pass). */
function packBScaled(
  dst: Float64Array,
  d: number,
  transB: boolean,
  kc: number,
  nc: number,
  B: Float64Array,
  bOff: number,
  ldb: number,
  p0: number,
  j0: number,
  scale: Float64Array,
  sOff: number,
): void {
  const js = transB ? ldb : 1;
  const ps = transB ? 1 : ldb;
  for (let jr = 0; jr < nc; jr += NR, d += NR * kc) {
    const cols = nc - jr < NR ? nc - jr : NR;
    const base = transB ? bOff + (j0 + jr) * ldb + p0 : bOff + p0 * ldb + j0 + jr;
    if (cols === NR) {
      for (let p = 0, t = d, s = base, w = sOff + p0; p < kc; p++, t += 4, s += ps, w++) {
        const f = scale[w];
        dst[t] = f * B[s];
        dst[t + 1] = f * B[s + js];
        dst[t + 2] = f * B[s + 2 * js];
        dst[t + 3] = f * B[s + 3 * js];
      }
      continue;
    }
    for (let jj = 0; jj < NR; jj++) {
      const end = d + NR * kc;
      if (jj < cols) {
        for (let t = d + jj, s = base + jj * js, w = sOff + p0; t < end; t += 4, s += ps, w++) dst[t] = scale[w] * B[s];
      } else {
        for (let t = d + jj; t < end; t += 4) dst[t] = 0;
      }
    }
  }
}

/**
 * Row-wise packs (op(B) = B, op(A) = A', and syrk's pair) on the WebAssembly packing kernels:
 * rows [p0, p0+kc) × columns [j0, j0+w) of the row-major S (row stride lds) are copied into the
 * staging region at heap[stage..] (one memcpy per row, or one in all; a resident S is read where
 * it lies instead), the row scales into
 * heap[scl..], and the kernel writes the whole panels; an edge panel (w not a multiple of 4) is
 * left to the JS packers. Returns the columns packed (a multiple of 4).
 */
function packRowsWasm(
  pk: PackKernels,
  heap: Float64Array,
  stage: number,
  scl: number,
  kc: number,
  w: number,
  S: Float64Array,
  off: number,
  lds: number,
  p0: number,
  j0: number,
  dst: number,
  scaled: { scale: Float64Array; sOff: number; pair: number | null } | null,
): number {
  const full = w - (w % NR);
  if (full === 0) return 0;
  const s0 = off + p0 * lds + j0;
  // A resident S is packed from where it lies; any other is staged first.
  const at = residentAt(S, s0);
  if (at < 0 && lds === full) heap.set(S.subarray(s0, s0 + kc * full), stage);
  else if (at < 0) for (let p = 0, s = s0, t = stage; p < kc; p++, s += lds, t += full) heap.set(S.subarray(s, s + full), t);
  const src = at < 0 ? stage * 8 : at * 8;
  const rowBytes = at < 0 ? full * 8 : lds * 8;
  const step = NR * kc * 8;
  if (scaled === null) pk.pack(src, rowBytes, kc, full / NR, dst * 8, step);
  else {
    const from = scaled.sOff + p0;
    heap.set(scaled.scale.subarray(from, from + kc), scl);
    if (scaled.pair === null) pk.packScaled(src, rowBytes, kc, full / NR, dst * 8, step, scl * 8);
    else pk.packPair(src, rowBytes, kc, full / NR, scaled.pair * 8, step, scl * 8, dst * 8);
  }
  return full;
}

/**
 * Copy an ms×nc block, row by row: src[s..] (row stride lds) → dst[d..] (row
 * stride ldd). Rows of at least COPY_SET_MIN doubles go through
 * TypedArray.set (a memcpy, but each subarray view costs an allocation).
 */
function copyRows(ms: number, nc: number, src: Float64Array, s: number, lds: number, dst: Float64Array, d: number, ldd: number): void {
  if (nc >= COPY_SET_MIN) {
    for (let i = 0; i < ms; i++, s += lds, d += ldd) dst.set(src.subarray(s, s + nc), d);
    return;
  }
  for (let i = 0; i < ms; i++, s += lds, d += ldd) {
    for (let j = 0; j < nc; j++) dst[d + j] = src[s + j];
  }
}

/**
 * C(ms×nc) = alpha * buf + beta * C, buf row-major at src[s..] with row stride lds; beta = 0
 * does not read C. Row i starts at column `first(i)` (0 for a full block; the diagonal for the
 * upper triangle of a syrk).
 */
function writeBack(
  ms: number,
  nc: number,
  alpha: number,
  beta: number,
  src: Float64Array,
  s: number,
  lds: number,
  C: Float64Array,
  cOff: number,
  ldc: number,
  tri: number,
): void {
  for (let i = 0; i < ms; i++, s += lds) {
    const skip = tri === TRI_ALL ? 0 : Math.min(nc, Math.max(0, i - tri));
    const c0 = cOff + i * ldc + skip;
    const c1 = cOff + i * ldc + nc;
    s += skip;
    if (beta === 0) {
      for (let c = c0, t = s; c < c1; c++, t++) C[c] = alpha * src[t];
    } else if (beta === 1) {
      for (let c = c0, t = s; c < c1; c++, t++) C[c] += alpha * src[t];
    } else {
      for (let c = c0, t = s; c < c1; c++, t++) C[c] = alpha * src[t] + beta * C[c];
    }
    s -= skip;
  }
}

/** Copy out the upper-triangle part of a block: row i from column max(0, i - tri). */
function copyRowsUpper(ms: number, nc: number, src: Float64Array, s: number, lds: number, dst: Float64Array, d: number, ldd: number, tri: number): void {
  for (let i = 0; i < ms; i++, s += lds, d += ldd) {
    const skip = Math.max(0, i - tri);
    if (skip >= nc) continue;
    dst.set(src.subarray(s + skip, s + nc), d + skip);
  }
}


/** C(m×n) = alpha * op(A) * op(B) + beta * C on the wasm kernel. Requires wasmGemmAvailable(), m, n, k ≥ 1; C must not overlap A or B. */
export function gemmWasm(
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
  product(transA, transB, m, n, k, alpha, A, aOff, lda, B, bOff, ldb, beta, C, cOff, ldc, null, 0, false);
}

/** Cbuf (np×np at heap[cBase..], np even) made symmetric from its upper triangle, split as symsum is; false without the kernel. */
function mirrorBuffer(ctx: WasmContext, cBase: number, np: number, n: number): boolean {
  const mirror = mirrorOn(ctx);
  if (mirror === null) return false;
  const pool = ctx.pool !== null && ctx.pool.supportsJob(JOB_MIRROR) ? ctx.pool : null;
  const nb = np / 2;
  const ranges = splitRows(nb, symsumThreads(n, pool));
  const args = [cBase * 8, np * 8, nb, MIRROR_TB];
  const self = (from: number, to: number): void => mirror(cBase * 8, np * 8, nb, MIRROR_TB, from, to);
  if (ranges.length > 1) pool!.run(JOB_MIRROR, args, ranges, self);
  else self(0, nb);
  return true;
}

/**
 * The upper triangle (j ≥ i) of C(n×n) = alpha * X' diag(d) X + beta * C, X m×n (d = null: the
 * identity). Reads only C's upper triangle (beta ≠ 0); writes it, and returns true where it
 * wrote the lower one too (the whole symmetric result), false where the caller must mirror it.
 * n, m ≥ 1.
 */
export function xtdxUpperWasm(
  m: number,
  n: number,
  X: Float64Array,
  xOff: number,
  ldx: number,
  d: Float64Array | null,
  dOff: number,
  alpha: number,
  beta: number,
  C: Float64Array,
  cOff: number,
  ldc: number,
): boolean {
  return product(true, false, n, n, m, alpha, X, xOff, ldx, X, xOff, ldx, beta, C, cOff, ldc, d, dOff, true);
}

/** The upper triangle of C(m×m) = alpha * X diag(d) X' + beta * C, X m×n (d = null: the identity); as xtdxUpperWasm. */
export function xdxtUpperWasm(
  m: number,
  n: number,
  X: Float64Array,
  xOff: number,
  ldx: number,
  d: Float64Array | null,
  dOff: number,
  alpha: number,
  beta: number,
  C: Float64Array,
  cOff: number,
  ldc: number,
): boolean {
  return product(false, true, m, m, n, alpha, X, xOff, ldx, X, xOff, ldx, beta, C, cOff, ldc, d, dOff, true);
}

function product(
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
  scale: Float64Array | null,
  sOff: number,
  upper: boolean,
): boolean {
  if (!primed) prime();
  // Region sizes (doubles) for this call; all multiples of 4, so every
  // region and every Cbuf row is 32-byte aligned.
  const kcMax = k < KC ? k : KC;
  const ncMax = Math.min(NC, roundUp(n, NR));
  const msMax = Math.min(MS, roundUp(m, MR));
  const aBase = 0;
  const bBase = aBase + roundUp(msMax * kcMax, 4);
  const cBase = bBase + roundUp(kcMax * ncMax, 4);
  // The packing kernels' staging region (a kc-row block of op(A) or op(B)) and row scales.
  const stage = cBase + msMax * ncMax;
  const scl = stage + kcMax * Math.max(ncMax, msMax);
  // A second pair of A and B blocks where threads share the work and there is more than one k
  // block: the calling thread packs block pc + KC there while the others start on block pc.
  const spare = scl + roundUp(kcMax, 4);
  const ctx: WasmContext | null = acquire(spare + (k > KC ? cBase - aBase : 0));
  if (ctx === null) throw new Error('gemmWasm: WebAssembly SIMD is not available');
  const mem = ctx.heap;
  const kern = ctx.kernel;
  const pk = packOn(ctx);
  // Work in multiply-adds (a syrk computes about half of its tiles).
  const pool = ctx.pool !== null && ctx.pool.supports(ctx.variantIndex) ? ctx.pool : null;
  const threads = threadsFor(upper ? (m * n * k) / 2 : m * n * k, pool);
  // Wide blocks keep C in wasm memory (copied in and out with memcpy) and
  // apply alpha and beta in the kernel; narrow ones get the raw product and
  // a fused JS write-back (see COPY_SET_MIN).
  const firstMode = beta === 0 ? 0 : beta === 1 ? 1 : 2;
  // X'·diag(d)·X: op(A) and op(B) are the same rows of X, op(B)'s scaled.
  const pairPack = upper && scale !== null && transA && !transB && A === B && aOff === bOff && lda === ldb;
  // A syrk whose result is one block is mirrored in the kernels' memory and copied out whole.
  let whole = false;

  for (let jc = 0; jc < n; jc += NC) {
    const nc = n - jc < NC ? n - jc : NC;
    const ncPad = roundUp(nc, NR);
    const inWasm = nc >= COPY_SET_MIN;
    for (let i0 = 0; i0 < m; i0 += MS) {
      const ms = m - i0 < MS ? m - i0 : MS;
      // Column 0 of the block is `tri` columns right of row 0 of the slab.
      const tri = upper ? jc - i0 : TRI_ALL;
      if (upper && tri + nc <= 0) continue; // the block lies below the diagonal
      const cBlock = cOff + i0 * ldc + jc;
      if (inWasm && beta !== 0) copyRows(ms, nc, C, cBlock, ldc, mem, cBase, ncPad);
      const mt = Math.ceil(ms / MR);
      // Threads share the row panels, claiming `chunk` at a time: about four claims per thread on
      // a small block, SHARED_CHUNK panels on a large one; no more threads than claims.
      const chunk = Math.max(1, Math.min(SHARED_CHUNK, Math.ceil(mt / (4 * threads))));
      const shared = Math.min(threads, Math.ceil(mt / chunk));
      // On syrk's diagonal blocks the kernel packs op(A) = X' with op(B) = diag(d)·X in one pass.
      const pair = pk !== null && pairPack && i0 === jc && ms === nc;
      /** Pack k block pc into the A and B blocks `off` doubles past the first pair. */
      const pack = (pc: number, off: number): void => {
        const kc = k - pc < KC ? k - pc : KC;
        const a = aBase + off;
        const b = bBase + off;
        const bScale = scale === null ? null : { scale, sOff, pair: pair ? a : null };
        const doneB = pk === null || transB ? 0 : packRowsWasm(pk, mem, stage, scl, kc, nc, B, bOff, ldb, pc, jc, b, bScale);
        if (doneB < nc) {
          if (scale === null) packB(mem, b + doneB * kc, transB, kc, nc - doneB, B, bOff, ldb, pc, jc + doneB);
          else packBScaled(mem, b + doneB * kc, transB, kc, nc - doneB, B, bOff, ldb, pc, jc + doneB, scale, sOff);
        }
        const doneA = pair ? doneB : pk === null || !transA ? 0 : packRowsWasm(pk, mem, stage, scl, kc, ms, A, aOff, lda, pc, i0, a, null);
        if (doneA < ms) packA(mem, a + doneA * kc, transA, ms - doneA, kc, A, aOff, lda, i0 + doneA, pc);
      };
      const overlap = shared > 1 && k > KC;
      if (overlap) pack(0, 0);
      for (let pc = 0, t = 0; pc < k; pc += KC, t++) {
        const kc = k - pc < KC ? k - pc : KC;
        // With threads sharing the block, block pc was packed while the previous one ran, into
        // the pair of blocks of its parity; alone, it is packed here into the first pair.
        const off = overlap && t & 1 ? spare - aBase : 0;
        if (!overlap) pack(pc, 0);
        const mode = pc > 0 ? 1 : inWasm ? firstMode : 0;
        const job: PanelJob = {
          variant: ctx.variantIndex,
          a: (aBase + off) * 8,
          b: (bBase + off) * 8,
          c: cBase * 8,
          ldc: ncPad * 8,
          kc,
          nt: ncPad / NR,
          mode,
          tri,
          alpha: inWasm ? alpha : 1,
          beta: inWasm ? beta : 0,
          chunk: shared > 1 ? chunk : MC / MR,
        };
        const next = pc + KC;
        if (shared > 1) pool!.runPanelsShared(kern, job, mt, shared, MR, overlap && next < k ? () => pack(next, ((t + 1) & 1) * (spare - aBase)) : null);
        else runPanels(kern, job, 0, mt, MR);
      }
      if (inWasm) {
        if (upper && ms === m && nc === n && mirrorBuffer(ctx, cBase, ncPad, n)) {
          copyRows(ms, nc, mem, cBase, ncPad, C, cBlock, ldc);
          whole = true;
        } else if (upper) copyRowsUpper(ms, nc, mem, cBase, ncPad, C, cBlock, ldc, tri);
        else copyRows(ms, nc, mem, cBase, ncPad, C, cBlock, ldc);
      } else writeBack(ms, nc, alpha, beta, mem, cBase, ncPad, C, cBlock, ldc, tri);
      if (!priming) recordRun({ kernel: upper ? 'syrk' : 'gemm', variant: ctx.variant, threads: shared, sharedMemory: ctx.shared, ...(upper ? { mirrored: whole } : {}) });
    }
  }
  return whole;
}
