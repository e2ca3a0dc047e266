/**
 * Every construct of the language, differentiated to orders 1 and 2 (and some to 3 and 4), checked
 * against finite differences of the expression as mathjs evaluates it (orders ≥ 3: of our
 * next-lower derivative).
 */
import { describe, expect, test } from 'vitest';
import { derive, resultSizes, type Result } from '../../src/derive.js';
import { evaluateReference } from '../../src/compile/reference.js';
import type { Tensor } from '../../src/tensor.js';
import { mathjsFunction } from '../helpers/mathjs.js';
import { type Domain, fdHessian, fdJacobian, randomTensor, relErr, rng } from '../helpers/numeric.js';

interface Case {
  readonly expr: string;
  readonly wrt: string;
  readonly orders: readonly number[];
  readonly domain?: Readonly<Record<string, Domain>>;
  readonly let?: Readonly<Record<string, string>>;
}

const SHAPES: Record<string, number[]> = { a: [], b: [], c: [], x: [3], y: [3], v: [3], A: [3, 3], B: [3, 3], X: [3, 3], W: [2, 3] };

const CASES: readonly Case[] = [
  { expr: "x'*inv(A)*x", wrt: 'A', orders: [1, 2], domain: { A: 'invertible' } },
  { expr: "x'*inv(A)*x", wrt: 'x', orders: [1, 2], domain: { A: 'invertible' } },
  { expr: "x'*A^-1*x", wrt: 'A', orders: [1], domain: { A: 'invertible' } },
  { expr: 'tr(A^-2)', wrt: 'A', orders: [1, 2], domain: { A: 'invertible' } },
  { expr: "x'*A^3*y", wrt: 'A', orders: [1, 2] },
  { expr: 'tr(A^0*B)', wrt: 'B', orders: [1] },
  { expr: 'det(2*A + B)', wrt: 'A', orders: [1], domain: { A: 'invertible' } },
  { expr: 'det(A)', wrt: 'A', orders: [1, 2, 3], domain: { A: 'invertible' } },
  { expr: "x'*adj(A)*y", wrt: 'A', orders: [1, 2], domain: { A: 'invertible' } },
  { expr: 'tr(adj(A)*B)', wrt: 'A', orders: [1], domain: { A: 'invertible' } },
  { expr: "x'*adj(A*B)*y", wrt: 'B', orders: [1], domain: { A: 'invertible', B: 'invertible' } },
  { expr: 'logdet(X)', wrt: 'X', orders: [1, 2], domain: { X: 'spd' } },
  { expr: "logdet(X'*X + eye)", wrt: 'X', orders: [1, 2] },
  { expr: 'norm1(A*x)', wrt: 'x', orders: [1, 2] },
  { expr: 'norm2(A*x)', wrt: 'x', orders: [1, 2] },
  { expr: 'norm2(X)', wrt: 'X', orders: [1, 2] },
  { expr: 'norm2(W*x)^3', wrt: 'W', orders: [1, 2] },
  { expr: 'tr(A*B*A)', wrt: 'A', orders: [1, 2] },
  { expr: "tr(W'*W)", wrt: 'W', orders: [1, 2] },
  { expr: "diag(A)'*x", wrt: 'A', orders: [1] },
  { expr: "x'*diag(y)*x", wrt: 'y', orders: [1] },
  { expr: "x'*diag(y)*x", wrt: 'x', orders: [1, 2] },
  { expr: 'diag(A*B)', wrt: 'A', orders: [1] },
  { expr: 'sum(A.*B)', wrt: 'A', orders: [1] },
  { expr: 'sum(exp(A))', wrt: 'A', orders: [1, 2] },
  { expr: "sum(x*y')", wrt: 'x', orders: [1] },
  { expr: 'sum(sin(x))', wrt: 'x', orders: [1, 2] },
  { expr: 'sum(cos(x))', wrt: 'x', orders: [1, 2] },
  { expr: 'sum(tan(x))', wrt: 'x', orders: [1, 2], domain: { x: 'unit' } },
  { expr: 'sum(arcsin(x))', wrt: 'x', orders: [1, 2], domain: { x: 'unit' } },
  { expr: 'sum(arccos(x))', wrt: 'x', orders: [1, 2], domain: { x: 'unit' } },
  { expr: 'sum(arctan(A*x))', wrt: 'x', orders: [1, 2] },
  { expr: 'sum(exp(A*x))', wrt: 'x', orders: [1, 2, 3, 4] },
  { expr: 'sum(log(x))', wrt: 'x', orders: [1, 2, 3], domain: { x: 'positive' } },
  { expr: 'sum(tanh(A*x))', wrt: 'x', orders: [1, 2] },
  { expr: 'sum(abs(x))', wrt: 'x', orders: [1, 2], domain: { x: 'away' } },
  { expr: "sign(x)'*y", wrt: 'x', orders: [1], domain: { x: 'away' } },
  { expr: "relu(x)'*y", wrt: 'x', orders: [1, 2], domain: { x: 'away' } },
  { expr: 'sum(sqrt(x))', wrt: 'x', orders: [1, 2], domain: { x: 'positive' } },
  { expr: 'sum(sigmoid(A*x))', wrt: 'x', orders: [1, 2] },
  { expr: 'sum(softplus(A*x))', wrt: 'x', orders: [1, 2] },
  { expr: 'a^3', wrt: 'a', orders: [1, 2, 3, 4] },
  { expr: 'a^b', wrt: 'a', orders: [1, 2], domain: { a: 'positive' } },
  { expr: 'a^b', wrt: 'b', orders: [1, 2], domain: { a: 'positive' } },
  { expr: 'a^-2 + sqrt(a)', wrt: 'a', orders: [1, 2], domain: { a: 'positive' } },
  { expr: 'a/b', wrt: 'b', orders: [1, 2], domain: { b: 'positive' } },
  { expr: "x'*y/a", wrt: 'a', orders: [1, 2], domain: { a: 'positive' } },
  { expr: 'sum(x.^y)', wrt: 'x', orders: [1, 2], domain: { x: 'positive' } },
  { expr: 'sum(x.^y)', wrt: 'y', orders: [1, 2], domain: { x: 'positive' } },
  { expr: 'sum(x.^a)', wrt: 'a', orders: [1, 2], domain: { x: 'positive' } },
  { expr: 'sum(a.^x)', wrt: 'x', orders: [1, 2], domain: { a: 'positive' } },
  { expr: 'sum(x./y)', wrt: 'y', orders: [1, 2], domain: { y: 'positive' } },
  { expr: "x'*(A + matrix(2))*x + vector(3)'*x", wrt: 'x', orders: [1, 2] },
  { expr: "x'*(A*B)'*y", wrt: 'B', orders: [1] },
  { expr: "(x'*x)^2", wrt: 'x', orders: [1, 2, 3, 4] },
  { expr: 'sum(x.^4)', wrt: 'x', orders: [3, 4] },
  { expr: "-(x - y)'*(eye + A'*A)*(x - y)", wrt: 'x', orders: [1, 2] },
  { expr: "exp(-a*x'*x)", wrt: 'a', orders: [1, 2] },
  { expr: 'W*x', wrt: 'W', orders: [1, 2] },
  { expr: "x*y'", wrt: 'x', orders: [1] },
  { expr: 'inv(A)', wrt: 'A', orders: [1, 2], domain: { A: 'invertible' } },
  { expr: 'A*B', wrt: 'A', orders: [1] },
];

