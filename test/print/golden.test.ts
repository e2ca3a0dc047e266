/**
 * Golden `input => output` tables for the printers: the matrix form a person would write, the Ricci
 * index form, and LaTeX that KaTeX renders.
 */
import { describe, expect, test } from 'vitest';
import katex from 'katex';
import { derive } from '../../src/derive.js';
import { drawCase } from '../../fuzz/draw.js';
import { toLatex } from '../../src/print/latex.js';
import { parse } from '../../src/syntax/parse.js';

const S = { A: 'symmetric matrix' };

const MATRIX: readonly [string, string, number, Record<string, string>, string][] = [
  ["x'*A*x", 'x', 1, {}, "(A + A')*x"],
  ["x'*A*x", 'x', 2, {}, "A + A'"],
  ["x'*A*x", 'x', 1, S, '2*A*x'],
  ["x'*A*x", 'x', 2, S, '2*A'],
  ["x'*A*x", 'A', 1, {}, "x*x'"],
  ["0.5*x'*A*x + v'*x + c", 'x', 1, {}, "0.5*(A + A')*x + v"],
  ['norm2(A*x - y)^2', 'x', 1, {}, "2*A'*(A*x - y)"],
  ["norm2(A*x - y)^2 + a*x'*x", 'x', 2, {}, "2*(A'*A + a*eye)"],
  ['norm2(x)', 'x', 1, {}, 'x/norm2(x)'],
  ['norm2(x)', 'x', 2, {}, "eye/norm2(x) - x*x'/norm2(x)^3"],
  // A square whose halves are products: x'*A'*A*x = Σ_i (A*x)_i^2, and a scalar factor out of a norm.
  ["sqrt(x'*A'*A*x)", 'x', 1, {}, "A'*A*x/norm2(A*x)"],
  ["(x'*A'*A*x)^-1", 'x', 1, {}, "-2*A'*A*x/norm2(A*x)^4"],
  ['norm2(a*A*x)', 'a', 1, {}, 'sign(a)*norm2(A*x)'],
  ["tr(X'*A'*A*X)^0.5", 'A', 1, {}, "A*X*X'/norm2(A*X)"],
  ['sum(x.^a)', 'x', 2, {}, 'a*(a - 1)*diag(x.^(a - 2))'],
  ['sum(X.^(a*b))', 'X', 1, {}, 'a*b*X.^(a*b - 1)'],
  ['norm1(x)', 'x', 1, {}, 'sign(x)'],
  // log(exp(u) + 1) is softplus(u), whose derivative is sigmoid(u): no exp that overflows.
  ['sum(log(exp(-y.*(X*w)) + vector(1)))', 'w', 1, {}, "-X'*(y.*sigmoid(-y.*(X*w)))"],
  ['sum(log(exp(-y.*(X*w)) + vector(1)))', 'w', 2, {}, "X'*diag(y.^2.*(vector(1) - t1).*t1)*X where t1 = sigmoid(-y.*(X*w))"],
  ['sum(exp(x))', 'x', 2, {}, 'diag(exp(x))'],
  ['sum(log(x))', 'x', 2, {}, '-diag(x.^-2)'],
  ["tr(A*X'*B*X*C)", 'X', 1, {}, "B*X*C*A + B'*X*A'*C'"],
  ['log(det(X))', 'X', 1, {}, "inv(X)'"],
  ['det(X)', 'X', 1, {}, "adj(X)'"],
  ["det(X'*X)", 'X', 1, {}, "2*X*adj(X'*X)"],
  ['det(X)*inv(X)', 'X', 0, {}, 'adj(X)'],
  ['log(det(inv(X)))', 'X', 1, {}, "-inv(X)'"],
  ['tr(inv(X)*A)', 'X', 1, {}, "-inv(X)'*A'*inv(X)'"],
  ["norm2(T - U*V')^2", 'U', 1, {}, "-2*(T - U*V')*V"],
  ['exp(A*x)', 'x', 1, {}, 'diag(exp(A*x))*A'],
  ['exp(x)/sum(exp(x))', 'x', 1, {}, "diag(t1) - t1*t1' where t1 = softmax(x)"],
  ['relu(W*x)', 'x', 1, {}, 'diag(sign(relu(W*x)))*W'],
  ['sum(tanh(W*x))', 'W', 1, {}, "(vector(1) - tanh(W*x).^2)*x'"],
  ['a^b', 'a', 1, {}, 'b*a^(b - 1)'],
  ["c*x'*x", 'c', 1, {}, "x'*x"],
  ["x'*A*inv(A)*y", 'x', 1, {}, 'y'],
  // No factoring into a sum of outer products (cheaper to print, costlier to evaluate).
  ["(x'*A*x)/(x'*x)", 'x', 1, {}, "(A + A')*x/norm2(x)^2 - 2*x'*A*x*x/norm2(x)^4"],
  ['log(sum(exp(x)))', 'x', 1, {}, 'softmax(x)'],
  // A diagonal scaling stays out of a sum where a term would be broadcast by vector(1) under it
  // (not W'*diag(t1)*(W/sum(t1) - vector(1)*t1'*W/sum(t1)^2)).
  ['log(sum(exp(W*x)))', 'x', 2, {}, "W'*(diag(t1) - t1*t1')*W where t1 = softmax(W*x)"],
  ["log(sum(exp(A*x + b)))", 'x', 2, { b: 'vector' }, "A'*(diag(t1) - t1*t1')*A where t1 = softmax(A*x + b)"],
  ["tr(X'*A*X)", 'X', 1, {}, "(A + A')*X"],
  ['y\'*log(sigmoid(X*w)) + (vector(1) - y)\'*log(vector(1) - sigmoid(X*w))', 'w', 2, {}, "-X'*diag((vector(1) - t1).*t1)*X where t1 = sigmoid(X*w)"],
  // Diagonal matrices merge: products and sums of diag(…) are one diag, equal Hadamard factors a power.
  ['sum(exp(x)) - 2*sum(sin(x))', 'x', 2, {}, 'diag(2*sin(x) + exp(x))'],
  ["x'*x + sum(exp(x))", 'x', 2, {}, 'diag(exp(x)) + 2*eye'],
  ['sum(cos(A*x)) + sum(sin(cos(A*x)))', 'x', 2, {}, "-A'*diag((vector(1) + cos(t1)).*t1 + sin(t1).*sin(A*x).^2)*A where t1 = cos(A*x)"],
  ['sum(tanh(tanh(x)))', 'x', 2, {}, '-2*diag((vector(1) - t1.^2).*t2.*(t2.*t1 + tanh(x))) where t1 = tanh(tanh(x)), t2 = vector(1) - tanh(x).^2'],
  // A multiple of the identity in a diagonal sum is a constant vector, as anywhere else (not 2*vector(1) - cos(x)).
  ['sin(2*x - sin(x))', 'x', 1, {}, 'diag(cos(2*x - sin(x)).*(vector(2) - cos(x)))'],
  ['exp(3*x + cos(x))', 'x', 1, {}, 'diag(exp(3*x + cos(x)).*(vector(3) - sin(x)))'],
  ['t2 where t1 = 2*x - sin(x), t2 = 2*t1 - sin(t1)', 'x', 1, {}, 'diag((vector(2) - cos(2*x - sin(x))).*(vector(2) - cos(x)))'],
];

