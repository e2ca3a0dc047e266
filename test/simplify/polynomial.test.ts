/**
 * collect-polynomial: a scalar sum whose terms multiply sums (or raise them to powers up to 4) is
 * multiplied out and its like terms collected where that shortens the form. Checked on sums built
 * directly (values at points of both signs, the cost, the limits) and on printed derivatives.
 */
import { describe, expect, it } from 'vitest';
import { makeAdd, makeElem, makeMul, makePow, makeVar, ones, type Node } from '../../src/ir/node.js';
import { collectPolynomial, factorUnitRoots } from '../../src/simplify/rules/polynomial.js';
import { evaluateReference } from '../../src/compile/reference.js';
import { cost } from '../../src/simplify/cost.js';
import { derivative } from '../../src/index.js';
import type { Tensor } from '../../src/tensor.js';
import { rng } from '../helpers/numeric.js';

const t = makeVar('t', []);
const s = makeVar('s', []);
const ATOMS: Node[] = [t, s, makeElem('sin', s), makeElem('sigmoid', t)];
const one = ones([]);
const sum = (...terms: [number, Node][]): Node => makeAdd(terms.map(([coef, node]) => ({ coef, node })), []);
const prod = (...fs: Node[]): Node => makeMul(fs.map((node) => ({ node, labels: [] })), 0);
const at = (n: Node, tv: number, sv: number): number =>
  evaluateReference(
    n,
    new Map<string, Tensor>([
      ['t', { shape: [], data: Float64Array.of(tv) }],
      ['s', { shape: [], data: Float64Array.of(sv) }],
    ]),
    new Map(),
  ).data[0]!;

describe('collect-polynomial on sums built directly', () => {
  it('keeps the value (points of both signs, zero) and lowers the cost wherever it applies', () => {
    const rand = rng(5);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
    const coef = (): number => pick([1, -1, 2, -3, 0.5, 6]);
    // Small sums of atoms and constants, multiplied and raised to powers 2 to 4.
    const small = (): Node => sum([coef(), pick(ATOMS)], [coef(), rand() < 0.5 ? one : pick(ATOMS)]);
    const term = (): Node => {
      const r = rand();
      if (r < 0.3) return prod(pick(ATOMS), small());
      if (r < 0.55) return makePow(small(), 2 + Math.floor(rand() * 3));
      if (r < 0.8) return prod(small(), small(), pick(ATOMS));
      return prod(pick(ATOMS), pick(ATOMS));
    };
    let applied = 0;
    for (let trial = 0; trial < 600; trial++) {
      const before = sum(...Array.from({ length: 2 + Math.floor(rand() * 3) }, (): [number, Node] => [coef(), term()]));
      const after = collectPolynomial.apply(before);
      if (after === undefined) continue;
      applied++;
      expect(cost(after)).toBeLessThan(cost(before));
      for (const [tv, sv] of [[0.3, -0.7], [-1.5, 2], [0, 0], [1, -1], [2.5, 0.25]]) {
        const a = at(before, tv!, sv!);
        const b = at(after, tv!, sv!);
        expect(Math.abs(a - b), `t = ${tv}, s = ${sv}`).toBeLessThan(1e-9 * Math.max(1, Math.abs(a)) * 1e3);
      }
    }
    expect(applied).toBeGreaterThan(30);
  });

  it('collects what cancels: (2t - 1)^2 - 2t(1 - t) is 1 - 6t + 6t^2, and (t + s)^2 - (t - s)^2 is 4ts', () => {
    const a = collectPolynomial.apply(sum([1, makePow(sum([2, t], [-1, one]), 2)], [-2, prod(t, sum([1, one], [-1, t]))]))!;
    expect(a).toBe(sum([1, one], [-6, t], [6, makePow(t, 2)]));
    const b = collectPolynomial.apply(sum([1, makePow(sum([1, t], [1, s]), 2)], [-1, makePow(sum([1, t], [-1, s]), 2)]))!;
    expect(b).toBe(sum([4, prod(t, s)]));
  });

  it('stops at its limits: powers above 4, more than 24 monomials, fractional or negative powers of atoms', () => {
    const x5 = sum([1, makePow(sum([1, t], [1, one]), 5)], [-1, makePow(t, 5)]);
    expect(collectPolynomial.apply(x5)).toBeUndefined();
    const wide = sum([1, prod(sum([1, t], [1, s], [1, one]), sum([1, t], [-1, s], [2, one]), sum([1, makeElem('sin', s)], [1, t], [3, one]))], [1, s]);
    expect(collectPolynomial.apply(wide)).toBeUndefined();
    const frac = sum([1, prod(makePow(t, -1.5), sum([1, t], [1, one]))], [-1, makePow(t, -0.5)]);
    expect(collectPolynomial.apply(frac)).toBeUndefined();
  });
});

