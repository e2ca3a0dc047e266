/**
 * distribute-delta-sum distributes a product over the terms of a sum factor that carry a delta
 * (so that the delta contracts) and keeps the other terms one sum: A·(δ·B + C·D + E·F) is
 * A·δ·B + A·(C·D + E·F), two products where distributing every term made three. A factored sum of
 * forty terms with two deltas in a third derivative is three products, not forty.
 */
import { describe, expect, test } from 'vitest';
import { delta, makeAdd, makeMul, makeVar, type Node } from '../../src/ir/node.js';
import { distributeDeltas, distributeFewDeltas } from '../../src/simplify/rules/expand.js';
import { evaluateReference } from '../../src/compile/reference.js';
import type { Tensor } from '../../src/tensor.js';
import { randomTensor, relErr, rng } from '../helpers/numeric.js';

const N = 7; // one symbolic size
const mat = (name: string) => makeVar(name, [N, N]);
/** The outer product X_ij Y_kl, or δ_ik Y_jl for X = δ. */
const outer = (x: Node, y: Node, deltaFirst = false): Node =>
  deltaFirst
    ? makeMul([{ node: delta(N), labels: [0, 2] }, { node: y, labels: [1, 3] }], 4)
    : makeMul([{ node: x, labels: [0, 1] }, { node: y, labels: [2, 3] }], 4);

/** P_ajkl = Σ_i A_ai S_ijkl for S = Σ coef·term. */
function product(terms: { coef: number; node: Node }[]): Node {
  const S = makeAdd(terms, [N, N, N, N]);
  return makeMul([{ node: mat('A'), labels: [0, 4] }, { node: S, labels: [4, 1, 2, 3] }], 4);
}

function valueAt(n: Node, size: number, seed: number): Tensor {
  const r = rng(seed);
  const values = new Map<string, Tensor>(['A', 'B', 'C', 'D', 'E', 'F', 'G'].map((v) => [v, randomTensor([size, size], 'any', r)]));
  return evaluateReference(n, values, new Map([[N, size]]));
}

describe('distribute-delta-sum', () => {
  const [B, C, D, E, F, G] = ['B', 'C', 'D', 'E', 'F', 'G'].map(mat) as [Node, Node, Node, Node, Node, Node];
  test.each([
    ['one delta term, two others', [{ coef: 1, node: outer(B, B, true) }, { coef: 2, node: outer(C, D) }, { coef: -1, node: outer(E, F) }], 2],
    ['two delta terms, three others', [{ coef: 1, node: outer(B, B, true) }, { coef: -3, node: outer(G, G, true) }, { coef: 1, node: outer(C, D) }, { coef: 1, node: outer(E, F) }, { coef: 0.5, node: outer(D, C) }], 3],
    ['one delta term, one other', [{ coef: 1, node: outer(B, B, true) }, { coef: 1, node: outer(C, D) }], 2],
    ['delta terms only', [{ coef: 1, node: outer(B, B, true) }, { coef: 2, node: outer(G, G, true) }], 2],
  ] as const)('%s: the delta terms apart, the rest one sum; the value kept', (_, terms, count) => {
    const p = product(terms.map((t) => ({ ...t })));
    const out = distributeDeltas.apply(p);
    expect(out).toBeDefined();
    expect(out!.kind).toBe('add');
    if (out!.kind !== 'add') return;
    expect(out!.terms.length).toBe(count);
    const rest = terms.filter((t) => t.node.kind !== 'mul' || !t.node.factors.some((f) => f.node.kind === 'delta'));
    // The terms without a delta stay together inside one product.
    if (rest.length > 1) expect(out!.terms.some((t) => t.node.kind === 'mul' && t.node.factors.some((f) => f.node.kind === 'add' && f.node.terms.length === rest.length))).toBe(true);
    for (const [size, seed] of [[1, 1], [3, 2], [6, 3]] as const) expect(relErr(valueAt(out!, size, seed), valueAt(p, size, seed), 1e-9)).toBeLessThan(1e-12);
  });
  test('a product without a delta in its sum factor is left alone', () => {
    expect(distributeDeltas.apply(product([{ coef: 1, node: outer(C, D) }, { coef: 1, node: outer(E, F) }]))).toBeUndefined();
  });
});

// In a derivative with no matrix form (INDEX_FORM_PHASES) a product of rank 4 or more is distributed
// over its delta sums only where it becomes at most 4 products: a chain of layers' Jacobians, each
// a sum of delta terms, multiplied out into 2^k products (test/ir/layers.test.ts, matrix networks).
describe('distribute-delta-sum in a derivative with no matrix form', () => {
  const [B, C, D, E, F, G] = ['B', 'C', 'D', 'E', 'F', 'G'].map(mat) as [Node, Node, Node, Node, Node, Node];
  const sum = (terms: { coef: number; node: Node }[]): Node => makeAdd(terms, [N, N, N, N]);
  /** P_abcd = Σ_im S_abim T_imcd: rank 4, two sum factors. */
  const twoSums = (s: Node, t: Node): Node => makeMul([{ node: s, labels: [0, 1, 4, 5] }, { node: t, labels: [4, 5, 2, 3] }], 4);
  const two = (x: Node, y: Node, z: Node, w: Node) => sum([{ coef: 1, node: outer(x, x, true) }, { coef: 2, node: outer(y, z) }, { coef: -1, node: outer(w, w, true) }]);
  test('one sum: as distribute-delta-sum', () => {
    const p = product([{ coef: 1, node: outer(B, B, true) }, { coef: -3, node: outer(G, G, true) }, { coef: 1, node: outer(C, D) }]);
    expect(distributeFewDeltas.apply(p)).toBe(distributeDeltas.apply(p));
  });
  test('two sums of a delta term and another: 4 products, distributed', () => {
    const p = twoSums(sum([{ coef: 1, node: outer(B, B, true) }, { coef: 1, node: outer(C, D) }]), sum([{ coef: 1, node: outer(G, G, true) }, { coef: 1, node: outer(E, F) }]));
    const out = distributeFewDeltas.apply(p);
    expect(out).toBeDefined();
    expect(out).toBe(distributeDeltas.apply(p));
    for (const [size, seed] of [[1, 4], [3, 5]] as const) expect(relErr(valueAt(out!, size, seed), valueAt(p, size, seed), 1e-9)).toBeLessThan(1e-12);
  });
  test('two sums of two delta terms and another: 9 products, kept whole (distribute-delta-sum distributes)', () => {
    const p = twoSums(two(B, C, D, G), two(G, E, F, B));
    expect(distributeDeltas.apply(p)).toBeDefined();
    expect(distributeFewDeltas.apply(p)).toBeUndefined();
  });
});
