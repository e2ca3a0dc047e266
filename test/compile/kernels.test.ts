import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { mulberry32 } from '../../src/random.js';
import {
  UNARY,
  SingularMatrixError,
  asum,
  axpy,
  colSums,
  copy,
  det,
  dot,
  einsum,
  fill,
  gemm,
  gemv,
  ger,
  hadamard,
  inverse,
  logAbsDet,
  luFactor,
  luSolve,
  makeEinsumPlan,
  mapUnary,
  powElementwise,
  powScalar,
  rowSums,
  scal,
  sum,
  sumsq,
  trace,
  transpose,
  xdxt,
  xtdx,
  type UnaryFn,
} from '../../src/compile/kernels/index.js';
import { getGemmBackend, setGemmBackend, wasmGemmAvailable, type GemmBackend } from '../../src/compile/kernels/gemm.js';
import { Code, encodeModule, sleb, uleb, ValType } from '../../src/compile/kernels/wasm/encoder.js';
import { gemmKernelBytes } from '../../src/compile/kernels/wasm/gemmKernel.js';

// ---------------------------------------------------------------- helpers

const rng = mulberry32;
const rand = rng(12345);
/** Uniform in [-1, 1). */
function randArray(n: number): Float64Array {
  const a = new Float64Array(n);
  for (let i = 0; i < n; i++) a[i] = 2 * rand() - 1;
  return a;
}
function randInt(lo: number, hi: number): number {
  return lo + Math.floor(rand() * (hi - lo + 1));
}

/** max|a-b| / max(max|b|, tiny): norm-wise relative error over the listed entries. */
function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    if (!(d <= num)) num = d; // NaN propagates into num
    den = Math.max(den, Math.abs(b[i]));
  }
  return num / Math.max(den, 1e-300);
}
function expectClose(a: ArrayLike<number>, b: ArrayLike<number>, tol = 1e-12): void {
  const e = relErr(a, b);
  if (!(e < tol)) throw new Error(`relative error ${e} ≥ ${tol}`);
}
function expectScalarClose(a: number, b: number, tol = 1e-12): void {
  const e = Math.abs(a - b) / Math.max(Math.abs(b), 1e-300);
  if (!(e < tol || a === b)) throw new Error(`got ${a}, expected ${b} (relative error ${e})`);
}

/** A matrix living inside a larger buffer: rows×cols at offset off with leading dimension ld. */
interface Block {
  buf: Float64Array;
  off: number;
  ld: number;
  rows: number;
  cols: number;
}
function makeBlock(rows: number, cols: number, pad = randInt(0, 3), off = randInt(0, 5), fillNaN = false): Block {
  const ld = cols + pad;
  const buf = randArray(off + Math.max(rows, 1) * ld + 3);
  if (fillNaN) {
    for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) buf[off + i * ld + j] = NaN;
  }
  return { buf, off, ld, rows, cols };
}
function get(b: Block, i: number, j: number): number {
  return b.buf[b.off + i * b.ld + j];
}
function extract(b: Block): Float64Array {
  const r = new Float64Array(b.rows * b.cols);
  for (let i = 0; i < b.rows; i++) for (let j = 0; j < b.cols; j++) r[i * b.cols + j] = get(b, i, j);
  return r;
}
/** Everything of buf outside the block, for "nothing else was touched" checks. */
function outside(b: Block): number[] {
  const r: number[] = [];
  for (let p = 0; p < b.buf.length; p++) {
    const q = p - b.off;
    const i = Math.floor(q / b.ld);
    const j = q - i * b.ld;
    if (q >= 0 && i < b.rows && j < b.cols) continue;
    r.push(b.buf[p]);
  }
  return r;
}

// ---------------------------------------------------------------- gemm

function refGemm(tA: boolean, tB: boolean, m: number, n: number, k: number, alpha: number, A: Block, B: Block, beta: number, C: Block): Float64Array {
  const r = new Float64Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let p = 0; p < k; p++) s += (tA ? get(A, p, i) : get(A, i, p)) * (tB ? get(B, j, p) : get(B, p, j));
      r[i * n + j] = alpha * s + (beta === 0 ? 0 : beta * get(C, i, j));
    }
  }
  return r;
}

function checkGemm(tA: boolean, tB: boolean, m: number, n: number, k: number, alpha: number, beta: number): void {
  const A = tA ? makeBlock(k, m) : makeBlock(m, k);
  const B = tB ? makeBlock(n, k) : makeBlock(k, n);
  const C = makeBlock(m, n, randInt(0, 3), randInt(0, 5), beta === 0);
  const expected = refGemm(tA, tB, m, n, k, alpha, A, B, beta, C);
  const before = outside(C);
  const Acopy = A.buf.slice();
  const Bcopy = B.buf.slice();
  gemm(tA, tB, m, n, k, alpha, A.buf, A.off, A.ld, B.buf, B.off, B.ld, beta, C.buf, C.off, C.ld);
  try {
    expectClose(extract(C), expected);
  } catch (e) {
    throw new Error(`gemm[${getGemmBackend()}](${tA}, ${tB}, m=${m}, n=${n}, k=${k}, alpha=${alpha}, beta=${beta}): ${(e as Error).message}`);
  }
  expect(outside(C)).toEqual(before);
  expect(A.buf).toEqual(Acopy);
  expect(B.buf).toEqual(Bcopy);
}

/**
 * Run a describe block once per gemm backend: the plain TS paths ('js') and
 * the WebAssembly SIMD kernel forced for every product ('wasm'), and restore
 * the default ('auto') afterwards.
 */
const BACKENDS: GemmBackend[] = ['js', 'wasm'];
function describeBackends(name: string, body: (backend: GemmBackend) => void): void {
  for (const backend of BACKENDS) {
    describe(`${name} [${backend}]`, () => {
      beforeAll(() => setGemmBackend(backend));
      afterAll(() => setGemmBackend('auto'));
      body(backend);
    });
  }
}

