/**
 * An element-wise function with f(0) = 0 (sin, tan, arcsin, arctan, tanh, relu, and powers u.^p
 * with p > 0) of a matrix that is 0 off its diagonal (diag(v), x*y'.*eye, diag(v)*diag(w)) is f of
 * the diagonal, on the diagonal: sin(diag(x)) = diag(sin(x)). Before, the function was kept over
 * the whole matrix, so inv, det and tr of it did not see a diagonal matrix (tr(inv(tanh(diag(x))))
 * by x, order 2, printed inverses of tanh(diag(x)) in a where list). Checked by value against the
 * matrix computed entry by entry, and by finite differences, for compound diagonals, negative
 * entries and sizes 1 to 4.
 */
import { describe, expect, test } from 'vitest';
import { derive, resultSizes } from '../../src/derive.js';
import { evaluateReference } from '../../src/compile/reference.js';
import type { Tensor } from '../../src/tensor.js';
import { fdJacobian, randomTensor, relErr, rng } from '../helpers/numeric.js';
import { specFromText } from '../../fuzz/case.js';
import { runCase } from '../../fuzz/check.js';

const MAPS: [string, (u: string) => string, (v: number) => number][] = [
  ['sin', (u) => `sin(${u})`, Math.sin],
  ['tan', (u) => `tan(${u})`, Math.tan],
  ['arcsin', (u) => `arcsin(${u})`, Math.asin],
  ['arctan', (u) => `arctan(${u})`, Math.atan],
  ['tanh', (u) => `tanh(${u})`, Math.tanh],
  ['relu', (u) => `relu(${u})`, (v) => Math.max(v, 0)],
  ['.^3', (u) => `(${u}).^3`, (v) => v ** 3],
  ['.^0.5', (u) => `(${u}).^0.5`, Math.sqrt],
  ['sqrt', (u) => `sqrt(${u})`, Math.sqrt],
  // Matrix powers: diag(v)^k = diag(v.^k) (a power of diag(x) kept as a matrix power had no
  // matrix form in a Hessian: sin(logdet(diag(x)^3*(diag(x)^3)' + eye)), fuzz seed 44).
  ['^2', (u) => `(${u})^2`, (v) => v ** 2],
  ['^3', (u) => `(${u})^3`, (v) => v ** 3],
];

// Diagonal matrices, with what is on the diagonal at a point.
const DIAGONALS: [string, (x: Float64Array, y: Float64Array, a: number) => number[]][] = [
  ['diag(x)', (x) => [...x]],
  ['diag(a*x - y)', (x, y, a) => [...x].map((v, i) => a * v - y[i]!)],
  ["x*y'.*eye", (x, y) => [...x].map((v, i) => v * y[i]!)],
  ['diag(x)*diag(y)', (x, y) => [...x].map((v, i) => v * y[i]!)],
  // Sums of diagonal matrices: their diagonal was a view of the sum, which makePow took the power
  // of again without end ((diag(x) - diag(y)).^3: "too deeply nested").
  ['diag(x) - a*diag(y)', (x, y, a) => [...x].map((v, i) => v - a * y[i]!)],
  ["x*y'.*eye + diag(y)", (x, y) => [...x].map((v, i) => v * y[i]! + y[i]!)],
];

/** x, y and a where every diagonal above is in (−1, 1) (either sign), or positive. */
function point(n: number, seed: number, positive: boolean): Map<string, Tensor> {
  const rand = rng(seed);
  const scaled = (t: Tensor, k: number): Tensor => ({ shape: t.shape, data: t.data.map((v) => k * v) });
  if (positive)
    return new Map([
      ['x', randomTensor([n], 'positive', rand)],
      ['y', scaled(randomTensor([n], 'positive', rand), 0.1)],
      ['a', { shape: [], data: Float64Array.of(1.5) }],
    ]);
  return new Map([
    ['x', scaled(randomTensor([n], 'any', rand), 0.6)],
    ['y', scaled(randomTensor([n], 'any', rand), 0.6)],
    ['a', { shape: [], data: Float64Array.of(-0.5) }],
  ]);
}

