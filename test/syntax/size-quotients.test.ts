/**
 * A size argument may be a quotient of sizes (len(x)*len(z)/len(y)): the size k with
 * k·len(y) = len(x)·len(z), which the evaluators and generated code work out and check is a whole
 * number. The printers need it: in kron(y', M) − kron(x', x*z') the columns of the constant M are
 * such a quotient, and a printed M without that size did not read back (fuzzer, seed 16).
 */
import { describe, expect, test } from 'vitest';
import { derivative, generateCode } from '../../src/index.js';
import { resultSizes } from '../../src/derive.js';
import { evaluateReference } from '../../src/compile/reference.js';
import { mulberry32 } from '../../src/random.js';
import type { Tensor } from '../../src/tensor.js';
import { toTensors } from '../../src/values.js';
import { relErr } from '../helpers/numeric.js';
import { loadJs, runPython } from '../codegen/harness.js';
import { pointJson } from '../helpers/corpus.js';

type Values = Record<string, number | number[] | number[][]>;

function draw(shapes: Record<string, number[]>, seed: number, scale = 1): Values {
  const rand = mulberry32(seed);
  const entry = (): number => scale * (2 * rand() - 1);
  const out: Values = {};
  for (const [k, s] of Object.entries(shapes))
    out[k] = s.length === 0 ? entry() : s.length === 1 ? Array.from({ length: s[0]! }, entry) : Array.from({ length: s[0]! }, () => Array.from({ length: s[1]! }, entry));
  return out;
}

const tensors = (v: Values): Map<string, Tensor> => toTensors(v);

describe('quotients of sizes as size arguments', () => {
  const at = { x: [1, 2, 3, 4], y: [1, 2], z: [1, 2, 3], A: [[1, 2], [3, 4]] };
  const value = (expr: string, v: Values = at): number[] => {
    const d = derivative(expr, 'x', { order: 0 });
    const ref = Array.from(d.evaluate(v).data);
    expect(Array.from(d.compile()(v).data), expr).toEqual(ref);
    return ref;
  };

  test('evaluated by both evaluators', () => {
    expect(value('sum(vector(1, len(x)*len(z)/len(y)))')).toEqual([6]);
    expect(value('sum(vector(1, len(x)/len(y)*len(z)))')).toEqual([6]);
    expect(value('sum(vector(1, (len(x)/len(y))^2))')).toEqual([4]);
    expect(value('tr(eye(len(x)*len(z)/(len(y)*rows(A))))')).toEqual([3]);
    expect(value("x'*vector(2, len(y)*len(x)/len(y))")).toEqual([20]);
    expect(value('sum(matrix(1, len(x)/len(y), len(z)))')).toEqual([6]);
  });

  test('a quotient that is not a whole number, or not the size its place needs, is an error that names it', () => {
    const v = { x: [1, 2, 3, 4], y: [1, 2, 3], z: [1, 2], A: [[1]] };
    for (const run of ['evaluate', 'compile'] as const) {
      const go = (expr: string): unknown => {
        const d = derivative(expr, 'x', { order: 0 });
        return run === 'evaluate' ? d.evaluate(v) : d.compile()(v);
      };
      expect(() => go('sum(vector(1, len(x)*len(z)/len(y)))')).toThrow(/the size len\(x\)\*len\(z\)\/len\(y\) would be 8\/3, which is not a whole number/);
      expect(() => go('sum(vector(1, len(x)/len(y)))')).toThrow(/the size len\(x\)\/len\(y\) would be 4\/3, which is not a whole number/);
      // len(y)/len(z) is the size of x here: m = len(y) = 3 is not len(x)·len(z) = n·p = 8
      expect(() => go("x'*vector(1, len(y)/len(z))")).toThrow(/size m is 3, but it is the product n·p = 8 \(vec, kron or a size argument\)/);
    }
    // Against a vec or kron: 4/2 is whole, but vec(X) has 3 entries; the kron has
    // len(x)/len(y)·len(y) = len(x) = 4 rows, a product of the same sizes, so its size is len(x)'s.
    const w = { x: [1, 2, 3, 4], y: [1, 2], X: [[1, 2, 3]] };
    const fails = (expr: string): unknown => derivative(expr, 'x', { order: 0 }).evaluate(w);
    expect(() => fails('sum(vector(1, len(x)/len(y)).*vec(X))')).toThrow(/size len\(x\)\/len\(y\) is 2, but it is the product p·q = 3/);
    expect(() => fails("vec(X)'*kron(vector(1, len(x)/len(y)), vector(1, len(y)))")).toThrow(/size p is 4, but it is the product n·m = 3 \(vec, kron or a size argument\)/);
  });

  test('generated code (JS and Python) works them out and checks them', () => {
    const expr = 'sum(vector(1, len(x)*len(y)/len(z)))*a';
    const good = { x: [1, 2, 3], y: [1, 2], z: [1, 2, 3], a: 2 };
    const bad = { ...good, z: [1, 2, 3, 4] };
    const js = loadJs(generateCode(expr, 'a', { order: 1, lang: 'js' }));
    const got = js(good);
    expect(Array.from(got.value!.data)).toEqual([4]);
    expect(Array.from(got.gradient!.data)).toEqual([2]);
    expect(() => js(bad)).toThrow(/size len\(x\)\*len\(y\) must be a multiple of p/);
    const py = runPython([good, bad].map((point) => ({ src: generateCode(expr, 'a', { order: 1, lang: 'python' }), point: pointJson(tensors(point)) })));
    if ('error' in py[0]!) throw new Error(py[0].error);
    expect(Array.from(py[0]!.ok.value!.data)).toEqual([4]);
    expect(py[1]).toMatchObject({ error: expect.stringMatching(/must be a multiple of p/) });
  });
});

