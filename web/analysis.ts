/**
 * What the page shows for a state, computed without touching the DOM (it runs in the worker): the
 * variables with their types and sizes, the derivative in its notations, or the problem with the
 * span it is about, and notices about input that is valid but probably not meant. Everything
 * returned is plain data, so that it crosses from the worker to the page by structured clone.
 */
import { derivative, parse, printLatex, printMatrix, RicciError, type Ast, type Derivative, type Span } from '../src/index.js';
import { conventionalType, variableOrder, type Declarations, type DeclaredType } from '../src/syntax/check.js';
import { analyze, noMatrixReason } from '../src/derive.js';
import type { Checked } from '../src/syntax/check.js';
import { latexName } from '../src/print/latex.js';
import { characterHint, isUnfinished, warnings } from './hints.js';
import { wrtOccurrence } from './occurs.js';
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

export interface Shown {
  /** The parsed input, typeset and as text: to see how the text was read. */
  readonly inputLatex: string;
  readonly inputText: string;
  /** The left-hand side, ∂ᵏf/∂xᵏ. */
  readonly lhsLatex: string;
  readonly matrixLatex: string | null;
  readonly indexLatex: string;
  /** The input-language text of the matrix form, or null where none exists. */
  readonly matrixText: string | null;
  readonly indexText: string;
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

/** "n×m (a matrix)" and the like. */
export function shapeText(shape: readonly string[]): string {
  switch (shape.length) {
    case 0:
      return '1 (a scalar)';
    case 1:
      return `${shape[0]} (a vector)`;
    case 2:
      return `${shape.join('×')} (a matrix)`;
    default:
      return `${shape.join('×')} (a tensor of order ${shape.length})`;
  }
}

/** "x, A and b". */
export function listNames(names: readonly string[]): string {
  return names.length <= 1 ? (names[0] ?? '') : `${names.slice(0, -1).join(', ')} and ${names.at(-1)!}`;
}

function noMatrixForm(d: Derivative): string {
  const why = noMatrixReason(d.shape);
  return `${why[0]!.toUpperCase()}${why.slice(1)}, shown in index notation.`;
}

function lhsLatex(wrt: string, order: number): string {
  const x = latexName(wrt);
  return order === 1 ? `\\frac{\\partial f}{\\partial ${x}}` : `\\frac{\\partial^{${order}} f}{\\partial ${x}^{${order}}}`;
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
  try {
    const analysis = analyze(text, lets);
    const checked = analysis.checked;
    const occurrence = wrtOccurrence(analysis, state.wrt);
    if (!occurrence.occurs) {
      wrt = chooseWrt(occurrence.variables, state.wrt, typeOf);
      if (state.wrt)
        notices.unshift({
          message: `${state.wrt} does not occur in the expression (its variables: ${listNames(occurrence.variables)}), so the derivative is shown by ${wrt}.`,
        });
    }
    onChecked?.({ vars: rows((n) => sizeOf(checked, n)), wrt, shown: undefined, problem: undefined, notices });
    d = derivative(text, wrt, { order: state.order, let: lets });
  } catch (e) {
    return done({ vars: rows(() => undefined), wrt, shown: undefined, notices, problem: toProblem(e, text) });
  }
  const checked = d.result.analysis.checked;
  const size = (n: string): string | undefined => sizeOf(checked, n);
  const hasMatrix = d.matrix !== null;
  const exprRank = d.result.analysis.lowered.root.shape.length;
  const wrtRank = (d.shape.length - exprRank) / state.order;
  const shown: Shown = {
    inputLatex: printLatex(checked.ast),
    inputText: printMatrix(checked.ast),
    lhsLatex: lhsLatex(wrt, state.order),
    matrixLatex: hasMatrix ? d.latex : null,
    indexLatex: d.result.indexLatex,
    matrixText: d.matrix,
    indexText: d.index,
    noMatrixForm: hasMatrix ? undefined : noMatrixForm(d),
    shapeText: shapeText(d.shape),
    shape: d.shape,
    exprShape: d.shape.slice(0, exprRank),
    wrtShape: d.shape.slice(exprRank, exprRank + wrtRank),
  };
  return done({ vars: rows(size), wrt, shown, problem: undefined, notices }, d);
}
