/**
 * The core pipeline, shared by the library, the CLI and the web page:
 * text ─parse─▶ AST ─check─▶ types ─lower─▶ IR ─(differentiate ─simplify)ᵏ─▶ IR ─▶ printers.
 */
import { parse } from './syntax/parse.js';
import { check, conventionalType, type Checked, type Declarations } from './syntax/check.js';
import { lower, type Lowered } from './ir/lower.js';
import { type Node, type VarNode, makeMul, makeVar } from './ir/node.js';
import { differentiate } from './diff/derivative.js';
import { simplify } from './simplify/phases.js';
import type { RewriteStep } from './simplify/rewrite.js';
import { toMatrix } from './print/matrix.js';
import { toText } from './print/text.js';
import { toLatex } from './print/latex.js';
import { toIndex } from './print/index.js';
import { inputError } from './errors.js';
import { bindSizes } from './compile/reference.js';
import type { Tensor } from './tensor.js';
import type { Dim } from './ir/node.js';
import { RESERVED_NAMES } from './syntax/ops.js';
import type { Ast } from './syntax/ast.js';

export const MAX_ORDER = 8;

export interface DeriveOptions {
  /** Declarations that override the naming convention: { A: 'symmetric matrix', c: 'scalar' }. */
  readonly let?: Declarations;
  /** Order of the derivative (0 = the expression itself). Default 1. */
  readonly order?: number;
  /** Skip simplification (for tests that compare simplified and unsimplified values). */
  readonly simplify?: boolean;
  /** Receives every rewrite the simplifier makes (for tests that check each rule numerically). */
  readonly trace?: RewriteStep[];
  /** Name of the direction variable of hvp/jvp/vjp (default v, V or d by rank; u for vjp). */
  readonly direction?: string;
}

export interface Analysis {
  readonly text: string;
  readonly checked: Checked;
  readonly lowered: Lowered;
}

/** Parse, check and lower an expression; extra names (the variable to differentiate by) are declared too. */
export function analyze(text: string, decls: Declarations = {}, extra: readonly string[] = []): Analysis {
  const ast = parse(text);
  const checked = check(text, ast, decls, extra);
  const lowered = lower(checked);
  return { text, checked, lowered };
}

export interface Result {
  readonly expr: string;
  readonly wrt: string;
  readonly order: number;
  /** The result in the index IR. */
  readonly node: Node;
  /** The result in matrix notation (input language), or null where it has none. */
  readonly matrix: string | null;
  readonly matrixAst: Ast | null;
  /** Index (Ricci) notation; free indices i, j, k, … follow the axes. */
  readonly index: string;
  /** LaTeX of the matrix form where it exists, else of the index form. */
  readonly latex: string;
  readonly indexLatex: string;
  /** Symbolic sizes of the result's axes: shape(expr) followed by shape(wrt) per order. */
  readonly shape: readonly string[];
  readonly analysis: Analysis;
  readonly wrtNode: VarNode;
}

export function validateWrt(wrt: string): void {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(wrt)) throw inputError(`'${wrt}' is not a variable name`);
  if (RESERVED_NAMES.has(wrt)) throw inputError(`'${wrt}' is a function name, not a variable`);
}

export function derive(text: string, wrt: string, opts: DeriveOptions = {}): Result {
  const d = deriveNode(text, wrt, opts);
  return present(d.node, d.analysis, text, wrt, d.order, d.wrtNode);
}

/** The derivative in the IR, before printing (derive() = deriveNode() + the printers). */
export function deriveNode(text: string, wrt: string, opts: DeriveOptions = {}): { node: Node; analysis: Analysis; wrtNode: VarNode; order: number } {
  const order = opts.order ?? 1;
  if (!Number.isInteger(order) || order < 0 || order > MAX_ORDER)
    throw inputError(`order must be an integer from 0 to ${MAX_ORDER}, not ${order}`);
  validateWrt(wrt);
  if (!opts.let?.[wrt] && conventionalType(wrt) === undefined && !new RegExp(`\\b${wrt}\\b`).test(text))
    throw inputError(`cannot tell the type of '${wrt}' from its name: declare it (--let "${wrt}: vector")`);
  const analysis = analyze(text, opts.let ?? {}, [wrt]);
  const wrtNode = analysis.lowered.vars.get(wrt)!;
  let node = analysis.lowered.root;
  if (opts.simplify !== false) node = simplify(node, opts.trace);
  for (let k = 0; k < order; k++) {
    node = differentiate(node, wrtNode);
    if (opts.simplify !== false) node = simplify(node, opts.trace);
  }
  return { node, analysis, wrtNode, order };
}

export function present(node: Node, analysis: Analysis, text: string, wrt: string, order: number, wrtNode: VarNode): Result {
  const m = toMatrix(node);
  const index = toIndex(node);
  const names = analysis.lowered.sizeNames;
  const shape = node.shape.map((d) => names.get(d) ?? analysis.checked.sizeName(d));
  return {
    expr: text,
    wrt,
    order,
    node,
    matrix: m ? toText(m.ast) : null,
    matrixAst: m ? m.ast : null,
    index: index.text,
    latex: m ? toLatex(m.ast) : index.latex,
    indexLatex: index.latex,
    shape,
    analysis,
    wrtNode,
  };
}