describe('collect-polynomial in derivatives', () => {
  it('writes polynomial factors as a person does', () => {
    expect(derivative('exp(a^4)', 'a', { order: 3 }).matrix).toBe('8*(18*a^5 + 3*a + 8*a^9)*exp(a^4)');
    // σ''' = σ(1 - σ)(1 - 6σ + 6σ²) and σ'''' = σ(1 - σ)(1 - 2σ)(1 - 12σ + 12σ²).
    expect(derivative('sigmoid(b)', 'b', { order: 3 }).matrix).toBe('(1 - 6*t1*(1 - t1))*t1*(1 - t1) where t1 = sigmoid(b)');
    expect(derivative('sigmoid(b)', 'b', { order: 4 }).matrix).toBe('(1 - 12*t1*(1 - t1))*(1 - 2*t1)*t1*(1 - t1) where t1 = sigmoid(b)');
  });
});

// A polynomial with a root at 1 or -1, multiplied out, loses every digit to cancellation where
// its atom nears the root (a saturated sigmoid or tanh); factor-unit-roots writes the root as a
// factor. The third derivative of arcsin(sigmoid(a)) divided such a numerator by (1 - t^2)^2.5:
// at a = 19 the compiled and reference values differed by 20 % (fuzzer, seed 4).
describe('factor-unit-roots', () => {
  it('takes out (1 - t)^m and (1 + t)^k, keeps the value, and leaves 1 - t^2 and root-free sums alone', () => {
    // (1 - t)^2·(1 + t)·(2 + t) and -(1 - t)·(3 + t^2), multiplied out.
    const p = sum([2, one], [-1, t], [-3, makePow(t, 2)], [1, makePow(t, 3)], [1, makePow(t, 4)]);
    const q = sum([-3, one], [3, t], [-1, makePow(t, 2)], [1, makePow(t, 3)]);
    const ps = sum([1, makeElem('sigmoid', s)], [1, makePow(makeElem('sigmoid', s), 2)], [-2, makePow(makeElem('sigmoid', s), 3)]);
    for (const n of [p, q, ps]) {
      const f = factorUnitRoots.apply(n)!;
      expect(f).toBeDefined();
      for (const tv of [-2, -1, -0.3, 0, 0.5, 1, 3]) for (const sv of [-1, 0.7]) expect(at(f, tv, sv)).toBeCloseTo(at(n, tv, sv), 12);
    }
    expect(factorUnitRoots.apply(p)).toBe(prod(makePow(sum([1, one], [-1, t]), 2), sum([1, one], [1, t]), sum([2, one], [1, t])));
    // Root-free, a binomial (1 - t^2, 1 - t^8, t - t^3), linear, or in two atoms: unchanged.
    expect(factorUnitRoots.apply(sum([1, one], [-6, t], [6, makePow(t, 2)]))).toBeUndefined();
    for (const d of [2, 8]) expect(factorUnitRoots.apply(sum([1, one], [-1, makePow(t, d)]))).toBeUndefined();
    expect(factorUnitRoots.apply(sum([1, t], [-1, makePow(t, 3)]))).toBeUndefined();
    expect(factorUnitRoots.apply(sum([1, one], [-1, t]))).toBeUndefined();
    expect(factorUnitRoots.apply(sum([1, one], [-1, prod(t, s)], [-2, t], [2, s]))).toBeUndefined();
  });

  it('keeps the factor where collect-polynomial would multiply it out', () => {
    // (1 - t)^2*(2 + t) + (1 - t)^2 = (1 - t)^2*(3 + t): shorter multiplied out, but with its root.
    const n = sum([1, prod(makePow(sum([1, one], [-1, t]), 2), sum([2, one], [1, t]))], [1, makePow(sum([1, one], [-1, t]), 2)]);
    expect(collectPolynomial.apply(n)).toBeUndefined();
  });

  it('derivatives of saturated sigmoids and tanh keep their digits: compiled, reference and a difference of the order below agree', () => {
    // Points where the atom is 1 - 1e-8 to 1 - 4e-11 (sigmoid(24), tanh(9)), still apart from 1 in doubles.
    const SIGMOID = [2, 19, 24, -3];
    const TANH = [0.5, 6, 9, -2];
    const cases: [string, string, number, number[]][] = [
      ['arcsin(sigmoid(a))', '(1 + 2*t1^4 + 3*t1^3 - 4*t1 - t1^2)*(1 - t1)^3*t1/(1 - t1^2)^2.5 where t1 = sigmoid(a)', 3, SIGMOID],
      ['arcsin(sigmoid(a))', '', 4, SIGMOID],
      ['sqrt(1 - sigmoid(a)^2)', '', 2, SIGMOID],
      ['arcsin(tanh(a)^3)', '', 3, TANH],
      ['sqrt(1 - tanh(a)^4)', '', 2, TANH],
    ];
    for (const [expr, printed, order, points] of cases) {
      const d = derivative(expr, 'a', { order });
      if (printed) expect(d.matrix).toBe(printed);
      const below = derivative(expr, 'a', { order: order - 1 });
      const compiled = d.compile();
      for (const a of points) {
        const value = (r: typeof d, v: number): number => r.evaluate({ a: { shape: [], data: Float64Array.of(v) } }).data[0]!;
        const ours = value(d, a);
        const h = 1e-3 * Math.max(1, Math.abs(a));
        const fd = (value(below, a + h) - value(below, a - h)) / (2 * h);
        expect(Math.abs(ours - fd), `${expr}, order ${order}, a = ${a}: ${ours} vs ${fd}`).toBeLessThan(1e-4 * Math.max(Math.abs(fd), 1e-12) + 1e-14);
        // Relative, to 8 digits: tanh(9) = 1 - 3e-8 in doubles leaves 1 - tanh(9) 8 correct digits
        // however the rest is written, and the compiled plan rounds in another order.
        const theirs = compiled({ a: { shape: [], data: Float64Array.of(a) } }).data[0]!;
        expect(Math.abs(theirs - ours), `${expr}, order ${order}, a = ${a}: compiled ${theirs} vs ${ours}`).toBeLessThan(1e-8 * Math.abs(ours));
      }
    }
  });

  it('entry-wise too: the diagonal of sum(g(x)) by x is g\'s scalar derivative at each entry, compiled and reference', () => {
    // Entry-wise, the numerator of arcsin(sigmoid(x))'s third derivative stayed multiplied out,
    // (1 - t).*(1 + 2*t.^6 + 8*t.^2 + t.^3 - 5*t.^4 - 6*t - t.^5): at x = 18 the reference gave
    // -1.04e-5 and the compiled plan 0 for 2.18e-5, and kron(y', y')*arcsin(sigmoid(kron(vector(-3),
    // X')))*z by X was 6e-6 off at an entry of X near -3.8 (fuzzer, seed 56, order 3).
    const SIGMOID = [2, 19, 24, -3, 15];
    const TANH = [0.5, 6, 9, -2, 7];
    const cases: [string, string, number, number[]][] = [
      ['arcsin(sigmoid(#))', 'x', 3, SIGMOID],
      ['arcsin(sigmoid(#))', 'x', 4, SIGMOID],
      ['sqrt(1 - sigmoid(#)^2)', 'x', 2, SIGMOID],
      ['arcsin(tanh(#)^3)', 'x', 3, TANH],
      ['sqrt(1 - tanh(#)^4)', 'x', 2, TANH],
      ['arcsin(sigmoid(#))', 'X', 3, SIGMOID.slice(0, 4)],
      ['arcsin(sigmoid(-3*#))', 'X', 3, SIGMOID.slice(0, 4).map((v) => -v / 3)],
    ];
    for (const [g, wrt, order, points] of cases) {
      const scalar = derivative(g.replaceAll('#', 'a'), 'a', { order });
      const entry = g.replaceAll('#', wrt).replaceAll('^', '.^').replace('1 - ', wrt === 'x' ? 'vector(1) - ' : 'matrix(1) - ');
      const d = derivative(`sum(${entry})`, wrt, { order });
      const shape = wrt === 'x' ? [points.length] : [2, 2];
      const values = { [wrt]: { shape, data: Float64Array.from(points) } };
      const ours = d.evaluate(values).data;
      const theirs = d.compile()(values).data;
      const n = points.length;
      points.forEach((v, i) => {
        const want = scalar.evaluate({ a: { shape: [], data: Float64Array.of(v) } }).data[0]!;
        const at = Array.from({ length: order }, () => i).reduce((k, j) => k * n + j, 0);
        const tol = 1e-8 * Math.max(Math.abs(want), 1e-300);
        expect(Math.abs(ours[at]! - want), `${entry} by ${wrt}, order ${order}, entry ${v}: ${ours[at]} vs ${want}`).toBeLessThan(tol);
        expect(Math.abs(theirs[at]! - want), `${entry} by ${wrt}, order ${order}, entry ${v}: compiled ${theirs[at]} vs ${want}`).toBeLessThan(tol);
      });
    }
  });
});

