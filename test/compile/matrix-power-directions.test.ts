/**
 * The reference evaluator's directional derivatives of a matrix power, P(A, k; E_1..E_m): the sum,
 * over every word of length k that holds each E_i once and A in the other places, of its product.
 * Checked against that sum written out word by word, at sizes 1 to 5, exponents 1 to 6 (fewer
 * than m included, where P is 0), up to three directions with batch axes of their own, entries of
 * both signs, and directions that are the identity or all ones.
 */
import { describe, expect, test } from 'vitest';
import { frechetByBlocks } from '../../src/compile/reference.js';
import type { Tensor } from '../../src/tensor.js';
import { rng } from '../helpers/numeric.js';

function matmul(a: Float64Array, b: Float64Array, n: number): Float64Array {
  const c = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let p = 0; p < n; p++) for (let j = 0; j < n; j++) c[i * n + j] += a[i * n + p]! * b[p * n + j]!;
  return c;
}

/** Every word of length k over A and the m directions, each direction once: positions of E_1..E_m. */
function placements(k: number, m: number): number[][] {
  if (m === 0) return [[]];
  const out: number[][] = [];
  for (const rest of placements(k, m - 1)) for (let p = 0; p < k; p++) if (!rest.includes(p)) out.push([...rest, p]);
  return out;
}

/** P(A, k; E_1..E_m) for one batch entry of each direction, word by word. */
function byWords(a: Float64Array, n: number, k: number, es: Float64Array[]): Float64Array {
  const sum = new Float64Array(n * n);
  for (const where of placements(k, es.length)) {
    let acc: Float64Array | undefined;
    for (let step = 0; step < k; step++) {
      const t = where.indexOf(step);
      const factor = t >= 0 ? es[t]! : a;
      acc = acc ? matmul(acc, factor, n) : Float64Array.from(factor);
    }
    for (let x = 0; x < sum.length; x++) sum[x] += acc![x]!;
  }
  return sum;
}

type Kind = 'random' | 'identity' | 'ones';

/** A direction with a batch axis of `batch` entries: shape n×n×batch. */
function direction(n: number, batch: number, kind: Kind, rand: () => number): Tensor {
  const data = new Float64Array(n * n * batch);
  for (let i = 0; i < n; i++)
    for (let j = 0; j < n; j++)
      for (let b = 0; b < batch; b++) data[(i * n + j) * batch + b] = kind === 'random' ? 2 * rand() - 1 : kind === 'ones' || i === j ? 1 + b : 0;
  return { shape: [n, n, batch], data };
}

describe('directional derivatives of A^k in the reference evaluator', () => {
  const cases: [number, number, Kind[]][] = [];
  for (const n of [1, 2, 3, 5])
    for (const k of [1, 2, 3, 4, 6])
      for (const kinds of [['random'], ['random', 'random'], ['random', 'identity', 'random'], ['ones', 'random', 'random']] as Kind[][]) cases.push([n, k, kinds]);
  test.each(cases)('n = %i, k = %i, directions %j', (n, k, kinds) => {
    const rand = rng(4100 + 97 * n + 13 * k + kinds.length);
    const a = Float64Array.from({ length: n * n }, () => 2 * rand() - 1);
    const batches = kinds.map((_, t) => 1 + ((t + n) % 3));
    const dirs = kinds.map((kind, t) => direction(n, batches[t]!, kind, rand));
    const got = frechetByBlocks(a, n, k, dirs);
    const total = batches.reduce((p, b) => p * b, 1);
    expect(got.length).toBe(n * n * total);
    for (let b = 0; b < total; b++) {
      // Batch entry b, last direction fastest.
      const at: number[] = [];
      let rest = b;
      for (let t = kinds.length - 1; t >= 0; t--) {
        at[t] = rest % batches[t]!;
        rest = Math.floor(rest / batches[t]!);
      }
      const es = dirs.map((d, t) => Float64Array.from({ length: n * n }, (_, ij) => d.data[ij * batches[t]! + at[t]!]!));
      const want = byWords(a, n, k, es);
      if (kinds.length > k) expect([...want].every((v) => v === 0)).toBe(true);
      for (let ij = 0; ij < n * n; ij++) expect(got[ij * total + b]!, `entry ${ij} of batch ${b}`).toBeCloseTo(want[ij]!, 10);
    }
  });
});
