/**
 * Constant tensors in products: matrix(c), vector(c), eye and scalar constants on every label
 * pattern — free (a broadcast), summed between 2 and 3 factors, traced (both axes of one factor on
 * one label) — at sizes 1, 2, 3, 7 and 50. The compiled evaluator never materialises ones, so a
 * summed label that only ones carry must still count its size (issue 8: tr(B + matrix(1)) was 16).
 *
 * Values (order 0) are checked against mathjs evaluating the expression text; derivatives of
 * order 1 and 2 against the reference evaluator.
 */
import { describe, expect, test } from 'vitest';
import { derive, type Result } from '../../src/derive.js';
import { compileNodes } from '../../src/compile/compile.js';
import { bindSizes, evaluateReference } from '../../src/compile/reference.js';
import type { Tensor } from '../../src/tensor.js';
import { mathjsFunction } from '../helpers/mathjs.js';
import { relErr } from '../helpers/numeric.js';
import { CASES, MATS, TEMPLATES, VECS, valuesAt } from '../helpers/constants.js';

function compiled(r: Result, values: Map<string, Tensor>): Tensor {
  const vars = [...r.analysis.lowered.vars.values()];
  return compileNodes({ roots: [r.node], vars })(values)[0]!;
}

function reference(r: Result, values: Map<string, Tensor>): Tensor {
  const vars = [...r.analysis.lowered.vars.values()];
  return evaluateReference(r.node, values, bindSizes([...vars, r.analysis.lowered.root, r.node], values));
}

describe('constant tensors in products: compiled evaluator', () => {
  test('the family covers every operand and template', () => {
    expect(CASES.length).toBeGreaterThan(120);
    for (const t of TEMPLATES) expect(CASES.filter((c) => c.template === t).length, t).toBeGreaterThanOrEqual(3);
    for (const o of [...MATS, ...VECS]) expect(CASES.some((c) => c.expr.includes(o)), o).toBe(true);
  });

  test.each([1, 2, 3, 7, 50])('values at size %i equal mathjs on the expression text', (n) => {
    for (const { expr } of CASES) {
      const values = valuesAt(n, n * 7919);
      const r = derive(expr, 'B', { order: 0 });
      const want = mathjsFunction(expr, {}, { B: [n, n], x: [n] })(values);
      const got = compiled(r, values);
      expect(got.shape, expr).toEqual(want.shape);
      expect(relErr(got, want, 1e-9), `${expr} at n = ${n}`).toBeLessThan(1e-12);
      expect(relErr(reference(r, values), want, 1e-9), `reference: ${expr} at n = ${n}`).toBeLessThan(1e-12);
    }
  });

  test.each([1, 2, 3, 7])('first and second derivatives at size %i equal the reference evaluator', (n) => {
    for (const { expr, wrt } of CASES) {
      const values = valuesAt(n, n * 104729);
      for (const order of [1, 2]) {
        const r = derive(expr, wrt, { order });
        // Order-2 results by a matrix are n⁶ for matrix expressions: keep those to small n.
        if (r.node.shape.length > 4 || (r.node.shape.length === 4 && n > 3)) continue;
        const got = compiled(r, values);
        const want = reference(r, values);
        expect(relErr(got, want, 1e-9), `${expr} by ${wrt}, order ${order}, n = ${n}`).toBeLessThan(1e-12);
      }
    }
  });

  test('gradients of the scalar members at size 50 equal the reference evaluator', () => {
    const values = valuesAt(50, 50);
    for (const { expr, wrt } of CASES) {
      const r = derive(expr, wrt, { order: 1 });
      if (r.node.shape.length > 2) continue;
      expect(relErr(compiled(r, values), reference(r, values), 1e-9), `${expr} by ${wrt}`).toBeLessThan(1e-12);
    }
  });
});

describe('the cases of issue 8, exact values', () => {
  const B = [
    [1, 2, 3],
    [4, 5, 6],
    [7, 8, 9],
  ];
  const x = [1, -2, 0.5];
  const values = new Map<string, Tensor>([
    ['B', { shape: [3, 3], data: Float64Array.from(B.flat()) }],
    ['x', { shape: [3], data: Float64Array.from(x) }],
  ]);
  const both = (expr: string, wrt: string, order: number): Tensor[] => {
    const r = derive(expr, wrt, { order });
    return [compiled(r, values), reference(r, values)];
  };
  /** Entry (i, j) of (B + c)·(B + c)ᵀ, written out. */
  const gram = (c: number): number[] =>
    [0, 1, 2].flatMap((i) => [0, 1, 2].map((j) => [0, 1, 2].reduce((s, k) => s + (B[i]![k]! + c) * (B[j]![k]! + c), 0)));

  test('tr(B + matrix(1)) = 18 and sum(diag(B + matrix(1))) = 18', () => {
    for (const e of ['tr(B + matrix(1))', 'sum(diag(B + matrix(1)))', 'tr(matrix(1) + B)'])
      for (const t of both(e, 'B', 0)) expect(Array.from(t.data), e).toEqual([18]);
    // and by B: the identity
    for (const t of both('tr(B + matrix(1))', 'B', 1)) expect(Array.from(t.data)).toEqual([1, 0, 0, 0, 1, 0, 0, 0, 1]);
  });

  test("(B + matrix(0.5))*(B + matrix(0.5))'*x by x is (B + 0.5)(B + 0.5)ᵀ", () => {
    for (const t of both("(B + matrix(0.5))*(B + matrix(0.5))'*x", 'x', 1)) expect(Array.from(t.data)).toEqual(gram(0.5));
  });

  test("(matrix(1) + B)'*(matrix(1) + B) is (B + 1)ᵀ(B + 1)", () => {
    const want = [0, 1, 2].flatMap((i) => [0, 1, 2].map((j) => [0, 1, 2].reduce((s, k) => s + (B[k]![i]! + 1) * (B[k]![j]! + 1), 0)));
    for (const t of both("(matrix(1) + B)'*(matrix(1) + B)", 'B', 0)) expect(Array.from(t.data)).toEqual(want);
  });

  test('terms of constants alone count every summed index', () => {
    // sum(1·1ᵀ) = n² = 9 besides sum(B) = 45
    for (const t of both('sum(matrix(1) + B)', 'B', 0)) expect(t.data[0]).toBe(54);
    // (1 + x)ᵀ(1 + x) = 1ᵀ1 + 2·1ᵀx + xᵀx = 3 - 1 + 5.25
    for (const t of both("(vector(1) + x)'*(vector(1) + x)", 'x', 0)) expect(t.data[0]).toBe(7.25);
    // tr((2 + B)(3 + B)) = Σ_ik (2 + B_ik)(3 + B_ki)
    let want = 0;
    for (let i = 0; i < 3; i++) for (let k = 0; k < 3; k++) want += (2 + B[i]![k]!) * (3 + B[k]![i]!);
    for (const t of both('tr((matrix(2) + B)*(matrix(3) + B))', 'B', 0)) expect(t.data[0]).toBe(want);
  });
});
