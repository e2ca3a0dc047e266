/**
 * Structured Hessians (compile({ structured: true })): the kind read from the symbolic form, and
 * matvec, toDense and solve against the dense compiled Hessian — for every Hessian of the corpus
 * and for named structured problems at random sizes (1, 2, 3, 7, 17, non-square).
 */
import { describe, expect, test } from 'vitest';
import { hessian, gradient, RicciError, type StructuredHessian, type Values } from '../src/index.js';
import { luFactor, luSolve, SingularMatrixError } from '../src/compile/kernels/index.js';
import { CORPUS, declarations } from './helpers/corpus.js';
import { randomTensor, rng, type Domain } from './helpers/numeric.js';
import { derive } from '../src/derive.js';
import { ONE } from '../src/syntax/types.js';

const SIZES = [1, 2, 3, 7, 17];

/** Random values for every variable, sizes drawn per size symbol (or given by name). */
function randomValues(expr: string, wrt: string, decls: Record<string, string>, rand: () => number, domain: Readonly<Record<string, Domain>> = {}, fixed: Record<string, number> = {}): Values {
  const r = derive(expr, wrt, { order: 0, let: decls });
  const c = r.analysis.checked;
  const chosen = new Map<number, number>();
  const size = (d: number): number => {
    const s = c.sizes.find(d);
    if (s === ONE) return 1;
    const name = c.sizeName(s);
    if (!chosen.has(s)) chosen.set(s, fixed[name] ?? SIZES[Math.floor(rand() * SIZES.length)]!);
    return chosen.get(s)!;
  };
  const out: Record<string, { shape: number[]; data: Float64Array }> = {};
  for (const v of c.vars.values()) {
    const shape = [v.type.rows, v.type.cols].filter((d) => c.sizes.find(d) !== ONE).map(size);
    const t = randomTensor(shape, domain[v.name] ?? 'any', rand, v.symmetric);
    out[v.name] = { shape: [...t.shape], data: t.data };
  }
  return out;
}

const relErr = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  let num = 0;
  let den = 1e-300;
  for (let i = 0; i < a.length; i++) {
    num = Math.max(num, Math.abs(a[i]! - b[i]!));
    den = Math.max(den, Math.abs(b[i]!));
  }
  return num / den;
};

/** Dense y = H v. */
function denseMatvec(H: Float64Array, v: Float64Array): Float64Array {
  const n = v.length;
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let j = 0; j < n; j++) s += H[i * n + j]! * v[j]!;
    y[i] = s;
  }
  return y;
}

/** matvec and toDense (and solve, where offered) of `s` against the dense compiled Hessian `dense`. */
function checkAgainstDense(s: StructuredHessian, dense: Float64Array, rand: () => number, what: string): void {
  const n = s.size;
  expect(dense.length, what).toBe(n * n);
  expect(relErr(s.toDense().data, dense), `${what}: toDense`).toBeLessThan(1e-12);
  const into = new Float64Array(n * n).fill(NaN);
  expect(s.toDense(into).data).toBe(into);
  expect(relErr(into, dense), `${what}: toDense(out)`).toBeLessThan(1e-12);
  for (let k = 0; k < 2; k++) {
    const v = Float64Array.from({ length: n }, () => 2 * rand() - 1);
    const want = denseMatvec(dense, v);
    const got = s.matvec(v);
    // Relative to the size of H·v's terms, absolute below 1: parts of a sum that cancel to 0
    // (the MDS Hessian at one point) leave rounding-level differences no relative measure can judge.
    const scale = Math.max(1, ...Array.from({ length: n }, (_, i) => v.reduce((acc, vj, j) => acc + Math.abs(dense[i * n + j]! * vj), 0)));
    expect(Math.max(...got.map((g, i) => Math.abs(g - want[i]!))) / scale, `${what}: matvec`).toBeLessThan(1e-12);
    const out = new Float64Array(n).fill(NaN);
    expect(s.matvec(v, out)).toBe(out);
    expect(Array.from(out)).toEqual(Array.from(got));
  }
  if ('solve' in s && s.solve) {
    const b = Float64Array.from({ length: n }, () => 2 * rand() - 1);
    const lu = Float64Array.from(dense);
    const piv = new Int32Array(n);
    let singular = false;
    try {
      luFactor(n, lu, 0, n, piv);
    } catch (e) {
      if (!(e instanceof SingularMatrixError)) throw e;
      singular = true;
    }
    if (singular) {
      expect(() => s.solve(b), `${what}: solve of a singular Hessian`).toThrow(SingularMatrixError);
      return;
    }
    const x = s.solve(b);
    const want = Float64Array.from(b);
    luSolve(n, 1, lu, 0, n, piv, want, 0, 1);
    expect(relErr(x, want), `${what}: solve`).toBeLessThan(1e-8);
  }
}

