/**
 * WebAssembly kernels of memory-bound products: a large matrix times one to four vectors
 * (gemv, and thin gemm such as D·V with V of n×2 coordinates, or row sums as a product with
 * ones). Plain SIMD (f64x2 mul + add: the loads, not the arithmetic, bound them), so they
 * validate wherever the symsum kernel does. Emitted at load time; thinWasm.ts drives them.
 *
 *   rowdot{nc}(a, lda, m, k4, bt, c)    c[i·nc + j] = Σ_p A[i, p] · Bt[j, p]     (i < m, j < nc)
 *   rowblock{nc}(…)                     the same, ROW_BLOCK(nc) rows at a time (m a multiple of it)
 *   colacc{nc}(a, lda, rows, m4, b, ct) ct[j, q]   = Σ_p b[p·nc + j] · A[p, q]   (p < rows, q < 4·m4)
 *
 * Addresses and `lda` are in bytes; rows of A are `lda` apart and hold 4·k4 (4·m4) doubles, zero
 * past the matrix's own columns, and so do the rows of Bt and ct (4·k4 resp. 4·m4 doubles each,
 * back to back). rowdot reads each row of A once, in two f64x2 streams with their own
 * accumulators, against Bt (nc·k doubles: L1 or L2); rowblock reads ROW_BLOCK(nc) rows side by side
 * against the same vectors of Bt, one accumulator per row and column, so that the loads of Bt are
 * shared and the rows' sums do not wait on each other (n = 1000, best of 300, kernel alone on the
 * shared memory: row sums 0.23 → 0.17 ms with 4 rows, D·V 0.30 → 0.26 ms with 2; 4 rows at
 * nc = 2 spill registers; relaxed_madd measured no faster: the loads bound these); colacc adds each row of A, scaled, onto the
 * nc rows of ct (which it clears first and which stay in cache). m, rows, k4, m4 ≥ 1.
 */
import { Code, ValType, SimdOp, Op, encodeModule } from './encoder.js';

/** Most vectors per call. */
export const THIN_MAX_COLUMNS = 4;

// Sub-opcode and opcodes the encoder does not name.
const F64X2_EXTRACT_LANE = 0x21;
const F64_ADD = 0xa0;

function rowdot(nc: number): { params: ValType[]; locals: ValType[]; body: Code } {
  // Parameters.
  const A = 0, LDA = 1, M = 2, K4 = 3, BT = 4, C = 5;
  // i32 locals.
  const ROW = 6, AP = 7, BP = 8, END = 9, CP = 10, KS = 11;
  const OFF = (j: number) => 12 + j; // j·(row stride of Bt) in bytes
  const nI32 = 6 + nc;
  // v128 locals: acc[u][j], u < 2; then the two A vectors.
  const V = 6 + nI32;
  const acc = (u: number, j: number) => V + u * nc + j;
  const AV = (u: number) => V + 2 * nc + u;
  const c = new Code();
  c.get(K4).i32(5).op(Op.i32_shl).set(KS); // 32·k4 bytes per row of Bt
  for (let j = 0; j < nc; j++) c.get(KS).i32(j).op(Op.i32_mul).set(OFF(j));
  c.get(A).set(ROW);
  c.get(C).set(CP);
  c.loop(); // rows of A
  {
    for (let u = 0; u < 2; u++) for (let j = 0; j < nc; j++) c.v128Zero().set(acc(u, j));
    c.get(ROW).set(AP);
    c.get(ROW).get(KS).op(Op.i32_add).set(END);
    c.get(BT).set(BP);
    c.loop(); // four doubles of the row at a time
    {
      c.get(AP).v128Load(0).set(AV(0));
      c.get(AP).v128Load(16).set(AV(1));
      for (let j = 0; j < nc; j++)
        for (let u = 0; u < 2; u++) {
          c.get(acc(u, j)).get(AV(u));
          c.get(BP).get(OFF(j)).op(Op.i32_add).v128Load(16 * u);
          c.simd(SimdOp.f64x2_mul).simd(SimdOp.f64x2_add).set(acc(u, j));
        }
      c.addConst(AP, 32);
      c.addConst(BP, 32);
      c.get(AP).get(END).op(Op.i32_ne).brIf(0);
    }
    c.end();
    for (let j = 0; j < nc; j++) {
      // c[j] = lane 0 + lane 1 of acc[0][j] + acc[1][j]
      c.get(CP);
      c.get(acc(0, j)).get(acc(1, j)).simd(SimdOp.f64x2_add).set(AV(0));
      c.get(AV(0)).simd(F64X2_EXTRACT_LANE).op(0);
      c.get(AV(0)).simd(F64X2_EXTRACT_LANE).op(1);
      c.op(F64_ADD).f64Store(8 * j);
    }
    c.addConst(CP, 8 * nc);
    c.addLocal(ROW, LDA);
    c.get(M).i32(1).op(Op.i32_sub).tee(M).brIf(0);
  }
  c.end();
  return {
    params: new Array<ValType>(6).fill(ValType.i32),
    locals: [...new Array<ValType>(nI32).fill(ValType.i32), ...new Array<ValType>(2 * nc + 2).fill(ValType.v128)],
    body: c,
  };
}