const INDEX: readonly [string, string, number, string][] = [
  // The transpose is A with its slots' positions swapped (Euclidean metric): i stays up, j down.
  ["x'*A*x", 'x', 2, 'A^i_j + A_j^i'],
  ['(x\'*x)^2', 'x', 3, '8 (x^i δ_j^k + x^k δ^i_j + x_j δ^{ik})'],
  // x_i δ_ij δ_ik: one diagonal δ with four indices, each summed index once up and once down.
  ['sum(x.^4)', 'x', 3, '24 x^p δ^i_j^k_p'],
  ["norm2(T - U*V')^2", 'U', 2, '2 δ^{ik} V^p_j V_{pl}'],
  ['A*x', 'A', 1, 'δ^i_j x^k'],
  ['norm2(x)', 'x', 1, 'x^i (x^p x_p)^(-0.5)'],
  ['sum(exp(x))', 'x', 0, 'exp(x^p) 1_p'],
  ['det(X)', 'X', 1, 'adj(X)_j^i'],
  // A scalar exponent broadcast over the entries prints as the scalar.
  ['x.^a', 'x', 2, 'a (a - 1) (x^p)^(a - 2) δ^i_j^k_p'],
  // A result that is one sum, or a sum turned to lose its minus, has no parentheses of its own;
  // neither has a sum's argument or a sum inside a sum with coefficient ±1.
  ['det(A)', 'A', 2, 'adj(A)_j^i inv(A)_l^k - adj(A)_j^k inv(A)_l^i'],
  ['tr(inv(B))', 'B', 2, 'inv(B)_j^k (inv(B)^2)_l^i + inv(B)_l^i (inv(B)^2)_j^k'],
  ['tan(tr(B + A))', 'B', 2, '2 t1 δ^i_j δ^k_l (1 + t1^2) where t1 = tan(A^p_p + B^p_p)'],
  // A power's base that is one call needs no parentheses of its own, nested ones inside or not.
  ['inv(B./(abs(A) + matrix(1)))^8*exp(X)', 'X', 1, '(inv(B./(abs(A) + matrix(1)))^8)^i_p exp(X^q_r) δ^{kp}_q δ_{jl}^r'],
];