describe('gemm backends', () => {
  it('the WebAssembly SIMD kernel compiles on this Node (so the wasm runs below are real)', () => {
    expect(wasmGemmAvailable()).toBe(true);
    expect(getGemmBackend()).toBe('auto');
  });

  it('falls back to plain TS where the host rejects the module (no SIMD) or has no WebAssembly', async () => {
    for (const stub of ['validate', 'global'] as const) {
      vi.resetModules();
      const restore =
        stub === 'validate'
          ? (() => {
              const spy = vi.spyOn(WebAssembly, 'validate').mockReturnValue(false);
              return () => spy.mockRestore();
            })()
          : (() => {
              vi.stubGlobal('WebAssembly', undefined);
              return () => vi.unstubAllGlobals();
            })();
      try {
        const fresh = await import('../../src/compile/kernels/gemm.js');
        expect(fresh.wasmGemmAvailable()).toBe(false);
        expect(() => fresh.setGemmBackend('wasm')).toThrow('WebAssembly SIMD is not available');
        const [m, n, k] = [50, 41, 37];
        const A = makeBlock(m, k);
        const B = makeBlock(k, n);
        const C = makeBlock(m, n, 2, 1, true);
        const expected = refGemm(false, false, m, n, k, 2, A, B, 0, C);
        fresh.gemm(false, false, m, n, k, 2, A.buf, A.off, A.ld, B.buf, B.off, B.ld, 0, C.buf, C.off, C.ld);
        expectClose(extract(C), expected);
      } finally {
        restore();
        vi.resetModules();
      }
    }
    expect(wasmGemmAvailable()).toBe(true);
  });
});

describeBackends('gemm', (backend) => {
  const sizes = [1, 2, 3, 17, 64, 65];
  const flags: [boolean, boolean][] = [
    [false, false],
    [false, true],
    [true, false],
    [true, true],
  ];
  it('all transposes × m, n, k ∈ {1, 2, 3, 17, 64, 65}, offsets, ld > cols', () => {
    for (const [tA, tB] of flags) {
      for (const m of sizes) for (const n of sizes) for (const k of sizes) {
        // Cycle through (alpha, beta) combinations, including beta = 0 over NaN.
        const c = (m + 2 * n + 3 * k) % 4;
        const [alpha, beta] = ([[1, 0], [-0.7, 1], [2.5, -1.3], [1, 0.5]] as const)[c];
        checkGemm(tA, tB, m, n, k, alpha, beta);
      }
    }
  });

  it('large and non-square shapes (packed path, edge tiles, several k blocks)', () => {
    for (const [tA, tB] of flags) {
      checkGemm(tA, tB, 257, 257, 257, 1.5, 0);
      checkGemm(tA, tB, 65, 257, 300, -1, 0.25);
      checkGemm(tA, tB, 257, 65, 3, 2, 0); // k below a tile's depth
    }
    checkGemm(false, false, 130, 1601, 20, 1, 1); // more than one NC column block
    checkGemm(true, false, 257, 18, 513, 0.5, 0); // k spans three KC blocks
    checkGemm(false, true, 61, 64, 64, 1, -2); // partial MC block
    checkGemm(false, false, 9, 1029, 7, -1, 0.5); // wasm: a wide then a narrow column block
    checkGemm(true, true, 1030, 6, 9, 0.5, 2); // wasm: more than one row slab
    checkGemm(false, false, 1030, 33, 5, 1, 0); // wasm: row slabs of a wide block, beta = 0
  });

  it('degenerate cases: k = 0, alpha = 0, empty output', () => {
    const C = new Float64Array([NaN, NaN, 3, 4]);
    gemm(false, false, 2, 2, 0, 1, new Float64Array(0), 0, 1, new Float64Array(0), 0, 2, 0, C, 0, 2);
    expect(Array.from(C)).toEqual([0, 0, 0, 0]);
    const D = new Float64Array([1, 2, 3, 4]);
    gemm(false, false, 2, 2, 2, 0, new Float64Array([NaN, 1, 1, 1]), 0, 2, D, 0, 2, 2, D, 0, 2);
    expect(Array.from(D)).toEqual([2, 4, 6, 8]);
    gemm(false, false, 0, 5, 5, 1, D, 0, 5, D, 0, 5, 0, D, 0, 5);
    expect(Array.from(D)).toEqual([2, 4, 6, 8]);
  });

  it('beta = 0 on the packed path overwrites Inf/NaN', () => {
    checkGemm(false, false, 40, 40, 40, 1, 0);
    for (const n of [20, 40]) {
      const A = randArray(n * n);
      const C = new Float64Array(n * n).fill(Infinity);
      C[3] = NaN;
      gemm(false, false, n, n, n, 1, A, 0, n, A, 0, n, 0, C, 0, n);
      expect(C.every((v) => Number.isFinite(v))).toBe(true);
    }
  });

  it('NaN and Inf in A or B propagate as in the naive loops', () => {
    const n = 40;
    const A = randArray(n * n);
    const B = randArray(n * n);
    A[5 * n + 7] = NaN; // row 5 of C becomes NaN
    B[3 * n + 11] = Infinity; // column 11 of C becomes ±Inf (or NaN in row 5)
    const C = new Float64Array(n * n);
    gemm(false, false, n, n, n, 1, A, 0, n, B, 0, n, 0, C, 0, n);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        const v = C[i * n + j];
        if (i === 5) expect(v).toBeNaN();
        else if (j === 11) expect(Math.abs(v)).toBe(Infinity);
        else expect(Number.isFinite(v)).toBe(true);
      }
    }
  });

  if (backend === 'wasm') {
    it('products sharing one buffer (disjoint blocks, as in blocked LU) and growing sizes', () => {
      // C = A(0:m, 0:k) * A(0:k, k:k+n) written to A(m:2m, 0:n) of the same buffer.
      for (const [m, n, k] of [[5, 6, 7], [70, 90, 40], [300, 260, 100], [8, 8, 8]]) {
        const ld = k + n + 3;
        const buf = randArray((2 * m + k) * ld);
        const X: Block = { buf, off: 0, ld, rows: m, cols: k };
        const Y: Block = { buf, off: k, ld, rows: k, cols: n };
        const Z: Block = { buf, off: (m + k) * ld, ld, rows: m, cols: n };
        const expected = refGemm(false, false, m, n, k, -1, X, Y, 1, Z);
        const before = outside(Z);
        gemm(false, false, m, n, k, -1, buf, X.off, ld, buf, Y.off, ld, 1, buf, Z.off, ld);
        expectClose(extract(Z), expected);
        expect(outside(Z)).toEqual(before);
      }
    });
  }
});

