/**
 * gemm on the WebAssembly SIMD kernel (see gemmKernel.ts): BLIS loop order,
 * with the packed panels and the product in one WebAssembly.Memory.
 *
 *   for each NC-wide column block of C (jc)
 *     for each MS-row slab of C (i0)
 *       [Cbuf = C(slab, block)]                              (copy in, beta ≠ 0; see below)
 *       for each KC-deep block of k (pc)
 *         pack op(B)(pc.., jc..) into NR-column panels       (JS → wasm memory)
 *         for each MC-row block (ic) of the slab
 *           pack op(A)(ic.., pc..) into MR-row panels        (JS → wasm memory)
 *           kernel: Cbuf(ic.., :) = [beta*]Cbuf + alpha * Apack · Bpack   (wasm)
 *       C(slab, block) = Cbuf                                (copy out)
 *
 * Cbuf is padded to whole tiles (rows to MR, columns to NR) and the packed
 * edges are zero-padded, so the kernel never branches on the shape; padded
 * rows and columns of Cbuf are simply not written back.
 *
 * alpha and beta: for column blocks of at least COPY_SET_MIN, C's block is
 * copied into Cbuf (only when beta ≠ 0: beta = 0 never reads C, so NaN
 * garbage there is overwritten), the kernel's first k block writes
 * beta*T + alpha*P and later ones T + alpha*P (the rounding of the JS path),
 * and Cbuf is copied back. Narrower blocks (where a row copy costs more than a
 * JS loop) take the raw product and a fused JS write-back alpha*Cbuf + beta*C.
 *
 * Memory layout per call (in doubles): [A block | B block | Cbuf], each sized
 * for this call (at most MC*KC, KC*NC and MS*NC: ≈ 10.3 MB in all). The
 * memory is replaced by a larger one on demand (never grown: see below) and
 * never shrinks.
 */

import { compileGemmKernel, instantiateGemmKernel, type KernelFn } from './gemmKernel.js';

/** Register tile (4×2 f64x2 accumulators: measured fastest, with 2×4). */
const MR = 4;
const NR = 4;
/** k-block depth: one packed B panel is KC*NR doubles = 8 KB (L1). */
const KC = 256;
/** Rows of op(A) per packed block (multiple of MR): MC*KC*8 = 256 KB (L2). */
const MC = 128;
/** Columns of op(B) per packed block (multiple of NR): KC*NC*8 = 2 MB. */
const NC = 1024;
/** Rows of C per slab (multiple of MR): bounds Cbuf to MS*NC*8 = 8 MB. */
const MS = 1024;

/**
 * Column blocks at least this wide keep C in wasm memory: copied in (when
 * beta ≠ 0) and out row by row with TypedArray.set, alpha and beta applied by
 * the kernel. Measured: a JS element loop costs ≈ 1.4 ns per double here, a
 * row copy by set ≈ 60 ns + 0.2 ns per double, so set wins from ≈ 32 on.
 */
const COPY_SET_MIN = 32;

const PAGE = 65536;

function roundUp(x: number, r: number): number {
  return Math.ceil(x / r) * r;
}

/**
 * The compiled module (undefined: not tried yet; null: unavailable), and the
 * current instance with its memory and a Float64Array view of all of it.
 *
 * The memory is never grown: WebAssembly.Memory.grow detaches the old
 * ArrayBuffer, and the first detach of any ArrayBuffer in a V8 isolate
 * invalidates a protector, after which optimised code checks for detachment
 * on every typed-array access: measured, plain JS typed-array loops of the
 * whole process (not only gemm) then run ≈ 30 % slower for good. When a call
 * needs more room, a larger memory and a new instance of the same module
 * (its optimised code is shared) replace the old ones, which are dropped.
 */
let kernelModule: WebAssembly.Module | null | undefined;
let kernel: KernelFn = () => {};
let heap = new Float64Array(0);

function init(): boolean {
  if (kernelModule === undefined) {
    kernelModule = compileGemmKernel({ mr: MR, nv: NR / 2 });
    if (kernelModule !== null) {
      try {
        prime();
      } catch {
        kernelModule = null; // e.g. no memory for the instance: fall back to plain TS
      }
    }
  }
  return kernelModule !== null;
}

/**
 * Give the JS side (packing, copies, write-back, the driver) type feedback
 * for every branch on tiny problems: edge panels, both transposes, wide and
 * narrow column blocks, every beta case, two k blocks. TurboFan's first
 * optimised code then covers them all instead of deoptimising on the first
 * shape it has not seen (measured with --trace-deopt).
 */
