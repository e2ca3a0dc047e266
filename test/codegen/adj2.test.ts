/**
 * Generated code computes the Hessian of det as the evaluators do, with adj2(A) = ∂adj(A)/∂A (the
 * minors of order n − 2), so that it is defined at singular matrices too; it followed the printed
 * form, which writes it with A⁻¹, and stopped there ("inv(X): the matrix is singular"). JS, NumPy
 * and PyTorch (float64, and under vmap) against the library's evaluate, at matrices of full rank,
 * rank n − 1, n − 2 and 0, sizes 1 to 4, with negative entries, and for compound arguments. The
 * same for third derivatives with adj3(A) (ranks down to n − 3), against exact integer values.
 */
import { beforeAll, describe, expect, test } from 'vitest';
import { derivative, generateCode } from '../../src/index.js';
import type { Tensor } from '../../src/tensor.js';
import { toTensors } from '../../src/values.js';
import { pointJson } from '../helpers/corpus.js';
import { relErr } from '../helpers/numeric.js';
import { mulberry32 } from '../../src/random.js';
import { loadJs, runJobs, runPython, toOutputs, type Job, type PythonResult } from './harness.js';

type Matrix = number[][];

/** An n×n matrix of the given rank with entries of either sign: a product of n×r and r×n integer matrices. */
function ofRank(n: number, rank: number, seed: number): Matrix {
  const rand = mulberry32(seed);
  const int = (): number => Math.floor(rand() * 7) - 3;
  const u = Array.from({ length: n }, () => Array.from({ length: rank }, int));
  const v = Array.from({ length: rank }, () => Array.from({ length: n }, int));
  return u.map((row) => v[0]?.map((_, j) => row.reduce((s, x, k) => s + x * v[k]![j]!, 0)) ?? new Array<number>(n).fill(0));
}

const EXPRS = ['det(X)', "det(X'*X)", 'det(A*X)', 'det(X)^2', "det(X*X') + det(X)"];

interface Case {
  readonly expr: string;
  readonly point: Record<string, Matrix>;
  readonly want: Tensor;
  readonly label: string;
  /**
   * The entries' natural size, (1 + max |entry|)^(2n − 2) (the Hessian of det(X'*X) has degree
   * 2n − 2): round-off is relative to it where the value cancels to 0 (rank n − 2).
   */
  readonly scale: number;
}

const cases: Case[] = [];
for (const expr of EXPRS)
  for (const n of [1, 2, 3, 4])
    for (const rank of [n, n - 1, n - 2, 0]) {
      if (rank < 0 || (n === 1 && rank === -1)) continue;
      const point = { X: ofRank(n, rank, 100 * n + 10 * rank + expr.length), A: ofRank(n, n, 7 + n) };
      // A of full rank: a diagonally dominant integer matrix where the draw is singular.
      point.A = point.A.map((row, i) => row.map((x, j) => (i === j ? x + 10 : x)));
      const want = derivative(expr, 'X', { order: 2 }).evaluate(point);
      const big = Math.max(...[...point.X, ...point.A].flat().map(Math.abs));
      cases.push({ expr, point, want, label: `${expr}, n = ${n}, rank ${rank}`, scale: (1 + big) ** (2 * n - 2) });
    }

// Well-conditioned matrices up to n = 7, where the helpers take Jacobi's identity (adj_ij·adj_lk −
// adj_ik·adj_lj)/det rather than n² minors.
for (const expr of EXPRS)
  for (const n of [5, 7]) {
    const dominant = (seed: number): Matrix => ofRank(n, n, seed).map((row, i) => row.map((x, j) => (i === j ? x + 4 * n : x)));
    const point = { X: dominant(n + expr.length), A: dominant(3 * n) };
    const big = Math.max(...[...point.X, ...point.A].flat().map(Math.abs));
    cases.push({ expr, point, want: derivative(expr, 'X', { order: 2 }).evaluate(point), label: `${expr}, n = ${n}, diagonally dominant`, scale: (1 + big) ** (2 * n - 2) });
  }

const pointText = (c: Case): string => pointJson(toTensors(c.point));

let numpy: PythonResult[] = [];
let torch: ({ ok: unknown } | { error: string })[] = [];
beforeAll(() => {
  numpy = runPython(cases.map((c) => ({ src: generateCode(c.expr, 'X', { order: 2, lang: 'python' }), point: pointText(c) })));
  torch = runJobs(cases.map((c): Job => ({ kind: 'torch', src: generateCode(c.expr, 'X', { order: 2, lang: 'torch' }), point: pointText(c), dtype: 'float64' })));
});