describe('gemm: WebAssembly encoder and kernel module', () => {
  it('LEB128', () => {
    expect(uleb(0)).toEqual([0]);
    expect(uleb(127)).toEqual([0x7f]);
    expect(uleb(128)).toEqual([0x80, 0x01]);
    expect(uleb(624485)).toEqual([0xe5, 0x8e, 0x26]);
    expect(uleb(0xffffffff)).toEqual([0xff, 0xff, 0xff, 0xff, 0x0f]);
    expect(sleb(0)).toEqual([0]);
    expect(sleb(63)).toEqual([0x3f]);
    expect(sleb(64)).toEqual([0xc0, 0x00]);
    expect(sleb(-1)).toEqual([0x7f]);
    expect(sleb(-64)).toEqual([0x40]);
    expect(sleb(-65)).toEqual([0xbf, 0x7f]);
    expect(sleb(-123456)).toEqual([0xc0, 0xbb, 0x78]);
    expect(() => uleb(-1)).toThrow(RangeError);
    expect(() => sleb(2 ** 31)).toThrow(RangeError);
  });

  it('a hand-built function validates and runs', () => {
    // f(p, n): sum of the n doubles at byte address p, by a loop (f64 locals, i32 arithmetic, br_if).
    const F64_ADD = 0xa0;
    const code = new Code();
    code.block();
    code.get(1).op(0x45 /* i32.eqz */).brIf(0);
    code.loop();
    code.get(2).get(0).f64Load().op(F64_ADD).set(2);
    code.addConst(0, 8);
    code.get(1).i32(1).op(0x6b /* i32.sub */).tee(1).brIf(0);
    code.end().end();
    code.get(2);
    const bytes = encodeModule({
      memory: { module: 'env', field: 'memory', minPages: 1 },
      funcs: [{ name: 'sum', params: [ValType.i32, ValType.i32], results: [ValType.f64], locals: [ValType.f64], body: code }],
    });
    expect(WebAssembly.validate(bytes)).toBe(true);
    const memory = new WebAssembly.Memory({ initial: 1 });
    new Float64Array(memory.buffer).set([1.5, 2, -4, 8], 2);
    const sum = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } }).exports.sum as (p: number, n: number) => number;
    expect(sum(16, 4)).toBe(7.5);
    expect(sum(16, 0)).toBe(0);
  });

  it('the gemm kernel module validates for several tiles, with and without FMA and shared memory, and stays small', () => {
    for (const [mr, nv] of [[4, 2], [2, 4], [8, 1], [1, 3]]) {
      for (const fma of [false, true]) {
        for (const sharedMaxPages of [undefined, 16384]) {
          const bytes = gemmKernelBytes({ mr, nv, fma, ...(sharedMaxPages ? { sharedMaxPages } : {}) });
          expect(WebAssembly.validate(bytes)).toBe(true);
          // Browsers refuse synchronous compilation of modules over 4 KB on the main thread.
          expect(bytes.length).toBeLessThan(4096);
        }
      }
    }
    // The triangle's row count divides by MR with a shift.
    expect(() => gemmKernelBytes({ mr: 3, nv: 1 })).toThrow(/power of two/);
  });
});

// ---------------------------------------------------------------- level 1 and 2

/** Strided vector with an offset: element i at off + i*inc. */
function makeVec(n: number, inc: number, off = randInt(0, 4)): { buf: Float64Array; off: number } {
  const buf = randArray(off + Math.max(n - 1, 0) * Math.abs(inc) + 1 + 2);
  return { buf, off: inc < 0 ? off + (n - 1) * -inc : off };
}
function vecGet(v: { buf: Float64Array; off: number }, inc: number, n: number): number[] {
  return Array.from({ length: n }, (_, i) => v.buf[v.off + i * inc]);
}

describe('level-1 kernels', () => {
  const sizes = [0, 1, 2, 3, 17, 64, 65, 257];
  it('dot, axpy, scal, copy, fill with offsets and increments', () => {
    for (const n of sizes) {
      for (const [incx, incy] of [[1, 1], [2, 3], [-1, 1], [3, -2]]) {
        const x = makeVec(n, incx);
        const y = makeVec(n, incy);
        const xs = vecGet(x, incx, n);
        const ys = vecGet(y, incy, n);
        let ref = 0;
        for (let i = 0; i < n; i++) ref += xs[i] * ys[i];
        const d = dot(n, x.buf, x.off, incx, y.buf, y.off, incy);
        expect(Math.abs(d - ref)).toBeLessThan(1e-12 * Math.max(1, Math.abs(ref)));

        axpy(n, -0.75, x.buf, x.off, incx, y.buf, y.off, incy);
        expectClose(vecGet(y, incy, n), ys.map((v, i) => v - 0.75 * xs[i]));

        scal(n, 1.5, x.buf, x.off, incx);
        expectClose(vecGet(x, incx, n), xs.map((v) => 1.5 * v));

        copy(n, x.buf, x.off, incx, y.buf, y.off, incy);
        expect(vecGet(y, incy, n)).toEqual(vecGet(x, incx, n));

        fill(n, 7, x.buf, x.off, incx);
        expect(vecGet(x, incx, n)).toEqual(new Array(n).fill(7));
      }
    }
  });

  it('scal by 0 clears NaN; copy within one buffer handles overlap', () => {
    const x = new Float64Array([NaN, 1, Infinity]);
    scal(3, 0, x, 0, 1);
    expect(Array.from(x)).toEqual([0, 0, 0]);
    const y = new Float64Array([1, 2, 3, 4, 5]);
    copy(4, y, 0, 1, y, 1, 1);
    expect(Array.from(y)).toEqual([1, 1, 2, 3, 4]);
  });
});

