/**
 * The matrix printer merges a form as it spells it out (normalize, diagonals.ts), so its work
 * follows the size of the form with every reference that is not a name spelled out. Inlining a
 * temporary (present.ts, withoutBlockingOnes: a name that hides a vector(1) from a merge) puts its
 * definition in each of its uses; where one layer's Jacobian is used three times by the next
 * (softmax(t).*t: diag(t)*(diag(s) - s*s')*J + diag(s)*J), inlining the layers' Jacobians one
 * after the other spells out 3^depth copies, and the Jacobian of eight such layers took 3.5 s,
 * doubling with each layer, to print a product that factoring brings back to 626 characters.
 * Names whose inlining would make the spelled-out texts more than MAX_INLINED_GROWTH times as long
 * are not tried. The forms the printer merges are counted here by their nodes.
 */
import { describe, expect, test, vi } from 'vitest';
import { astChildren, type Ast } from '../../src/syntax/ast.js';

const sizes: number[] = [];

vi.mock('../../src/print/normalize.js', async (importOriginal) => {
  const actual = await importOriginal<typeof import('../../src/print/normalize.js')>();
  const count = (a: Ast): number => 1 + astChildren(a).reduce((s, c) => s + count(c), 0);
  return {
    ...actual,
    normalize: (a: Ast, ...rest: unknown[]) => {
      sizes.push(count(a));
      return (actual.normalize as (a: Ast, ...r: unknown[]) => Ast)(a, ...rest);
    },
  };
});

const { derive } = await import('../../src/derive.js');

/** `tD where t1 = layer(x), …` (`#`: the layer below). */
const lastLayer = (layer: string, depth: number): string =>
  `t${depth} where ${Array.from({ length: depth }, (_, i) => `t${i + 1} = ${layer.replaceAll('#', i === 0 ? 'x' : `t${i}`)}`).join(', ')}`;

/** The largest form the matrix printer merged while printing the result. */
function largestMerged(text: string, order: number): number {
  sizes.length = 0;
  const r = derive(text, 'x', { order });
  expect(r.matrix).not.toBeNull();
  return Math.max(...sizes);
}

describe('the forms the matrix printer merges stay within a few times the printed form', () => {
  test.each(['softmax(#).*#', 'sin(softmax(#))', '#./norm2(#)'])('%s, the last layer, order 1: linear in the depth', (layer) => {
    const [at5, at8] = [5, 8].map((depth) => largestMerged(lastLayer(layer, depth), 1));
    // Inlined without the bound, softmax(t).*t: 1,270 nodes at depth 5, 34,439 at 8.
    expect(at8!).toBeLessThan(1000);
    expect(at8! / 8).toBeLessThan(1.5 * (at5! / 5));
  });
});
