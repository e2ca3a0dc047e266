/**
 * Collecting like terms drops only what cancels (round-off of 0.1 + 0.2 - 0.3), never a small
 * coefficient that sits beside large ones of other terms.
 */
import { describe, expect, test } from 'vitest';
import { derive, resultSizes } from '../../src/derive.js';
import { evaluateReference } from '../../src/compile/reference.js';
import type { Tensor } from '../../src/tensor.js';

const scalar = (v: number): Tensor => ({ shape: [], data: Float64Array.of(v) });

function valueAt(expr: string, wrt: string, order: number, at: Record<string, number>): number {
  const r = derive(expr, wrt, { order });
  const values = new Map(Object.entries(at).map(([k, v]) => [k, scalar(v)]));
  return evaluateReference(r.node, values, resultSizes(r, values)).data[0]!;
}

describe('coefficients of very different magnitudes', () => {
  const magnitudes = [1e-20, 1e-8, 1, 1e8, 1e20];
  test.each(magnitudes.flatMap((p) => magnitudes.map((q) => [p, q] as const)))('%d*a + %d*b by b', (p, q) => {
    expect(valueAt(`${p}*a + ${q}*b`, 'b', 1, { a: 2, b: 3 })).toBe(q);
    expect(valueAt(`${p}*a*b + ${q}*b^2`, 'b', 1, { a: -2, b: 3 })).toBeCloseTo(p * -2 + 6 * q, -Math.log10(Math.abs(p * 2) + 6 * q) + 12);
    // Through the rational phase (common denominators): p/a + q*b/a by b is q/a.
    expect(valueAt(`${p}/a + ${q}*b/a`, 'b', 1, { a: 4, b: 3 }) / (q / 4)).toBeCloseTo(1, 12);
  });

  test('a tiny quadratic term survives beside a large one', () => {
    const h = derive("1e-20*x'*x + x'*A*x", 'x', { order: 2 });
    expect(h.matrix).toContain('2e-20*eye');
  });

  test('cancelling constants are zero', () => {
    expect(derive('(0.1 + 0.2 - 0.3)*b', 'b').matrix).toBe('0');
  });
});