describe('gemv and ger', () => {
  const sizes = [1, 2, 3, 17, 64, 65, 257];
  it('gemv, both orientations, strides, beta = 0 over NaN', () => {
    for (const m of sizes) for (const n of [1, 3, 17, 65, 257]) for (const trans of [false, true]) {
      const A = makeBlock(m, n);
      const lx = trans ? m : n;
      const ly = trans ? n : m;
      for (const [incx, incy, alpha, beta] of [[1, 1, 1, 0], [2, 3, -0.5, 1.25], [1, 2, 2, 0], [3, 1, 1, 1]]) {
        const x = makeVec(lx, incx);
        const y = makeVec(ly, incy);
        if (beta === 0) for (let i = 0; i < ly; i++) y.buf[y.off + i * incy] = NaN;
        const xs = vecGet(x, incx, lx);
        const ys = vecGet(y, incy, ly);
        const ref = new Array<number>(ly);
        for (let i = 0; i < ly; i++) {
          let s = 0;
          for (let p = 0; p < lx; p++) s += (trans ? get(A, p, i) : get(A, i, p)) * xs[p];
          ref[i] = alpha * s + (beta === 0 ? 0 : beta * ys[i]);
        }
        gemv(trans, m, n, alpha, A.buf, A.off, A.ld, x.buf, x.off, incx, beta, y.buf, y.off, incy);
        expectClose(vecGet(y, incy, ly), ref);
      }
    }
  });

  it('ger: A += alpha x y\'', () => {
    for (const m of sizes) for (const n of [1, 2, 17, 65]) {
      const A = makeBlock(m, n);
      const x = makeVec(m, 2);
      const y = makeVec(n, 1);
      const xs = vecGet(x, 2, m);
      const ys = vecGet(y, 1, n);
      const ref = extract(A).map((v, q) => v + 0.3 * xs[Math.floor(q / n)] * ys[q % n]);
      const before = outside(A);
      ger(m, n, 0.3, x.buf, x.off, 2, y.buf, y.off, 1, A.buf, A.off, A.ld);
      expectClose(extract(A), ref);
      expect(outside(A)).toEqual(before);
    }
  });
});

// ---------------------------------------------------------------- symmetric products

describeBackends('xtdx / xdxt', () => {
  function refXtDX(m: number, n: number, X: Block, d: Float64Array | null, alpha: number, beta: number, C: Block): Float64Array {
    const r = new Float64Array(n * n);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) {
      let s = 0;
      for (let p = 0; p < m; p++) s += get(X, p, i) * (d ? d[p] : 1) * get(X, p, j);
      // Only the upper triangle of C is read.
      const c = beta === 0 ? 0 : beta * get(C, Math.min(i, j), Math.max(i, j));
      r[i * n + j] = alpha * s + c;
    }
    return r;
  }
  function refXDXt(m: number, n: number, X: Block, d: Float64Array | null, alpha: number, beta: number, C: Block): Float64Array {
    const r = new Float64Array(m * m);
    for (let i = 0; i < m; i++) for (let j = 0; j < m; j++) {
      let s = 0;
      for (let p = 0; p < n; p++) s += get(X, i, p) * (d ? d[p] : 1) * get(X, j, p);
      const c = beta === 0 ? 0 : beta * get(C, Math.min(i, j), Math.max(i, j));
      r[i * m + j] = alpha * s + c;
    }
    return r;
  }
  const shapes: [number, number][] = [[1, 1], [2, 3], [3, 2], [17, 17], [64, 65], [65, 64], [17, 257], [257, 17], [300, 257], [257, 300], [20, 40]];
  for (const withD of [false, true]) {
    it(`matches the reference (${withD ? 'with d' : 'd = null'})`, () => {
      for (const [m, n] of shapes) {
        for (const [alpha, beta] of [[1, 0], [-0.5, 2]]) {
          const X = makeBlock(m, n);
          // xtdx
          {
            const d = withD ? randArray(m) : null;
            const C = makeBlock(n, n, randInt(0, 3), randInt(0, 5), beta === 0);
            const ref = refXtDX(m, n, X, d, alpha, beta, C);
            const before = outside(C);
            xtdx(m, n, X.buf, X.off, X.ld, d, 0, alpha, beta, C.buf, C.off, C.ld);
            expectClose(extract(C), ref);
            expect(outside(C)).toEqual(before);
          }
          // xdxt, with d at an offset
          {
            const dBuf = withD ? randArray(n + 2) : null;
            const C = makeBlock(m, m, randInt(0, 3), randInt(0, 5), beta === 0);
            const ref = refXDXt(m, n, X, dBuf ? dBuf.subarray(2) : null, alpha, beta, C);
            const before = outside(C);
            xdxt(m, n, X.buf, X.off, X.ld, dBuf, 2, alpha, beta, C.buf, C.off, C.ld);
            expectClose(extract(C), ref);
            expect(outside(C)).toEqual(before);
          }
        }
      }
    });
  }
  it('result is exactly symmetric', () => {
    const m = 100;
    const n = 90;
    const X = randArray(m * n);
    const C = new Float64Array(n * n);
    xtdx(m, n, X, 0, n, randArray(m), 0, 1, 0, C, 0, n);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) expect(C[i * n + j]).toBe(C[j * n + i]);
  });
});

// ---------------------------------------------------------------- element-wise