/** Rows per step of rowblock{nc}: the most that keep accumulators, rows and Bt's vectors in 16 registers. */
export const ROW_BLOCK = (nc: number): number => (nc === 1 ? 4 : 2);

function rowblock(nc: number): { params: ValType[]; locals: ValType[]; body: Code } {
  const R = ROW_BLOCK(nc);
  // Parameters.
  const A = 0, LDA = 1, M = 2, K4 = 3, BT = 4, C = 5;
  // i32 locals.
  const ROW = 6, AP = 7, BP = 8, END = 9, CP = 10, KS = 11, STEP = 12;
  const OFF = (j: number) => 13 + j; // j·(row stride of Bt) in bytes
  const ROFF = (r: number) => 13 + nc + r; // r·lda
  const nI32 = 7 + nc + R;
  // v128 locals: acc[r][j], then a vector of each row, then a vector of each row of Bt.
  const V = 6 + nI32;
  const acc = (r: number, j: number) => V + r * nc + j;
  const AV = (r: number) => V + R * nc + r;
  const BV = (j: number) => V + R * nc + R + j;
  const c = new Code();
  c.get(K4).i32(5).op(Op.i32_shl).set(KS);
  for (let j = 0; j < nc; j++) c.get(KS).i32(j).op(Op.i32_mul).set(OFF(j));
  for (let r = 0; r < R; r++) c.get(LDA).i32(r).op(Op.i32_mul).set(ROFF(r));
  c.get(LDA).i32(R).op(Op.i32_mul).set(STEP);
  c.get(A).set(ROW);
  c.get(C).set(CP);
  c.loop(); // R rows of A
  {
    for (let r = 0; r < R; r++) for (let j = 0; j < nc; j++) c.v128Zero().set(acc(r, j));
    c.get(ROW).set(AP);
    c.get(ROW).get(KS).op(Op.i32_add).set(END);
    c.get(BT).set(BP);
    c.loop(); // four doubles of each row at a time
    {
      for (let u = 0; u < 2; u++) {
        for (let j = 0; j < nc; j++) c.get(BP).get(OFF(j)).op(Op.i32_add).v128Load(16 * u).set(BV(j));
        for (let r = 0; r < R; r++) {
          c.get(AP).get(ROFF(r)).op(Op.i32_add).v128Load(16 * u).set(AV(r));
          for (let j = 0; j < nc; j++) c.get(acc(r, j)).get(AV(r)).get(BV(j)).simd(SimdOp.f64x2_mul).simd(SimdOp.f64x2_add).set(acc(r, j));
        }
      }
      c.addConst(AP, 32);
      c.addConst(BP, 32);
      c.get(AP).get(END).op(Op.i32_ne).brIf(0);
    }
    c.end();
    for (let r = 0; r < R; r++)
      for (let j = 0; j < nc; j++) {
        c.get(CP);
        c.get(acc(r, j)).simd(F64X2_EXTRACT_LANE).op(0);
        c.get(acc(r, j)).simd(F64X2_EXTRACT_LANE).op(1);
        c.op(F64_ADD).f64Store(8 * (r * nc + j));
      }
    c.addConst(CP, 8 * nc * R);
    c.addLocal(ROW, STEP);
    c.get(M).i32(R).op(Op.i32_sub).tee(M).brIf(0);
  }
  c.end();
  return {
    params: new Array<ValType>(6).fill(ValType.i32),
    locals: [...new Array<ValType>(nI32).fill(ValType.i32), ...new Array<ValType>(R * nc + R + nc).fill(ValType.v128)],
    body: c,
  };
}

