/**
 * Acceptance: every case of the corpus.
 *  - where `expect` is given, the printed matrix form exists, parses back, and has at most 1.5× the
 *    operations of `expect`;
 *  - the printed matrix form and `ricci eval`'s numbers equal central finite differences of the
 *    original expression, evaluated by mathjs (orders 1–2), at 3 random points; orders 3–4 difference
 *    the next-lower derivative;
 *  - its LaTeX renders with KaTeX.
 */
import { describe, expect, test } from 'vitest';
import katex from 'katex';
import { CORPUS, declarations, pointJson, randomPoint, type CorpusCase } from './helpers/corpus.js';
import { mathjsFunction } from './helpers/mathjs.js';
import { fdHessian, fdJacobian, relErr, rng } from './helpers/numeric.js';
import { derive } from '../src/derive.js';
import { parse } from '../src/syntax/parse.js';
import { countOps } from '../src/print/text.js';
import { bindSizes, evaluateReference } from '../src/compile/reference.js';
import { run } from '../src/cli/main.js';
import type { Tensor } from '../src/tensor.js';

/** Relative error ‖a − b‖/‖b‖; below this norm it is absolute (no corpus derivative is that small). */
const FLOOR = 1e-8;

function cliEval(c: CorpusCase, order: number, values: ReadonlyMap<string, Tensor>): Tensor {
  let out = '';
  let err = '';
  const args = ['eval', c.expr, '--wrt', c.wrt, '--order', String(order), '--at', 'point.json'];
  for (const s of c.symmetric ?? []) args.push('--let', `${s}: symmetric matrix`);
  const code = run(args, { out: (s) => (out += s), err: (s) => (err += s), readFile: () => pointJson(values) });
  if (code !== 0) throw new Error(`ricci eval exited ${code}: ${err}`);
  const j = JSON.parse(out) as { shape: number[]; value: unknown };
  const flat = (v: unknown): number[] => (Array.isArray(v) ? v.flatMap(flat) : [v as number]);
  return { shape: j.shape, data: Float64Array.from(flat(j.value)) };
}

describe.each(CORPUS.map((c) => [c.id, c] as const))('%s', (_id, c) => {
  const decls = declarations(c);
  const result = derive(c.expr, c.wrt, { order: c.order, let: decls });

  test(c.expect !== null ? 'matrix form exists, parses back, and is at most 1.5× the size of expect' : 'index form of a result with no matrix form', () => {
    if (c.expect === null) {
      // Order ≥ 3 tensors have no matrix notation: the index form is given, with upper and lower indices.
      expect(result.node.shape.length).toBeGreaterThan(2);
      expect(result.matrix).toBeNull();
      expect(result.index).toMatch(/\^/);
      expect(result.index).toMatch(/_/);
      return;
    }
    expect(result.matrix).not.toBeNull();
    const ours = countOps(parse(result.matrix!));
    const theirs = countOps(parse(c.expect!));
    expect(ours, `${result.matrix} has ${ours} operations, expect ${c.expect} has ${theirs}`).toBeLessThanOrEqual(1.5 * theirs);
  });

  test('printed form and ricci eval equal finite differences at 3 random points', () => {
    const rand = rng(1000 + CORPUS.indexOf(c));
    const original = mathjsFunction(c.expr, decls, c.shapes);
    const lower = c.order > 2 ? derive(c.expr, c.wrt, { order: c.order - 1, let: decls }) : undefined;
    for (let point = 0; point < 3; point++) {
      const values = randomPoint(c, rand);
      const sizes = bindSizes([result.analysis.lowered.root, result.node], values);
      const ours = evaluateReference(result.node, values, sizes);
      let fd: Tensor;
      if (lower) fd = fdJacobian((v) => evaluateReference(lower.node, v, sizes), values, c.wrt);
      else if (c.order === 2) fd = fdHessian((v) => original(v).data[0]!, values, c.wrt);
      else fd = fdJacobian(original, values, c.wrt);
      const tol = c.order <= 2 ? 1e-6 : 1e-5;
      expect(ours.shape).toEqual(fd.shape);

      const cli = cliEval(c, c.order, values);
      expect(cli.shape).toEqual(fd.shape);
      expect(relErr(cli, fd, FLOOR), 'ricci eval vs finite differences').toBeLessThan(tol);

      if (result.matrix !== null) {
        // The printed closed form, evaluated by mathjs from its text.
        const printed = mathjsFunction(result.matrix, decls, c.shapes, fd.shape)(values);
        expect(printed.data.length).toBe(fd.data.length);
        expect(relErr(printed, fd, FLOOR), `${result.matrix} vs finite differences`).toBeLessThan(tol);
      }
    }
  });

  test('LaTeX renders with KaTeX', () => {
    expect(() => katex.renderToString(result.latex, { throwOnError: true })).not.toThrow();
    expect(() => katex.renderToString(result.indexLatex, { throwOnError: true })).not.toThrow();
  });
});
