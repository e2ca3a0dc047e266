/**
 * The derivative of the adjugate, adj2(A)^i_j^p_q = ∂adj(A)^i_j/∂A^p_q (the second derivative of
 * det), defined at every matrix: the kernel's parts (kernels/adjugateParts.ts) and the reference
 * evaluator's second-order cofactors against exact ones (BigInt) at ranks n, n − 1, n − 2, n − 3
 * and 0, sizes 1…7, also scaled by powers of 2; the evaluators' second derivatives of det where the
 * matrix is singular (det(y*y') by y stopped with "inv(y*y'): the matrix is singular" before); the
 * planner's expansion, which keeps adj2 : ∂A as cheap as the form with A⁻¹.
 */
import { describe, expect, test } from 'vitest';
import { adjugateDerivative } from '../../src/compile/kernels/adjugateParts.js';
import { adjugateDerivative as adjugateDerivativeReference } from '../../src/compile/reference.js';
import { expandAdjugates } from '../../src/compile/adjugates.js';
import { derivative, generateCode, hvp, RicciError } from '../../src/index.js';
import { topoOrder } from '../../src/ir/node.js';
import { mulberry32 } from '../../src/random.js';
import { exactDet, exponentSum, scaledIntegerMatrix } from '../helpers/exact.js';
import { loadJs } from '../codegen/harness.js';
import { nearRankMatrix } from '../helpers/matrices.js';

interface Case {
  readonly name: string;
  readonly n: number;
  readonly a: Float64Array;
  /** adj2(A), exact (integers times powers of 2). */
  readonly adj2: Float64Array;
  /** The natural size of each entry: max|M|^(n−2) times the scale of its minor. */
  readonly unit: Float64Array;
}

/** The exact adj2 of a scaled integer matrix of rank ≤ r (helpers/exact.ts). */
function integerCase(n: number, r: number, rand: () => number, scale: number): Case {
  const { name, m, a, e1, e2, big } = scaledIntegerMatrix(n, r, rand, scale, 4);
  const adj2 = new Float64Array(n ** 4);
  const unit = new Float64Array(n ** 4);
  for (let i = 0; i < n; i++)
    for (let j = 0; j < n; j++)
      for (let p = 0; p < n; p++)
        for (let q = 0; q < n; q++) {
          const at = ((i * n + j) * n + p) * n + q;
          // The minor without rows j, p and columns i, q scales by 2^(Σ of the kept rows' and columns' exponents).
          const s = 2 ** (exponentSum(e1, [j, p]) + exponentSum(e2, [i, q]));
          unit[at] = big ** Math.max(n - 2, 0) * s;
          if (p === j || q === i) continue;
          const minor = m.filter((_, k) => k !== j && k !== p).map((row) => row.filter((_, k) => k !== i && k !== q));
          const places = i + j + (p > j ? p - 1 : p) + (q > i ? q - 1 : q);
          adj2[at] = (places % 2 === 0 ? 1 : -1) * Number(exactDet(minor)) * s;
        }
  return { name, n, a, adj2, unit };
}

function cases(): Case[] {
  const rand = mulberry32(21);
  const out: Case[] = [];
  for (let n = 1; n <= 6; n++)
    for (const scale of [0, 40])
      for (const r of new Set([n, n - 1, n - 2, n - 3, 0])) if (r >= 0 && (r > 0 || scale === 0)) out.push(integerCase(n, r, rand, scale));
  return out;
}

const CASES = cases();

function scaledError(got: ArrayLike<number>, c: Case): number {
  let e = 0;
  for (let i = 0; i < c.adj2.length; i++) e = Math.max(e, Math.abs(got[i]! - c.adj2[i]!) / c.unit[i]!);
  return e;
}

/**
 * The error of a Hessian of det, where the entries that are 0 because det is linear in each entry
 * (∂²det/∂A_ij∂A_kl with k = i or l = j) count relative to the largest natural size in their row
 * and column of the Hessian: there the evaluators add terms as large as those (adj·A⁻¹ products)
 * that cancel, and rounding leaves what it leaves.
 */
function hessianError(got: ArrayLike<number>, c: Case): number {
  const n = c.n;
  const w = n * n;
  const rowMax = Array.from({ length: w }, (_, r) => Math.max(...Array.from({ length: w }, (_, k) => c.unit[r * w + k]!)));
  const colMax = Array.from({ length: w }, (_, k) => Math.max(...Array.from({ length: w }, (_, r) => c.unit[r * w + k]!)));
  let e = 0;
  for (let r = 0; r < w; r++)
    for (let k = 0; k < w; k++) {
      const linear = Math.floor(k / n) === Math.floor(r / n) || k % n === r % n;
      const unit = linear ? Math.max(rowMax[r]!, colMax[k]!) : c.unit[r * w + k]!;
      e = Math.max(e, Math.abs(got[r * w + k]! - c.adj2[r * w + k]!) / unit);
    }
  return e;
}

