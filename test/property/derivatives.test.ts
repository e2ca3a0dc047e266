/**
 * Property tests over random well-typed expressions:
 *  - gradients, Hessians and Jacobians agree with finite differences (mathjs evaluates the
 *    expression text);
 *  - the printed matrix form parses back and has the same value;
 *  - simplifying never changes the value.
 */
import { describe, expect, test } from 'vitest';
import fc from 'fast-check';
import { derive, resultSizes, type Result } from '../../src/derive.js';
import { evaluateReference, SingularMatrixError } from '../../src/compile/reference.js';
import type { Tensor } from '../../src/tensor.js';
import { mathjsFunction } from '../helpers/mathjs.js';
import { fdHessian, fdJacobian, randomTensor, relErr, rng, trustedFd } from '../helpers/numeric.js';
import { exprArb, SHAPES } from '../helpers/gen.js';

function point(seed: number): Map<string, Tensor> {
  const rand = rng(seed);
  const m = new Map<string, Tensor>();
  for (const [k, s] of Object.entries(SHAPES)) m.set(k, randomTensor(s, 'any', rand));
  return m;
}

/**
 * The value of a result; a point where it needs the inverse of a singular matrix (det of x*x'*A
 * differentiates to det·inv') is skipped: the engine reports it as an error there, by design.
 */
function value(r: Result, values: Map<string, Tensor>): Tensor {
  try {
    return evaluateReference(r.node, values, resultSizes(r, values));
  } catch (e) {
    if (e instanceof SingularMatrixError) fc.pre(false);
    throw e;
  }
}

/** Finite-difference noise grows with |f|: errors are relative to max(‖fd‖, 1e-3·max(1, |f|)). */
function floorFor(f: Tensor): number {
  let m = 1;
  for (const v of f.data) m = Math.max(m, Math.abs(v));
  return 1e-3 * m;
}

const RUNS = Number(process.env.RICCI_PROPERTY_RUNS ?? 40);

describe('random expressions', () => {
  test('gradient and Hessian of scalar expressions agree with finite differences', () => {
    fc.assert(
      fc.property(exprArb('s'), fc.constantFrom('x', 'A', 'a'), fc.integer({ min: 1, max: 1e6 }), (expr, wrt, seed) => {
        const values = point(seed);
        const f = mathjsFunction(expr, {}, SHAPES);
        const fx = f(values);
        const floor = floorFor(fx);
        const g = derive(expr, wrt, { order: 1 });
        const fdg = trustedFd((s) => fdJacobian(f, values, wrt, s), 1e-7, floor);
        fc.pre(fdg !== undefined);
        expect(relErr(value(g, values), fdg!, floor), `gradient of ${expr} by ${wrt}: ${g.matrix ?? g.index}`).toBeLessThan(1e-6);
        if (wrt !== 'A') {
          const h = derive(expr, wrt, { order: 2 });
          const fdh = trustedFd((s) => fdHessian((v) => f(v).data[0]!, values, wrt, s), 1e-6, floor);
          fc.pre(fdh !== undefined);
          expect(relErr(value(h, values), fdh!, floor), `Hessian of ${expr} by ${wrt}: ${h.matrix ?? h.index}`).toBeLessThan(1e-5);
        }
      }),
      { numRuns: RUNS },
    );
  });

  test('Jacobians of vector expressions agree with finite differences', () => {
    fc.assert(
      fc.property(exprArb('v'), fc.constantFrom('x', 'A'), fc.integer({ min: 1, max: 1e6 }), (expr, wrt, seed) => {
        const values = point(seed);
        const f = mathjsFunction(expr, {}, SHAPES);
        const j = derive(expr, wrt, { order: 1 });
        const floor = floorFor(f(values));
        const fd = trustedFd((s) => fdJacobian(f, values, wrt, s), 1e-7, floor);
        fc.pre(fd !== undefined);
        expect(relErr(value(j, values), fd!, floor), `Jacobian of ${expr}: ${j.matrix ?? j.index}`).toBeLessThan(1e-6);
      }),
      { numRuns: RUNS },
    );
  });

  test('the printed matrix form parses back to the same value', () => {
    fc.assert(
      fc.property(exprArb('s'), fc.constantFrom('x', 'A', 'a'), fc.integer({ min: 1, max: 2 }), fc.integer({ min: 1, max: 1e6 }), (expr, wrt, order, seed) => {
        const r = derive(expr, wrt, { order });
        fc.pre(r.matrix !== null);
        const values = point(seed);
        const ours = value(r, values);
        const printed = mathjsFunction(r.matrix!, {}, SHAPES, ours.shape)(values);
        expect(relErr(printed, ours, 1e-6), `${expr} → ${r.matrix}`).toBeLessThan(1e-9);
      }),
      { numRuns: RUNS },
    );
  });

  test('simplifying never changes the value', () => {
    fc.assert(
      fc.property(exprArb('s'), fc.constantFrom('x', 'A', 'a'), fc.integer({ min: 0, max: 2 }), fc.integer({ min: 1, max: 1e6 }), (expr, wrt, order, seed) => {
        const values = point(seed);
        const raw = value(derive(expr, wrt, { order, simplify: false }), values);
        const simple = value(derive(expr, wrt, { order }), values);
        expect(relErr(simple, raw, 1e-6), expr).toBeLessThan(1e-9);
      }),
      { numRuns: RUNS },
    );
  });
});
