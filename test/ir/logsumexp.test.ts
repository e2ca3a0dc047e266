/**
 * logsumexp(u) = log(sum(exp(u))) and softmax(u) = exp(u)/sum(exp(u)), over all entries of u.
 * Typed out, log(sum(exp(u))) is logsumexp(u), and exp(u)/sum(exp(u)) is softmax(u), also with
 * more factors exp(u) over a higher power of the sum where they divide out whole: the same functions, evaluated with the largest entry taken out, whose
 * derivatives (softmax, diag(s) - s*s') stay finite where exp overflows. Before, the softmax
 * cross-entropy at logits of 1000 had the value Inf and a NaN gradient.
 * Orders 0–2 are compared with mathjs evaluating the text as written, for compound arguments of
 * either sign, vector and matrix; then at points 400 times larger by shift invariance
 * (logsumexp(u + c) = logsumexp(u) + c, softmax(u + c) = softmax(u)), in every evaluator and export.
 */
import { describe, expect, test } from 'vitest';
import { derive } from '../../src/derive.js';
import { derivative } from '../../src/index.js';
import { logSumExp } from '../../src/compile/kernels/index.js';
import type { Tensor } from '../../src/tensor.js';
import { mathjsFunction } from '../helpers/mathjs.js';
import { relErr, scaledPoint } from '../helpers/numeric.js';
import { expectOrdersMatchText } from '../helpers/orders.js';
import { expectExportsMatchCompiled } from '../helpers/exports.js';

const SHAPES = { b: [], x: [4], y: [4], A: [4, 4], X: [4, 3], W: [4, 4] } as const;
const VECTOR_ARGS = ['x', '-x', 'A*x - y', '-y.*(A*x)', 'b*x'];
const MATRIX_ARGS = ['X', "-A'", 'A*X - X'];

/** Each form with what it is written as with logsumexp and softmax (the same function). */
const FORMS: readonly ((u: string) => [string, string])[] = [
  (u) => [`log(sum(exp(${u})))`, `logsumexp(${u})`],
  (u) => [`log(sum(exp(${u})))^2`, `logsumexp(${u})^2`],
  (u) => [`sum(exp(${u}).*sin(${u}))/sum(exp(${u}))`, `sum(softmax(${u}).*sin(${u}))`],
  (u) => [`sum((exp(${u})/sum(exp(${u}))).^2)`, `sum(softmax(${u}).^2)`],
  (u) => [`sum(exp(${u}).*cos(${u}))*sum(exp(${u}).*sin(${u}))/sum(exp(${u}))^2`, `sum(softmax(${u}).*cos(${u}))*sum(softmax(${u}).*sin(${u}))`],
  (u) => [`-sum(log(exp(${u})/sum(exp(${u}))))`, `-sum(log(softmax(${u})))`],
];
const VECTOR_FORMS: readonly ((u: string) => [string, string])[] = [
  (u) => [`y'*exp(${u})/sum(exp(${u}))`, `y'*softmax(${u})`],
  (u) => [`log(sum(exp(${u}))) - y'*(${u})`, `logsumexp(${u}) - y'*(${u})`],
];

const point = (seed: number, scale = 1): Map<string, Tensor> => scaledPoint(SHAPES, seed, scale);

describe('log-sum-exp and softmax written with exp', () => {
  const cases = [
    ...FORMS.flatMap((form) => [...VECTOR_ARGS, ...MATRIX_ARGS].map((u) => form(u))),
    ...VECTOR_FORMS.flatMap((form) => VECTOR_ARGS.map((u) => form(u))),
  ];

  test.each(cases)('%s is %s, and both agree with the text at orders 0–2', (expr, plain) => {
    expect(derive(expr, 'x', { order: 0 }).node).toBe(derive(plain, 'x', { order: 0 }).node);
    const wrt = expr.includes('x') ? 'x' : expr.includes('X') ? 'X' : 'A';
    for (const text of [expr, plain]) {
      const f = mathjsFunction(text, {}, SHAPES);
      for (const seed of [11, 23]) expectOrdersMatchText(text, wrt, f, point(seed));
    }
  });
});

