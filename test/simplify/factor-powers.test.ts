/**
 * factor-powers: a base shared by several terms, at powers of one sign, is taken out once,
 *   Σ_t c_t u^(k_t) R_t → u^m Σ_t c_t u^(k_t - m) R_t,
 * with u up to sign ((t - 1)^3 = -(1 - t)^3) and entry-wise on vectors. Checked here:
 * - on sums built directly: the value before and after agree at every point, exactly where they
 *   are not finite (u = 0 under negative powers, u < 0 under fractional ones);
 * - every rewrite lowers the simplifier's cost (the rule applies only where it shortens the form);
 * - on derivatives of element-wise functions of compound arguments: the printed form, read back,
 *   evaluates to the derivative.
 */
import { describe, expect, it } from 'vitest';
import { makeAdd, makeElem, makeMul, makePow, makePowv, makeVar, ones, type Node } from '../../src/ir/node.js';
import { factorPowers } from '../../src/simplify/rules/factor.js';
import { evaluateReference } from '../../src/compile/reference.js';
import { bindSizes } from '../../src/compile/reference.js';
import { analyze, derive, resultSizes } from '../../src/derive.js';
import { derivative } from '../../src/index.js';
import { cost } from '../../src/simplify/cost.js';
import type { Dim } from '../../src/ir/node.js';
import type { Tensor } from '../../src/tensor.js';
import { relErr, rng } from '../helpers/numeric.js';

const t = makeVar('t', []);
const s = makeVar('s', []);
const e = makeVar('e', []);
const x = makeVar('x', [3]);
const sc = (c: number): Node => makeAdd([{ coef: c, node: ones([]) }], []);
const oneMinus = (u: Node): Node => makeAdd([{ coef: 1, node: ones(u.shape) }, { coef: -1, node: u }], u.shape);
const minusOne = (u: Node): Node => makeAdd([{ coef: 1, node: u }, { coef: -1, node: ones(u.shape) }], u.shape);
const times = (...fs: Node[]): Node => makeMul(fs.map((node) => ({ node, labels: node.shape.map((_, i) => i) })), fs[0]!.shape.length);

/**
 * The same value within round-off where finite; not finite where it was not. At a pole (u = 0
 * under a negative power) the sum is undefined, and a sum of infinities of both signs (NaN) may
 * become one infinity, as with any factoring (1/u - 2/u = -1/u): the rule never makes a finite
 * value there, nor a non-finite one anywhere else.
 */
function same(a: number, b: number): boolean {
  if (!Number.isFinite(a) || !Number.isFinite(b)) return Number.isFinite(a) === Number.isFinite(b);
  return Math.abs(a - b) <= 1e-12 * Math.max(1, Math.abs(a), Math.abs(b));
}

function values(tv: number, sv: number, xv: readonly number[], ev = 1): Map<string, Tensor> {
  return new Map<string, Tensor>([
    ['e', { shape: [], data: Float64Array.of(ev) }],
    ['t', { shape: [], data: Float64Array.of(tv) }],
    ['s', { shape: [], data: Float64Array.of(sv) }],
    ['x', { shape: [3], data: Float64Array.from(xv) }],
  ]);
}
const sizes = new Map<number, number>([[3, 3]]);

/** Applies the rule to a fixed point at the root (as a phase would, one base at a time). */
function factorAll(n: Node): Node {
  for (let i = 0; i < 10; i++) {
    const out = factorPowers.apply(n);
    if (out === undefined) return n;
    n = out;
  }
  return n;
}

/**
 * Rewrites a scalar sum to a fixed point; where it changed, its cost fell, and at every point its
 * value stayed the same (same()). True when it changed.
 */