describe('f(0) = 0 maps of diagonal matrices act on the diagonal', () => {
  test.each(MAPS.flatMap(([name, f, value]) => DIAGONALS.map(([d, diagonal]) => [`${name} of ${d}`, f(d), value, diagonal, name] as const)))(
    '%s',
    (_label, expr, value, diagonal, name) => {
      // Printed as a diagonal: the map is inside diag(…) or on a vector, never on the matrix.
      const r0 = derive(expr, 'x', { order: 0 });
      expect(r0.matrix, expr).toMatch(/^diag\(/);
      expect(r0.matrix, expr).not.toMatch(/\)\^/);
      const positive = name.includes('0.5') || name === 'sqrt';
      for (const n of [1, 2, 4]) {
        const values = point(n, 7 * n + expr.length, positive);
        const x = values.get('x')!.data;
        const y = values.get('y')!.data;
        const a = values.get('a')!.data[0]!;
        const want = new Float64Array(n * n);
        diagonal(x, y, a).forEach((v, i) => (want[i * n + i] = value(v)));
        const got = evaluateReference(r0.node, values, resultSizes(r0, values));
        expect(relErr(got, want, 1)).toBeLessThan(1e-14);
        // First derivative by x against finite differences of the value.
        const r1 = derive(expr, 'x', { order: 1 });
        const jac = evaluateReference(r1.node, values, resultSizes(r1, values));
        const fd = fdJacobian((v) => evaluateReference(r0.node, v, resultSizes(r0, v)), values, 'x', 0.1);
        expect(relErr(jac, fd, 1), `${expr} at n = ${n}`).toBeLessThan(1e-6);
      }
    },
  );

  test('inverses, traces and determinants of them see the diagonal', () => {
    expect(derive('tr(inv(tanh(diag(x))))', 'x', { order: 0 }).matrix).toBe('sum(tanh(x).^-1)');
    expect(derive('tr(inv(tanh(diag(x))))', 'x', { order: 2 }).matrix).toBe('2*diag((vector(1) - tanh(x).^2)./tanh(x).^3)');
    expect(derive('det(sin(diag(x))^4)', 'x', { order: 0 }).matrix).toBe('det(diag(sin(x)))^4');
  });

  // det(diag(v.^k)) = det(diag(v))^k for an integer k, so that det(inv(D))·det(D) is 1 (inv(diag(v))
  // is diag(v.^-1)); by value at sizes 1 to 4 with negative entries.
  test('a determinant of an integer power of a diagonal is a power of its determinant', () => {
    expect(derive('det(inv(diag(y)))*det(diag(y))', 'y', { order: 0 }).matrix).toBe('1');
    expect(derive('det(inv(diag(a*x - y)))*det(diag(a*x - y))', 'x', { order: 1 }).matrix).toBe('vector(0)');
    for (const k of [-2, -1, 2, 3]) {
      const r = derive(`det(diag((a*x - y).^${k < 0 ? `(${k})` : k}))`, 'x', { order: 0 });
      // The power is outside: det(diag(a*x - y))^k, up to the sign of the diagonal ((-1)^len(x)).
      expect(r.matrix).not.toMatch(/\.\^/);
      for (const n of [1, 2, 4]) {
        const values = point(n, 11 * n - k, false);
        const [x, y, a] = ['x', 'y', 'a'].map((v) => values.get(v)!.data);
        const want = [...x!].reduce((p, xi, i) => p * (a![0]! * xi - y![i]!) ** k, 1);
        const got = evaluateReference(r.node, values, resultSizes(r, values)).data[0]!;
        expect(Math.abs(got - want) / Math.abs(want)).toBeLessThan(1e-12);
      }
    }
  });

  // Matrix powers of diagonals, and of sums of diagonals, in derivatives: a matrix form where the
  // Hessian's class must have one, and every value right (the fuzzer's checks: finite differences
  // of mathjs's value, compiled and exported evaluators, the printed form's round trip), at sizes
  // (3, 2, 4, 5) and all ones, negative entries included.
  test.each([
    ["sin(logdet(diag(x)^3*(diag(x)^3)' + eye))", 2],
    ['sum((diag(x) - diag(y))^3*z)', 2],
    ["y'*(2*diag(x) + eye)^-2*z", 2],
    ['tr((diag(x) + a*x*y\'.*eye)^4*A)', 2],
    ['sum(tanh(diag(x) - eye)*y)', 2],
    ["x'*(diag(x) - diag(y)).^3*x", 3],
    // A chain M*M' of a diagonal M folded into M^2, which is now diag(u.^2), not a matrix power
    // ("internal: a folded chain is not a matrix power").
    ["logdet((a*eye - diag(x))*(a*eye - diag(x))' + eye)", 2],
    ['norm2(a*eye - diag(x))', 2],
    ["z'*inv((diag(x) + eye)*(diag(x) + eye)' + eye)*z", 2],
  ] as const)('%s, order %d: a matrix form and the right values', (expr, order) => {
    if (order <= 2) expect(derive(expr, 'x', { order }).matrix, expr).toBeTypeOf('string');
    for (const dims of [
      [3, 2, 4, 5],
      [1, 1, 1, 1],
    ]) {
      const outcome = runCase(specFromText(expr, 'x', order, {}, 9, dims));
      expect(outcome.failures, JSON.stringify(outcome.failures).slice(0, 400)).toEqual([]);
    }
  });

  test('functions with f(0) ≠ 0 stay on the whole matrix', () => {
    for (const f of ['cos', 'exp', 'sigmoid', 'softplus', 'arccos'])
      expect(derive(`${f}(diag(x))`, 'x', { order: 0 }).matrix).toBe(`${f}(diag(x))`);
    // A negative power has a pole off the diagonal: 1/0 there, not 0.
    const inv = derive('diag(x).^-1', 'x', { order: 0 });
    const values = point(2, 3, true);
    expect(Array.from(evaluateReference(inv.node, values, resultSizes(inv, values)).data).filter((v) => v === Infinity)).toHaveLength(2);
  });
});

