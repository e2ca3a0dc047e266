/**
 * The WebAssembly thin-product kernels (wasm/thinWasm.ts: a large matrix times one to four
 * vectors) against naive loops: both orientations of A, every column count, awkward and
 * non-square sizes, leading dimensions past the row, strided and transposed B and C, alpha/beta
 * (beta = 0 over NaN), plain and shared memory; and the routes into them from gemm and gemv
 * (which path ran is checked through kernelInfo().lastProduct).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { mulberry32 } from '../../src/random.js';
import { gemm, gemv, kernelInfo } from '../../src/compile/kernels/index.js';
import { thinWasm, THIN_MIN_ENTRIES } from '../../src/compile/kernels/wasm/thinWasm.js';
import { setSharedMemory } from '../../src/compile/kernels/wasm/runtime.js';

const rand = mulberry32(4242);
const randArray = (n: number): Float64Array => Float64Array.from({ length: n }, () => 2 * rand() - 1);
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
const SIZES = [1, 2, 3, 7, 17, 33, 65, 129];

/** Max |got − want| over max |want| (finite entries); NaN where a non-finite entry differs. */
function relErr(got: (i: number) => number, want: (i: number) => number, count: number): number {
  let num = 0;
  let den = 1e-300;
  for (let i = 0; i < count; i++) {
    const g = got(i);
    const w = want(i);
    if (!Number.isFinite(w) || !Number.isFinite(g)) {
      if (Object.is(g, w) || (Number.isNaN(g) && Number.isNaN(w))) continue;
      return NaN;
    }
    num = Math.max(num, Math.abs(g - w));
    den = Math.max(den, Math.abs(w));
  }
  return num / den;
}

/**
 * One random thinWasm call against the definition: C(i, j) = alpha·Σ_p op(A)(i, p)·B(p, j) +
 * beta·C(i, j), B(p, j) = B[bOff + p·bps + j·bjs], C(i, j) = C[cOff + i·cis + j·cjs]; entries of
 * C outside the product, and A and B, stay as they were.
 */
function checkThin(transA: boolean, m: number, k: number, nc: number, alpha: number, beta: number, poison = false): void {
  const rows = transA ? k : m;
  const len = transA ? m : k;
  const lda = len + pick([0, 0, 1, 3, 4]);
  const aOff = pick([0, 1, 6]);
  const A = randArray(aOff + rows * lda + 3);
  if (poison) A[aOff + Math.floor(rand() * rows) * lda + Math.floor(rand() * len)] = pick([NaN, Infinity, -Infinity]);
  const opA = (i: number, p: number): number => (transA ? A[aOff + p * lda + i]! : A[aOff + i * lda + p]!);
  // B: k×nc row-major (with padding), nc×k (transposed storage), or a strided vector (nc = 1).
  const bLayout = pick(['rows', 'cols', 'strided'] as const);
  const bOff = pick([0, 3]);
  const [bps, bjs] =
    bLayout === 'rows' ? [nc + pick([0, 2]), 1] : bLayout === 'cols' ? [1, k + pick([0, 1])] : [pick([2, 3]), pick([1, k * 3])];
  const B = randArray(bOff + (k - 1) * bps + (nc - 1) * bjs + 4);
  // C: m×nc row-major, nc×m (transposed), both with padding.
  const cOff = pick([0, 2]);
  const [cis, cjs] = pick([true, false]) ? [nc + pick([0, 1]), 1] : [1, m + pick([0, 2])];
  const cLen = cOff + (m - 1) * cis + (nc - 1) * cjs + 3;
  const C = randArray(cLen);
  const inC = new Set<number>();
  for (let i = 0; i < m; i++) for (let j = 0; j < nc; j++) inC.add(cOff + i * cis + j * cjs);
  if (beta === 0) for (const c of inC) C[c] = NaN;
  const c0 = C.slice();
  const a0 = A.slice();
  const b0 = B.slice();
  const want = (q: number): number => {
    const i = q % m;
    const j = Math.floor(q / m);
    let s = 0;
    for (let p = 0; p < k; p++) s += opA(i, p) * B[bOff + p * bps + j * bjs]!;
    return alpha * s + (beta === 0 ? 0 : beta * c0[cOff + i * cis + j * cjs]!);
  };
  const what = `thinWasm(transA ${transA}, m ${m}, k ${k}, nc ${nc}, lda ${lda}, B ${bLayout}, alpha ${alpha}, beta ${beta})`;
  expect(thinWasm(transA, m, k, nc, alpha, A, aOff, lda, B, bOff, bps, bjs, beta, C, cOff, cis, cjs), what).toBe(true);
  const err = relErr((q) => C[cOff + (q % m) * cis + Math.floor(q / m) * cjs]!, want, m * nc);
  expect(err, what).toBeLessThan(1e-13);
  for (let q = 0; q < cLen; q++) if (!inC.has(q)) expect(Object.is(C[q], c0[q]), `${what}: C[${q}] outside`).toBe(true);
  expect(A).toEqual(a0);
  expect(B).toEqual(b0);
}

