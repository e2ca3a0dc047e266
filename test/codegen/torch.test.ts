/**
 * The PyTorch export: for every corpus case the generated module equals the compiled evaluator
 * in float64 (relative 1e-10) and in float32 (relative F32_TOL), keeps the inputs' dtype,
 * gives under vmap over a batch what a loop gives, and runs under torch.compile where the
 * installed torch has it. Then the torch-specific behaviour: solves instead of inverses, dtype
 * and device rules, value checks apart in check_inputs, results that never alias inputs.
 * All cases of a kind run in one Python process.
 */
import { beforeAll, describe, expect, test } from 'vitest';
import { CORPUS, declarations, pointJson, randomPoint, type CorpusCase } from '../helpers/corpus.js';
import { relErr, rng } from '../helpers/numeric.js';
import { derivative, generateCode } from '../../src/index.js';
import { outputKey } from '../../src/codegen/plan.js';
import type { Tensor } from '../../src/tensor.js';
import { runJobs, toOutputs, torchInfo, type Job } from './harness.js';

const TOL = 1e-10;
/**
 * float32 (inputs rounded to float32, computed in float32), relative to the float64 result over all
 * entries of a result: the measured worst case over the corpus is 5.4e-7 (sin-cos; then
 * quad-sym-hess 3.1e-7, sum-log-hess 2.5e-7), about 5 float32 ulps; 1e-5 leaves a factor 20 for
 * other BLAS builds and summation orders.
 */
const F32_TOL = 1e-5;
/** Below this norm the error is absolute (exact zeros computed in a different order). */
const FLOOR = 1e-6;
const BATCH = 3;

interface Prepared {
  readonly c: CorpusCase;
  readonly point: string;
  readonly keys: string[];
  readonly expected: Tensor[];
  readonly src: string;
  /** BATCH further points for vmap. */
  readonly batch: string[];
}

function prepare(c: CorpusCase, index: number): Prepared {
  const decls = declarations(c);
  const values = randomPoint(c, rng(7000 + index));
  const expected: Tensor[] = [];
  const keys: string[] = [];
  let exprRank = 0;
  for (let k = 0; k <= c.order; k++) {
    const d = derivative(c.expr, c.wrt, { order: k, let: decls });
    if (k === 0) exprRank = d.shape.length;
    keys.push(outputKey(k, exprRank));
    expected.push(d.compile()(Object.fromEntries(values)));
  }
  const batch = Array.from({ length: BATCH }, (_, b) => pointJson(randomPoint(c, rng(9000 + 10 * index + b))));
  return { c, point: pointJson(values), keys, expected, src: generateCode(c.expr, c.wrt, { order: c.order, lang: 'torch', let: decls }), batch };
}

const prepared = CORPUS.map(prepare);
type Ok<T> = { ok: T } | { error: string };
let f64: Ok<{ dtypes: string[]; out: Parameters<typeof toOutputs>[0] }>[] = [];
let f32: typeof f64 = [];
let vmapped: Ok<{ batched: Parameters<typeof toOutputs>[0]; loop: Parameters<typeof toOutputs>[0] }>[] = [];

beforeAll(() => {
  const jobs: Job[] = [
    ...prepared.map((p): Job => ({ kind: 'torch', src: p.src, point: p.point, dtype: 'float64' })),
    ...prepared.map((p): Job => ({ kind: 'torch', src: p.src, point: p.point, dtype: 'float32' })),
    ...prepared.map((p): Job => ({ kind: 'vmap', src: p.src, points: p.batch })),
  ];
  const results = runJobs(jobs) as never[];
  f64 = results.slice(0, prepared.length);
  f32 = results.slice(prepared.length, 2 * prepared.length);
  vmapped = results.slice(2 * prepared.length);
});

function ok<T>(r: Ok<T> | undefined, p: Prepared): T {
  if (!r || 'error' in r) throw new Error(`torch: ${r?.error}\n${p.src}`);
  return r.ok;
}

