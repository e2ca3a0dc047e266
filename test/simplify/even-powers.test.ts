/**
 * An even symbolic power under a root: (u^(2n))^p = |u|^(2n·p) for an integer-valued n (a size),
 * since u^(2n) ≥ 0 for a negative u too. A determinant scaled by a negative constant takes the
 * power (-3)^rows(X) out, and its norm, sqrt((-3)^(2·rows(X))·det(X)^2), is then
 * 3^rows(X)*abs(det(X)), whose derivative is 0, not 0/0, where det(X) is 0 identically
 * (norm2(det(matrix(-3)*X')), fuzz seed 23).
 */
import { describe, expect, test } from 'vitest';
import { derivative } from '../../src/index.js';
import { drawCase } from '../../fuzz/draw.js';
import { runCase } from '../../fuzz/check.js';
import { rng } from '../helpers/numeric.js';

describe('even symbolic powers under a root', () => {
  test.each([
    ['norm2(det(-3*X))', "3^rows(X)*sign(det(X))*adj(X)'"],
    ['sqrt(det(-2*X)^2)', "2^rows(X)*sign(det(X))*adj(X)'"],
    ['sqrt(det(-X)^2)', "sign(det(X))*adj(X)'"],
  ])('%s by X is %s, equal to finite differences at sizes 1 to 4', (expr, form) => {
    const d = derivative(expr, 'X', { order: 1 });
    expect(d.matrix).toBe(form);
    const f = derivative(expr, 'X', { order: 0 });
    const rand = rng(7);
    for (const n of [1, 2, 3, 4]) {
      const X = Float64Array.from({ length: n * n }, () => 2 * rand() - 1);
      const at = (data: Float64Array): number => f.evaluate({ X: { shape: [n, n], data } }).data[0]!;
      const D = d.evaluate({ X: { shape: [n, n], data: X } }).data;
      for (let e = 0; e < n * n; e++) {
        const h = 1e-6;
        const plus = Float64Array.from(X);
        const minus = Float64Array.from(X);
        plus[e] += h;
        minus[e] -= h;
        const fd = (at(plus) - at(minus)) / (2 * h);
        expect(Math.abs(D[e]! - fd)).toBeLessThan(1e-6 * Math.max(1, Math.abs(fd)));
      }
    }
  });

  test('where the determinant is 0 identically, the derivative is 0 (it was 0/0)', () => {
    const d = derivative("norm2(det(matrix(-3)*X'))", 'X', { order: 1 });
    const X = { shape: [3, 2], data: Float64Array.of(-1.05, 1.46, -0.6, -1.54, 0.3, 0.8) };
    expect(Array.from(d.evaluate({ X }).data)).toEqual([0, 0, 0, 0, 0, 0]);
    const drawn = drawCase(23, 2852);
    if (!('spec' in drawn)) throw new Error('case 2852 of seed 23 is a case');
    expect(runCase(drawn.spec).failures).toEqual([]);
  });
});