describe('structured Hessians of the corpus', () => {
  const hessians = CORPUS.filter((c) => c.order === 2 && derive(c.expr, c.wrt, { order: 0, let: declarations(c) }).analysis.lowered.root.shape.length === 0);
  test('the corpus has Hessians of every kind but blockdiag', () => {
    const kinds = new Set(hessians.map((c) => hessian(c.expr, c.wrt, { let: declarations(c) }).compile({ structured: true }).kind));
    for (const k of ['diag', 'kron', 'dense', 'sum']) expect(kinds).toContain(k);
  });
  test.each(hessians.map((c) => [c.id, c] as const))('%s: matvec, toDense, solve against the dense Hessian', (_id, c) => {
    const H = hessian(c.expr, c.wrt, { let: declarations(c) });
    const dense = H.compile();
    const s = H.compile({ structured: true });
    const rand = rng(31 + CORPUS.indexOf(c));
    for (let k = 0; k < 4; k++) {
      const values = randomValues(c.expr, c.wrt, declarations(c), rand, c.domain ?? {});
      const r = s(values);
      expect(r.kind).toBe(s.kind);
      checkAgainstDense(r, dense(values).data, rand, `${c.id} (${s.kind})`);
    }
  });
});

describe('structured kinds at random sizes', () => {
  const cases: { expr: string; wrt: string; kind: string; let?: Record<string, string>; domain?: Record<string, Domain>; check?: (s: StructuredHessian) => void }[] = [
    { expr: "norm2(T - U*V')^2", wrt: 'U', kind: 'kron', check: (s) => expect(s).toMatchObject({ identity: 'left' }) },
    { expr: 'norm2(X*W - Y)^2', wrt: 'W', kind: 'kron', check: (s) => expect(s).toMatchObject({ identity: 'right' }) },
    { expr: 'norm2(W*X - Y)^2 + norm2(W)^2', wrt: 'W', kind: 'kron' },
    { expr: "norm2(M.*(T - U*V'))^2", wrt: 'U', kind: 'blockdiag', check: (s) => expect(s).toMatchObject({ axis: 0 }) },
    { expr: 'norm2((X*W - Y).*M)^2', wrt: 'W', kind: 'blockdiag', check: (s) => expect(s).toMatchObject({ axis: 1 }) },
    { expr: 'sum(exp(X))', wrt: 'X', kind: 'diag' },
    { expr: 'sum(exp(x)) + 3*x\'*x', wrt: 'x', kind: 'diag' },
    { expr: 'sum(log(X))', wrt: 'X', kind: 'diag', domain: { X: 'positive' } },
    { expr: "norm2(T - U*V')^2 + sum(exp(U))", wrt: 'U', kind: 'sum' },
    { expr: "norm2(diag(W*W')*vector(1)' + vector(1)*diag(W*W')' - 2*W*W' - D)^2", wrt: 'W', kind: 'sum', let: { D: 'symmetric matrix' } },
    { expr: "x'*A*x + sum(exp(x))", wrt: 'x', kind: 'sum' },
    { expr: 'sum(log(exp(-y.*(X*w)) + vector(1)))', wrt: 'w', kind: 'dense' },
    { expr: 'tr(X*A*X\')', wrt: 'X', kind: 'kron' },
  ];
  test.each(cases.map((c) => [`${c.expr} by ${c.wrt}`, c] as const))('%s', (_name, c) => {
    const H = hessian(c.expr, c.wrt, { let: c.let ?? {} });
    const s = H.compile({ structured: true });
    expect(s.kind).toBe(c.kind);
    const dense = H.compile();
    const rand = rng(c.expr.length * 7 + 3);
    for (let k = 0; k < 6; k++) {
      const values = randomValues(c.expr, c.wrt, c.let ?? {}, rand, c.domain ?? {});
      const r = s(values);
      c.check?.(r);
      checkAgainstDense(r, dense(values).data, rand, `${c.expr} by ${c.wrt}`);
    }
  });

  // A kron factor that is a sum of products of variables stays implicit where it is larger than
  // X (its matvec contracts the variables with the direction; `factor`, solve and toDense form
  // it on first use), and is formed where it is smaller: both sides of that line, each checked
  // against the dense Hessian, and the factor against the dense Hessian's own block.
  const implicitCases: { expr: string; wrt: string; let?: Record<string, string>; shapes: Record<string, number>[] }[] = [
    {
      expr: "norm2(diag(W*W')*vector(1)' + vector(1)*diag(W*W')' - 2*W*W' - D)^2",
      wrt: 'W',
      let: { D: 'symmetric matrix' },
      shapes: [{ n: 33, m: 2 }, { n: 65, m: 3 }, { n: 2, m: 7 }, { n: 1, m: 3 }, { n: 3, m: 1 }, { n: 2, m: 2 }],
    },
    { expr: 'norm2(X*W - Y)^2', wrt: 'W', shapes: [{ n: 9, m: 17, p: 2 }, { n: 40, m: 2, p: 17 }, { n: 1, m: 7, p: 1 }] },
    { expr: "norm2(T - U*V')^2", wrt: 'U', shapes: [{ n: 2, m: 9, p: 17 }, { n: 33, m: 5, p: 3 }, { n: 1, m: 1, p: 7 }] },
    { expr: "tr(X*A*X')", wrt: 'X', shapes: [{ n: 2, m: 17 }, { n: 17, m: 2 }, { n: 1, m: 1 }] },
  ];
  test.each(implicitCases.map((c) => [`${c.expr} by ${c.wrt}`, c] as const))('implicit and formed kron factors: %s', (_name, c) => {
    const H = hessian(c.expr, c.wrt, { let: c.let ?? {} });
    const s = H.compile({ structured: true });
    const dense = H.compile();
    const rand = rng(c.expr.length * 11 + 1);
    for (const fixed of c.shapes) {
      const values = randomValues(c.expr, c.wrt, c.let ?? {}, rand, {}, fixed);
      const r = s(values);
      const D = dense(values).data;
      const what = `${c.expr} by ${c.wrt} at ${JSON.stringify(fixed)}`;
      const kron = r.kind === 'kron' ? [r] : r.kind === 'sum' ? r.parts.filter((p) => p.kind === 'kron') : [];
      expect(kron.length, what).toBe(1);
      const k = kron[0]!;
      if (k.kind !== 'kron') return;
      // Matvec first: on an implicit factor it must not need the factor formed.
      checkAgainstDense(r, D, rand, what);
      if (r.kind === 'kron') {
        // The factor is the dense Hessian's block: K[a, b] = H[(a, 0), (b, 0)] ('right') or H[(0, a), (0, b)] ('left').
        const [rows, cols] = (values[c.wrt] as { readonly shape: readonly number[] }).shape as [number, number];
        const q = k.identity === 'left' ? cols : rows;
        const n = rows * cols;
        const at = (a: number, b: number): number => (k.identity === 'left' ? D[a * n + b]! : D[a * cols * n + b * cols]!);
        expect(k.factor.shape, what).toEqual([q, q]);
        expect(relErr(k.factor.data, Float64Array.from({ length: q * q }, (_, e) => at(Math.floor(e / q), e % q))), what).toBeLessThan(1e-12);
      }
    }
  });

  test('a Newton step with the kron solve equals the dense one (matrix factorization by U, n = 40, k = 3)', () => {
    const rand = rng(5);
    const values = randomValues("norm2(T - U*V')^2", 'U', {}, rand, {}, { n: 40, m: 30, p: 3 });
    const H = hessian("norm2(T - U*V')^2", 'U');
    const g = gradient("norm2(T - U*V')^2", 'U').compile()(values).data;
    const s = H.compile({ structured: true })(values);
    expect(s.kind).toBe('kron');
    if (s.kind !== 'kron') return;
    expect(s.factor.shape).toEqual([3, 3]);
    const step = s.solve(g);
    expect(relErr(s.matvec(step), g)).toBeLessThan(1e-10);
  });
});

