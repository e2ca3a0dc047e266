/**
 * Chains whose layers share a scalar parameter: sin(b*sin(b*…x)), sum(tanh(a*tanh(a*…x))). Every
 * layer's derivative carries the parameter, so the products of the chain's derivatives hold its
 * powers in every nested product. Merging them (b·b^15 → b^16) used to make each such product flat
 * again, up to 48 factors, so that no two terms shared a prefix of the chain any more: the third
 * derivative of the tanh chain of depth 32 printed 64,851 characters and took 22 s, that of
 * sum(log(vector(1) + a*(…).^2)) of depth 32 337,809 characters and 91 s. A long product now keeps
 * its nested products as they are (the powers inside them stay there), and a nested product that
 * occurs twice merges whole (N·N → N^2), so the derivative stays a DAG that shares the chain's
 * parts. The Hessian of a 400-deep exp(exp(…x'*x)) took 23–86 s in the matrix printer (75 s at depth
 * 300 with the first version of this change), which merged the sums nested in each other anew at
 * every level; it remembers them now (test/web/e2e.test.ts types a 200-deep one).
 *
 * Sizes: the printed length per layer at depth 48 against depth 24 (quadratic growth would double
 * it). Values: the fuzzer's checker (mathjs oracle and finite differences, the reference and
 * compiled evaluators, the printed form's round trip) at depth 12, where the products are long.
 */
import { describe, expect, test } from 'vitest';
import { derive } from '../../src/derive.js';
import { specFromText } from '../../fuzz/case.js';
import { runCase } from '../../fuzz/check.js';

interface Family {
  readonly name: string;
  readonly layer: (u: string) => string;
  readonly outer: (u: string) => string;
  readonly decls: Readonly<Record<string, string>>;
}

const scalarX = { x: 'scalar' };
const FAMILIES: readonly Family[] = [
  { name: 'sin(b*u), x a scalar', layer: (u) => `sin(b*${u})`, outer: (u) => u, decls: scalarX },
  { name: 'exp(a*u), x a scalar', layer: (u) => `exp(a*${u})`, outer: (u) => u, decls: scalarX },
  { name: 'cos(b*u)*a, x a scalar', layer: (u) => `cos(b*${u})*a`, outer: (u) => u, decls: scalarX },
  { name: 'tanh(a*u)', layer: (u) => `tanh(a*${u})`, outer: (u) => `sum(${u})`, decls: {} },
  { name: 'sigmoid(a*A*u)', layer: (u) => `sigmoid(a*A*${u})`, outer: (u) => `sum(${u})`, decls: {} },
  { name: 'log(vector(1) + a*u.^2)', layer: (u) => `log(vector(1) + a*${u}.^2)`, outer: (u) => `sum(${u})`, decls: {} },
  { name: 'tanh(a*A*u - b*y)', layer: (u) => `tanh(a*A*${u} - b*y)`, outer: (u) => `sum(${u})`, decls: {} },
];

function chain(f: Family, depth: number): string {
  let u = 'x';
  for (let d = 0; d < depth; d++) u = f.layer(u);
  return f.outer(u);
}

function printedLength(f: Family, depth: number, order: number): number {
  const r = derive(chain(f, depth), 'x', { order, let: f.decls });
  return (r.matrix ?? r.index).length;
}

/** The fuzzer's checks of an expression by x, at sizes (3, 2, 4, 5) and all ones: no failure. */
function expectValuesRight(text: string, order: number, decls: Readonly<Record<string, string>>, seed: number): void {
  for (const dims of [
    [3, 2, 4, 5],
    [1, 1, 1, 1],
  ]) {
    const outcome = runCase(specFromText(text, 'x', order, decls, seed, dims));
    expect(outcome.failures, JSON.stringify(outcome.failures).slice(0, 400)).toEqual([]);
  }
}

const CASES = FAMILIES.flatMap((f) => [2, 3].map((order) => [f.name, order, f] as const));

describe('chains with a shared scalar parameter', () => {
  test.each(CASES)('%s, order %d: printed size linear in the depth', (_name, order, f) => {
    const perLayer = [24, 48].map((depth) => printedLength(f, depth, order) / depth);
    expect(perLayer[1]!).toBeLessThan(1.4 * perLayer[0]!);
  });

  test.each(CASES)('%s, order %d: values at depth 12', (_name, order, f) => {
    expectValuesRight(chain(f, 12), order, f.decls, 11 + order);
  });
});