const LATEX: readonly [string, string, number, Record<string, string>, string][] = [
  ["x'*A*x", 'x', 2, {}, 'A + A^\\top'],
  ["x'*A*x", 'x', 2, S, '2 A'],
  ['log(det(X))', 'X', 1, {}, 'X^{-\\top}'],
  ['det(X)', 'X', 1, {}, '\\operatorname{adj}\\left(X\\right)^\\top'],
  ['norm2(x)', 'x', 1, {}, '\\frac{x}{\\left\\lVert x \\right\\rVert_2}'],
  ['x.*y', 'x', 1, {}, '\\operatorname{diag}\\left(y\\right)'],
  ['x.^a', 'x', 1, {}, 'a \\operatorname{diag}\\left(x^{\\circ a - 1}\\right)'],
  ["(x'*x)^2", 'x', 3, {}, '8 \\left({x}^{i} {\\delta}_{j}{}^{k} + {x}^{k} {\\delta}^{i}{}_{j} + {x}_{j} {\\delta}^{i k}\\right)'],
];

describe('matrix notation', () => {
  test.each(MATRIX)('%s by %s, order %i %o => %s', (expr, wrt, order, decls, want) => {
    expect(derive(expr, wrt, { order, let: decls }).matrix).toBe(want);
  });
});

describe('index notation', () => {
  test.each(INDEX)('%s by %s, order %i => %s', (expr, wrt, order, want) => {
    expect(derive(expr, wrt, { order }).index).toBe(want);
  });
});

