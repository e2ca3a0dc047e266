/**
 * The variables of an expression and the absent-variable check that the CLI and the web page use;
 * the library itself keeps returning the zero derivative for a variable that does not occur.
 */
import { describe, expect, test } from 'vitest';
import { absentVariableError, variablesOf } from '../src/derive.js';
import { derivative, RicciError } from '../src/index.js';

describe('variables of an expression', () => {
  test('in order of first appearance, each once, without eye and function names', () => {
    expect(variablesOf("x'*A*x + b*sum(exp(y)) + tr(eye*A)")).toEqual(['x', 'A', 'b', 'y']);
    expect(variablesOf('2*3 + 1')).toEqual([]);
    expect(variablesOf('alpha*lambda + __proto__')).toEqual(['alpha', 'lambda', '__proto__']);
  });

  test('a syntax error is reported as such', () => {
    expect(() => variablesOf('x +* y')).toThrow(/unexpected '\*'/);
  });

  test('absentVariableError: null when the variable occurs, else an input error listing the variables', () => {
    expect(absentVariableError("x'*A*x", 'A')).toBeNull();
    const e = absentVariableError("x'*A*x", 'y');
    expect(e).toBeInstanceOf(RicciError);
    expect(e!.category).toBe('input');
    expect(e!.message).toBe('y does not occur in the expression (its variables are x, A); the derivative by y would be 0');
    expect(absentVariableError('1 + 2', 'x')!.message).toMatch(/it has no variables/);
    // A prefix or a longer name is not the variable.
    expect(absentVariableError('xx + x2', 'x')).not.toBeNull();
  });

  test('the library returns the zero derivative of the right shape for a variable that does not occur', () => {
    const d = derivative("x'*x", 'y');
    expect(d.matrix).toBe('vector(0)');
    const v = d.evaluate({ x: [1, 2, 3], y: [4, 5] });
    expect(v.shape).toEqual([2]);
    expect(Array.from(v.data)).toEqual([0, 0]);
    const H = derivative("x'*A*x", 'B', { order: 2 });
    expect(H.shape.length).toBe(4);
  });
});