// Two merges of one size (vec(X) and kron(y, z) both have rows(X)·cols(X) = len(y)·len(z) entries):
// generated code defines it from the first and checks the second. It compared the factor lists as
// joined strings of objects, always equal, and skipped the check: mismatched sizes gave NaN.
test('generated code checks every product that gives one size', () => {
  const js = loadJs(generateCode("vec(X)'*kron(y, z)", 'y', { order: 1, lang: 'js' }));
  expect(Array.from(js({ X: [[1, 2], [3, 4]], y: [1, 2], z: [1, 2] }).value!.data)).toEqual([27]);
  expect(() => js({ X: [[1, 2], [3, 4]], y: [1, 2, 3], z: [1, 2] })).toThrow(/must be/);
});

// The class: a constant inside kron whose rows or columns only a quotient of the variables' sizes
// fixes, compound and scaled, by a scalar, at orders 0 to 2, at sizes 1 and larger with negative
// entries. The printed form reads back with the derivative's value.
describe('printed constants sized by a quotient read back', () => {
  const cases: [string, number][] = [
    ["x'*(a./kron(y', matrix(3)) - kron(x', x*z'))*vector(1)", 2],
    ["vector(1)'*(a./kron(y, matrix(2)) - kron(x, z*x'))*x", 2],
    ["x'*(a*kron(matrix(-2), y') - kron(x', x*z'))*vector(1)", 1],
    ["sum(exp(a*kron(y', matrix(0.5)) + kron(x', z*x')))", 2],
    ["sum(a*kron(y', matrix(3))./kron(x', X))", 1],
    ["sum(sin(a*kron(matrix(2), y)).*kron(X, z))", 2],
  ];
  // x, y, z, X such that every quotient above is whole (len(x)·len(z)/len(y), len(x)²/len(y), …)
  const sizes: Record<string, number[]>[] = [
    { x: [1], y: [1], z: [1], X: [1, 1], a: [] },
    { x: [4], y: [2], z: [3], X: [2, 2], a: [] },
    { x: [6], y: [4], z: [2], X: [2, 2], a: [] },
  ];
  test.each(cases)('%s by a, orders 0 to %i', (expr, top) => {
    sizes.forEach((shapes, s) => {
      const values = draw(shapes, 1600 + s, 0.8);
      const vals = tensors(values);
      for (let order = 0; order <= top; order++) {
        const d = derivative(expr, 'a', { order });
        expect(d.matrix, `${expr}, order ${order}`).not.toBeNull();
        expect(d.matrix!, `${expr}, order ${order}`).not.toMatch(/vector\(1\)\*vector\(1\)'/);
        const ref = d.evaluate(values);
        const back = derivative(d.matrix!, 'a', { order: 0 }).result;
        const known = new Map(back.node.shape.map((dim, i) => [dim, ref.shape[i]!]));
        const got = evaluateReference(back.node, vals, resultSizes(back, vals, known));
        expect(relErr(got, ref, 1e-9), `${d.matrix} at ${JSON.stringify(shapes)}`).toBeLessThan(1e-12);
      }
    });
  });
});