describe('LaTeX', () => {
  test.each(LATEX)('%s by %s, order %i %o => %s', (expr, wrt, order, decls, want) => {
    const latex = derive(expr, wrt, { order, let: decls }).latex;
    expect(latex).toBe(want);
    expect(() => katex.renderToString(latex, { throwOnError: true })).not.toThrow();
  });

  test('variable names: Greek letters, digits, long names', () => {
    expect(derive("alpha*x1'*x1", 'x1').latex).toBe('2 \\alpha x_{1}');
    expect(derive("xs'*xs", 'xs').latex).toBe('2 \\mathit{xs}');
  });

  // matrix(c) is typeset c 1 1^⊤, already a superscript: a power or inverse of it is parenthesized
  // (inv(matrix(0)) gave 0\,\mathbf{1}\mathbf{1}^\top^{-1}, which KaTeX refuses; fuzzer, seed 1).
  test.each([
    ['inv(matrix(0))*x', '\\left(0\\,\\mathbf{1}\\mathbf{1}^\\top\\right)^{-1} x'],
    ["matrix(1)'*x", '\\left(\\mathbf{1}\\mathbf{1}^\\top\\right)^\\top x'],
    ['vector(2).^x', '\\left(2\\,\\mathbf{1}\\right)^{\\circ x}'],
    ["vector(1)'*x", '\\mathbf{1}^\\top x'],
  ])('%s: a constant is parenthesized under a superscript', (expr, want) => {
    const latex = toLatex(parse(expr));
    expect(latex).toBe(want);
    expect(() => katex.renderToString(latex, { throwOnError: true })).not.toThrow();
  });

  test("every LaTeX form of drawn expressions renders (the fuzzer's, seed 1; both layouts, temporaries)", () => {
    let rendered = 0;
    for (let i = 0; i < 1500; i++) {
      const c = drawCase(1, i);
      if (!('spec' in c)) continue;
      for (const layout of ['default', 'vec'] as const) {
        let r;
        try {
          r = derive(c.spec.text, c.spec.wrt, { order: c.spec.order, let: c.spec.decls, layout });
        } catch {
          continue;
        }
        for (const latex of [r.latex, r.indexLatex, ...r.temporaries.map((t) => t.latex)]) {
          // maxExpand: KaTeX's default stops at 1,000 macro expansions (each \operatorname is a few),
          // about 12,000 characters of such LaTeX; the page typesets at most 4,000 (web/budget.ts).
          expect(() => katex.renderToString(latex, { throwOnError: true, maxExpand: Infinity }), `${c.spec.text} by ${c.spec.wrt}: ${latex.slice(0, 300)}`).not.toThrow();
          rendered++;
        }
      }
    }
    expect(rendered).toBeGreaterThan(3000);
  });
});

// Issue 9: temporaries, kron and vec, names.