describe('element-wise', () => {
  const refUnary: Record<UnaryFn, (x: number) => number> = {
    neg: (x) => -x,
    exp: (x) => Math.exp(x),
    log: (x) => Math.log(x),
    sin: (x) => Math.sin(x),
    cos: (x) => Math.cos(x),
    tan: (x) => Math.tan(x),
    arcsin: (x) => Math.asin(x),
    arccos: (x) => Math.acos(x),
    arctan: (x) => Math.atan(x),
    tanh: (x) => Math.tanh(x),
    abs: (x) => Math.abs(x),
    sign: (x) => (x > 0 ? 1 : x < 0 ? -1 : 0),
    relu: (x) => Math.max(x, 0),
    sqrt: (x) => Math.sqrt(x),
    sigmoid: (x) => 1 / (1 + Math.exp(-x)),
    softplus: (x) => Math.log(1 + Math.exp(x)),
    logsigmoid: (x) => Math.log(1 / (1 + Math.exp(-x))),
    negsoftplus: (x) => Math.log(1 - 1 / (1 + Math.exp(-x))),
    recip: (x) => 1 / x,
    square: (x) => x * x,
  };
  const positiveOnly = new Set<UnaryFn>(['log', 'sqrt']);
  const unitOnly = new Set<UnaryFn>(['arcsin', 'arccos']);

  it('mapUnary: every function against the definition, with offsets', () => {
    for (const fn of UNARY) {
      for (const n of [0, 1, 2, 3, 17, 64, 65, 257]) {
        const off = randInt(0, 3);
        const x = randArray(n + off + 2).map((v) =>
          positiveOnly.has(fn) ? Math.abs(v) * 3 + 0.01 : unitOnly.has(fn) ? v : 3 * v,
        );
        const out = new Float64Array(n + 5).fill(NaN);
        mapUnary(fn, n, x, off, out, 1);
        const ref = Array.from({ length: n }, (_, i) => refUnary[fn](x[off + i]));
        expectClose(Array.from(out.subarray(1, 1 + n)), ref, 1e-14);
        expect(Number.isNaN(out[0]) && Number.isNaN(out[n + 1])).toBe(true);
      }
    }
  });

  it('mapUnary in place and special values', () => {
    const v = (fn: UnaryFn, xs: number[]) => {
      const a = Float64Array.from(xs);
      mapUnary(fn, a.length, a, 0, a, 0);
      return Array.from(a);
    };
    expect(v('sign', [0, -0, 3, -2])).toEqual([0, 0, 1, -1]);
    expect(v('relu', [-1, 0, 2.5])).toEqual([0, 0, 2.5]);
    expect(v('sigmoid', [800, -800, 0])).toEqual([1, 0, 0.5]);
    const sp = v('softplus', [800, -800, 0, 40]);
    expect(sp[0]).toBe(800);
    expect(sp[1]).toBeGreaterThanOrEqual(0);
    expect(sp[1]).toBeLessThan(1e-300);
    expectScalarClose(sp[2], Math.LN2, 1e-15);
    expectScalarClose(sp[3], 40 + Math.log1p(Math.exp(-40)), 1e-15);
    const ls = v('logsigmoid', [-800, 800, 0, -40]);
    expect(ls[0]).toBe(-800);
    expect(ls[1]).toBeLessThanOrEqual(0);
    expect(ls[1]).toBeGreaterThan(-1e-300);
    expectScalarClose(ls[2], -Math.LN2, 1e-15);
    expectScalarClose(ls[3], -40 - Math.log1p(Math.exp(-40)), 1e-15);
    expect(v('negsoftplus', [800, -800])[0]).toBe(-800);
    expect(v('recip', [0, -4])).toEqual([Infinity, -0.25]);
    expect(Number.isNaN(v('sign', [NaN])[0])).toBe(true);
    expect(Number.isNaN(v('relu', [NaN])[0])).toBe(true);
  });

  it('hadamard and powElementwise', () => {
    for (const n of [0, 1, 3, 17, 65, 257]) {
      const x = randArray(n + 3).map((t) => Math.abs(t) + 0.1);
      const y = randArray(n + 1);
      const out = new Float64Array(n + 2);
      hadamard(n, x, 3, y, 1, out, 2);
      expectClose(Array.from(out.subarray(2)), Array.from({ length: n }, (_, i) => x[3 + i] * y[1 + i]));
      powElementwise(n, x, 3, y, 1, out, 2);
      expectClose(Array.from(out.subarray(2)), Array.from({ length: n }, (_, i) => Math.pow(x[3 + i], y[1 + i])));
    }
  });

  it('powScalar: fast paths and the general case agree with Math.pow', () => {
    const n = 257;
    const pos = randArray(n).map((t) => Math.abs(t) * 3 + 0.05);
    const any = randArray(n).map((t) => t * 3);
    for (const p of [2, -1, 0.5, -0.5, 0, 1, 3, 4, 5, -2, -3, 7, 16, 33, -13, 64, 65, 2.5, -1.7, 1e-3]) {
      const src = Number.isInteger(p) ? any : pos;
      const out = new Float64Array(n);
      powScalar(n, src, 0, p, out, 0);
      expectClose(out, src.map((v) => Math.pow(v, p)), 1e-13);
    }
    // In place, with an offset.
    const a = Float64Array.from([9, 1, 4, 16]);
    powScalar(3, a, 1, 0.5, a, 1);
    expect(Array.from(a)).toEqual([9, 1, 2, 4]);
    // p = 0 gives 1 everywhere (like Math.pow, including NaN and 0).
    const z = Float64Array.from([0, NaN, -3]);
    powScalar(3, z, 0, 0, z, 0);
    expect(Array.from(z)).toEqual([1, 1, 1]);
  });
});

// ---------------------------------------------------------------- reductions and transpose

describe('reductions', () => {
  it('sum, sumsq, asum with increments; trace; rowSums; colSums', () => {
    for (const n of [0, 1, 2, 3, 17, 64, 65, 257]) {
      for (const inc of [1, 2, -3]) {
        const x = makeVec(n, inc);
        const xs = vecGet(x, inc, n);
        expectScalarClose(sum(n, x.buf, x.off, inc) + 1, xs.reduce((a, b) => a + b, 0) + 1);
        expectScalarClose(sumsq(n, x.buf, x.off, inc) + 1, xs.reduce((a, b) => a + b * b, 0) + 1);
        expectScalarClose(asum(n, x.buf, x.off, inc) + 1, xs.reduce((a, b) => a + Math.abs(b), 0) + 1);
      }
      const A = makeBlock(n, n);
      let tr = 0;
      for (let i = 0; i < n; i++) tr += get(A, i, i);
      expectScalarClose(trace(n, A.buf, A.off, A.ld) + 1, tr + 1);
      for (const cols of [1, 3, 65]) {
        const B = makeBlock(n, cols);
        const rs = new Float64Array(n + 1);
        rowSums(n, cols, B.buf, B.off, B.ld, rs, 1);
        const cs = new Float64Array(cols + 2).fill(NaN);
        colSums(n, cols, B.buf, B.off, B.ld, cs, 2);
        const rref = Array.from({ length: n }, (_, i) => {
          let s = 0;
          for (let j = 0; j < cols; j++) s += get(B, i, j);
          return s;
        });
        const cref = Array.from({ length: cols }, (_, j) => {
          let s = 0;
          for (let i = 0; i < n; i++) s += get(B, i, j);
          return s;
        });
        expectClose(Array.from(rs.subarray(1)).map((v) => v + 10), rref.map((v) => v + 10));
        expectClose(Array.from(cs.subarray(2)).map((v) => v + 10), cref.map((v) => v + 10));
      }
    }
  });
});

