/**
 * Scalar factors leave inv and det: inv(s·M) = s^-1·inv(M) and det(s·M) = s^n·det(M) (n the size,
 * an integer, so every sign of s is exact; (u^p)^n = u^(p·n) for an integer p), for s a product of
 * scalar factors — a variable, its reciprocal, a compound scalar, a constant; and powers whose
 * exponents hold sizes merge (s^n·s^2 = s^(n + 2), (s^n)^2 = s^(2n)); adj(s·M) = s^(n-1)·adj(M); and
 * logdet(s·M) = n·log(s) + logdet(M) for a positive s. Values and
 * derivatives (orders 0–2) against mathjs evaluating the expression text and finite differences,
 * at sizes 1, 2 and 4 and at points of both signs; the compiled evaluator against the reference.
 */
import { describe, expect, test } from 'vitest';
import { derive, resultSizes, sizeNamesOf } from '../../src/derive.js';
import { evaluateReference } from '../../src/compile/reference.js';
import { compileNodes } from '../../src/compile/compile.js';
import type { Tensor } from '../../src/tensor.js';
import { mathjsFunction } from '../helpers/mathjs.js';
import { fdHessian, fdJacobian, randomTensor, relErr, rng, trustedFd } from '../helpers/numeric.js';

const SCALARS = ['b', '-b', 'a - b', '1/b', 'a*b^2', '2*b', 'sin(b)', '-3'];
const MATRICES = ["A'*A + eye", 'A', "A*A' + 2*eye"];
const FORMS = [
  (s: string, m: string) => `x'*inv((${s})*(${m}))*y`,
  (s: string, m: string) => `sum(inv((${m})/(${s})))`,
  (s: string, m: string) => `det((${s})*(${m}))`,
  (s: string, m: string) => `det((${m})*(${s})*a)`,
  // Powers with a size in the exponent merge: s^n·s = s^(n + 1), (s^n)^2 = s^(2n).
  (s: string, m: string) => `det((${s})*(${m}))*(${s})^2`,
  (s: string, m: string) => `det((${m})/(${s}))^2`,
  // adj(s·M) = s^(n-1)·adj(M).
  (s: string, m: string) => `sum(adj((${s})*(${m})))`,
];
// logdet(s·M) = n·log(s) + logdet(M) for a positive s (at an SPD M, where logdet is defined).
const POSITIVE = ['exp(b)', 'sigmoid(b)', '2', 'exp(b)*sigmoid(a)', 'softplus(b)^3'];

function check(expr: string, wrt: string, n: number, seed: number): void {
  const shapes = { a: [], b: [], x: [n], y: [n], A: [n, n] };
  const f = mathjsFunction(expr, {}, shapes);
  const rand = rng(seed);
  const values = new Map<string, Tensor>();
  for (const [k, s] of Object.entries(shapes)) values.set(k, randomTensor(s, k === 'A' ? 'invertible' : 'away', rand));
  const fx = f(values);
  const floor = 1e-3 * Math.max(1, ...Array.from(fx.data, Math.abs));
  for (const order of wrt === 'b' ? [0, 1, 2] : [1]) {
    const r = derive(expr, wrt, { order });
    const ours = evaluateReference(r.node, values, resultSizes(r, values));
    const compiled = compileNodes({ roots: [r.node], vars: [...r.analysis.lowered.vars.values()], sizeNames: sizeNamesOf(r) })(values)[0]!;
    let want: Tensor | undefined;
    if (order === 0) want = fx;
    else if (order === 1) want = trustedFd((h) => fdJacobian(f, values, wrt, h), 1e-7, floor);
    else want = trustedFd((h) => fdHessian((v) => f(v).data[0]!, values, wrt, h), 1e-6, floor);
    const what = `order ${order} of ${expr} by ${wrt} at n = ${n} (${r.matrix ?? r.index})`;
    if (want) expect(relErr(ours, want, floor), what).toBeLessThan(order === 2 ? 1e-5 : 1e-7);
    expect(relErr(compiled, ours, 1e-9), `compiled ${what}`).toBeLessThan(1e-10);
  }
}