describe('temporaries', () => {
  const TEMPS: readonly [string, string, number, string, string][] = [
    [
      'sum(log(exp(-y.*(X*w)) + vector(1)))',
      'w',
      2,
      "X'*diag(y.^2.*(vector(1) - t1).*t1)*X where t1 = sigmoid(-y.*(X*w))",
      '\\begin{aligned} & X^\\top \\operatorname{diag}\\left(y^{\\circ 2} \\odot \\left(\\mathbf{1} - t_{1}\\right) \\odot t_{1}\\right) X \\\\ \\text{where}\\quad t_{1} &= \\operatorname{sigmoid}\\left(-y \\odot \\left(X w\\right)\\right) \\end{aligned}',
    ],
    [
      'sigmoid(a)^a',
      'a',
      2,
      '((a*(1 - t1) + log(t1))^2 + 2 - (a*(1 - t1) + 2)*t1)*t1^a where t1 = sigmoid(a)',
      '\\begin{aligned} & \\left(\\left(a \\left(1 - t_{1}\\right) + \\log\\left(t_{1}\\right)\\right)^{2} + 2 - \\left(a \\left(1 - t_{1}\\right) + 2\\right) t_{1}\\right) t_{1}^{a} \\\\ \\text{where}\\quad t_{1} &= \\operatorname{sigmoid}\\left(a\\right) \\end{aligned}',
    ],
    // A variable called t1: the temporary takes the next free name.
    [
      'sum(log(exp(-t1.*(X*w)) + vector(1)))',
      'w',
      2,
      "X'*diag((vector(1) - t2).*t1.^2.*t2)*X where t2 = sigmoid(-t1.*(X*w))",
      '\\begin{aligned} & X^\\top \\operatorname{diag}\\left(\\left(\\mathbf{1} - t_{2}\\right) \\odot t_{1}^{\\circ 2} \\odot t_{2}\\right) X \\\\ \\text{where}\\quad t_{2} &= \\operatorname{sigmoid}\\left(-t_{1} \\odot \\left(X w\\right)\\right) \\end{aligned}',
    ],
  ];
  test.each(TEMPS)('%s by %s, order %i => %s', (expr, wrt, order, matrix, latex) => {
    const r = derive(expr, wrt, { order });
    expect(r.matrix).toBe(matrix);
    expect(r.latex).toBe(latex);
    expect(() => katex.renderToString(r.latex, { throwOnError: true })).not.toThrow();
    expect(() => katex.renderToString(r.indexLatex, { throwOnError: true })).not.toThrow();
  });

  test('index notation and the data carry the same temporaries', () => {
    const r = derive('sum(log(exp(-y.*(X*w)) + vector(1)))', 'w', { order: 2 });
    expect(r.index).toBe('y^p y^q (1^r - t1^r) t1^s X^{ti} X^u_j δ_{pqrstu} where t1^i = sigmoid(-y^q w^p X^r_p δ^i_{qr})');
    expect(r.temporaries.map((t) => [t.name, t.matrix, t.indexName, t.index])).toEqual([
      ['t1', 'sigmoid(-y.*(X*w))', 't1^i', 'sigmoid(-y^q w^p X^r_p δ^i_{qr})'],
    ]);
    expect(r.body.matrix).toBe("X'*diag(y.^2.*(vector(1) - t1).*t1)*X");
  });

  // Every temporary a form names is defined there, and the temporaries of the result are t1, t2, …
  // with none skipped (a notation may use some of them only: the two share names). A name inside the
  // matrix text of an index atom (inv(X*t1)) was not listed, and a temporary chosen but
  // used by neither notation left a gap (t2, t3 without t1).
  const definedIn = (form: string): number[] => {
    const [, defs = ''] = form.split(' where ');
    const defined = [...defs.matchAll(/(?:^|, )t(\d+)(?=[\^_ ])/g)].map((m) => Number(m[1]));
    const used = [...new Set([...form.matchAll(/\bt(\d+)\b/g)].map((m) => Number(m[1])))];
    expect(used.filter((u) => !defined.includes(u)), form).toEqual([]);
    return defined;
  };
  const checkTemporaries = (r: ReturnType<typeof derive>): void => {
    const all = [...new Set([r.matrix, r.index].flatMap((f) => (f ? definedIn(f) : [])))].sort((a, b) => a - b);
    expect(all, r.matrix ?? r.index).toEqual(all.map((_, k) => k + 1));
    expect(r.temporaries.map((t) => t.name)).toEqual(all.map((k) => `t${k}`));
  };
  test.each([
    ["logdet(X*(A'*B + B'*A))", 'X', 2, "-t2^{pi} t2^{qk} t1_{jq} t1_{lp} where t1^i_j = A^p_j B_p^i + A^{pi} B_{pj}, t2^i_j = inv(X*t1)^i_j"],
    ['softplus(-logdet(X*matrix(1) + cos(matrix(2))))', 'X', 2, ''],
  ] as const)('%s by %s, order %i: its temporaries are defined and numbered densely', (expr, wrt, order, index) => {
    const r = derive(expr, wrt, { order });
    if (index) expect(r.index).toBe(index);
    checkTemporaries(r);
  });
  test("so are those of drawn expressions (the fuzzer's, seed 1)", () => {
    let printed = 0;
    for (let i = 0; i < 1500; i++) {
      const c = drawCase(1, i);
      if (!('spec' in c)) continue;
      let r;
      try {
        r = derive(c.spec.text, c.spec.wrt, { order: c.spec.order, let: c.spec.decls });
      } catch {
        continue;
      }
      printed++;
      checkTemporaries(r);
    }
    expect(printed).toBeGreaterThan(1000);
  });

  // The Hessian of a chain of d layers is a sum of d terms J_k'*D_k*J_k whose Jacobians J_k =
  // A*diag(s_k)*J_(k-1) nest: each J_k is named once, in terms of the one before (sizes linear in
  // d). Before, the chains that held a part (A*diag(t3)*A*diag(t1)*A) were never named and each
  // term spelled its Jacobian out: sigmoid's per-layer length doubled from 8 to 24 layers.
  const layered = (layer: (inner: string) => string, depth: number): string => {
    let inner = 'x';
    for (let d = 0; d < depth; d++) inner = layer(inner);
    return `sum(${inner})`;
  };
  test.each([
    ['tanh', (u: string) => `tanh(A*${u})`],
    ['sigmoid', (u: string) => `sigmoid(A*${u})`],
    ['exp', (u: string) => `exp(A*${u})`],
    ['softplus and a bias', (u: string) => `softplus(A*${u} - y)`],
    ['alternating', (u: string) => (u.length % 2 === 0 ? `sin(B*${u})` : `tanh(A*${u})`)],
  ])('a chain of layers (%s): printed size linear in the depth', (_name, layer) => {
    const perLayer = [8, 24].map((depth) => derive(layered(layer, depth), 'x', { order: 2 }).matrix!.length / depth);
    // Growth like depth² would triple the length per layer from 8 to 24 layers.
    expect(perLayer[1]!).toBeLessThan(1.35 * perLayer[0]!);
  });
});

