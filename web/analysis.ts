/**
 * What the page shows for a state, computed without touching the DOM (it runs in the worker): the
 * variables with their types and sizes, the derivative in its notations, or the problem with the
 * span it is about, and notices about input that is valid but probably not meant. Everything
 * returned is plain data, so that it crosses from the worker to the page by structured clone.
 */
import { derivative, parse, printLatex, printMatrix, RicciError, type Ast, type Derivative, type Span } from '../src/index.js';
import { conventionalType, variableOrder, type Declarations, type DeclaredType } from '../src/syntax/check.js';
import { analyze, noMatrixReason, vecMatrixForm, type Layout } from '../src/derive.js';
import type { Checked } from '../src/syntax/check.js';
import { latexName } from '../src/print/latex.js';
import { characterHint, isUnfinished, warnings } from './hints.js';
import { wrtOccurrence } from './occurs.js';
import { zeroDivisors } from '../src/divisors.js';
import type { State } from './state.js';

export interface VarRow {
  readonly name: string;
  /** undefined where neither a declaration nor the naming convention gives one. */
  readonly type: DeclaredType | undefined;
  /** The type the naming convention gives the name. */
  readonly conventional: DeclaredType | undefined;
  /** Symbolic size (n, n×m), known once the expression type-checks. */
  readonly size: string | undefined;
}

/** A formula of the page: its LaTeX and its text (what is shown where it is not typeset). */
export interface Formula {
  readonly latex: string;
  readonly text: string;
}

/** The definition of a temporary, as one line: t_{1} = \exp(…) and t1 = exp(…). */
export interface TempLine extends Formula {
  readonly name: string;
}

export interface Shown {
  /** The parsed input, typeset and as text: to see how the text was read. */
  readonly inputLatex: string;
  readonly inputText: string;
  /** The left-hand side, ∂ᵏf/∂xᵏ (∂vec(f)/∂vec(X) in the vec layout), with its " =". */
  readonly lhs: Formula;
  /** The whole result with its temporaries (LaTeX: aligned lines), what "copy" copies; null where there is no matrix form. */
  readonly matrixLatex: string | null;
  readonly indexLatex: string;
  /** The input-language text of the matrix form, with its where clause (valid input), or null where none exists. */
  readonly matrixText: string | null;
  readonly indexText: string;
  /** What the page shows: each notation without its where clause, then one line per temporary it uses. */
  readonly matrixBody: Formula | null;
  readonly indexBody: Formula;
  readonly matrixTemps: readonly TempLine[];
  readonly indexTemps: readonly TempLine[];
  /** The layout shown (the default one where the layout asked for does not apply). */
  readonly layout: Layout;
  /** Why there is no matrix form, in one line; undefined where there is one. */
  readonly noMatrixForm: string | undefined;
  /** "n×n (a matrix)" and the like. */
  readonly shapeText: string;
  readonly shape: readonly string[];
  /** Symbolic shapes of the expression and of the variable (the result is one, then the other per order). */
  readonly exprShape: readonly string[];
  readonly wrtShape: readonly string[];
}

/**
 * empty: nothing typed (a placeholder, not an error); unfinished: the text is a prefix of a valid
 * expression (said quietly while typing); error: the input is wrong; internal: a bug in ricci;
 * limit and stopped: the page gave up on the work (time limit, or the user's "stop").
 */
export type ProblemKind = 'empty' | 'unfinished' | 'error' | 'internal' | 'limit' | 'stopped';

export interface Problem {
  readonly kind: ProblemKind;
  readonly message: string;
  readonly span: Span | undefined;
  /** A variable whose type the user should choose in the table. */
  readonly variable?: string;
}

/** Something the user should know about a result that is shown anyway. */
export interface Notice {
  readonly message: string;
  readonly span?: Span | undefined;
}

export interface Computed {
  /** The variables in order of appearance; undefined where the text does not parse. */
  readonly vars: readonly VarRow[] | undefined;
  /** The variable actually differentiated by. */
  readonly wrt: string;
  readonly shown: Shown | undefined;
  readonly problem: Problem | undefined;
  readonly notices: readonly Notice[];
  /**
   * Whether the layout choice applies (the variable or the expression is a matrix), known once the
   * expression checks; undefined before.
   */
  readonly layoutApplies?: boolean;
}

