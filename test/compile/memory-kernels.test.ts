/**
 * The memory-bound kernels against naive loops: the strided element-wise kernel (merged labels,
 * the two-level inner block, broadcasts, diagonal writes, extents 0, 1 and 2) and the sums of a
 * matrix and its transposes, at awkward sizes, offsets and leading dimensions.
 */
import { describe, expect, it } from 'vitest';
import { mulberry32 } from '../../src/random.js';
import { makeStridedPlan, stridedMul, symmetricSum, transposeSum } from '../../src/compile/kernels/index.js';

const rand = mulberry32(77);
const randArray = (n: number): Float64Array => Float64Array.from({ length: n }, () => 2 * rand() - 1);
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;

/** Every index tuple of the given extents, outermost first. */
function* tuples(dims: readonly number[]): Generator<number[]> {
  if (dims.some((d) => d === 0)) return;
  const t = dims.map(() => 0);
  for (;;) {
    yield t;
    let l = dims.length - 1;
    while (l >= 0 && ++t[l]! === dims[l]!) t[l--] = 0;
    if (l < 0) return;
  }
}
const dotIdx = (t: readonly number[], s: readonly number[]): number => t.reduce((acc, v, i) => acc + v * s[i]!, 0);

describe('stridedMul', () => {
  /** A random case: labels with extents, an output layout (row-major over a permutation, or a diagonal), operands that broadcast. */
  function randomCase(): { dims: number[]; out: number[]; ops: number[][]; outLen: number; opLens: number[] } {
    const L = pick([0, 1, 2, 3, 4]);
    const dims = Array.from({ length: L }, () => pick([1, 2, 2, 3, 7, 17, 33]));
    if (L > 0 && rand() < 0.1) dims[Math.floor(rand() * L)] = 0;
    // Output: row-major over a random permutation of the labels (every entry written once).
    const perm = dims.map((_, i) => i).sort(() => rand() - 0.5);
    const out = new Array<number>(L).fill(0);
    let acc = 1;
    for (let k = L - 1; k >= 0; k--) {
      out[perm[k]!] = acc;
      acc *= Math.max(dims[perm[k]!]!, 1);
    }
    const nOps = pick([0, 1, 2]);
    const ops: number[][] = [];
    const opLens: number[] = [];
    for (let q = 0; q < nOps; q++) {
      // Each operand carries a random subset of the labels (the rest broadcast), row-major in some order.
      const carried = dims.map((_, i) => i).filter(() => rand() < 0.7).sort(() => rand() - 0.5);
      const s = new Array<number>(L).fill(0);
      let a = 1;
      for (let k = carried.length - 1; k >= 0; k--) {
        s[carried[k]!] = a;
        a *= Math.max(dims[carried[k]!]!, 1);
      }
      ops.push(s);
      opLens.push(a);
    }
    return { dims, out, ops, outLen: acc, opLens };
  }

  it('random layouts, broadcasts and operand counts against a direct loop (= and +=, alpha, offsets)', () => {
    for (let trial = 0; trial < 400; trial++) {
      const { dims, out, ops, outLen, opLens } = randomCase();
      const offs = ops.map(() => pick([0, 3]));
      const bufs = ops.map((_, q) => randArray(opLens[q]! + offs[q]!));
      const outOff = pick([0, 2]);
      const accumulate = rand() < 0.5;
      const alpha = pick([1, -0.5, 2.25]);
      const got = randArray(outLen + outOff + 1);
      const want = got.slice();
      for (const t of tuples(dims)) {
        let v = alpha;
        ops.forEach((s, q) => (v *= bufs[q]![offs[q]! + dotIdx(t, s)]!));
        const p = outOff + dotIdx(t, out);
        want[p] = accumulate ? want[p]! + v : v;
      }
      stridedMul(makeStridedPlan(dims, out, ops), got, outOff, bufs, offs, alpha, accumulate);
      // The kernel may group alpha with either operand: equal up to the last bit.
      got.forEach((v, p) => expect(Math.abs(v - want[p]!), JSON.stringify({ dims, out, ops, accumulate, p })).toBeLessThanOrEqual(1e-15 * Math.max(1, Math.abs(want[p]!))));
    }
  });

  it('diagonal writes (an output stride that is the sum of two) and a d = 2 inner axis', () => {
    // out[i, j, i, l] += W[i, j] · W[i, l] on an n×2×n×2 tensor: i merges two output strides.
    for (const n of [1, 3, 17]) {
      const W = randArray(2 * n);
      const got = randArray(4 * n * n);
      const want = got.slice();
      for (let i = 0; i < n; i++) for (let j = 0; j < 2; j++) for (let l = 0; l < 2; l++) want[i * 4 * n + j * 2 * n + i * 2 + l] += W[2 * i + j]! * W[2 * i + l]!;
      const plan = makeStridedPlan([n, 2, 2], [4 * n + 2, 2 * n, 1], [[2, 1, 0], [2, 0, 1]]);
      stridedMul(plan, got, 0, [W, W], [0, 0], 1, true);
      expect(Array.from(got)).toEqual(Array.from(want));
    }
  });

  it('a small inner block takes the longest outer label as its outer loop (every entry still written once)', () => {
    // out[i, j, l] = W[i, j] · U[i, l] on n×2×2: the inner block is n × 2, not 2 × 2.
    for (const n of [1, 5, 40, 1000]) {
      const plan = makeStridedPlan([n, 2, 2], [4, 2, 1], [[2, 1, 0], [2, 0, 1]]);
      if (n >= 3) expect(Array.from(plan.dims)).toEqual([2, n, 2]);
      const W = randArray(2 * n);
      const U = randArray(2 * n);
      for (const accumulate of [false, true]) {
        const got = randArray(4 * n);
        const want = got.slice();
        for (let i = 0; i < n; i++) for (let j = 0; j < 2; j++) for (let l = 0; l < 2; l++) want[4 * i + 2 * j + l] = (accumulate ? want[4 * i + 2 * j + l]! : 0) + -1.5 * W[2 * i + j]! * U[2 * i + l]!;
        stridedMul(plan, got, 0, [W, U], [0, 0], -1.5, accumulate);
        got.forEach((v, p) => expect(Math.abs(v - want[p]!)).toBeLessThanOrEqual(1e-15 * Math.max(1, Math.abs(want[p]!))));
      }
    }
  });

  it('sums along labels the output does not step (output stride 0, +=): row-wise dot products', () => {
    for (const [n, k] of [[1, 1], [7, 2], [33, 3], [17, 16]] as const) {
      const A = randArray(n * k);
      const B = randArray(n * k + 3);
      const got = randArray(n);
      const want = Float64Array.from(got, (g, i) => {
        let t = 0;
        for (let q = 0; q < k; q++) t += A[i * k + q]! * B[3 + i * k + q]!;
        return g + 2 * t;
      });
      stridedMul(makeStridedPlan([n, k], [1, 0], [[k, 1], [k, 1]]), got, 0, [A, B], [0, 3], 2, true);
      got.forEach((v, i) => expect(Math.abs(v - want[i]!)).toBeLessThanOrEqual(1e-14 * Math.max(1, Math.abs(want[i]!))));
    }
  });

  it('merges labels that address memory as one (a contiguous run is one loop)', () => {
    const plan = makeStridedPlan([5, 4, 3], [12, 3, 1], [[12, 3, 1]]);
    expect(Array.from(plan.dims)).toEqual([60]);
    const bcast = makeStridedPlan([5, 4, 3], [12, 3, 1], [[0, 3, 1]]);
    expect(Array.from(bcast.dims)).toEqual([5, 12]);
    expect(Array.from(makeStridedPlan([1, 7, 1], [7, 1, 1], [[0, 1, 0]]).dims)).toEqual([7]);
  });
});

