/**
 * Derivatives of matrix powers in generated code (JS dpow_, NumPy and torch _dpow: the power of
 * the block matrix of the directions, taken by squaring with the subset product). Checked against
 * the compiled evaluator for exponents 2 to 12, one to three directions (orders 1 to 3, and dpow
 * written in the input), at sizes 1 to 3 with negative entries, and against the block matrix's
 * power written out.
 */
import { describe, expect, test } from 'vitest';
import { generateCode } from '../../src/index.js';
import type { Tensor } from '../../src/tensor.js';
import { pointJson } from '../helpers/corpus.js';
import { randomTensor, relErr, rng } from '../helpers/numeric.js';
import { compiledOutputs, findTorchPython, loadJs, runJobs, runPython, toOutputs, type Job, type Outputs } from './harness.js';

const CASES: readonly [string, string, number][] = [
  ['A^2', 'A', 3],
  ['A^4*sqrt(y)', 'A', 3],
  ['A^5', 'A', 2],
  ['A^7', 'A', 1],
  ["x'*A^12*y", 'A', 2],
  ['tr(A^3*B)', 'A', 3],
  ['sum(dpow(A, 4, B)*x)', 'A', 2],
  ['sum(dpow(A, 6, B)*x)', 'B', 1],
];

const SIZES = [1, 2, 3];

function pointOf(order: number, n: number): Record<string, Tensor> {
  const rand = rng(6100 + 10 * n + order);
  const shapes: Record<string, number[]> = { A: [n, n], B: [n, n], x: [n], y: [n] };
  return Object.fromEntries(Object.entries(shapes).map(([k, s]) => [k, randomTensor(s, k === 'y' ? 'positive' : 'any', rand)])) as Record<string, Tensor>;
}

function expectCompiled(got: Outputs, expr: string, wrt: string, order: number, values: Record<string, Tensor>, what: string): void {
  const { keys, expected } = compiledOutputs(expr, wrt, order, values);
  keys.forEach((key, k) => {
    const have = got[key]!;
    expect([...have.shape], `${what}: ${expr}, ${key}`).toEqual([...expected[k]!.shape]);
    expect(relErr(have, expected[k]!, 1e-6), `${what}: ${expr}, ${key}`).toBeLessThan(1e-10);
  });
}

const pointText = (values: Record<string, Tensor>): string => pointJson(new Map(Object.entries(values)));

/** Every case at every size, for the Python runners. */
const RUNS = CASES.flatMap(([expr, wrt, order]) => SIZES.map((n) => ({ expr, wrt, order, n, values: pointOf(order, n) })));

describe('generated code: derivatives of matrix powers', () => {
  test.each(CASES)('JS: %s by %s, orders 0 to %i', (expr, wrt, order) => {
    const evaluate = loadJs(generateCode(expr, wrt, { order, lang: 'js' }));
    for (const n of SIZES) {
      const values = pointOf(order, n);
      expectCompiled(evaluate(values), expr, wrt, order, values, `js, n = ${n}`);
    }
  });

  test('NumPy gives the compiled evaluator’s numbers', () => {
    const results = runPython(RUNS.map((r) => ({ src: generateCode(r.expr, r.wrt, { order: r.order, lang: 'python' }), point: pointText(r.values) })));
    results.forEach((res, i) => {
      const r = RUNS[i]!;
      if ('error' in res) throw new Error(`python: ${r.expr}: ${res.error}`);
      expectCompiled(res.ok, r.expr, r.wrt, r.order, r.values, `python, n = ${r.n}`);
    });
  });

  test.runIf(findTorchPython() !== null)('torch gives the compiled evaluator’s numbers, and the same under vmap', () => {
    const jobs = RUNS.flatMap((r): Job[] => {
      const src = generateCode(r.expr, r.wrt, { order: r.order, lang: 'torch' });
      return [
        { kind: 'torch', src, point: pointText(r.values), dtype: 'float64' },
        { kind: 'vmap', src, points: [1, 2].map((k) => pointText(pointOf(r.order + 10 * k, r.n))) },
      ];
    });
    const results = runJobs(jobs);
    RUNS.forEach((r, i) => {
      const plain = results[2 * i]!;
      if ('error' in plain) throw new Error(`torch: ${r.expr}: ${plain.error}`);
      expectCompiled(toOutputs((plain.ok as { out: Parameters<typeof toOutputs>[0] }).out), r.expr, r.wrt, r.order, r.values, `torch, n = ${r.n}`);
      const batched = results[2 * i + 1]!;
      if ('error' in batched) throw new Error(`torch vmap: ${r.expr}: ${batched.error}`);
      const { batched: b, loop } = batched.ok as { batched: Parameters<typeof toOutputs>[0]; loop: Parameters<typeof toOutputs>[0] };
      const [bo, lo] = [toOutputs(b), toOutputs(loop)];
      for (const key of Object.keys(lo)) expect(relErr(bo[key]!, lo[key]!, 1e-6), `torch vmap: ${r.expr}, ${key}, n = ${r.n}`).toBeLessThan(1e-12);
    });
  });

  test('the third derivative of A^4 in unit directions is the sum over the orders of the directions', () => {
    // D³(A⁴)[E1, E2, E3] = Σ over the 6 orders σ and the 4 places of the one A left: written out.
    const n = 2;
    const A = randomTensor([n, n], 'any', rng(6200));
    const evaluate = loadJs(generateCode('A^4', 'A', { order: 3, lang: 'js' }));
    const d3 = Object.values(evaluate({ A }))[3]!;
    const unit = (r: number, c: number): Float64Array => Float64Array.from({ length: n * n }, (_, i) => (i === r * n + c ? 1 : 0));
    const mul = (a: Float64Array, b: Float64Array): Float64Array =>
      Float64Array.from({ length: n * n }, (_, i) => {
        let s = 0;
        for (let p = 0; p < n; p++) s += a[Math.floor(i / n) * n + p]! * b[p * n + (i % n)]!;
        return s;
      });
    const perms = [[0, 1, 2], [0, 2, 1], [1, 0, 2], [1, 2, 0], [2, 0, 1], [2, 1, 0]];
    let worst = 0;
    for (let e = 0; e < n ** 6; e++) {
      const dirs = [0, 1, 2].map((t) => {
        const flat = Math.floor(e / n ** (2 * (2 - t))) % (n * n);
        return unit(Math.floor(flat / n), flat % n);
      });
      const want = new Float64Array(n * n);
      for (const p of perms)
        for (let place = 0; place < 4; place++) {
          const chain: Float64Array[] = [];
          p.forEach((t, i) => {
            if (place === i) chain.push(A.data);
            chain.push(dirs[t]!);
          });
          if (place === 3) chain.push(A.data);
          const prod = chain.reduce(mul);
          prod.forEach((v, i) => (want[i] += v));
        }
      for (let i = 0; i < n * n; i++) worst = Math.max(worst, Math.abs(d3.data[i * n ** 6 + e]! - want[i]!));
    }
    expect(worst).toBeLessThan(1e-12);
  });
});