// Entry-wise: a tensor sum whose terms are Hadamard products (each factor read on the sum's own
// axes, or a scalar) of sums. Only where like terms collect, and never past a root at ±1 of a
// polynomial in one atom (the saturated sigmoid's σ(1 - σ) stays as it is).
describe('collect-polynomial entry-wise', () => {
  const D = 3;
  const x = makeVar('x', [D]);
  const y = makeVar('y', [D]);
  const VATOMS: Node[] = [x, y, makeElem('sin', y), makeElem('sigmoid', x)];
  const vone = ones([D]);
  const vsum = (...terms: [number, Node][]): Node => makeAdd(terms.map(([coef, node]) => ({ coef, node })), [D]);
  const had = (...fs: Node[]): Node => makeMul(fs.map((node) => ({ node, labels: node.shape.length === 0 ? [] : [0] })), 1);
  const sizes = new Map<number, number>([[D, 4]]);
  const atPoint = (n: Node, seed: number): Tensor => {
    const r = rng(seed);
    const v = (): Float64Array => Float64Array.from({ length: 4 }, () => 4 * r() - 2);
    return evaluateReference(
      n,
      new Map<string, Tensor>([
        ['x', { shape: [4], data: v() }],
        ['y', { shape: [4], data: v() }],
        ['t', { shape: [], data: Float64Array.of(4 * r() - 2) }],
      ]),
      sizes,
    );
  };

  it('keeps every entry (points of both signs) and lowers the cost wherever it applies', () => {
    const rand = rng(11);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
    const coef = (): number => pick([1, -1, 2, -3, 0.5]);
    const small = (): Node => vsum([coef(), pick(VATOMS)], [coef(), rand() < 0.5 ? vone : pick(VATOMS)]);
    const term = (): Node => {
      const r = rand();
      if (r < 0.35) return had(pick(VATOMS), small());
      if (r < 0.55) return makePow(small(), 2);
      if (r < 0.75) return had(t, small());
      if (r < 0.9) return had(small(), small());
      return pick(VATOMS);
    };
    let applied = 0;
    for (let trial = 0; trial < 600; trial++) {
      const before = vsum(...Array.from({ length: 2 + Math.floor(rand() * 3) }, (): [number, Node] => [coef(), term()]));
      const after = collectPolynomial.apply(before);
      if (after === undefined) continue;
      applied++;
      expect(after.shape).toEqual([D]);
      expect(cost(after)).toBeLessThan(cost(before));
      for (const seed of [1, 2, 3]) {
        const a = atPoint(before, seed).data;
        const b = atPoint(after, seed).data;
        for (let i = 0; i < a.length; i++) expect(Math.abs(a[i]! - b[i]!)).toBeLessThan(1e-9 * Math.max(1, Math.abs(a[i]!)));
      }
    }
    expect(applied).toBeGreaterThan(30);
  });

  it('collects what cancels, keeps what only distributes, and keeps a root at 1', () => {
    // (1 - x).*y - x.*(1 - y) = y - x
    const bce = vsum([1, had(vsum([1, vone], [-1, x]), y)], [-1, had(x, vsum([1, vone], [-1, y]))]);
    expect(collectPolynomial.apply(bce)).toBe(vsum([1, y], [-1, x]));
    // y.*(x.^2 + 1) + x: multiplied out nothing collects.
    expect(collectPolynomial.apply(vsum([1, had(y, vsum([1, makePow(x, 2)], [1, vone]))], [1, x]))).toBeUndefined();
    // (1 - σ).*σ - (1 - σ).*σ.^2 is σ(1 - σ)^2 factored: σ - 2σ² + σ³ has the root 1.
    const sg = makeElem('sigmoid', x);
    const rooted = vsum([1, had(vsum([1, vone], [-1, sg]), sg)], [-1, had(vsum([1, vone], [-1, sg]), makePow(sg, 2))]);
    expect(collectPolynomial.apply(rooted)).toBeUndefined();
  });

  it('takes sigmoid(-u) as 1 - sigmoid(u) where both occur, and only there', () => {
    const sp = makeElem('sigmoid', x);
    const sm = makeElem('sigmoid', makeMul([{ node: makeAdd([{ coef: -1, node: x }], [D]), labels: [0] }], 1));
    // y.*sigmoid(-x) - (1 - y).*sigmoid(x) = y - sigmoid(x)
    const both = vsum([1, had(y, sm)], [-1, had(vsum([1, vone], [-1, y]), sp)]);
    expect(collectPolynomial.apply(both)).toBe(vsum([1, y], [-1, sp]));
    for (const seed of [4, 5]) {
      const a = atPoint(both, seed).data;
      const b = atPoint(vsum([1, y], [-1, sp]), seed).data;
      for (let i = 0; i < a.length; i++) expect(a[i]).toBeCloseTo(b[i]!, 14);
    }
    // sigmoid(-x) alone stays: y.*(sigmoid(-x) + x) + y is not rewritten in sigmoid(x).
    expect(collectPolynomial.apply(vsum([1, had(y, vsum([1, sm], [1, x]))], [1, x]))).toBeUndefined();
  });

  it('in derivatives: the binary cross-entropy gradient is X\'*(y - sigmoid(X*w)), and matrices collect too', () => {
    const bce = "y'*log(sigmoid(X*w)) + (vector(1) - y)'*log(vector(1) - sigmoid(X*w))";
    expect(derivative(bce, 'w', { order: 1 }).matrix).toBe("X'*(y - sigmoid(X*w))");
    expect(derivative(bce, 'w', { order: 2 }).matrix).toBe("-X'*diag((vector(1) - t1).*t1)*X where t1 = sigmoid(X*w)");
    expect(derivative('(matrix(1) - X).*Y - X.*(matrix(1) - Y)', 'Y', { order: 0 }).matrix).toBe('Y - X');
    expect(derivative('(x + y).^2 - (x - y).^2', 'x', { order: 0 }).matrix).toBe('4*(x.*y)');
    // σ'' = σ(1 - σ)(1 - 2σ) stays factored.
    expect(derivative('sum(sigmoid(x))', 'x', { order: 2 }).matrix).toBe('diag(t1.*(vector(1) - t1).*(vector(1) - 2*t1)) where t1 = sigmoid(x)');
  });
});