// A matrix read on its diagonal (diag(diag(B)), eye.*exp(B)) is diagonal too: its inverse is the
// reciprocal on the diagonal, so (eye.*B)*inv(eye.*B) is eye. Before, only diagonals of vectors
// were, and inv(eye./softplus(B)) stayed an inverse (so did its product with its argument).
describe('the inverse of a matrix read on its diagonal', () => {
  test.each([
    ['inv(diag(diag(B)))', 'diag(diag(B.^-1))'],
    ['inv(eye./softplus(B))', 'diag(diag(softplus(B)))'],
    ['(eye.*B)*inv(eye.*B)', 'eye'],
    ['inv(eye.*exp(B))*(eye.*exp(B))', 'eye'],
  ])('%s is %s', (expr, want) => {
    expect(derive(expr, 'B', { order: 0 }).matrix).toBe(want);
  });

  test('by value and by finite differences, sizes 1 to 4, entries of either sign', () => {
    for (const expr of ["x'*inv(eye.*B)*y", 'tr(inv(diag(diag(B)))*A)']) {
      const r = derive(expr, 'B');
      for (const n of [1, 2, 4]) {
        const rand = rng(500 + n + expr.length);
        const values = new Map<string, Tensor>([
          ['x', randomTensor([n], 'any', rand)],
          ['y', randomTensor([n], 'any', rand)],
          ['A', randomTensor([n, n], 'any', rand)],
          ['B', randomTensor([n, n], 'away', rand)],
        ]);
        // The value entry by entry: the inverse of the diagonal part of B.
        const inverse = (t: Tensor): Tensor => {
          const M = Float64Array.from({ length: n * n }, (_, k) => (k % (n + 1) === 0 ? 1 / t.data[k]! : 0));
          return { shape: [n, n], data: M };
        };
        const f = (v: ReadonlyMap<string, Tensor>): Tensor => {
          const Mi = inverse(v.get('B')!);
          const [x, y, A] = ['x', 'y', 'A'].map((k) => v.get(k)!.data);
          let s = 0;
          for (let i = 0; i < n; i++) s += expr.startsWith('x') ? x![i]! * Mi.data[i * n + i]! * y![i]! : Mi.data[i * n + i]! * A![i * n + i]!;
          return { shape: [], data: Float64Array.of(s) };
        };
        const got = evaluateReference(r.node, values, resultSizes(r, values));
        expect(relErr(got, fdJacobian(f, values, 'B', 1e-6), 1e-6), `${expr} at n = ${n}: ${r.matrix}`).toBeLessThan(1e-6);
      }
    }
  });
});
