/**
 * A transpose, diagonal, trace or entry sum of a sum is expanded where its terms then cancel or
 * merge (in the node constructors, so every intermediate is canonical): the antisymmetric part
 * M - M' of any matrix has a zero diagonal, trace and entry sum, and x'*(M - M')*x is 0. Where
 * nothing cancels the view stays whole. Values are checked against the unsimplified derivative.
 */
import { describe, expect, test } from 'vitest';
import { derive, resultSizes } from '../../src/derive.js';
import { evaluateReference } from '../../src/compile/reference.js';
import type { Tensor } from '../../src/tensor.js';
import { randomTensor, relErr, rng } from '../helpers/numeric.js';

/** Compound matrices, with ones and identity factors; n = 1 and n = 5 below. */
const MATRICES = ['A', 'A*B', '2*A - B', 'A*B - B*A', 'exp(A)', 'A.*B + eye', 'matrix(1)*A', "A*A'", 'A^3', 'x*y\''];

/** Forms that are 0 for every M, each with its derivative by x (order 1). */
const ZERO_FORMS = [
  (m: string) => `diag(${m} - (${m})')'*x`,
  (m: string) => `tr(${m} - (${m})')*x'*x`,
  (m: string) => `sum((${m})' - (${m}))*sum(x)`,
  (m: string) => `x'*(${m} - (${m})')*x`,
  (m: string) => `x'*((${m} - (${m})') + (${m} - (${m})')')*y`,
  (m: string) => `x'*((-(${m}))' + (${m})')*y`,
];

function point(seed: number, n: number): Map<string, Tensor> {
  const r = rng(seed);
  return new Map<string, Tensor>([
    ['A', randomTensor([n, n], 'any', r)],
    ['B', randomTensor([n, n], 'any', r)],
    ['x', randomTensor([n], 'any', r)],
    ['y', randomTensor([n], 'any', r)],
  ]);
}

function value(expr: string, order: number, simplify: boolean, values: Map<string, Tensor>): Tensor {
  const r = derive(expr, 'x', { order, simplify });
  return evaluateReference(r.node, values, resultSizes(r, values));
}

describe('views of sums whose terms cancel', () => {
  test.each(ZERO_FORMS.flatMap((form) => MATRICES.map((m) => form(m))))('%s by x is 0', (expr) => {
    for (const order of [1, 2]) {
      const r = derive(expr, 'x', { order });
      expect(r.matrix, `order ${order}`).toBe(order === 1 ? 'vector(0)' : 'matrix(0)');
      for (const n of [1, 5]) {
        const values = point(7 * n + order, n);
        // The unsimplified derivative is 0 up to round-off.
        const raw = value(expr, order, false, values);
        expect(Math.max(...Array.from(raw.data, Math.abs)), `n = ${n}`).toBeLessThan(1e-9);
      }
    }
  });

  test('diagonal and trace of a transposed product against the product itself', () => {
    expect(derive("diag(A'*B - B'*A)'*x", 'x').matrix).toBe('vector(0)');
    expect(derive("tr(A*B - (B'*A')')*sum(x)", 'x').matrix).toBe('vector(0)');
  });
});

describe('views of sums that do not cancel stay as they are, with their values', () => {
  const cases = [
    "x'*(A + A')*x",
    "x'*(A' + (A + B)')*y",
    "diag(A - B')'*x",
    "tr(A*B - B)*x'*x",
    "sum((A - 2*A')')*sum(x)",
    "x'*(A*B - (A*B)' + eye)*x",
  ];
  test.each(cases)('%s', (expr) => {
    for (const n of [1, 4]) {
      const values = point(31 + n, n);
      for (const order of [1, 2]) {
        const got = value(expr, order, true, values);
        const want = value(expr, order, false, values);
        expect(relErr(got, want, 1e-9), `order ${order}, n = ${n}`).toBeLessThan(1e-10);
      }
    }
    expect(derive(expr, 'x').matrix).not.toMatch(/^(vector|matrix)\(0\)$/);
  });

  test("a transposed sum merges with a term it shares: A' + (A + B)' is 2*A' + B'", () => {
    expect(derive("x'*(A' + (A + B)')*y", 'x').matrix).toBe("(2*A' + B')*y");
  });
});