describe.each(prepared.map((p, i) => [p.c.id, p, i] as const))('%s', (_id, p, i) => {
  test('float64 equals the compiled evaluator', () => {
    const r = ok(f64[i], p);
    expect(r.dtypes).toEqual(['torch.float64']);
    const got = toOutputs(r.out);
    expect(Object.keys(got)).toEqual(p.keys);
    p.keys.forEach((k, j) => {
      expect([...got[k]!.shape], `shape of ${k}`).toEqual([...p.expected[j]!.shape]);
      expect(relErr(got[k]!, p.expected[j]!, FLOOR), k).toBeLessThan(TOL);
    });
  });

  test(`float32 stays float32 and equals the compiled evaluator to ${F32_TOL}`, () => {
    const r = ok(f32[i], p);
    expect(r.dtypes).toEqual(['torch.float32']);
    const got = toOutputs(r.out);
    p.keys.forEach((k, j) => expect(relErr(got[k]!, p.expected[j]!, FLOOR), k).toBeLessThan(F32_TOL));
  });

  test(`vmap over a batch of ${BATCH} equals a loop`, () => {
    const r = ok(vmapped[i], p);
    const batched = toOutputs(r.batched);
    const loop = toOutputs(r.loop);
    expect(Object.keys(batched)).toEqual(p.keys);
    for (const k of p.keys) {
      expect(batched[k]!.shape, k).toEqual(loop[k]!.shape);
      expect(batched[k]!.shape[0]).toBe(BATCH);
      expect(relErr(batched[k]!, loop[k]!, FLOOR), k).toBeLessThan(TOL);
    }
  });
});

const info = torchInfo();

test.runIf(info.compile)(`torch.compile accepts the export (torch ${info.version}; torch.compile exists from 2.0 on)`, () => {
  const some = prepared.filter((p) => ['quad-hess', 'logreg-hess', 'logdet-hess', 'quad-inv-A', 'third-quartic'].includes(p.c.id));
  const results = runJobs(some.map((p): Job => ({ kind: 'compile', src: p.src, point: p.point })));
  results.forEach((r, i) => {
    const p = some[i]!;
    const got = toOutputs(ok(r as Ok<{ out: Parameters<typeof toOutputs>[0] }>, p).out);
    p.keys.forEach((k, j) => expect(relErr(got[k]!, p.expected[j]!, FLOOR), `${p.c.id} ${k}`).toBeLessThan(TOL));
  });
});

