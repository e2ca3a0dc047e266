/**
 * inv, det and logdet on badly scaled, ill-conditioned and singular matrices, in every evaluator:
 * the LU kernels of the compiled evaluator, the reference evaluator, and the helpers of generated
 * JS and Python. Singularity is decided per pivot of the equilibrated matrix (kernels/lu.ts), so
 * scaling rows and columns never makes a regular matrix singular nor a singular one regular;
 * det and logdet come from the pivots without over- or underflow through the product.
 */
import { beforeAll, describe, expect, test } from 'vitest';
import { det, inverse, logAbsDet, luFactor, luSolve, SingularMatrixError } from '../../src/compile/kernels/index.js';
import { determinant, invert, logDeterminant } from '../../src/compile/reference.js';
import { derivative, generateCode, RicciError } from '../../src/index.js';
import { run } from '../../src/cli/main.js';
import { testMatrices, type TestMatrix } from '../helpers/matrices.js';
import { loadJs, runPython, type PythonResult } from '../codegen/harness.js';

const MATRICES = testMatrices(1);

function rows(t: TestMatrix): number[][] {
  return Array.from({ length: t.n }, (_, i) => Array.from(t.a.subarray(i * t.n, (i + 1) * t.n)));
}

/** What an implementation returned for one matrix: the inverse (or null: refused), det, logdet (null: refused). */
interface Outcome {
  readonly inv: Float64Array | null;
  readonly det: number;
  readonly logdet: number | null;
}

/** Checks one implementation's outcome against what the matrix must give. */
function expectRight(t: TestMatrix, o: Outcome, who: string): void {
  const what = `${who}: ${t.name}`;
  if (t.det === null) {
    expect(o.inv, `${what}: inv refused`).toBeNull();
    expect(o.logdet, `${what}: logdet refused`).toBeNull();
    expect(o.det, `${what}: det`).toBe(0);
    return;
  }
  expect(o.inv, `${what}: inv exists`).not.toBeNull();
  expect(t.inverseError!(o.inv!), `${what}: inverse`).toBeLessThan(t.inverseTol!);
  // det = sign·exp(logAbs): compare in the log domain where it is representable, else the
  // value over- or underflows exactly as the true value does.
  const { sign, logAbs, logTol } = t.det;
  if (Math.abs(logAbs) < 700) {
    expect(Math.sign(o.det), `${what}: sign of det`).toBe(sign);
    expect(Math.abs(Math.log(Math.abs(o.det)) - logAbs), `${what}: det`).toBeLessThan(logTol + 1e-15);
  } else if (logAbs > 0) expect(o.det, `${what}: det out of range`).toBe(sign * Infinity);
  else expect(Math.abs(o.det), `${what}: det out of range`).toBe(0);
  if (sign > 0) expect(Math.abs(o.logdet! - logAbs), `${what}: logdet`).toBeLessThan(logTol);
  else expect(o.logdet, `${what}: logdet of a negative determinant`).toBeNaN();
}

const refused = <T>(f: () => T, ...errors: (new (...a: never[]) => Error)[]): T | null => {
  try {
    return f();
  } catch (e) {
    if (errors.some((E) => e instanceof E)) return null;
    throw e;
  }
};

describe('the matrix suite', () => {
  test('has regular and singular matrices of every size 1…8', () => {
    for (let n = 1; n <= 8; n++) {
      expect(MATRICES.some((t) => t.n === n && t.det !== null)).toBe(true);
      expect(MATRICES.some((t) => t.n === n && t.det === null)).toBe(true);
    }
    expect(MATRICES.filter((t) => t.det === null).length).toBeGreaterThan(30);
  });
});

describe('compiled evaluator kernels (LU with scaled partial pivoting)', () => {
  test.each(MATRICES.map((t) => [t.name, t] as const))('%s', (_name, t) => {
    const n = t.n;
    const inv = refused(() => {
      const out = new Float64Array(n * n);
      inverse(n, t.a, 0, n, out, 0, n);
      return out;
    }, SingularMatrixError);
    const l = logAbsDet(n, t.a, 0, n);
    const logdet = l.sign === 0 ? null : l.sign > 0 ? l.logAbs : NaN;
    expectRight(t, { inv, det: det(n, t.a, 0, n), logdet }, 'kernel');
    // luFactor and luSolve decide the same way; the solve of A·x = A·1 gives x = 1 (scaled measure).
    const lu = Float64Array.from(t.a);
    const piv = new Int32Array(n);
    const sign = refused(() => luFactor(n, lu, 0, n, piv), SingularMatrixError);
    expect(sign === null, 'luFactor refuses exactly when inverse does').toBe(inv === null);
    if (sign !== null && t.inverseError) {
      const x = new Float64Array(n * n);
      for (let i = 0; i < n; i++) x[i * n + i] = 1;
      luSolve(n, n, lu, 0, n, piv, x, 0, n);
      expect(t.inverseError(x)).toBeLessThan(t.inverseTol!);
    }
  });
});