describe('transpose', () => {
  it('B = A\' for awkward and large (blocked) shapes', () => {
    const sizes = [1, 2, 3, 17, 64, 65, 257];
    for (const m of sizes) for (const n of sizes) {
      const A = makeBlock(m, n);
      const B = makeBlock(n, m);
      const before = outside(B);
      transpose(m, n, A.buf, A.off, A.ld, B.buf, B.off, B.ld);
      for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) {
        if (get(B, j, i) !== get(A, i, j)) throw new Error(`transpose ${m}×${n} wrong at (${i}, ${j})`);
      }
      expect(outside(B)).toEqual(before);
    }
  });
});

// ---------------------------------------------------------------- LU

function matmul(n: number, A: ArrayLike<number>, B: ArrayLike<number>, p = n): Float64Array {
  const C = new Float64Array(n * p);
  for (let i = 0; i < n; i++) for (let k = 0; k < n; k++) {
    const a = A[i * n + k];
    for (let j = 0; j < p; j++) C[i * p + j] += a * B[k * p + j];
  }
  return C;
}
function identity(n: number): Float64Array {
  const I = new Float64Array(n * n);
  for (let i = 0; i < n; i++) I[i * n + i] = 1;
  return I;
}
/** Random + n*I: well conditioned. */
function wellConditioned(n: number): Float64Array {
  const A = randArray(n * n);
  for (let i = 0; i < n; i++) A[i * n + i] += n;
  return A;
}

describeBackends('LU', () => {
  it('known matrices: det, inverse, logAbsDet', () => {
    const A2 = Float64Array.from([4, 3, 6, 3]);
    expectScalarClose(det(2, A2, 0, 2), -6);
    const inv2 = new Float64Array(4);
    inverse(2, A2, 0, 2, inv2, 0, 2);
    expectClose(inv2, [-0.5, 0.5, 1, -2 / 3]);
    expect(Array.from(A2)).toEqual([4, 3, 6, 3]); // untouched
    const l2 = logAbsDet(2, A2, 0, 2);
    expect(l2.sign).toBe(-1);
    expectScalarClose(l2.logAbs, Math.log(6));

    const T = Float64Array.from([2, -1, 0, -1, 2, -1, 0, -1, 2]);
    expectScalarClose(det(3, T, 0, 3), 4);
    const invT = new Float64Array(9);
    inverse(3, T, 0, 3, invT, 0, 3);
    expectClose(invT, [3, 2, 1, 2, 4, 2, 1, 2, 3].map((v) => v / 4));

    // Permutation matrix needing pivoting: det = -1.
    const P = Float64Array.from([0, 1, 0, 1, 0, 0, 0, 0, 1]); // one row swap
    expectScalarClose(det(3, P, 0, 3), -1);
    expect(det(1, Float64Array.from([-2.5]), 0, 1)).toBe(-2.5);
    expect(det(0, new Float64Array(0), 0, 0)).toBe(1);
  });

  it('random well-conditioned: solve, inverse, det vs a constructed P·L·U', () => {
    // 130 and 257 take the blocked factorisation; nrhs = 20 the blocked solve.
    for (const [n, nrhs] of [[1, 3], [2, 3], [3, 3], [17, 3], [64, 20], [65, 3], [130, 1], [130, 20], [257, 20]]) {
      // luFactor + luSolve with several right-hand sides, in sub-blocks.
      const A = wellConditioned(n);
      const X = randArray(n * nrhs);
      const Bref = matmul(n, A, X, nrhs);
      const ldlu = n + 2;
      const LU = new Float64Array(1 + n * ldlu);
      for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) LU[1 + i * ldlu + j] = A[i * n + j];
      const piv = new Int32Array(n);
      const sign = luFactor(n, LU, 1, ldlu, piv);
      expect(Math.abs(sign)).toBe(1);
      const ldb = nrhs + 1;
      const B = new Float64Array(2 + n * ldb);
      for (let i = 0; i < n; i++) for (let j = 0; j < nrhs; j++) B[2 + i * ldb + j] = Bref[i * nrhs + j];
      luSolve(n, nrhs, LU, 1, ldlu, piv, B, 2, ldb);
      const got = new Float64Array(n * nrhs);
      for (let i = 0; i < n; i++) for (let j = 0; j < nrhs; j++) got[i * nrhs + j] = B[2 + i * ldb + j];
      expectClose(got, X, 1e-12);

      // inverse, written at an offset with ldo > n; A·A⁻¹ = I.
      const ldo = n + 3;
      const out = new Float64Array(4 + n * ldo);
      inverse(n, A, 0, n, out, 4, ldo);
      const inv = new Float64Array(n * n);
      for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) inv[i * n + j] = out[4 + i * ldo + j];
      expectClose(matmul(n, A, inv), identity(n), 1e-12);

      // det / logAbsDet against A = P L U with known diag(U) and sign(P).
      const L = identity(n);
      const U = new Float64Array(n * n);
      let logAbs = 0;
      let dsign = 1;
      for (let i = 0; i < n; i++) {
        // Dyadic entries with few bits: L·U is formed exactly in floating
        // point, so det(M) = ±Π u_ii exactly and only the kernel rounds.
        for (let j = 0; j < i; j++) L[i * n + j] = randInt(-2, 2) / 16;
        for (let j = i + 1; j < n; j++) U[i * n + j] = randInt(-16, 16) / 16;
        const u = (rand() < 0.5 ? -1 : 1) * (randInt(8, 24) / 16);
        U[i * n + i] = u;
        logAbs += Math.log(Math.abs(u));
        if (u < 0) dsign = -dsign;
      }
      const LUm = matmul(n, L, U);
      // Reverse the row order: a permutation with sign (-1)^floor(n/2).
      const M = new Float64Array(n * n);
      for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) M[i * n + j] = LUm[(n - 1 - i) * n + j];
      if (Math.floor(n / 2) % 2 === 1) dsign = -dsign;
      const la = logAbsDet(n, M, 0, n);
      expect(la.sign).toBe(dsign);
      expect(Math.abs(la.logAbs - logAbs)).toBeLessThan(1e-12 * Math.max(1, Math.abs(logAbs)));
      expectScalarClose(det(n, M, 0, n), dsign * Math.exp(logAbs), 1e-12);
    }
  });

  it('large n: logAbsDet does not overflow where det does', () => {
    const n = 257;
    const A = randArray(n * n).map((v) => 0.01 * v);
    for (let i = 0; i < n; i++) A[i * n + i] = 1e3 * (i % 2 === 0 ? 1 : -1);
    const { logAbs, sign } = logAbsDet(n, A, 0, n);
    expect(Number.isFinite(logAbs)).toBe(true);
    expect(Math.abs(logAbs - n * Math.log(1e3))).toBeLessThan(1e-3);
    // Strongly diagonally dominant: sign(det) = Π sign(A_ii) = (-1)^(number of odd i).
    expect(sign).toBe(Math.floor(n / 2) % 2 === 0 ? 1 : -1);
    expect(Math.abs(det(n, A, 0, n))).toBe(Infinity);
    // and the solve at that size
    const B = wellConditioned(n);
    const inv = new Float64Array(n * n);
    inverse(n, B, 0, n, inv, 0, n);
    expectClose(matmul(n, B, inv), identity(n), 1e-12);
  });

  it('singular matrices: inverse and luFactor throw, det is 0, logAbsDet is -Infinity', () => {
    const S = Float64Array.from([1, 2, 2, 4]);
    expect(() => inverse(2, S, 0, 2, new Float64Array(4), 0, 2)).toThrow(SingularMatrixError);
    expect(() => inverse(2, S, 0, 2, new Float64Array(4), 0, 2)).toThrow('matrix is singular to working precision');
    expect(() => luFactor(2, S.slice(), 0, 2, new Int32Array(2))).toThrow(SingularMatrixError);
    expect(det(2, S, 0, 2)).toBe(0);
    expect(logAbsDet(2, S, 0, 2)).toEqual({ logAbs: -Infinity, sign: 0 });
    const Z = new Float64Array(9);
    expect(det(3, Z, 0, 3)).toBe(0);
    expect(() => inverse(3, Z, 0, 3, new Float64Array(9), 0, 3)).toThrow(SingularMatrixError);
    // Rank-deficient 17×17: last row = sum of the first two (rounding-level pivot).
    const n = 17;
    const R = randArray(n * n);
    for (let j = 0; j < n; j++) R[(n - 1) * n + j] = R[j] + R[n + j];
    expect(() => inverse(n, R, 0, n, new Float64Array(n * n), 0, n)).toThrow(SingularMatrixError);
    expect(det(n, R, 0, n)).toBe(0);
    // Blocked path (n ≥ 96): two identical rows stay identical through every
    // update, so elimination leaves an exactly zero pivot.
    const nb = 130;
    const D = randArray(nb * nb);
    for (let j = 0; j < nb; j++) D[100 * nb + j] = D[7 * nb + j];
    expect(() => inverse(nb, D, 0, nb, new Float64Array(nb * nb), 0, nb)).toThrow(SingularMatrixError);
    expect(det(nb, D, 0, nb)).toBe(0);
    expect(logAbsDet(nb, D, 0, nb).sign).toBe(0);
    const err = (() => {
      try {
        inverse(2, S, 0, 2, new Float64Array(4), 0, 2);
      } catch (e) {
        return e;
      }
      return null;
    })();
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).name).toBe('SingularMatrixError');
  });
});

