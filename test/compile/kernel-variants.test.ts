/**
 * Every variant of the WebAssembly product kernels against naive loops: relaxed-SIMD FMA and
 * plain f64x2, plain and shared memory, one, two and three threads (workers forced even on tiny
 * products), for gemm (all transposes) and the symmetric products X'·diag(d)·X and X·diag(d)·X',
 * at awkward sizes, offsets and leading dimensions; the thin products, syrk's mirror and the
 * symmetric check (run behind the copy of the matrix), whose rows are split across the same
 * threads; and the same check and thin products of resident arrays (residentArray), read where
 * they lie. Each case also checks that the path it forced is the one that ran
 * (kernelInfo().lastProduct, lastCheck).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mulberry32 } from '../../src/random.js';
import { gemm, kernelInfo, symmetricSum, xdxt, xtdx } from '../../src/compile/kernels/index.js';
import { setGemmBackend } from '../../src/compile/kernels/gemm.js';
import { setParallel, SYMSUM_PLAIN_MAX_N } from '../../src/compile/kernels/parallel/config.js';
import { paddedStride } from '../../src/compile/kernels/wasm/symsumWasm.js';
import { releaseResident, residentArray, setSharedMemory, setWasmVariant, sharedPool, stagedSums, withinEvaluation, type WasmVariant } from '../../src/compile/kernels/wasm/runtime.js';
import { symeqWasm } from '../../src/compile/kernels/wasm/symeqWasm.js';
import { thinWasm } from '../../src/compile/kernels/wasm/thinWasm.js';
import { ROW_BLOCK } from '../../src/compile/kernels/wasm/thinKernel.js';

const rand = mulberry32(2024);
const randArray = (n: number): Float64Array => Float64Array.from({ length: n }, () => 2 * rand() - 1);
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;

/** A rows×cols matrix at offset off with leading dimension ld inside a larger buffer. */
interface Block {
  buf: Float64Array;
  off: number;
  ld: number;
}
function block(rows: number, cols: number, nanFill = false): Block {
  const ld = cols + pick([0, 1, 3]);
  const off = pick([0, 2, 5]);
  const buf = randArray(off + rows * ld + 2);
  if (nanFill) for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) buf[off + i * ld + j] = NaN;
  return { buf, off, ld };
}
const at = (b: Block, i: number, j: number): number => b.buf[b.off + i * b.ld + j]!;

function expectBlockClose(C: Block, rows: number, cols: number, ref: (i: number, j: number) => number, what: string): void {
  let num = 0;
  let den = 1e-300;
  for (let i = 0; i < rows; i++)
    for (let j = 0; j < cols; j++) {
      const d = Math.abs(at(C, i, j) - ref(i, j));
      if (!(d <= num)) num = d;
      den = Math.max(den, Math.abs(ref(i, j)));
    }
  if (!(num / den < 1e-12)) throw new Error(`${what}: relative error ${num / den}`);
}

/** Entries of the buffer outside the block stay as they were. */
function outsideOf(C: Block, rows: number, cols: number): number[] {
  const r: number[] = [];
  C.buf.forEach((v, p) => {
    const q = p - C.off;
    const i = Math.floor(q / C.ld);
    const j = q - i * C.ld;
    if (!(q >= 0 && i < rows && j < cols)) r.push(v);
  });
  return r;
}

function checkGemm(tA: boolean, tB: boolean, m: number, n: number, k: number, alpha: number, beta: number): void {
  const A = tA ? block(k, m) : block(m, k);
  const B = tB ? block(n, k) : block(k, n);
  const C = block(m, n, beta === 0);
  const c0 = C.buf.slice();
  const opA = (i: number, p: number) => (tA ? at(A, p, i) : at(A, i, p));
  const opB = (p: number, j: number) => (tB ? at(B, j, p) : at(B, p, j));
  const ref = (i: number, j: number): number => {
    let s = 0;
    for (let p = 0; p < k; p++) s += opA(i, p) * opB(p, j);
    return alpha * s + (beta === 0 ? 0 : beta * c0[C.off + i * C.ld + j]!);
  };
  const before = outsideOf(C, m, n);
  gemm(tA, tB, m, n, k, alpha, A.buf, A.off, A.ld, B.buf, B.off, B.ld, beta, C.buf, C.off, C.ld);
  expectBlockClose(C, m, n, ref, `gemm(${tA}, ${tB}, ${m}, ${n}, ${k}, alpha ${alpha}, beta ${beta})`);
  expect(outsideOf(C, m, n)).toEqual(before);
}

