/**
 * Matrix powers kept as powers (mpow): derivatives against finite differences of the expression as
 * mathjs evaluates it, at sizes 1, 2, 3 and 5 and entries of both signs; the compiled evaluator
 * against the reference evaluator for exponents up to 50 and for Fréchet terms with several
 * directions and batch axes; the printed forms (golden), their round trip through the parser, and
 * the edge cases A^0, A^1, A^-k, A = eye, singular A.
 */
import { describe, expect, test } from 'vitest';
import katex from 'katex';
import { derive, resultSizes, type Result } from '../../src/derive.js';
import { bindSizes, evaluateReference, SingularMatrixError } from '../../src/compile/reference.js';
import { compileNodes } from '../../src/compile/compile.js';
import { type Node, children as childrenOf, makeMatPow, makeVar } from '../../src/ir/node.js';
import type { Tensor } from '../../src/tensor.js';
import { derivative, hvp, jvp, RicciError } from '../../src/index.js';
import { mathjsFunction } from '../helpers/mathjs.js';
import { type Domain, fdHessian, fdJacobian, randomTensor, relErr, rng } from '../helpers/numeric.js';

interface Case {
  readonly expr: string;
  readonly wrt: string;
  readonly orders: readonly number[];
  readonly domain?: Readonly<Record<string, Domain>>;
  readonly let?: Readonly<Record<string, string>>;
}

const CASES: readonly Case[] = [
  { expr: 'tr(A^2)', wrt: 'A', orders: [1, 2] },
  { expr: 'tr(A^4)', wrt: 'A', orders: [1, 2, 3] },
  { expr: 'tr(A^12)', wrt: 'A', orders: [1, 2] },
  { expr: "x'*A^3*y", wrt: 'A', orders: [1, 2] },
  { expr: "x'*A^7*y", wrt: 'A', orders: [1, 2, 3] },
  { expr: "x'*A^7*y", wrt: 'x', orders: [1] },
  { expr: 'A^5*x', wrt: 'A', orders: [1] },
  { expr: 'A^6', wrt: 'A', orders: [1] },
  { expr: 'sum(A^5)', wrt: 'A', orders: [1, 2] },
  { expr: 'tr(A^5*B)', wrt: 'A', orders: [1, 2] },
  { expr: 'tr(A^5*B^3)', wrt: 'B', orders: [1] },
  { expr: "tr((W'*W)^3)", wrt: 'W', orders: [1, 2] },
  { expr: "sum((W'*W)^4)", wrt: 'W', orders: [1] },
  { expr: 'norm2(A^6*x)^2', wrt: 'x', orders: [1, 2] },
  { expr: 'norm2(A^6*x)^2', wrt: 'A', orders: [1] },
  { expr: 'sum(exp(A^3))', wrt: 'A', orders: [1] },
  { expr: 'tr(A^-3*B)', wrt: 'A', orders: [1, 2], domain: { A: 'invertible' } },
  { expr: "x'*A^-5*y", wrt: 'A', orders: [1], domain: { A: 'invertible' } },
  { expr: 'tr(A^-1*B)', wrt: 'A', orders: [1], domain: { A: 'invertible' } },
  { expr: 'tr(A^0*B)', wrt: 'B', orders: [1] },
  { expr: "x'*A^1*y", wrt: 'A', orders: [1] },
  { expr: 'tr(A*A*A*A*B)', wrt: 'A', orders: [1] },
  { expr: 'tr(dpow(A, 4, B)*C)', wrt: 'A', orders: [1, 2] },
  { expr: 'tr(dpow(A, 4, B)*C)', wrt: 'B', orders: [1] },
  { expr: "x'*dpow(A, 5, x*y')*y", wrt: 'x', orders: [1, 2] },
  // Several directions: the m-th derivative of A^k, its own derivatives and its gradient by A.
  { expr: "x'*dpow(A, 4, B)*x", wrt: 'A', orders: [1, 2] },
  { expr: 'tr(dpow(A, 5, B, C))', wrt: 'A', orders: [1] },
  { expr: "tr(dpow(A, 3, B, C)*A)", wrt: 'B', orders: [1] },
  { expr: "sum(dpow(A, 4, B, x*x', C))", wrt: 'x', orders: [1, 2] },
  { expr: 'tr(dpow(A, 2, B, C, A))', wrt: 'A', orders: [1] },
  { expr: "(x*x')^2*x", wrt: 'x', orders: [1, 2] },
  { expr: 'sum((A*diag(x))^3)', wrt: 'x', orders: [1, 2] },
  { expr: 'tr(S^5)', wrt: 'S', orders: [1, 2], let: { S: 'symmetric matrix' } },
  { expr: "x'*S^4*x", wrt: 'x', orders: [1, 2], let: { S: 'symmetric matrix' } },
  { expr: "x'*S^4*y", wrt: 'S', orders: [1], let: { S: 'symmetric matrix' } },
];

