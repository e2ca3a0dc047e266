/**
 * The rational phase (src/simplify/rules/rational.ts) brings a sum over a common denominator. A
 * term's factors are atoms where they are scalars or lie on the sum's own axes; a contraction among
 * the other factors that leaves no free axis (x'*x, x'*A*x, sum(x)) is one scalar atom, so that the
 * powers beside it are seen: x'*x/(1 + x'*x)^2 - 1/(1 + x'*x) is -1/(1 + x'*x)^2. Each form is
 * checked by value against the expression as typed, at sizes 1 and 5, entries of both signs.
 */
import { describe, expect, test } from 'vitest';
import { derivative } from '../../src/index.js';
import { derive } from '../../src/derive.js';
import { bindSizes, evaluateReference } from '../../src/compile/reference.js';
import type { Tensor } from '../../src/tensor.js';
import { randomTensor, relErr, rng } from '../helpers/numeric.js';

const cases: [string, string][] = [
  ["x'*x/(1 + x'*x)^2 - 1/(1 + x'*x)", "-(1 + x'*x)^-2"],
  ["(x'*A*x)/(1 + x'*A*x) - 1", "-(1 + x'*A*x)^-1"],
  ["(y'*x/(b + y'*x)^2 - 1/(b + y'*x))*y", "-b*y/(b + x'*y)^2"],
  ['sum(x)^2/(sum(x) + 1)^3 - sum(x)/(sum(x) + 1)^2', '-sum(x)/(1 + sum(x))^3'],
  // Entry-wise factors stay atoms of their own beside the contraction.
  ["x.*(A*x)/(1 + x'*x)^2 - x.*(A*x)/(1 + x'*x)", "-x'*x*x.*(A*x)/(1 + x'*x)^2"],
];

describe('common denominators see the powers beside a contraction', () => {
  test.each(cases)('%s is %s, with its value', (expr, want) => {
    const d = derivative(expr, 'x', { order: 0 });
    expect(d.matrix).toBe(want);
    // The expression as typed: lowered, not simplified.
    const typed = derive(expr, 'x', { order: 0, simplify: false });
    const asTyped = (values: Record<string, Tensor>): Tensor => {
      const map = new Map(Object.entries(values));
      return evaluateReference(typed.evalNode, map, bindSizes([...typed.analysis.lowered.vars.values()], map));
    };
    for (const n of [1, 5]) {
      const rand = rng(6200 + n);
      const values: Record<string, Tensor> = {
        x: randomTensor([n], 'any', rand),
        y: randomTensor([n], 'any', rand),
        b: randomTensor([], 'any', rand),
        A: randomTensor([n, n], 'any', rand),
      };
      expect(relErr(d.evaluate(values), asTyped(values))).toBeLessThan(1e-12);
      const printed = derivative(want, 'x', { order: 0 }).evaluate(values);
      expect(relErr(printed, asTyped(values))).toBeLessThan(1e-12);
    }
  });

  test("derivatives of x'*inv(eye + x*x')*x come out over one denominator", () => {
    expect(derivative("x'*inv(eye + x*x')*x", 'x').matrix).toBe("2*x/(1 + x'*x)^2");
  });
});