describe('kron and vec', () => {
  test('vec layout: sizes m*n; the default layout is unchanged', () => {
    expect(derive('norm2(X*W - Y)^2', 'W', { order: 2, layout: 'vec' }).shape).toEqual(['m*p', 'm*p']);
    expect(derive('norm2(X*W - Y)^2', 'W', { order: 2 }).shape).toEqual(['m', 'p', 'm', 'p']);
    // A term that no form covers (the Jacobian of A^12, a sum of 12 chains): index notation of its tensor.
    const t = derive('A^12', 'A', { order: 1, layout: 'vec' });
    expect(t.matrix).toBeNull();
    expect(t.index).toBe('Σ_{a0+a1=11} (A^a0)^{ik} (A^a1)_{lj}');
  });

  // Kronecker products; transposes need the commutation matrix, element-wise maps diag(vec(…)),
  // products of a row part and a column part vec(P)*vec(Q)'; derivatives by a symmetric matrix
  // pair each term with its transpose: M*(eye + K). An empty LaTeX column is not compared.
  const VEC_FORMS: readonly [string, string, number, string, string][] = [
    ['norm2(X*W - Y)^2', 'W', 2, "2*kron(eye, X'*X)", '2 \\mathbf{I} \\otimes \\left(X^\\top X\\right)'],
    ['norm2(X*W - Y)^2', 'W', 1, "2*vec(X'*(X*W - Y))", '2 \\operatorname{vec}\\left(X^\\top \\left(X W - Y\\right)\\right)'],
    ['inv(X)', 'X', 1, "-kron(inv(X)', inv(X))", '-X^{-\\top} \\otimes X^{-1}'],
    ["x*y'", 'x', 1, 'kron(y, eye)', 'y \\otimes \\mathbf{I}'],
    ['A*x', 'A', 1, "kron(x', eye)", 'x^\\top \\otimes \\mathbf{I}'],
    ["X'", 'X', 1, 'commutation(rows(X), cols(X))', '\\mathbf{K}_{\\operatorname{rows}\\left(X\\right), \\operatorname{cols}\\left(X\\right)}'],
    ["X'*X", 'X', 1, "kron(X', eye)*commutation(rows(X), cols(X)) + kron(eye, X')", ''],
    ['tr(X*X)', 'X', 2, '2*commutation(rows(X), rows(X))', ''],
    ['logdet(X)', 'X', 2, "-kron(inv(X), inv(X)')*commutation(rows(X), rows(X))", ''],
    ['exp(X)', 'X', 1, 'diag(vec(exp(X)))', '\\operatorname{diag}\\left(\\operatorname{vec}\\left(\\exp\\left(X\\right)\\right)\\right)'],
    ['sigmoid(W*X)', 'X', 1, 'diag(vec(t1.*(matrix(1) - t1)))*kron(eye, W) where t1 = sigmoid(W*X)', ''],
    ['exp(X)*x', 'X', 1, "kron(x', eye)*diag(vec(exp(X)))", ''],
    ['sum(exp(A*X*B))', 'X', 2, "kron(B, A')*diag(vec(exp(A*X*B)))*kron(B', A)", ''],
    ['sum(log(sigmoid(W*X)))', 'W', 2, "-kron(X, eye)*diag(vec(t1.*(matrix(1) - t1)))*kron(X', eye) where t1 = sigmoid(W*X)", ''],
    [
      'sum(tanh(A*tanh(B*X)))',
      'B',
      2,
      "-2*kron(X, eye)*(diag(vec(A'*t2.*t1.*t3)) + diag(vec(t3))*kron(eye, A')*diag(vec(tanh(A*t1).*t2))*kron(eye, A)*diag(vec(t3)))*kron(X', eye) where t1 = tanh(B*X), t2 = matrix(1) - tanh(A*t1).^2, t3 = matrix(1) - t1.^2",
      '',
    ],
    ['(X.*A)*B', 'X', 1, "kron(B', eye)*diag(vec(A))", ''],
    ['tr(X)*X', 'X', 1, "tr(X)*eye + vec(X)*vec(eye(rows(X)))'", ''],
    ['det(X)', 'X', 2, "vec(adj(X)')*vec(inv(X)')' - kron(adj(X), inv(X)')*commutation(rows(X), rows(X))", ''],
    ['S', 'S', 1, '0.5*(eye + commutation(rows(S), rows(S)))', ''],
    ['inv(S)', 'S', 1, '-0.5*kron(inv(S), inv(S))*(eye + commutation(rows(S), rows(S)))', ''],
    // Terms in the same surroundings share them.
    ['S*S', 'S', 1, '0.5*(kron(S, eye) + kron(eye, S))*(eye + commutation(rows(S), rows(S)))', ''],
    ['S*A - A*S', 'S', 1, "0.5*(kron(A', eye) - kron(eye, A))*(eye + commutation(rows(S), rows(S)))", ''],
    ["X'*A*X", 'X', 1, "kron(X'*A', eye)*commutation(rows(X), cols(X)) + kron(eye, X'*A)", '\\left(\\left(X^\\top A^\\top\\right) \\otimes \\mathbf{I}\\right) \\mathbf{K}_{\\operatorname{rows}\\left(X\\right), \\operatorname{cols}\\left(X\\right)} + \\mathbf{I} \\otimes \\left(X^\\top A\\right)'],
  ];
  test.each(VEC_FORMS)('%s by %s, order %i, vec layout => %s', (expr, wrt, order, matrix, latex) => {
    const r = derive(expr, wrt, { order, layout: 'vec', let: { S: 'symmetric matrix' } });
    expect(r.matrix).toBe(matrix);
    if (latex) expect(r.latex).toBe(latex);
    expect(() => katex.renderToString(r.latex!, { throwOnError: true })).not.toThrow();
  });

  test('kron and vec in the input language', () => {
    expect(derive("x'*kron(A, B)*y", 'x').matrix).toBe('kron(A, B)*y');
    expect(derive("y'*vec(X)", 'y').matrix).toBe('vec(X)');
    expect(derive('sum(t.*t) where t = exp(A*x)', 'x').matrix).toBe("2*A'*exp(A*x).^2");
  });
});