function shapesFor(n: number): Record<string, number[]> {
  return { x: [n], y: [n], A: [n, n], B: [n, n], C: [n, n], S: [n, n], W: [n + 1, n] };
}

function values(c: Case, n: number, seed: number): Map<string, Tensor> {
  const rand = rng(seed);
  const m = new Map<string, Tensor>();
  for (const [k, s] of Object.entries(shapesFor(n))) m.set(k, randomTensor(s, c.domain?.[k] ?? 'any', rand, c.let?.[k] === 'symmetric matrix'));
  return m;
}

const evalAt = (r: Result, v: Map<string, Tensor>): Tensor => evaluateReference(r.node, v, resultSizes(r, v));

function compiledAt(r: Result, v: Map<string, Tensor>): Tensor {
  const run = compileNodes({ roots: [r.node], vars: [...r.analysis.lowered.vars.values()] });
  return run(v)[0]!;
}

/**
 * f as a function of any X in place of a symmetric variable: f((X + X')/2). At a symmetric point its
 * derivatives are the symmetric ones, which the engine returns for a variable declared symmetric.
 */
function symmetrized(f: (v: Map<string, Tensor>) => Tensor, name: string): (v: Map<string, Tensor>) => Tensor {
  return (v) => {
    const x = v.get(name)!;
    const n = x.shape[0]!;
    const data = x.data.map((_, a) => (x.data[a]! + x.data[(a % n) * n + Math.floor(a / n)]!) / 2);
    return f(new Map(v).set(name, { shape: x.shape, data }));
  };
}

describe.each(CASES.map((c) => [`${c.expr} by ${c.wrt}`, c] as const))('%s', (_name, c) => {
  test.each(c.orders.map((k) => [k]))('order %i agrees with finite differences at sizes 1, 2, 3 (and 5)', (k) => {
    const decls = c.let ?? {};
    const r = derive(c.expr, c.wrt, { order: k, let: decls });
    const lower = k > 1 ? derive(c.expr, c.wrt, { order: k - 1, let: decls }) : undefined;
    // Second differences by a 5×5 matrix are 625 entries of mathjs evaluations: sizes up to 3 there.
    const byMatrix = c.wrt === c.wrt.toUpperCase();
    for (const n of k >= 2 && byMatrix ? [1, 2, 3] : [1, 2, 3, 5]) {
      const plain = mathjsFunction(c.expr, decls, shapesFor(n));
      const f = decls[c.wrt] === 'symmetric matrix' ? symmetrized(plain, c.wrt) : plain;
      for (let p = 0; p < 2; p++) {
        const v = values(c, n, 17 + 13 * n + p + 101 * k);
        const ours = evalAt(r, v);
        let fd: Tensor;
        if (k === 1) fd = fdJacobian(f, v, c.wrt);
        else if (k === 2 && f(v).shape.length === 0) fd = fdHessian((u) => f(u).data[0]!, v, c.wrt);
        else fd = fdJacobian((u) => evalAt(lower!, u), v, c.wrt);
        expect(ours.shape).toEqual(fd.shape);
        const floor = 1e-3 * Math.max(1, ...Array.from(f(v).data, Math.abs));
        expect(relErr(ours, fd, floor), `n = ${n}: ${r.matrix ?? r.index}`).toBeLessThan(k <= 2 ? 1e-6 : 1e-5);
        expect(relErr(compiledAt(r, v), ours, 1e-12), `n = ${n}: compiled`).toBeLessThan(1e-12);
      }
    }
  });
});

/** A random n×n matrix of spectral radius below `radius` (entries scaled by its ∞-norm). */
function contraction(n: number, rand: () => number, radius = 0.95): Tensor {
  const t = randomTensor([n, n], 'any', rand);
  let norm = 0;
  for (let i = 0; i < n; i++) {
    let row = 0;
    for (let j = 0; j < n; j++) row += Math.abs(t.data[i * n + j]!);
    norm = Math.max(norm, row);
  }
  for (let i = 0; i < t.data.length; i++) t.data[i] = (t.data[i]! * radius) / norm;
  return t;
}

