/**
 * The WebAssembly kernel that tells whether a square matrix equals its transpose exactly, for the
 * check of a declared-symmetric input on every call (kernels/symmetric.ts), emitted at load time.
 *
 *   symeq(a, ld, nb, tb, rs, from, to) → 1 when A[i, j] == A[j, i] for every pair with block
 *                              row i in [from, to) (f64 equality: a NaN never equals, -0 equals
 *                              0), else 0; and adds what those pairs hold of A's row sums into
 *                              the n doubles at byte address rs (zeroed by the caller)
 *
 * A is n×n with n = 2·nb, row stride `ld` bytes, at byte address a. The kernel walks the 2×2
 * block pairs as the symsum kernel does (blockPairs.ts): it loads A[i, j..j+1], A[i+1, j..j+1], A[j, i..i+1], A[j+1, i..i+1] as
 * f64x2, transposes the second pair with two shuffles and ANDs the lane-wise equalities into one
 * accumulator, tested once at the end (unequal pairs are rare: the caller then runs the check
 * with the tolerance). As it reads each entry once, it adds the row sums too — (A0 + A1 lanes
 * summed) into rows 2i, 2i+1 and, off the diagonal, the mirrored block's into rows 2j, 2j+1 — so
 * that a product of the same matrix with ones later in the evaluation (the MDS Hessian's D·1)
 * needs no pass of its own (runtime.ts, setStaged). Threads take tile rows of it, each adding
 * into row sums of its own (symeqWasm.ts).
 */
import { Code, ValType, SimdOp, Op, encodeModule } from './encoder.js';
import { BLOCK_PAIR_LOCALS, emitBlockPairs, HI_HI, LO_LO, pairIndices, pairPointers, shuffle } from './blockPairs.js';

// Parameters.
const P_A = 0;
const P_LD = 1;
const P_NB = 2;
const P_TB = 3;
const P_RS = 4;
const P_FROM = 5;
const P_TO = 6;
const WALK = { a: P_A, ld: P_LD, nb: P_NB, tb: P_TB, from: P_FROM, to: P_TO, first: 7 };
// i32 locals: the walk's, then a row-sum address.
const L_RS = WALK.first + BLOCK_PAIR_LOCALS;
// v128 locals.
const V_A0 = L_RS + 1;
const V_A1 = V_A0 + 1;
const V_B0 = V_A0 + 2;
const V_B1 = V_A0 + 3;
const V_ACC = V_A0 + 4;
const V_ROW = V_A0 + 5;

// SIMD sub-opcodes the encoder does not name.
const F64X2_EQ = 0x47;
const V128_AND = 0x4e;
const I8X16_ALL_TRUE = 0x63;

export function symeqKernelBytes(sharedMaxPages?: number): Uint8Array<ArrayBuffer> {
  const c = new Code();
  const walk = WALK;
  const { rowI, rowJ } = pairPointers(walk);
  const { bi, bj } = pairIndices(walk);
  /** rs[2·block..2·block+1] += the f64x2 that `value` pushes. */
  const addInto = (block: number, value: () => void): void => {
    c.get(P_RS).get(block).i32(4).op(Op.i32_shl).op(Op.i32_add).set(L_RS);
    c.get(L_RS);
    c.get(L_RS).v128Load(0);
    value();
    c.simd(SimdOp.f64x2_add).v128Store(0);
  };
  c.simd(SimdOp.v128_const).op(...new Array<number>(16).fill(0xff)).set(V_ACC);
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
    // Row sums: (Σ A[2i, 2j..2j+1], Σ A[2i+1, 2j..2j+1]) into a register for rows 2i, 2i+1 (the
    // same two rows all along the run); off the diagonal, the mirrored block's into rs[2j..2j+1].
    const pairSums = (r0: number, r1: number): void => {
      shuffle(c.get(r0).get(r1), LO_LO);
      shuffle(c.get(r0).get(r1), HI_HI);
      c.simd(SimdOp.f64x2_add);
    };
    c.get(V_ROW);
    pairSums(V_A0, V_A1);
    c.simd(SimdOp.f64x2_add).set(V_ROW);
    c.get(bj).get(bi).op(Op.i32_ne).if();
    addInto(bj, () => pairSums(V_B0, V_B1));
    c.end();
  }, {
    before: () => c.simd(SimdOp.v128_const).op(...new Array<number>(16).fill(0)).set(V_ROW),
    after: () => addInto(bi, () => c.get(V_ROW)),
  });
  c.get(V_ACC).simd(I8X16_ALL_TRUE);

  return encodeModule({
    memory: { module: 'env', field: 'memory', minPages: 1, ...(sharedMaxPages ? { shared: { maxPages: sharedMaxPages } } : {}) },
    funcs: [
      {
        name: 'symeq',
        params: new Array<ValType>(7).fill(ValType.i32),
        results: [ValType.i32],
        locals: [...new Array<ValType>(V_A0 - WALK.first).fill(ValType.i32), ...new Array<ValType>(V_ROW - V_A0 + 1).fill(ValType.v128)],
        body: c,
      },
    ],
  });
}

export type SymeqFn = (a: number, ld: number, nb: number, tb: number, rs: number, from: number, to: number) => number;
