/**
 * kron and vec (the IR's merge node) in every evaluator: the reference evaluator against finite
 * differences of the expression (mathjs evaluates the text, with its own kron), the compiled
 * evaluator and generated JS/TS/Python against the reference, for expressions with kron and vec
 * and for derivatives in the vec layout. Sizes include 1 and sizes that are not squares.
 */
import { describe, expect, test } from 'vitest';
import { derivative, generateCode, type Derivative } from '../../src/index.js';
import { mathjsFunction } from '../helpers/mathjs.js';
import { fdHessian, fdJacobian, randomTensor, relErr, rng } from '../helpers/numeric.js';
import { pointJson } from '../helpers/corpus.js';
import { compiledOutputs, loadJs, runPython, transpileTs, type ShapedCase } from '../codegen/harness.js';
import type { Tensor } from '../../src/tensor.js';

const CASES: readonly ShapedCase[] = [
  { expr: 'norm2(kron(A, B)*x - y)^2', wrt: 'x', order: 2, shapes: { A: [2, 2], B: [2, 3], x: [6], y: [4] } },
  { expr: 'norm2(kron(A, B)*x - y)^2', wrt: 'A', order: 1, shapes: { A: [2, 2], B: [2, 3], x: [6], y: [4] } },
  { expr: "y'*vec(X*A)", wrt: 'X', order: 1, shapes: { X: [3, 2], A: [2, 4], y: [12] } },
  { expr: 'sum(exp(vec(X)).*w)', wrt: 'X', order: 2, shapes: { X: [2, 3], w: [6] } },
  { expr: "x'*kron(y, z)", wrt: 'y', order: 1, shapes: { x: [6], y: [3], z: [2] } },
  { expr: "sum(kron(x', A)*kron(A, x))", wrt: 'A', order: 1, shapes: { x: [1], A: [3, 3] } },
  { expr: "tr(kron(A, B)*kron(A, B)')", wrt: 'B', order: 2, shapes: { A: [2, 2], B: [3, 3] } },
];

const values = (c: ShapedCase, seed: number): Map<string, Tensor> => {
  const rand = rng(seed);
  return new Map(Object.entries(c.shapes).map(([k, s]) => [k, randomTensor(s, 'any', rand)]));
};

describe.each(CASES.map((c) => [`${c.expr} by ${c.wrt}, order ${c.order}`, c] as const))('%s', (_name, c) => {
  const d = derivative(c.expr, c.wrt, { order: c.order });
  const v = values(c, 31 + CASES.indexOf(c));
  const point = Object.fromEntries(v);

  test('reference evaluator equals finite differences; compiled equals reference', () => {
    const f = mathjsFunction(c.expr, {}, c.shapes);
    const fd = c.order === 1 ? fdJacobian(f, v, c.wrt) : fdHessian((u) => f(u).data[0]!, v, c.wrt);
    const ref = d.evaluate(point);
    expect(relErr(ref, fd, 1e-8)).toBeLessThan(1e-6);
    expect(relErr(d.compile()(point), ref, 1e-12)).toBeLessThan(1e-12);
  });

  test('vec layout: compiled equals reference, and the printed form reads back', () => {
    const dv: Derivative = derivative(c.expr, c.wrt, { order: c.order, layout: 'vec' });
    const ref = dv.evaluate(point);
    expect(relErr(dv.compile()(point), ref, 1e-12)).toBeLessThan(1e-12);
    if (dv.matrix !== null) {
      const printed = mathjsFunction(dv.matrix, {}, c.shapes, ref.shape)(v);
      expect(relErr(printed, ref, 1e-8), dv.matrix).toBeLessThan(1e-9);
    }
  });
});

test('generated JS, TS and Python equal the compiled evaluator', () => {
  const jobs = CASES.map((c, i) => {
    const v = values(c, 131 + i);
    const point = Object.fromEntries(v);
    return { c, v, point, ...compiledOutputs(c.expr, c.wrt, c.order, point) };
  });
  const py = runPython(jobs.map((j) => ({ src: generateCode(j.c.expr, j.c.wrt, { order: j.c.order, lang: 'python' }), point: pointJson(j.v) })));
  jobs.forEach((j, i) => {
    const js = loadJs(generateCode(j.c.expr, j.c.wrt, { order: j.c.order, lang: 'js' }))(j.point);
    const ts = loadJs(transpileTs(generateCode(j.c.expr, j.c.wrt, { order: j.c.order, lang: 'ts' })))(j.point);
    const p = py[i]!;
    if ('error' in p) throw new Error(`${j.c.expr}: python: ${p.error}`);
    j.keys.forEach((k, n) => {
      for (const [what, got] of [['js', js[k]!], ['ts', ts[k]!], ['python', p.ok[k]!]] as const) {
        expect([...got.shape], `${j.c.expr} ${what} ${k}`).toEqual([...j.expected[n]!.shape]);
        expect(relErr(got, j.expected[n]!, 1e-9), `${j.c.expr} ${what} ${k}`).toBeLessThan(1e-10);
      }
    });
  });
});

test('a size that is not the product of its parts is an error that says so', () => {
  const d = derivative("y'*vec(X)", 'y');
  expect(() => d.compile()({ y: [1, 2, 3, 4, 5], X: [[1, 2], [3, 4]] })).toThrow(/product/);
  expect(() => d.evaluate({ y: [1, 2, 3, 4, 5], X: [[1, 2], [3, 4]] })).toThrow(/product/);
});

describe('sizes that only the expression fixes', () => {
  // kron(z', eye)*kron(z, X): the eye's size is fixed by the products of sizes in the expression;
  // the Hessian by X holds the eye without them. The compiled evaluator bound sizes from the
  // derivative alone and stopped with "the size q cannot be inferred" (fuzzer, seed 1).
  test.each([1, 2])("kron(z', eye)*kron(z, X) by X, order %i: every evaluator, every front end", (order) => {
    const d = derivative("kron(z', eye)*kron(z, X)", 'X', { order });
    const rand = rng(31 + order);
    const values = { z: Array.from(randomTensor([3], 'any', rand).data), X: [[1, -2], [0.5, 3]] };
    const ref = d.evaluate(values);
    const got = d.compile()(values);
    expect(got.shape).toEqual(ref.shape);
    expect(relErr(got, ref, 1e-12)).toBeLessThan(1e-12);
  });

  test("the structured Hessian of sum(kron(z', eye)*kron(z, X)*X) by X", () => {
    const d = derivative("sum(kron(z', eye)*kron(z, X)*X)", 'X', { order: 2 });
    const values = { z: [0.5, -1, 2], X: [[1, -2], [0.5, 3]] };
    const ref = d.evaluate(values);
    expect(relErr(d.compile()(values), ref, 1e-12)).toBeLessThan(1e-12);
    expect(relErr(d.compile({ structured: true })(values).toDense(), ref, 1e-12)).toBeLessThan(1e-12);
  });
});
