/**
 * Self-checking exports: check_gradient / checkGradient of every corpus case (and of cases with a
 * symmetric variable of differentiation, and with functions that need a domain) reports relative
 * errors below 1e-6 in JS, TS, Python and torch; other sizes (1 and larger) and seeds work; a
 * wrong derivative is caught; the domains come from the IR.
 */
import { beforeAll, describe, expect, test } from 'vitest';
import { CORPUS, declarations } from '../helpers/corpus.js';
import { derivative, generateCode } from '../../src/index.js';
import { outputKey, planCode } from '../../src/codegen/plan.js';
import { loadJsModule, runJobs, transpileTs, type Job } from './harness.js';
import { drawCase } from '../../fuzz/draw.js';

const TOL = 1e-6;
type Lang = 'js' | 'ts' | 'python' | 'torch';
const LANGS: readonly Lang[] = ['js', 'ts', 'python', 'torch'];

interface Case {
  readonly id: string;
  readonly expr: string;
  readonly wrt: string;
  readonly order: number;
  readonly let: Record<string, string>;
}

/** Beyond the corpus: symmetric variables of differentiation and functions with domains. */
const EXTRA: readonly Case[] = [
  { id: 'sym-logdet-hess', expr: 'logdet(X)', wrt: 'X', order: 2, let: { X: 'symmetric matrix' } },
  { id: 'sym-quad-wrt-A', expr: "x'*A*x", wrt: 'A', order: 2, let: { A: 'symmetric matrix' } },
  { id: 'sym-trace-XBX', expr: 'tr(A*X*B*X)', wrt: 'X', order: 2, let: { X: 'symmetric matrix' } },
  { id: 'sqrt-arcsin', expr: 'sum(sqrt(x)) + arccos(y)\'*x', wrt: 'x', order: 2, let: {} },
  { id: 'log-of-product', expr: 'sum(log(A*x))', wrt: 'x', order: 2, let: {} },
  { id: 'logdet-of-product', expr: 'logdet(X*Y) + tr(inv(X + Y))', wrt: 'X', order: 2, let: {} },
  { id: 'inverse-power', expr: 'sum(x.^-1) + norm1(x)^3', wrt: 'x', order: 2, let: {} },
  { id: 'scalar-powers', expr: 'a^b + b^2*log(a)', wrt: 'b', order: 3, let: {} },
  { id: 'det-hess', expr: 'det(X)', wrt: 'X', order: 2, let: {} },
  // A printed temporary in the sign the input wrote, where the engine has the other (t1 = X*x - y,
  // computed and negated).
  { id: 'written-sign-temporary', expr: 'log(norm2(X*x - y))', wrt: 'x', order: 2, let: {} },
  { id: 'written-sign-ones', expr: 'norm2(x - vector(1))^3', wrt: 'x', order: 2, let: {} },
  // A derivative that cancels to 0 ((A*x)./(A*x) is ones): its rounding noise alone read as a 100 %
  // error; the check's floor, 1e-8·(1 + |f|)/h, tells it from 0.
  { id: 'cancels-to-zero', expr: 'A*vector(-1)./(A*vector(-1)) + x', wrt: 'A', order: 1, let: {} },
  // Near a pole (the JS draw at seed 0 puts X*x/b + softplus(z) near 0) the step h alone was off
  // by 8.6e-5 on a right Jacobian; the check takes the better of h and h/16.
  { id: 'near-a-pole', expr: 'vector(0.5)./(X*x/b - -softplus(z))', wrt: 'x', order: 2, let: {} },
  // Sizes the expression ties together: the default sizes must satisfy the relations (a bound size
  // that is a product of others, two products that must be equal, a quotient that must be whole).
  { id: 'tied-kron-length', expr: 'log(1 + (x\'*kron(y, z))^2)', wrt: 'x', order: 2, let: {} },
  { id: 'tied-vec-kron', expr: "sin(vec(X)'*kron(y, z))", wrt: 'X', order: 2, let: {} },
  { id: 'tied-vec-kron-vec', expr: 'norm2(vec(X) - kron(y, vec(Z)))^2', wrt: 'X', order: 2, let: {} },
  { id: 'tied-quotient', expr: "exp(w'*vector(1, len(x)/len(y)))", wrt: 'w', order: 2, let: {} },
  { id: 'tied-product-over-quotient', expr: "x'*vector(1, len(x)*len(z)/len(y))*z'*z", wrt: 'z', order: 2, let: {} },
  // Constants kept as written in the printed form (sin(1.5), sqrt(2), sigmoid(0.5)*vector(1)) are numbers in code.
  {
    id: 'symbolic-constants',
    expr: "sqrt(2)*x'*A*x + sin(1.5)*sum(exp(x/3)) + 1.5^0.5*sum(sigmoid(vector(0.5)).*x) + arctan(-3)*sum(x.^(1/3))",
    wrt: 'x',
    order: 2,
    let: {},
  },
];

