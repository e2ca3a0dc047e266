/**
 * Generated code with hostile variable names still compiles and computes the right numbers, no
 * input text can inject code, and the generated functions reject bad inputs with clear messages.
 */
import { spawnSync } from 'node:child_process';
import { describe, expect, test } from 'vitest';
import fc from 'fast-check';
import { derivative, generateCode, RicciError } from '../../src/index.js';
import { commentText } from '../../src/codegen/names.js';
import { pyString } from '../../src/codegen/python.js';
import { randomTensor, relErr, rng } from '../helpers/numeric.js';
import type { Tensor } from '../../src/tensor.js';
import { findPython, loadJs, loadJsModule, runJobs, runPython, toOutputs, transpileTs, typeCheckTs } from './harness.js';

/** Objects with keys such as __proto__ as own properties (as JSON.parse makes them). */
const own = (entries: [string, unknown][]): Record<string, unknown> => Object.fromEntries(entries);

/** A point as JSON, with every key (also __proto__) an own property. */
function pointJson(values: ReadonlyMap<string, Tensor>): string {
  const nested = (t: Tensor): unknown =>
    t.shape.length === 0 ? t.data[0] : t.shape.length === 1 ? Array.from(t.data) : Array.from({ length: t.shape[0]! }, (_, i) => Array.from(t.data.subarray(i * t.shape[1]!, (i + 1) * t.shape[1]!)));
  return JSON.stringify(own([...values].map(([k, v]) => [k, nested(v)])));
}

interface Hostile {
  readonly expr: string;
  readonly wrt: string;
  readonly let: Record<string, string>;
  readonly shapes: Record<string, number[]>;
}

const HOSTILE: readonly Hostile[] = [
  {
    // Keywords and builtins of JS and Python, and the names NumPy and Math.
    expr: "lambda*import'*Math*import + constructor*sum(exp(None*print)) + toString'*return + class*np'*np",
    wrt: 'import',
    let: {},
    shapes: { lambda: [], import: [3], Math: [3, 3], constructor: [], None: [2, 4], print: [4], toString: [3], return: [3], class: [], np: [2] },
  },
  {
    // Object-prototype keys, and names the generator itself uses (evaluate, input, t1, i, acc, n, A_in, read_, _read).
    expr: "__proto__'*Object*__proto__ + evaluate*t1'*input + acc*sum(n) + valueOf'*i + sum(_read*hasOwnProperty) + sum(A_in*x_in) + read_'*Float64Array*read_",
    wrt: '__proto__',
    let: JSON.parse('{"__proto__": "vector", "_read": "matrix"}') as Record<string, string>,
    shapes: {
      ['__proto__']: [3], Object: [3, 3], evaluate: [], t1: [2], input: [2], acc: [], n: [4], valueOf: [2], i: [2],
      _read: [2, 3], hasOwnProperty: [3], A_in: [2, 2], x_in: [2], read_: [3], Float64Array: [3, 3],
    },
  },
  {
    // A size symbol's name (n) that is also a variable, with inv, det and element-wise functions.
    expr: "n'*inv(Math)*n + det(Math) + sum(sigmoid(n)) + sum(softplus(return))",
    wrt: 'Math',
    let: {},
    shapes: { n: [3], Math: [3, 3], return: [2] },
  },
  {
    // The torch module's names and the self-check's (module-level helpers and tables).
    expr: "torch'*torch*functorch + check_gradient*sum(checkGradient) + sum(_draw) + sum(_CHECK*CHECK_) + check_inputs*draw_'*draw_ + STEPS_'*torch",
    wrt: 'torch',
    let: { checkGradient: 'vector', _draw: 'vector', _CHECK: 'matrix', CHECK_: 'vector', check_inputs: 'scalar', draw_: 'vector', STEPS_: 'vector' },
    shapes: { torch: [3], functorch: [], check_gradient: [], checkGradient: [4], _draw: [2], _CHECK: [2, 3], CHECK_: [3], check_inputs: [], draw_: [3], STEPS_: [3] },
  },
];

