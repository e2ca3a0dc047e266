/**
 * The logistic function and its integral written with exp: log(exp(u) + 1) is softplus(u),
 * (exp(v) + 1)^p is sigmoid(-v)^-p for p < 0 (so 1/(1 + exp(-x)) is sigmoid(x)), and exp(u)^a
 * times sigmoid(-u)^b is sigmoid(u)^a·sigmoid(-u)^(b - a) for 0 < a ≤ b (exp(x)./(exp(x) + 1) is
 * sigmoid(x)), also for exp(k·u) (exp(2*b)/(1 + exp(b))^3 is sigmoid(b)^2*sigmoid(-b)). The same functions, which with their derivatives stay finite where exp overflows:
 * the logistic loss had the value Inf and a NaN gradient and Hessian past a margin of about -709.
 * Values and derivatives (orders 0–2) are compared with mathjs evaluating the text as written,
 * for compound arguments of either sign, scalar, vector and matrix; then at saturated points with
 * the same expression written with sigmoid and softplus, whose evaluation does not overflow.
 */
import { describe, expect, test } from 'vitest';
import { derive } from '../../src/derive.js';
import { derivative } from '../../src/index.js';
import type { Tensor } from '../../src/tensor.js';
import { mathjsFunction } from '../helpers/mathjs.js';
import { relErr, scaledPoint } from '../helpers/numeric.js';
import { expectOrdersMatchText } from '../helpers/orders.js';
import { expectExportsMatchCompiled } from '../helpers/exports.js';

const SHAPES = { a: [], b: [], x: [3], y: [3], A: [3, 3], X: [3, 2], w: [2] } as const;
const SCALAR_ARGS = ['b', '-2*b', 'a*b', 'b - a', "x'*y*b"];
const VECTOR_ARGS = ['x', '-x', 'A*x - y', '-y.*(A*x)'];

/** Each form with what it is written as with sigmoid and softplus (the same function). */
const SCALAR_FORMS: readonly ((u: string) => [string, string])[] = [
  (u) => [`log(exp(${u}) + 1)`, `softplus(${u})`],
  (u) => [`log(1 + exp(${u}))^2`, `softplus(${u})^2`],
  (u) => [`1/(1 + exp(-(${u})))`, `sigmoid(${u})`],
  (u) => [`(exp(${u}) + 1)^-2`, `sigmoid(-(${u}))^2`],
  (u) => [`(1 + exp(${u}))^-0.5`, `sigmoid(-(${u}))^0.5`],
  (u) => [`exp(${u})/(exp(${u}) + 1)`, `sigmoid(${u})`],
  (u) => [`exp(${u})/(1 + exp(${u}))^3`, `sigmoid(${u})*sigmoid(-(${u}))^2`],
  (u) => [`exp(2*(${u}))/(1 + exp(${u}))^3`, `sigmoid(${u})^2*sigmoid(-(${u}))`],
  (u) => [`exp(-3*(${u}))*sigmoid(${u})^4`, `sigmoid(-(${u}))^3*sigmoid(${u})`],
  (u) => [`log(1 + exp(${u}))/(1 + exp(${u}))`, `softplus(${u})*sigmoid(-(${u}))`],
  // Printed as typed, evaluated from u: log(sigmoid(u)) as -softplus(-u), log(1 - sigmoid(u)) as -softplus(u).
  (u) => [`log(sigmoid(${u}))`, `-softplus(-(${u}))`],
  (u) => [`log(1 - sigmoid(${u}))^2`, `softplus(${u})^2`],
];
const VECTOR_FORMS: readonly ((u: string) => [string, string])[] = [
  (u) => [`sum(log(exp(${u}) + vector(1)))`, `sum(softplus(${u}))`],
  (u) => [`sum(vector(1)./(vector(1) + exp(-(${u}))))`, `sum(sigmoid(${u}))`],
  (u) => [`sum(exp(${u})./(exp(${u}) + vector(1)).^2)`, `sum(sigmoid(${u}).*sigmoid(-(${u})))`],
  (u) => [`y'*(exp(${u})./(vector(1) + exp(${u})))`, `y'*sigmoid(${u})`],
  // The binary cross-entropy as typed: where a sigmoid rounds to 0 or 1 it was Inf, or NaN (0·log(0)).
  (u) => [`-(y'*log(sigmoid(${u})) + (vector(1) - y)'*log(vector(1) - sigmoid(${u})))`, `y'*softplus(-(${u})) + (vector(1) - y)'*softplus(${u})`],
];

const point = (seed: number, scale = 1): Map<string, Tensor> => scaledPoint(SHAPES, seed, scale);

/** Orders 0–2 against mathjs on the text as written, at three points. */
function checkAgainstText(expr: string, wrt: string): void {
  const f = mathjsFunction(expr, {}, SHAPES);
  for (const seed of [11, 23, 37]) expectOrdersMatchText(expr, wrt, f, point(seed));
}