describe('products', () => {
  test('an inverse used only in matrix products is a solve, never formed', () => {
    const cases: [string, string, number][] = [
      ["x'*inv(A)*x", 'A', 1],
      ["y'*inv(A)*B*inv(A)'*x", 'x', 1],
      ['inv(A)*B', 'B', 0],
      ['B*inv(A)', 'B', 0],
      ["B*inv(A)'", 'B', 0],
      ["inv(A)'*B", 'B', 0],
      ["x'*inv(A)", 'x', 0],
      ['inv(A)*inv(B)*x', 'x', 0],
    ];
    for (const [expr, wrt, order] of cases) {
      const src = generateCode(expr, wrt, { lang: 'torch', order });
      expect(src, expr).toContain('torch.linalg.solve(');
      expect(src, expr).not.toContain('torch.linalg.inv(');
    }
  });

  test('an inverse that is returned or used otherwise is formed once', () => {
    const src = generateCode('inv(X)', 'X', { lang: 'torch', order: 1 });
    expect(src.match(/torch\.linalg\.inv\(/g)).toHaveLength(1);
  });

  test('solves, transposes, constants and scalar literals give the same numbers as the compiled evaluator', () => {
    const cases: { expr: string; wrt: string; order: number; shapes: Record<string, number[]> }[] = [
      { expr: "y'*inv(A)*B*inv(A)'*x + sum(B*inv(A)') + x'*inv(A')*y", wrt: 'x', order: 2, shapes: { x: [4], y: [4], A: [4, 4], B: [4, 4] } },
      { expr: "inv(A)*B + B*inv(A) + B*inv(A)' + inv(A)'*B + x*x'*inv(A)*inv(B)", wrt: 'x', order: 1, shapes: { x: [3], A: [3, 3], B: [3, 3] } },
      { expr: "sum(inv(A)*B) + 2*tr(B) - sum(vector(3).*x)", wrt: 'B', order: 1, shapes: { x: [3], A: [3, 3], B: [3, 3] } },
      { expr: "x'*inv(A)*x + a^2 - 1", wrt: 'a', order: 2, shapes: { x: [1], A: [1, 1], a: [] } },
      { expr: "softplus(a*x)'*softplus(-x*30)", wrt: 'x', order: 2, shapes: { x: [5], a: [] } },
    ];
    const rand = rng(42);
    const prepared = cases.map((c) => {
      const values = new Map<string, Tensor>();
      for (const [k, shape] of Object.entries(c.shapes)) {
        const n = shape.reduce((a, b) => a * b, 1);
        const t = { shape, data: Float64Array.from({ length: n }, () => 2 * rand() - 1) };
        if (shape.length === 2) for (let i = 0; i < shape[0]!; i++) t.data[i * shape[0]! + i] += shape[0]! + 1;
        values.set(k, t);
      }
      const expected = Array.from({ length: c.order + 1 }, (_, k) => derivative(c.expr, c.wrt, { order: k }).compile()(Object.fromEntries(values)));
      return { c, values, expected, src: generateCode(c.expr, c.wrt, { lang: 'torch', order: c.order }) };
    });
    const results = runJobs(prepared.map((p): Job => ({ kind: 'torch', src: p.src, point: pointJson(p.values), dtype: 'float64' })));
    results.forEach((r, i) => {
      const p = prepared[i]!;
      if ('error' in r) throw new Error(`${p.c.expr}: ${r.error}\n${p.src}`);
      const got = Object.values(toOutputs((r.ok as { out: Parameters<typeof toOutputs>[0] }).out));
      got.forEach((t, k) => expect(relErr(t, p.expected[k]!, FLOOR), `${p.c.expr} order ${k}`).toBeLessThan(TOL));
    });
  });
});

/** Runs one script per module source; each sets `result`. */
function scripts(items: readonly { src: string; code: string }[]): unknown[] {
  return runJobs(items.map((i): Job => ({ kind: 'script', src: i.src, code: i.code }))).map((r, k) => {
    if ('error' in r) throw new Error(`${r.error}\n${items[k]!.code}`);
    return r.ok;
  });
}

describe('dtype, device and inputs', () => {
  const quad = generateCode("x'*A*x + c*sum(x)", 'x', { lang: 'torch', order: 2 });

  test('the dtype of the first floating-point tensor; float64 on the CPU without tensors; integers follow', () => {
    const code = (point: string): string => `
import torch, numpy as np
res = mod.evaluate(${point})
result = sorted({str(v.dtype) + " " + str(v.device) for v in res.values()})`;
    const got = scripts([
      { src: quad, code: code('{"x": torch.ones(2, dtype=torch.float32), "A": torch.eye(2, dtype=torch.float32), "c": 2}') },
      { src: quad, code: code('{"x": [1, 2], "A": [[1, 0], [0, 1]], "c": 2.0}') },
      { src: quad, code: code('{"x": torch.tensor([1, 2]), "A": torch.eye(2, dtype=torch.float32), "c": torch.tensor(3)}') },
      { src: quad, code: code('{"x": np.ones(2, dtype=np.float32), "A": np.eye(2), "c": 1.0}') },
      { src: quad, code: code('{"x": torch.tensor([1, 2]), "A": [[1, 0], [0, 1]], "c": 1}') },
    ]);
    expect(got).toEqual([['torch.float32 cpu'], ['torch.float64 cpu'], ['torch.float32 cpu'], ['torch.float64 cpu'], ['torch.float64 cpu']]);
  });

  test('mixed floating dtypes, complex entries and bad values are errors that name the inputs', () => {
    const code = (point: string): string => `
import torch
try:
    mod.evaluate(${point})
    result = "no error"
except ValueError as e:
    result = str(e)`;
    const got = scripts([
      { src: quad, code: code('{"x": torch.ones(2), "A": torch.eye(2, dtype=torch.float64), "c": 1.0}') },
      { src: quad, code: code('{"x": torch.ones(2, dtype=torch.complex64), "A": torch.eye(2), "c": 1.0}') },
      { src: quad, code: code('{"x": ["a", "b"], "A": torch.eye(2), "c": 1.0}') },
      { src: quad, code: code('{"x": torch.ones(2), "A": torch.eye(2), "c": torch.ones(2)}') },
      { src: quad, code: code('{"x": torch.ones(3), "A": torch.eye(2), "c": 1.0}') },
      { src: quad, code: code('{"x": torch.ones(2), "c": 1.0}') },
    ]);
    expect(got).toEqual([
      'A is torch.float64, but x is torch.float32: pass the inputs in one dtype',
      'x: complex entries are not supported',
      'x: expected a tensor, a number, a sequence or a NumPy array',
      'c must be a scalar, got a vector of 2 entries',
      'A must be 3×3 (n×n, with n from x), got 2×2',
      'missing input A',
    ]);
  });

  test("every corpus case runs on the 'meta' device: nothing is made on or copied to the host", () => {
    // Meta tensors have shapes and dtypes but no storage: .item(), a host copy or a constant made
    // on the CPU would fail or leave a CPU tensor, so this checks device-agnostic code without a GPU.
    const got = scripts(
      prepared.map((p) => ({
        src: p.src,
        code: `
import torch
shapes = ${JSON.stringify(p.c.shapes)}
res = mod.evaluate({k: torch.empty(tuple(s), device="meta", dtype=torch.float32) for k, s in shapes.items()})
result = sorted({str(v.device) + " " + str(v.dtype) for v in res.values()})`,
      })),
    );
    got.forEach((r, i) => expect(r, prepared[i]!.c.id).toEqual(['meta torch.float32']));
  });

  test('tensors on different devices are an error, not a copy', () => {
    const [msg] = scripts([
      {
        src: quad,
        code: `
import torch
try:
    mod.evaluate({"x": torch.ones(2), "A": torch.eye(2, device="meta"), "c": 1.0})
    result = "no error"
except ValueError as e:
    result = str(e)`,
      },
    ]);
    expect(msg).toBe('A is on meta, but x is on cpu: put the inputs on one device');
  });

  test('evaluate never reads values (NaN passes through); check_inputs checks finite entries and declared symmetry', () => {
    const sym = generateCode("x'*A*x", 'x', { lang: 'torch', order: 1, let: { A: 'symmetric matrix' } });
    expect(sym).not.toMatch(/^def evaluate[\s\S]*?isfinite[\s\S]*?^def _read/m);
    const got = scripts([
      {
        src: sym,
        code: `
import torch
bad = {"x": torch.tensor([1.0, float("nan")]), "A": torch.tensor([[1.0, 2.0], [3.0, 4.0]])}
res = mod.evaluate(bad)
msgs = []
for point in (bad, {"x": [1.0, 2.0], "A": [[1.0, 2.0], [3.0, 4.0]]}, {"x": [1.0, 2.0], "A": [[1.0, 2.0], [2.0, 4.0]]}):
    try:
        mod.check_inputs(point)
        msgs.append("ok")
    except ValueError as e:
        msgs.append(str(e))
result = [bool(torch.isnan(res["value"])), msgs]`,
      },
    ]);
    expect(got).toEqual([[true, ['x: entries must be finite numbers', 'A is declared symmetric, but entries (2,1) and (1,2) differ', 'ok']]]);
  });

  test('results never share memory with the inputs or with each other', () => {
    const cases: [string, string, number][] = [
      ['x', 'x', 1],
      ["A'", 'A', 0],
      ['diag(A)', 'A', 0],
      ["A + A'", 'A', 1],
    ];
    const got = scripts(
      cases.map(([expr, wrt, order]) => ({
        src: generateCode(expr, wrt, { lang: 'torch', order }),
        code: `
import torch
point = {"x": torch.tensor([1.0, 2.0]), "A": torch.tensor([[1.0, 2.0], [3.0, 4.0]])}
before = {k: v.clone() for k, v in point.items()}
res = mod.evaluate({k: point[k] for k in point if k in ${JSON.stringify(expr.includes('x') ? ['x'] : ['A'])}})
for v in res.values():
    v.add_(100.0)
result = all(torch.equal(point[k], before[k]) for k in point)`,
      })),
    );
    expect(got).toEqual([true, true, true, true]);
  });
});