describe('structured errors', () => {
  test('only Hessians have a structured form; vectors of the wrong size are input errors', () => {
    expect(() => gradient("x'*A*x", 'x').compile({ structured: true })).toThrow(RicciError);
    expect(() => gradient("x'*A*x", 'x').compile({ structured: true })).toThrow('a structured result needs a Hessian');
    const s = hessian('sum(exp(x))', 'x').compile({ structured: true })({ x: [1, 2, 3] });
    expect(() => s.matvec(new Float64Array(2))).toThrow('matvec: v: the Hessian acts on 3 entries, but the vector has 2');
    expect(() => s.toDense(new Float64Array(3))).toThrow('out: the Hessian acts on 9 entries');
  });
  test('bad inputs are errors at the evaluation, also for a dense Hessian (whose matvec runs later)', () => {
    const dense = hessian("x'*A*x", 'x', { let: { A: 'symmetric matrix' } }).compile({ structured: true });
    expect(dense.kind).toBe('dense');
    expect(() => dense({ A: [[1, 0], [0, 1]], x: [1, 2, 3] })).toThrow('the sizes must agree');
    expect(() => dense({ A: [[1, 2], [3, 4]], x: [1, 2] })).toThrow('A is declared symmetric');
    const kron = hessian("norm2(T - U*V')^2", 'U').compile({ structured: true });
    expect(() => kron({ T: [[1, 2]], U: [[1]], V: [[1], [2], [3]] })).toThrow('the sizes must agree');
  });

  test('a zero on the diagonal is a singular Hessian', () => {
    const s = hessian('sum(relu(x).^2)', 'x').compile({ structured: true })({ x: [1, -1] });
    expect(s.kind).toBe('diag');
    if (s.kind === 'diag') expect(() => s.solve(Float64Array.of(1, 1))).toThrow(SingularMatrixError);
  });
});

