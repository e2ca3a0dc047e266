/**
 * isNonNegative on contractions: a product is known non-negative where its factors pair up as the
 * two halves of a square (x'*x, x'*A'*A*x, tr(X'*X)), times non-negative weights on the labels the
 * halves share. The claim is used to split powers ((b^2*x'*A'*A*x)^0.5 = |b|·(x'*A'*A*x)^0.5), so
 * it must never hold for a product that can be negative. Checked here on random products built as
 * a half and its image under a random swap of labels, and on near misses of those (one factor or
 * label changed): wherever the claim is made, the value is ≥ 0 at every random point.
 */
import { describe, expect, it } from 'vitest';
import { isNonNegative, makeElem, makeMul, makeVar, type Node } from '../../src/ir/node.js';
import { evaluateReference } from '../../src/compile/reference.js';
import type { Tensor } from '../../src/tensor.js';
import { randomTensor, rng } from '../helpers/numeric.js';

const D = 3;
const x = makeVar('x', [D]);
const y = makeVar('y', [D]);
const A = makeVar('A', [D, D]);
const B = makeVar('B', [D, D]);
const NODES: Node[] = [x, y, A, B, makeElem('exp', y), makeElem('sin', x)];
const sizes = new Map<number, number>([[D, D]]);

type F = { node: Node; labels: number[] };

/** A random half (1–3 factors on labels 0…5) and its image under a swap of some of its labels. */
function square(rand: () => number): F[] {
  const half: F[] = Array.from({ length: 1 + Math.floor(rand() * 3) }, () => {
    const node = NODES[Math.floor(rand() * NODES.length)]!;
    return { node, labels: node.shape.map(() => Math.floor(rand() * 6)) };
  });
  const used = [...new Set(half.flatMap((f) => f.labels))];
  // Labels kept (shared by both halves) or sent to fresh ones (10 + l) in the other half.
  const keep = new Set(used.filter(() => rand() < 0.4));
  const image = (l: number): number => (keep.has(l) ? l : 10 + l);
  const other = half.map((f) => ({ node: f.node, labels: f.labels.map(image) }));
  const weights: F[] = rand() < 0.3 && keep.size > 0 ? [{ node: makeElem('exp', x), labels: [[...keep][0]!] }] : [];
  return [...half, ...other, ...weights].sort(() => rand() - 0.5);
}

/** One factor or one label of the product changed. */
function nearMiss(fs: F[], rand: () => number): F[] {
  const out = fs.map((f) => ({ node: f.node, labels: [...f.labels] }));
  const k = Math.floor(rand() * out.length);
  if (rand() < 0.5) {
    const node = NODES.filter((n) => n.shape.length === out[k]!.node.shape.length)[Math.floor(rand() * 2)]!;
    out[k] = { node, labels: out[k]!.labels };
  } else if (out[k]!.labels.length > 0) {
    out[k]!.labels[Math.floor(rand() * out[k]!.labels.length)] = Math.floor(rand() * 16);
  }
  return out;
}

describe('sums of squares among contractions', () => {
  it('known forms', () => {
    const xx = makeMul([{ node: x, labels: [0] }, { node: x, labels: [0] }], 0);
    const xAAx = makeMul([{ node: A, labels: [0, 1] }, { node: x, labels: [1] }, { node: A, labels: [0, 2] }, { node: x, labels: [2] }], 0);
    const trAA = makeMul([{ node: A, labels: [0, 1] }, { node: A, labels: [1, 0] }], 0);
    const xAx = makeMul([{ node: x, labels: [0] }, { node: A, labels: [0, 1] }, { node: x, labels: [1] }], 0);
    const weighted = makeMul([{ node: A, labels: [0, 1] }, { node: x, labels: [1] }, { node: A, labels: [0, 2] }, { node: x, labels: [2] }, { node: makeElem('exp', y), labels: [0] }], 0);
    const xy = makeMul([{ node: x, labels: [0] }, { node: y, labels: [0] }], 0);
    expect([xx, xAAx, weighted].map(isNonNegative)).toEqual([true, true, true]);
    expect([trAA, xAx, xy].map(isNonNegative)).toEqual([false, false, false]);
  });

  it('whatever it claims is ≥ 0 at random points, and it recognises most squares built at random', () => {
    const rand = rng(2026);
    let squares = 0;
    let recognised = 0;
    let claimedMisses = 0;
    for (let trial = 0; trial < 400; trial++) {
      const sq = square(rand);
      for (const [fs, isSquare] of [[sq, true], [nearMiss(sq, rand), false]] as const) {
        const n = makeMul(fs, 0);
        const claim = isNonNegative(n);
        if (isSquare) {
          squares++;
          if (claim) recognised++;
        } else if (claim) claimedMisses++;
        if (!claim) continue;
        for (let p = 0; p < 10; p++) {
          const values = new Map<string, Tensor>([
            ['x', randomTensor([D], 'any', rand)],
            ['y', randomTensor([D], 'any', rand)],
            ['A', randomTensor([D, D], 'any', rand)],
            ['B', randomTensor([D, D], 'any', rand)],
          ]);
          const v = evaluateReference(n, values, sizes).data;
          for (const e of v) expect(e, `a product claimed non-negative is ${e}`).toBeGreaterThanOrEqual(-1e-12);
        }
      }
    }
    // Squares built this way are squares; the canonical form may still hide a few (matrix powers).
    expect(recognised / squares).toBeGreaterThan(0.8);
    expect(claimedMisses).toBeGreaterThan(0);
  });
});