const COEFS: readonly (readonly [number, number])[] = [
  [1, 0],
  [-0.7, 1],
  [2.5, -1.3],
];

for (const shared of [false, true]) {
  describe(`thinWasm on ${shared ? 'shared' : 'plain'} memory`, () => {
    afterAll(() => setSharedMemory('auto'));
    it('every orientation and column count over awkward, non-square sizes; strides; alpha/beta', () => {
      setSharedMemory(shared);
      for (const transA of [false, true])
        for (const m of SIZES)
          for (const k of SIZES)
            for (let nc = 1; nc <= 4; nc++) {
              const [alpha, beta] = pick(COEFS);
              checkThin(transA, m, k, nc, alpha, beta);
            }
      expect(kernelInfo().lastProduct).toMatchObject({ kernel: 'thin', sharedMemory: shared });
    });
    it('NaN and ±Inf in A reach the entries they touch, as in the naive loops (and no others)', () => {
      setSharedMemory(shared);
      for (let t = 0; t < 60; t++) checkThin(pick([false, true]), pick(SIZES), pick(SIZES), 1 + Math.floor(rand() * 4), 1, pick([0, 1]), true);
    });
    it('rejects what it does not take (nothing written): nc outside 1…4', () => {
      setSharedMemory(shared);
      const C = new Float64Array(10).fill(7);
      expect(thinWasm(false, 2, 2, 5, 1, new Float64Array(4), 0, 2, new Float64Array(10), 0, 5, 1, 0, C, 0, 5, 1)).toBe(false);
      expect(thinWasm(false, 2, 2, 0, 1, new Float64Array(4), 0, 2, new Float64Array(10), 0, 5, 1, 0, C, 0, 5, 1)).toBe(false);
      expect(Array.from(C)).toEqual(new Array(10).fill(7));
    });
  });
}