describe('sizes and constants', () => {
  const SIZES: readonly [string, string, number, Record<string, string>, string][] = [
    ['a*tr(2*eye - B)', 'a', 1, {}, '2*rows(B) - tr(B)'],
    ['a*len(x)*cols(B)', 'a', 1, {}, 'cols(B)*len(x)'],
    // A norm of a sum with the identity stays one norm (a full contraction of two such sums is
    // kept whole: src/simplify/rules/expand.ts, fullWithSums); a trace or a sum of one is spread.
    ['norm2(eye - A)', 'A', 1, {}, '-(eye - A)/norm2(eye - A)'],
    ['a*tr(eye - A)^2', 'a', 1, {}, '(rows(A) - tr(A))^2'],
    ['a*sum(2*eye - A)', 'a', 1, {}, '2*rows(A) - sum(A)'],
    ["b - det((b*B - (b*B)')*1.5)", 'b', 1, { B: 'symmetric matrix' }, '1'],
    ['a*det(0*A)', 'a', 1, {}, '0'],
    ['a*det(2*eye + 0*A)', 'a', 1, {}, '2^rows(A)'],
    ['tr(A^12)', 'A', 1, {}, "12*(A^11)'"],
  ];
  test.each(SIZES)('%s by %s, order %i %o => %s', (expr, wrt, order, decls, want) => {
    expect(derive(expr, wrt, { order, let: decls }).matrix).toBe(want);
  });
});

