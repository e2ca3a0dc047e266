/**
 * Derivatives of matrix powers in generated JS (dpow_: the power of the block matrix of the
 * directions, taken by squaring with the subset product). Checked against the compiled evaluator
 * for exponents 2 to 12, one to three directions (orders 1 to 3, and dpow written in the input),
 * at sizes 1 to 3 with negative entries, and against the block matrix's power written out.
 */
import { describe, expect, test } from 'vitest';
import { generateCode } from '../../src/index.js';
import type { Tensor } from '../../src/tensor.js';
import { randomTensor, relErr, rng } from '../helpers/numeric.js';
import { compiledOutputs, loadJs } from './harness.js';

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

describe('generated JS: derivatives of matrix powers', () => {
  test.each(CASES)('%s by %s, orders 0 to %i', (expr, wrt, order) => {
    const evaluate = loadJs(generateCode(expr, wrt, { order, lang: 'js' }));
    for (const n of [1, 2, 3]) {
      const rand = rng(6100 + 10 * n + order);
      const shapes: Record<string, number[]> = { A: [n, n], B: [n, n], x: [n], y: [n] };
      const values = Object.fromEntries(Object.entries(shapes).map(([k, s]) => [k, randomTensor(s, k === 'y' ? 'positive' : 'any', rand)])) as Record<string, Tensor>;
      const got = evaluate(values);
      const { keys, expected } = compiledOutputs(expr, wrt, order, values);
      keys.forEach((key, k) => {
        const have = got[key]!;
        expect([...have.shape], `${expr}, ${key}, n = ${n}`).toEqual([...expected[k]!.shape]);
        expect(relErr(have, expected[k]!, 1e-6), `${expr}, ${key}, n = ${n}`).toBeLessThan(1e-10);
      });
    }
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
