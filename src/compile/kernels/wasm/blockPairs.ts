/**
 * The walk that the symsum and symeq kernels share: every 2×2 block pair (i, j), (j, i) of an
 * n×n matrix with j ≥ i, block rows i in [from, to), in tiles of tb×tb blocks (tiles start at
 * `from`) so that both the row and the column side of a tile pair stay in L1.
 *
 * `body` is emitted once, in the innermost loop, with `rowI` at the byte address of A[2i, 2j]
 * and `rowJ` at A[2j, 2i]; the walk then steps rowI by 16 bytes (the next block of row 2i) and
 * rowJ by 2·ld (the same columns two rows down).
 */
import { type Code, SimdOp, Op } from './encoder.js';

/** i8x16.shuffle lanes: (x.lo, y.lo) and (x.hi, y.hi) of two f64x2. */
export const LO_LO = [0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23];
export const HI_HI = [8, 9, 10, 11, 12, 13, 14, 15, 24, 25, 26, 27, 28, 29, 30, 31];

export function shuffle(c: Code, lanes: readonly number[]): Code {
  return c.simd(SimdOp.i8x16_shuffle).op(...lanes);
}

/** i32 locals the walk owns. */
export const BLOCK_PAIR_LOCALS = 10;

/** Local indices: the parameters the walk reads, and the BLOCK_PAIR_LOCALS i32 locals it owns. */
export interface BlockPairLocals {
  /** Parameters: A's byte address, row stride in bytes, blocks per side, tile edge in blocks, block-row range. */
  readonly a: number;
  readonly ld: number;
  readonly nb: number;
  readonly tb: number;
  readonly from: number;
  readonly to: number;
  /** The walk's own i32 locals, from `first` on (ten of them). */
  readonly first: number;
}

/** The locals body reads: the byte addresses of A[2i, 2j] and A[2j, 2i]. */
export function pairPointers(l: BlockPairLocals): { rowI: number; rowJ: number } {
  return { rowI: l.first + 6, rowJ: l.first + 7 };
}

/** The locals holding the block pair's indices i and j (j ≥ i; j = i on the diagonal). */
export function pairIndices(l: BlockPairLocals): { bi: number; bj: number } {
  return { bi: l.first + 2, bj: l.first + 3 };
}

/**
 * `rowHooks`, where given: `before` is emitted before each run of blocks of one block row within a
 * tile (bi fixed, bj from its start to the tile's end), `after` after it — for an accumulator
 * that lives in a register across the run.
 */
export function emitBlockPairs(c: Code, l: BlockPairLocals, body: () => void, rowHooks?: { before: () => void; after: () => void }): void {
  const BI0 = l.first, BJ0 = l.first + 1, BI = l.first + 2, BJ = l.first + 3, BIEND = l.first + 4, BJEND = l.first + 5;
  const { rowI: ROWI, rowJ: ROWJ } = pairPointers(l);
  const LD2 = l.first + 8, BJSTART = l.first + 9;
  /** dst = min(from + step, limit). */
  const minInto = (dst: number, from: number, step: number, limit: number) => {
    c.get(from).get(step).op(Op.i32_add).set(dst);
    c.get(dst).get(limit).get(dst).get(limit).op(Op.i32_lt_s).op(Op.select).set(dst);
  };
  c.get(l.ld).i32(1).op(Op.i32_shl).set(LD2);
  c.get(l.from).set(BI0);
  c.block();
  c.get(l.from).get(l.to).op(Op.i32_ge_s).brIf(0);
  c.loop(); // tile rows
  {
    minInto(BIEND, BI0, l.tb, l.to);
    c.get(BI0).set(BJ0);
    c.loop(); // tile columns, from the diagonal tile on
    {
      minInto(BJEND, BJ0, l.tb, l.nb);
      c.get(BI0).set(BI);
      c.loop(); // block rows of the tile
      {
        // bj from max(bi, bj0): the diagonal tile's lower half is the mirror of its upper half.
        c.get(BI).get(BJ0).get(BI).get(BJ0).op(Op.i32_gt_s).op(Op.select).set(BJSTART);
        c.block();
        c.get(BJSTART).get(BJEND).op(Op.i32_ge_s).brIf(0);
        c.get(BJSTART).set(BJ);
        c.get(l.a).get(BI).get(LD2).op(Op.i32_mul).op(Op.i32_add).get(BJ).i32(4).op(Op.i32_shl).op(Op.i32_add).set(ROWI);
        c.get(l.a).get(BJ).get(LD2).op(Op.i32_mul).op(Op.i32_add).get(BI).i32(4).op(Op.i32_shl).op(Op.i32_add).set(ROWJ);
        rowHooks?.before();
        c.loop(); // blocks of the row
        {
          body();
          c.addConst(ROWI, 16);
          c.addLocal(ROWJ, LD2);
          c.addConst(BJ, 1);
          c.get(BJ).get(BJEND).op(Op.i32_lt_s).brIf(0);
        }
        c.end();
        rowHooks?.after();
        c.end(); // block
        c.addConst(BI, 1);
        c.get(BI).get(BIEND).op(Op.i32_lt_s).brIf(0);
      }
      c.end();
      c.get(BJEND).set(BJ0);
      c.get(BJ0).get(l.nb).op(Op.i32_lt_s).brIf(0);
    }
    c.end();
    c.get(BIEND).set(BI0);
    c.get(BI0).get(l.to).op(Op.i32_lt_s).brIf(0);
  }
  c.end();
  c.end(); // block
}