function rows(n: number, a: Float64Array): number[][] {
  return Array.from({ length: n }, (_, i) => Array.from(a.subarray(i * n, (i + 1) * n)));
}

/** The Hessian of det: H[i,j,k,l] = ∂²det/∂A_ij∂A_kl = ∂adj_ji/∂A_kl = adj2[j,i,k,l]. */
function detHessianOf(c: Case): Case {
  const n = c.n;
  const swap = (t: Float64Array): Float64Array => {
    const out = new Float64Array(t.length);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) for (let k = 0; k < n * n; k++) out[(i * n + j) * n * n + k] = t[(j * n + i) * n * n + k]!;
    return out;
  };
  return { ...c, adj2: swap(c.adj2), unit: swap(c.unit) };
}

describe('adj2 against exact second-order cofactors', () => {
  test('the cases cover ranks n, n − 1, n − 2, n − 3 and 0 at every size 1…6, scaled and not', () => {
    for (const rank of ['rank ≤ 1, n = 4', 'rank ≤ 2, n = 4', 'rank ≤ 3, n = 5', 'rank ≤ 4, n = 6', 'regular, n = 6', 'rank ≤ 3, n = 6, scaled by 2^±40'])
      expect(CASES.some((c) => c.name === rank), rank).toBe(true);
  });

  test.each(CASES.map((c) => [c.name, c] as const))('kernel parts and reference: %s', (_name, c) => {
    expect(scaledError(adjugateDerivative(c.n, c.a), c), 'kernel').toBeLessThan(1e-12);
    expect(scaledError(adjugateDerivativeReference(c.a, c.n), c), 'reference').toBeLessThan(1e-12);
  });

  test('random real matrices and matrices a rounding away from rank n − 1 and n − 2: kernel equals the cofactor definition', () => {
    const rand = mulberry32(5);
    for (let n = 1; n <= 7; n++)
      for (const deficit of [0, 1, 2]) {
        // rank n − deficit, then every entry moved by a relative 1e-15
        const a = nearRankMatrix(n, Math.max(n - deficit, 0), rand);
        const want = adjugateDerivativeReference(a, n);
        const got = adjugateDerivative(n, a);
        let scale = 1e-300;
        for (const w of want) scale = Math.max(scale, Math.abs(w));
        let e = 0;
        for (let i = 0; i < want.length; i++) e = Math.max(e, Math.abs(got[i]! - want[i]!));
        expect(e / Math.max(scale, 1), `n = ${n}, rank n − ${deficit}`).toBeLessThan(1e-11);
      }
  });

  test('a non-finite entry gives NaN', () => {
    expect(Array.from(adjugateDerivative(3, Float64Array.of(1, 2, 3, 4, Infinity, 6, 7, 8, 9))).every(Number.isNaN)).toBe(true);
  });
});