const CASES: readonly Case[] = [...CORPUS.map((c) => ({ id: c.id, expr: c.expr, wrt: c.wrt, order: c.order, let: declarations(c) })), ...EXTRA];

function keysOf(c: Case): string[] {
  const rank = derivative(c.expr, c.wrt, { order: 0, let: c.let }).shape.length;
  return Array.from({ length: c.order }, (_, k) => outputKey(k + 1, rank));
}

const source = (c: Case, lang: Lang): string => generateCode(c.expr, c.wrt, { order: c.order, lang, let: c.let });
const python = new Map<Lang, ({ ok: unknown } | { error: string })[]>();

beforeAll(() => {
  for (const lang of ['python', 'torch'] as const) python.set(lang, runJobs(CASES.map((c): Job => ({ kind: 'check', src: source(c, lang) }))));
});

function errorsOf(c: Case, i: number, lang: Lang): Record<string, number | null> {
  if (lang === 'js') return loadJsModule(source(c, 'js')).checkGradient();
  if (lang === 'ts') return loadJsModule(transpileTs(source(c, 'ts'))).checkGradient();
  const r = python.get(lang)![i]!;
  if ('error' in r) throw new Error(`${lang}: ${r.error}`);
  return r.ok as Record<string, number | null>;
}

describe.each(CASES.map((c, i) => [c.id, c, i] as const))('%s', (_id, c, i) => {
  test.each(LANGS)(`%s: every derivative within ${TOL} of finite differences`, (lang) => {
    const errors = errorsOf(c, i, lang);
    expect(Object.keys(errors)).toEqual(keysOf(c));
    for (const [k, e] of Object.entries(errors)) {
      expect(e, `${k}`).not.toBeNull();
      expect(e!, k).toBeLessThan(TOL);
    }
  });
});

describe('sizes and seeds', () => {
  const some: Case[] = [CASES.find((c) => c.id === 'mf-hess-U')!, CASES.find((c) => c.id === 'sym-logdet-hess')!, CASES.find((c) => c.id === 'logreg-hess')!];
  const sizings: Record<string, number>[][] = [
    [{ n: 1 }, { m: 1, n: 1, p: 1 }, { n: 9, m: 2 }],
    [{ n: 1 }, { n: 6 }],
    [{ n: 1 }, { m: 12, n: 1 }, { n: 4 }],
  ];

  test('JS and Python agree that sizes 1 and larger, and other seeds, pass', () => {
    const jobs: Job[] = [];
    some.forEach((c, k) => {
      for (const sizes of sizings[k]!)
        for (const seed of [0, 7]) {
          const js = loadJsModule(source(c, 'js')).checkGradient(sizes, seed);
          for (const e of Object.values(js)) expect(e, `${c.id} ${JSON.stringify(sizes)} seed ${seed}`).toBeLessThan(TOL);
          jobs.push({ kind: 'check', src: source(c, 'python'), sizes, seed }, { kind: 'check', src: source(c, 'torch'), sizes, seed });
        }
    });
    for (const r of runJobs(jobs)) {
      if ('error' in r) throw new Error(r.error);
      for (const e of Object.values(r.ok as Record<string, number>)) expect(e).toBeLessThan(TOL);
    }
  });

  test('the default sizes differ from each other, so that a transposed axis shows', () => {
    const src = source(CASES.find((c) => c.id === 'mf-hess-U')!, 'js');
    expect(src).toContain('sizes: [["n", 3], ["m", 4], ["p", 5]]');
  });

  test('the default sizes satisfy every size relation of drawn expressions that have one', () => {
    // The fuzzer's draws with vec, kron and size arguments: the class, not only the cases above.
    let tied = 0;
    for (let i = 0; i < 3000 && tied < 40; i++) {
      const d = drawCase(11, i);
      if (!('spec' in d)) continue;
      const { text, wrt, order, decls } = d.spec;
      // Networks (where clauses) hold no size relation of their own, and some of their Hessians
      // take seconds to plan (README, "Not solved").
      if (text.includes(' where ')) continue;
      let plan;
      try {
        plan = planCode(text, wrt, { order, let: decls });
      } catch {
        continue; // not every draw has generated code (e.g. an order the planner refuses)
      }
      if (!plan.derived.some((x) => x.check || x.total !== undefined)) continue;
      tied++;
      const { checkGradient } = loadJsModule(generateCode(text, wrt, { order, lang: 'js', let: decls }));
      try {
        checkGradient();
      } catch (e) {
        expect(String(e), `${text} by ${wrt}`).not.toMatch(/^Error: size .* must be/);
      }
    }
    expect(tied).toBeGreaterThanOrEqual(20);
  });

  test('an unknown size or a size that is not a whole number ≥ 1 is an error', () => {
    const { checkGradient } = loadJsModule(source(some[0]!, 'js'));
    expect(() => checkGradient({ q: 3 })).toThrow(/unknown size q: the sizes are n, m, p/);
    expect(() => checkGradient({ n: 0 })).toThrow(/size n must be a whole number ≥ 1, got 0/);
    expect(() => checkGradient({ n: 2.5 })).toThrow(/size n must be a whole number ≥ 1/);
    const results = runJobs([
      { kind: 'check', src: source(some[0]!, 'python'), sizes: { q: 3 } },
      { kind: 'check', src: source(some[0]!, 'torch'), sizes: { n: 0 } },
    ]);
    expect(results.map((r) => ('error' in r ? r.error : ''))).toEqual([
      'ValueError: unknown size q: the sizes are n, m, p',
      'ValueError: size n must be a whole number >= 1, got 0',
    ]);
  });
});