describe('reference evaluator', () => {
  test.each(MATRICES.map((t) => [t.name, t] as const))('%s', (_name, t) => {
    const inv = refused(() => invert(t.a, t.n), SingularMatrixError);
    const logdet = refused(() => logDeterminant(t.a, t.n), SingularMatrixError);
    expectRight(t, { inv, det: determinant(t.a, t.n), logdet }, 'reference');
  });
});

describe('generated code', () => {
  const gen = (lang: 'js' | 'python', expr: string): string => generateCode(expr, 'A', { order: 0, lang });
  const js = { inv: loadJs(gen('js', 'inv(A)')), det: loadJs(gen('js', 'det(A)')), logdet: loadJs(gen('js', 'logdet(A)')) };
  let python: PythonResult[][] = [];
  beforeAll(() => {
    const srcs = [gen('python', 'inv(A)'), gen('python', 'det(A)'), gen('python', 'logdet(A)')];
    const jobs = MATRICES.flatMap((t) => srcs.map((src) => ({ src, point: JSON.stringify({ A: rows(t) }) })));
    const out = runPython(jobs);
    python = MATRICES.map((_, i) => out.slice(3 * i, 3 * i + 3));
  });

  test.each(MATRICES.map((t) => [t.name, t] as const))('JS: %s', (_name, t) => {
    const point = { A: rows(t) };
    const inv = refused(() => js.inv(point).value!.data, RangeError);
    const logdet = refused(() => js.logdet(point).value!.data[0]!, RangeError);
    expectRight(t, { inv, det: js.det(point).value!.data[0]!, logdet }, 'js');
  });

  test('Python, every matrix', () => {
    MATRICES.forEach((t, i) => {
      const [inv, d, logdet] = python[i]!;
      const value = (r: PythonResult, what: string): Float64Array | null => {
        if ('error' in r) {
          expect(r.error, `python ${what}: ${t.name}`).toMatch(/^LinAlgError: (inv|logdet)\(A\): the matrix is singular/);
          return null;
        }
        return r.ok.value!.data;
      };
      let dv = value(d!, 'det')![0]!;
      // The harness carries non-finite numbers as NaN (JSON null): an overflowing det is one.
      if (Number.isNaN(dv) && t.det && t.det.logAbs > 700) dv = t.det.sign * Infinity;
      expectRight(t, { inv: value(inv!, 'inv'), det: dv, logdet: value(logdet!, 'logdet')?.[0] ?? null }, 'python');
    });
  });
});

describe('issue 8: diag(exp(x)) at x = [30, -30] and beyond', () => {
  const points = [
    [30, -30],
    [300, -300],
    [-700, 0, 690],
  ];
  test.each(points.map((x) => [x.join(', '), x] as const))('x = [%s]: det 1·…, logdet Σx, inv diag(exp(-x)), in every evaluator', (_s, x) => {
    const want = {
      det: Math.exp(x.reduce((a, b) => a + b, 0)),
      logdet: x.reduce((a, b) => a + b, 0),
    };
    for (const [expr, w] of [
      ['det(diag(exp(x)))', want.det],
      ['logdet(diag(exp(x)))', want.logdet],
    ] as const) {
      const d = derivative(expr, 'x', { order: 0 });
      const evals = [d.evaluate({ x }).data[0]!, d.compile()({ x }).data[0]!, loadJs(generateCode(expr, 'x', { order: 0, lang: 'js' }))({ x }).value!.data[0]!];
      for (const v of evals) expect(Math.abs(v - w), `${expr} at [${x}]`).toBeLessThan(1e-12 * Math.max(1, Math.abs(w)));
      // the gradient of logdet(diag(exp(x))) = Σx is 1 everywhere
      if (expr.startsWith('logdet')) {
        const g = derivative(expr, 'x');
        for (const v of [g.evaluate({ x }).data, g.compile()({ x }).data]) for (const e of v) expect(Math.abs(e - 1)).toBeLessThan(1e-12);
      }
    }
    const inv = derivative('inv(diag(exp(x)))', 'x', { order: 0 });
    for (const v of [inv.evaluate({ x }).data, inv.compile()({ x }).data])
      x.forEach((xi, i) => expect(Math.abs(v[i * x.length + i]! / Math.exp(-xi) - 1)).toBeLessThan(1e-14));
  });
});