describe('scalar factors of inv and det', () => {
  const cases = FORMS.flatMap((form) => SCALARS.flatMap((s) => MATRICES.map((m) => form(s, m))));
  test.each(cases)('%s', (expr) => {
    [1, 2, 4].forEach((n, i) => {
      check(expr, 'b', n, 31 * n + i + expr.length);
      if (n > 1) check(expr, 'A', n, 97 * n + expr.length);
    });
  });

  test.each(POSITIVE.map((p) => `logdet((${p})*(A'*A + eye))`))('%s', (expr) => {
    [1, 2, 4].forEach((n, i) => {
      check(expr, 'b', n, 53 * n + i + expr.length);
      if (n > 1) check(expr, 'A', n, 59 * n + expr.length);
    });
  });

  test('the printed forms take the scalar out', () => {
    expect(derive('inv(b*A)', 'b').matrix).toBe('-inv(A)/b^2');
    expect(derive('inv(A/b)', 'b', { order: 2 }).matrix).toBe('matrix(0)');
    expect(derive("x'*inv(b*A)*y", 'b', { order: 2 }).matrix).toBe("2*x'*inv(A)*y/b^3");
    expect(derive('det(b*A)', 'b').matrix).toBe('det(A)*b^(rows(A) - 1)*rows(A)');
    expect(derive('logdet(b*A)', 'b').matrix).toBe('rows(A)/b');
    expect(derive('det(-A)', 'A').matrix).toBe("(-1)^rows(A)*adj(A)'");
    expect(derive('det(b*A)*b', 'b').matrix).toBe('det(A)*b^rows(A)*(1 + rows(A))');
    expect(derive('det(b*A)^2', 'b').matrix).toBe('2*det(A)^2*b^(2*rows(A) - 1)*rows(A)');
    expect(derive('det(A/b)*det(b*A)', 'b').matrix).toBe('0');
    expect(derive('adj(b*A)', 'b').matrix).toBe('b^(rows(A) - 2)*(rows(A) - 1)*adj(A)');
    expect(derive('logdet(exp(b)*A)', 'b').matrix).toBe('rows(A)');
    expect(derive('logdet(b*A)', 'b', { order: 2 }).matrix).toBe('-rows(A)/b^2');
    // A negative constant stays inside (log of it is undefined): the derivative is inv(A)' all the same.
    expect(derive('logdet(-2*A)', 'A').matrix).toBe("inv(A)'");
  });
});

// inv(-M) = -inv(M), the scalar -1 of a difference: the inverse of a difference takes the
// orientation the difference itself is kept in, so that M*inv(M) meets as eye whichever way M was
// written. Before, (eye - A)*inv(eye - A) printed t1 - A*t1 where t1 = inv(eye - A).
describe('the inverse of a difference, either way round', () => {
  test.each([
    ['(eye - A)*inv(eye - A)', 'eye'],
    ['(A - eye)*inv(A - eye)', 'eye'],
    ["(A'*A - A)*inv(A'*A - A)", 'eye'],
    ["inv(A - A'*A)*(A - A'*A)", 'eye'],
    ['(y*x\' - A)*inv(y*x\' - A)', 'eye'],
    ['(eye - A)*inv(A - eye)', '-eye'],
  ])('%s is %s', (expr, want) => {
    expect(derive(expr, 'A', { order: 0 }).matrix).toBe(want);
  });

  test('an entry-wise product, or a product with a symmetric matrix in it, next to its inverse is eye', () => {
    expect(derive("(A'.*B)*inv(A'.*B)", 'A', { order: 0 }).matrix).toBe('eye');
    expect(derive('inv(b*(A.*B))*(b*(A.*B))', 'A', { order: 0 }).matrix).toBe('eye');
    // S's slots are sorted in the product, S_ji for S_ij: the derivative of tr(eye)^0.5 is 0.
    const S = { S: 'symmetric matrix' };
    expect(derive('tr(S*B^2*inv(S*B^2))^0.5', 'S', { let: S }).matrix).toBe('matrix(0)');
    expect(derive("x'*inv(S*B)*S*B*y", 'x', { let: S }).matrix).toBe('y');
    expect(derive("A'.*b.*(B.*alpha)*inv(A'.*b.*(B.*alpha))", 'A').index).toBe('0');
  });

  test('by A, the derivative of M*inv(M) is 0 and the printed inverse keeps the written order', () => {
    expect(derive("x'*(eye - A)*inv(eye - A)*y", 'A').matrix).toBe('matrix(0)');
    expect(derive("x'*inv(eye - A)*y", 'A').matrix).toBe("t1'*x*y'*t1' where t1 = inv(eye - A)");
  });

  test.each(["x'*inv(eye - A)*y", "x'*inv(A - A'*A)*y*b", "sum(inv(eye*b - A))"])('%s has the value and derivatives of its text', (expr) => {
    [1, 2, 4].forEach((n, i) => {
      check(expr, 'b', n, 71 * n + i + expr.length);
      if (n > 1) check(expr, 'A', n, 89 * n + expr.length);
    });
  });
});

