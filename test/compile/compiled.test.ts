/**
 * The compiled evaluator equals the reference evaluator (relative error below 1e-12), for every
 * corpus case and random property-test expressions, at several random sizes and points — into a
 * new buffer, again with the kept plan, into a caller's buffer full of NaN, and into a new buffer
 * that the allocator hands out full of NaN (results are allocated without clearing: alloc.ts).
 */
import { describe, expect, test } from 'vitest';
import fc from 'fast-check';
import { derive, type Result } from '../../src/derive.js';
import { compileNodes } from '../../src/compile/compile.js';
import { setUninitializedPoison } from '../../src/compile/alloc.js';
import { bindSizes, evaluateReference, SingularMatrixError } from '../../src/compile/reference.js';
import type { Tensor } from '../../src/tensor.js';
import { ONE } from '../../src/syntax/types.js';
import { CORPUS, declarations } from '../helpers/corpus.js';
import { exprArb } from '../helpers/gen.js';
import { type Domain, randomTensor, relErr, rng } from '../helpers/numeric.js';
import { perturb } from '../../fuzz/numeric.js';

const SIZES = [1, 2, 3, 5, 8, 17];

/** Random sizes for the result's size symbols, and values drawn as the domains say. */
function randomValues(r: Result, rand: () => number, domain: Readonly<Record<string, Domain>> = {}, maxSize = 17): Map<string, Tensor> {
  const c = r.analysis.checked;
  const sizeOfSym = new Map<number, number>();
  const pick = (d: number): number => {
    const s = c.sizes.find(d);
    if (s === ONE) return 1;
    let v = sizeOfSym.get(s);
    if (v === undefined) {
      const options = SIZES.filter((x) => x <= maxSize);
      v = options[Math.floor(rand() * options.length)]!;
      sizeOfSym.set(s, v);
    }
    return v;
  };
  const values = new Map<string, Tensor>();
  for (const v of c.vars.values()) {
    const shape = [v.type.rows, v.type.cols].filter((d) => c.sizes.find(d) !== ONE).map(pick);
    values.set(v.name, randomTensor(shape, domain[v.name] ?? 'any', rand, v.symmetric));
  }
  return values;
}

/** The compiled result's error against the reference, over its tolerance (below 1 passes). */
function compareAt(r: Result, values: Map<string, Tensor>): number {
  const vars = [...r.analysis.lowered.vars.values()];
  let ref: Tensor;
  try {
    ref = evaluateReference(r.node, values, bindSizes([...vars, r.node], values));
  } catch (e) {
    if (e instanceof SingularMatrixError) return 0;
    throw e;
  }
  const run = compileNodes({ roots: [r.node], vars });
  const [got] = run(values) as [Tensor];
  expect(got.shape).toEqual(ref.shape);
  // Twice: the second call reuses the plan and its buffers.
  const [again] = run(values) as [Tensor];
  expect(Array.from(again.data)).toEqual(Array.from(got.data));
  // Into a caller's buffer full of garbage: the same numbers, in that buffer.
  const out = new Float64Array(got.data.length).fill(NaN);
  const [into] = run(values, [out]) as [Tensor];
  expect(into.data).toBe(out);
  expect(Array.from(out)).toEqual(Array.from(got.data));
  // A new buffer that is not cleared (here: full of NaN) gets every entry written.
  setUninitializedPoison(true);
  try {
    const [dirty] = run(values) as [Tensor];
    expect(Array.from(dirty.data)).toEqual(Array.from(got.data));
  } finally {
    setUninitializedPoison(false);
  }
  // Relative error, absolute below 1e-3: a result that cancels to ~0 (the Hessian of norm2(x) for a
  // one-entry x) has rounding-level differences that no relative measure can judge.
  const err = relErr(got, ref, 1e-3);
  if (err < 1e-12) return err / 1e-12;
  // Beyond 1e-12, as far as the reference itself moves when the inputs move by a rounding (the
  // Hessian of det(y'*y*A^3) at an 8×8 A moved by 2e-11 and the two differed by 7e-12), as in the
  // fuzzer: such a point is ill-conditioned, not a disagreement.
  const sizes = bindSizes([...vars, r.node], values);
  const moved = [1, 2].map((k) => {
    try {
      return relErr(evaluateReference(r.node, perturb(values, rng(k)), sizes), ref, 1e-3);
    } catch {
      return 0; // singular once moved: judged strictly
    }
  });
  return err / Math.max(1e-12, 10 * Math.max(...moved));
}