/** X'·diag(d)·X (n×n from m×n X) or X·diag(d)·X' (m×m); d = null is the identity. Only C's upper triangle is read. */
function checkSyrk(kind: 'xtdx' | 'xdxt', m: number, n: number, withD: boolean, alpha: number, beta: number): void {
  const X = block(m, n);
  const len = kind === 'xtdx' ? m : n;
  const dim = kind === 'xtdx' ? n : m;
  const d = withD ? randArray(len + 3) : null;
  const dOff = withD ? 2 : 0;
  const C = block(dim, dim, beta === 0);
  // The lower triangle is garbage the kernel must not read.
  for (let i = 0; i < dim; i++) for (let j = 0; j < i; j++) C.buf[C.off + i * C.ld + j] = NaN;
  const c0 = C.buf.slice();
  const upper = (i: number, j: number) => c0[C.off + Math.min(i, j) * C.ld + Math.max(i, j)]!;
  const ref = (i: number, j: number): number => {
    let s = 0;
    if (kind === 'xtdx') for (let p = 0; p < m; p++) s += at(X, p, i) * (d ? d[dOff + p]! : 1) * at(X, p, j);
    else for (let p = 0; p < n; p++) s += at(X, i, p) * (d ? d[dOff + p]! : 1) * at(X, j, p);
    return alpha * s + (beta === 0 ? 0 : beta * upper(i, j));
  };
  const before = outsideOf(C, dim, dim);
  (kind === 'xtdx' ? xtdx : xdxt)(m, n, X.buf, X.off, X.ld, d, dOff, alpha, beta, C.buf, C.off, C.ld);
  const what = `${kind}(m ${m}, n ${n}, d ${withD}, alpha ${alpha}, beta ${beta})`;
  expectBlockClose(C, dim, dim, ref, what);
  // Exactly symmetric, whichever side mirrored it.
  for (let i = 0; i < dim; i++) for (let j = 0; j < i; j++) if (!Object.is(at(C, i, j), at(C, j, i))) throw new Error(`${what}: C(${i}, ${j}) ≠ C(${j}, ${i})`);
  expect(outsideOf(C, dim, dim)).toEqual(before);
}

/** a (n×n) made symmetric from its lower triangle. */
function symmetrize(a: Float64Array, n: number): void {
  for (let i = 0; i < n; i++) for (let j = 0; j < i; j++) a[j * n + i] = a[i * n + j]!;
}

/** Within one evaluation: the WebAssembly check passes a, and the row sums it staged are a's. */
function expectCheckedWithRowSums(n: number, a: Float64Array): void {
  withinEvaluation(() => {
    expect(symeqWasm(n, a, 0, n), `n ${n}`).toBe(true);
    const sums = stagedSums(a, n, n)!;
    for (let i = 0; i < n; i++) {
      let t = 0;
      for (let j = 0; j < n; j++) t += a[i * n + j]!;
      expect(Math.abs(sums.rowSums[i]! - t), `n ${n}: row ${i}`).toBeLessThan(1e-12);
    }
  });
}

const SIZES = [1, 2, 3, 7, 17, 33, 65, 129];
const COEFS: readonly (readonly [number, number])[] = [
  [1, 0],
  [-0.7, 1],
  [2.5, -1.3],
];

interface Variant {
  kernel: WasmVariant;
  shared: boolean;
  threads: number;
}
const VARIANTS: Variant[] = [];
for (const kernel of ['fma', 'simd'] as const) {
  VARIANTS.push({ kernel, shared: false, threads: 1 });
  for (const threads of [1, 2, 3]) VARIANTS.push({ kernel, shared: true, threads });
}

