/**
 * Golden `input => output` tables for the printers: the matrix form a person would write, the Ricci
 * index form, and LaTeX that KaTeX renders.
 */
import { describe, expect, test } from 'vitest';
import katex from 'katex';
import { derive } from '../../src/derive.js';

const S = { A: 'symmetric matrix' };

const MATRIX: readonly [string, string, number, Record<string, string>, string][] = [
  ["x'*A*x", 'x', 1, {}, "(A + A')*x"],
  ["x'*A*x", 'x', 2, {}, "A + A'"],
  ["x'*A*x", 'x', 1, S, '2*A*x'],
  ["x'*A*x", 'x', 2, S, '2*A'],
  ["x'*A*x", 'A', 1, {}, "x*x'"],
  ["0.5*x'*A*x + v'*x + c", 'x', 1, {}, "0.5*(A + A')*x + v"],
  ['norm2(A*x - y)^2', 'x', 1, {}, "2*A'*(A*x - y)"],
  ["norm2(A*x - y)^2 + a*x'*x", 'x', 2, {}, "2*(A'*A + a*eye)"],
  ['norm2(x)', 'x', 1, {}, 'x/norm2(x)'],
  ['norm2(x)', 'x', 2, {}, "eye/norm2(x) - x*x'/norm2(x)^3"],
  ['norm1(x)', 'x', 1, {}, 'sign(x)'],
  ['sum(log(exp(-y.*(X*w)) + vector(1)))', 'w', 1, {}, "-X'*(exp(-y.*(X*w)).*y./(exp(-y.*(X*w)) + vector(1)))"],
  ['sum(log(exp(-y.*(X*w)) + vector(1)))', 'w', 2, {}, "X'*diag(y.^2.*exp(-y.*(X*w))./(exp(-y.*(X*w)) + vector(1)).^2)*X"],
  ['sum(exp(x))', 'x', 2, {}, 'diag(exp(x))'],
  ['sum(log(x))', 'x', 2, {}, '-diag(x.^-2)'],
  ["tr(A*X'*B*X*C)", 'X', 1, {}, "B*X*C*A + B'*X*A'*C'"],
  ['log(det(X))', 'X', 1, {}, "inv(X)'"],
  ['det(X)', 'X', 1, {}, "adj(X)'"],
  ["det(X'*X)", 'X', 1, {}, "2*X*adj(X'*X)"],
  ['det(X)*inv(X)', 'X', 0, {}, 'adj(X)'],
  ['log(det(inv(X)))', 'X', 1, {}, "-inv(X)'"],
  ['tr(inv(X)*A)', 'X', 1, {}, "-inv(X)'*A'*inv(X)'"],
  ["norm2(T - U*V')^2", 'U', 1, {}, "-2*(T - U*V')*V"],
  ['exp(A*x)', 'x', 1, {}, 'diag(exp(A*x))*A'],
  ['exp(x)/sum(exp(x))', 'x', 1, {}, "diag(exp(x))/sum(exp(x)) - exp(x)*exp(x)'/sum(exp(x))^2"],
  ['relu(W*x)', 'x', 1, {}, 'diag(sign(relu(W*x)))*W'],
  ['sum(tanh(W*x))', 'W', 1, {}, "(vector(1) - tanh(W*x).^2)*x'"],
  ['a^b', 'a', 1, {}, 'b*a^(b - 1)'],
  ["c*x'*x", 'c', 1, {}, "x'*x"],
  ["x'*A*inv(A)*y", 'x', 1, {}, 'y'],
  // No factoring into a sum of outer products (cheaper to print, costlier to evaluate).
  ["(x'*A*x)/(x'*x)", 'x', 1, {}, "(A + A')*x/norm2(x)^2 - 2*x'*A*x*x/norm2(x)^4"],
  ['log(sum(exp(x)))', 'x', 1, {}, 'exp(x)/sum(exp(x))'],
  ["tr(X'*A*X)", 'X', 1, {}, "(A + A')*X"],
  ['y\'*log(sigmoid(X*w)) + (vector(1) - y)\'*log(vector(1) - sigmoid(X*w))', 'w', 2, {}, "-X'*diag((vector(1) - sigmoid(X*w)).*sigmoid(X*w))*X"],
];

const INDEX: readonly [string, string, number, string][] = [
  ["x'*A*x", 'x', 2, 'A^i_j + A^j_i'],
  ['(x\'*x)^2', 'x', 3, '8 x^i δ^j_k + 8 x^j δ^i_k + 8 x^k δ^i_j'],
  ['sum(x.^4)', 'x', 3, '24 x^i δ^i_j δ^i_k'],
  ["norm2(T - U*V')^2", 'U', 2, '2 δ^i_k V^p_j V_{pl}'],
  ['A*x', 'A', 1, 'δ^i_j x^k'],
  ['norm2(x)', 'x', 1, 'x^i (x^p x_p)^(-0.5)'],
  ['sum(exp(x))', 'x', 0, 'exp(x^p) 1_p'],
  ['det(X)', 'X', 1, 'adj(X)^j_i'],
];

const LATEX: readonly [string, string, number, Record<string, string>, string][] = [
  ["x'*A*x", 'x', 2, {}, 'A + A^\\top'],
  ["x'*A*x", 'x', 2, S, '2 A'],
  ['log(det(X))', 'X', 1, {}, 'X^{-\\top}'],
  ['det(X)', 'X', 1, {}, '\\operatorname{adj}\\left(X\\right)^\\top'],
  ['norm2(x)', 'x', 1, {}, '\\frac{x}{\\left\\lVert x \\right\\rVert_2}'],
  ['x.*y', 'x', 1, {}, '\\operatorname{diag}\\left(y\\right)'],
  ["(x'*x)^2", 'x', 3, {}, '8 {x}^{i} {\\delta}^{j}{}_{k} + 8 {x}^{j} {\\delta}^{i}{}_{k} + 8 {x}^{k} {\\delta}^{i}{}_{j}'],
];

describe('matrix notation', () => {
  test.each(MATRIX)('%s by %s, order %i %o => %s', (expr, wrt, order, decls, want) => {
    expect(derive(expr, wrt, { order, let: decls }).matrix).toBe(want);
  });
});

describe('index notation', () => {
  test.each(INDEX)('%s by %s, order %i => %s', (expr, wrt, order, want) => {
    expect(derive(expr, wrt, { order }).index).toBe(want);
  });
});

describe('LaTeX', () => {
  test.each(LATEX)('%s by %s, order %i %o => %s', (expr, wrt, order, decls, want) => {
    const latex = derive(expr, wrt, { order, let: decls }).latex;
    expect(latex).toBe(want);
    expect(() => katex.renderToString(latex, { throwOnError: true })).not.toThrow();
  });

  test('variable names: Greek letters, digits, long names', () => {
    expect(derive("alpha*x1'*x1", 'x1').latex).toBe('2 \\alpha x_{1}');
    expect(derive("xs'*xs", 'xs').latex).toBe('2 \\mathit{xs}');
  });
});
