/**
 * Generated code writes a sum's product terms straight into the sum's array (plan.ts, Term): a
 * sum of k products used nowhere else holds one array, not k + 1. Checked by value in JS, TS,
 * NumPy and torch against the compiled evaluator (terms with coefficients ±1, 2.5 and −3, scalar
 * factors, transposes, a term shared with another product, sums mixing products and plain arrays,
 * sizes 1 and up), and by the arrays the plan allocates. The JS module leaves its inputs as they were.
 */
import { beforeAll, describe, expect, test } from 'vitest';
import { generateCode } from '../../src/index.js';
import { planCode, type Plan } from '../../src/codegen/plan.js';
import type { Tensor } from '../../src/tensor.js';
import { pointJson } from '../helpers/corpus.js';
import { randomTensor, relErr, rng } from '../helpers/numeric.js';
import { reads } from '../../src/codegen/products.js';
import { compiledOutputs, findTorchPython, loadJs, runJobs, runPython, toOutputs, transpileTs, type Job, type PythonResult, type ShapedCase } from './harness.js';

const CASES: readonly ShapedCase[] = [
  { expr: "A*x*x' + x*x'*B - 2.5*x*y'", wrt: 'x', order: 1, shapes: { x: [4], y: [4], A: [4, 4], B: [4, 4] } },
  { expr: "-3*a*(A*x)*y' + B - a^2*y*x'", wrt: 'a', order: 1, shapes: { a: [], x: [1], y: [1], A: [1, 1], B: [1, 1] } },
  { expr: "x'*A*x", wrt: 'x', order: 2, shapes: { x: [5], A: [5, 5] } },
  { expr: 'sum((B*x).*(C*x).*(D*x))', wrt: 'x', order: 2, shapes: { x: [3], B: [2, 3], C: [2, 3], D: [2, 3] } },
  { expr: "inv(X'*X + eye)^2", wrt: 'X', order: 2, shapes: { X: [2, 3] } },
  { expr: "inv(X'*X + eye)^2", wrt: 'X', order: 2, shapes: { X: [1, 1] } },
  { expr: "(x*x' + A)*(x*x' - B)", wrt: 'x', order: 1, shapes: { x: [3], A: [3, 3], B: [3, 3] } },
  { expr: "tr(X*A*X' + X'*B*X)", wrt: 'X', order: 2, shapes: { X: [3, 3], A: [3, 3], B: [3, 3] } },
  { expr: 'sum(exp(-y.*(X*w)))', wrt: 'w', order: 2, shapes: { y: [6], X: [6, 3], w: [3] } },
];

interface Prepared {
  readonly c: ShapedCase;
  readonly values: Map<string, Tensor>;
  readonly keys: string[];
  readonly expected: Tensor[];
}

function prepare(c: ShapedCase, index: number): Prepared {
  const rand = rng(9100 + index);
  const values = new Map<string, Tensor>(Object.entries(c.shapes).map(([k, shape]) => [k, randomTensor(shape, 'any', rand)]));
  return { c, values, ...compiledOutputs(c.expr, c.wrt, c.order, Object.fromEntries(values)) };
}

const TOL = 1e-10;
const FLOOR = 1e-6;

function expectSame(got: Record<string, Tensor>, p: Prepared, what: string): void {
  expect(Object.keys(got), what).toEqual(p.keys);
  p.keys.forEach((k, i) => {
    expect([...got[k]!.shape], `${what}: shape of ${k}`).toEqual([...p.expected[i]!.shape]);
    expect(relErr(got[k]!, p.expected[i]!, FLOOR), `${what}: ${k}`).toBeLessThan(TOL);
  });
}

/** Elements of every array a plan allocates (an array written by several steps counts once), at sizes n. */
function allocated(plan: Plan, n: Record<string, number>): { total: number; largest: number } {
  const seen = new Set<string>();
  let total = 0;
  let largest = 0;
  for (const ins of plan.body) {
    if (ins.out.dims.length === 0 || seen.has(ins.out.name)) continue;
    seen.add(ins.out.name);
    const size = ins.out.dims.reduce((a, d) => a * n[d.symbol]!, 1);
    total += size;
    largest = Math.max(largest, size);
  }
  return { total, largest };
}

const prepared = CASES.map(prepare);