/** The page's declarations (a Map) as the engine takes them; fromEntries makes own properties, so __proto__ is a name like any other. */
export function declarations(lets: ReadonlyMap<string, DeclaredType>): Declarations {
  return Object.fromEntries(lets);
}

/** The variable to differentiate by when the state names none that occurs: a vector first, then a matrix. */
export function chooseWrt(names: readonly string[], wanted: string, typeOf: (n: string) => DeclaredType | undefined): string {
  if (names.includes(wanted)) return wanted;
  for (const kind of ['vector', 'matrix', 'symmetric matrix', 'scalar'] as const) {
    const n = names.find((x) => typeOf(x) === kind);
    if (n !== undefined) return n;
  }
  return names[0] ?? wanted;
}

/** "n×m (a matrix)" and the like; a merged axis of the vec layout (m*p) is m·p, in parentheses beside others. */
export function shapeText(shape: readonly string[]): string {
  const sizes = shape.map((s) => (s.includes('*') ? (shape.length > 1 ? `(${s.replace(/\*/g, '·')})` : s.replace(/\*/g, '·')) : s));
  switch (shape.length) {
    case 0:
      return '1 (a scalar)';
    case 1:
      return `${sizes[0]} (a vector)`;
    case 2:
      return `${sizes.join('×')} (a matrix)`;
    default:
      return `${sizes.join('×')} (a tensor of order ${shape.length})`;
  }
}

/** "x, A and b". */
export function listNames(names: readonly string[]): string {
  return names.length <= 1 ? (names[0] ?? '') : `${names.slice(0, -1).join(', ')} and ${names.at(-1)!}`;
}

/** Why there is no matrix form, and the vec layout's where it has one (`vec`). */
function noMatrixForm(d: Derivative, vec: string | null): string {
  const why = noMatrixReason(d.shape, d.layout);
  const alt = vec === null ? '' : ` The vec layout writes it as ${vec}.`;
  return `${why[0]!.toUpperCase()}${why.slice(1)}${why.includes('index notation') ? '' : ', shown in index notation'}.${alt}`;
}

/** ∂ᵏf/∂xᵏ =, in LaTeX and as text; in the vec layout a matrix f or x is written vec(f), vec(X). */
export function lhsOf(wrt: string, order: number, vecF = false, vecX = false): Formula {
  const fL = vecF ? '\\operatorname{vec}(f)' : 'f';
  const xL = vecX ? `\\operatorname{vec}(${latexName(wrt)})` : latexName(wrt);
  const fT = vecF ? 'vec(f)' : 'f';
  const xT = vecX ? `vec(${wrt})` : wrt;
  return order === 1
    ? { latex: `\\frac{\\partial ${fL}}{\\partial ${xL}} =`, text: `∂${fT}/∂${xT} =` }
    : { latex: `\\frac{\\partial^{${order}} ${fL}}{\\partial ${xL}^{${order}}} =`, text: `∂^${order} ${fT}/∂${xT}^${order} =` };
}

/**
 * A temporary's name with its free indices (t1^i_j, t2^{i1}_{i2}) in LaTeX as the index form's
 * body writes a tensor: the name in braces, then the index groups, so that t₁'s subscript is not
 * read as a lower index: {t_{1}}^{i}{}_{j}, {t_{2}}^{i_{1}}{}_{i_{2}}.
 */
export function indexNameLatex(name: string, indexName: string): string {
  const groups = [...indexName.slice(name.length).matchAll(/([\^_])(?:\{([^}]*)\}|([A-Za-z][0-9]*))/g)].map((m) => {
    // A braced group lists its names with commas where one is longer than a letter (t2^{i1,i2}), else letter by letter (t1^{ij}).
    const body = m[2] ?? m[3]!;
    const names = body.includes(',') ? body.split(',') : (body.match(/[A-Za-z][0-9]*/g) ?? []);
    return `${m[1]}{${names.map(indexLatexName).join(' ')}}`;
  });
  return groups.length === 0 ? latexName(name) : `{${latexName(name)}}${groups.join('{}')}`;
}

