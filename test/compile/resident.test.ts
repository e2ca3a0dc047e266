/**
 * Resident arrays (residentArray): inputs that lie in the kernels' shared memory, read where they
 * lie by the symmetric check and the thin products instead of being copied in on every call. The
 * allocator (zeros, reuse, limits, the fallback without shared memory), scratch kept below the
 * resident floor, and whole compiled functions over a resident input against the same function
 * over an ordinary array: the MDS structured Hessian (evaluation, matvec, toDense), whose matvec
 * reads the resident D in place whatever ran in between, and values changed in place.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { mulberry32 } from '../../src/random.js';
import { gemv, kernelInfo } from '../../src/compile/kernels/index.js';
import { gradient, hessian, releaseResident, residentArray } from '../../src/index.js';
import { acquire, setSharedMemory } from '../../src/compile/kernels/wasm/runtime.js';

const rand = mulberry32(77);
const randArray = (n: number): Float64Array => Float64Array.from({ length: n }, () => 2 * rand() - 1);
function symmetricInto(d: Float64Array, n: number): Float64Array {
  for (let i = 0; i < n; i++) for (let j = 0; j <= i; j++) d[i * n + j] = d[j * n + i] = 2 * rand() - 1;
  return d;
}
const relErr = (got: Float64Array, want: Float64Array): number => {
  let num = 0;
  let den = 1e-300;
  for (let i = 0; i < want.length; i++) {
    const d = Math.abs(got[i]! - want[i]!);
    if (!(d <= num)) num = d;
    den = Math.max(den, Math.abs(want[i]!));
  }
  return num / den;
};

afterEach(() => setSharedMemory('auto'));

describe('residentArray: the allocator', () => {
  it('gives zeros in the shared kernel memory, counts them, reuses released space (zeroed again)', () => {
    expect(kernelInfo().sharedMemory).toBe(true);
    const before = kernelInfo().residentBytes;
    const a = residentArray(1001);
    expect(a).toBeInstanceOf(Float64Array);
    expect(a.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(a.length).toBe(1001);
    expect(a.every((x) => x === 0)).toBe(true);
    expect(a.byteOffset % 64).toBe(0);
    expect(kernelInfo().residentBytes - before).toBeGreaterThanOrEqual(1001 * 8);
    a.fill(3);
    const b = residentArray(10);
    // Two live arrays never overlap.
    const [lo, hi] = a.byteOffset < b.byteOffset ? [a, b] : [b, a];
    expect(lo.byteOffset + lo.byteLength).toBeLessThanOrEqual(hi.byteOffset);
    const offset = a.byteOffset;
    releaseResident(a);
    expect(kernelInfo().residentBytes).toBeLessThan(before + 1001 * 8 + 80);
    const c = residentArray(1000);
    expect(c.byteOffset).toBe(offset); // the released region, first fit
    expect(c.every((x) => x === 0)).toBe(true);
    releaseResident(c);
    releaseResident(b);
    releaseResident(new Float64Array(3)); // not resident: nothing to do
    expect(kernelInfo().residentBytes).toBe(before);
  });

  it('refuses lengths that are not non-negative integers, and more than the resident limit, with a RangeError', () => {
    expect(() => residentArray(-1)).toThrow(RangeError);
    expect(() => residentArray(1.5)).toThrow(RangeError);
    expect(() => residentArray(Number.NaN)).toThrow(RangeError);
    expect(() => residentArray(2 ** 27)).toThrow(/MiB that resident arrays may take/);
    expect(residentArray(0).length).toBe(0);
  });

  it('keeps kernel scratch below the resident arrays: a call that needs more is refused (its JS path runs)', () => {
    const a = residentArray(16);
    // Scratch as large as the whole memory would reach the resident arrays.
    expect(acquire(2 ** 27)).toBeNull();
    expect(acquire(1024)).not.toBeNull();
    releaseResident(a);
  });

  it('is an ordinary array where products do not use shared memory', () => {
    setSharedMemory(false);
    const a = residentArray(8);
    expect(a.buffer).not.toBeInstanceOf(SharedArrayBuffer);
    expect(a.every((x) => x === 0)).toBe(true);
  });
});

describe('compiled functions over resident inputs', () => {
  const mds = "norm2(diag(W*W')*vector(1)' + vector(1)*diag(W*W')' - 2*W*W' - D)^2";

  for (const n of [200, 257, 516]) {
    it(`the MDS structured Hessian at n = ${n}: the same values as over an ordinary D; the check and every matvec read D where it lies`, () => {
      const f = hessian(mds, 'W', { let: { D: 'symmetric matrix' } }).compile({ structured: true });
      const D = symmetricInto(new Float64Array(n * n), n);
      const R = residentArray(n * n);
      R.set(D);
      const W = { shape: [n, 2], data: randArray(2 * n) };
      const plain = { D: { shape: [n, n], data: D }, W };
      const resident = { D: { shape: [n, n], data: R }, W };
      const v = randArray(2 * n);
      const want = f(plain);
      const wantV = want.matvec(v);
      const wantDense = want.toDense().data;
      const h = f(resident);
      const inPlace = n % 4 === 0;
      expect(kernelInfo().lastCheck?.inPlace).toBe(inPlace);
      // In place either way: the resident D where it lies, else the copy the check staged.
      expect(relErr(h.matvec(v), wantV)).toBeLessThan(1e-12);
      expect(kernelInfo().lastProduct).toMatchObject({ kernel: 'thin', inPlace: true });
      // Another kernel uses the memory in between: a resident D is still read in place (a copy is gone).
      gemv(false, n, n, 1, randArray(n * n), 0, n, randArray(n), 0, 1, 0, new Float64Array(n), 0, 1);
      expect(relErr(h.matvec(v), wantV)).toBeLessThan(1e-12);
      expect(kernelInfo().lastProduct).toMatchObject({ kernel: 'thin', inPlace });
      expect(relErr(h.toDense().data, wantDense)).toBeLessThan(1e-12);
      // New values written into the resident array are what the next evaluation reads.
      symmetricInto(D, n);
      R.set(D);
      expect(relErr(f(resident).matvec(v), f(plain).matvec(v))).toBeLessThan(1e-12);
      // A resident D that is not symmetric is refused as an ordinary one is.
      R[1] = R[1]! + 1;
      expect(() => f(resident)).toThrow(/symmetric/);
      releaseResident(R);
    });
  }

  it("a gradient's thin product of a resident matrix (x'*D*y by x is D*y), in place and at an order whose rows need padding", () => {
    const f = gradient("x'*D*y", 'x', { let: { D: 'symmetric matrix' } }).compile();
    for (const n of [200, 203]) {
      const D = symmetricInto(new Float64Array(n * n), n);
      const R = residentArray(n * n);
      R.set(D);
      const x = randArray(n);
      const y = randArray(n);
      const want = f({ D: { shape: [n, n], data: D }, x, y }).data;
      const got = f({ D: { shape: [n, n], data: R }, x, y }).data;
      expect(relErr(got, want)).toBeLessThan(1e-13);
      // Read where it lies, or (rows to pad) copied by the check and read from that copy.
      expect(kernelInfo().lastCheck?.inPlace).toBe(n % 4 === 0);
      expect(kernelInfo().lastProduct).toMatchObject({ kernel: 'thin', inPlace: true });
      releaseResident(R);
    }
  });
});
