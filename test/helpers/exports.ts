/**
 * The generated JS, NumPy and PyTorch modules of an expression against the compiled evaluator at
 * one point, orders 0 to `order`: every entry finite and equal within `tol` (absolute below 1).
 * For points where exp overflows (|u| in the hundreds), where each export must stay finite too.
 */
import { expect } from 'vitest';
import { derivative, generateCode } from '../../src/index.js';
import type { Tensor } from '../../src/tensor.js';
import { loadJs, runJobs, runPython, toOutputs } from '../codegen/harness.js';
import { relErr } from './numeric.js';

function pointJson(values: ReadonlyMap<string, Tensor>): string {
  const rows = (t: Tensor): number[][] => {
    const [m, n] = t.shape as [number, number];
    return Array.from({ length: m }, (_, i) => Array.from(t.data.subarray(i * n, (i + 1) * n)));
  };
  const json = (t: Tensor): unknown => (t.shape.length === 2 ? rows(t) : t.shape.length === 0 ? t.data[0] : Array.from(t.data));
  return JSON.stringify(Object.fromEntries([...values].map(([k, t]) => [k, json(t)])));
}

export function expectExportsMatchCompiled(expr: string, wrt: string, order: number, values: ReadonlyMap<string, Tensor>, tol = 1e-12): void {
  const point = pointJson(values);
  const want = Array.from({ length: order + 1 }, (_, k) => derivative(expr, wrt, { order: k }).compile()(Object.fromEntries(values)));
  const check = (got: Tensor[], who: string): void =>
    got.forEach((t, k) => {
      expect(Array.from(t.data).every(Number.isFinite), `${who} order ${k} of ${expr}`).toBe(true);
      expect(relErr(t, want[k]!, 1), `${who} order ${k} of ${expr}`).toBeLessThan(tol);
    });
  check(Object.values(loadJs(generateCode(expr, wrt, { lang: 'js', order }))(JSON.parse(point))), 'js');
  const py = runPython([{ src: generateCode(expr, wrt, { lang: 'python', order }), point }])[0]!;
  if ('error' in py) throw new Error(py.error);
  check(Object.values(py.ok), 'numpy');
  const torch = runJobs([{ kind: 'torch', src: generateCode(expr, wrt, { lang: 'torch', order }), point, dtype: 'float64' }])[0]!;
  if ('error' in torch) throw new Error(torch.error);
  check(Object.values(toOutputs((torch.ok as { out: Parameters<typeof toOutputs>[0] }).out)), 'torch');
}