describe('finite where exp overflows: shift invariance at entries in the hundreds', () => {
  // f(x + c·1) for a constant c: logsumexp gains c, softmax and every derivative of order ≥ 1 of
  // logsumexp do not change. So the derivatives at x·400 equal those at x·400 − max·1, where
  // nothing overflows. Errors are absolute below 1: a softmax that is nearly one-hot has a Hessian
  // of entries like 1e-50 that cancel (1 - s with s within 1e-16 of 1); entries near 400 are
  // known to 400 units in the last place, which exp turns into relative errors near 1e-13.
  const INVARIANT: readonly [string, number][] = [
    ['logsumexp(x)', 1],
    ["y'*softmax(x)", 0],
    ["log(sum(exp(x))) - y'*x", 1],
    ["-y'*log(exp(x)/sum(exp(x)))", 1],
    ['sum(softmax(x).^2)', 0],
  ];
  test.each(INVARIANT)('%s', (expr, from) => {
    for (const seed of [3, 9]) {
      const big = point(seed, 400);
      const x = big.get('x')!;
      const top = Math.max(...x.data);
      const shifted = new Map(big).set('x', { shape: x.shape, data: x.data.map((v) => v - top) });
      for (let order = from; order <= 2; order++) {
        const d = derivative(expr, 'x', { order });
        const got = d.compile()(Object.fromEntries(big));
        const ref = d.evaluate(Object.fromEntries(big));
        const want = d.compile()(Object.fromEntries(shifted));
        const what = `order ${order} of ${expr} at entries in the hundreds`;
        expect(Array.from(got.data).every(Number.isFinite), what).toBe(true);
        expect(relErr(got, want, 1), what).toBeLessThan(1e-10);
        expect(relErr(ref, want, 1), `reference ${what}`).toBeLessThan(1e-10);
      }
    }
  });

  test('the value of logsumexp at entries in the hundreds is the largest entry plus the log of a sum ≥ 1', () => {
    const big = point(4, 400);
    const x = big.get('x')!;
    const top = Math.max(...x.data);
    const want = top + Math.log(x.data.reduce((s, v) => s + Math.exp(v - top), 0));
    const got = derivative('log(sum(exp(x)))', 'x', { order: 0 }).compile()(Object.fromEntries(big)).data[0]!;
    expect(Math.abs(got - want)).toBeLessThan(1e-12 * Math.abs(want));
  });

  test('the kernel: ±∞ and NaN entries give what log Σ exp gives; no entries give −∞', () => {
    const lse = (...v: number[]): number => logSumExp(Float64Array.from(v), 0, v.length);
    expect(lse(1000, 1000)).toBeCloseTo(1000 + Math.log(2), 12);
    expect(lse(-1000, -1000)).toBeCloseTo(-1000 + Math.log(2), 12);
    expect(lse(Infinity, 1)).toBe(Infinity);
    expect(lse(-Infinity, -Infinity)).toBe(-Infinity);
    expect(lse(-Infinity, 0)).toBe(0);
    expect(lse(NaN, Infinity)).toBeNaN();
    expect(lse()).toBe(-Infinity);
    expect(logSumExp(Float64Array.of(5, 0, 0, 7), 1, 2)).toBeCloseTo(Math.log(2), 15);
  });

  test('generated JS, NumPy and PyTorch stay finite and agree with the compiled evaluator', () => {
    expectExportsMatchCompiled("logsumexp(W*x) - y'*W*x + b*sum(softmax(-x).*x)", 'x', 2, point(6, 400));
  });
});

describe('printed forms', () => {
  const GOLDEN: readonly [string, string, number, string][] = [
    ['log(sum(exp(x)))', 'x', 1, 'softmax(x)'],
    ['log(sum(exp(x)))', 'x', 2, "diag(t1) - t1*t1' where t1 = softmax(x)"],
    ['exp(x)/sum(exp(x))', 'x', 0, 'softmax(x)'],
    ["logsumexp(W*x) - y'*W*x", 'W', 1, "(softmax(W*x) - y)*x'"],
    ["-y'*log(softmax(W*x))", 'W', 1, "(sum(y)*softmax(W*x) - y)*x'"],
    ['logsumexp(X)', 'X', 1, 'softmax(X)'],
    ["logsumexp(X')", 'X', 0, 'logsumexp(X)'],
    ['exp(logsumexp(x))', 'x', 0, 'sum(exp(x))'],
    ['softmax(b)', 'b', 0, '1'],
    ["exp(x)*exp(x)'/sum(exp(x))^2", 'x', 0, "softmax(x)*softmax(x)'"],
    // A quotient that does not divide out whole stays as written.
    ['exp(x)/sum(exp(x))^2', 'x', 0, 'exp(x)/sum(exp(x))^2'],
    ['sum(exp(x))^0.5', 'x', 2, "0.5*diag(exp(x))/sum(exp(x))^0.5 - 0.25*exp(x)*exp(x)'/sum(exp(x))^1.5"],
    ['logsumexp(b)', 'b', 0, 'b'],
  ];
  test.each(GOLDEN)('%s by %s, order %i: %s', (expr, wrt, order, want) => {
    expect(derive(expr, wrt, { order }).matrix).toBe(want);
  });

  test('index notation and LaTeX name the functions', () => {
    const r = derive("logsumexp(W*x) - y'*W*x", 'x', { order: 1 });
    expect(r.index).toContain('softmax(');
    expect(derive('logsumexp(A*x)', 'A', { order: 0 }).latex).toContain('\\operatorname{logsumexp}');
    expect(r.latex).toContain('\\operatorname{softmax}');
  });
});