describe('compiled evaluator against the reference evaluator', () => {
  test.each([2, 3, 4, 7, 16, 31, 50].map((k) => [k]))('exponent %i: A^k, tr(A^k) and x\'*A^k*y by A, orders 0–2', (k) => {
    for (const [expr, orders] of [
      [`A^${k}`, [0, 1]],
      [`tr(A^${k})`, [1, 2]],
      [`x'*A^${k}*y`, [1, 2]],
      [`tr(A^-${k}*B)`, [0, 1]],
    ] as const) {
      for (const order of orders) {
        const r = derive(expr, 'A', { order });
        for (const n of [1, 2, 3, 5]) {
          const rand = rng(1000 * k + 10 * n + order);
          const v = new Map<string, Tensor>([
            ['A', expr.includes('^-') ? randomTensor([n, n], 'invertible', rand) : contraction(n, rand)],
            ['B', randomTensor([n, n], 'any', rand)],
            ['x', randomTensor([n], 'any', rand)],
            ['y', randomTensor([n], 'any', rand)],
          ]);
          expect(relErr(compiledAt(r, v), evalAt(r, v), 1e-12), `${expr} order ${order}, n = ${n}`).toBeLessThan(1e-12);
        }
      }
    }
  });

  test('Fréchet terms with up to three directions, with and without batch axes', () => {
    const [n, p, q] = [3, 2, 4];
    const A = makeVar('A', [n, n]);
    const E = makeVar('E', [n, n]);
    const F = makeVar('F', [n, n, p]);
    const G = makeVar('G', [n, n, p, q]);
    const rand = rng(42);
    const v = new Map<string, Tensor>([
      ['A', contraction(n, rand)],
      ['E', randomTensor([n, n], 'any', rand)],
      ['F', randomTensor([n, n, p], 'any', rand)],
      ['G', randomTensor([n, n, p, q], 'any', rand)],
    ]);
    const nodes: [string, Node][] = [];
    for (const k of [2, 3, 4, 5, 8, 13, 50])
      for (const dirs of [[E], [F], [E, F], [F, G], [G, E, F], [F, E, E]])
        if (dirs.length < k) nodes.push([`P(A, ${k}; ${dirs.map((d) => (d as { name: string }).name).join(', ')})`, makeMatPow(A, k, dirs)]);
    for (const [what, node] of nodes) {
      const ref = evaluateReference(node, v, bindSizes([node], v));
      const got = compileNodes({ roots: [node], vars: [A, E, F, G] })(v)[0]!;
      expect(got.shape, what).toEqual(ref.shape);
      expect(relErr(got, ref, 1e-12), what).toBeLessThan(1e-12);
    }
  });

  test('the reference evaluator of P is the defining sum over orders and exponents', () => {
    // P(A, 4; E, F)[:, :, b] = Σ_{a+b'+c=2} (A^a E A^b' F_b A^c + A^a F_b A^b' E A^c), summed here by hand.
    const n = 2;
    const A = makeVar('A', [n, n]);
    const E = makeVar('E', [n, n]);
    const F = makeVar('F', [n, n, 3]);
    const rand = rng(7);
    const a = randomTensor([n, n], 'any', rand);
    const e = randomTensor([n, n], 'any', rand);
    const f = randomTensor([n, n, 3], 'any', rand);
    const mm = (x: number[][], y: number[][]): number[][] => x.map((row) => y[0]!.map((_, j) => row.reduce((s, xi, k) => s + xi * y[k]![j]!, 0)));
    const mat = (t: Tensor, b = 0, size = 1): number[][] =>
      Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => t.data[(i * n + j) * size + b]!));
    const pow = (x: number[][], k: number): number[][] => (k === 0 ? [[1, 0], [0, 1]] : mm(pow(x, k - 1), x));
    const got = evaluateReference(makeMatPow(A, 4, [E, F]), new Map([['A', a], ['E', e], ['F', f]]), new Map([[n, n], [3, 3]]));
    for (let b = 0; b < 3; b++) {
      const sum = [[0, 0], [0, 0]];
      for (let i = 0; i <= 2; i++)
        for (let j = 0; i + j <= 2; j++) {
          const ef = mm(mm(mm(mm(pow(mat(a), i), mat(e)), pow(mat(a), j)), mat(f, b, 3)), pow(mat(a), 2 - i - j));
          const fe = mm(mm(mm(mm(pow(mat(a), i), mat(f, b, 3)), pow(mat(a), j)), mat(e)), pow(mat(a), 2 - i - j));
          for (let r = 0; r < n; r++) for (let s = 0; s < n; s++) sum[r]![s]! += ef[r]![s]! + fe[r]![s]!;
        }
      for (let r = 0; r < n; r++) for (let s = 0; s < n; s++) expect(got.data[(r * n + s) * 3 + b]).toBeCloseTo(sum[r]![s]!, 12);
    }
  });
});

