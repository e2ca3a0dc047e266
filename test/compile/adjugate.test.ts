/**
 * The adjugate, defined at every matrix: the kernel (LU with complete pivoting), the reference
 * evaluator (cofactors), generated JS and Python, against exact integer adjugates (Bareiss
 * elimination in BigInt) at ranks n, n − 1, n − 2 and 0, sizes 1…8, also scaled by powers of 2.
 * And the derivative of det, which is adj(A)ᵀ: defined where A is singular (issue 8: det(X'*X)
 * by X stopped with SingularMatrixError at a rank-deficient X).
 */
import { beforeAll, describe, expect, test } from 'vitest';
import { adjugate } from '../../src/compile/kernels/index.js';
import { adjugate as adjugateReference, determinant } from '../../src/compile/reference.js';
import { derivative, generateCode } from '../../src/index.js';
import { mulberry32 } from '../../src/random.js';
import { loadJs, runPython, type PythonResult } from '../codegen/harness.js';

/** det of an integer matrix, exactly (Bareiss fraction-free elimination). */
function exactDet(a: bigint[][]): bigint {
  const n = a.length;
  if (n === 0) return 1n;
  const m = a.map((r) => [...r]);
  let sign = 1n;
  let prev = 1n;
  for (let k = 0; k < n - 1; k++) {
    let p = k;
    while (p < n && m[p]![k] === 0n) p++;
    if (p === n) return 0n;
    if (p !== k) {
      [m[p], m[k]] = [m[k]!, m[p]!];
      sign = -sign;
    }
    for (let i = k + 1; i < n; i++)
      for (let j = k + 1; j < n; j++) m[i]![j] = (m[i]![j]! * m[k]![k]! - m[i]![k]! * m[k]![j]!) / prev;
    prev = m[k]![k]!;
  }
  return sign * m[n - 1]![n - 1]!;
}

/** adj(A)_ij = (−1)^(i+j) det(A without row j and column i), exactly. */
function exactAdj(a: bigint[][]): bigint[][] {
  const n = a.length;
  return a.map((_, i) =>
    a.map((__, j) => {
      const minor = a.filter((_r, r) => r !== j).map((row) => row.filter((_c, c) => c !== i));
      return ((i + j) % 2 === 0 ? 1n : -1n) * exactDet(minor);
    }),
  );
}

interface Case {
  readonly name: string;
  readonly n: number;
  readonly a: Float64Array;
  /** adj(A), exact (powers of 2 times integers, all representable). */
  readonly adj: Float64Array;
  /**
   * The natural size of each entry of adj(A), max|M|^(n−1) times its scale factor: rounding
   * errors are relative to this (an adjugate that is exactly 0 is computed as rounding noise).
   */
  readonly unit: Float64Array;
}

/** Integer X·Y of rank ≤ r, scaled D1·(X·Y)·D2 by powers of 2 when `scale` > 0. */
function integerCase(n: number, r: number, rand: () => number, scale: number): Case {
  const int = (): bigint => BigInt(Math.floor(rand() * 9) - 4);
  const x = Array.from({ length: n }, () => Array.from({ length: r }, int));
  const y = Array.from({ length: r }, () => Array.from({ length: n }, int));
  const m = x.map((row) => y[0] ? y[0].map((_, j) => row.reduce((s, v, k) => s + v * y[k]![j]!, 0n)) : row.map(() => 0n));
  const mm = r === 0 ? Array.from({ length: n }, () => Array.from({ length: n }, () => 0n)) : m;
  const e1 = Array.from({ length: n }, () => Math.round((2 * rand() - 1) * scale));
  const e2 = Array.from({ length: n }, () => Math.round((2 * rand() - 1) * scale));
  const a = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) a[i * n + j] = Number(mm[i]![j]!) * 2 ** (e1[i]! + e2[j]!);
  // adj(D1·M·D2) = det(D1)det(D2)·D2⁻¹·adj(M)·D1⁻¹
  const adjM = exactAdj(mm);
  const total = [...e1, ...e2].reduce((s, v) => s + v, 0);
  const adj = new Float64Array(n * n);
  const unit = new Float64Array(n * n);
  let big = 1;
  for (const row of mm) for (const v of row) big = Math.max(big, Math.abs(Number(v)));
  for (let i = 0; i < n; i++)
    for (let j = 0; j < n; j++) {
      adj[i * n + j] = Number(adjM[i]![j]!) * 2 ** (total - e2[i]! - e1[j]!);
      unit[i * n + j] = big ** (n - 1) * 2 ** (total - e2[i]! - e1[j]!);
    }
  const rank = r >= n ? 'regular' : r === n - 1 ? 'rank n−1' : r === 0 ? 'zero' : `rank ≤ ${r}`;
  return { name: `${rank}, n = ${n}${scale ? `, scaled by 2^±${scale}` : ''}`, n, a, adj, unit };
}

