/**
 * Generated code with constant tensors on every label pattern (the family of
 * test/helpers/constants.ts): JS and Python return the reference evaluator's numbers for the value
 * and the first derivative. Generated code materialises every constant, so it counts summed labels
 * of ones like any other; this test keeps it that way.
 */
import { beforeAll, describe, expect, test } from 'vitest';
import { derive } from '../../src/derive.js';
import { generateCode } from '../../src/index.js';
import { outputKey } from '../../src/codegen/plan.js';
import { bindSizes, evaluateReference } from '../../src/compile/reference.js';
import type { Tensor } from '../../src/tensor.js';
import { pointJson } from '../helpers/corpus.js';
import { relErr } from '../helpers/numeric.js';
import { CASES, valuesAt } from '../helpers/constants.js';
import { loadJs, runPython, type PythonResult } from './harness.js';

const N = 3;
const values = valuesAt(N, 31);
const point = Object.fromEntries(values);

function expected(expr: string, wrt: string): Record<string, Tensor> {
  const out: Record<string, Tensor> = {};
  for (const order of [0, 1]) {
    const r = derive(expr, wrt, { order });
    const sizes = bindSizes([...r.analysis.lowered.vars.values(), r.analysis.lowered.root, r.node], values);
    out[outputKey(order, r.analysis.lowered.root.shape.length)] = evaluateReference(r.node, values, sizes);
  }
  return out;
}

function expectSame(got: Record<string, Tensor>, want: Record<string, Tensor>, what: string): void {
  expect(Object.keys(got), what).toEqual(Object.keys(want));
  for (const k of Object.keys(want)) {
    expect([...got[k]!.shape], `${what}: shape of ${k}`).toEqual([...want[k]!.shape]);
    expect(relErr(got[k]!, want[k]!, 1e-9), `${what}: ${k}`).toBeLessThan(1e-12);
  }
}

let python: PythonResult[] = [];
beforeAll(() => {
  python = runPython(CASES.map((c) => ({ src: generateCode(c.expr, c.wrt, { order: 1, lang: 'python' }), point: pointJson(values) })));
});

describe('generated code with constant tensors equals the reference evaluator', () => {
  test('JS', () => {
    for (const c of CASES) expectSame(loadJs(generateCode(c.expr, c.wrt, { order: 1, lang: 'js' }))(point), expected(c.expr, c.wrt), `js: ${c.expr}`);
  });

  test('Python', () => {
    CASES.forEach((c, i) => {
      const r = python[i]!;
      if ('error' in r) throw new Error(`python: ${c.expr}: ${r.error}`);
      expectSame(r.ok, expected(c.expr, c.wrt), `python: ${c.expr}`);
    });
  });
});