/** A random orthogonal n×n matrix (Gram–Schmidt on a random one): its powers stay bounded. */
function orthogonal(n: number, rand: () => number): Tensor {
  const q = randomTensor([n, n], 'any', rand).data;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < i; j++) {
      let d = 0;
      for (let k = 0; k < n; k++) d += q[i * n + k]! * q[j * n + k]!;
      for (let k = 0; k < n; k++) q[i * n + k]! -= d * q[j * n + k]!;
    }
    let norm = 0;
    for (let k = 0; k < n; k++) norm += q[i * n + k]! ** 2;
    for (let k = 0; k < n; k++) q[i * n + k]! /= Math.sqrt(norm);
  }
  return { shape: [n, n], data: q };
}

const SYM = { S: 'symmetric matrix' };

/** [expr, wrt, order, declarations, matrix form, LaTeX or undefined] */
const GOLDEN: readonly [string, string, number, Record<string, string>, string, string?][] = [
  ['A*A*A', 'A', 0, {}, 'A^3', 'A^{3}'],
  ['A^2*A', 'A', 0, {}, 'A^3'],
  ["A'*A'*A'", 'A', 0, {}, "(A^3)'", '\\left(A^{3}\\right)^\\top'],
  ['tr(A^2*A)', 'A', 0, {}, 'tr(A^3)'],
  ['inv(A)*A^3', 'A', 0, {}, 'A^2'],
  ['A^-3', 'A', 0, {}, 'inv(A)^3', '\\left(A^{-1}\\right)^{3}'],
  ['inv(A^2)', 'A', 0, {}, 'inv(A)^2'],
  ['(2*A)^3', 'A', 0, {}, '8*A^3'],
  ['(A^2)^3', 'A', 0, {}, 'A^6'],
  ['A^0*x', 'x', 0, {}, 'x'],
  ['A^1', 'A', 0, {}, 'A'],
  ['eye^5*x', 'x', 0, {}, 'x'],
  ['tr(A^2)', 'A', 1, {}, "2*A'"],
  ['tr(A^4)', 'A', 1, {}, "4*(A^3)'"],
  ['tr(A^12)', 'A', 1, {}, "12*(A^11)'", '12 \\left(A^{11}\\right)^\\top'],
  ['tr(A^1000000)', 'A', 1, {}, "1000000*(A^999999)'", '1000000 \\left(A^{999999}\\right)^\\top'],
  ["x'*A^3*y", 'A', 1, {}, "(A^2)'*x*y' + A'*x*y'*A' + x*y'*(A^2)'"],
  [
    "x'*A^1000000*y",
    'A',
    1,
    {},
    "dpow(A, 1000000, y*x')'",
    '\\left(\\sum_{j=0}^{999999} A^{j} y x^\\top A^{999999 - j}\\right)^\\top',
  ],
  ["x'*A^5*y", 'x', 1, {}, 'A^5*y'],
  ["tr((X'*X)^3)", 'X', 1, {}, "6*X*(X'*X)^2"],
  ["tr((X'*X)^2)", 'X', 1, {}, "4*X*X'*X"],
  ['tr(A^5*B)', 'A', 1, {}, "dpow(A, 5, B)'"],
  ['tr(dpow(A, 4, B)*C)', 'B', 1, {}, "dpow(A, 4, C)'"],
  ["x'*dpow(A, 4, B)*x", 'A', 1, {}, "dpow(A, 4, B, x*x')'", '\\left(\\mathrm{D}^{2}\\!\\left(A^{4}\\right)\\left[B, x x^\\top\\right]\\right)^\\top'],
  ['tr(S^5)', 'S', 1, SYM, '5*S^4'],
  ['tr(S^2)', 'S', 1, SYM, '2*S'],
  ["x'*S^4*x", 'x', 1, SYM, '2*S^4*x'],
  ['det(A^3)', 'A', 1, {}, "3*det(A)^2*adj(A)'"],
];