function cases(): Case[] {
  const rand = mulberry32(8);
  const out: Case[] = [];
  for (let n = 1; n <= 8; n++)
    for (const scale of [0, 50])
      for (const r of [n, n - 1, n - 2, 0]) if (r >= 0 && (r > 0 || scale === 0)) out.push(integerCase(n, r, rand, scale));
  return out;
}

const CASES = cases();

/** max |got − want| / max |want| (absolute where adj = 0). */
function error(got: ArrayLike<number>, want: Float64Array): number {
  let scale = 0;
  for (const v of want) scale = Math.max(scale, Math.abs(v));
  let e = 0;
  for (let i = 0; i < want.length; i++) e = Math.max(e, Math.abs(got[i]! - want[i]!));
  return e / Math.max(scale, 1);
}

/** max over entries of |got − want| / unit: the error relative to each entry's natural size. */
function scaledError(got: ArrayLike<number>, c: Case): number {
  let e = 0;
  for (let i = 0; i < c.adj.length; i++) e = Math.max(e, Math.abs(got[i]! - c.adj[i]!) / c.unit[i]!);
  return e;
}

function rows(c: { n: number; a: Float64Array }): number[][] {
  return Array.from({ length: c.n }, (_, i) => Array.from(c.a.subarray(i * c.n, (i + 1) * c.n)));
}

describe('adj(A) against the exact integer adjugate', () => {
  test('the cases cover ranks n, n − 1, n − 2 and 0 at every size 1…8', () => {
    expect(CASES.filter((c) => c.name.startsWith('rank n−1')).length).toBeGreaterThanOrEqual(14);
    expect(CASES.length).toBeGreaterThan(50);
  });

  test.each(CASES.map((c) => [c.name, c] as const))('kernel and reference: %s', (_name, c) => {
    const out = new Float64Array(c.n * c.n);
    adjugate(c.n, c.a, 0, c.n, out, 0, c.n);
    expect(scaledError(out, c), 'kernel').toBeLessThan(1e-13);
    expect(scaledError(adjugateReference(c.a, c.n), c), 'reference').toBeLessThan(1e-13);
  });

  test('generated JS and Python', () => {
    const js = loadJs(generateCode('adj(A)', 'A', { order: 0, lang: 'js' }));
    const py = runPython(CASES.map((c) => ({ src: generateCode('adj(A)', 'A', { order: 0, lang: 'python' }), point: JSON.stringify({ A: rows(c) }) })));
    CASES.forEach((c, i) => {
      expect(scaledError(js({ A: rows(c) }).value!.data, c), `js: ${c.name}`).toBeLessThan(1e-13);
      const r = py[i]!;
      if ('error' in r) throw new Error(`python: ${c.name}: ${r.error}`);
      expect(scaledError(r.ok.value!.data, c), `python: ${c.name}`).toBeLessThan(1e-13);
    });
  });

  test('random real matrices, n = 1…8 and 40: kernel equals the cofactor definition', () => {
    const rand = mulberry32(3);
    for (const n of [1, 2, 3, 4, 5, 6, 7, 8, 40]) {
      const a = Float64Array.from({ length: n * n }, () => 2 * rand() - 1);
      const out = new Float64Array(n * n);
      adjugate(n, a, 0, n, out, 0, n);
      expect(error(out, adjugateReference(a, n)), `n = ${n}`).toBeLessThan(1e-10);
      // A·adj(A) = det(A)·I
      const d = determinant(a, n);
      let r = 0;
      for (let i = 0; i < n; i++)
        for (let j = 0; j < n; j++) {
          let s = 0;
          for (let k = 0; k < n; k++) s += a[i * n + k]! * out[k * n + j]!;
          r = Math.max(r, Math.abs(s - (i === j ? d : 0)));
        }
      expect(r / Math.max(Math.abs(d), 1e-300), `A·adj(A) = det(A)·I at n = ${n}`).toBeLessThan(1e-9);
    }
  });

  test('a non-finite entry gives NaN, not a number that looks right', () => {
    const out = new Float64Array(4);
    adjugate(2, Float64Array.of(1, Infinity, 0, 1), 0, 2, out, 0, 2);
    expect(Array.from(out).every(Number.isNaN)).toBe(true);
  });
});