function checkFactoring(before: Node, points: readonly Map<string, Tensor>[]): boolean {
  const after = factorAll(before);
  if (after !== before) expect(cost(after)).toBeLessThan(cost(before));
  for (const vals of points) {
    const a = evaluateReference(before, vals, sizes).data[0]!;
    const b = evaluateReference(after, vals, sizes).data[0]!;
    const at = [...vals].filter(([, v]) => v.shape.length === 0).map(([k, v]) => `${k} = ${v.data[0]}`).join(', ');
    expect(same(a, b), `${at}: ${a} became ${b}`).toBe(true);
  }
  return after !== before;
}

describe('factor-powers on sums built directly', () => {
  const EXPS = [-3, -2, -1.5, -1, -0.5, 0.5, 1, 1.5, 2, 3];
  // Bases: a variable, a sum and its negation, an element-wise function; scalars and vectors.
  const scalarBases: Node[] = [t, oneMinus(t), minusOne(t), makeElem('sigmoid', t), makeAdd([{ coef: 2, node: t }, { coef: -1, node: s }], [])];
  const POINTS: [number, number][] = [[0.3, -0.7], [1, 2], [0, 0.5], [-1.25, 0], [2, -3], [0.5, 1]];

  it('keeps every value, exactly where it is not finite (u = 0, u < 0 under fractional powers)', () => {
    const rand = rng(41);
    let changed = 0;
    for (let trial = 0; trial < 400; trial++) {
      const base = scalarBases[Math.floor(rand() * scalarBases.length)]!;
      const other = scalarBases[Math.floor(rand() * scalarBases.length)]!;
      const terms = Array.from({ length: 2 + Math.floor(rand() * 3) }, () => {
        const k = EXPS[Math.floor(rand() * EXPS.length)]!;
        // The base, or its negation (as a sum would carry it), times an unrelated factor.
        const b = rand() < 0.3 && base.kind === 'add' ? makeAdd(base.terms.map((u) => ({ coef: -u.coef, node: u.node })), []) : base;
        const rest = rand() < 0.5 ? other : makeElem('cos', s);
        return { coef: Math.round((rand() * 6 - 3) * 4) / 4 || 1, node: times(makePow(b, k), rest) };
      });
      if (checkFactoring(makeAdd(terms, []), POINTS.map(([tv, sv]) => values(tv, sv, [0, 0, 0])))) changed++;
    }
    expect(changed).toBeGreaterThan(100);
  });

  it('takes the power nearest 0 out: positive and negative powers apart, a negated base with its sign', () => {
    // t^3·s + t^2·cos(s) → t^2·(t·s + cos(s))
    const a = factorAll(makeAdd([{ coef: 1, node: times(makePow(t, 3), s) }, { coef: 1, node: times(makePow(t, 2), makeElem('cos', s)) }], []));
    expect(a.kind).toBe('mul');
    expect(a.kind === 'mul' && a.factors.some((f) => f.node === makePow(t, 2))).toBe(true);
    // (t - 1)^2·t - t^2·(1 - t) (sigmoid''s form) = (1 - t)·t·(1 - 2t); and with an odd power of
    // the negated base, (t - 1)^3·t + t^2·(1 - t) = (1 - t)·t·(t - (1 - t)^2).
    const cases: [Node, (t: number) => number][] = [
      [makeAdd([{ coef: 1, node: times(makePow(minusOne(t), 2), t) }, { coef: -1, node: times(makePow(t, 2), oneMinus(t)) }], []), (v) => (1 - v) * v * (1 - 2 * v)],
      [makeAdd([{ coef: 1, node: times(makePow(minusOne(t), 3), t) }, { coef: 1, node: times(makePow(t, 2), oneMinus(t)) }], []), (v) => (1 - v) * v * (v - (1 - v) ** 2)],
    ];
    for (const [before, want] of cases) {
      const b = factorAll(before);
      // A product, or its negation (a product takes the sign of its sum factors: -(u - v)·w).
      const product = b.kind === 'add' && b.terms.length === 1 ? b.terms[0]!.node : b;
      expect(product.kind).toBe('mul');
      for (const [tv, sv] of POINTS) expect(evaluateReference(b, values(tv, sv, [0, 0, 0]), sizes).data[0]).toBeCloseTo(want(tv), 12);
    }
    // Negative powers: t^-1 (nearest 0) comes out, and at the pole t = 0 the form stays +∞ as
    // the sum is.
    const poles = makeAdd([{ coef: 1, node: times(makePow(t, -1), s) }, { coef: 1, node: times(makePow(t, -1), makeElem('cos', s)) }, { coef: 2, node: times(makePow(t, -2), makeElem('sin', s)) }], []);
    const pf = factorAll(poles);
    expect(pf.kind === 'mul' && pf.factors.some((f) => f.node === makePow(t, -1))).toBe(true);
    for (const sv of [0.5, 1]) {
      expect(evaluateReference(poles, values(0, sv, [0, 0, 0]), sizes).data[0]).toBe(Infinity);
      expect(evaluateReference(pf, values(0, sv, [0, 0, 0]), sizes).data[0]).toBe(Infinity);
      expect(evaluateReference(pf, values(0.25, sv, [0, 0, 0]), sizes).data[0]).toBeCloseTo(4 * sv + 4 * Math.cos(sv) + 32 * Math.sin(sv), 9);
    }
    // t^2·s + t^-1·cos(s): powers of both signs share nothing.
    const mixed = makeAdd([{ coef: 1, node: times(makePow(t, 2), s) }, { coef: 1, node: times(makePow(t, -1), makeElem('cos', s)) }], []);
    expect(factorAll(mixed)).toBe(mixed);
  });

  // u^(e + k) with a variable e: taken out as u^(e + m), m the least k, where the k differ by
  // integers; e takes integer values (where u < 0 is in the domain) and fractional ones.
  it('takes out powers with a symbolic exponent, exactly where their offsets differ by integers', () => {
    const rand = rng(43);
    const OFFSETS = [-2, -1, 0, 1, 2, 3, 0.5];
    const EVALUES = [2, 3, -1, 0.5, 1.5, 0];
    let changed = 0;
    for (let trial = 0; trial < 300; trial++) {
      const base = scalarBases[Math.floor(rand() * scalarBases.length)]!;
      const terms = Array.from({ length: 2 + Math.floor(rand() * 3) }, () => {
        const k = OFFSETS[Math.floor(rand() * OFFSETS.length)]!;
        const exponent = makeAdd([{ coef: 1, node: e }, { coef: k, node: ones([]) }], []);
        const rest = rand() < 0.5 ? s : makeElem('cos', t);
        return { coef: Math.round((rand() * 6 - 3) * 4) / 4 || 1, node: times(makePowv(base, exponent), rest) };
      });
      if (checkFactoring(makeAdd(terms, []), POINTS.flatMap(([tv, sv]) => EVALUES.map((ev) => values(tv, sv, [0, 0, 0], ev))))) changed++;
    }
    expect(changed).toBeGreaterThan(80);
    // u^(e + 0.5) and u^e differ by a fractional power: u^e·u^0.5 is NaN where u < 0 and e = 0.5,
    // where u^(e + 0.5) = u is not, so they stay apart.
    const half = makeAdd([{ coef: 1, node: makePowv(t, makeAdd([{ coef: 1, node: e }, { coef: 0.5, node: ones([]) }], [])) }, { coef: 2, node: times(makePowv(t, e), s) }], []);
    expect(factorAll(half)).toBe(half);
    // softplus(t)^(e - 1)·(1 - t) + (e - 1)·softplus(t)^(e - 2)·t → softplus(t)^(e - 2)·(…)
    const u = makeElem('softplus', t);
    const pow = (k: number): Node => makePowv(u, makeAdd([{ coef: 1, node: e }, { coef: k, node: ones([]) }], []));
    const sp = factorAll(makeAdd([{ coef: 1, node: times(pow(-1), oneMinus(t)) }, { coef: 1, node: times(pow(-2), makeAdd([{ coef: 1, node: e }, { coef: -1, node: ones([]) }], []), t) }], []));
    expect(sp.kind === 'mul' && sp.factors.some((f) => f.node === pow(-2))).toBe(true);
  });

  it('entry-wise on vectors, with a scalar factor alongside', () => {
    const u = makeElem('tanh', x);
    const before = makeAdd(
      [
        { coef: 2, node: times(makePow(u, 2), x) },
        { coef: -1, node: times(makePow(u, 3)) },
        { coef: 3, node: makeMul([{ node: makePow(t, 2), labels: [] }, { node: u, labels: [0] }, { node: x, labels: [0] }], 1) },
      ],
      [3],
    );
    const after = factorAll(before);
    expect(after).not.toBe(before);
    for (const xv of [[0.5, -1, 2], [0, 0, 0], [-2, 3, 0.25]]) {
      const vals = values(-0.4, 1, xv);
      const a = evaluateReference(before, vals, sizes).data;
      const b = evaluateReference(after, vals, sizes).data;
      for (let i = 0; i < 3; i++) expect(same(a[i]!, b[i]!), `x = ${xv}`).toBe(true);
    }
  });
});