// ---------------------------------------------------------------- einsum

/** Brute-force einsum reference: enumerate every assignment of every label. */
function refEinsum(inputs: string[], output: string, sizes: Record<string, number>, ops: Float64Array[]): Float64Array {
  const labels = [...new Set([...inputs.join(''), ...output])];
  const outSize = [...output].reduce((a, l) => a * sizes[l], 1);
  const res = new Float64Array(outSize);
  const val: Record<string, number> = {};
  const index = (lab: string) => [...lab].reduce((a, l) => a * sizes[l] + val[l], 0);
  const rec = (d: number) => {
    if (d === labels.length) {
      let p = 1;
      inputs.forEach((lab, k) => (p *= ops[k][index(lab)]));
      // Output entries with repeated labels only exist on their diagonal: index() handles that.
      res[index(output)] += p;
      return;
    }
    for (let v = 0; v < sizes[labels[d]]; v++) {
      val[labels[d]] = v;
      rec(d + 1);
    }
  };
  rec(0);
  return res;
}

function runEinsum(spec: string, sizes: Record<string, number>, alpha = 1): { got: Float64Array; ref: Float64Array } {
  const [lhs, output] = spec.split('->');
  const inputs = lhs.split(',');
  const shape = (lab: string) => [...lab].reduce((a, l) => a * sizes[l], 1);
  const ops = inputs.map((lab) => randArray(shape(lab)));
  const offs = inputs.map(() => 0);
  const plan = makeEinsumPlan(inputs, output, sizes);
  const got = new Float64Array(shape(output)).fill(NaN);
  einsum(plan, ops, offs, got, 0, alpha, false);
  const ref = refEinsum(inputs, output, sizes, ops).map((v) => alpha * v);
  return { got, ref };
}