describe('second derivatives of det where the matrix is singular', () => {
  const hessian = derivative('det(A)', 'A', { order: 2 });
  const compiled = hessian.compile();

  test.each(CASES.filter((c) => c.n >= 2).map((c) => [c.name, c] as const))('det(A) by A, order 2, both evaluators: %s', (_name, c) => {
    const want = detHessianOf(c);
    const A = rows(c.n, c.a);
    expect(hessianError(compiled({ A }).data, want), 'compiled').toBeLessThan(1e-11);
    expect(scaledError(hessian.evaluate({ A }).data, want), 'reference').toBeLessThan(1e-12);
  });

  test("det(y*y') by y is 0 for every y of length ≥ 2 (a rank-one matrix), 2 at length 1", () => {
    const h = derivative("det(y*y')", 'y', { order: 2 });
    const f = h.compile();
    const rand = mulberry32(9);
    for (let n = 1; n <= 6; n++)
      for (let t = 0; t < 3; t++) {
        const y = Array.from({ length: n }, () => 4 * rand() - 2);
        for (const out of [f({ y }).data, h.evaluate({ y }).data]) {
          expect(out.length).toBe(n * n);
          if (n === 1) expect(out[0]).toBeCloseTo(2, 12);
          else for (const v of out) expect(Math.abs(v)).toBeLessThan(1e-12);
        }
      }
  });

  test("det(X'*X) by X, order 2: 0 for a wide X (X'X singular), central differences for a tall one", () => {
    const h = derivative("det(X'*X)", 'X', { order: 2 });
    const f = derivative("det(X'*X)", 'X', { order: 0 }).compile();
    const rand = mulberry32(10);
    for (const [m, n] of [
      [2, 3],
      [1, 3],
      [2, 4],
      [3, 2],
      [4, 3],
    ] as const) {
      const X = Array.from({ length: m }, () => Array.from({ length: n }, () => 2 * rand() - 1));
      const H = [h.compile()({ X }).data, h.evaluate({ X }).data];
      if (m < n) {
        for (const out of H) for (const v of out) expect(Math.abs(v)).toBeLessThan(1e-12);
        continue;
      }
      // det(X'X) is a polynomial of degree 2n: central differences with Richardson extrapolation.
      const w = m * n;
      const at = (k: number, l: number, hk: number, hl: number): number => {
        const Y = X.map((r) => [...r]);
        Y[Math.floor(k / n)]![k % n]! += hk;
        Y[Math.floor(l / n)]![l % n]! += hl;
        return f({ X: Y }).data[0]!;
      };
      const second = (k: number, l: number, s: number): number => (at(k, l, s, s) - at(k, l, s, -s) - at(k, l, -s, s) + at(k, l, -s, -s)) / (4 * s * s);
      for (let k = 0; k < w; k++)
        for (let l = 0; l < w; l++) {
          if (k === l) continue;
          const fd = (4 * second(k, l, 1e-3) - second(k, l, 2e-3)) / 3;
          for (const out of H) expect(Math.abs(out[k * w + l]! - fd), `entry ${k}, ${l} of ${m}×${n}`).toBeLessThan(1e-6);
        }
    }
  });

  test('the printed form still writes the derivative with A⁻¹; generated code computes adj2, also where A is singular', () => {
    expect(hessian.index).toBe(derivative('det(A)', 'A', { order: 2 }).index);
    expect(hessian.index).toMatch(/inv\(A\)/);
    const js = loadJs(generateCode('det(A)', 'A', { order: 2, lang: 'js' }));
    // det of a 2×2 is ad − bc: ∂²/∂a∂d = 1, ∂²/∂b∂c = −1 at every A (test/codegen/adj2.test.ts has the rest).
    expect(Array.from(js({ A: [[1, 2], [2, 4]] }).hessian!.data)).toEqual([0, 0, 0, 1, 0, 0, -1, 0, 0, -1, 0, 0, 1, 0, 0, 0]);
  });

  test('Hessian-vector products of det at singular matrices: the parts contracted with the direction', () => {
    // det of 2×2 is ad − bc: H:V is [V_22, −V_21; −V_12, V_11] at every A.
    const h = hvp('det(A)', 'A');
    const A = [[1, 2], [2, 4]];
    const V = [[0.5, -1], [2, 3]];
    for (const out of [h.compile()({ A, V }).data, h.evaluate({ A, V }).data]) expect(Array.from(out)).toEqual([3, -2, 1, 0.5]);
    const y = hvp("det(y*y')", 'y');
    for (const out of [y.compile()({ y: [1, 2, 3], v: [1, 0, -1] }).data, y.evaluate({ y: [1, 2, 3], v: [1, 0, -1] }).data])
      for (const x of out) expect(Math.abs(x)).toBeLessThan(1e-12);
  });

});

describe("the planner's expansion of adj2", () => {
  test('a product with adj2 is distributed over its parts: no tensor of order 4 is formed for a Hessian by a vector', () => {
    const h = derivative("det(B + x*x')", 'x', { order: 2 });
    const roots = expandAdjugates([h.result.evalNode]);
    expect(topoOrder([h.result.evalNode]).some((n) => n.kind === 'adj2')).toBe(true);
    const nodes = topoOrder(roots);
    expect(nodes.some((n) => n.kind === 'adj2')).toBe(false);
    expect(nodes.some((n) => n.kind === 'adjpart')).toBe(true);
    expect(Math.max(...nodes.map((n) => n.shape.length))).toBeLessThanOrEqual(2);
  });

  test("det(B + x*x') by x, order 2: compiled equals reference at n = 1…6 and runs at n = 200", () => {
    const h = derivative("det(B + x*x')", 'x', { order: 2 });
    const f = h.compile();
    const rand = mulberry32(12);
    for (let n = 1; n <= 6; n++) {
      const B = Array.from({ length: n }, () => Array.from({ length: n }, () => 2 * rand() - 1));
      const x = Array.from({ length: n }, () => 2 * rand() - 1);
      const got = f({ B, x }).data;
      const want = h.evaluate({ B, x }).data;
      let scale = 1e-300;
      for (const w of want) scale = Math.max(scale, Math.abs(w));
      for (let i = 0; i < want.length; i++) expect(Math.abs(got[i]! - want[i]!) / scale, `n = ${n}`).toBeLessThan(1e-10);
    }
    const n = 200;
    const B = Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => (i === j ? 1 : 0) + 0.01 * (2 * rand() - 1)));
    const x = Array.from({ length: n }, () => 0.1 * (2 * rand() - 1));
    const out = f({ B, x }).data;
    expect(out.length).toBe(n * n);
    expect(out.every(Number.isFinite)).toBe(true);
  });
});
