/**
 * WebAssembly kernels that pack row-major blocks into the gemm kernel's 4-wide panels (see
 * gemmWasm.ts), from a copy of the block already in the kernels' memory. Plain SIMD, like the
 * thin and symsum kernels.
 *
 *   pack(src, lds, kc, np, dst, step)                   dst[r, p, 0..3] = S[p, 4r..4r+3]
 *   packScaled(src, lds, kc, np, dst, step, scl)        dst[r, p, 0..3] = s_p · S[p, 4r..4r+3]
 *   packPair(src, lds, kc, np, dst, step, scl, dst2)    both: dst unscaled, dst2 scaled
 *
 * for rows p < kc and panels r < np, where S[p, q] is the double at src + p·lds + 8q, panel r of
 * dst starts at dst + r·step and holds its rows 32 bytes apart, and s_p is the double at
 * scl + 8p. Addresses, lds and step are in bytes. kc, np ≥ 1.
 *
 * Measured (logistic Hessian at n = 300, three k blocks of X'·diag(d)·X, both packs per block):
 * the JS packers 0.46 ms per call, this kernel 0.07 ms plus 0.06 ms for the memcpy of X's rows
 * into the staging region. Panel by panel, as below: row by row (each row's four doubles written
 * to every panel in turn, the order of the JS packers) the same kernel took 0.40 ms.
 */
import { Code, ValType, SimdOp, Op, encodeModule } from './encoder.js';

type Kind = 'pack' | 'packScaled' | 'packPair';

function packer(kind: Kind): { params: ValType[]; locals: ValType[]; body: Code } {
  const scaled = kind !== 'pack';
  const pair = kind === 'packPair';
  // Parameters.
  const SRC = 0, LDS = 1, KC = 2, NP = 3, DST = 4, STEP = 5, SCL = 6, DST2 = 7;
  const nParams = pair ? 8 : scaled ? 7 : 6;
  // i32 locals.
  const COL = nParams; // source column of panel r, row 0
  const SP = nParams + 1; // source pointer (panel r, row p)
  const DP = nParams + 2; // destination pointer (panel r, row p)
  const R = nParams + 3; // rows left
  const SCL0 = nParams + 4; // scales of row 0
  const D2 = nParams + 5; // dst2 - dst
  // v128 locals.
  const V0 = nParams + 6, V1 = V0 + 1, F = V0 + 2;
  const c = new Code();
  // Panel by panel: the writes of a panel are contiguous (kc·32 bytes), the reads 32 bytes of
  // each staged row (the staging block stays in L2). Row by row instead scatters every row's
  // writes over all the panels: measured 5× slower.
  c.get(SRC).set(COL);
  if (pair) c.get(DST2).get(DST).op(Op.i32_sub).set(D2);
  if (scaled) c.get(SCL).set(SCL0);
  c.loop(); // panels r
  {
    c.get(COL).set(SP);
    c.get(DST).set(DP);
    if (scaled) c.get(SCL0).set(SCL);
    c.get(KC).set(R); // rows left
    c.loop(); // rows p
    {
      c.get(SP).v128Load(0).set(V0);
      c.get(SP).v128Load(16).set(V1);
      if (scaled) {
        c.get(SCL).load64Splat(0).set(F);
        c.addConst(SCL, 8);
      }
      if (pair) {
        c.get(DP).get(V0).v128Store(0);
        c.get(DP).get(V1).v128Store(16);
      }
      const target = (): Code => (pair ? c.get(DP).get(D2).op(Op.i32_add) : c.get(DP));
      if (scaled) {
        target().get(V0).get(F).simd(SimdOp.f64x2_mul).v128Store(0);
        target().get(V1).get(F).simd(SimdOp.f64x2_mul).v128Store(16);
      } else {
        target().get(V0).v128Store(0);
        target().get(V1).v128Store(16);
      }
      c.addLocal(SP, LDS);
      c.addConst(DP, 32);
      c.get(R).i32(1).op(Op.i32_sub).tee(R).brIf(0);
    }
    c.end();
    c.addConst(COL, 32);
    c.addLocal(DST, STEP);
    c.get(NP).i32(1).op(Op.i32_sub).tee(NP).brIf(0);
  }
  c.end();
  return {
    params: new Array<ValType>(nParams).fill(ValType.i32),
    locals: [...new Array<ValType>(6).fill(ValType.i32), ...new Array<ValType>(3).fill(ValType.v128)],
    body: c,
  };
}

export function packKernelBytes(sharedMaxPages?: number): Uint8Array<ArrayBuffer> {
  const kinds: Kind[] = ['pack', 'packScaled', 'packPair'];
  return encodeModule({
    memory: { module: 'env', field: 'memory', minPages: 1, ...(sharedMaxPages ? { shared: { maxPages: sharedMaxPages } } : {}) },
    funcs: kinds.map((k) => ({ name: k, results: [], ...packer(k) })),
  });
}

export interface PackKernels {
  pack(src: number, lds: number, kc: number, np: number, dst: number, step: number): void;
  packScaled(src: number, lds: number, kc: number, np: number, dst: number, step: number, scl: number): void;
  packPair(src: number, lds: number, kc: number, np: number, dst: number, step: number, scl: number, dst2: number): void;
}