describe('compiled evaluator against the reference evaluator', () => {
  test.each(CORPUS.map((c) => [c.id, c] as const))('%s at several random sizes', (_id, c) => {
    const r = derive(c.expr, c.wrt, { order: c.order, let: declarations(c) });
    const rand = rng(77 + CORPUS.indexOf(c));
    for (let k = 0; k < 4; k++) {
      const values = randomValues(r, rand, c.domain ?? {}, c.order >= 2 ? 8 : 17);
      expect(compareAt(r, values)).toBeLessThan(1);
    }
  });

  test('a node read by two terms of one sum goes back to the buffer pool once', () => {
    // Regression: the buffer was handed out twice and two later nodes shared it.
    for (const expr of ['sin(x)./((y + x).*y + vector(1))', 'sigmoid(x)./((y).^2.*(x).^2 + vector(1))']) {
      const r = derive(expr, 'x', { order: 2 });
      for (let seed = 1; seed <= 5; seed++) expect(compareAt(r, randomValues(r, rng(seed), {}, 5)), expr).toBeLessThan(1);
    }
  });

  test('batched products over a short contracted label (element-wise sums) and a long one (the einsum), = and +=', () => {
    // diag(W*W') contracts W's k columns row by row; the MDS Hessian adds such products into sums.
    const exprs: [string, string, number][] = [
      ["diag(W*W')", 'W', 0],
      ["diag(W*W') + 2*diag(W*V')", 'W', 0],
      ["norm2(diag(W*W')*vector(1)' + vector(1)*diag(W*W')' - 2*W*W' - D)^2", 'W', 2],
      ["sum(diag(W*W').^2)", 'W', 1],
    ];
    for (const [expr, wrt, order] of exprs) {
      const r = derive(expr, wrt, { order, let: { D: 'symmetric matrix' } });
      for (const [n, k] of [[1, 1], [3, 2], [5, 16], [4, 17], [9, 3]] as const) {
        const rand = rng(n * 31 + k);
        const values = new Map<string, Tensor>([
          ['W', randomTensor([n, k], 'any', rand, false)],
          ['V', randomTensor([n, k], 'any', rand, false)],
          ['D', randomTensor([n, n], 'any', rand, true)],
        ]);
        for (const v of [...values.keys()]) if (!r.analysis.lowered.vars.has(v)) values.delete(v);
        expect(compareAt(r, values), `${expr} by ${wrt}, order ${order}, n ${n}, k ${k}`).toBeLessThan(1);
      }
    }
  });

  test('random expressions, orders 0 to 2, random sizes', () => {
    fc.assert(
      fc.property(exprArb('s'), fc.constantFrom('x', 'A', 'a'), fc.integer({ min: 0, max: 2 }), fc.integer({ min: 1, max: 1e6 }), (expr, wrt, order, seed) => {
        const r = derive(expr, wrt, { order });
        const values = randomValues(r, rng(seed), {}, 8);
        expect(compareAt(r, values), `${expr} by ${wrt}, order ${order}`).toBeLessThan(1);
      }),
      { numRuns: Number(process.env.RICCI_PROPERTY_RUNS ?? 60) },
    );
  });

  test('random vector expressions (Jacobians), and order 3', () => {
    fc.assert(
      fc.property(exprArb('v', 2), fc.constantFrom('x', 'A'), fc.integer({ min: 1, max: 1e6 }), (expr, wrt, seed) => {
        const r = derive(expr, wrt, { order: 1 });
        expect(compareAt(r, randomValues(r, rng(seed), {}, 5)), expr).toBeLessThan(1);
        const r3 = derive(expr, 'x', { order: 2 });
        expect(compareAt(r3, randomValues(r3, rng(seed + 1), {}, 4)), expr).toBeLessThan(1);
      }),
      { numRuns: Number(process.env.RICCI_PROPERTY_RUNS ?? 30) },
    );
  });
});