function pointFor(h: Hostile, seed: number): Map<string, Tensor> {
  const rand = rng(seed);
  const m = new Map<string, Tensor>();
  for (const [k, shape] of Object.entries(h.shapes)) {
    const t = randomTensor(shape, 'any', rand);
    if (shape.length === 2 && shape[0] === shape[1]) for (let i = 0; i < shape[0]!; i++) t.data[i * shape[0]! + i] += 4;
    m.set(k, t);
  }
  return m;
}

describe('hostile variable names', () => {
  const cases = HOSTILE.map((h, i) => {
    const values = pointFor(h, 900 + i);
    const expected = [0, 1, 2].map((k) => derivative(h.expr, h.wrt, { order: k, let: h.let }).compile()(Object.fromEntries(values)));
    const gen = (lang: 'js' | 'ts' | 'python' | 'torch'): string => generateCode(h.expr, h.wrt, { order: 2, lang, let: h.let });
    return { h, values, expected, js: gen('js'), ts: gen('ts'), py: gen('python'), torch: gen('torch') };
  });
  const check = (got: Record<string, Tensor>, expected: Tensor[]): void => {
    expect(Object.keys(got)).toEqual(['value', 'gradient', 'hessian']);
    Object.values(got).forEach((t, k) => expect(relErr(t, expected[k]!, 1e-6)).toBeLessThan(1e-10));
  };

  test.each(cases.map((c) => [c.h.expr, c] as const))('JS and TS: %s', (_e, c) => {
    check(loadJs(c.js)(own([...c.values])), c.expected);
    check(loadJs(transpileTs(c.ts))(own([...c.values])), c.expected);
    // As a real ES module too.
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', `${c.js}\nconsole.log(typeof evaluate);`], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe('function');
  });

  test('TS type-checks under --strict', () => {
    expect(typeCheckTs(cases.map((c) => c.ts))).toEqual([]);
  });

  test('Python', () => {
    const results = runPython(cases.map((c) => ({ src: c.py, point: pointJson(c.values) })));
    results.forEach((r) => {
      if ('error' in r) throw new Error(r.error);
    });
    results.forEach((r, i) => check((r as { ok: Record<string, Tensor> }).ok, cases[i]!.expected));
  });

  test('torch', () => {
    const results = runJobs(cases.map((c) => ({ kind: 'torch' as const, src: c.torch, point: pointJson(c.values), dtype: 'float64' as const })));
    results.forEach((r, i) => {
      if ('error' in r) throw new Error(r.error);
      check(toOutputs((r.ok as { out: Parameters<typeof toOutputs>[0] }).out), cases[i]!.expected);
    });
  });

  test('the self-checks of hostile modules run and pass (JS in process; Python and torch)', () => {
    for (const c of cases) for (const e of Object.values(loadJsModule(c.js).checkGradient())) expect(e).toBeLessThan(1e-6);
    const results = runJobs(cases.flatMap((c) => [{ kind: 'check' as const, src: c.py }, { kind: 'check' as const, src: c.torch }]));
    results.forEach((r) => {
      if ('error' in r) throw new Error(r.error);
      for (const e of Object.values(r.ok as Record<string, number>)) expect(e).toBeLessThan(1e-6);
    });
  });

  test('keywords are never used as identifiers, and inputs are read by quoted keys', () => {
    const [js, py, torch] = [cases[0]!.js, cases[0]!.py, cases[0]!.torch];
    expect(torch).not.toMatch(/^\s*(lambda|import|return|class|None|np|print|torch) =/m);
    expect(torch).toMatch(/^ {4}lambda_1, import_1, Math_1, .* = _read\(inputs, \(\("lambda", 0\), \("import", 1\), \("Math", 2\)/m);
    expect(cases[1]!.torch).toContain('("__proto__", 1)');
    expect(js).not.toMatch(/\b(const|let) (class|import|return|Math)\b/);
    expect(py).not.toMatch(/^\s*(lambda|import|return|class|None|np|print) =/m);
    expect(js).toContain('read_(input, "import", 1)');
    expect(py).toContain('_read(inputs, "lambda", 0)');
    expect(cases[1]!.js).toContain('read_(input, "__proto__", 1)');
  });

  test('a missing key is not read from Object.prototype', () => {
    const evaluate = loadJs(cases[1]!.js);
    const values = own([...cases[1]!.values].filter(([k]) => k !== 'valueOf' && k !== '__proto__'));
    expect(() => evaluate(values)).toThrow(/missing input (valueOf|__proto__)/);
  });
});

describe('no input text reaches the code', () => {
  test('an expression that tries to close a comment or a string does not parse', () => {
    for (const expr of ["x'*x */ process.exit(1) /*", "x'*x\n*/ process.exit(1)", 'x\'*x"); process.exit(1); ("', "x'*x # \n import os"])
      for (const lang of ['js', 'python', 'torch'] as const) expect(() => generateCode(expr, 'x', { lang })).toThrow(RicciError);
  });

  test('hostile wrt names and declarations are rejected', () => {
    expect(() => generateCode("x'*x", 'x"]); process.exit(1); //', { lang: 'js' })).toThrow(RicciError);
    expect(() => generateCode("x'*x", 'x', { lang: 'js', let: { 'x; alert(1)': 'vector' } })).toThrow(RicciError);
    expect(() => generateCode("x'*x", 'x', { lang: 'js', let: { x: 'vector"); alert(1); ("' } })).toThrow(RicciError);
    expect(() => generateCode("x'*x", 'x', { lang: 'cobol' as 'js' })).toThrow(RicciError);
    expect(() => generateCode("x'*x", 'x"]); import os #', { lang: 'torch' })).toThrow(RicciError);
    expect(() => generateCode("x'*x", 'x', { lang: 'torch', let: { x: 'vector"); import os; ("' } })).toThrow(RicciError);
  });

  test('a multi-line expression stays inside one comment line', () => {
    const expr = "x'*x\n  + sum(x)\r\n  - 2*x'*x";
    const js = generateCode(expr, 'x', { lang: 'js', order: 2 });
    const py = generateCode(expr, 'x', { lang: 'python', order: 2 });
    const torch = generateCode(expr, 'x', { lang: 'torch', order: 2 });
    const jsHead = js.slice(0, js.indexOf('export function'));
    const pyHead = py.slice(0, py.indexOf('import numpy'));
    const torchHead = torch.slice(0, torch.indexOf('import torch'));
    for (const line of jsHead.split('\n')) expect(line === '' || line.startsWith('//')).toBe(true);
    for (const line of pyHead.split('\n')) expect(line === '' || line.startsWith('#')).toBe(true);
    for (const line of torchHead.split('\n')) expect(line === '' || line.startsWith('#')).toBe(true);
    expect(torchHead).toContain("x'*x + sum(x) - 2*x'*x".replace(/ \+ /, '   + ').replace(/ - /, '   - '));
    expect(jsHead).toContain("x'*x + sum(x) - 2*x'*x".replace(/ \+ /, '   + ').replace(/ - /, '   - '));
    const x = [0.5, -1, 2];
    expect(loadJs(js)({ x }).value.data[0]).toBeCloseTo(-5.25 + 1.5, 12);
  });

  test('comment text never holds a line terminator (property)', () => {
    const unit = fc.oneof(
      fc.constantFrom('\n', '\r', '\u2028', '\u2029', '\u0085', '\v', '\f', '*/', '\ud800', '\udfff', '#', '"'),
      fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)),
    );
    fc.assert(
      fc.property(fc.string({ unit, maxLength: 40 }), (s) => {
        const c = commentText(s);
        expect(c).not.toMatch(/[\n\r\u2028\u2029\u0085\v\f]/);
        expect(c).not.toMatch(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/);
      }),
    );
  });

  test.runIf(findPython() !== null)('Python string literals read back exactly', () => {
    const strings = ['plain', 'quote " and \\ backslash', "single ' quote", 'new\nline', 'times ×', 'astral 𝛼', '\u2028', '{x}%s'];
    const src = `import json\nprint(json.dumps([${strings.map(pyString).join(', ')}]))`;
    const r = spawnSync(findPython()!, ['-c', src], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).toEqual(strings);
    for (const s of strings) expect(pyString(s)).toMatch(/^"[\x20-\x7e]*"$/);
  });
});