function prime(): void {
  const k = KC + 1;
  const A = new Float64Array(7 * k);
  const B = new Float64Array(k * (COPY_SET_MIN + 5));
  const C = new Float64Array(7 * (COPY_SET_MIN + 5));
  for (const n of [COPY_SET_MIN + 5, 5]) {
    for (let t = 0; t < 4; t++) {
      const tA = (t & 1) === 1;
      const tB = (t & 2) === 2;
      for (const beta of [0, 1, 0.5]) {
        gemmWasm(tA, tB, 7, n, k, 1.5, A, 0, tA ? 7 : k, B, 0, tB ? k : n, beta, C, 0, n);
      }
    }
  }
}

/** Whether the WebAssembly SIMD kernel compiled on this host (compiles it on first call). */
export function wasmGemmAvailable(): boolean {
  return init();
}

/** Make the memory hold at least `doubles` doubles; returns the view of it. */
function ensureDoubles(doubles: number): Float64Array {
  if (heap.length >= doubles || kernelModule === null || kernelModule === undefined) return heap;
  // Powers of two pages: a handful of replacements up to the ≈ 10.3 MB maximum.
  let pages = 16;
  while (pages * PAGE < doubles * 8) pages *= 2;
  const memory = new WebAssembly.Memory({ initial: pages });
  kernel = instantiateGemmKernel(kernelModule, memory);
  heap = new Float64Array(memory.buffer);
  return heap;
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

/** C(ms×nc) = alpha * buf + beta * C, buf row-major at src[s..] with row stride lds; beta = 0 does not read C. */
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
): void {
  for (let i = 0; i < ms; i++, s += lds) {
    const c0 = cOff + i * ldc;
    const c1 = c0 + nc;
    if (beta === 0) {
      for (let c = c0, t = s; c < c1; c++, t++) C[c] = alpha * src[t];
    } else if (beta === 1) {
      for (let c = c0, t = s; c < c1; c++, t++) C[c] += alpha * src[t];
    } else {
      for (let c = c0, t = s; c < c1; c++, t++) C[c] = alpha * src[t] + beta * C[c];
    }
  }
}

/**
 * C(m×n) = alpha * op(A) * op(B) + beta * C on the wasm kernel. Requires
 * wasmGemmAvailable(), m, n, k ≥ 1; C must not overlap A or B.
 */
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
  if (!init()) throw new Error('gemmWasm: WebAssembly SIMD is not available');
  // Region sizes (doubles) for this call; all multiples of 4, so every
  // region and every Cbuf row is 32-byte aligned.
  const kcMax = k < KC ? k : KC;
  const mcMax = Math.min(MC, roundUp(m, MR));
  const ncMax = Math.min(NC, roundUp(n, NR));
  const msMax = Math.min(MS, roundUp(m, MR));
  const aBase = 0;
  const bBase = aBase + roundUp(mcMax * kcMax, 4);
  const cBase = bBase + roundUp(kcMax * ncMax, 4);
  const mem = ensureDoubles(cBase + msMax * ncMax);
  const kern = kernel;
  // Wide blocks keep C in wasm memory (copied in and out with memcpy) and
  // apply alpha and beta in the kernel; narrow ones get the raw product and
  // a fused JS write-back (see COPY_SET_MIN).
  const firstMode = beta === 0 ? 0 : beta === 1 ? 1 : 2;

  for (let jc = 0; jc < n; jc += NC) {
    const nc = n - jc < NC ? n - jc : NC;
    const ncPad = roundUp(nc, NR);
    const inWasm = nc >= COPY_SET_MIN;
    for (let i0 = 0; i0 < m; i0 += MS) {
      const ms = m - i0 < MS ? m - i0 : MS;
      const cBlock = cOff + i0 * ldc + jc;
      if (inWasm && beta !== 0) copyRows(ms, nc, C, cBlock, ldc, mem, cBase, ncPad);
      for (let pc = 0; pc < k; pc += KC) {
        const kc = k - pc < KC ? k - pc : KC;
        packB(mem, bBase, transB, kc, nc, B, bOff, ldb, pc, jc);
        const mode = pc > 0 ? 1 : inWasm ? firstMode : 0;
        for (let ic = 0; ic < ms; ic += MC) {
          const mc = ms - ic < MC ? ms - ic : MC;
          packA(mem, aBase, transA, mc, kc, A, aOff, lda, i0 + ic, pc);
          const c = (cBase + ic * ncPad) * 8;
          if (inWasm) kern(aBase * 8, bBase * 8, c, ncPad * 8, Math.ceil(mc / MR), ncPad / NR, kc, mode, alpha, beta);
          else kern(aBase * 8, bBase * 8, c, ncPad * 8, Math.ceil(mc / MR), ncPad / NR, kc, mode, 1, 0);
        }
      }
      if (inWasm) copyRows(ms, nc, mem, cBase, ncPad, C, cBlock, ldc);
      else writeBack(ms, nc, alpha, beta, mem, cBase, ncPad, C, cBlock, ldc);
    }
  }
}