/**
 * At points 400 times larger (|u| in the hundreds), compiled orders 0–2 equal those of the sigmoid
 * form, all finite; absolute below 1 (1 - sigmoid(400) is 0 where sigmoid(-400) is 1.9e-174).
 */
function checkSaturated(expr: string, plain: string, wrt: string): void {
  for (const seed of [5, 17]) {
    const values = Object.fromEntries(point(seed, 400));
    for (const order of [0, 1, 2]) {
      const got = derivative(expr, wrt, { order }).compile()(values);
      const want = derivative(plain, wrt, { order }).compile()(values);
      const what = `order ${order} of ${expr} at |u| in the hundreds`;
      expect(Array.from(got.data).every(Number.isFinite), what).toBe(true);
      expect(relErr(got, want, 1), what).toBeLessThan(1e-12);
    }
  }
}

describe('the logistic function and softplus written with exp', () => {
  const scalarCases = SCALAR_FORMS.flatMap((form) => SCALAR_ARGS.map((u) => form(u)));
  const vectorCases = VECTOR_FORMS.flatMap((form) => VECTOR_ARGS.map((u) => form(u)));

  test.each(scalarCases)('%s is %s', (expr, plain) => {
    checkAgainstText(expr, 'b');
    checkSaturated(expr, plain, 'b');
  });

  test.each(vectorCases)('%s is %s', (expr, plain) => {
    checkAgainstText(expr, 'x');
    checkSaturated(expr, plain, 'x');
  });

  test('log(sigmoid(u)) and log(1 - sigmoid(u)) print as typed; the evaluators and exports read u', () => {
    const bce = "-(y'*log(sigmoid(X*w)) + (vector(1) - y)'*log(vector(1) - sigmoid(X*w)))";
    expect(derive(bce, 'w', { order: 0 }).matrix).toBe("-log(vector(1) - t1)'*(vector(1) - y) - y'*log(t1) where t1 = sigmoid(X*w)");
    const values = point(8, 400);
    values.set('y', { shape: [3], data: Float64Array.of(1, 0, 1) });
    expectExportsMatchCompiled(bce, 'w', 2, values);
    expectExportsMatchCompiled('log(sigmoid(a*b)) - log(1 - sigmoid(b))^2', 'b', 2, point(9, 400));
  });

  test('the logistic loss: printed with sigmoid, and finite at margins of ±800', () => {
    const expr = 'sum(log(exp(-y.*(X*w)) + vector(1)))';
    expect(derive(expr, 'w', { order: 0 }).matrix).toBe('sum(softplus(-y.*(X*w)))');
    expect(derive(expr, 'w', { order: 1 }).matrix).toBe("-X'*(y.*sigmoid(-y.*(X*w)))");
    expect(derive(expr, 'w', { order: 2 }).matrix).toBe("X'*diag(y.^2.*(vector(1) - t1).*t1)*X where t1 = sigmoid(-y.*(X*w))");
    const X: Tensor = { shape: [2, 2], data: Float64Array.of(1, 0, 0, 1) };
    const y: Tensor = { shape: [2], data: Float64Array.of(1, 1) };
    const w: Tensor = { shape: [2], data: Float64Array.of(-800, 800) };
    const at = (order: number): number[] => Array.from(derivative(expr, 'w', { order }).compile()({ X, y, w }).data, (v) => v + 0);
    expect(at(0)[0]).toBeCloseTo(800, 12);
    expect(at(1)).toEqual([-1, 0]);
    expect(at(2)).toEqual([0, 0, 0, 0]);
  });

  test('both sigmoid(u) and sigmoid(-u): one is 1 minus the other where a polynomial holds both', () => {
    expect(derive('sum(exp(x)./(exp(x) + vector(1)).^2)', 'x', { order: 2 }).matrix).toBe(
      'diag(sigmoid(-x).*t1.*(6*(t1.^2 - t1) + vector(1))) where t1 = sigmoid(x)',
    );
  });

  test('printed forms: the sigmoid a person writes', () => {
    expect(derive('1/(1 + exp(-b))', 'b', { order: 0 }).matrix).toBe('sigmoid(b)');
    expect(derive('sum(vector(1)./(vector(1) + exp(-x)))', 'x', { order: 1 }).matrix).toBe('sigmoid(x).*(vector(1) - sigmoid(x))');
    expect(derive('sum(exp(x)./(exp(x) + vector(1)))', 'x', { order: 0 }).matrix).toBe('sum(sigmoid(x))');
    expect(derive('tr(log(exp(X) + matrix(1)))', 'X', { order: 0 }).matrix).toBe('tr(softplus(X))');
  });

  test('only exp(u) + 1, a negative power, and a power of exp no larger than that of the sigmoid', () => {
    expect(derive('log(exp(b) + 2)', 'b', { order: 0 }).matrix).toBe('log(2 + exp(b))');
    expect(derive('log(2*exp(b) + 1)', 'b', { order: 0 }).matrix).toBe('log(1 + 2*exp(b))');
    expect(derive('log(exp(b) - 1)', 'b', { order: 0 }).matrix).toBe('log(exp(b) - 1)');
    expect(derive('(1 + exp(b))^2', 'b', { order: 0 }).matrix).toBe('(1 + exp(b))^2');
    expect(derive('exp(b)^3/(1 + exp(b))^2', 'b', { order: 0 }).matrix).not.toMatch(/^sigmoid\(b\)\^3/);
    expect(derive('exp(3*b)/(1 + exp(b))^2', 'b', { order: 0 }).matrix).toBe('exp(3*b)*sigmoid(-b)^2');
  });

  test('exp(k*u): the power of the sigmoid is k times that of exp, where it is a short number', () => {
    expect(derive('exp(3*b)*sigmoid(-3*b)', 'b', { order: 0 }).matrix).toBe('sigmoid(3*b)');
    expect(derive('exp(b)^2*sigmoid(-2*b)^3', 'b', { order: 0 }).matrix).toBe('sigmoid(-2*b)^2*sigmoid(2*b)');
    expect(derive('exp(0.1*b)*sigmoid(-0.3*b)', 'b', { order: 0 }).matrix).toBe('sigmoid(-0.3*b)*exp(0.1*b)');
  });
});