describe('a sum of products is written into one array', () => {
  test('the plan writes every product term used once into its sum', () => {
    for (const c of CASES) {
      const plan = planCode(c.expr, c.wrt, { order: c.order });
      const readers = new Map<string, number>();
      const read = (name: string): void => void readers.set(name, (readers.get(name) ?? 0) + 1);
      for (const ins of plan.body) reads(ins).forEach(read);
      for (const o of plan.outputs) read(o.temp.name);
      const products = new Set(plan.body.filter((i) => i.op === 'einsum' && i.term === undefined && i.out.dims.length > 0).map((i) => i.out.name));
      for (const ins of plan.body) {
        if (ins.op !== 'add' || ins.accumulate || ins.out.dims.length === 0 || ins.terms.length < 2) continue;
        // A product with a printed name (t1, …) keeps its own array, under that name.
        const unfused = ins.terms.filter((t) => products.has(t.src.name) && /^s\d+$/.test(t.src.name) && readers.get(t.src.name) === 1);
        expect(unfused.map((t) => t.src.name), `${c.expr}: ${ins.out.name}`).toEqual([]);
      }
      const terms = plan.body.filter((i) => i.op === 'einsum' && i.term !== undefined);
      for (const t of terms) if (t.op === 'einsum') expect(t.out.dims.length, c.expr).toBeGreaterThan(0);
    }
  });

  test('derivatives that are sums of outer products allocate little beyond the result', () => {
    // Before, every term had its own array: 9.2, 5.2 and 3.4 times the largest array.
    const cases: { expr: string; wrt: string; order: number; n: Record<string, number> }[] = [
      { expr: "inv(X'*X + eye)^2", wrt: 'X', order: 2, n: { n: 1, m: 7 } },
      { expr: 'sum((B*x).*(C*x).*(D*x))', wrt: 'x', order: 2, n: { n: 2, m: 60 } },
      { expr: "tr(X*A*X' + X'*B*X)", wrt: 'X', order: 2, n: { n: 6 } },
    ];
    for (const c of cases) {
      const { total, largest } = allocated(planCode(c.expr, c.wrt, { order: c.order }), c.n);
      expect(total / largest, c.expr).toBeLessThan(1.25);
    }
  });

  test('JS and TS give the compiled evaluator’s numbers, and leave the inputs as they were', () => {
    for (const p of prepared) {
      const point = Object.fromEntries([...p.values].map(([k, t]) => [k, { shape: t.shape, data: t.data.slice() }]));
      expectSame(loadJs(generateCode(p.c.expr, p.c.wrt, { order: p.c.order, lang: 'js' }))(point), p, `js: ${p.c.expr}`);
      for (const [k, t] of p.values) expect(point[k]!.data, `js: ${p.c.expr}: input ${k}`).toEqual(t.data);
      expectSame(loadJs(transpileTs(generateCode(p.c.expr, p.c.wrt, { order: p.c.order, lang: 'ts' })))(point), p, `ts: ${p.c.expr}`);
    }
  });

  let python: PythonResult[] = [];
  beforeAll(() => {
    python = runPython(prepared.map((p) => ({ src: generateCode(p.c.expr, p.c.wrt, { order: p.c.order, lang: 'python' }), point: pointJson(p.values) })));
  });

  test('NumPy gives the compiled evaluator’s numbers', () => {
    prepared.forEach((p, i) => {
      const r = python[i]!;
      if ('error' in r) throw new Error(`python: ${p.c.expr}: ${r.error}`);
      expectSame(r.ok, p, `python: ${p.c.expr}`);
    });
  });

  test.runIf(findTorchPython() !== null)('torch gives the compiled evaluator’s numbers', () => {
    const jobs = prepared.map((p): Job => ({ kind: 'torch', src: generateCode(p.c.expr, p.c.wrt, { order: p.c.order, lang: 'torch' }), point: pointJson(p.values), dtype: 'float64' }));
    runJobs(jobs).forEach((r, i) => {
      const p = prepared[i]!;
      if ('error' in r) throw new Error(`torch: ${p.c.expr}: ${r.error}`);
      const got = toOutputs((r.ok as { out: Parameters<typeof toOutputs>[0] }).out);
      expectSame(got, p, `torch: ${p.c.expr}`);
    });
  });
});