describe('printed forms', () => {
  test.each(GOLDEN.map((g) => [`${g[0]} by ${g[1]}, order ${g[2]}`, g] as const))('%s', (_name, [expr, wrt, order, decls, matrix, latex]) => {
    const r = derive(expr, wrt, { order, let: decls });
    expect(r.matrix).toBe(matrix);
    if (latex !== undefined) expect(r.latex).toBe(latex);
    expect(() => katex.renderToString(r.latex, { throwOnError: true })).not.toThrow();
    expect(() => katex.renderToString(r.indexLatex, { throwOnError: true })).not.toThrow();
  });

  test('index notation: powers as symbols, Fréchet derivatives as their sum over exponents or as dpow(…)', () => {
    expect(derive('tr(A^12)', 'A').index).toBe('12 (A^11)_j^i');
    expect(derive("x'*A^5*y", 'A').index).toBe('Σ_{a0+a1=4} (A^a0)_{jp} x^q y^p (A^a1)_q^i');
    expect(derive("tr((X'*X)^3)", 'X').index).toBe("6 X^i_p ((X'*X)^2)_j^p");
    // The deltas of the direction (the derivative of A by A) contract into the powers' indices.
    expect(derive('A^12', 'A').index).toBe('Σ_{a0+a1=11} (A^a0)^{ik} (A^a1)_{lj}');
    // In LaTeX too the power is inside the parentheses that the indices follow.
    expect(derive('A^12', 'A').indexLatex).toBe('\\sum_{a_{0}+a_{1}=11} {\\left(A^{a_{0}}\\right)}^{i k} {\\left(A^{a_{1}}\\right)}_{l j}');
    expect(derive('exp(A^4)', 'A').indexLatex).toContain('\\exp\\left({\\left(A^{4}\\right)}^{p}{}_{q}\\right)');
    expect(derive('exp(A^4)', 'A').index).toBe('exp((A^4)^p_q) Σ_{a0+a1=3} (A^a0)^{rk} (A^a1)_{ls} δ^i_{pr} δ_j^{qs}');
    const h = derive("x'*A^5*y", 'A', { order: 2 });
    expect(h.matrix).toBeNull();
    expect(h.index).toBe('dpow(A^5; (p,q,r,s) ↦ δ^{pr} δ_{qs}, (t,u) ↦ x_u y^t)_j^{ik}_l');
  });

  test('Σ_{a0+a1=k-1} (A^a0)^{ik} (A^a1)_{lj}, as printed, is the derivative of A^k by A', () => {
    const r = rng(41);
    for (const [n, k] of [[1, 4], [3, 5], [4, 7]] as const) {
      const printed = derive(`A^${k}`, 'A');
      expect(printed.index).toBe(`Σ_{a0+a1=${k - 1}} (A^a0)^{ik} (A^a1)_{lj}`);
      const A = randomTensor([n, n], 'any', r);
      const powers = [Float64Array.from({ length: n * n }, (_, t) => (t % (n + 1) === 0 ? 1 : 0))];
      for (let e = 1; e < k; e++) {
        const prev = powers[e - 1]!;
        powers.push(Float64Array.from({ length: n * n }, (_, t) => {
          let acc = 0;
          for (let p = 0; p < n; p++) acc += prev[Math.floor(t / n) * n + p]! * A.data[p * n + (t % n)]!;
          return acc;
        }));
      }
      const d = evalAt(printed, new Map([['A', A]]));
      for (let i = 0; i < n; i++)
        for (let j = 0; j < n; j++)
          for (let kk = 0; kk < n; kk++)
            for (let l = 0; l < n; l++) {
              let want = 0;
              for (let a0 = 0; a0 < k; a0++) want += powers[a0]![i * n + kk]! * powers[k - 1 - a0]![l * n + j]!;
              expect(d.data[((i * n + j) * n + kk) * n + l]).toBeCloseTo(want, 9);
            }
    }
  });

  test('each Σ over exponents has summation variables of its own, none a variable name', () => {
    const sums = (text: string) => [...text.matchAll(/Σ_\{(\w+)\+(\w+)=\d+\}/g)].flatMap((m) => [m[1]!, m[2]!]);
    // A sum over exponents inside another's direction: the inner one must not rebind a0, a1.
    const nested = derive('sum(exp(A^4))', 'A', { order: 2 }).index;
    expect(sums(nested)).toEqual(['a0', 'a1', 'a2', 'a3']);
    expect(nested).toContain('(A^a1)^{qi}');
    const named = derive('a0*sum(exp(A^12)) + a2', 'A', { order: 2 }).index;
    expect(sums(named)).toEqual(['a1', 'a3', 'a4', 'a5']);
    for (const text of [nested, named]) {
      const v = sums(text);
      expect(new Set(v).size).toBe(v.length);
    }
  });

  test('every printed form parses back to the same value', () => {
    for (const [expr, wrt, order, decls, matrix] of GOLDEN) {
      const r = derive(expr, wrt, { order, let: decls });
      const back = derive(matrix, wrt, { order: 0, let: decls });
      // A^1000000 stays finite for an orthogonal A; it is evaluated by repeated squaring.
      const huge = /\^\d{4}/.test(expr);
      for (const n of [1, 2, 3]) {
        const rand = rng(300 + n);
        const v = new Map<string, Tensor>();
        for (const name of new Set([...r.analysis.lowered.vars.keys(), ...back.analysis.lowered.vars.keys()])) {
          const s = name === 'X' ? [n + 2, n] : name === name.toLowerCase() ? [n] : [n, n];
          if (huge && name === 'A') v.set(name, orthogonal(n, rand));
          else v.set(name, randomTensor(s, expr.includes('^-') || expr.includes('inv') ? 'invertible' : 'any', rand, decls[name] !== undefined));
        }
        const at = huge ? compiledAt : evalAt;
        expect(relErr(at(back, v), at(r, v), 1e-9), `${matrix} (n = ${n})`).toBeLessThan(1e-12);
      }
    }
  });
});