/** An index name in LaTeX as the printer writes it: p1 as p_{1}. */
function indexLatexName(x: string): string {
  const m = /^([A-Za-z])([0-9]+)$/.exec(x);
  return m ? `${m[1]}_{${m[2]}}` : x;
}

/**
 * The temporaries each notation uses, one line each. The matrix form's are those its where clause
 * defines; the index form's are those whose index forms follow the main one in indexForms (a
 * subsequence of the temporaries, in the same order).
 */
function tempLines(d: Derivative): { matrix: TempLine[]; index: TempLine[] } {
  const ast = d.result.matrixAst;
  const inMatrix = new Set(ast?.kind === 'where' ? ast.bindings.map((b) => b.name) : []);
  const matrix = d.temporaries
    .filter((t) => t.matrix !== null && inMatrix.has(t.name))
    .map((t) => ({ name: t.name, latex: `${latexName(t.name)} = ${t.latex}`, text: `${t.name} = ${t.matrix!}` }));
  const forms = d.result.indexForms.slice(1);
  const index: TempLine[] = [];
  for (const t of d.temporaries) {
    const f = forms[index.length];
    if (f === undefined || f.text !== t.index) continue;
    index.push({ name: t.name, latex: `${indexNameLatex(t.name, t.indexName)} = ${f.latex}`, text: `${t.indexName} = ${t.index}` });
  }
  return { matrix, index };
}

/** The problem for an exception of the engine; `text` is the input, for hints about its characters. */
export function toProblem(e: unknown, text = ''): Problem {
  if (e instanceof RicciError) {
    const at = e.span ? text.slice(e.span.start, e.span.end) : '';
    const hint = e.message.startsWith('unexpected character') ? characterHint(at) : '';
    return { kind: 'error', message: e.message + hint, span: e.span };
  }
  if (e instanceof RangeError && /call stack/i.test(e.message))
    return { kind: 'error', message: 'the expression is too deeply nested to process', span: undefined };
  const msg = e instanceof Error ? e.message : String(e);
  return { kind: 'internal', message: `internal error: ${msg} (this is a bug in ricci)`, span: undefined };
}

function syntaxProblem(e: unknown, text: string): Problem {
  const p = toProblem(e, text);
  if (p.kind !== 'error') return p;
  if (isUnfinished(text)) return { ...p, kind: 'unfinished' };
  return p;
}

export interface Analyzed {
  readonly computed: Computed;
  /** The engine's derivative behind computed.shown, for the numbers and the code (worker side only). */
  readonly derivative: Derivative | undefined;
}

export function compute(state: State): Computed {
  return analyzeState(state).computed;
}

/** Symbolic sizes of the variables: n, n×m. */
function sizeOf(checked: Checked, name: string): string | undefined {
  const v = checked.vars.get(name);
  if (!v) return undefined;
  const r = checked.sizeName(v.type.rows);
  const c = checked.sizeName(v.type.cols);
  return c === '1' ? (r === '1' ? '1' : r) : `${r}×${c}`;
}

/**
 * The state's analysis. `onChecked` hears the variables, their sizes and the notices as soon as
 * the expression type-checks, before the derivative (which may take long) is computed.
 */