describe('element-wise products', () => {
  // A group of divisors alone starts with a tensor of ones (matrix(1)./X); printed inside a longer
  // product it was kept: t2.*matrix(1)./(matrix(1) - t1.^2).^0.5 (src/print/normalize.ts, foldHadamard).
  const NO_ONES: readonly [string, string, number][] = [
    ['sum(t2) where t1 = -arcsin(sigmoid(B)), t2 = -arcsin(sigmoid(t1))', 'B', 1],
    ['t3 where t1 = sqrt(A + B), t2 = sqrt(A + t1), t3 = sqrt(A + t2)', 'B', 2],
    ['norm2(matrix(-1)./(X.*tanh(X)))', 'X', 2],
    ['arccos(sigmoid(b*X))./X', 'b', 2],
    ['sum(arcsin(sigmoid(x))./x./(x.^2 + vector(1)))', 'x', 1],
  ];
  test.each(NO_ONES)('%s by %s, order %i: no .*matrix(1) or .*vector(1) in a product', (expr, wrt, order) => {
    const r = derive(expr, wrt, { order });
    const text = [r.matrix ?? r.index, ...r.temporaries.map((t) => t.matrix ?? t.index)].join('; ');
    expect(text).not.toMatch(/\.\*(matrix|vector)\(1\)/);
    expect(text).toMatch(/\.\//);
  });
});

describe('LaTeX of temporaries in index notation', () => {
  test("each where line names its temporary as the body does: {t_{1}}^{i}{}_{j}, braced", () => {
    const latex = derive('A^-2', 'A', { order: 2 }).indexLatex;
    expect(latex).toContain('\\text{where}\\quad {t_{1}}^{i}{}_{j} &= {\\left(A^{-1}\\right)}^{i}{}_{j}');
    expect(latex).toContain('{t_{3}}^{i}{}_{j}{}^{k}{}_{l} &= {t_{1}}^{i k} {t_{2}}_{l j} + {t_{1}}_{l j} {t_{2}}^{i k}');
    // No unbraced name followed by an index: t_{1}^{i} would read as t with indices 1 and i.
    expect(latex).not.toMatch(/(?<!\{)t_\{\d+\}[\^_]/);
    expect(() => katex.renderToString(latex, { throwOnError: true })).not.toThrow();
  });

  // {A B}^{-1} typesets as A B⁻¹; an argument in index notation ends in a superscript of its own
  // (…{\mathbf{1}}^{c}^{-1}, which KaTeX refuses; fuzzer, seed 2).
  test('the inverse of a product is (A B)^{-1}, of an index form too', () => {
    expect(derive('logdet(A*B)', 'A', { order: 2 }).indexLatex).toBe(
      '-{\\left(\\left(A B\\right)^{-1}\\right)}^{p i} {\\left(\\left(A B\\right)^{-1}\\right)}^{q k} {B}_{j q} {B}_{l p}',
    );
    expect(derive('logdet(X)', 'X', { order: 2 }).indexLatex).toBe('-{\\left(X^{-1}\\right)}_{j}{}^{k} {\\left(X^{-1}\\right)}_{l}{}^{i}');
    const r = derive("logdet(kron(-vector(a)', X)*(kron(X, S)*sigmoid(matrix(1.5))))", 'a', { let: { S: 'symmetric matrix' } });
    expect(r.index).toContain('inv((a*kron(vector(1)\', X))^u_w 1^v merge(');
    expect(r.indexLatex).toContain('{\\left(\\left({\\left(a \\left(\\mathbf{1}^\\top \\otimes X\\right)\\right)}^{u}');
    expect(r.indexLatex).toContain('{\\mathbf{1}}^{c}\\right)^{-1}\\right)}^{r}{}_{p}');
    expect(() => katex.renderToString(r.indexLatex, { throwOnError: true })).not.toThrow();
  });
});