// A power of a matrix that depends on a vector variable: its derivative's directions carry the
// variable's axis, and the printer writes a small power out as its defining sum to reach a matrix form.
describe('powers of matrices that depend on a vector', () => {
  test.each([
    ["(x*x')^2*x", 1],
    ["x'*(x*x')^3*x", 2],
    ['(A*diag(x))^3*x', 1],
    ['sum((A*diag(x))^2)', 2],
    ["tr((x*y' + A)^4)", 2],
    ["y'*(A*diag(x))^2*(A*diag(x))^2*y", 1],
  ] as const)('%s by x, order %i: a matrix form with the derivative\'s value', (expr, order) => {
    const r = derive(expr, 'x', { order });
    expect(r.matrix, r.index).not.toBeNull();
    const back = derive(r.matrix!, 'x', { order: 0 });
    for (const n of [1, 2, 4]) {
      const rand = rng(700 + n);
      const v = new Map<string, Tensor>([
        ['x', randomTensor([n], 'any', rand)],
        ['y', randomTensor([n], 'any', rand)],
        ['A', randomTensor([n, n], 'any', rand)],
      ]);
      expect(relErr(evalAt(back, v), evalAt(r, v), 1e-9), `${r.matrix} (n = ${n})`).toBeLessThan(1e-12);
    }
  });
});

describe('directional derivatives', () => {
  /** Σ over the trailing axes of d (those of the variable) against v. */
  const contract = (d: Tensor, v: Tensor): Float64Array => {
    const m = v.data.length;
    const out = new Float64Array(d.data.length / m);
    for (let i = 0; i < out.length; i++) for (let a = 0; a < m; a++) out[i] += d.data[i * m + a]! * v.data[a]!;
    return out;
  };

  test.each([
    ['hvp', 'tr(A^6)', "6*dpow(A, 5, V)'"],
    ['hvp', "tr((A'*A)^4)", "8*(A*dpow(A'*A, 3, A'*V + V'*A) + V*(A'*A)^3)"],
    ['jvp', 'A^6*x', 'dpow(A, 6, V)*x'],
    ['hvp', "x'*A^5*y", "dpow(A, 5, y*x', V)'"],
  ] as const)('%s of %s by A is the derivative contracted with V, and never forms it', (kind, expr, printed) => {
    const d = kind === 'hvp' ? hvp(expr, 'A') : jvp(expr, 'A');
    expect(d.matrix).toBe(printed);
    // The result holds no Fréchet derivative with a batch axis (no n×n×n×n tensor is formed).
    const batched = (n: Node): boolean => (n.kind === 'mpow' && n.dirs.some((e) => e.shape.length > 2)) || (n.kind !== 'var' && childrenOf(n).some(batched));
    expect(batched(d.result.node)).toBe(false);
    const full = derivative(expr, 'A', { order: kind === 'hvp' ? 2 : 1 });
    for (const n of [1, 2, 3, 5]) {
      const rand = rng(900 + n);
      const point = { A: randomTensor([n, n], 'any', rand), V: randomTensor([n, n], 'any', rand), x: randomTensor([n], 'any', rand), y: randomTensor([n], 'any', rand) };
      const want = { shape: [], data: contract(full.evaluate(point), point.V) };
      expect(relErr({ shape: [], data: d.evaluate(point).data }, want, 1e-9), `n = ${n}`).toBeLessThan(1e-12);
      expect(relErr({ shape: [], data: d.compile()(point).data }, want, 1e-9), `n = ${n}, compiled`).toBeLessThan(1e-12);
    }
  });
});