describe('generated functions check their inputs', () => {
  const quad = (lang: 'js' | 'python' | 'torch', decl = false): string =>
    generateCode("x'*A*x", 'x', { lang, order: 2, ...(decl ? { let: { A: 'symmetric matrix' } } : {}) });
  const lsq = (lang: 'js' | 'python' | 'torch'): string => generateCode('norm2(A*x - y)^2', 'x', { lang });
  const I3 = [
    [1, 0, 0],
    [0, 1, 0],
    [0, 0, 1],
  ];
  const bad: { name: string; src: (lang: 'js' | 'python' | 'torch') => string; point: Record<string, unknown>; message: RegExp }[] = [
    { name: 'size mismatch', src: (l) => quad(l), point: { x: [1, 2, 3], A: [[1, 2, 3, 4], [1, 2, 3, 4], [1, 2, 3, 4]] }, message: /A must be 3×3 \(n×n, with n from x\), got 3×4/ },
    { name: 'vector length', src: lsq, point: { A: [[1, 2], [3, 4], [5, 6]], x: [1, 2], y: [1, 2] }, message: /y must have 3 entries \(n, with n from A\), got 2/ },
    { name: 'missing input', src: (l) => quad(l), point: { x: [1, 2, 3] }, message: /missing input A/ },
    { name: 'wrong rank', src: (l) => quad(l), point: { x: I3, A: I3 }, message: /x must be a vector, got a 3×3 array/ },
    { name: 'not symmetric', src: (l) => quad(l, true), point: { x: [1, 2], A: [[1, 2], [3, 4]] }, message: /A is declared symmetric, but entries \(2,1\) and \(1,2\) differ/ },
    { name: 'not finite', src: (l) => quad(l), point: { x: [1, NaN], A: [[1, 0], [0, 1]] }, message: /x: .*finite/ },
  ];

  test.each(bad.map((b) => [b.name, b] as const))('JS: %s', (_n, b) => {
    expect(() => loadJs(b.src('js'))(b.point)).toThrow(b.message);
  });

  test('torch: the same messages (values through check_inputs, which evaluate leaves out)', () => {
    const code = (fn: string, point: string): string => `
import json
try:
    mod.${fn}(json.loads(${JSON.stringify(point)}, parse_constant=float))
    result = "no error"
except ValueError as e:
    result = "ValueError: " + str(e)`;
    const valueChecks = new Set(['not symmetric', 'not finite']);
    const results = runJobs(
      bad.map((b) => ({ kind: 'script' as const, src: b.src('torch'), code: code(valueChecks.has(b.name) ? 'check_inputs' : 'evaluate', JSON.stringify(b.point).replace(/null/g, 'NaN')) })),
    );
    results.forEach((r, i) => {
      if ('error' in r) throw new Error(r.error);
      expect(r.ok, bad[i]!.name).toMatch(/^ValueError: /);
      expect(r.ok, bad[i]!.name).toMatch(bad[i]!.message);
    });
  });

  test('Python: the same messages', () => {
    const results = runPython(bad.map((b) => ({ src: b.src('python'), point: JSON.stringify(b.point).replace(/null/g, 'NaN') })));
    results.forEach((r, i) => {
      expect('error' in r, bad[i]!.name).toBe(true);
      expect((r as { error: string }).error).toMatch(/^ValueError: /);
      expect((r as { error: string }).error).toMatch(bad[i]!.message);
    });
  });

  test('JS accepts numbers, arrays, Float64Arrays and { shape, data } alike, and does not alias its inputs', () => {
    const f = loadJs(generateCode("c*x'*y + x'*A*x", 'y', { lang: 'js', order: 1 }));
    const x = Float64Array.of(1, 2);
    const r1 = f({ c: 2, x, y: [3, 4], A: { shape: [2, 2], data: [1, 2, 3, 4] } });
    const r2 = f({ c: 2, x: [1, 2], y: Float64Array.of(3, 4), A: [[1, 2], [3, 4]] });
    expect(r1.value.data[0]).toBe(2 * 11 + 27);
    expect(Array.from(r1.gradient.data)).toEqual([2, 4]);
    expect(r2).toEqual(r1);
    r1.gradient.data[0] = 99;
    expect(x[0]).toBe(1);
  });

  test('a size that no input gives is an error at generation time', () => {
    expect(() => generateCode('sum(vector(1))*a', 'a', { lang: 'js' })).toThrow(/cannot be read from the inputs/);
  });
});
