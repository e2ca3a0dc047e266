/**
 * The WebAssembly SIMD macro-kernel of gemm, emitted at load time.
 *
 * Exported function (i32 arguments, addresses in bytes; alpha, beta f64):
 *
 *   kernel(a, b, c, ldc, mt, nt, kc, mode, tri, alpha, beta)
 *
 * computes, for every NR-column panel j < nt of the packed B block at `b` and
 * every MR-row panel i < min(mt, rows(j)) of the packed A block at `a`, the MR×NR tile
 * product P = Apanel_i (MR×kc) · Bpanel_j (kc×NR) and writes it into the tile
 * T = C[i*MR.., j*NR..] of the row-major C buffer at `c` (row stride `ldc`
 * bytes):
 *
 *   mode 0: T = alpha*P          (first k block, beta = 0: T is not read)
 *   mode 1: T = T + alpha*P      (later k blocks, or beta = 1)
 *   mode 2: T = beta*T + alpha*P (first k block, general beta)
 *
 * rows(j) = floor((tri + (j+1)*NR - 1) / MR) + 1 is the number of row panels
 * that reach the upper triangle when column 0 of the block is `tri` columns
 * right of row 0 (syrk: C = X'DX computes only tiles that touch j ≥ i). A
 * large `tri` (TRI_ALL) means every tile.
 *
 * Packed layouts (BLIS): Apanel_i holds op(A)(i*MR + r, p) at
 * a + 8*(i*MR*kc + p*MR + r), Bpanel_j holds op(B)(p, j*NR + s) at
 * b + 8*(j*NR*kc + p*NR + s). kc, mt, nt ≥ 1; `c` and `ldc` multiples of 16.
 *
 * Micro-kernel: the MR×NR tile lives in MR*NV f64x2 accumulators (NR = 2*NV).
 * Each k step loads NV vectors of B, then for each row splats one A value
 * (v128.load64_splat) and does NV multiplies and adds — or, in the FMA variant,
 * NV f64x2.relaxed_madd (one fused instruction where the hardware has FMA, and one
 * rounding instead of two: +19 % measured on a Zen 4 host; on a Zen 5 host the plain variant
 * is as fast, and a 3×6 tile of FMAs, 9 accumulators, measured 4–7 % above this 4×4 one — a
 * tile that the power-of-two rows here and gemmWasm.ts's 4×4 packing do not allow; bench:gemm's
 * ceiling line gives the kernel's rate against the host's peak). Loop order: B panel
 * outer (it stays in L1 across the A panels), A panel inner.
 */

import { Code, ValType, SimdOp, Op, encodeModule } from './encoder.js';

export interface GemmKernelShape {
  /** Rows of the register tile (a power of two: rows(j) divides by a shift). */
  mr: number;
  /** f64x2 vectors per tile row: the tile is mr × 2*nv. */
  nv: number;
  /** Multiply-add by f64x2.relaxed_madd (relaxed SIMD) instead of f64x2.mul + f64x2.add. */
  fma?: boolean;
  /** Import a shared memory (workers run the same module on it); its maximum size in pages. */
  sharedMaxPages?: number;
}

/** `tri` argument that selects every tile (no triangle). */
export const TRI_ALL = 1 << 29;

// Parameters.
const P_A = 0;
const P_B = 1;
const P_C = 2;
const P_LDC = 3;
const P_MT = 4;
const P_NT = 5;
const P_KC = 6;
const P_MODE = 7;
const P_TRI = 8;
const P_ALPHA = 9;
const P_BETA = 10;
const N_PARAMS = 11;
// i32 locals.
const L_IT = 11;
const L_JT = 12;
const L_AP = 13;
const L_BP = 14;
const L_AEND = 15;
const L_CP = 16;
const L_BPANEL = 17;
const L_CCOL = 18;
const L_ASTRIDE = 19;
const L_BSTRIDE = 20;
const L_CR = 21;
const L_ROWS = 22;
const N_I32_LOCALS = 12;
// v128 locals follow: accumulators, B vectors, the A splat.
const V0 = N_PARAMS + N_I32_LOCALS;

