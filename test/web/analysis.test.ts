import { describe, expect, it } from 'vitest';
import { analyzeState, compute, indexNameLatex, shapeText, type Computed } from '../../web/analysis.js';
import { DEFAULT_STATE, type State } from '../../web/state.js';
import type { DeclaredType } from '../../src/syntax/check.js';

const at = (s: Partial<State>): State => ({ ...DEFAULT_STATE, wrt: '', ...s });
const lets = (o: [string, DeclaredType][]): ReadonlyMap<string, DeclaredType> => new Map(o);

describe('what the web page shows', () => {
  it("x'*A*x: variables, sizes, the Hessian and its left-hand side", () => {
    const c = compute(at({ expr: "x'*A*x", order: 2 }));
    expect(c.problem).toBeUndefined();
    expect(c.notices).toEqual([]);
    expect(c.wrt).toBe('x');
    expect(c.vars).toEqual([
      { name: 'x', type: 'vector', conventional: 'vector', size: 'n' },
      { name: 'A', type: 'matrix', conventional: 'matrix', size: 'n×n' },
    ]);
    expect(c.shown?.matrixText).toBe("A + A'");
    expect(c.shown?.matrixLatex).toBe('A + A^\\top');
    expect(c.shown?.lhs).toEqual({ latex: '\\frac{\\partial^{2} f}{\\partial x^{2}} =', text: '∂^2 f/∂x^2 =' });
    expect(c.shown?.shapeText).toBe('n×n (a matrix)');
    expect(c.shown?.inputText).toBe("x'*A*x");
  });

  it('is plain data: it survives a structured clone (the worker sends it to the page)', () => {
    const c = compute(at({ expr: "x'*A*x", order: 2 }));
    expect(structuredClone(c)).toEqual(c);
  });

  it('a declaration changes the type in the table and the result', () => {
    const c = compute(at({ expr: "x'*A*x", order: 2, lets: lets([['A', 'symmetric matrix']]) }));
    expect(c.vars?.[1]).toMatchObject({ name: 'A', type: 'symmetric matrix', conventional: 'matrix' });
    expect(c.shown?.matrixText).toBe('2*A');
  });

  it('chooses a vector, then a matrix, to differentiate by; keeps a choice that occurs', () => {
    expect(compute(at({ expr: 'c*tr(X) + a' })).wrt).toBe('X');
    expect(compute(at({ expr: "b*x'*A*x" })).wrt).toBe('x');
    expect(compute(at({ expr: "b*x'*A*x", wrt: 'A' })).wrt).toBe('A');
  });

  it('a variable to differentiate by that does not occur: a notice that lists the variables, not a silent change', () => {
    const c = compute(at({ expr: "b*x'*x", wrt: 'q' }));
    expect(c.wrt).toBe('x');
    expect(c.notices.map((n) => n.message)).toEqual(['q does not occur in the expression (its variables: b and x), so the derivative is shown by x.']);
    expect(c.shown?.matrixText).toBe('2*b*x');
    // Without a choice (wrt '') the page picks one and says nothing.
    expect(compute(at({ expr: "b*x'*x", wrt: '' })).notices).toEqual([]);
  });

  it('tells the variables as soon as the expression checks, before the derivative', () => {
    const heard: Computed[] = [];
    const a = analyzeState(at({ expr: "x'*A*x", wrt: 'x', order: 1 }), (c) => heard.push(c));
    expect(heard).toHaveLength(1);
    expect(heard[0]!.vars).toEqual(a.computed.vars);
    expect(heard[0]!.shown).toBeUndefined();
    expect(a.derivative?.matrix).toBe("(A + A')*x");
  });

  it('order 3: no matrix form, and why', () => {
    const c = compute(at({ expr: "(x'*x)^2", order: 3 }));
    expect(c.shown?.matrixLatex).toBeNull();
    expect(c.shown?.noMatrixForm).toMatch(/order 3/);
    expect(c.shown?.indexLatex).toMatch(/\{x\}\^\{i\}/);
  });

  it('a size error keeps the variables and carries the span of the operator', () => {
    const c = compute(at({ expr: 'x*A' }));
    expect(c.vars?.map((v) => v.name)).toEqual(['x', 'A']);
    expect(c.problem?.kind).toBe('error');
    expect(c.problem?.message).toContain('x is n×1 (a vector), A is m×p (a matrix)');
    expect(c.problem?.span).toEqual({ start: 1, end: 2 });
  });

  it('unfinished input is a quiet problem of its own; a real syntax error is an error', () => {
    for (const expr of ["x'*", "x'*A*", 'exp(', 'sin(x', "x'*(A*x", 'norm2(A*x - ', '-', 'x.^'])
      expect(compute(at({ expr })).problem?.kind, expr).toBe('unfinished');
    for (const expr of ["x'*)", 'x y', '*x', 'x + + ', 'sin()', 'x,']) expect(compute(at({ expr })).problem?.kind, expr).toBe('error');
    expect(compute(at({ expr: "x'*" })).vars).toBeUndefined();
  });

  it('empty input: an empty problem, no variables, no error', () => {
    for (const expr of ['', '   ', '\t']) {
      const c = compute(at({ expr }));
      expect(c.problem?.kind).toBe('empty');
      expect(c.vars).toEqual([]);
      expect(c.shown).toBeUndefined();
    }
  });

  it('a name without a type: the message says to choose it in the table, not the CLI --let syntax', () => {
    const c = compute(at({ expr: '_w + x' }));
    expect(c.vars?.[0]).toMatchObject({ name: '_w', type: undefined });
    expect(c.problem).toMatchObject({
      kind: 'error',
      message: "cannot tell the type of '_w' from its name: choose its type in the table of variables",
      span: { start: 0, end: 2 },
      variable: '_w',
    });
    expect(c.problem?.message).not.toContain('--let');
    // Declared on the page, it works.
    expect(compute(at({ expr: '_w + x', lets: lets([['_w', 'vector']]) })).shown?.matrixText).toBeDefined();
  });

  it('variables named like properties of plain objects work: __proto__, constructor, toString', () => {
    const expr = "constructor*toString'*__proto__ + hasOwnProperty";
    const c = compute(at({ expr, wrt: '__proto__', lets: lets([['__proto__', 'vector'], ['constructor', 'vector'], ['hasOwnProperty', 'vector']]) }));
    expect(c.problem).toBeUndefined();
    expect(c.vars?.map((v) => [v.name, v.type])).toEqual([
      ['constructor', 'vector'],
      ['toString', 'vector'],
      ['__proto__', 'vector'],
      ['hasOwnProperty', 'vector'],
    ]);
    expect(c.wrt).toBe('__proto__');
    expect(c.shown?.matrixText).toBe("constructor*toString'");
    // Undeclared, __proto__ has no type by its name, and says so.
    expect(compute(at({ expr: '__proto__ + x' })).problem?.variable).toBe('__proto__');
  });

  it('λ and other characters from papers: the error says what to write', () => {
    const cases: [string, string][] = [
      ['λ*x', 'lambda'],
      ['x + α', 'alpha'],
      ['x − y', '-'],
      ["x'×y", '*'],
      ['x·y', '*'],
      ['xᵀ*y', "'"],
      ['a²', '^2'],
      ['Σ(x)', 'sum(…)'],
    ];
    for (const [expr, want] of cases) {
      const p = compute(at({ expr })).problem;
      expect(p?.kind, expr).toBe('error');
      expect(p?.message, expr).toMatch(new RegExp(`^unexpected character '.': write ${want.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`));
    }
    // A character without a spelling gets no hint.
    expect(compute(at({ expr: 'x ⊕ y' })).problem?.message).toBe("unexpected character '⊕'");
  });

  it('division by zero: a warning at the divisor, the result still shown', () => {
    const c = compute(at({ expr: "x'*x/0" }));
    expect(c.shown?.matrixText).toBeDefined();
    expect(c.notices).toEqual([{ message: expect.stringMatching(/^division by zero/), span: { start: 5, end: 6 } }]);
    for (const expr of ["x'*x/(1 - 1)", 'x./vector(0)', "x'*x/(2*0)", "x'*x/-0", 'x/(0.5 - 1/2)', "0^-1*x'*x"])
      expect(compute(at({ expr })).notices.length, expr).toBe(1);
    for (const expr of ["x'*x/2", "x'*x/(1 - 1e-300)", 'x./y', "0^2*x'*x", "x'*x/c", "x'*x/(x'*y - y'*y)"]) expect(compute(at({ expr })).notices, expr).toEqual([]);
    // A divisor that simplifies to exactly 0 (not as typed): the notice marks it.
    expect(compute(at({ expr: "x'*y/(norm2(x)^2 - x'*x)" })).notices).toEqual([
      { message: "the divisor norm2(x)^2 - x'*x is identically 0: the expression and its derivatives are undefined (NaN)", span: { start: 6, end: 23 } },
    ]);
  });

  it('describes shapes', () => {
    expect(['', 'n', 'n m', 'n n n'].map((s) => shapeText(s ? s.split(' ') : []))).toEqual([
      '1 (a scalar)',
      'n (a vector)',
      'n×m (a matrix)',
      'n×n×n (a tensor of order 3)',
    ]);
  });
});