// det(-inv(S)) = 1/det(-S) and logdet(-inv(S)) = -logdet(-S) for a sum S: the inverse keeps a
// difference in its canonical sign (inv(B - A) is -inv(A - B)), and its determinant turns it back,
// so that it meets det(B - A) as written (before: det(B - A)*(-1)^rows(B)/det(A - B)). A sum whose
// terms share a coefficient gives it to inv, det, logdet and adj as a scalar factor does: inv(2*A -
// 2*B) is 0.5*inv(A - B) (before, inv(2*A - 2*B)*(A - B) stayed as it was written). Zero scan of
// fuzzer seed 6: #1174 and #1570 were derivatives of det(inv(M))*det(M), 0 but not printed so.
describe('determinants and inverses of a difference, and of a sum with a common coefficient', () => {
  test.each([
    ['det(inv(B - A))*det(B - A)', '1'],
    ["det(inv(B - A)')*det(B - A)", '1'],
    ['det(-inv(B - A))*det(A - B)', '1'],
    ["det(inv(x*y' - A))*det(x*y' - A)", '1'],
    ['logdet(inv(B - A)) + logdet(B - A)', '0'],
    ['inv(2*A - 2*B)*(A - B)', '0.5*eye'],
    ['inv(3*(B - A))*(A - B)', '-1/3*eye'],
    ['(2*A - 2*B)*inv(B - A)', '-2*eye'],
    ['det(inv(2*(B - A)))*det(B - A)', '2^-rows(B)'],
  ])('%s is %s', (expr, want) => {
    expect(derive(expr, 'A', { order: 0 }).matrix).toBe(want);
  });

  test('by A, their derivatives print as 0', () => {
    expect(derive('det(inv(B - A))*det(B - A)', 'A').matrix).toBe('matrix(0)');
    expect(derive('logdet(inv(B - A)) + logdet(B - A)', 'A').matrix).toBe('matrix(0)');
    expect(derive('det(inv(2*(B - A)))*det(B - A)', 'A').matrix).toBe('matrix(0)');
  });

  test.each([
    "det(inv(x*y' - A))*b^2",
    "det(inv(A - x*y'))*b",
    "det(-inv(x*y' - A)*b)",
    "x'*inv(3*x*y' - 3*A)*y*b",
    "det(inv(2*A - 2*x*y'))*b",
    "sum(adj(2*A - 2*x*y'))*b",
  ])('%s has the value and derivatives of its text', (expr) => {
    [1, 2, 4].forEach((n, i) => {
      check(expr, 'b', n, 67 * n + i + expr.length);
      if (n > 1) check(expr, 'A', n, 83 * n + expr.length);
    });
  });
});
