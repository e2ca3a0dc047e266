/**
 * The input language's additions for printed forms: `where` temporaries, kron, vec, rows, cols and
 * len — parsing (one parse), types, values, and errors that point at the place.
 */
import { describe, expect, test } from 'vitest';
import { parse, parseAll } from '../../src/syntax/parse.js';
import { derive, analyze } from '../../src/derive.js';
import { RicciError } from '../../src/errors.js';
import { toText } from '../../src/print/text.js';
import { evaluateReference, bindSizes } from '../../src/compile/reference.js';
import type { Tensor } from '../../src/tensor.js';

function error(text: string, wrt = 'x'): RicciError {
  try {
    derive(text, wrt);
  } catch (e) {
    if (e instanceof RicciError) return e;
    throw e;
  }
  throw new Error(`no error for ${text}`);
}

const mat = (rows: number[][]): Tensor => ({ shape: [rows.length, rows[0]!.length], data: Float64Array.from(rows.flat()) });
const vec = (xs: number[]): Tensor => ({ shape: [xs.length], data: Float64Array.from(xs) });

function value(text: string, values: Record<string, Tensor>): number[] {
  const a = analyze(text);
  const v = new Map(Object.entries(values));
  return [...evaluateReference(a.lowered.root, v, bindSizes([...a.lowered.vars.values(), a.lowered.root], v)).data];
}

describe('where', () => {
  test('parses once, prints back, binds loosest', () => {
    const text = "X'*diag(t1)*X where t1 = exp(-y.*(X*w)), t2 = t1 + vector(1)";
    expect(parseAll(text)).toHaveLength(1);
    expect(toText(parse(text))).toBe(text);
    expect(value('t*t where t = a + b', { a: { shape: [], data: Float64Array.of(1) }, b: { shape: [], data: Float64Array.of(2) } })).toEqual([9]);
  });

  test('a temporary takes the type of its value, not of its name; later ones use earlier ones', () => {
    expect(value('sum(t2) where t1 = A*x, t2 = t1.*t1', { A: mat([[1, 2], [3, 4]]), x: vec([1, 1]) })).toEqual([9 + 49]);
    expect(value('tr(T) where T = x*x\'', { x: vec([1, 2, 3]) })).toEqual([14]);
  });

  test('errors: used before its definition, defined twice, a function name, declared as a variable, the variable to differentiate by', () => {
    expect(error("t1'*x where t1 = A*t1").message).toMatch(/t1 is used before its definition/);
    expect(error("t2'*x where t1 = A*t2, t2 = x").message).toMatch(/t2 is used before its definition/);
    expect(error("t1'*x where t1 = A*x, t1 = x").span).toEqual({ start: 22, end: 24 });
    expect(error("sum'*x where sum = x").message).toMatch(/function name/);
    expect(() => derive("t1'*x where t1 = A*x", 'x', { let: { t1: 'vector' } })).toThrow(/declared as a variable/);
    expect(error("x'*t where t = A*x", 't').message).toMatch(/t is a temporary/);
    expect(error('where*x').message).toMatch(/unexpected 'where'/);
  });
});

describe('kron, vec, rows, cols, len', () => {
  test('values: kron blocks, vec stacks columns, sizes', () => {
    const A = mat([[1, 2], [3, 4]]);
    const B = mat([[0, 1]]);
    expect(value('kron(A, B)', { A, B })).toEqual([0, 1, 0, 2, 0, 3, 0, 4]);
    expect(value('vec(A)', { A })).toEqual([1, 3, 2, 4]);
    expect(value('rows(B) + 10*cols(B) + 100*len(x)', { B, x: vec([1, 2, 3]) })).toEqual([1 + 20 + 300]);
    expect(value("kron(x, y')", { x: vec([1, 2]), y: vec([3, 4, 5]) })).toEqual([3, 4, 5, 6, 8, 10]);
  });

  test('types: kron of sizes m and n is m*n (checked when evaluated); len needs a vector', () => {
    expect(derive("x'*vec(X)", 'x').shape).toEqual(['n']);
    expect(error('kron(A)', 'A').message).toMatch(/kron takes 2 arguments/);
    expect(error('len(A)', 'A').message).toMatch(/len needs a vector/);
    const a = analyze("y'*vec(X)");
    const v = new Map(Object.entries({ y: vec([1, 2, 3]), X: mat([[1, 2], [3, 4]]) }));
    expect(() => bindSizes([...a.lowered.vars.values(), a.lowered.root], v)).toThrow(/product/);
  });
});

describe('sizes on constants: vector(c, k), matrix(c, k, l), eye(k)', () => {
  test('a size argument ties the constant to a variable; the value is the plain constant of that size', () => {
    const x = vec([1, 2, 3]);
    const B = mat([[1, 2], [3, 4]]);
    expect(value('sum(vector(2, len(x)))', { x })).toEqual([6]);
    expect(value('sum(matrix(1, rows(B), len(x)))', { B, x })).toEqual([6]);
    expect(value('tr(eye(cols(B)))', { B })).toEqual([2]);
    expect(error('tr(eye(2))').message).toMatch(/a size is written rows\(X\), cols\(X\), len\(x\), or a product or quotient of those/);
    expect(error('vector(1, len(x), 2)').message).toMatch(/vector takes 1 to 2 arguments/);
  });

  test('the printer writes sizes only where nothing else fixes them', () => {
    // z cancels, so nothing in the printed form would give the ones vectors their size.
    expect(derive("(vector(1)' - z' + z')*diag(exp(matrix(a)))", 'a').matrix).toBe('tr(exp(a*matrix(1, len(z), len(z))))');
    expect(derive('sum(log(exp(-y.*(X*w)) + vector(1)))', 'w', { order: 2 }).matrix).toBe("X'*diag(y.^2.*(vector(1) - t1).*t1)*X where t1 = sigmoid(-y.*(X*w))");
  });
});
