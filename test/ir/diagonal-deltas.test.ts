/**
 * A δ between two free axes of a product: the product is 0 off the diagonal, so its other factors
 * read the smaller label, and δ_01·f(1, 1) and δ_01·f(0, 0) are one node. Where they were two, a
 * derivative that is 0 kept their difference: tr(arccos((A' - A).*A)) is the constant n·π/2, and
 * its second derivative printed as t2^p δ^i_j^k_{lp} - t2^p δ_j^{ik}_{lp}, whose vec layout form
 * crashed the printer (fuzz seed 30: the two terms cancelled to an empty sum).
 */
import { describe, expect, test } from 'vitest';
import { type Node, delta, makeMul, makeVar } from '../../src/ir/node.js';
import { derive } from '../../src/derive.js';
import { derivative } from '../../src/index.js';
import { drawCase } from '../../fuzz/draw.js';
import { runCase } from '../../fuzz/check.js';

describe('a δ between free axes', () => {
  test('the other factors read the smaller label: one node either way', () => {
    const A = makeVar('A', [3, 3]);
    const d = delta(3);
    const at = (l: number): Node => makeMul([{ node: d, labels: [0, 1] }, { node: A, labels: [l, l] }], 2);
    expect(at(1)).toBe(at(0));
    // Three free axes tied by two δs: every factor reads the smallest.
    const x = makeVar('x', [3]);
    const three = (l: number): Node => makeMul([{ node: d, labels: [0, 1] }, { node: d, labels: [1, 2] }, { node: x, labels: [l] }], 3);
    expect(three(2)).toBe(three(0));
    expect(three(1)).toBe(three(0));
  });

  test.each([
    ["tr(arccos((A' - A).*A))", 'A'],
    ["sum(diag(A - A').*exp(A*x))", 'A'],
  ])('%s: derivatives that are 0 print as 0, in both layouts, at orders 1 to 3', (expr, wrt) => {
    for (const order of [1, 2, 3]) {
      expect(derive(expr, wrt, { order }).matrix ?? derive(expr, wrt, { order }).index).toMatch(/^(matrix\()?0\)?$/);
      // The vec layout has a matrix or a vector up to order 2 (a scalar by a matrix).
      if (order <= 2) expect(derivative(expr, wrt, { order, layout: 'vec' }).matrix).toMatch(/^(vector|matrix)\(0\)$/);
    }
    const drawn = drawCase(30, 5302);
    if (!('spec' in drawn)) throw new Error('case 5302 of seed 30 is a case');
    expect(runCase(drawn.spec).failures).toEqual([]);
  });
});