// A matrix with an infinite entry made a pivot ±∞, whose log2 the determinant's rescaling took as
// a power of 2 to divide by, in steps of 2^1000 that never ended: the reference evaluator hung on
// det(A./eye) by A (zero scan of fuzz seed 6, case 2970), where the compiled one gave NaN.
describe('infinite and vanishing entries', () => {
  test('the determinant of a matrix with an infinite entry is not finite, and returns', () => {
    expect(Number.isFinite(determinant(Float64Array.of(1, Infinity, 2, 3), 2))).toBe(false);
    expect(Number.isFinite(determinant(Float64Array.of(Infinity, 1, 2, 3), 2))).toBe(false);
    expect(Number.isNaN(determinant(Float64Array.of(NaN, 1, 2, 3), 2))).toBe(true);
    // Pivots whose product falls below the smallest double: 0, not 0·∞.
    expect(determinant(Float64Array.of(1e-200, 0, 0, 1e-200), 2)).toBe(0);
  });

  test('det(A./eye) by A, orders 0 to 2: both evaluators and the generated JS module return, none finite', () => {
    const A = [[0.5, -1.2, 0.3], [0.7, 0.1, -0.4], [1.1, 0.2, 0.9]];
    for (const order of [0, 1, 2]) {
      const d = derivative('det(A./eye)', 'A', { order });
      const js = loadJs(generateCode('det(A./eye)', 'A', { order, lang: 'js' }));
      for (const r of [d.evaluate({ A }), d.compile()({ A }), js({ A }).value!]) expect(Array.from(r.data).some((v) => !Number.isFinite(v))).toBe(true);
    }
  });
});

describe('singular matrices: errors that name the matrix', () => {
  const X = [
    [1, 2],
    [2, 4],
    [3, 6],
  ];
  const message = (f: () => unknown): string => {
    try {
      f();
    } catch (e) {
      expect(e).toBeInstanceOf(RicciError);
      return (e as Error).message;
    }
    throw new Error('no error');
  };

  test("inv(X'*X) and logdet(X'*X) at a rank-deficient X, as the user wrote them", () => {
    const cases: [string, string, RegExp][] = [
      ["x'*inv(X'*X)*x", 'x', /^inv\(X'\*X\): the matrix is singular to working precision, so it has no inverse$/],
      ["logdet(X'*X)", 'X', /^logdet\(X'\*X\): the matrix is singular to working precision, so its log-determinant is -∞$/],
      ["x'*(X'*X)^-1*x", 'x', /^inv\(X'\*X\): the matrix is singular/],
    ];
    for (const [expr, wrt, re] of cases) {
      const d = derivative(expr, wrt, { order: 0 });
      const at = { X, x: [1, 1] };
      expect(message(() => d.evaluate(at)), `reference: ${expr}`).toMatch(re);
      expect(message(() => d.compile()(at)), `compiled: ${expr}`).toMatch(re);
    }
    // The gradient of logdet(X'X) holds inv(X'X): named the same way.
    const g = derivative("logdet(X'*X)", 'X');
    expect(message(() => g.compile()({ X }))).toMatch(/^inv\(X'\*X\): the matrix is singular/);
  });

  test('a matrix the user did not write is named by its printed form', () => {
    // the Hessian of x'*A*x + logdet(A + x*x') by x holds inv(A + x*x'), named from the source
    // text; the simplifier's own matrices (here (A + A')) would be printed.
    const h = derivative("logdet(A + x*x')", 'x', { order: 2 });
    const msg = message(() => h.compile()({ A: [[0, 0], [0, 0]], x: [0, 0] }));
    expect(msg).toMatch(/^inv\((A \+ x\*x'|x\*x' \+ A)\): the matrix is singular/);
  });

  test('ricci eval reports it with exit code 2 and no stack trace', () => {
    let out = '';
    let err = '';
    const code = run(['eval', "logdet(X'*X)", '--wrt', 'X', '--at', 'p.json'], {
      out: (s) => (out += s),
      err: (s) => (err += s),
      readFile: () => JSON.stringify({ X }),
    });
    expect(code).toBe(2);
    expect(out).toBe('');
    expect(err).toMatch(/inv\(X'\*X\): the matrix is singular to working precision/);
    expect(err).not.toMatch(/at .*\.ts:\d+/);
  });

  test('generated JS and Python name it too', () => {
    const js = loadJs(generateCode("logdet(X'*X)", 'X', { order: 1, lang: 'js' }));
    expect(() => js({ X })).toThrow(/^(logdet|inv)\(X'\*X\): the matrix is singular to working precision/);
    const [py] = runPython([{ src: generateCode("x'*inv(X'*X)*x", 'x', { order: 1, lang: 'python' }), point: JSON.stringify({ X, x: [1, 1] }) }]);
    expect('error' in py! && py.error).toMatch(/^LinAlgError: inv\(X'\*X\): the matrix is singular/);
  });
});