describe('einsum', () => {
  const sz = { i: 3, j: 4, k: 5, l: 2, m: 3, n: 1 };
  it('trace, diagonal, outer product, matrix product vs direct loops', () => {
    const n = 5;
    const A = randArray(n * n);
    const out = new Float64Array(1);
    einsum(makeEinsumPlan(['ii'], '', { i: n }), [A], [0], out, 0, 1, false);
    let tr = 0;
    for (let i = 0; i < n; i++) tr += A[i * n + i];
    expectScalarClose(out[0], tr);

    const diag = new Float64Array(n);
    einsum(makeEinsumPlan(['ii'], 'i', { i: n }), [A], [0], diag, 0, 1, false);
    expect(Array.from(diag)).toEqual(Array.from({ length: n }, (_, i) => A[i * n + i]));

    const x = randArray(3);
    const y = randArray(4);
    const O = new Float64Array(12);
    einsum(makeEinsumPlan(['i', 'j'], 'ij', { i: 3, j: 4 }), [x, y], [0, 0], O, 0, 2, false);
    expectClose(O, Array.from({ length: 12 }, (_, q) => 2 * x[Math.floor(q / 4)] * y[q % 4]));

    const B = randArray(4 * 6);
    const C = new Float64Array(3 * 6);
    const Am = randArray(3 * 4);
    einsum(makeEinsumPlan(['ij', 'jk'], 'ik', { i: 3, j: 4, k: 6 }), [Am, B], [0, 0], C, 0, 1, false);
    const Cref = new Float64Array(18);
    for (let i = 0; i < 3; i++) for (let j = 0; j < 4; j++) for (let k = 0; k < 6; k++) Cref[i * 6 + k] += Am[i * 4 + j] * B[j * 6 + k];
    expectClose(C, Cref);
  });

  it('order-3 and order-4 contractions vs direct loops', () => {
    const [I, J, K, L] = [3, 4, 5, 2];
    const T = randArray(I * J * K);
    const M = randArray(K * L);
    const out = new Float64Array(I * J * L);
    einsum(makeEinsumPlan(['ijk', 'kl'], 'ijl', { i: I, j: J, k: K, l: L }), [T, M], [0, 0], out, 0, 1, false);
    const ref = new Float64Array(I * J * L);
    for (let i = 0; i < I; i++) for (let j = 0; j < J; j++) for (let k = 0; k < K; k++) for (let l = 0; l < L; l++) {
      ref[(i * J + j) * L + l] += T[(i * J + j) * K + k] * M[k * L + l];
    }
    expectClose(out, ref);

    const Q = randArray(I * J * K * L);
    const W = randArray(J * L);
    const o2 = new Float64Array(I * K);
    einsum(makeEinsumPlan(['ijkl', 'jl'], 'ik', { i: I, j: J, k: K, l: L }), [Q, W], [0, 0], o2, 0, 1, false);
    const r2 = new Float64Array(I * K);
    for (let i = 0; i < I; i++) for (let j = 0; j < J; j++) for (let k = 0; k < K; k++) for (let l = 0; l < L; l++) {
      r2[i * K + k] += Q[((i * J + j) * K + k) * L + l] * W[j * L + l];
    }
    expectClose(o2, r2);

    // Order-4 output from two order-3 operands sharing one summed label.
    const { got, ref: r3 } = runEinsum('ijk,klm->ijlm', sz);
    expectClose(got, r3);
  });

  it('many shapes vs a brute-force reference (repeated labels, Hadamard, 3–4 operands)', () => {
    const specs = [
      'ij->ji',
      'ij->',
      'ij,ij->ij',
      'ij,ij->',
      'ij,ij->i',
      'iij->j',
      'iji->j',
      'iii->i',
      'iii->',
      'ijk->kji',
      'ijk->j',
      'ijk,ijk->k',
      'ij,jk,kl->il',
      'ij,j,jk->ik',
      'i,i,i->i',
      'i,j,ij,ji->',
      'ij,jk,kl,li->',
      'ijkl,klmn->ijmn',
      'ijkl,lkji->',
      'ijkl,jl,k->i',
      'ikk,kjj->ij',
      'i,j->ij',
      'i,j,k,l->ijkl',
      'ni,in->',
      'i->ii',
    ];
    for (const spec of specs) {
      const { got, ref } = runEinsum(spec, sz, spec.length % 2 ? 1 : -1.5);
      if (spec === 'i->ii') {
        // Only the diagonal is written; the rest keeps its NaN.
        for (let a = 0; a < sz.i; a++) for (let b = 0; b < sz.i; b++) {
          if (a === b) expectScalarClose(got[a * sz.i + b], ref[a * sz.i + b]);
          else expect(Number.isNaN(got[a * sz.i + b])).toBe(true);
        }
        continue;
      }
      try {
        expectClose(got, ref);
      } catch (e) {
        throw new Error(`${spec}: ${(e as Error).message}`);
      }
    }
  });

  it('scalars, accumulate, alpha, offsets, custom strides, empty sums', () => {
    // 0-label operands: out = alpha * a * b.
    const out = new Float64Array([1, 10]);
    einsum(makeEinsumPlan(['', ''], '', {}), [Float64Array.from([0, 3]), Float64Array.from([4])], [1, 0], out, 1, 0.5, true);
    expect(Array.from(out)).toEqual([1, 16]);

    // Accumulate into a sub-block, operand at an offset, A given transposed via strides.
    const A = randArray(2 + 4 * 3); // stored 4×3 at offset 2; used as A(i,j) = S(j,i), i<3, j<4
    const x = randArray(4);
    const y = new Float64Array([7, 1, 2, 3, 7]);
    const plan = makeEinsumPlan(['ij', 'j'], 'i', { i: 3, j: 4 }, [[1, 3], undefined], [1]);
    einsum(plan, [A, x], [2, 0], y, 1, 2, true);
    const ref = [1, 2, 3].map((v, i) => {
      let s = 0;
      for (let j = 0; j < 4; j++) s += A[2 + j * 3 + i] * x[j];
      return v + 2 * s;
    });
    expectClose(Array.from(y.subarray(1, 4)), ref);
    expect([y[0], y[4]]).toEqual([7, 7]);

    // A summed label of extent 0 gives 0 (= mode) / leaves out unchanged (+= mode).
    const z = new Float64Array([NaN, NaN]);
    einsum(makeEinsumPlan(['ij'], 'i', { i: 2, j: 0 }), [new Float64Array(0)], [0], z, 0, 1, false);
    expect(Array.from(z)).toEqual([0, 0]);

    // Plans are reusable.
    const p2 = makeEinsumPlan(['ij', 'jk'], 'ik', { i: 2, j: 2, k: 2 });
    const I2 = Float64Array.from([1, 0, 0, 1]);
    const M = Float64Array.from([1, 2, 3, 4]);
    const o = new Float64Array(4);
    einsum(p2, [I2, M], [0, 0], o, 0, 1, false);
    einsum(p2, [M, I2], [0, 0], o, 0, 1, true);
    expect(Array.from(o)).toEqual([2, 4, 6, 8]);
  });

  it('rejects bad plans', () => {
    expect(() => makeEinsumPlan([], '', {})).toThrow();
    expect(() => makeEinsumPlan(['a', 'b', 'c', 'd', 'e'], '', { a: 1, b: 1, c: 1, d: 1, e: 1 })).toThrow();
    expect(() => makeEinsumPlan(['ij'], 'i', { i: 2 })).toThrow(/size/);
  });
});