describe('what the page shows: temporaries and the layout', () => {
  const LOGISTIC = 'sum(log(exp(-y.*(X*w)) + vector(1)))';

  it('the logistic Hessian: the body, then t1 in matrix and in index notation; copy keeps the where clause', () => {
    const s = compute(at({ expr: LOGISTIC, wrt: 'w', order: 2 })).shown!;
    expect(s.matrixBody).toEqual({ text: "X'*diag(y.^2.*(vector(1) - t1).*t1)*X", latex: expect.stringContaining('\\operatorname{diag}') });
    expect(s.matrixTemps).toEqual([
      { name: 't1', text: 't1 = sigmoid(-y.*(X*w))', latex: 't_{1} = \\operatorname{sigmoid}\\left(-y \\odot \\left(X w\\right)\\right)' },
    ]);
    expect(s.matrixText).toBe("X'*diag(y.^2.*(vector(1) - t1).*t1)*X where t1 = sigmoid(-y.*(X*w))");
    expect(s.matrixLatex).toMatch(/^\\begin\{aligned\}.*\\text\{where\}/);
    expect(s.indexBody.text).not.toContain('where');
    expect(s.indexTemps).toEqual([
      { name: 't1', text: expect.stringMatching(/^t1\^i = sigmoid\(/), latex: expect.stringMatching(/^\{t_\{1\}\}\^\{i\} = \\operatorname\{sigmoid\}/) },
    ]);
    expect(s.indexText).toBe(`${s.indexBody.text} where ${s.indexTemps[0]!.text}`);
    expect(s.layout).toBe('default');
  });

  it('each temporary once, in definition order, in both notations', () => {
    const s = compute(at({ expr: 'sigmoid(a)^a', wrt: 'a', order: 3 })).shown!;
    // t2 is defined after t1, which it uses.
    expect(s.matrixTemps.map((t) => t.text)).toEqual(['t1 = sigmoid(a)', 't2 = a*(1 - t1) + log(t1)']);
    expect(s.indexTemps.map((t) => t.name)).toEqual(['t1', 't2']);
    expect(s.matrixText).toBe(`${s.matrixBody!.text} where ${s.matrixTemps.map((t) => t.text).join(', ')}`);
  });

  it("a temporary's indexed name in LaTeX as the body writes a tensor: t1^i_j is {t_{1}}^{i}{}_{j}", () => {
    expect(indexNameLatex('t1', 't1')).toBe('t_{1}');
    expect(indexNameLatex('t1', 't1^i')).toBe('{t_{1}}^{i}');
    expect(indexNameLatex('t12', 't12^i_j^k')).toBe('{t_{12}}^{i}{}_{j}{}^{k}');
    expect(indexNameLatex('t2', 't2^i1_i2')).toBe('{t_{2}}^{i_{1}}{}_{i_{2}}');
    expect(indexNameLatex('t2', 't2^{i1}_{i2}')).toBe('{t_{2}}^{i_{1}}{}_{i_{2}}');
    expect(indexNameLatex('t2', 't2^{ij}_k')).toBe('{t_{2}}^{i j}{}_{k}');
    expect(indexNameLatex('t3', 't3^{i1,i2}')).toBe('{t_{3}}^{i_{1} i_{2}}');
  });

  it('the vec layout by a matrix: kron, vec(W) on the left-hand side, merged sizes', () => {
    const c = compute(at({ expr: 'norm2(X*W - Y)^2', wrt: 'W', order: 2, layout: 'vec' }));
    expect(c.layoutApplies).toBe(true);
    expect(c.shown).toMatchObject({ layout: 'vec', matrixText: "2*kron(eye, X'*X)", matrixBody: { text: "2*kron(eye, X'*X)" }, shapeText: '(m·p)×(m·p) (a matrix)' });
    expect(c.shown?.matrixLatex).toContain('\\otimes');
    expect(c.shown?.lhs).toEqual({ latex: '\\frac{\\partial^{2} f}{\\partial \\operatorname{vec}(W)^{2}} =', text: '∂^2 f/∂vec(W)^2 =' });
    expect(c.shown).toMatchObject({ exprShape: [], wrtShape: ['m*p'] });
    // The default layout: a tensor of order 4 in index notation.
    const d = compute(at({ expr: 'norm2(X*W - Y)^2', wrt: 'W', order: 2 }));
    expect(d.shown).toMatchObject({ layout: 'default', matrixText: null, shapeText: 'm×p×m×p (a tensor of order 4)' });
    // … and the note says what the vec layout writes.
    expect(d.shown?.noMatrixForm).toBe(
      "No matrix form: the result is a tensor of order 4 (shape m×p×m×p), shown in index notation. The vec layout writes it as 2*kron(eye, X'*X).",
    );
  });

  it('the vec layout of a matrix expression, and where it has no Kronecker form', () => {
    const c = compute(at({ expr: 'a*X', wrt: 'a', layout: 'vec' }));
    expect(c.layoutApplies).toBe(true);
    expect(c.shown).toMatchObject({ matrixText: 'vec(X)', shapeText: 'n·m (a vector)', lhs: { text: '∂vec(f)/∂a =' } });
    // The derivative of a transpose is a commutation matrix.
    expect(compute(at({ expr: "X'", wrt: 'X', layout: 'vec' })).shown!.matrixText).toBe('commutation(rows(X), cols(X))');
    const t = compute(at({ expr: 'A^12', wrt: 'A', layout: 'vec' })).shown!;
    expect(t.matrixText).toBeNull();
    expect(t.noMatrixForm).toBe(
      "No Kronecker form: a term joins the expression's axes to the variable's in a pattern that kron, commutation, diag(vec(…)) and vec(…)*vec(…)' do not write; index notation shows its unmerged tensor.",
    );
  });

  it('the vec layout where neither the variable nor the expression is a matrix: the default layout, and layoutApplies says so', () => {
    const c = compute(at({ expr: "x'*A*x", wrt: 'x', order: 2, layout: 'vec' }));
    expect(c.layoutApplies).toBe(false);
    expect(c.shown).toMatchObject({ layout: 'default', matrixText: "A + A'" });
    expect(c.notices).toEqual([]);
    // Known as soon as the expression checks, before the derivative.
    const heard: Computed[] = [];
    analyzeState(at({ expr: 'log(det(X))', wrt: 'X', layout: 'vec' }), (h) => heard.push(h));
    expect(heard[0]!.layoutApplies).toBe(true);
  });

  it('tr(A^12) by A: the power folds back, 12 (A^{11})^T', () => {
    const s = compute(at({ expr: 'tr(A^12)', wrt: 'A' })).shown!;
    expect(s.matrixText).toBe("12*(A^11)'");
    expect(s.matrixBody!.latex).toBe('12 \\left(A^{11}\\right)^\\top');
  });
});