describe('factor-powers in derivatives of element-wise functions', () => {
  it('writes the classic forms as a person does', () => {
    expect(derivative('sigmoid(b)', 'b', { order: 2 }).matrix).toBe('(1 - 2*t1)*t1*(1 - t1) where t1 = sigmoid(b)');
    expect(derivative('tanh(-a)', 'a', { order: 3 }).matrix).toBe('2*(1 - 3*tanh(a)^2)*(1 - tanh(a)^2)');
  });

  // f of a compound argument, of a scalar and summed over a vector (sizes 1 and 4), orders 1 to
  // 3; the printed form is read back by ricci's parser and evaluated on its own.
  const FNS = ['sigmoid', 'tanh', 'exp', 'softplus', 'sin', 'arctan', 'log'];
  // ONE is 1 for a scalar b and vector(1) for a vector.
  const ARGS = ['b', '-b', '2*b - c*ONE', 'b.^2', 'c*b + 0.5*ONE', 'ONE - sigmoid(b)'];
  it('every printed form has the derivative\'s value (scalars and vectors, negative values, size 1)', () => {
    const rand = rng(7);
    let checked = 0;
    for (const fn of FNS)
      for (const arg of ARGS)
        for (const [wrtShape, expr0] of [[[], `${fn}(${arg})`], [[1], `sum(${fn}(${arg}))`], [[4], `sum(${fn}(${arg}))`]] as const)
          for (const order of [1, 2, 3]) {
            const one = wrtShape.length > 0 ? 'vector(1)' : '1';
            const expr = (fn === 'log' ? expr0.replace(`log(${arg})`, `log((${arg}).^2 + ONE)`) : expr0).replaceAll('ONE', one);
            if (wrtShape.length === 1 && order === 3) continue;
            const r = derive(expr, 'b', { order, let: wrtShape.length > 0 ? { b: 'vector' } : {} });
            if (r.matrix === null) continue;
            const values = new Map<string, Tensor>([
              ['b', { shape: [...wrtShape], data: Float64Array.from({ length: wrtShape[0] ?? 1 }, () => rand() * 4 - 2) }],
              ['c', { shape: [], data: Float64Array.of(rand() * 2 - 1) }],
            ]);
            const want = evaluateReference(r.node, values, resultSizes(r, values));
            const a = analyze(r.matrix, wrtShape.length > 0 ? { b: 'vector' } : {});
            const known = new Map<Dim, number>(a.lowered.root.shape.map((d, i) => [d, want.shape[i]!]));
            const got = evaluateReference(a.lowered.root, values, bindSizes([...a.lowered.vars.values(), a.lowered.root], values, undefined, known));
            expect(relErr(got, want, 1e-8), `${expr} by b, order ${order}: ${r.matrix}`).toBeLessThan(1e-9);
            checked++;
          }
    expect(checked).toBeGreaterThan(250);
  });
});