/** Build the kernel module's bytes for a given register tile. */
export function gemmKernelBytes({ mr, nv, fma = false, sharedMaxPages }: GemmKernelShape): Uint8Array<ArrayBuffer> {
  const nr = 2 * nv;
  const log2mr = Math.log2(mr);
  if (!Number.isInteger(log2mr)) throw new RangeError(`gemmKernelBytes: mr = ${mr} is not a power of two`);
  const acc = (r: number, v: number) => V0 + r * nv + v;
  const bvec = (v: number) => V0 + mr * nv + v;
  const aSplat = V0 + mr * nv + nv;
  const nV128 = mr * nv + nv + 1;

  const c = new Code();
  /** Emit write(r, v) for every vector of the tile, with L_CR at row r of the C tile. */
  const tile = (write: (r: number, v: number) => void) => {
    c.get(L_CP).set(L_CR);
    for (let r = 0; r < mr; r++) {
      for (let v = 0; v < nv; v++) write(r, v);
      if (r < mr - 1) c.addLocal(L_CR, P_LDC);
    }
  };
  /** Push alpha * acc(r, v). */
  const alphaAcc = (r: number, v: number) => c.get(acc(r, v)).get(P_ALPHA).simd(SimdOp.f64x2_splat).simd(SimdOp.f64x2_mul);

  // aStride = kc*MR*8, bStride = kc*NR*8 (bytes of one packed panel).
  c.get(P_KC).i32(mr * 8).op(Op.i32_mul).set(L_ASTRIDE);
  c.get(P_KC).i32(nr * 8).op(Op.i32_mul).set(L_BSTRIDE);
  c.get(P_B).set(L_BPANEL);
  c.get(P_C).set(L_CCOL);
  c.get(P_NT).set(L_JT);

  c.loop(); // ---- over B panels (j)
  {
    c.get(P_A).set(L_AP);
    c.get(L_CCOL).set(L_CP);
    // rows = min(mt, ((tri + NR - 1) >> log2 MR) + 1), tri advanced by NR per B panel below.
    c.get(P_TRI).i32(nr - 1).op(Op.i32_add).i32(log2mr).op(Op.i32_shr_s).i32(1).op(Op.i32_add).set(L_ROWS);
    c.get(P_MT).get(L_ROWS).get(L_ROWS).get(P_MT).op(Op.i32_gt_s).op(Op.select).set(L_IT);

    c.block(); // skip the A panels when no tile of this column reaches the triangle
    c.get(L_IT).i32(1).op(Op.i32_lt_s).brIf(0);
    c.loop(); // ---- over A panels (i)
    {
      for (let r = 0; r < mr; r++) for (let v = 0; v < nv; v++) c.v128Zero().set(acc(r, v));
      c.get(L_BPANEL).set(L_BP);
      c.get(L_AP).get(L_ASTRIDE).op(Op.i32_add).set(L_AEND);

      c.loop(); // ---- over k: one rank-1 update of the tile
      {
        for (let v = 0; v < nv; v++) c.get(L_BP).v128Load(16 * v).set(bvec(v));
        for (let r = 0; r < mr; r++) {
          c.get(L_AP).load64Splat(8 * r).set(aSplat);
          for (let v = 0; v < nv; v++) {
            if (fma) c.get(aSplat).get(bvec(v)).get(acc(r, v)).simd(SimdOp.f64x2_relaxed_madd).set(acc(r, v));
            else c.get(acc(r, v)).get(aSplat).get(bvec(v)).simd(SimdOp.f64x2_mul).simd(SimdOp.f64x2_add).set(acc(r, v));
          }
        }
        c.addConst(L_AP, mr * 8);
        c.addConst(L_BP, nr * 8);
        c.get(L_AP).get(L_AEND).op(Op.i32_ne).brIf(0);
      }
      c.end();
      // L_AP now points at the next A panel.

      // Write the tile (see the modes above).
      c.get(P_MODE).op(Op.i32_eqz).if();
      tile((r, v) => {
        c.get(L_CR);
        alphaAcc(r, v);
        c.v128Store(16 * v);
      });
      c.else().get(P_MODE).i32(1).op(Op.i32_eq).if();
      tile((r, v) => {
        c.get(L_CR).get(L_CR).v128Load(16 * v);
        alphaAcc(r, v);
        c.simd(SimdOp.f64x2_add).v128Store(16 * v);
      });
      c.else();
      tile((r, v) => {
        c.get(L_CR).get(L_CR).v128Load(16 * v).get(P_BETA).simd(SimdOp.f64x2_splat).simd(SimdOp.f64x2_mul);
        alphaAcc(r, v);
        c.simd(SimdOp.f64x2_add).v128Store(16 * v);
      });
      c.end().end();

      // cp += MR*ldc
      c.get(L_CP).get(P_LDC).i32(mr).op(Op.i32_mul).op(Op.i32_add).set(L_CP);
      c.get(L_IT).i32(1).op(Op.i32_sub).tee(L_IT).brIf(0);
    }
    c.end();
    c.end(); // block

    c.addConst(P_TRI, nr);
    c.addLocal(L_BPANEL, L_BSTRIDE);
    c.addConst(L_CCOL, nr * 8);
    c.get(L_JT).i32(1).op(Op.i32_sub).tee(L_JT).brIf(0);
  }
  c.end();

  return encodeModule({
    memory: { module: 'env', field: 'memory', minPages: 1, ...(sharedMaxPages ? { shared: { maxPages: sharedMaxPages } } : {}) },
    funcs: [
      {
        name: 'kernel',
        params: [...new Array<ValType>(P_TRI + 1).fill(ValType.i32), ValType.f64, ValType.f64],
        results: [],
        locals: [...new Array<ValType>(N_I32_LOCALS).fill(ValType.i32), ...new Array<ValType>(nV128).fill(ValType.v128)],
        body: c,
      },
    ],
  });
}

export type KernelFn = (
  a: number,
  b: number,
  c: number,
  ldc: number,
  mt: number,
  nt: number,
  kc: number,
  mode: number,
  tri: number,
  alpha: number,
  beta: number,
) => void;

/**
 * Validate and compile the kernel module; null when the host has no
 * WebAssembly, no SIMD (validation fails), or refuses to compile (e.g. a
 * content security policy without 'wasm-unsafe-eval'). The module is small
 * (< 4 KB), so synchronous compilation is allowed on a browser's main thread.
 */
export function compileGemmKernel(shape: GemmKernelShape): WebAssembly.Module | null {
  try {
    if (typeof WebAssembly !== 'object' || typeof WebAssembly.Module !== 'function') return null;
    const bytes = gemmKernelBytes(shape);
    if (!WebAssembly.validate(bytes)) return null;
    return new WebAssembly.Module(bytes);
  } catch {
    return null;
  }
}

/** Instantiate the compiled kernel on `memory` (imported as env.memory). */
export function instantiateGemmKernel(module: WebAssembly.Module, memory: WebAssembly.Memory): KernelFn {
  const instance = new WebAssembly.Instance(module, { env: { memory } });
  return instance.exports.kernel as KernelFn;
}
