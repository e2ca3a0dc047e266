/**
 * What the page shows for a state, computed without touching the DOM: the variables with their
 * types and sizes, the derivative in its notations, or the error with the span it is about.
 */
import { derivative, parse, printLatex, RicciError, type Ast, type Derivative, type Span } from '../src/index.js';
import { conventionalType, variableOrder, type DeclaredType } from '../src/syntax/check.js';
import { noMatrixReason } from '../src/derive.js';
import { latexName } from '../src/print/latex.js';
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
  readonly derivative: Derivative;
  /** The parsed input, typeset: to see how the text was read. */
  readonly inputLatex: string;
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

export interface Problem {
  readonly message: string;
  readonly span: Span | undefined;
  /** false for an error that is a bug in ricci rather than in the input. */
  readonly isInputError: boolean;
}

export interface Computed {
  /** The variables in order of appearance; undefined where the text does not parse. */
  readonly vars: readonly VarRow[] | undefined;
  /** The variable actually differentiated by. */
  readonly wrt: string;
  readonly shown: Shown | undefined;
  readonly problem: Problem | undefined;
}

/** Variable names in order of first appearance (as the checker orders them). */
export function variableNames(ast: Ast): string[] {
  return variableOrder(ast).map((v) => v.name);
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

function noMatrixForm(d: Derivative): string {
  const why = noMatrixReason(d.shape);
  return `${why[0]!.toUpperCase()}${why.slice(1)}, shown in index notation.`;
}

function lhsLatex(wrt: string, order: number): string {
  const x = latexName(wrt);
  return order === 1 ? `\\frac{\\partial f}{\\partial ${x}}` : `\\frac{\\partial^{${order}} f}{\\partial ${x}^{${order}}}`;
}

export function toProblem(e: unknown): Problem {
  if (e instanceof RicciError) return { message: e.message, span: e.span, isInputError: true };
  if (e instanceof RangeError && /call stack/i.test(e.message))
    return { message: 'the expression is too deeply nested to process', span: undefined, isInputError: true };
  const msg = e instanceof Error ? e.message : String(e);
  return { message: `internal error: ${msg} (this is a bug in ricci)`, span: undefined, isInputError: false };
}

export function compute(state: State): Computed {
  const typeOf = (n: string): DeclaredType | undefined => state.lets[n] ?? conventionalType(n);
  let ast: Ast;
  try {
    ast = parse(state.expr);
  } catch (e) {
    return { vars: undefined, wrt: state.wrt, shown: undefined, problem: toProblem(e) };
  }
  const names = variableNames(ast);
  const wrt = chooseWrt(names, state.wrt, typeOf);
  const rows = (size: (n: string) => string | undefined): VarRow[] =>
    names.map((name) => ({ name, type: typeOf(name), conventional: conventionalType(name), size: size(name) }));
  if (names.length === 0)
    return { vars: [], wrt, shown: undefined, problem: { message: 'the expression has no variables to differentiate by', span: ast.span, isInputError: true } };
  let d: Derivative;
  try {
    d = derivative(state.expr, wrt, { order: state.order, let: state.lets });
  } catch (e) {
    return { vars: rows(() => undefined), wrt, shown: undefined, problem: toProblem(e) };
  }
  const checked = d.result.analysis.checked;
  const size = (n: string): string | undefined => {
    const v = checked.vars.get(n);
    if (!v) return undefined;
    const r = checked.sizeName(v.type.rows);
    const c = checked.sizeName(v.type.cols);
    return c === '1' ? (r === '1' ? '1' : r) : `${r}×${c}`;
  };
  const hasMatrix = d.matrix !== null;
  const exprRank = d.result.analysis.lowered.root.shape.length;
  const wrtRank = (d.shape.length - exprRank) / state.order;
  const shown: Shown = {
    derivative: d,
    inputLatex: printLatex(checked.ast),
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
  return { vars: rows(size), wrt, shown, problem: undefined };
}
