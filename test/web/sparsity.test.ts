import { describe, expect, it } from 'vitest';
import { derivative, type Derivative } from '../../src/index.js';
import { resultSizes } from '../../src/derive.js';
import type { Tensor } from '../../src/tensor.js';
import { sparsityPattern } from '../../web/sparsity.js';
import { evaluateAt, randomPoint, type NumericPoint } from '../../web/numeric.js';

/** The pattern and the values of a derivative at a point. */
function at(d: Derivative, point: NumericPoint): { pattern: Uint8Array; data: Float64Array } {
  const tensors = new Map<string, Tensor>([...point.values].map(([k, p]) => [k, { shape: [...p.shape], data: p.data }]));
  return { pattern: sparsityPattern(d.result.node, resultSizes(d.result, tensors)), data: evaluateAt(d, point).data };
}

/** The point with every entry's sign flipped at random (symmetric matrices stay symmetric). */
function withSigns(p: NumericPoint, seed: number): NumericPoint {
  let s = seed;
  const flip = (): number => ((s = (s * 1103515245 + 12345) % 2 ** 31) & 1024 ? -1 : 1);
  const values = new Map([...p.values].map(([k, v]) => [k, { shape: v.shape, data: v.data.map((x) => x * flip()) }]));
  return { values, sizes: p.sizes };
}

const count = (p: Uint8Array): number => p.reduce((a, b) => a + b, 0);

describe('structural sparsity of a derivative', () => {
  // [expr, wrt, order, sizes, flip signs?]: compound arguments, ones and identities, sizes 1 and larger.
  const CASES: [string, string, number, [string, number][], boolean][] = [
    ["x'*A*x", 'x', 2, [], true],
    ["x'*A*x", 'A', 1, [], true],
    ["x'*A*x", 'A', 2, [], true],
    ['X*a', 'X', 1, [], true],
    ["norm2(X*W - Y)^2", 'W', 2, [['n', 4], ['m', 3], ['p', 2]], true],
    ['diag(x)', 'x', 1, [], true],
    ['sin(x).*y', 'x', 1, [], true],
    ['exp(x)', 'x', 2, [], true],
    ['tanh(A*x + b*vector(1))', 'x', 1, [['n', 1]], true],
    ['sum(log(exp(-y.*(X*w)) + vector(1)))', 'w', 2, [], true],
    ['log(det(X))', 'X', 2, [], false],
    ['inv(X)*x', 'x', 1, [], false],
    ["tr(A*X*B*X')", 'X', 2, [['n', 2], ['m', 3]], true],
    ['relu(A*x) + abs(x) - sign(x).*x', 'x', 1, [['n', 6]], true],
    ["(x'*x)^2", 'x', 3, [], true],
    ['diag(diag(X))*y', 'X', 1, [['n', 3], ['m', 3]], true],
    ['eye*x + matrix(1)*y', 'y', 1, [['n', 5]], true],
    ['x.^3 + sqrt(x.^2 + vector(1))', 'x', 2, [['n', 7]], true],
  ];

  it.each(CASES)('%s by %s, order %i: every entry called zero is zero (at several points, signs flipped)', (expr, wrt, order, sizes, flip) => {
    const d = derivative(expr, wrt, { order });
    const checked = d.result.analysis.checked;
    for (const seed of [1, 2, 3]) {
      const p0 = randomPoint(checked, new Map(sizes), seed);
      const point = flip ? withSigns(p0, seed) : p0;
      const { pattern, data } = at(d, point);
      expect(pattern.length).toBe(data.length);
      for (let i = 0; i < data.length; i++) if (pattern[i] === 0) expect(data[i], `${expr}: entry ${i}`).toBe(0);
    }
  });

  it('finds the structure a person would: deltas, diagonals, block diagonals, zero Hessians', () => {
    const pattern = (expr: string, wrt: string, order: number, sizes: [string, number][] = []): Uint8Array => {
      const d = derivative(expr, wrt, { order });
      return at(d, randomPoint(d.result.analysis.checked, new Map(sizes), 1)).pattern;
    };
    // A linear function of A has a zero Hessian.
    expect(count(pattern("x'*A*x", 'A', 2, [['n', 3]]))).toBe(0);
    // ∂(X a)/∂X = δ δ a: one entry per entry of X (n = 3, m = 4).
    expect(count(pattern('X*a', 'X', 1))).toBe(3 * 4);
    // ∂diag(x)/∂x: i = j = k.
    expect(count(pattern('diag(x)', 'x', 1, [['n', 5]]))).toBe(5);
    // Element-wise: a diagonal Jacobian, also for exp (exp(0) ≠ 0, but its derivative is δ·exp(x)).
    expect(count(pattern('sin(x).*y', 'x', 1, [['n', 6]]))).toBe(6);
    expect(count(pattern('exp(x)', 'x', 1, [['n', 6]]))).toBe(6);
    // Hessian of ‖XW − Y‖² by W (p×q): 2·kron(I_q, XᵀX), nonzero iff the columns of W agree.
    const h = pattern('norm2(X*W - Y)^2', 'W', 2, [['n', 4], ['m', 3], ['p', 2]]);
    const [p, q] = [3, 2];
    expect(h.length).toBe(p * q * p * q);
    for (let i = 0; i < p; i++)
      for (let j = 0; j < q; j++)
        for (let k = 0; k < p; k++) for (let l = 0; l < q; l++) expect(h[((i * q + j) * p + k) * q + l], `${i}${j}${k}${l}`).toBe(j === l ? 1 : 0);
    // Sizes 1 work.
    expect(count(pattern('diag(x)', 'x', 1, [['n', 1]]))).toBe(1);
  });
});
