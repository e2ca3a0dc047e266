import { describe, expect, it } from 'vitest';
import { checkNumerically, describeCheck, rng } from '../../web/numeric.js';

const CASES: [expr: string, wrt: string, order: number, lets: Record<string, string>][] = [
  ["x'*A*x", 'x', 2, {}],
  ["x'*A*x", 'x', 2, { A: 'symmetric matrix' }],
  ['log(det(X))', 'X', 1, {}],
  ['log(det(X))', 'X', 2, { X: 'symmetric matrix' }],
  ['logdet(S) + tr(S*A)', 'S', 1, { S: 'symmetric matrix' }],
  ["(x'*x)^2", 'x', 3, {}],
  ['norm2(A*x - y)^2', 'x', 1, {}],
  ['sum(log(exp(-y.*(X*w)) + vector(1)))', 'w', 2, {}],
  ["norm2(X - U*V')^2", 'U', 1, {}],
  ['tanh(A*x)', 'x', 1, {}],
  ["sin(x'*x)", 'x', 4, {}],
  ["a^2*x'*x", 'a', 2, {}],
];

describe('check numerically (web)', () => {
  it.each(CASES)('%s by %s, order %i %j', (expr, wrt, order, lets) => {
    const c = checkNumerically(expr, wrt, order, lets, { seed: 7 });
    expect(c.notFinite).toBe(false);
    expect(c.relError).toBeLessThan(1e-8);
  });

  it('chooses distinct sizes and says so', () => {
    const c = checkNumerically("norm2(X - U*V')^2", 'U', 1, {}, { seed: 1 });
    expect(c.sizes).toEqual({ n: 3, m: 4, p: 2 });
    expect(c.directions).toBe(3 * 2);
    expect(describeCheck(c)).toMatch(/^relative error \d\.\de-\d+ at a random point \(n = 3, m = 4, p = 2\)$/);
  });

  it('compares a symmetric variable along symmetric directions', () => {
    expect(checkNumerically('log(det(X))', 'X', 1, { X: 'symmetric matrix' }, { seed: 3 }).directions).toBe(6);
  });

  it('notices a point outside the domain', () => {
    const c = checkNumerically('log(-x)', 'x', 1, {}, { seed: 2 });
    expect(c.notFinite).toBe(true);
    expect(describeCheck(c)).toMatch(/outside the domain/);
  });

  it('is repeatable with a seed', () => {
    const a = rng(42);
    const b = rng(42);
    expect([a(), a(), a()]).toEqual([b(), b(), b()]);
    expect(checkNumerically("x'*A*x", 'x', 1, {}, { seed: 5 })).toEqual(checkNumerically("x'*A*x", 'x', 1, {}, { seed: 5 }));
  });
});