// softmax(u) summed over all its entries is 1: the sum and its derivatives of every order are
// exact zeros, not (1 - sum(softmax(u)))*softmax(u), which round-off leaves at 1e-17; so too
// softmax(u + c·1) by the scalar c (shift invariance). A sum that weighs the entries, or sums only
// some axes of a matrix, is no such sum.
describe('softmax summed over all its entries is 1', () => {
  const ONE = [
    (u: string) => `sum(softmax(${u}))`,
    (u: string) => `vector(1)'*softmax(${u})`,
    (u: string) => `2.5*sum(softmax(${u})) - b`,
    (u: string) => `sum(softmax(${u}))*x`,
  ];
  test.each(ONE.flatMap((form) => VECTOR_ARGS.map((u) => form(u))))('%s: its derivatives by x are those of a constant', (expr) => {
    const timesX = expr.endsWith('*x');
    for (const order of [1, 2, 3]) {
      const r = derive(expr, 'x', { order });
      if (timesX && order === 1) expect(r.matrix).toBe('eye');
      else expect(r.node.kind === 'const' && r.node.value === 0, `order ${order}: ${r.matrix ?? r.index}`).toBe(true);
    }
  });
  test.each(MATRIX_ARGS)('sum(softmax(%s)) by the matrix is 0', (u) => {
    const wrt = u.includes('X') ? 'X' : 'A';
    expect(derive(`sum(softmax(${u}))`, wrt, { order: 1 }).matrix).toBe('matrix(0)');
  });
  test.each(['x', 'A*x - y', '-y.*(A*x)'])('softmax(%s + b*vector(1)) by b is 0', (u) => {
    expect(derive(`softmax(${u} + b*vector(1))`, 'b', { order: 1 }).matrix).toBe('vector(0)');
  });
  // A sum with a term constant along the softmax's entries, contracted with it, gives the
  // softmax that term alone: s'*(u - c·1) = s'*u - c. The entropy's gradient reads as one writes it.
  test('a constant term of a sum contracted with softmax', () => {
    expect(derive("softmax(x)'*log(softmax(x))", 'x', { order: 1 }).matrix).toBe("(x - x'*softmax(x)*vector(1)).*softmax(x)");
    expect(derive('sum(log(softmax(x)))', 'x', { order: 1 }).matrix).toBe('vector(1) - len(x)*softmax(x)');
    for (const u of VECTOR_ARGS) {
      const text = `softmax(${u})'*log(softmax(${u}))`;
      expectOrdersMatchText(text, 'x', mathjsFunction(text, {}, SHAPES), point(29));
    }
  });
  test('weighted sums and sums over one axis keep their derivatives', () => {
    expect(derive("y'*softmax(x)", 'x', { order: 1 }).matrix).toBe("(y - y'*softmax(x)*vector(1)).*softmax(x)");
    const rows = derive('sum(softmax(X)*vector(1))', 'X', { order: 0 });
    expect(rows.matrix).toBe('1');
    // The column sums of softmax(X) (1 in all, not each): a derivative of order 3, not 0.
    const cols = derive("vector(1)'*softmax(X)", 'X', { order: 1 });
    expect(cols.node.kind).not.toBe('const');
    expect(cols.index).toContain('softmax(X)');
    const f = mathjsFunction('sum(softmax(x).^2)', {}, SHAPES);
    expectOrdersMatchText('sum(softmax(x).^2)', 'x', f, point(5));
  });
});