/** Sizes of every symbol for evaluating a result at the given values (all variables must have one). */
export function resultSizes(r: Result, values: ReadonlyMap<string, Tensor>, known?: ReadonlyMap<Dim, number>): Map<Dim, number> {
  return bindSizes([...r.analysis.lowered.vars.values(), r.analysis.lowered.root, r.node], values, sizeNamesOf(r), known);
}

/**
 * How messages name a matrix of a result (the argument of an inv or logdet that turns out
 * singular): the user's text for it where the expression has one, else its printed matrix form.
 */
export function matrixNamesOf(r: Result): (n: Node) => string {
  const names = r.analysis.lowered.matrixNames;
  return (n) => {
    const given = names.get(n);
    if (given !== undefined) return given;
    const m = toMatrix(n);
    return m ? toText(m.ast) : 'a matrix of the result';
  };
}

/** Display names of a result's size symbols (n, m, …), for messages. */
export function sizeNamesOf(r: Result): { get(d: Dim): string | undefined } {
  return { get: (d: Dim) => r.analysis.lowered.sizeNames.get(d) ?? r.analysis.checked.sizeName(d) };
}

export type Directional = 'hvp' | 'jvp' | 'vjp';

/** A name for a new variable of the given rank that the expression does not use: v, V or d first. */
export function freshName(rank: number, used: ReadonlySet<string>, base?: string): string {
  const stem = base ?? (rank === 0 ? 'd' : rank === 1 ? 'v' : 'V');
  if (!used.has(stem)) return stem;
  for (let k = 1; ; k++) if (!used.has(`${stem}${k}`)) return `${stem}${k}`;
}

export interface DirectionalResult extends Result {
  /** The name of the direction (hvp, jvp) or cotangent (vjp) variable. */
  readonly direction: string;
}

/**
 * Closed-form products with a derivative, never forming it:
 *   hvp: H·v for a scalar f (v has the shape of wrt),
 *   jvp: J·v (v has the shape of wrt; result has the shape of f),
 *   vjp: uᵀ·J (u has the shape of f; result has the shape of wrt).
 * The derivative is contracted with the new variable before simplification, so deltas contract
 * into a form such as (A + A')*v.
 */
export function deriveDirectional(text: string, wrt: string, kind: Directional, opts: DeriveOptions = {}): DirectionalResult {
  validateWrt(wrt);
  const analysis = analyze(text, opts.let ?? {}, [wrt]);
  const wrtNode = analysis.lowered.vars.get(wrt)!;
  const root = simplify(analysis.lowered.root, opts.trace);
  const r = root.shape.length;
  const w = wrtNode.shape.length;
  if (kind === 'hvp' && r !== 0) throw inputError(`hvp needs a scalar expression, but ${text} has ${r} axes`);
  const used = new Set(analysis.lowered.vars.keys());
  const dirShape = kind === 'vjp' ? root.shape : wrtNode.shape;
  const stem = opts.direction ?? (kind === 'vjp' ? ['d', 'u', 'U'][dirShape.length] : undefined);
  const direction = freshName(dirShape.length, used, stem);
  const dir = makeVar(direction, dirShape);
  const range = (from: number, n: number): number[] => Array.from({ length: n }, (_, i) => from + i);
  let node: Node;
  if (kind === 'hvp') {
    const g = simplify(differentiate(root, wrtNode), opts.trace);
    const h = differentiate(g, wrtNode);
    node = makeMul([{ node: h, labels: [...range(0, w), ...range(w, w)] }, { node: dir, labels: range(w, w) }], w);
  } else if (kind === 'jvp') {
    node = makeMul([{ node: differentiate(root, wrtNode), labels: range(0, r + w) }, { node: dir, labels: range(r, w) }], r);
  } else {
    node = makeMul([{ node: dir, labels: range(w, r) }, { node: differentiate(root, wrtNode), labels: [...range(w, r), ...range(0, w)] }], w);
  }
  if (opts.simplify !== false) node = simplify(node, opts.trace);
  const lowered = { ...analysis.lowered, vars: new Map([...analysis.lowered.vars, [direction, dir]]) };
  const res = present(node, { ...analysis, lowered }, text, wrt, kind === 'hvp' ? 2 : 1, wrtNode);
  return { ...res, direction };
}

/** Why a result has no matrix form, in one line: "no matrix form: the result is a tensor of order 3 (shape n×n×n)". */
export function noMatrixReason(shape: readonly string[]): string {
  if (shape.length > 2) return `no matrix form: the result is a tensor of order ${shape.length} (shape ${shape.join('×')})`;
  return 'no matrix form: the index pattern of the result has no matrix-notation equivalent';
}