describe('generated Hessians of det at singular matrices', () => {
  test('the code holds adj2, not an inverse', () => {
    const js = generateCode('det(X)', 'X', { order: 2, lang: 'js' });
    expect(js).toContain('adj2_(');
    expect(js).not.toContain('inv_(');
    expect(generateCode('det(X)', 'X', { order: 2, lang: 'python' })).toContain('_adj2(');
    expect(generateCode('det(X)', 'X', { order: 2, lang: 'torch' })).toContain('_adj2(');
  });

  test.each(cases.map((c, i) => [c.label, c, i] as const))('%s: JS, NumPy and PyTorch equal evaluate', (_label, c, i) => {
    const js = loadJs(generateCode(c.expr, 'X', { order: 2, lang: 'js' }))(c.point).hessian!;
    expect(relErr(js, c.want, c.scale), 'js').toBeLessThan(1e-12);
    const py = numpy[i]!;
    if ('error' in py) throw new Error(`python: ${py.error}`);
    expect(relErr(py.ok.hessian!, c.want, c.scale), 'numpy').toBeLessThan(1e-12);
    const t = torch[i]!;
    if ('error' in t) throw new Error(`torch: ${t.error}`);
    const got = toOutputs((t.ok as { out: Parameters<typeof toOutputs>[0] }).out).hessian!;
    expect(relErr(got, c.want, c.scale), 'torch').toBeLessThan(1e-12);
  });

  // Pivots all 1 but a condition number near 1e13: the helpers take the minors. Jacobi's identity,
  // chosen by the pivots, lost accuracy in its cancelling products of 1e6- and 1e12-sized
  // cofactors (3e-11 relative here).
  test('an ill-conditioned matrix with balanced pivots: JS and NumPy equal evaluate', () => {
    const X = [[1, 1.2345678e6, 3.1415926e6], [0, 1, 2.7182818e6], [0, 0, 1]];
    const want = derivative('det(X)', 'X', { order: 2 }).evaluate({ X });
    const js = loadJs(generateCode('det(X)', 'X', { order: 2, lang: 'js' }))({ X }).hessian!;
    expect(relErr(js, want, 1)).toBeLessThan(1e-14);
    const [py] = runPython([{ src: generateCode('det(X)', 'X', { order: 2, lang: 'python' }), point: pointJson(toTensors({ X })) }]);
    if (!py || 'error' in py) throw new Error(`python: ${py && 'error' in py ? py.error : 'no result'}`);
    expect(relErr(py.ok.hessian!, want, 1)).toBeLessThan(1e-14);
  });

  test('PyTorch under vmap equals a loop, singular entries of the batch included', () => {
    const src = generateCode('det(X)', 'X', { order: 2, lang: 'torch' });
    const points = [ofRank(3, 3, 1), ofRank(3, 2, 2), ofRank(3, 1, 3)].map((X) => pointJson(toTensors({ X })));
    const [r] = runJobs([{ kind: 'vmap', src, points }]);
    if (!r || 'error' in r) throw new Error(`torch: ${r && 'error' in r ? r.error : 'no result'}`);
    const { batched, loop } = r.ok as { batched: Parameters<typeof toOutputs>[0]; loop: Parameters<typeof toOutputs>[0] };
    const b = toOutputs(batched).hessian!;
    const l = toOutputs(loop).hessian!;
    expect(b.shape).toEqual(l.shape);
    expect(relErr(b, l, 1)).toBeLessThan(1e-12);
  });
});

