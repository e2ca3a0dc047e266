/**
 * Acceptance for code export: for every corpus case, the generated JS, TS and Python functions
 * return the same numbers as the compiled evaluator (relative error < 1e-10) for the value and
 * every derivative up to the case's order, at a random point drawn as the case's domain says.
 * The TS output also type-checks under --strict. Python runs all cases in one process.
 */
import { beforeAll, describe, expect, test } from 'vitest';
import { CORPUS, declarations, pointJson, randomPoint, type CorpusCase } from '../helpers/corpus.js';
import { relErr, rng } from '../helpers/numeric.js';
import { derivative, generateCode } from '../../src/index.js';
import { outputKey } from '../../src/codegen/plan.js';
import type { Tensor } from '../../src/tensor.js';
import { loadJs, runPython, transpileTs, typeCheckTs, type PythonResult } from './harness.js';

const TOL = 1e-10;
/** Below this norm the error is absolute (exact zeros computed in a different order). */
const FLOOR = 1e-6;

interface Prepared {
  readonly c: CorpusCase;
  readonly values: Map<string, Tensor>;
  readonly keys: string[];
  readonly expected: Tensor[];
  readonly js: string;
  readonly ts: string;
  readonly py: string;
}

function prepare(c: CorpusCase, index: number): Prepared {
  const decls = declarations(c);
  const values = randomPoint(c, rng(7000 + index));
  const point = Object.fromEntries(values);
  const expected: Tensor[] = [];
  const keys: string[] = [];
  let exprRank = 0;
  for (let k = 0; k <= c.order; k++) {
    const d = derivative(c.expr, c.wrt, { order: k, let: decls });
    if (k === 0) exprRank = d.shape.length;
    keys.push(outputKey(k, exprRank));
    expected.push(d.compile()(point));
  }
  const gen = (lang: 'js' | 'ts' | 'python'): string => generateCode(c.expr, c.wrt, { order: c.order, lang, let: decls });
  return { c, values, keys, expected, js: gen('js'), ts: gen('ts'), py: gen('python') };
}

function expectSame(got: Record<string, Tensor>, p: Prepared, what: string): void {
  expect(Object.keys(got), `${what}: result keys`).toEqual(p.keys);
  p.keys.forEach((k, i) => {
    const want = p.expected[i]!;
    const have = got[k]!;
    expect([...have.shape], `${what}: shape of ${k}`).toEqual([...want.shape]);
    expect(relErr(have, want, FLOOR), `${what}: ${k}`).toBeLessThan(TOL);
  });
}

const prepared = CORPUS.map(prepare);
let pythonResults: PythonResult[] = [];

beforeAll(() => {
  pythonResults = runPython(prepared.map((p) => ({ src: p.py, point: pointJson(p.values) })));
});

describe.each(prepared.map((p, i) => [p.c.id, p, i] as const))('%s', (_id, p, i) => {
  test('generated JS equals the compiled evaluator', () => {
    const evaluate = loadJs(p.js);
    expectSame(evaluate(Object.fromEntries(p.values)), p, 'js');
  });

  test('generated TS transpiles and equals the compiled evaluator', () => {
    const evaluate = loadJs(transpileTs(p.ts));
    expectSame(evaluate(Object.fromEntries(p.values)), p, 'ts');
  });

  test('generated Python equals the compiled evaluator', () => {
    const r = pythonResults[i]!;
    if ('error' in r) throw new Error(`python: ${r.error}\n${p.py}`);
    expectSame(r.ok, p, 'python');
  });
});

test('generated TS of every corpus case type-checks under --strict', () => {
  expect(typeCheckTs(prepared.map((p) => p.ts))).toEqual([]);
});