describe('a wrong derivative is caught', () => {
  // The Hessian of x'*A*x scaled by 1.01 in the generated source: a 1% error must show.
  const c: Case = { id: 'quad', expr: "x'*A*x", wrt: 'x', order: 2, let: {} };
  const tamper: Record<Lang, (src: string) => string> = {
    js: (s) => s.replace(/hessian: \{ shape: \[(\w+), (\w+)\], data: (\w+) \}/, 'hessian: { shape: [$1, $2], data: $3.map((v) => 1.01 * v) }'),
    ts: (s) => s.replace(/hessian: \{ shape: \[(\w+), (\w+)\], data: (\w+) \}/, 'hessian: { shape: [$1, $2], data: $3.map((v) => 1.01 * v) }'),
    python: (s) => s.replace(/"hessian": np\.array\((\w+),/, '"hessian": np.array(1.01 * $1,'),
    torch: (s) => s.replace(/"hessian": (\w+),/, '"hessian": 1.01 * $1,'),
  };

  test.each(LANGS)('%s', (lang) => {
    const src = tamper[lang](source(c, lang));
    expect(src).toContain('1.01 *');
    let errors: Record<string, number>;
    if (lang === 'js' || lang === 'ts') errors = loadJsModule(lang === 'ts' ? transpileTs(src) : src).checkGradient();
    else {
      const [r] = runJobs([{ kind: 'check', src }]);
      if (!r || 'error' in r) throw new Error(r?.error);
      errors = r.ok as Record<string, number>;
    }
    expect(errors.gradient).toBeLessThan(TOL);
    expect(errors.hessian).toBeGreaterThan(5e-3);
  });
});

describe('domains come from the IR', () => {
  const domainOf = (expr: string, wrt: string, name: string, lets: Record<string, string> = {}): string => {
    const d = planCode(expr, wrt, { order: 1, let: lets }).inputs.find((i) => i.name === name)!.domain;
    return `${d.signed ? '±' : ''}[${d.lo}, ${d.hi}]${d.dominant ? ' dominant' : ''}`;
  };

  test.each([
    ['sum(log(x))', 'x', 'x', '[0.5, 2]'],
    ["sqrt(x'*y)", 'x', 'x', '[0.5, 2]'],
    ['sum(log(A*x))', 'x', 'A', '[0.5, 2]'],
    ['sum(log(x - y))', 'x', 'y', '[-1, 1]'],
    ['sum(log(exp(x) + vector(1)))', 'x', 'x', '[-1, 1]'],
    ['a^b', 'a', 'a', '[0.5, 2]'],
    ['norm1(x)', 'x', 'x', '±[0.3, 1.5]'],
    ['sum(x.^-1)', 'x', 'x', '±[0.3, 1.5]'],
    ["sum(relu(W*x))", 'x', 'W', '[-1, 1]'],
    ['sum(arcsin(x))', 'x', 'x', '[-0.9, 0.9]'],
    ['sum(log(arccos(x)))', 'x', 'x', '[-0.9, 0.9]'],
    ['logdet(X)', 'X', 'X', '[-1, 1] dominant'],
    ["x'*inv(A)*x", 'x', 'A', '[-1, 1] dominant'],
    ['logdet(X*Y) + tr(X)', 'X', 'Y', '[-1, 1] dominant'],
    ['logdet(X*Y)', 'X', 'Y', '[-1, 1]'],
    ['tr(inv(X + Y))', 'X', 'Y', '[-1, 1] dominant'],
    ["logdet(X'*X)", 'X', 'X', '[-1, 1]'],
    ["logdet(X'*A*X)", 'X', 'A', '[-1, 1] dominant'],
    ['det(X)', 'X', 'X', '[-1, 1]'], // its derivative adj(X)' needs no inverse
    ['logdet(diag(x))', 'x', 'x', '[0.5, 2]'],
    ["logdet(X'*diag(s)*X)", 'X', 's', '[0.5, 2]'],
    ['logdet(diag(s)*A)', 'A', 'A', '[-1, 1] dominant'],
    ['logdet(A^3)', 'A', 'A', '[-1, 1] dominant'],
    ["x'*A^-3*x", 'x', 'A', '[-1, 1] dominant'],
    ['sum(log(A^3*x))', 'x', 'A', '[0.5, 2]'],
  ])('%s by %s: %s drawn from %s', (expr, wrt, name, want) => {
    expect(domainOf(expr, wrt, name)).toBe(want);
  });
});