// Third derivatives: adj3(A) = ∂adj2(A)/∂A (the minors of order n − 3), which the generated code
// forms from the n² adj2's of A's (n−1)×(n−1) submatrices; it followed the form with A⁻¹ and
// stopped at singular matrices.
// X and A are integer matrices and these are polynomials in their entries, so the exact values
// are integers: the reference is the library's evaluate rounded (it takes the form with A⁻¹ where
// A is invertible, 3e-9 off relative to the largest entry for det(X'*X) at n = 3).
const EXPRS3 = ['det(X)', 'det(X)^2', "det(X'*X)", 'det(A*X) + det(X)*tr(X)'];
const cases3: Case[] = [];
const exact = (expr: string, point: Record<string, Matrix>): Tensor => {
  const t = derivative(expr, 'X', { order: 3 }).evaluate(point);
  const data = t.data.map(Math.round);
  const most = Math.max(1, ...Array.from(data, Math.abs));
  for (let k = 0; k < data.length; k++) if (Math.abs(t.data[k]! - data[k]!) > 1e-8 * most) throw new Error(`${expr}: the reference is not near an integer`);
  return { shape: t.shape, data };
};
const largest = (t: Tensor): number => Math.max(1, ...Array.from(t.data, Math.abs));
// Round-off relative to the entries' natural size (see Case.scale), (1 + max |entry|)^(2n − 3) for
// the third derivative of det(X'*X), or the largest entry where that is larger (relative to the
// largest entry alone, PyTorch's SVD-based adjugates are 8e-10 off where the value cancels at low
// rank).
const TOL3 = 1e-12;
for (const expr of EXPRS3) {
  for (const n of [1, 2, 3, 4])
    for (const rank of [n, n - 1, n - 2, n - 3, 0]) {
      if (rank < 0 || (rank === 0 && n <= 3)) continue;
      const point = { X: ofRank(n, rank, 1000 * n + 10 * rank + expr.length), A: ofRank(n, n, 17 + n).map((row, i) => row.map((x, j) => (i === j ? x + 10 : x))) };
      const want = exact(expr, point);
      const big = Math.max(...[...point.X, ...point.A].flat().map(Math.abs));
      cases3.push({ expr, point, want, label: `${expr}, n = ${n}, rank ${rank}`, scale: Math.max(largest(want), (1 + big) ** (2 * n - 3)) });
    }
  const n = 5;
  const dominant = (seed: number): Matrix => ofRank(n, n, seed).map((row, i) => row.map((x, j) => (i === j ? x + 4 * n : x)));
  const point = { X: dominant(n + expr.length), A: dominant(3 * n) };
  const want = exact(expr, point);
  const big = Math.max(...[...point.X, ...point.A].flat().map(Math.abs));
  cases3.push({ expr, point, want, label: `${expr}, n = 5, diagonally dominant`, scale: Math.max(largest(want), (1 + big) ** (2 * n - 3)) });
}

let numpy3: PythonResult[] = [];
let torch3: ({ ok: unknown } | { error: string })[] = [];
beforeAll(() => {
  numpy3 = runPython(cases3.map((c) => ({ src: generateCode(c.expr, 'X', { order: 3, lang: 'python' }), point: pointText(c) })));
  torch3 = runJobs(cases3.map((c): Job => ({ kind: 'torch', src: generateCode(c.expr, 'X', { order: 3, lang: 'torch' }), point: pointText(c), dtype: 'float64' })));
});

describe('generated third derivatives of det at singular matrices', () => {
  test('the code holds adj3, not an inverse', () => {
    const js = generateCode('det(X)', 'X', { order: 3, lang: 'js' });
    expect(js).toContain('adj3_(');
    expect(js).not.toContain('inv_(');
    expect(generateCode('det(X)', 'X', { order: 3, lang: 'python' })).toContain('_adj3(');
    expect(generateCode('det(X)', 'X', { order: 3, lang: 'torch' })).toContain('_adj3(');
  });

  test.each(cases3.map((c, i) => [c.label, c, i] as const))('%s: JS, NumPy and PyTorch equal evaluate', (_label, c, i) => {
    const js = loadJs(generateCode(c.expr, 'X', { order: 3, lang: 'js' }))(c.point).derivative3!;
    expect(relErr(js, c.want, c.scale), 'js').toBeLessThan(TOL3);
    const py = numpy3[i]!;
    if ('error' in py) throw new Error(`python: ${py.error}`);
    expect(relErr(py.ok.derivative3!, c.want, c.scale), 'numpy').toBeLessThan(TOL3);
    const t = torch3[i]!;
    if ('error' in t) throw new Error(`torch: ${t.error}`);
    const got = toOutputs((t.ok as { out: Parameters<typeof toOutputs>[0] }).out).derivative3!;
    expect(relErr(got, c.want, c.scale), 'torch').toBeLessThan(TOL3);
  });

  test('PyTorch under vmap equals a loop, singular entries of the batch included', () => {
    const src = generateCode('det(X)', 'X', { order: 3, lang: 'torch' });
    const points = [ofRank(4, 4, 1), ofRank(4, 3, 2), ofRank(4, 2, 3), ofRank(4, 1, 4)].map((X) => pointJson(toTensors({ X })));
    const [r] = runJobs([{ kind: 'vmap', src, points }]);
    if (!r || 'error' in r) throw new Error(`torch: ${r && 'error' in r ? r.error : 'no result'}`);
    const { batched, loop } = r.ok as { batched: Parameters<typeof toOutputs>[0]; loop: Parameters<typeof toOutputs>[0] };
    const b = toOutputs(batched).derivative3!;
    const l = toOutputs(loop).derivative3!;
    expect(b.shape).toEqual(l.shape);
    expect(relErr(b, l, 1)).toBeLessThan(1e-12);
  });
});
