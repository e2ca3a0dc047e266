/**
 * Sums of a matrix along one axis (row sums, column sums: what the MDS Hessian reads from D) run
 * as gemv with a vector of ones, on the WebAssembly thin kernel when the matrix is large: the
 * compiled result against the reference evaluator at awkward and large, non-square sizes, with
 * the result written whole into a buffer full of NaN (the path that ran is checked where the
 * matrix is large).
 */
import { describe, expect, test } from 'vitest';
import { derive } from '../../src/derive.js';
import { compileNodes } from '../../src/compile/compile.js';
import { bindSizes, evaluateReference } from '../../src/compile/reference.js';
import { kernelInfo } from '../../src/compile/kernels/index.js';
import { THIN_MIN_ENTRIES } from '../../src/compile/kernels/wasm/thinWasm.js';
import type { Tensor } from '../../src/tensor.js';
import { randomTensor, relErr, rng } from '../helpers/numeric.js';

// Each gives Σ over one axis of A (or of A': the other orientation), alone or added to a term.
const CASES = [
  { expr: 'A*vector(1)', wrt: 'A', order: 0 },
  { expr: "A'*vector(1)", wrt: 'A', order: 0 },
  { expr: "vector(1)'*A*x", wrt: 'x', order: 1 },
  { expr: "x'*A*vector(1)", wrt: 'x', order: 1 },
  { expr: "x'*A*vector(1) + 2*vector(1)'*A'*x", wrt: 'x', order: 1 },
  { expr: "-3*x'*A*vector(1) + sum(exp(x))", wrt: 'x', order: 1 },
];
const SHAPES: [number, number][] = [[1, 1], [1, 7], [7, 1], [2, 3], [17, 33], [65, 2], [129, 300], [300, 129], [THIN_MIN_ENTRIES, 1], [1, THIN_MIN_ENTRIES]];

describe('sums along one axis of a matrix', () => {
  test.each(CASES.map((c) => [c.expr, c] as const))('%s against the reference, sizes 1…300, non-square', (_name, c) => {
    const r = derive(c.expr, c.wrt, { order: c.order });
    const vars = [...r.analysis.lowered.vars.values()];
    const run = compileNodes({ roots: [r.node], vars });
    const rand = rng(c.expr.length);
    for (const [m, n] of SHAPES) {
      const values = new Map<string, Tensor>([['A', randomTensor([m, n], 'any', rand)]]);
      // x has the length that the product needs: A*x (n) or x'*A (m).
      const xLen = c.expr.includes("x'*A") ? m : n;
      if (c.expr.includes('x')) values.set('x', randomTensor([xLen], 'any', rand));
      const ref = evaluateReference(r.node, values, bindSizes([...vars, r.node], values));
      const out = new Float64Array(ref.data.length).fill(NaN);
      const [got] = run(values, [out]) as [Tensor];
      expect(got.shape).toEqual(ref.shape);
      expect(relErr(got, ref, 1e-3), `${c.expr} at ${m}×${n}`).toBeLessThan(1e-12);
      if (m * n >= THIN_MIN_ENTRIES && Math.min(m, n) > 1) expect(kernelInfo().lastProduct?.kernel, `${c.expr} at ${m}×${n}`).toBe('thin');
    }
  });
});