// A Hessian of det is adj2(A) in the evaluators' form, defined at singular matrices; the structured
// result followed the printed form, written with A⁻¹, and stopped there ("inv(a matrix): …").
describe('structured Hessians of det at singular matrices', () => {
  test.each([
    ['det(X)', [[1, 2], [2, 4]]],
    ["det(X'*X)", [[1, 2], [2, 4]]],
    ['det(X)^2', [[1, 2, 3], [2, 4, 6], [0, 1, -1]]],
    ['det(X) + tr(X*X)', [[0, 0, 0], [1, -2, 3], [2, -4, 6]]],
  ] as [string, number[][]][])('%s: toDense and matvec equal the dense Hessian', (expr, X) => {
    const h = hessian(expr, 'X');
    const want = h.evaluate({ X });
    const s = h.compile({ structured: true })({ X });
    const dense = s.toDense().data;
    want.data.forEach((w, k) => expect(dense[k]!).toBeCloseTo(w, 10));
    const n = X.length * X.length;
    const v = Float64Array.from({ length: n }, (_, k) => k - 1.5);
    const mv = s.matvec(v);
    for (let i = 0; i < n; i++) {
      let acc = 0;
      for (let j = 0; j < n; j++) acc += want.data[i * n + j]! * v[j]!;
      expect(mv[i]!).toBeCloseTo(acc, 10);
    }
  });

  test('where the value itself needs an inverse, the error names the matrix', () => {
    expect(() => hessian("logdet(X'*X)", 'X').compile({ structured: true })({ X: [[1, 2], [2, 4]] }).toDense()).toThrow(/inv\(X'\*X\): the matrix is singular/);
  });
});