// A vector contracted with a sum whose term is a broadcast along the contracted axis, 1*v' (the
// Jacobian of log(softmax(u)) is I - 1*s'): that term meets the vector as its sum, y'*1 = sum(y),
// so the cross-entropy's gradient is W'*(y - sum(y)*softmax(W*x)), not (W - 1*s'*W)'*y. A
// constant broadcast (matrix(c), a*matrix(1)) stays in its sum.
describe('a vector contracted with a broadcast term of a sum', () => {
  const GOLDEN: readonly [string, string][] = [
    ["y'*log(softmax(W*x))", "W'*(y - sum(y)*softmax(W*x))"],
    ["-y'*log(softmax(W*x))", "W'*(sum(y)*softmax(W*x) - y)"],
    ["x'*softmax(W*x)", "t1 + W'*((x - x'*t1*vector(1)).*t1) where t1 = softmax(W*x)"],
    ["vector(1)'*log(softmax(A*x - y))", "A'*(vector(1) - rows(A)*softmax(A*x - y))"],
    ["y'*log(softmax(x))", 'y - sum(y)*softmax(x)'],
  ];
  test.each(GOLDEN)('%s by x: %s', (expr, want) => {
    expect(derive(expr, 'x', { order: 1 }).matrix).toBe(want);
  });
  const WEIGHTS = ['y', 'y.*x', 'vector(1)', '-2*y', 'exp(x)'];
  const cases = WEIGHTS.flatMap((w) => [...VECTOR_ARGS, 'W*x', '-W*x + y'].map((u) => `(${w})'*log(softmax(${u}))`));
  test.each(cases)('%s: no broadcast left in its gradient, and orders 0–2 agree with the text', (expr) => {
    const r = derive(expr, 'x', { order: 1 });
    expect(r.matrix).not.toMatch(/vector\(1\)\*[^ ]*softmax/);
    expectOrdersMatchText(expr, 'x', mathjsFunction(expr, {}, SHAPES), point(31));
  });
  test('a constant broadcast stays in its sum', () => {
    // Distributed, each would have a term sum(z)*vector(1).
    for (const [expr, wrt] of [["(X - matrix(0.5))'*z", 'z'], ["(b*matrix(1) - X)'*z", 'b'], ["y'*(X + b*matrix(1))*z", 'b']] as const) {
      const r = derive(expr, wrt, { order: 0 });
      expect(r.matrix).not.toContain('sum(');
      expect(r.matrix).toContain('matrix(');
    }
  });
});

// Shift invariance in the IR: a scalar added to every entry comes out of logsumexp and vanishes
// from softmax, so that softmax(y - vector(1)) prints as softmax(y), not as
// exp(y - (1 + logsumexp(y - vector(1)))*vector(1)).
describe('a scalar added to every entry', () => {
  const SHIFTS = ['b', '-2', '1.5 - b', "x'*x"];
  const cases = [
    ...VECTOR_ARGS.flatMap((u) => SHIFTS.map((c) => [u, c, 'vector'] as const)),
    ...MATRIX_ARGS.flatMap((u) => SHIFTS.map((c) => [u, c, 'matrix'] as const)),
  ];
  test.each(cases)('u = %s, c = %s', (u, c, ones) => {
    const shifted = `${u} + (${c})*${ones}(1)`;
    const node = (text: string): unknown => derive(text, 'b', { order: 0 }).node;
    expect(node(`softmax(${shifted})`)).toBe(node(`softmax(${u})`));
    expect(node(`logsumexp(${shifted})`)).toBe(node(`logsumexp(${u}) + ${c}`));
    expect(node(`log(sum(exp(${shifted})))`)).toBe(node(`logsumexp(${u}) + ${c}`));
  });
  test('printed forms and values', () => {
    expect(derive('logsumexp(y - vector(3))', 'y', { order: 1 }).matrix).toBe('softmax(y)');
    expect(derive('logsumexp(x + b*vector(1))', 'b', { order: 0 }).matrix).toBe('b + logsumexp(x)');
    expect(derive('softmax(x + b*vector(1))', 'x', { order: 1 }).matrix).toBe("diag(t1) - t1*t1' where t1 = softmax(x)");
    // Nothing but the shift: softmax(c·1) is 1/n on every entry, logsumexp(c·1) is c + log(n).
    expect(derive("x'*softmax(vector(2))", 'x', { order: 1 }).matrix).toBe('vector(1)/len(x)');
    expect(derive("x'*softmax(b*x./x)", 'b', { order: 1 }).matrix).toBe('0');
    expect(derive('logsumexp(vector(b))', 'b', { order: 1 }).matrix).toBe('1');
    for (const text of ['logsumexp(A*x - vector(2) + b*vector(1))^2', 'sum(softmax(A*x + b*vector(1)).*sin(x))', "x'*softmax(b*vector(1))*b + logsumexp(b*x)"]) {
      const f = mathjsFunction(text, {}, SHAPES);
      for (const wrt of ['x', 'b']) expectOrdersMatchText(text, wrt, f, point(17));
    }
  });
});