describe('sums of a matrix and its transposes', () => {
  const sizes = [1, 2, 3, 7, 17, 33, 65, 129];
  it('symmetricSum: c·(X + X′) at awkward sizes, offsets and leading dimensions', () => {
    for (const n of sizes) {
      const ldx = n + pick([0, 1, 5]);
      const ldc = n + pick([0, 2]);
      const X = randArray(3 + n * ldx);
      const C = randArray(1 + n * ldc);
      const before = C.slice();
      const c = pick([1, -2, 0.5]);
      symmetricSum(n, c, X, 3, ldx, C, 1, ldc);
      for (let i = 0; i < n; i++)
        for (let j = 0; j < n; j++) expect(C[1 + i * ldc + j]).toBe(c * (X[3 + i * ldx + j]! + X[3 + j * ldx + i]!));
      // Padding between rows is untouched.
      for (let i = 0; i < n; i++) for (let j = n; j < ldc && 1 + i * ldc + j < C.length; j++) expect(C[1 + i * ldc + j]).toBe(before[1 + i * ldc + j]);
      expect(C[0]).toBe(before[0]);
    }
  });

  it('transposeSum: any mix of plain and transposed terms, non-square, = and +=', () => {
    for (const m of sizes) {
      const n = pick(sizes);
      const count = pick([1, 2, 3]);
      const terms = Array.from({ length: count }, () => {
        const trans = rand() < 0.5;
        const ld = (trans ? m : n) + pick([0, 3]);
        return { coef: pick([1, -1, 0.25]), buf: randArray((trans ? n : m) * ld + 2), off: 2, ld, trans };
      });
      const accumulate = rand() < 0.5;
      const C = randArray(m * n);
      const want = C.slice();
      for (let i = 0; i < m; i++)
        for (let j = 0; j < n; j++) {
          let s = accumulate ? want[i * n + j]! : 0;
          for (const t of terms) s += t.coef * t.buf[t.off + (t.trans ? j * t.ld + i : i * t.ld + j)]!;
          want[i * n + j] = s;
        }
      transposeSum(m, n, terms, C, 0, n, accumulate);
      for (let p = 0; p < m * n; p++) expect(C[p]).toBeCloseTo(want[p]!, 13);
    }
  });
});