function colacc(nc: number): { params: ValType[]; locals: ValType[]; body: Code } {
  // Parameters.
  const A = 0, LDA = 1, ROWS = 2, M4 = 3, B = 4, CT = 5;
  // i32 locals.
  const ROW = 6, AP = 7, CP = 8, END = 9, MS = 10, BP = 11, ADDR = 12;
  const OFF = (j: number) => 13 + j; // j·(row stride of ct) in bytes
  const nI32 = 7 + nc;
  const V = 6 + nI32;
  const W = (j: number) => V + j; // b[p·nc + j] in both lanes
  const AV = (u: number) => V + nc + u;
  const c = new Code();
  c.get(M4).i32(5).op(Op.i32_shl).set(MS);
  for (let j = 0; j < nc; j++) c.get(MS).i32(j).op(Op.i32_mul).set(OFF(j));
  // Clear ct (nc rows of 32·m4 bytes, back to back).
  c.get(CT).set(CP);
  c.get(CT).get(MS).i32(nc).op(Op.i32_mul).op(Op.i32_add).set(END);
  c.loop();
  {
    c.get(CP).v128Zero().v128Store(0);
    c.addConst(CP, 16);
    c.get(CP).get(END).op(Op.i32_ne).brIf(0);
  }
  c.end();
  c.get(A).set(ROW);
  c.get(B).set(BP);
  c.loop(); // rows of A
  {
    for (let j = 0; j < nc; j++) c.get(BP).load64Splat(8 * j).set(W(j));
    c.get(ROW).set(AP);
    c.get(ROW).get(MS).op(Op.i32_add).set(END);
    c.get(CT).set(CP);
    c.loop(); // four doubles of the row at a time
    {
      c.get(AP).v128Load(0).set(AV(0));
      c.get(AP).v128Load(16).set(AV(1));
      for (let j = 0; j < nc; j++) {
        c.get(CP).get(OFF(j)).op(Op.i32_add).set(ADDR);
        for (let u = 0; u < 2; u++) {
          // ct[j, q..] += w_j · a
          c.get(ADDR);
          c.get(ADDR).v128Load(16 * u);
          c.get(W(j)).get(AV(u)).simd(SimdOp.f64x2_mul);
          c.simd(SimdOp.f64x2_add).v128Store(16 * u);
        }
      }
      c.addConst(AP, 32);
      c.addConst(CP, 32);
      c.get(AP).get(END).op(Op.i32_ne).brIf(0);
    }
    c.end();
    c.addConst(BP, 8 * nc);
    c.addLocal(ROW, LDA);
    c.get(ROWS).i32(1).op(Op.i32_sub).tee(ROWS).brIf(0);
  }
  c.end();
  return {
    params: new Array<ValType>(6).fill(ValType.i32),
    locals: [...new Array<ValType>(nI32).fill(ValType.i32), ...new Array<ValType>(nc + 2).fill(ValType.v128)],
    body: c,
  };
}

export function thinKernelBytes(sharedMaxPages?: number): Uint8Array<ArrayBuffer> {
  const funcs = [];
  for (let nc = 1; nc <= THIN_MAX_COLUMNS; nc++) {
    funcs.push({ name: `rowdot${nc}`, results: [], ...rowdot(nc) });
    funcs.push({ name: `rowblock${nc}`, results: [], ...rowblock(nc) });
    funcs.push({ name: `colacc${nc}`, results: [], ...colacc(nc) });
  }
  return encodeModule({
    memory: { module: 'env', field: 'memory', minPages: 1, ...(sharedMaxPages ? { shared: { maxPages: sharedMaxPages } } : {}) },
    funcs,
  });
}

/** rowdot{nc} / rowblock{nc} / colacc{nc}: (a, lda, count, len4, b, c). */
export type ThinFn = (a: number, lda: number, count: number, len4: number, b: number, c: number) => void;