function values(c: Case, seed: number): Map<string, Tensor> {
  const rand = rng(seed);
  const m = new Map<string, Tensor>();
  for (const [k, s] of Object.entries(SHAPES)) m.set(k, randomTensor(s, c.domain?.[k] ?? 'any', rand));
  return m;
}

const evalAt = (r: Result, v: Map<string, Tensor>): Tensor => evaluateReference(r.node, v, resultSizes(r, v));

describe.each(CASES.map((c) => [`${c.expr} by ${c.wrt}`, c] as const))('%s', (_name, c) => {
  test.each(c.orders.map((k) => [k]))('order %i agrees with finite differences', (k) => {
    const r = derive(c.expr, c.wrt, { order: k, let: c.let ?? {} });
    const f = mathjsFunction(c.expr, c.let ?? {}, SHAPES);
    const lower = k > 1 ? derive(c.expr, c.wrt, { order: k - 1, let: c.let ?? {} }) : undefined;
    for (let p = 0; p < 2; p++) {
      const v = values(c, 7 + p + 31 * k);
      const ours = evalAt(r, v);
      let fd: Tensor;
      if (k === 1) fd = fdJacobian(f, v, c.wrt);
      else if (k === 2 && f(v).shape.length === 0) fd = fdHessian((u) => f(u).data[0]!, v, c.wrt);
      else fd = fdJacobian((u) => evalAt(lower!, u), v, c.wrt);
      expect(ours.shape).toEqual(fd.shape);
      // Below 1e-3·max(1, |f|) errors are absolute: finite-difference noise of second differences.
      const floor = 1e-3 * Math.max(1, ...Array.from(f(v).data, Math.abs));
      expect(relErr(ours, fd, floor), `${r.matrix ?? r.index}`).toBeLessThan(k <= 2 ? 1e-6 : 1e-5);
    }
  });
});

describe('symmetric variables', () => {
  test('the derivative by a symmetric matrix is the symmetric gradient', () => {
    const decl = { X: 'symmetric matrix' };
    const g = derive('logdet(X) + tr(A*X)', 'X', { let: decl });
    expect(g.matrix).toMatch(/^(inv\(X\) \+ 0\.5\*\(A \+ A'\)|0\.5\*\(A \+ A'\) \+ inv\(X\))$/);
    // Directional derivatives along symmetric directions equal ⟨G, V⟩.
    const rand = rng(3);
    const v = new Map<string, Tensor>([
      ['X', randomTensor([3, 3], 'spd', rand)],
      ['A', randomTensor([3, 3], 'any', rand)],
    ]);
    const G = evalAt(g, v);
    const f = mathjsFunction('logdet(X) + tr(A*X)', decl, { X: [3, 3], A: [3, 3] });
    for (let t = 0; t < 3; t++) {
      const V = randomTensor([3, 3], 'any', rand, true);
      const h = 1e-4;
      const at = (s: number): number => {
        const X = v.get('X')!;
        return f(new Map(v).set('X', { shape: X.shape, data: X.data.map((x, i) => x + s * h * V.data[i]!) })).data[0]!;
      };
      const dd = (-at(2) + 8 * at(1) - 8 * at(-1) + at(-2)) / (12 * h);
      const inner = G.data.reduce((s, gi, i) => s + gi * V.data[i]!, 0);
      expect(Math.abs(dd - inner)).toBeLessThan(1e-7 * Math.max(1, Math.abs(dd)));
    }
  });

  test('declared symmetry simplifies A\' to A', () => {
    expect(derive("x'*A'*x", 'x', { let: { A: 'symmetric matrix' } }).matrix).toBe('2*A*x');
    expect(derive("x'*A*y", 'A', { let: { A: 'symmetric matrix' } }).matrix).toMatch(/^0\.5\*\((x\*y' \+ y\*x'|y\*x' \+ x\*y')\)$/);
  });
});
