/**
 * Rank-one updates of a constant times the identity, s·I + c·u v' (s ≠ 0), for an outer product of
 * any two vector parts (compound, scaled, a matrix of ones):
 * - the matrix determinant lemma in makeDet: det(I + c·u v') = 1 + c·v'u, so that derivatives of it
 *   are those of a scalar (`det(x*x' + eye)` by x, order 2, is 2*eye), and det(s·I + c·u v') =
 *   s^(n−1)·(s + c·v'u); in makeLogdet, the log of it;
 * - the Sherman–Morrison formula in makeInv: inv(I + c·u v') = I − c·u v'/(1 + c·v'u)
 *   (`x'*inv(eye + x*x')*x` by x is 2*x/(1 + x'*x)^2), and (I − c·u v'/(s + c·v'u))/s.
 * Checked by value against the determinant (LU) and the inverse (Gauss–Jordan) of the matrix itself
 * at sizes 1 to 6, and left alone where the update is not of the identity, not of rank one, or not
 * an outer product.
 */
import { describe, expect, test } from 'vitest';
import { derivative } from '../../src/index.js';
import { determinant, invert, logDeterminant } from '../../src/compile/reference.js';
import type { Tensor } from '../../src/tensor.js';
import { randomTensor, rng } from '../helpers/numeric.js';
import { specFromText } from '../../fuzz/case.js';
import { runCase } from '../../fuzz/check.js';

/** The value of a matrix expression and of det of it, at a point. */
function both(matrixExpr: string, values: Record<string, Tensor>): { det: number; lemma: number; logdet: number; logLemma: number } {
  const value = (e: string): Tensor => derivative(e, 'a', { order: 0, let: { a: 'scalar' } }).evaluate(values);
  const m = value(matrixExpr);
  const n = m.shape[0]!;
  return { det: determinant(m.data, n), lemma: value(`det(${matrixExpr})`).data[0]!, logdet: logDeterminant(m.data, n), logLemma: value(`logdet(${matrixExpr})`).data[0]! };
}

const updates = [
    "eye + a*x*y'",
    "x*x' + eye",
    "eye - 2*(A*x)*(B*y)'",
    "eye + a*exp(x)*(x.*y)'",
    'eye(len(x)) + a*matrix(1, len(x), len(x))',
    "eye + a*x*vector(1)'",
    "eye - (A*x)*(A*x)'/a",
    // A constant times the identity.
    "2*eye + x*x'",
    "x*y' - 3*eye",
    "0.5*eye - a*(A*x)*(B*y)'",
    '-eye(len(x)) + a*matrix(1, len(x), len(x))',
  ];

/** Values of every variable the updates use, at size n, entries of both signs. */
function pointAt(n: number, seed: number): Record<string, Tensor> {
  const rand = rng(seed + n);
  return {
    a: randomTensor([], 'any', rand),
    x: randomTensor([n], 'any', rand),
    y: randomTensor([n], 'any', rand),
    A: randomTensor([n, n], 'any', rand),
    B: randomTensor([n, n], 'any', rand),
  };
}

describe('det of a rank-one update of the identity', () => {
  test.each(updates)('det(%s) by the lemma: written without det, and equal to det of the matrix', (expr) => {
    expect(derivative(`det(${expr})`, 'a', { order: 0, let: { a: 'scalar' } }).index).not.toMatch(/det|adj/);
    expect(derivative(`logdet(${expr})`, 'a', { order: 0, let: { a: 'scalar' } }).index).not.toMatch(/det|adj/);
    for (const n of [1, 2, 3, 6]) {
      const values = pointAt(n, 8100);
      const { det, lemma, logdet, logLemma } = both(expr, values);
      expect(Math.abs(lemma - det), `${expr}, n = ${n}: ${lemma} against ${det}`).toBeLessThan(1e-10 * Math.max(1, Math.abs(det)));
      // logdet is log(det): NaN where det < 0, as log(1 + c·v'u) is.
      if (det > 0) expect(Math.abs(logLemma - logdet), `logdet(${expr}), n = ${n}`).toBeLessThan(1e-10 * Math.max(1, Math.abs(logdet)));
      else expect(logLemma, `logdet(${expr}), n = ${n}`).toBeNaN();
    }
  });

  test.each([
    ["det(x*x' + eye)", 'x', 1, '2*x'],
    ["det(x*x' + eye)", 'x', 2, '2*eye'],
    ["det(x*x' + eye)", 'x', 3, '0'],
    ["det(eye - 2*x*y')", 'y', 1, '-2*x'],
    ["det(A*x*x'*B + eye)", 'x', 1, "(A'*B' + B*A)*x"],
    ['det(eye + a*matrix(1, len(x), len(x)))*x', 'a', 1, 'len(x)*x'],
    ["logdet(x*x' + eye)", 'x', 1, "2*x/(1 + x'*x)"],
    ["logdet(x*x' + eye)", 'x', 2, "2*eye/(1 + x'*x) - 4*x*x'/(1 + x'*x)^2"],
    ["logdet(eye + a*x*y')", 'a', 1, "x'*y/(1 + a*x'*y)"],
    ["det(2*eye + x*x')", 'x', 0, "(2 + x'*x)*2^(len(x) - 1)"],
    ["logdet(2*eye + x*x')", 'x', 1, "2*x/(2 + x'*x)"],
  ])('%s by %s, order %i, is %s', (expr, wrt, order, want) => {
    const d = derivative(expr, wrt, { order });
    expect(d.matrix ?? d.index).toBe(want);
  });

  test.each(["det(eye + A)", "det(2*eye + A)", "det(eye + x*x' + y*y')", 'det(eye + diag(x))', "det(eye + A*x*x'*A + B)", "logdet(eye + A)", "logdet(eye + x*x' + y*y')"])('%s keeps its det', (expr) => {
    expect(derivative(expr, 'x', { order: 0, let: { x: 'vector' } }).index).toMatch(/det/);
  });
});

