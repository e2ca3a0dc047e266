/**
 * The WebAssembly kernel that tells whether a square matrix equals its transpose exactly, for the
 * check of a declared-symmetric input on every call (kernels/symmetric.ts), emitted at load time.
 *
 *   symeq(a, ld, nb, tb) → 1 when A[i, j] == A[j, i] for every pair (f64 equality: a NaN never
 *                          equals, -0 equals 0), else 0
 *
 * A is n×n with n = 2·nb, row stride `ld` bytes, at byte address a. The kernel walks the 2×2
 * block pairs as the symsum kernel does (blockPairs.ts): it loads A[i, j..j+1], A[i+1, j..j+1], A[j, i..i+1], A[j+1, i..i+1] as
 * f64x2, transposes the second pair with two shuffles and ANDs the lane-wise equalities into one
 * accumulator, tested once at the end (unequal pairs are rare: the caller then runs the check
 * with the tolerance).
 */
import { Code, ValType, SimdOp, Op, encodeModule } from './encoder.js';
import { BLOCK_PAIR_LOCALS, emitBlockPairs, HI_HI, LO_LO, pairPointers, shuffle } from './blockPairs.js';

// Parameters.
const P_A = 0;
const P_LD = 1;
const P_NB = 2;
const P_TB = 3;
const WALK = { a: P_A, ld: P_LD, nb: P_NB, tb: P_TB, first: 4 };
// i32 locals: the block-row range (all of it), then the walk's.
const L_FROM = WALK.first + BLOCK_PAIR_LOCALS;
// v128 locals.
const V_A0 = L_FROM + 1;
const V_A1 = V_A0 + 1;
const V_B0 = V_A0 + 2;
const V_B1 = V_A0 + 3;
const V_ACC = V_A0 + 4;

// SIMD sub-opcodes the encoder does not name.
const F64X2_EQ = 0x47;
const V128_AND = 0x4e;
const I8X16_ALL_TRUE = 0x63;

export function symeqKernelBytes(sharedMaxPages?: number): Uint8Array<ArrayBuffer> {
  const c = new Code();
  const walk = { ...WALK, from: L_FROM, to: P_NB };
  const { rowI, rowJ } = pairPointers(walk);
  c.simd(SimdOp.v128_const).op(...new Array<number>(16).fill(0xff)).set(V_ACC);
  c.i32(0).set(L_FROM);
  emitBlockPairs(c, walk, () => {
    c.get(rowI).v128Load(0).set(V_A0);
    c.get(rowI).get(P_LD).op(Op.i32_add).v128Load(0).set(V_A1);
    c.get(rowJ).v128Load(0).set(V_B0);
    c.get(rowJ).get(P_LD).op(Op.i32_add).v128Load(0).set(V_B1);
    // acc &= (A[i, j..j+1] == (A[j, i], A[j+1, i])) & (A[i+1, j..j+1] == (A[j, i+1], A[j+1, i+1]))
    c.get(V_ACC);
    shuffle(c.get(V_A0).get(V_B0).get(V_B1), LO_LO).simd(F64X2_EQ);
    shuffle(c.get(V_A1).get(V_B0).get(V_B1), HI_HI).simd(F64X2_EQ);
    c.simd(V128_AND).simd(V128_AND).set(V_ACC);
  });
  c.get(V_ACC).simd(I8X16_ALL_TRUE);

  return encodeModule({
    memory: { module: 'env', field: 'memory', minPages: 1, ...(sharedMaxPages ? { shared: { maxPages: sharedMaxPages } } : {}) },
    funcs: [
      {
        name: 'symeq',
        params: [ValType.i32, ValType.i32, ValType.i32, ValType.i32],
        results: [ValType.i32],
        locals: [...new Array<ValType>(V_A0 - WALK.first).fill(ValType.i32), ...new Array<ValType>(V_ACC - V_A0 + 1).fill(ValType.v128)],
        body: c,
      },
    ],
  });
}

export type SymeqFn = (a: number, ld: number, nb: number, tb: number) => number;
