/**
 * Nested products read into their parent by the compiled planner (src/compile/nested.ts): the
 * gradient of a residual network is a product of its layers' matrices with a vector, nested past
 * 12 factors; formed as it stands, the nested part was a chain of n×n matrix products. Checked:
 * which products are read in (the inner chain of the gradient, not a product used twice), and the
 * compiled values against the reference evaluator (which forms every nested product) at awkward
 * sizes, the Hessian included (whose layer Jacobians are shared and stay formed).
 */
import { describe, expect, test } from 'vitest';
import { derive } from '../../src/derive.js';
import { compileNodes } from '../../src/compile/compile.js';
import { inlinedProducts } from '../../src/compile/nested.js';
import { bindSizes, evaluateReference } from '../../src/compile/reference.js';
import { type Node, evaluatedChildren, topoOrder } from '../../src/ir/node.js';
import type { Tensor } from '../../src/tensor.js';
import { randomTensor, relErr, rng } from '../helpers/numeric.js';

function network(depth: number): string {
  const defs: string[] = [];
  let prev = 'x';
  for (let i = 1; i <= depth; i++) {
    defs.push(`t${i} = ${prev} + a*tanh(A*${prev})`);
    prev = `t${i}`;
  }
  return `sum(${prev}) where ${defs.join(', ')}`;
}

function valuesAt(n: number, seed: number): Map<string, Tensor> {
  const rand = rng(seed);
  return new Map<string, Tensor>([
    ['A', randomTensor([n, n], 'any', rand)],
    ['x', randomTensor([n], 'any', rand)],
    ['a', randomTensor([], 'any', rand)],
  ]);
}

function uses(root: Node): Map<Node, number> {
  const order = topoOrder([root]);
  const count = new Map<Node, number>([[root, 1]]);
  for (const m of order) for (const c of evaluatedChildren(m)) count.set(c, (count.get(c) ?? 0) + 1);
  return count;
}

describe('nested products read into their parent (compiled planner)', () => {
  test('the gradient of 16 residual layers: its nested chain is read in, and nothing used twice', () => {
    const r = derive(network(16), 'x', { order: 1 });
    const values = valuesAt(50, 1);
    const sizes = bindSizes([...r.analysis.lowered.vars.values(), r.node], values);
    const count = uses(r.node);
    const read = inlinedProducts(topoOrder([r.node]), count, sizes);
    expect(read.size).toBeGreaterThan(0);
    for (const n of read) {
      expect(n.kind).toBe('mul');
      expect(count.get(n)).toBe(1);
    }
  });

  test.each([
    [16, 1, 1],
    [16, 1, 7],
    [20, 1, 17],
    [16, 2, 5],
    [13, 2, 1],
  ])('%d layers, order %d, n = %d: compiled equals the reference', (depth, order, n) => {
    const r = derive(network(depth), 'x', { order });
    const vars = [...r.analysis.lowered.vars.values()];
    const values = valuesAt(n, depth * 10 + n);
    const ref = evaluateReference(r.node, values, bindSizes([...vars, r.node], values));
    const [got] = compileNodes({ roots: [r.node], vars })(values) as [Tensor];
    expect(got.shape).toEqual(ref.shape);
    expect(relErr(got.data, ref.data)).toBeLessThan(1e-12);
  });
});