describe('inv of a rank-one update of the identity (Sherman–Morrison)', () => {
  const value = (e: string, values: Record<string, Tensor>): Tensor => derivative(e, 'a', { order: 0, let: { a: 'scalar' } }).evaluate(values);

  test.each(updates)('inv(%s) by Sherman–Morrison: written without inv, and equal to the inverse of the matrix', (expr) => {
    expect(derivative(`inv(${expr})`, 'a', { order: 0, let: { a: 'scalar' } }).index).not.toMatch(/inv/);
    for (const n of [1, 2, 3, 6]) {
      const values = pointAt(n, 8300);
      const m = value(expr, values);
      const want = invert(m.data, n);
      const got = value(`inv(${expr})`, values);
      expect(got.shape).toEqual([n, n]);
      const scale = Math.max(1, ...want.map(Math.abs));
      for (let k = 0; k < n * n; k++) expect(Math.abs(got.data[k]! - want[k]!), `inv(${expr}), n = ${n}, entry ${k}`).toBeLessThan(1e-10 * scale);
      // And its product with the matrix is the identity.
      const product = value(`inv(${expr})*(${expr})`, values);
      for (let k = 0; k < n * n; k++) expect(product.data[k]!).toBeCloseTo(k % (n + 1) === 0 ? 1 : 0, 9);
    }
  });

  test('it is undefined (not finite) exactly where the matrix is singular: s + c·v\'u = 0', () => {
    // y'x = 1 makes eye - x*y' singular: (eye - x*y')*x = 0.
    const x = { shape: [3], data: Float64Array.of(1, 2, -1) };
    const y = { shape: [3], data: Float64Array.of(0.5, 0.5, 0.5) };
    const got = value("inv(eye - x*y')", { x, y, a: { shape: [], data: Float64Array.of(0) } });
    expect([...got.data].some((v) => !Number.isFinite(v))).toBe(true);
    // And y'x = 2 makes 2*eye - x*y' singular.
    const twice = { shape: [3], data: Float64Array.of(1, 1, 1) };
    const scaled = value("inv(2*eye - x*y')", { x, y: twice, a: { shape: [], data: Float64Array.of(0) } });
    expect([...scaled.data].some((v) => !Number.isFinite(v))).toBe(true);
  });

  test.each([
    ["x'*inv(eye + x*x')*x", 'x', 1, "2*x/(1 + x'*x)^2"],
    ["x'*inv(eye + x*x')*x", 'x', 2, "2*eye/(1 + x'*x)^2 - 8*x*x'/(1 + x'*x)^3"],
    ["inv(eye + x*x')", 'x', 0, "eye - x*x'/(1 + x'*x)"],
    ["inv(inv(eye + x*x'))", 'x', 0, "x*x' + eye"],
    ["inv(2*eye + x*x')", 'x', 0, "0.5*(eye - x*x'/(2 + x'*x))"],
    ["tr(inv(eye + a*x*y'))", 'a', 1, "-x'*y/(1 + a*x'*y)^2"],
  ])('%s by %s, order %i, is %s', (expr, wrt, order, want) => {
    const d = derivative(expr, wrt, { order, let: { a: 'scalar' } });
    expect(d.matrix ?? d.index).toBe(want);
  });

  test.each(["inv(eye + A)", "inv(2*eye + A)", "inv(eye + x*x' + y*y')", "inv(eye + A*x*x'*A + B)"])('%s keeps its inv', (expr) => {
    expect(derivative(expr, 'x', { order: 0, let: { x: 'vector' } }).index).toMatch(/inv/);
  });
});

describe('an update whose vectors are long products', () => {
  // The lemma writes det(I + c·u u') as 1 + c·u'u; where u is a product of more factors than a
  // product flattens (u = S*y*(kron(y', y')*kron(y, S))*sum(z)), the closed sum u'u is a nested
  // product alone, which the constructor built again from itself without end ("Maximum call stack
  // size exceeded", fuzz seed 25). Each derivative is checked by the fuzzer's finite differences.
  const cases: readonly [string, string, number, Record<string, string>][] = [
    ["det(S*y*(kron(y', y')*kron(y, S))*sum(z)*(S*y*(kron(y', y')*kron(y, S))*sum(z))' + eye)", 'z', 1, { S: 'symmetric matrix' }],
    ["det(S*y*(kron(y', y')*kron(y, S))*sum(z)*(S*y*(kron(y', y')*kron(y, S))*sum(z))' + eye)", 'y', 1, { S: 'symmetric matrix' }],
    ["det(A*y*(kron(y', y')*kron(y, A))*b*(A*y*(kron(y', y')*kron(y, A))*b)' + eye)", 'b', 2, {}],
    ["det(B*y*(kron(y', y')*kron(vector(1.5), S'))*sum(z)*(B*y*(kron(y', y')*kron(vector(1.5), S'))*sum(z))' + eye)", 'z', 3, { S: 'symmetric matrix' }],
  ];
  test.each(cases)('%s by %s, order %i', (text, wrt, order, decls) => {
    const o = runCase(specFromText(text, wrt, order, decls, 7));
    expect(o.failures).toEqual([]);
    expect(o.pointsChecked).toBeGreaterThan(0);
  });
});