describe('gemm and gemv route large-times-thin products to the thin kernel', () => {
  /** Naive gemm on row-major blocks with leading dimensions. */
  function checkGemm(tA: boolean, tB: boolean, m: number, n: number, k: number, alpha: number, beta: number): void {
    const lda = (tA ? m : k) + pick([0, 1]);
    const ldb = (tB ? k : n) + pick([0, 2]);
    const ldc = n + pick([0, 1]);
    const A = randArray((tA ? k : m) * lda);
    const B = randArray((tB ? n : k) * ldb);
    const C = randArray(m * ldc);
    if (beta === 0) C.fill(NaN);
    const c0 = C.slice();
    const opA = (i: number, p: number) => (tA ? A[p * lda + i]! : A[i * lda + p]!);
    const opB = (p: number, j: number) => (tB ? B[j * ldb + p]! : B[p * ldb + j]!);
    const want = (q: number): number => {
      const i = Math.floor(q / n);
      const j = q % n;
      let s = 0;
      for (let p = 0; p < k; p++) s += opA(i, p) * opB(p, j);
      return alpha * s + (beta === 0 ? 0 : beta * c0[i * ldc + j]!);
    };
    gemm(tA, tB, m, n, k, alpha, A, 0, lda, B, 0, ldb, beta, C, 0, ldc);
    const what = `gemm(${tA}, ${tB}, ${m}, ${n}, ${k})`;
    expect(relErr((q) => C[Math.floor(q / n) * ldc + (q % n)]!, want, m * n), what).toBeLessThan(1e-13);
    expect(kernelInfo().lastProduct?.kernel, what).toBe('thin');
  }

  it('op(A)·op(B) with op(B) of 1…4 columns, and with op(A) of 1…4 rows (the transposed product), all transposes', () => {
    for (const tA of [false, true])
      for (const tB of [false, true])
        for (let thin = 1; thin <= 4; thin++) {
          const big = pick([1025, 2048, 4099]);
          const k = Math.ceil(THIN_MIN_ENTRIES / big) + pick([0, 5]);
          checkGemm(tA, tB, big, thin, k, pick([1, -0.5]), pick([0, 1.5]));
          checkGemm(tA, tB, thin, big, k, pick([1, -0.5]), pick([0, 1.5]));
        }
  });

  it('gemv of a large A, both orientations, strided x and y, beta = 0 over NaN', () => {
    for (const [m, n] of [[300, 129], [129, 300], [THIN_MIN_ENTRIES, 1], [1, THIN_MIN_ENTRIES]] as const)
      for (const trans of [false, true])
        for (const [incx, incy, alpha, beta] of [[1, 1, 1, 0], [2, 3, -0.5, 1.25], [3, 1, 2, 0]] as const) {
          const lda = n + pick([0, 3]);
          const A = randArray(m * lda);
          const lx = trans ? m : n;
          const ly = trans ? n : m;
          const x = randArray(1 + lx * incx);
          const y = randArray(2 + ly * incy);
          if (beta === 0) for (let i = 0; i < ly; i++) y[2 + i * incy] = NaN;
          const y0 = y.slice();
          const want = (i: number): number => {
            let s = 0;
            for (let p = 0; p < lx; p++) s += (trans ? A[p * lda + i]! : A[i * lda + p]!) * x[1 + p * incx]!;
            return alpha * s + (beta === 0 ? 0 : beta * y0[2 + i * incy]!);
          };
          gemv(trans, m, n, alpha, A, 0, lda, x, 1, incx, beta, y, 2, incy);
          const what = `gemv(${trans}, ${m}, ${n}, incx ${incx}, incy ${incy})`;
          expect(relErr((i) => y[2 + i * incy]!, want, ly), what).toBeLessThan(1e-13);
          expect(kernelInfo().lastProduct?.kernel, what).toBe('thin');
          for (let q = 0; q < y.length; q++) if (q < 2 || (q - 2) % incy !== 0 || q - 2 >= ly * incy) expect(y[q]).toBe(y0[q]);
        }
  });
});

