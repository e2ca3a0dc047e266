/**
 * A matrix form wherever one exists (issue 9, §2): every derivative of order ≤ 2 by a scalar or a
 * vector with at most two axes, and every first derivative by a matrix of a scalar expression, has
 * one — on the cases and on random expressions. The "no matrix form" note stays for tensors
 * of order ≥ 3 (and, in the vec layout, for the few patterns that test/print/vec-layout.test.ts
 * lists: a matrix power by its base).
 */
import { describe, expect, test } from 'vitest';
import fc from 'fast-check';
import { derive, noMatrixReason } from '../../src/derive.js';
import { matrixFormExpected } from '../../src/print/coverage.js';
import { exprArb } from '../helpers/gen.js';

describe('matrix form coverage', () => {
  test.each([
    ['sum((B*x).*(C*x).*(D*x))', 'x', 2],
    ["x'*diag(B*x)*x", 'x', 2],
    ['sum(tanh(A*tanh(A*tanh(A*x))))', 'x', 2],
    ["logdet((B*(A*A))*((B*(A*A)))' + eye)", 'A', 1],
    ["x'*inv(A + x*x')*x", 'x', 2],
    ['exp(A*x).*sin(B*x)', 'x', 1],
    // A second derivative through a 4th power with a direction: powers with three directions (24
    // chains) print as their sum (found by the property below in a .ci/run).
    ["det(dpow((x*(x)'), 4, A))", 'x', 2],
  ] as const)('%s by %s, order %i', (expr, wrt, order) => {
    const r = derive(expr, wrt, { order });
    expect(matrixFormExpected(r)).toBe(true);
    expect(r.matrix, r.index).not.toBeNull();
  });

  test('the note stays for order ≥ 3', () => {
    const r = derive("(x'*x)^2", 'x', { order: 3 });
    expect(matrixFormExpected(r)).toBe(false);
    expect(r.matrix).toBeNull();
    expect(noMatrixReason(r.shape)).toMatch(/order 3/);
  });

  const RUNS = Number(process.env.RICCI_PROPERTY_RUNS ?? 60);
  test('random scalar and vector expressions: every result in the classes has a matrix form', () => {
    fc.assert(
      fc.property(fc.oneof(exprArb('s'), exprArb('v')), fc.constantFrom('x', 'A', 'a'), fc.integer({ min: 1, max: 2 }), (expr, wrt, order) => {
        const r = derive(expr, wrt, { order });
        if (matrixFormExpected(r)) expect(r.matrix, `${expr} by ${wrt}, order ${order}: ${r.index}`).not.toBeNull();
      }),
      { numRuns: RUNS },
    );
  });
});
