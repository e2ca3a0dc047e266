/**
 * Orders 0–2 of an expression at one point against mathjs evaluating its text as written (the
 * value, then finite differences of it for the gradient and Hessian), for the reference evaluator
 * and the compiled one. Shared by the tests of canonical forms that must keep every value.
 */
import { expect } from 'vitest';
import { derive, resultSizes, sizeNamesOf } from '../../src/derive.js';
import { evaluateReference } from '../../src/compile/reference.js';
import { compileNodes } from '../../src/compile/compile.js';
import type { Tensor } from '../../src/tensor.js';
import type { MathjsFunction } from './mathjs.js';
import { fdHessian, fdJacobian, relErr, trustedFd } from './numeric.js';

export function expectOrdersMatchText(expr: string, wrt: string, f: MathjsFunction, values: Map<string, Tensor>): void {
  const fx = f(values);
  const floor = 1e-3 * Math.max(1, ...Array.from(fx.data, Math.abs));
  for (const order of [0, 1, 2]) {
    const r = derive(expr, wrt, { order });
    const ours = evaluateReference(r.node, values, resultSizes(r, values));
    const compiled = compileNodes({ roots: [r.node], vars: [...r.analysis.lowered.vars.values()], sizeNames: sizeNamesOf(r) })(values)[0]!;
    let want: Tensor | undefined;
    if (order === 0) want = fx;
    else if (order === 1) want = trustedFd((s) => fdJacobian(f, values, wrt, s), 1e-7, floor);
    else want = trustedFd((s) => fdHessian((v) => f(v).data[0]!, values, wrt, s), 1e-6, floor);
    if (!want) continue;
    const what = `order ${order} of ${expr} by ${wrt} (${r.matrix ?? r.index})`;
    expect(relErr(ours, want, floor), what).toBeLessThan(order === 2 ? 1e-5 : 1e-7);
    expect(relErr(compiled, ours, 1e-9), `compiled ${what}`).toBeLessThan(1e-10);
  }
}