describe('a declared-symmetric input staged by its check is read in place by the same evaluation only', () => {
  // gradient of x'*D*y by x is D*y: a thin product of D (n ≥ 182), checked for symmetry on the
  // WebAssembly kernel first (n ≥ 128), which leaves the copy that the product then reads.
  const n = 200;
  const symmetric = (seed: number, perturb = 0): Float64Array => {
    const r = mulberry32(seed);
    const d = new Float64Array(n * n);
    for (let i = 0; i < n; i++) for (let j = 0; j <= i; j++) d[i * n + j] = d[j * n + i] = 2 * r() - 1;
    if (perturb !== 0) d[3 * n + 5] = d[3 * n + 5]! * (1 + perturb); // unequal, within the tolerance
    return d;
  };
  const product = (d: Float64Array, y: Float64Array): Float64Array => {
    const out = new Float64Array(n);
    for (let i = 0; i < n; i++) for (let p = 0; p < n; p++) out[i] += d[i * n + p]! * y[p]!;
    return out;
  };

  it("a structured Hessian's matvec reads the copy its evaluation staged while no kernel has used the memory since, and D again after one has", async () => {
    const { hessian } = await import('../../src/index.js');
    const mds = "norm2(diag(W*W')*vector(1)' + vector(1)*diag(W*W')' - 2*W*W' - D)^2";
    const f = hessian(mds, 'W', { let: { D: 'symmetric matrix' } }).compile({ structured: true });
    const D = symmetric(6);
    const values = { D: { shape: [n, n], data: D }, W: { shape: [n, 2], data: randArray(2 * n) } };
    const v = randArray(2 * n);
    const want = f(values).toDense();
    const wantV = new Float64Array(2 * n);
    for (let i = 0; i < 2 * n; i++) for (let j = 0; j < 2 * n; j++) wantV[i] += want.data[i * 2 * n + j]! * v[j]!;
    // The evaluation's row sums of D came from the check (one pass over D, not two).
    const h = f(values);
    expect(kernelInfo().lastProduct?.kernel).toBe('check-sums');
    const close = (got: Float64Array): number => relErr((i) => got[i]!, (i) => wantV[i]!, 2 * n);
    // Memory untouched since the evaluation: the matvec takes the staged copy up (several times).
    for (let t = 0; t < 3; t++) {
      expect(close(h.matvec(v))).toBeLessThan(1e-12);
      expect(kernelInfo().lastProduct).toMatchObject({ kernel: 'thin', inPlace: true });
    }
    // Another kernel writes the memory in between: the matvec copies D again.
    const other = randArray(n * n);
    gemv(false, n, n, 1, other, 0, n, randArray(n), 0, 1, 0, new Float64Array(n), 0, 1);
    expect(kernelInfo().lastProduct).toMatchObject({ kernel: 'thin', inPlace: false });
    expect(close(h.matvec(v))).toBeLessThan(1e-12);
    expect(kernelInfo().lastProduct).toMatchObject({ kernel: 'thin', inPlace: false });
  });

  it('a new call after the caller changed the matrix in place reads the new values (the copy is not kept between calls)', async () => {
    const { gradient } = await import('../../src/index.js');
    const f = gradient("x'*D*y", 'x', { let: { D: 'symmetric matrix' } }).compile();
    const y = randArray(n);
    const x = randArray(n);
    const D = symmetric(1);
    const want1 = product(D, y);
    const got1 = f({ D: { shape: [n, n], data: D }, x, y }).data;
    expect(relErr((i) => got1[i]!, (i) => want1[i]!, n)).toBeLessThan(1e-13);
    expect(kernelInfo().lastProduct?.kernel).toBe('thin');
    D.set(symmetric(2)); // the same array, new values
    const want2 = product(D, y);
    const got2 = f({ D: { shape: [n, n], data: D }, x, y }).data;
    expect(relErr((i) => got2[i]!, (i) => want2[i]!, n)).toBeLessThan(1e-13);
  });

  it('a matrix symmetric only within the tolerance (the exact test fails, the loop passes it) is read as given', async () => {
    const { gradient } = await import('../../src/index.js');
    const f = gradient("x'*D*y", 'x', { let: { D: 'symmetric matrix' } }).compile();
    const D = symmetric(3, 1e-12);
    const y = randArray(n);
    const got = f({ D: { shape: [n, n], data: D }, x: randArray(n), y }).data;
    const want = product(D, y);
    expect(relErr((i) => got[i]!, (i) => want[i]!, n)).toBeLessThan(1e-13);
  });

  it('outside an evaluation the check stages nothing: a product after the matrix changed reads the new values', async () => {
    const { isSymmetric } = await import('../../src/compile/kernels/symmetric.js');
    const D = symmetric(4);
    expect(isSymmetric(n, D)).toBe(true);
    D.set(symmetric(5));
    const y = randArray(n);
    const got = new Float64Array(n);
    gemv(false, n, n, 1, D, 0, n, y, 0, 1, 0, got, 0, 1);
    expect(kernelInfo().lastProduct?.kernel).toBe('thin');
    const want = product(D, y);
    expect(relErr((i) => got[i]!, (i) => want[i]!, n)).toBeLessThan(1e-13);
  });
});

describe('the staged copy: its lifetime', () => {
  it('lives from the symmetric check to the end of its evaluation, and only until another kernel takes the memory', async () => {
    const { withinEvaluation, isStaged, acquire } = await import('../../src/compile/kernels/wasm/runtime.js');
    const { symeqWasm } = await import('../../src/compile/kernels/wasm/symeqWasm.js');
    const n = 130; // rows padded to 132 doubles
    const D = new Float64Array(n * n).fill(1);
    const stride = 132;
    expect(symeqWasm(n, D, 0, n)).toBe(true);
    expect(isStaged(D, n, n, stride), 'outside an evaluation').toBe(false);
    withinEvaluation(() => {
      expect(symeqWasm(n, D, 0, n)).toBe(true);
      expect(isStaged(D, n, n, stride)).toBe(true);
      expect(isStaged(D, n, n, n), 'another stride').toBe(false);
      expect(isStaged(D.slice(), n, n, stride), 'another array').toBe(false);
      withinEvaluation(() => expect(isStaged(D, n, n, stride), 'a nested call belongs to the outer one').toBe(true));
      acquire(16, true);
      expect(isStaged(D, n, n, stride), 'a reader keeps it').toBe(true);
      acquire(16);
      expect(isStaged(D, n, n, stride), 'a writer forgets it').toBe(false);
      expect(symeqWasm(n, D, 0, n)).toBe(true);
    });
    expect(isStaged(D, n, n, stride), 'after its evaluation').toBe(false);
    withinEvaluation(() => expect(isStaged(D, n, n, stride), 'in the next evaluation').toBe(false));
  });

  it('is carried to a later evaluation that asks for it, while no kernel has written the memory since', async () => {
    const { withinEvaluation, isStaged, acquire, carryStaged, stagedSums } = await import('../../src/compile/kernels/wasm/runtime.js');
    const { symeqWasm } = await import('../../src/compile/kernels/wasm/symeqWasm.js');
    const n = 130;
    const stride = 132;
    const D = new Float64Array(n * n).fill(1);
    withinEvaluation(() => expect(symeqWasm(n, D, 0, n)).toBe(true));
    const token = carryStaged();
    expect(token).not.toBeNull();
    withinEvaluation(() => expect(isStaged(D, n, n, stride), 'not asked for').toBe(false));
    withinEvaluation(() => {
      expect(isStaged(D, n, n, stride), 'asked for').toBe(true);
      expect(stagedSums(D, n, n)?.rowSums[0]).toBe(n);
    }, token);
    withinEvaluation(() => expect(isStaged(D, n, n, stride), 'again').toBe(true), token);
    acquire(16);
    withinEvaluation(() => expect(isStaged(D, n, n, stride), 'after a kernel took the memory').toBe(false), token);
    // An evaluation that ends with nothing staged carries nothing.
    withinEvaluation(() => acquire(16));
    expect(carryStaged()).toBeNull();
  });
});

