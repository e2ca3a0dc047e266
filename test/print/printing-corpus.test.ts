/**
 * Acceptance of the printing corpus (test/corpus/printing.json): each case has a matrix form (or,
 * where `expect` is null, none), at most 1.5× the operations of the hand-written `expect`, with
 * at least the named temporaries the case asks for; and at 3 random points the printed text (read
 * by mathjs), the hand-written form (read by mathjs) and the derivative (reference evaluator) agree
 * — and agree with finite differences of the expression (orders 1–2 in the default layout; the
 * next-lower derivative for order 3; the default-layout derivative, vectorized here, for vec).
 */
import { describe, expect, test } from 'vitest';
import katex from 'katex';
import { PRINTING, declarations, randomPoint, type CorpusCase } from '../helpers/corpus.js';
import { mathjsFunction } from '../helpers/mathjs.js';
import { fdHessian, fdJacobian, relErr, rng, vectorize } from '../helpers/numeric.js';
import { derive, resultSizes, type Result } from '../../src/derive.js';
import { parse } from '../../src/syntax/parse.js';
import { countOps } from '../../src/print/text.js';
import { evaluateReference } from '../../src/compile/reference.js';
import type { Tensor } from '../../src/tensor.js';

const FLOOR = 1e-8;

function value(r: Result, values: Map<string, Tensor>): Tensor {
  return evaluateReference(r.node, values, resultSizes(r, values));
}

describe.each(PRINTING.map((c) => [c.id, c] as const))('%s', (_id, c: CorpusCase) => {
  const decls = declarations(c);
  const result = derive(c.expr, c.wrt, { order: c.order, let: decls, layout: c.layout ?? 'default' });

  test(c.expect === null ? 'no matrix form' : 'matrix form, at most 1.5× the operations of expect, with its temporaries', () => {
    if (c.expect === null) {
      expect(result.matrix).toBeNull();
      return;
    }
    expect(result.matrix, result.index).not.toBeNull();
    const ours = countOps(parse(result.matrix!));
    const theirs = countOps(parse(c.expect));
    expect(ours, `${result.matrix} has ${ours} operations, expect ${c.expect} has ${theirs}`).toBeLessThanOrEqual(1.5 * theirs);
    expect(result.temporaries.length, result.matrix!).toBeGreaterThanOrEqual(c.temporaries ?? 0);
    expect(() => katex.renderToString(result.latex, { throwOnError: true })).not.toThrow();
    expect(() => katex.renderToString(result.indexLatex, { throwOnError: true })).not.toThrow();
  });

  test('printed form, expect and the derivative agree at 3 random points, and with finite differences', () => {
    const rand = rng(5000 + PRINTING.indexOf(c));
    const original = mathjsFunction(c.expr, decls, c.shapes);
    const vec = c.layout === 'vec';
    const plain = vec ? derive(c.expr, c.wrt, { order: c.order, let: decls }) : undefined;
    const lower = c.order > 2 ? derive(c.expr, c.wrt, { order: c.order - 1, let: decls }) : undefined;
    for (let point = 0; point < 3; point++) {
      const values = randomPoint(c, rand);
      const ours = value(result, values);
      let oracle: Tensor;
      if (plain) {
        const p = value(plain, values);
        const pairs = [...result.analysis.lowered.root.shape.length === 2 ? [2] : result.analysis.lowered.root.shape.map(() => 1)];
        for (let k = 0; k < c.order; k++) pairs.push(...(result.wrtNode.shape.length === 2 ? [2] : result.wrtNode.shape.map(() => 1)));
        oracle = vectorize(p, pairs);
        // The default layout itself against finite differences, for orders 1 and 2.
        const fd = c.order === 1 ? fdJacobian(original, values, c.wrt) : fdHessian((v) => original(v).data[0]!, values, c.wrt);
        expect(relErr(p, fd, FLOOR), 'default layout vs finite differences').toBeLessThan(1e-6);
      } else if (lower) oracle = fdJacobian((v) => value(lower, v), values, c.wrt);
      else if (c.order === 2) oracle = fdHessian((v) => original(v).data[0]!, values, c.wrt);
      else oracle = fdJacobian(original, values, c.wrt);
      const tol = c.order <= 2 ? 1e-6 : 1e-5;
      expect(relErr(ours, oracle, FLOOR), 'derivative vs oracle').toBeLessThan(tol);
      if (result.matrix !== null) {
        const printed = mathjsFunction(result.matrix, decls, c.shapes, ours.shape)(values);
        expect(relErr(printed, ours, FLOOR), `${result.matrix} vs the derivative`).toBeLessThan(1e-9);
      }
      if (c.expect !== null) {
        const theirs = mathjsFunction(c.expect, decls, c.shapes, ours.shape)(values);
        expect(relErr(theirs, ours, FLOOR), `expect ${c.expect} vs the derivative`).toBeLessThan(1e-8);
      }
    }
  });
});