describe('edge cases', () => {
  test('A = eye: tr(A^k) by A is k*eye, and P collapses', () => {
    const I = { shape: [3, 3], data: Float64Array.from([1, 0, 0, 0, 1, 0, 0, 0, 1]) };
    for (const k of [2, 5, 40]) {
      const g = derivative(`tr(A^${k})`, 'A');
      expect(Array.from(g.evaluate({ A: I }).data)).toEqual([k, 0, 0, 0, k, 0, 0, 0, k]);
      expect(Array.from(g.compile()({ A: I }).data)).toEqual([k, 0, 0, 0, k, 0, 0, 0, k]);
    }
  });

  test('a singular A: powers k ≥ 1 and their derivatives are fine, negative powers are a clear error', () => {
    const singular = [
      [1, 2, 3],
      [2, 4, 6],
      [-1, 0, 1],
    ];
    const f = mathjsFunction('tr(A^4)', {}, { A: [3, 3] });
    const A = { shape: [3, 3], data: Float64Array.from(singular.flat()) };
    const g = derivative('tr(A^4)', 'A');
    const fd = fdJacobian(f, new Map([['A', A]]), 'A');
    expect(relErr(g.evaluate({ A: singular }), fd, 1e-3)).toBeLessThan(1e-6);
    expect(relErr(g.compile()({ A: singular }), fd, 1e-3)).toBeLessThan(1e-6);
    for (const expr of ['tr(A^-2)', 'A^-3*x']) {
      const d = derivative(expr, 'A', { order: 0 });
      const x = [1, 2, 3];
      expect(() => d.evaluate({ A: singular, x })).toThrow(SingularMatrixError);
      expect(() => d.compile()({ A: singular, x })).toThrow(/singular/);
      expect(() => derivative(expr, 'A').compile()({ A: singular, x })).toThrow(/singular/);
    }
  });

  test('A^0 is eye, A^1 is A, A^-1 is inv(A)', () => {
    expect(derive('A^0', 'A', { order: 0 }).matrix).toBe('eye');
    expect(derive('A^1', 'A', { order: 0 }).matrix).toBe('A');
    expect(derive('A^-1', 'A', { order: 0 }).matrix).toBe('inv(A)');
    expect(derive('dpow(A, 0, B)', 'A', { order: 0 }).matrix).toBe('matrix(0)');
    expect(derive('dpow(A, 1, B)', 'A', { order: 0 }).matrix).toBe('B');
    expect(derive('dpow(eye, 3, B)', 'B', { order: 0 }).matrix).toBe('3*B');
  });

  test('dpow needs a square A, a constant integer k ≥ 0 and a direction of A\'s size', () => {
    const err = (expr: string): RicciError => {
      try {
        derive(expr, 'A', { order: 0 });
      } catch (e) {
        if (e instanceof RicciError) return e;
        throw e;
      }
      throw new Error(`${expr} was accepted`);
    };
    expect(err('dpow(A, -1, B)').message).toMatch(/constant integer ≥ 0/);
    expect(err('dpow(A, 1.5, B)').message).toMatch(/constant integer ≥ 0/);
    expect(err('dpow(A, a, B)').message).toMatch(/constant integer ≥ 0/);
    expect(err('dpow(A, 2, x)').message).toMatch(/size of A/);
    expect(err('dpow(x, 2, B)').message).toMatch(/square matrix/);
    expect(err('dpow(A, 2)').message).toMatch(/takes 3 or more arguments/);
  });
});