describe('row sums from the symmetric check', () => {
  // Orders whose products reach the thin kernels (n² ≥ THIN_MIN_ENTRIES), odd and even.
  it('equal the sums of each row; A·1 takes them, and A\'·1 where A is exactly symmetric', async () => {
    const { withinEvaluation, stagedSums } = await import('../../src/compile/kernels/wasm/runtime.js');
    const { symeqWasm } = await import('../../src/compile/kernels/wasm/symeqWasm.js');
    for (const m of [182, 183, 185, 200, 257]) {
      expect(m * m).toBeGreaterThanOrEqual(THIN_MIN_ENTRIES);
      const d = new Float64Array(m * m);
      for (let i = 0; i < m; i++) for (let j = 0; j <= i; j++) d[i * m + j] = d[j * m + i] = 2 * rand() - 1 + (i === j ? 3 : 0);
      const rows = (a: Float64Array): Float64Array => Float64Array.from({ length: m }, (_, i) => a.subarray(i * m, (i + 1) * m).reduce((x, y) => x + y, 0));
      const ones = new Float64Array(m).fill(1);
      for (const [what, a] of [['exactly symmetric', d], ['within the tolerance', (() => { const b = d.slice(); b[m + 2] = b[m + 2]! * (1 + 1e-12); return b; })()]] as const) {
        const exact = what === 'exactly symmetric';
        withinEvaluation(() => {
          expect(symeqWasm(m, a, 0, m), `${m} ${what}`).toBe(exact);
          const sums = stagedSums(a, m, m)!;
          expect(sums.exact).toBe(exact);
          const want = rows(a);
          expect(relErr((i) => sums.rowSums[i]!, (i) => want[i]!, m), `${m} ${what}`).toBeLessThan(1e-14);
          // A · 1 (alpha, beta) from the sums; A' · 1 from them only where A is exactly symmetric.
          const y = randArray(m);
          const y0 = y.slice();
          gemv(false, m, m, -2, a, 0, m, ones, 0, 1, 0.5, y, 0, 1);
          expect(kernelInfo().lastProduct?.kernel, `${m} ${what}: A·1`).toBe('check-sums');
          expect(relErr((i) => y[i]!, (i) => -2 * want[i]! + 0.5 * y0[i]!, m)).toBeLessThan(1e-14);
          const cols = Float64Array.from({ length: m }, (_, j) => { let t = 0; for (let i = 0; i < m; i++) t += a[i * m + j]!; return t; });
          const z = new Float64Array(m);
          gemv(true, m, m, 1, a, 0, m, ones, 0, 1, 0, z, 0, 1);
          expect(kernelInfo().lastProduct?.kernel, `${m} ${what}: A'·1`).toBe(exact ? 'check-sums' : 'thin');
          expect(relErr((i) => z[i]!, (i) => cols[i]!, m)).toBeLessThan(1e-14);
          // Not a column of ones: the product itself.
          const u = randArray(m);
          const w = new Float64Array(m);
          gemv(false, m, m, 1, a, 0, m, u, 0, 1, 0, w, 0, 1);
          expect(kernelInfo().lastProduct?.kernel).toBe('thin');
        });
      }
    }
  });
});