export function analyzeState(state: State, onChecked?: (c: Computed) => void): Analyzed {
  const done = (computed: Computed, derivative?: Derivative): Analyzed => ({ computed, derivative });
  const text = state.expr;
  if (text.trim() === '')
    return done({ vars: [], wrt: state.wrt, shown: undefined, notices: [], problem: { kind: 'empty', message: 'type an expression', span: undefined } });
  const typeOf = (n: string): DeclaredType | undefined => state.lets.get(n) ?? conventionalType(n);
  let ast: Ast;
  try {
    ast = parse(text);
  } catch (e) {
    return done({ vars: undefined, wrt: state.wrt, shown: undefined, notices: [], problem: syntaxProblem(e, text) });
  }
  const notices: Notice[] = warnings(ast);
  const order = variableOrder(ast);
  const rows = (size: (n: string) => string | undefined): VarRow[] =>
    order.map(({ name }) => ({ name, type: typeOf(name), conventional: conventionalType(name), size: size(name) }));
  const untyped = order.find((v) => typeOf(v.name) === undefined);
  if (untyped) {
    const message = `cannot tell the type of '${untyped.name}' from its name: choose its type in the table of variables`;
    return done({ vars: rows(() => undefined), wrt: state.wrt, shown: undefined, notices, problem: { kind: 'error', message, span: untyped.span, variable: untyped.name } });
  }
  if (order.length === 0)
    return done({ vars: [], wrt: state.wrt, shown: undefined, notices, problem: { kind: 'error', message: 'the expression has no variables to differentiate by', span: ast.span } });

  const lets = declarations(state.lets);
  let d: Derivative;
  let wrt = state.wrt;
  let vecF = false;
  let vecX = false;
  try {
    const analysis = analyze(text, lets);
    const checked = analysis.checked;
    for (const z of zeroDivisors(analysis))
      notices.push({ message: `the divisor ${z.text} is identically 0: the expression and its derivatives are undefined (NaN)`, span: z.span });
    const occurrence = wrtOccurrence(analysis, state.wrt);
    if (!occurrence.occurs) {
      wrt = chooseWrt(occurrence.variables, state.wrt, typeOf);
      if (state.wrt)
        notices.unshift({
          message: `${state.wrt} does not occur in the expression (its variables: ${listNames(occurrence.variables)}), so the derivative is shown by ${wrt}.`,
        });
    }
    // The vec layout changes matrices only: a matrix expression, a matrix variable.
    const wrtType = checked.vars.get(wrt)?.declared;
    vecF = analysis.lowered.root.shape.length === 2;
    vecX = wrtType === 'matrix' || wrtType === 'symmetric matrix';
    onChecked?.({ vars: rows((n) => sizeOf(checked, n)), wrt, shown: undefined, problem: undefined, notices, layoutApplies: vecF || vecX });
    const layout = vecF || vecX ? state.layout : 'default';
    d = derivative(text, wrt, { order: state.order, let: lets, layout });
  } catch (e) {
    return done({ vars: rows(() => undefined), wrt, shown: undefined, notices, problem: toProblem(e, text) });
  }
  const checked = d.result.analysis.checked;
  const size = (n: string): string | undefined => sizeOf(checked, n);
  const hasMatrix = d.matrix !== null;
  const vec = d.layout === 'vec';
  // In the vec layout a matrix expression (variable) has one axis.
  const exprRank = vec && vecF ? 1 : d.result.analysis.lowered.root.shape.length;
  const wrtRank = (d.shape.length - exprRank) / state.order;
  const temps = tempLines(d);
  const shown: Shown = {
    inputLatex: printLatex(checked.ast),
    inputText: printMatrix(checked.ast),
    lhs: lhsOf(wrt, state.order, vec && vecF, vec && vecX),
    matrixLatex: hasMatrix ? d.latex : null,
    indexLatex: d.result.indexLatex,
    matrixText: d.matrix,
    indexText: d.index,
    matrixBody: hasMatrix ? { latex: d.body.latex, text: d.body.matrix! } : null,
    indexBody: { latex: d.body.indexLatex, text: d.body.index },
    matrixTemps: temps.matrix,
    indexTemps: temps.index,
    layout: d.layout,
    noMatrixForm: hasMatrix ? undefined : noMatrixForm(d, !vec && (vecF || vecX) ? vecMatrixForm(text, wrt, { order: state.order, let: lets }) : null),
    shapeText: shapeText(d.shape),
    shape: d.shape,
    exprShape: d.shape.slice(0, exprRank),
    wrtShape: d.shape.slice(exprRank, exprRank + wrtRank),
  };
  return done({ vars: rows(size), wrt, shown, problem: undefined, notices, layoutApplies: vecF || vecX }, d);
}