describe('the derivative of det is adj(A)ᵀ, defined at singular matrices', () => {
  const rand = mulberry32(11);
  const rankDeficient = (m: number, n: number): number[][] => Array.from({ length: m }, () => Array.from({ length: n }, () => Math.round(10 * (2 * rand() - 1)) / 4));

  test.each([
    [2, 3],
    [3, 5],
    [1, 4],
  ])("det(X'*X) by X at a %i×%i X (X'X singular) is 0 in every evaluator", (m, n) => {
    const X = rankDeficient(m, n);
    const d = derivative("det(X'*X)", 'X');
    expect(d.matrix).toBe("2*X*adj(X'*X)");
    // det(X'X) = 0 for every such X, so its gradient is exactly 0; rounding in adj(X'X) (whose
    // entries are of order ‖X‖^(2n−2)) leaves at most that times eps.
    let scale = 1;
    for (const row of X) for (const v of row) scale = Math.max(scale, Math.abs(v));
    const tol = 1e-12 * scale ** (2 * n - 1);
    const outs = [
      d.evaluate({ X }).data,
      d.compile()({ X }).data,
      loadJs(generateCode("det(X'*X)", 'X', { order: 1, lang: 'js' }))({ X }).gradient!.data,
    ];
    for (const g of outs) {
      expect(g.length).toBe(m * n);
      for (const v of g) expect(Math.abs(v)).toBeLessThan(tol);
    }
  });

  test('det(A) by A at rank n − 1 and n − 2 equals central differences (det is linear in each entry)', () => {
    const grad = derivative('det(A)', 'A');
    const f = derivative('det(A)', 'A', { order: 0 }).compile();
    for (let n = 1; n <= 6; n++)
      for (const r of [n - 1, n - 2]) {
        if (r < 0) continue;
        const c = integerCase(n, r, rand, 0);
        const A = rows(c);
        const fd = new Float64Array(n * n);
        for (let i = 0; i < n; i++)
          for (let j = 0; j < n; j++) {
            const at = (h: number): number => {
              const B = A.map((row) => [...row]);
              B[i]![j]! += h;
              return f({ A: B }).data[0]!;
            };
            fd[i * n + j] = (at(0.5) - at(-0.5)) / 1;
          }
        // adj(A)ᵀ, exactly; errors relative to the entries' natural size (max|A|^(n−1))
        const t = { ...c, adj: new Float64Array(n * n), unit: new Float64Array(n * n) };
        for (let i = 0; i < n; i++)
          for (let j = 0; j < n; j++) {
            t.adj[i * n + j] = c.adj[j * n + i]!;
            t.unit[i * n + j] = c.unit[j * n + i]!;
          }
        expect(scaledError(fd, t), `finite differences, n = ${n}, rank ${r}`).toBeLessThan(1e-13);
        for (const g of [grad.compile()({ A }).data, grad.evaluate({ A }).data]) expect(scaledError(g, t), `n = ${n}, rank ${r}`).toBeLessThan(1e-13);
      }
  });

  test('det(X)*inv(X) means adj(X): defined at a singular X', () => {
    const d = derivative('det(X)*inv(X)', 'X', { order: 0 });
    expect(d.matrix).toBe('adj(X)');
    expect(Array.from(d.compile()({ X: [[1, 2], [2, 4]] }).data)).toEqual([4, -2, -2, 1]);
  });

  test('the second derivative of det at a singular matrix: the second-order cofactors (adjugate-derivative.test.ts has every rank)', () => {
    const h = derivative('det(A)', 'A', { order: 2 });
    // det([[a, b], [c, d]]) = ad − bc: ∂²/∂a∂d = 1, ∂²/∂b∂c = −1, every other pair 0, at every A.
    const want = new Float64Array(16);
    want[0 * 4 + 3] = want[3 * 4 + 0] = 1;
    want[1 * 4 + 2] = want[2 * 4 + 1] = -1;
    const A = [[1, 2], [2, 4]];
    for (const out of [h.compile()({ A }).data, h.evaluate({ A }).data]) expect(Array.from(out)).toEqual(Array.from(want));
  });
});

describe('adj in the input language', () => {
  test('prints in every notation and round-trips', () => {
    const d = derivative('adj(A)', 'A', { order: 0 });
    expect(d.matrix).toBe('adj(A)');
    expect(d.latex).toBe('\\operatorname{adj}\\left(A\\right)');
    expect(derivative('det(A)', 'A').index).toBe('adj(A)_j^i');
    expect(derivative("adj(A')", 'A', { order: 0 }).matrix).toBe("adj(A)'");
  });

  test('type errors name the argument', () => {
    expect(() => derivative('adj(x)', 'x')).toThrow(/adj needs a square matrix, but x is/);
  });

  let python: PythonResult[] = [];
  beforeAll(() => {
    python = runPython([{ src: generateCode("x'*adj(A)*y", 'A', { order: 2, lang: 'python' }), point: JSON.stringify({ A: [[2, 1], [0, 3]], x: [1, 2], y: [3, -1] }) }]);
  });
  test('derivatives of adj in generated Python equal the compiled evaluator', () => {
    const r = python[0]!;
    if ('error' in r) throw new Error(r.error);
    const at = { A: [[2, 1], [0, 3]], x: [1, 2], y: [3, -1] };
    for (const [k, order] of [['value', 0], ['gradient', 1], ['hessian', 2]] as const) {
      const want = derivative("x'*adj(A)*y", 'A', { order }).compile()(at).data;
      expect(error(r.ok[k]!.data, Float64Array.from(want)), k).toBeLessThan(1e-12);
    }
  });
});