describe('the host runs every variant (so the runs below are real)', () => {
  it('relaxed SIMD, shared memory and workers are available to the tests', () => {
    const info = kernelInfo();
    expect(info.available).toEqual(['fma', 'simd']);
    expect(info.relaxedSimd).toBe(true);
    expect(info.kernel).toBe('fma');
    expect(info.sharedMemory).toBe(true);
    expect(info.workersAllowed).toBe(true);
  });
});

for (const v of VARIANTS) {
  describe(`products on ${v.kernel}, ${v.shared ? 'shared' : 'plain'} memory, ${v.threads} thread(s)`, () => {
    beforeAll(() => {
      setGemmBackend('wasm');
      setWasmVariant(v.kernel);
      setSharedMemory(v.shared);
      // minWork 0: split even the smallest product that has two row panels.
      setParallel({ threads: v.threads, minWork: 0 });
      if (v.threads > 1) {
        // The first product starts the workers; wait until they run.
        gemm(false, false, 8, 8, 8, 1, new Float64Array(64), 0, 8, new Float64Array(64), 0, 8, 0, new Float64Array(64), 0, 8);
        expect(sharedPool()!.waitReady(v.threads - 1, 20_000)).toBe(true);
      }
    });
    afterAll(() => {
      setGemmBackend('auto');
      setWasmVariant('auto');
      setSharedMemory('auto');
      setParallel({ threads: 'auto', minWork: 'auto' });
    });

    /** The forced path ran (more than one thread only where there were two row panels to split). */
    const expectRan = (kernel: 'gemm' | 'syrk', rows: number): void => {
      const last = kernelInfo().lastProduct!;
      expect(last).toMatchObject({ kernel, variant: v.kernel, sharedMemory: v.shared });
      expect(last.threads).toBe(Math.min(v.threads, Math.ceil(rows / 4)));
    };

    it('gemm: all transposes, m, n, k over awkward sizes (non-square), alpha/beta, offsets', () => {
      for (const [tA, tB] of [[false, false], [false, true], [true, false], [true, true]] as const) {
        for (const m of SIZES) {
          const n = pick(SIZES);
          const k = pick(SIZES);
          const [alpha, beta] = pick(COEFS);
          checkGemm(tA, tB, m, n, k, alpha, beta);
          expectRan('gemm', m);
        }
      }
    });

    it('gemm: several k blocks, column blocks and row slabs', () => {
      checkGemm(false, false, 67, 45, 600, 1.5, 0.5);
      expectRan('gemm', 67);
      checkGemm(true, true, 1030, 9, 6, -1, 0);
      checkGemm(false, true, 21, 1100, 5, 1, 1);
    });

    it("syrk: X'·diag(d)·X and X·diag(d)·X' over awkward sizes, with and without d", () => {
      for (const kind of ['xtdx', 'xdxt'] as const) {
        for (const n of SIZES) {
          const m = pick(SIZES);
          const [alpha, beta] = pick(COEFS);
          checkSyrk(kind, m, n, rand() < 0.7, alpha, beta);
          const dim = kind === 'xtdx' ? n : m;
          // Below the wasm path's size the plain TS direct loops run (syrk.ts); a result of one
          // block kept in the kernels' memory (32 columns on) is mirrored by the kernel.
          if (dim >= 8 && (kind === 'xtdx' ? m : n) >= 4) {
            expectRan('syrk', dim);
            expect(kernelInfo().lastProduct!.mirrored).toBe(dim >= 32);
          }
        }
      }
      checkSyrk('xtdx', 600, 70, true, 1, 0); // several k blocks
      checkSyrk('xdxt', 66, 300, true, -2, 0.5);
      checkSyrk('xtdx', 9, 1050, false, 1, 1); // more than one column block and row slab
      expect(kernelInfo().lastProduct!.mirrored).toBe(false); // mirrored by syrk.ts
      // With d: the diagonal blocks pack op(A) and the scaled op(B) in one pass (an edge panel in
      // the last, 1050 − 1024 = 26 columns), the block off the diagonal packs them apart.
      checkSyrk('xtdx', 9, 1050, true, 0.5, 0);
      checkSyrk('xtdx', 600, 13, true, 1, 1); // several k blocks, an edge panel of one column
    });

    it('symsum: C = c·(X + X′) on the WebAssembly kernel, odd and even orders, offsets, leading dimensions', () => {
      // Up to SYMSUM_PLAIN_MAX_N a copied A goes to a plain memory on one thread; above, to the
      // shared one, split. Orders whose rows alias (512, 1536) are padded in the copy.
      for (const n of [64, 65, 128, 129, 130, 257, 300, 512, SYMSUM_PLAIN_MAX_N + 1, SYMSUM_PLAIN_MAX_N + 2, 1536]) {
        const X = block(n, n);
        const C = block(n, n, true);
        const c = pick([1, -0.5, 3]);
        const before = outsideOf(C, n, n);
        symmetricSum(n, c, X.buf, X.off, X.ld, C.buf, C.off, C.ld);
        expectBlockClose(C, n, n, (i, j) => c * (at(X, i, j) + at(X, j, i)), `symsum(${n})`);
        expect(outsideOf(C, n, n)).toEqual(before);
        const last = kernelInfo().lastProduct!;
        const split = n > SYMSUM_PLAIN_MAX_N;
        expect(last).toMatchObject({ kernel: 'symsum', sharedMemory: v.shared && split, inPlace: false });
        expect(last.threads).toBe(split ? Math.min(v.threads, Math.ceil(n / 2)) : 1);
      }
      expect(paddedStride(512)).toBe(520);
      expect(paddedStride(1000)).toBe(1000);
      expect(paddedStride(129)).toBe(130);
      expect(paddedStride(1536)).toBe(1544);
    });

    it('thin: C = alpha·A·B + beta·C with rows split across threads, every column count, awkward row counts', () => {
      for (const m of [1, 2, 3, 5, 8, 65, 301])
        for (let nc = 1; nc <= 4; nc++) {
          const k = pick([1, 3, 4, 33, 130]);
          const lda = k + pick([0, 1, 4]);
          const A = randArray(m * lda + 2);
          const B = randArray(k * nc);
          const C = randArray(m * nc + 1);
          const [alpha, beta] = pick(COEFS);
          if (beta === 0) C.fill(NaN, 0, m * nc);
          const c0 = C.slice();
          expect(thinWasm(false, m, k, nc, alpha, A, 1, lda, B, 0, nc, 1, beta, C, 0, nc, 1)).toBe(true);
          expectBlockClose({ buf: C, off: 0, ld: nc }, m, nc, (i, j) => {
            let t = 0;
            for (let p = 0; p < k; p++) t += A[1 + i * lda + p]! * B[p * nc + j]!;
            return alpha * t + (beta === 0 ? 0 : beta * c0[i * nc + j]!);
          }, `thin(m ${m}, k ${k}, nc ${nc})`);
          expect(C[m * nc]).toBe(c0[m * nc]);
          const blocks = Math.floor(m / ROW_BLOCK(nc));
          expect(kernelInfo().lastProduct).toMatchObject({ kernel: 'thin', sharedMemory: v.shared, threads: v.shared ? Math.max(1, Math.min(v.threads, blocks)) : 1 });
        }
    });

    it('symmetric check behind the copy: verdicts on a pair in each tile row (first, middle, last), the row sums', () => {
      for (const n of [130, 257, 300]) {
        const a = randArray(n * n);
        symmetrize(a, n);
        expectCheckedWithRowSums(n, a);
        expect(kernelInfo().lastCheck).toEqual({ kernel: 'symeq', threads: v.shared ? v.threads : 1, sharedMemory: v.shared, inPlace: false });
        // Tile rows are 64 rows: a pair (i + 1, i) in the first, one in the middle, one in the last.
        for (const i of [0, 65, Math.floor(n / 2), n - 2]) {
          const b = a.slice();
          b[(i + 1) * n + i] = b[(i + 1) * n + i]! + 1;
          expect(symeqWasm(n, b, 0, n), `n ${n}: (${i + 1}, ${i}) unequal`).toBe(false);
          b[(i + 1) * n + i] = NaN;
          b[i * n + i + 1] = NaN;
          expect(symeqWasm(n, b, 0, n), `n ${n}: NaN at (${i + 1}, ${i})`).toBe(false);
        }
      }
    });

    it('resident matrices: the check and the thin products read them where they lie (shared memory), or copy them as any array (plain)', () => {
      // In place where the memory is shared and the rows need no padding (a multiple of four).
      for (const n of [128, 130, 256, 300, 516]) {
        const a = residentArray(n * n);
        expect(a.length).toBe(n * n);
        expect(a.every((x) => x === 0)).toBe(true);
        a.set(randArray(n * n));
        symmetrize(a, n);
        const inPlace = v.shared && n % 4 === 0;
        expectCheckedWithRowSums(n, a);
        expect(kernelInfo().lastCheck).toEqual({ kernel: 'symeq', threads: v.shared ? v.threads : 1, sharedMemory: v.shared, inPlace });
        for (const i of [0, 65, Math.floor(n / 2), n - 2]) {
          const p = (i + 1) * n + i;
          const keep = a[p]!;
          a[p] = keep + 1;
          expect(symeqWasm(n, a, 0, n), `n ${n}: (${i + 1}, ${i}) unequal`).toBe(false);
          a[p] = NaN;
          expect(symeqWasm(n, a, 0, n), `n ${n}: NaN at (${i + 1}, ${i})`).toBe(false);
          a[p] = keep;
        }
        expect(symeqWasm(n, a, 0, n)).toBe(true);
        releaseResident(a);
      }
      // Thin products of a resident matrix (and of a view into one, at an offset), both orientations.
      for (const [m, k] of [[1, 4], [5, 32], [65, 132], [301, 8], [64, 130], [200, 200]] as const) {
        const buf = residentArray(m * k + 2 * k + 3);
        buf.set(randArray(buf.length));
        buf.fill(NaN, m * k + 2 * k); // past the matrix: never read
        for (const [A, aOff] of [[buf, 0], [buf, k], [buf.subarray(2 * k), 0]] as const) {
          for (let nc = 1; nc <= 4; nc++) {
            const [alpha, beta] = pick(COEFS);
            for (const transA of [false, true]) {
              const rows = transA ? k : m; // of op(A)
              const inner = transA ? m : k;
              const B = randArray(inner * nc);
              const C = randArray(rows * nc);
              if (beta === 0) C.fill(NaN);
              const c0 = C.slice();
              // op(A) = A (m×k, lda k) or A' (A read as m×k, op(A) k×m).
              expect(thinWasm(transA, rows, inner, nc, alpha, A, aOff, k, B, 0, nc, 1, beta, C, 0, nc, 1)).toBe(true);
              const opA = (i: number, p: number): number => (transA ? A[aOff + p * k + i]! : A[aOff + i * k + p]!);
              expectBlockClose({ buf: C, off: 0, ld: nc }, rows, nc, (i, j) => {
                let t = 0;
                for (let p = 0; p < inner; p++) t += opA(i, p) * B[p * nc + j]!;
                return alpha * t + (beta === 0 ? 0 : beta * c0[i * nc + j]!);
              }, `thin resident (trans ${transA}, m ${m}, k ${k}, nc ${nc}, offset ${aOff}, view ${A !== buf})`);
              expect(kernelInfo().lastProduct).toMatchObject({ kernel: 'thin', sharedMemory: v.shared, inPlace: v.shared && k % 4 === 0 });
            }
          }
        }
        releaseResident(buf);
      }
    });

    it('products of resident operands: symsum reads A where it lies (even orders), gemm and syrk pack from it', () => {
      /** A Block whose buffer is resident (the block at an offset and leading dimension inside it). */
      const residentBlock = (rows: number, cols: number, ld = cols, off = 0): Block => {
        const buf = residentArray(off + rows * ld + 3);
        buf.set(randArray(buf.length));
        return { buf, off, ld };
      };
      for (const n of [64, 65, 130, 300]) {
        const X = residentBlock(n, n);
        const C = block(n, n, true);
        symmetricSum(n, -0.5, X.buf, X.off, X.ld, C.buf, C.off, C.ld);
        expectBlockClose(C, n, n, (i, j) => -0.5 * (at(X, i, j) + at(X, j, i)), `symsum resident (${n})`);
        expect(kernelInfo().lastProduct).toMatchObject({ kernel: 'symsum', inPlace: v.shared && n % 2 === 0 });
        releaseResident(X.buf);
      }
      for (const [tA, tB] of [[false, false], [false, true], [true, false], [true, true]] as const) {
        const [m, n, k] = [37, 70, 300];
        const A = tA ? residentBlock(k, m, m + 4, 2) : residentBlock(m, k, k, 1);
        const B = tB ? residentBlock(n, k) : residentBlock(k, n, n + 1, 3);
        const C = block(m, n, true);
        gemm(tA, tB, m, n, k, 1.5, A.buf, A.off, A.ld, B.buf, B.off, B.ld, 0, C.buf, C.off, C.ld);
        expectBlockClose(C, m, n, (i, j) => {
          let t = 0;
          for (let p = 0; p < k; p++) t += (tA ? at(A, p, i) : at(A, i, p)) * (tB ? at(B, j, p) : at(B, p, j));
          return 1.5 * t;
        }, `gemm resident (${tA}, ${tB})`);
        releaseResident(A.buf);
        releaseResident(B.buf);
      }
      for (const [m, n, withD] of [[600, 70, true], [301, 130, true], [90, 45, false]] as const) {
        const X = residentBlock(m, n, n + (n % 4 === 0 ? 0 : 2));
        const d = withD ? randArray(m) : null;
        const C = block(n, n, true);
        xtdx(m, n, X.buf, X.off, X.ld, d, 0, 2, 0, C.buf, C.off, C.ld);
        expectBlockClose(C, n, n, (i, j) => {
          let t = 0;
          for (let p = 0; p < m; p++) t += at(X, p, i) * (d ? d[p]! : 1) * at(X, p, j);
          return 2 * t;
        }, `xtdx resident (${m}, ${n}, d ${withD})`);
        expect(kernelInfo().lastProduct).toMatchObject({ kernel: 'syrk' });
        releaseResident(X.buf);
      }
    });
  });
}

