/**
 * A function of its own inverse is its argument where the inner function is defined:
 * log(exp(u)) and tan(arctan(u)) everywhere, exp(log(u)) for u > 0, sin(arcsin(u)) and
 * cos(arccos(u)) for |u| ≤ 1. Compound arguments, vectors, and the derivatives (which then need
 * no 1/(1 - u^2)^0.5 that cancels), checked by value inside the domain.
 */
import { describe, expect, test } from 'vitest';
import { derive, resultSizes } from '../../src/derive.js';
import { evaluateReference } from '../../src/compile/reference.js';
import type { Tensor } from '../../src/tensor.js';

const PAIRS = [
  ['log', 'exp'],
  ['exp', 'log'],
  ['tan', 'arctan'],
  ['sin', 'arcsin'],
  ['cos', 'arccos'],
] as const;
const ARGS = ['a', '0.5*a', 'a*b', '-a', 'b - a'];

const MATH: Record<string, (v: number) => number> = { exp: Math.exp, log: Math.log, tan: Math.tan, arctan: Math.atan, sin: Math.sin, arcsin: Math.asin, cos: Math.cos, arccos: Math.acos };

const scalar = (v: number): Tensor => ({ shape: [], data: Float64Array.of(v) });

describe('f(f⁻¹(u)) = u', () => {
  test.each(PAIRS.flatMap(([f, g]) => ARGS.map((u) => [f, g, u] as const)))('%s(%s(%s))', (f, g, u) => {
    const expr = `${f}(${g}(${u}))`;
    expect(derive(expr, 'a', { order: 0 }).matrix).toBe(derive(u, 'a', { order: 0 }).matrix);
    expect(derive(expr, 'a', { order: 1 }).matrix).toBe(derive(u, 'a', { order: 1 }).matrix);
    // The value equals f(g(u)) computed in floating point wherever g(u) is defined.
    const values = new Map([['a', scalar(0.3)], ['b', scalar(0.6)]]);
    const at = (text: string): number => {
      const r = derive(text, 'a', { order: 0 });
      return evaluateReference(r.node, values, resultSizes(r, values)).data[0]!;
    };
    const inner = MATH[g](at(u));
    if (Number.isFinite(inner)) expect(at(expr)).toBeCloseTo(MATH[f](inner), 14);
  });

  // log(det(X)) is logdet(X), so exp(log(det(X))) is exp(logdet(X)): det(X), as exp(log(u)) is u.
  // Where X'*X is singular (a wide X) it is 0 and its gradient adj-based, not an error.
  test.each(["exp(log(det(X'*X)))", "exp(logdet(X'*X))"])('%s is det(X\'*X), also where X\'*X is singular', (expr) => {
    expect(derive(expr, 'X', { order: 0 }).matrix).toBe("det(X'*X)");
    const g = derive(expr, 'X', { order: 1 });
    expect(g.matrix).toBe(derive("det(X'*X)", 'X', { order: 1 }).matrix);
    const X: Tensor = { shape: [2, 3], data: Float64Array.of(1, -2, 0.5, 0.3, 1, -1) };
    const values = new Map([['X', X]]);
    for (const v of evaluateReference(g.evalNode, values, resultSizes(g, values)).data) expect(Math.abs(v)).toBeLessThan(1e-12);
  });

  test('entry-wise and inside other expressions', () => {
    expect(derive('sum(tan(arctan(A*x)))', 'x', { order: 1 }).matrix).toBe("A'*vector(1)");
    expect(derive('sin(arccos(a))', 'a', { order: 1 }).matrix).toBe('-a/(1 - a^2)^0.5');
    expect(derive('cos(arcsin(a))', 'a', { order: 1 }).matrix).toBe('-a/(1 - a^2)^0.5');
  });
});
