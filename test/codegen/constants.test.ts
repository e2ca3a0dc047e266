/**
 * Generated code with constant tensors on every label pattern (the family of
 * test/helpers/constants.ts): JS and Python return the reference evaluator's numbers for the value
 * and the first derivative. Generated code materialises every constant, so it counts summed labels
 * of ones like any other; this test keeps it that way.
 */
import { beforeAll, describe, expect, test } from 'vitest';
import { derive } from '../../src/derive.js';
import { derivative, generateCode } from '../../src/index.js';
import { outputKey } from '../../src/codegen/plan.js';
import { bindSizes, evaluateReference } from '../../src/compile/reference.js';
import type { Tensor } from '../../src/tensor.js';
import { pointJson } from '../helpers/corpus.js';
import { relErr } from '../helpers/numeric.js';
import { CASES, valuesAt } from '../helpers/constants.js';
import { loadJs, runJobs, runPython, toOutputs, type PythonResult } from './harness.js';

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

// A constant outside its function's domain (log(-0.5), (-0.5)^1.5, arcsin(2)) is not folded: its
// value is NaN. PyTorch refused torch.log of a Python float, and Python's power of a negative float
// is complex ((-0.5)**1.5 is -0.35j): now the operand is an array scalar, NaN as anywhere else.
describe('constants outside their domain: the value is NaN, the derivative as the reference', () => {
  const OUTSIDE: readonly { expr: string; wrt: string; let?: Record<string, string> }[] = [
    { expr: "log(-0.5) - tr(S')", wrt: 'S', let: { S: 'symmetric matrix' } },
    { expr: "(-0.5)^1.5 + x'*x", wrt: 'x' },
    { expr: 'arcsin(2)*b + sqrt(-2)^0*b^2', wrt: 'b' },
    { expr: "log(-3)*x'*A*x", wrt: 'A' },
  ];
  const at = { S: [[1, 0.5], [0.5, 2]], x: [0.3, -1.2], A: [[1, 2], [3, 4]], b: 0.7 };
  const want = OUTSIDE.map((c) => ({
    grad: derivative(c.expr, c.wrt, { order: 1, let: c.let ?? {} }),
    key: outputKey(1, derive(c.expr, c.wrt, { order: 0, let: c.let ?? {} }).analysis.lowered.root.shape.length),
  }));
  const srcs = (lang: 'python' | 'torch'): string[] => OUTSIDE.map((c) => generateCode(c.expr, c.wrt, { order: 1, lang, let: c.let ?? {} }));
  const check = (got: Record<string, Tensor>, i: number, what: string): void => {
    expect(Array.from(got.value!.data).every(Number.isNaN), `${what}: value`).toBe(true);
    const g = want[i]!.grad.evaluate(at as never);
    const data = Array.from(got[want[i]!.key]!.data);
    expect(data.length, what).toBe(g.data.length);
    g.data.forEach((v, k) => (Number.isNaN(v) ? expect(data[k], what).toBeNaN() : expect(data[k]!, what).toBeCloseTo(v, 12)));
  };

  test.each(OUTSIDE.map((c, i) => [c.expr, i] as const))('%s: JS, NumPy and PyTorch', (expr, i) => {
    check(loadJs(generateCode(OUTSIDE[i]!.expr, OUTSIDE[i]!.wrt, { order: 1, lang: 'js', let: OUTSIDE[i]!.let ?? {} }))(at), i, `js: ${expr}`);
    const [py] = runPython([{ src: srcs('python')[i]!, point: JSON.stringify(at) }]);
    if (!py || 'error' in py) throw new Error(`python: ${py && 'error' in py ? py.error : 'no result'}`);
    check(py.ok, i, `numpy: ${expr}`);
    const [t] = runJobs([{ kind: 'torch', src: srcs('torch')[i]!, point: JSON.stringify(at), dtype: 'float64' }]);
    if (!t || 'error' in t) throw new Error(`torch: ${t && 'error' in t ? t.error : 'no result'}`);
    check(toOutputs((t.ok as { out: Parameters<typeof toOutputs>[0] }).out), i, `torch: ${expr}`);
  });
});