describe('thin symmetric products', () => {
  it("X·X' of an n×2 X and X'·X of a 2×n X are exactly symmetric (computed in full, no mirror)", () => {
    for (const [m, n] of [[300, 1], [300, 2], [257, 3]] as const) {
      const X = Float64Array.from({ length: m * n }, (_, i) => Math.sin(i * 1.7));
      const d = Float64Array.from({ length: n }, (_, i) => 1 + i);
      const C = new Float64Array(m * m).fill(NaN);
      xdxt(m, n, X, 0, n, d, 0, 0.5, 0, C, 0, m);
      const Xt = new Float64Array(n * m);
      for (let i = 0; i < m; i++) for (let p = 0; p < n; p++) Xt[p * m + i] = X[i * n + p]!;
      const D = new Float64Array(m * m).fill(NaN);
      xtdx(n, m, Xt, 0, m, d, 0, 0.5, 0, D, 0, m);
      for (let i = 0; i < m; i++)
        for (let j = 0; j < m; j++) {
          expect(C[i * m + j]).toBe(C[j * m + i]);
          expect(D[i * m + j]).toBe(D[j * m + i]);
          let s = 0;
          for (let p = 0; p < n; p++) s += X[i * n + p]! * d[p]! * X[j * n + p]!;
          expect(Math.abs(C[i * m + j]! - 0.5 * s)).toBeLessThan(1e-14);
          expect(Math.abs(D[i * m + j]! - 0.5 * s)).toBeLessThan(1e-14);
        }
    }
  });
});
