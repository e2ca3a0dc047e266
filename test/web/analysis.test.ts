import { describe, expect, it } from 'vitest';
import { compute, shapeText } from '../../web/analysis.js';
import { DEFAULT_STATE, type State } from '../../web/state.js';

const at = (s: Partial<State>): State => ({ ...DEFAULT_STATE, wrt: '', ...s });

describe('what the web page shows', () => {
  it("x'*A*x: variables, sizes, the Hessian and its left-hand side", () => {
    const c = compute(at({ expr: "x'*A*x", order: 2 }));
    expect(c.problem).toBeUndefined();
    expect(c.wrt).toBe('x');
    expect(c.vars).toEqual([
      { name: 'x', type: 'vector', conventional: 'vector', size: 'n' },
      { name: 'A', type: 'matrix', conventional: 'matrix', size: 'n×n' },
    ]);
    expect(c.shown?.matrixText).toBe("A + A'");
    expect(c.shown?.matrixLatex).toBe('A + A^\\top');
    expect(c.shown?.lhsLatex).toBe('\\frac{\\partial^{2} f}{\\partial x^{2}}');
    expect(c.shown?.shapeText).toBe('n×n (a matrix)');
  });

  it('a declaration changes the type in the table and the result', () => {
    const c = compute(at({ expr: "x'*A*x", order: 2, lets: { A: 'symmetric matrix' } }));
    expect(c.vars?.[1]).toMatchObject({ name: 'A', type: 'symmetric matrix', conventional: 'matrix' });
    expect(c.shown?.matrixText).toBe('2*A');
  });

  it('chooses a vector, then a matrix, to differentiate by; keeps a choice that occurs', () => {
    expect(compute(at({ expr: 'c*tr(X) + a' })).wrt).toBe('X');
    expect(compute(at({ expr: "b*x'*A*x" })).wrt).toBe('x');
    expect(compute(at({ expr: "b*x'*A*x", wrt: 'A' })).wrt).toBe('A');
    expect(compute(at({ expr: "b*x'*x", wrt: 'A' })).wrt).toBe('x');
  });

  it('order 3: no matrix form, and why', () => {
    const c = compute(at({ expr: "(x'*x)^2", order: 3 }));
    expect(c.shown?.matrixLatex).toBeNull();
    expect(c.shown?.noMatrixForm).toMatch(/order 3/);
    expect(c.shown?.indexLatex).toMatch(/\{x\}\^\{i\}/);
  });

  it('a size error keeps the variables and carries the span of the operator', () => {
    const c = compute(at({ expr: 'x*A' }));
    expect(c.vars?.map((v) => v.name)).toEqual(['x', 'A']);
    expect(c.problem?.message).toContain('x is n×1 (a vector), A is m×p (a matrix)');
    expect(c.problem?.span).toEqual({ start: 1, end: 2 });
  });

  it('a syntax error has no variables; a name without a type has none either', () => {
    expect(compute(at({ expr: "x'*" })).vars).toBeUndefined();
    const c = compute(at({ expr: '_w + x' }));
    expect(c.vars?.[0]).toMatchObject({ name: '_w', type: undefined });
    expect(c.problem?.span).toEqual({ start: 0, end: 2 });
  });

  it('describes shapes', () => {
    expect(['', 'n', 'n m', 'n n n'].map((s) => shapeText(s ? s.split(' ') : []))).toEqual([
      '1 (a scalar)',
      'n (a vector)',
      'n×m (a matrix)',
      'n×n×n (a tensor of order 3)',
    ]);
  });
});