// Functions of u and -u that add or multiply to what needs neither, wherever a sum (product) holds
// both with those coefficients (on the same entries): sigmoid(u) + sigmoid(-u) = 1,
// softplus(u) - softplus(-u) = u, relu(u) - relu(-u) = u, relu(u) + relu(-u) = abs(u),
// exp(u)^a*exp(-u)^a = 1. softplus(a) - softplus(-a) by a was sigmoid(-a) + sigmoid(a), relu(a) -
// relu(-a) by a was sign(relu(-a)) + sign(relu(a)) (0 at a = 0).
describe('functions of u and -u', () => {
  const isConst = (expr: string, wrt: string, value: number, order = 0): void => {
    const r = derive(expr, wrt, { order });
    expect(r.node.kind === 'const' && r.node.value === value, `${expr}, order ${order}: ${r.matrix ?? r.index}`).toBe(true);
  };
  test.each([...SCALAR_ARGS, ...VECTOR_ARGS])('u = %s', (u) => {
    const wrt = u.includes('x') ? 'x' : 'b';
    isConst(`sigmoid(${u}) + sigmoid(-(${u}))`, wrt, 1);
    isConst(`3*softplus(${u}) - 3*softplus(-(${u})) - 3*(${u})`, wrt, 0);
    isConst(`relu(${u}) - relu(-(${u})) - (${u})`, wrt, 0);
    isConst(`0.5*relu(${u}) + 0.5*relu(-(${u})) - 0.5*abs(${u})`, wrt, 0);
    isConst(`exp(${u}).*exp(-(${u}))`, wrt, 1);
    isConst(`exp(${u}).^2.*exp(-(${u})).^2`, wrt, 1);
    for (const order of [1, 2]) isConst(`log(sigmoid(${u})) - log(sigmoid(-(${u}))) - (${u})`, wrt, 0, order);
    // Unequal coefficients or powers are no pair: both stay.
    expect(derive(`2*sigmoid(${u}) + sigmoid(-(${u}))`, wrt, { order: 0 }).matrix).toMatch(/sigmoid\(.*sigmoid\(/);
    expect(derive(`relu(${u}) + 2*relu(-(${u}))`, wrt, { order: 0 }).matrix).toMatch(/relu\(.*relu\(/);
    expect(derive(`exp(${u}).^2.*exp(-(${u}))`, wrt, { order: 0 }).matrix).toMatch(/exp\(.*exp\(/);
  });
  test('derivatives and sums of the pairs', () => {
    expect(derive('softplus(a) - softplus(-a)', 'a', { order: 1 }).matrix).toBe('1');
    expect(derive('relu(a) - relu(-a)', 'a', { order: 1 }).matrix).toBe('1');
    expect(derive('sum(softplus(x) - softplus(-x))', 'x', { order: 1 }).matrix).toBe('vector(1)');
    expect(derive('relu(a) + relu(-a)', 'a', { order: 0 }).matrix).toBe('abs(a)');
    // Summed over the entries, exp(u).*exp(-u) is the number of entries; the outer product stays.
    expect(derive("exp(A*x)'*exp(-A*x)", 'x', { order: 0 }).matrix).toBe('rows(A)');
    expect(derive("exp(x)*exp(-x)'", 'x', { order: 0 }).matrix).toBe("exp(x)*exp(-x)'");
  });
});
