/** The library API of the compiled evaluator: inputs, outputs, errors, hvp/jvp/vjp, valueGradHessian. */
import { describe, expect, test } from 'vitest';
import { compile, derivative, gradient, hessian, hvp, jacobian, jvp, RicciError, valueGradHessian, vjp } from '../../src/index.js';

const A = [
  [2, 1],
  [1, 3],
];
const x = [1, 2];

describe('compiled functions', () => {
  test('H.compile() and compile(H) evaluate the closed form', () => {
    const H = hessian("x'*A*x", 'x', { let: { A: 'symmetric matrix' } });
    expect(H.matrix).toBe('2*A');
    expect(H.shape).toEqual(['n', 'n']);
    const h = H.compile();
    expect(h({ A, x })).toEqual({ shape: [2, 2], data: Float64Array.from([4, 2, 2, 6]) });
    expect(compile(H)({ A, x }).data).toEqual(Float64Array.from([4, 2, 2, 6]));
  });

  test('inputs: numbers, number[], Float64Array, number[][], { shape, data }', () => {
    const g = gradient("a*x'*A*x", 'x').compile();
    const want = Float64Array.from([16, 28]);
    expect(g({ a: 2, A, x }).data).toEqual(want);
    expect(g({ a: 2, A: { shape: [2, 2], data: Float64Array.from([2, 1, 1, 3]) }, x: Float64Array.from(x) }).data).toEqual(want);
    expect(g({ a: 2, A: { shape: [2, 2], data: [2, 1, 1, 3] }, x }).data).toEqual(want);
  });

  test('every call returns a new buffer; plans are kept per shape', () => {
    const g = gradient("x'*A*x", 'x').compile();
    const a = g({ A, x });
    const b = g({ A, x: [3, 4] });
    expect(a.data).not.toBe(b.data);
    expect(Array.from(a.data)).toEqual([8, 14]);
    expect(Array.from(b.data)).toEqual([20, 30]);
    const big = g({ A: [[1, 0, 0], [0, 1, 0], [0, 0, 1]], x: [1, 2, 3] });
    expect(Array.from(big.data)).toEqual([2, 4, 6]);
  });

  test('wrong shapes and types name the variable and both shapes', () => {
    const g = gradient("x'*A*x", 'x').compile();
    const err = (f: () => unknown): RicciError => {
      try {
        f();
      } catch (e) {
        return e as RicciError;
      }
      throw new Error('no error');
    };
    expect(err(() => g({ A, x: [1, 2, 3] })).message).toMatch(/x is 3, but size n is 2 from A|A is 2×2, but size n is 3 from x/);
    expect(err(() => g({ A: [1, 2], x })).message).toBe('A must be a matrix, but the value given is a vector of 2 entries');
    expect(err(() => g({ A })).message).toBe('no value given for x');
    expect(err(() => g({ A: [[1, 2], [3]], x })).message).toMatch(/A\[1\]: rows of different lengths/);
    expect(err(() => g({ A: { shape: [2, 2], data: [1, 2, 3] }, x })).message).toMatch(/needs 4 entries, data has 3/);
    expect(err(() => g({ A, x: [1, NaN] })).message).toMatch(/x\[1\]: expected a finite number/);
    const s = hessian("x'*A*x", 'x', { let: { A: 'symmetric matrix' } }).compile();
    expect(err(() => s({ A: [[1, 2], [3, 4]], x })).message).toMatch(/declared symmetric/);
    expect(err(() => hessian("x'*inv(A)*x", 'x').compile()({ A: [[1, 2], [2, 4]], x })).message).toMatch(/singular/);
    expect(err(() => hessian("x'*inv(A)*x", 'x').compile()({ A: [[1, 2], [2, 4]], x }))).toBeInstanceOf(RicciError);
  });

  test('gradient, hessian and jacobian check the kind of expression', () => {
    expect(() => gradient('A*x', 'x')).toThrow(/gradient needs a scalar expression/);
    expect(() => jacobian("x'*x", 'x')).toThrow(/jacobian needs a vector expression/);
    expect(jacobian('exp(A*x)', 'x').matrix).toBe('diag(exp(A*x))*A');
    expect(derivative('A*x', 'A').matrix).toBeNull();
  });
});

describe('products with derivatives in closed form', () => {
  test("hvp of x'*A*x is (A + A')*v and never forms the Hessian", () => {
    const h = hvp("x'*A*x", 'x');
    expect(h.matrix).toBe("(A + A')*v");
    expect(h.direction).toBe('v');
    expect(Array.from(h.compile()({ A, x, v: [1, 0] }).data)).toEqual([4, 2]);
    // A name taken by the expression is avoided.
    expect(hvp("v'*A*v", 'v').direction).toBe('v1');
    expect(hvp("x'*A*x", 'x', { direction: 'd1' }).matrix).toBe("(A + A')*d1");
  });

  test('hvp agrees with the Hessian times v', () => {
    const expr = 'sum(log(exp(-y.*(X*w)) + vector(1)))';
    const X = [
      [1, 2],
      [0.5, -1],
      [2, 0],
    ];
    const vals = { X, y: [1, -1, 1], w: [0.3, -0.2] };
    const H = hessian(expr, 'w').compile()(vals).data;
    const v = [0.7, -1.1];
    const got = hvp(expr, 'w').compile()({ ...vals, v }).data;
    for (let i = 0; i < 2; i++) expect(got[i]).toBeCloseTo(H[2 * i]! * v[0]! + H[2 * i + 1]! * v[1]!, 12);
  });

  test('jvp and vjp', () => {
    expect(jvp('exp(A*x)', 'x').matrix).toBe('exp(A*x).*(A*v)');
    expect(vjp('exp(A*x)', 'x').matrix).toBe("A'*(exp(A*x).*u)");
    expect(vjp('A*x', 'A').matrix).toBe("u*x'");
    const J = jacobian('exp(A*x)', 'x').compile()({ A, x }).data;
    const u = [0.5, -2];
    const got = vjp('exp(A*x)', 'x').compile()({ A, x, u }).data;
    for (let j = 0; j < 2; j++) expect(got[j]).toBeCloseTo(u[0]! * J[j]! + u[1]! * J[2 + j]!, 9);
  });

  test('valueGradHessian shares sub-expressions and returns all three', () => {
    const f = valueGradHessian('sum(exp(A*x))', 'x');
    expect(f.gradient.matrix).toBe("A'*exp(A*x)");
    expect(f.hessian.matrix).toBe("A'*diag(exp(A*x))*A");
    const r = f({ A, x });
    expect(r.value.data[0]).toBeCloseTo(Math.exp(4) + Math.exp(7), 9);
    expect(Array.from(r.gradient.data)).toEqual(Array.from(gradient('sum(exp(A*x))', 'x').compile()({ A, x }).data));
    expect(Array.from(r.hessian.data)).toEqual(Array.from(hessian('sum(exp(A*x))', 'x').compile()({ A, x }).data));
    expect(() => valueGradHessian('A*x', 'x')).toThrow(/scalar expression/);
  });
});
