import { describe, expect, it } from 'vitest';
import { generateCode } from '../../src/index.js';
import { compute, declarations } from '../../web/analysis.js';
import { codeOutputs, describeReturns, LANG_NAMES } from '../../web/code.js';
import { DEFAULT_STATE, type State } from '../../web/state.js';

/** The outputs the page describes for a state, from the same analysis the page makes. */
function outputsFor(expr: string, wrt: string, order: number, lets: State['lets'] = new Map()) {
  const c = compute({ ...DEFAULT_STATE, expr, wrt, order, lets });
  if (!c.shown) throw new Error(`no result for ${expr}: ${c.problem?.message}`);
  return codeOutputs(c.shown.exprShape, c.shown.wrtShape, order);
}

describe("the Code tab's line on what evaluate() returns", () => {
  it("x'*A*x at order 2: value, gradient, Hessian", () => {
    const outs = outputsFor("x'*A*x", 'x', 2);
    expect(outs).toEqual([
      { key: 'value', what: 'f', shape: 'scalar' },
      { key: 'gradient', what: 'its gradient', shape: 'n' },
      { key: 'hessian', what: 'its Hessian', shape: 'n×n' },
    ]);
    expect(describeReturns('js', 'x', outs)).toBe(
      'evaluate(inputs) returns { value, gradient, hessian }: f (scalar), its gradient (n) and its Hessian (n×n) with respect to x, each { shape, data } with row-major Float64Array data.',
    );
    expect(describeReturns('ts', 'x', outs)).toBe(describeReturns('js', 'x', outs));
    expect(describeReturns('python', 'x', outs)).toBe(
      'evaluate(inputs) returns a dict with "value", "gradient", "hessian": f (scalar), its gradient (n) and its Hessian (n×n) with respect to x, as NumPy float64 arrays (a scalar is a 0-d array).',
    );
    expect(describeReturns('torch', 'x', outs)).toBe(
      'evaluate(inputs) returns a dict with "value", "gradient", "hessian": f (scalar), its gradient (n) and its Hessian (n×n) with respect to x, as torch tensors on the inputs\' device and dtype (a scalar is a 0-d tensor).',
    );
  });

  it('a vector expression has a Jacobian, then numbered derivatives', () => {
    expect(outputsFor('tanh(A*x)', 'x', 2)).toEqual([
      { key: 'value', what: 'f', shape: 'n' },
      { key: 'jacobian', what: 'its Jacobian', shape: 'n×m' },
      { key: 'derivative2', what: 'its 2nd derivative', shape: 'n×m×m' },
    ]);
  });

  it('by a matrix, to order 4', () => {
    const outs = outputsFor('log(det(X))', 'X', 4);
    expect(outs.map((o) => [o.key, o.what, o.shape])).toEqual([
      ['value', 'f', 'scalar'],
      ['gradient', 'its gradient', 'n×n'],
      ['hessian', 'its Hessian', 'n×n×n×n'],
      ['derivative3', 'its 3rd derivative', 'n×n×n×n×n×n'],
      ['derivative4', 'its 4th derivative', 'n×n×n×n×n×n×n×n'],
    ]);
    expect(describeReturns('js', 'X', outs)).toContain(
      '{ value, gradient, hessian, derivative3, derivative4 }: f (scalar), its gradient (n×n), its Hessian (n×n×n×n), its 3rd derivative',
    );
  });

  it('by a scalar', () => {
    expect(outputsFor('exp(a)*x', 'a', 1)).toEqual([
      { key: 'value', what: 'f', shape: 'n' },
      { key: 'jacobian', what: 'its Jacobian', shape: 'n' },
    ]);
  });

  it('names the same entries, with the same shapes, as the header of the generated code', () => {
    const cases: [string, string, number, State['lets']][] = [
      ["x'*A*x", 'x', 2, new Map()],
      ["x'*A*x", 'x', 3, new Map([['A', 'symmetric matrix']])],
      ['tanh(A*x)', 'x', 1, new Map()],
      ["norm2(X - U*V')^2", 'U', 2, new Map()],
      ['exp(a)*x', 'a', 2, new Map()],
    ];
    for (const [expr, wrt, order, lets] of cases) {
      const code = generateCode(expr, wrt, { order, lang: 'js', let: declarations(lets) });
      for (const o of outputsFor(expr, wrt, order, lets)) expect(code, `${expr} ${o.key}`).toMatch(new RegExp(`^//   ${o.key} += .*  \\[${o.shape}\\]$`, 'm'));
    }
  });

  it('has a name for every language the generator offers', () => {
    expect(LANG_NAMES).toEqual({ js: 'JavaScript', ts: 'TypeScript', python: 'Python', torch: 'PyTorch' });
  });
});