describe('isSymmetric (the declared-symmetric input check)', () => {
  it('agrees with the plain pairwise check, perturbed anywhere, at awkward sizes', async () => {
    const { isSymmetric } = await import('../../src/compile/kernels/symmetric.js');
    const naive = (n: number, a: Float64Array): boolean => {
      for (let i = 0; i < n; i++)
        for (let j = 0; j < i; j++) if (Math.abs(a[i * n + j]! - a[j * n + i]!) > 1e-9 * (Math.abs(a[i * n + j]!) + Math.abs(a[j * n + i]!) + 1e-300)) return false;
      return true;
    };
    for (const n of [1, 2, 3, 31, 32, 33, 65, 100]) {
      const a = randArray(n * n);
      for (let i = 0; i < n; i++) for (let j = 0; j < i; j++) a[j * n + i] = a[i * n + j]!;
      expect(isSymmetric(n, a)).toBe(true);
      for (let t = 0; t < 20 && n > 1; t++) {
        const b = a.slice();
        const i = Math.floor(rand() * n);
        let j = Math.floor(rand() * n);
        if (j === i) j = (i + 1) % n;
        b[i * n + j] = b[i * n + j]! * (1 + pick([1e-12, 1e-6, 1]));
        expect(isSymmetric(n, b)).toBe(naive(n, b));
      }
    }
  });

  it('every entry perturbed in turn (sizes 1-9, 33), and non-finite pairs: equal infinities pass, a NaN or a finite against an infinity does not', async () => {
    const { isSymmetric } = await import('../../src/compile/kernels/symmetric.js');
    for (const n of [1, 2, 3, 4, 5, 6, 7, 8, 9, 33]) {
      const a = randArray(n * n);
      for (let i = 0; i < n; i++) for (let j = 0; j < i; j++) a[j * n + i] = a[i * n + j]!;
      expect(isSymmetric(n, a), `n ${n}`).toBe(true);
      for (let i = 0; i < n; i++)
        for (let j = 0; j < n; j++) {
          if (i === j) continue;
          const b = a.slice();
          b[i * n + j] = b[i * n + j]! + 1e-3;
          expect(isSymmetric(n, b), `n ${n}: (${i}, ${j}) perturbed`).toBe(false);
          b[i * n + j] = a[i * n + j]! * (1 + 1e-12);
          expect(isSymmetric(n, b), `n ${n}: (${i}, ${j}) within tolerance`).toBe(true);
          b[i * n + j] = NaN;
          b[j * n + i] = NaN;
          expect(isSymmetric(n, b), `n ${n}: NaN at (${i}, ${j})`).toBe(false);
          b[i * n + j] = b[j * n + i] = -Infinity;
          expect(isSymmetric(n, b), `n ${n}: -Inf at (${i}, ${j}) and (${j}, ${i})`).toBe(true);
          b[j * n + i] = Infinity;
          expect(isSymmetric(n, b), `n ${n}: -Inf against Inf`).toBe(false);
          b[i * n + j] = 1;
          expect(isSymmetric(n, b), `n ${n}: 1 against Inf`).toBe(false);
        }
    }
  });

  it('from the WebAssembly exact test on (odd and even orders past its threshold): the same verdicts at sampled pairs, corners and next to the diagonal', async () => {
    const { isSymmetric, SYMEQ_WASM_MIN_N: min } = await import('../../src/compile/kernels/symmetric.js');
    const { symeqWasm } = await import('../../src/compile/kernels/wasm/symeqWasm.js');
    for (const n of [min - 1, min, min + 1, 2 * min + 3]) {
      const a = randArray(n * n);
      for (let i = 0; i < n; i++) for (let j = 0; j < i; j++) a[j * n + i] = a[i * n + j]!;
      expect(isSymmetric(n, a), `n ${n}`).toBe(true);
      expect(symeqWasm(n, a, 0, n), `n ${n}: the kernel on an exactly symmetric matrix`).toBe(true);
      const pairs: [number, number][] = [[0, 1], [1, 0], [0, n - 1], [n - 1, 0], [n - 2, n - 1], [n - 1, n - 2]];
      for (let t = 0; t < 24; t++) {
        const i = Math.floor(rand() * n);
        pairs.push([i, (i + 1 + Math.floor(rand() * (n - 1))) % n]);
      }
      for (const [i, j] of pairs) {
        const at = `n ${n}: (${i}, ${j})`;
        const b = a.slice();
        b[i * n + j] = b[i * n + j]! + 1e-3;
        expect(isSymmetric(n, b), `${at} perturbed`).toBe(false);
        expect(symeqWasm(n, b, 0, n), `${at} perturbed, the kernel`).toBe(false);
        b[i * n + j] = a[i * n + j]! * (1 + 1e-12);
        expect(isSymmetric(n, b), `${at} within tolerance`).toBe(true);
        b[i * n + j] = b[j * n + i] = NaN;
        expect(isSymmetric(n, b), `${at} NaN`).toBe(false);
        b[i * n + j] = b[j * n + i] = -Infinity;
        expect(isSymmetric(n, b), `${at} -Inf and -Inf`).toBe(true);
        b[j * n + i] = Infinity;
        expect(isSymmetric(n, b), `${at} -Inf against Inf`).toBe(false);
        b[i * n + j] = 0;
        b[j * n + i] = -0;
        expect(isSymmetric(n, b), `${at} 0 against -0`).toBe(true);
      }
    }
  });
});
