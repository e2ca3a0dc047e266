/**
 * The core pipeline, shared by the library, the CLI and the web page:
 * text ─parse─▶ AST ─check─▶ types ─lower─▶ IR ─(differentiate ─simplify)ᵏ─▶ IR ─▶ printers.
 */
import { parse } from './syntax/parse.js';
import { check, conventionalType, variableOrder, type Checked, type Declarations } from './syntax/check.js';
import { lower, type Lowered } from './ir/lower.js';
import { type Node, type VarNode, makeAdd, makeMerge, makeMul, makeVar, topoOrder, zeros } from './ir/node.js';
import { differentiate } from './diff/derivative.js';
import { INDEX_FORM_PHASES, PHASES, simplify } from './simplify/phases.js';
import type { RewriteStep } from './simplify/rewrite.js';
import { printResult, type Body, type Printed, type PrintContext, type Temporary } from './print/present.js';
import { matrixText } from './print/matrix.js';
import { writtenFactors, writtenSums } from './print/signs.js';
import { productSizes } from './print/sizes.js';
import type { IndexForm } from './print/index.js';
import { inputError, type RicciError } from './errors.js';
import { bindSizes, SingularMatrixError } from './compile/reference.js';
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
  /**
   * 'default': the derivative of f by X has shape shape(f) ++ shape(X). 'vec': matrices are
   * vectorized column-major (Magnus–Neudecker): the derivative is that of vec(f) by vec(X), so a
   * Hessian by a matrix is a matrix (printed with kron).
   */
  readonly layout?: Layout;
}

export type Layout = 'default' | 'vec';
export const LAYOUTS: readonly Layout[] = ['default', 'vec'];

export interface Analysis {
  readonly text: string;
  readonly checked: Checked;
  readonly lowered: Lowered;
}

/** Parse, check and lower an expression; extra names (the variable to differentiate by) are declared too. */
export function analyze(text: string, decls: Declarations = {}, extra: readonly string[] = []): Analysis {
  const ast = parse(text);
  const temp = ast.kind === 'where' ? ast.bindings.find((b) => extra.includes(b.name)) : undefined;
  if (temp) throw inputError(`${temp.name} is a temporary (defined by where), not a variable to differentiate by`, temp.nameSpan);
  const checked = check(text, ast, decls, extra);
  const lowered = lower(checked);
  return { text, checked, lowered };
}

export interface Result {
  readonly expr: string;
  readonly wrt: string;
  readonly order: number;
  /** The result in the index IR, as the printers and code export write it. */
  readonly node: Node;
  /**
   * The result as the evaluators compute it: node itself, except where the derivative of adj
   * (the second derivative of det) occurs. node writes that with A⁻¹, as a person would; here it
   * is adj2(A), defined where A is singular too (det(y*y') by y, order 2).
   */
  readonly evalNode: Node;
  /**
   * Where a third derivative of det occurs (the derivative of adj2): evalNode with that derivative
   * as adj3(A), the signed minors of order n − 3, instead of its form with A⁻¹. An n⁶ tensor, so the
   * evaluators compute it only where evalNode meets a singular matrix (withSingularFallback).
   */
  readonly singularNode?: Node;
  /**
   * The result in matrix notation (input language), or null where it has none. Shared parts are
   * named once: `… where t1 = …, t2 = …` (valid input with the same value).
   */
  readonly matrix: string | null;
  readonly matrixAst: Ast | null;
  /** Index (Ricci) notation; free indices i, j, k, … follow the axes (with its where clause). */
  readonly index: string;
  /** LaTeX of the matrix form where it exists, else of the index form; temporaries on aligned lines. */
  readonly latex: string;
  readonly indexLatex: string;
  /** The named shared sub-expressions (t1, t2, …), each defined before it is used. */
  readonly temporaries: readonly Temporary[];
  /** The main expression alone (without the definitions of its temporaries), in each notation. */
  readonly body: Body;
  /** The index forms as trees: the main one, then each temporary's (for checks of the index convention). */
  readonly indexForms: readonly IndexForm[];
  /** Symbolic sizes of the result's axes: shape(expr) followed by shape(wrt) per order (m*n for a vec). */
  readonly shape: readonly string[];
  readonly layout: Layout;
  readonly analysis: Analysis;
  readonly wrtNode: VarNode;
}

export function validateWrt(wrt: string): void {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(wrt)) throw inputError(`'${wrt}' is not a variable name`);
  if (RESERVED_NAMES.has(wrt)) throw inputError(`'${wrt}' is a function name, not a variable`);
}

/** The variables of an expression, in order of first appearance (a syntax error throws). */
export function variablesOf(text: string): string[] {
  return variableOrder(parse(text)).map((v) => v.name);
}

/**
 * The error a front end reports when `wrt` does not occur in the expression, or null when it does.
 * The derivative is then zero, which the library returns as such (a program may ask for it); a
 * person who typed the command or the page almost always misspelled the variable. The expression
 * is checked first, so an error in it is the one reported (`x(1)` calls an unknown function x; it
 * does not lack the variable x).
 */
export function absentVariableError(text: string, wrt: string, decls: Declarations = {}): RicciError | null {
  const ast = parse(text);
  check(text, ast, decls);
  const vars = variableOrder(ast).map((v) => v.name);
  if (vars.includes(wrt)) return null;
  const list = vars.length === 0 ? 'it has no variables' : `its variables are ${vars.join(', ')}`;
  return inputError(`${wrt} does not occur in the expression (${list}); the derivative by ${wrt} would be 0`);
}

export function derive(text: string, wrt: string, opts: DeriveOptions = {}): Result {
  const d = deriveNode(text, wrt, opts);
  return present(d.node, d.analysis, text, wrt, d.order, d.wrtNode, d.layout, d.evalNode, d.singularNode, d.unsymmetrized);
}

/** The derivative in the IR, before printing (derive() = deriveNode() + the printers). */
export function deriveNode(
  text: string,
  wrt: string,
  opts: DeriveOptions = {},
): { node: Node; evalNode: Node; singularNode?: Node; unsymmetrized?: () => Node; analysis: Analysis; wrtNode: VarNode; order: number; layout: Layout } {
  const order = opts.order ?? 1;
  if (!Number.isInteger(order) || order < 0 || order > MAX_ORDER)
    throw inputError(`order must be an integer from 0 to ${MAX_ORDER}, not ${order}`);
  validateWrt(wrt);
  if (!opts.let?.[wrt] && conventionalType(wrt) === undefined && !new RegExp(`\\b${wrt}\\b`).test(text))
    throw inputError(`cannot tell the type of '${wrt}' from its name: declare it (--let "${wrt}: vector")`);
  const analysis = analyze(text, opts.let ?? {}, [wrt]);
  const wrtNode = analysis.lowered.vars.get(wrt)!;
  let usedAdj = false;
  let usedAdj2 = false;
  const orders = (singularSafe: boolean, cofactors = false, unsymmetrized = false): Node => {
    // The trace records the printed derivation's rewrites only.
    const trace = singularSafe || unsymmetrized ? undefined : opts.trace;
    let node = analysis.lowered.root;
    if (opts.simplify !== false) node = simplify(node, trace);
    const how = { singularSafe, cofactors, unsymmetrized, onAdj: () => (usedAdj = true), onAdj2: () => (usedAdj2 = true) };
    for (let k = 0; k < order; k++) {
      const phases = matrixFormIn(analysis.lowered.root.shape.length, wrtNode, k + 1) ? PHASES : INDEX_FORM_PHASES;
      node = differentiate(node, wrtNode, { ...how, phases });
      if (opts.simplify !== false) node = simplify(node, trace, phases);
    }
    return node;
  };
  const node = orders(false);
  // By a symmetric matrix, ∂S/∂S = ½(δδ + δδ) can double the terms at every order where they do
  // not collect: the third derivative of logdet(S./(A - S*S)) is 1,506 nodes, whose evaluation
  // took 11 s at n = 5. Where the derivative as by a general S is under half that size (279
  // nodes), the evaluators take it and average it over the swaps of each order's pair of axes,
  // the same value (1 s). Small derivatives are left as they are.
  const layout = opts.layout ?? 'default';
  let general: Node | undefined;
  const size = wrtNode.symmetric && order > 0 && layout === 'default' ? topoOrder([node]).length : 0;
  const sym = size > SYMMETRIZE_FROM_NODES && 2 * topoOrder([(general = orders(false, false, true))]).length < size;
  const forEval = (singularSafe: boolean, cofactors = false): Node =>
    sym ? symmetrizeOrders(!singularSafe && general ? general : orders(singularSafe, cofactors, true), order) : orders(singularSafe, cofactors);
  // Where adj was differentiated, once more with its derivative kept as adj2, for the evaluators;
  // where adj2 was too (a third derivative of det), once more with adj3, for singular matrices.
  const evalNode = usedAdj || sym ? forEval(usedAdj) : node;
  const singular = usedAdj2 ? { singularNode: forEval(true, true) } : {};
  if (!LAYOUTS.includes(layout)) throw inputError(`layout must be ${LAYOUTS.join(' or ')}, not ${String(layout)}`);
  if (layout === 'vec') {
    const vec = vecLayout(analysis, wrtNode, order);
    if (vec) {
      const merged = (n: Node): Node => makeMerge(n, vec.groups, vec.shape);
      const singularNode = singular.singularNode && { singularNode: merged(singular.singularNode) };
      return { node: merged(node), evalNode: merged(evalNode), ...singularNode, analysis: vec.analysis, wrtNode, order, layout };
    }
  }
  // By a symmetric matrix, the derivative as by a general one, which index notation may print
  // symmetrized (sym_{(kl)}[…], half the terms per order): made only where it is printed.
  const unsymmetrized = wrtNode.symmetric && order > 0 ? { unsymmetrized: () => (general ??= orders(false, false, true)) } : {};
  return { node, evalNode, ...singular, ...unsymmetrized, analysis, wrtNode, order, layout };
}

/** Nodes a derivative by a symmetric matrix has before its general form is tried for evaluation. */
const SYMMETRIZE_FROM_NODES = 200;

/**
 * Whether the derivative of f (of fAxes axes) of the given order by wrt can have a matrix form in
 * some layout, so that its simplification writes sums of tensors out into terms that have one: by
 * a vector or a matrix, f (as vec(f) in the vec layout: one axis) and one axis per order (the
 * vector, or vec of the matrix) make at most two. By a scalar the derivative has f's axes. (By a
 * matrix: the Hessian of a matrix function and the third derivative of a scalar have none.)
 */
function matrixFormIn(fAxes: number, wrt: VarNode, order: number): boolean {
  return wrt.shape.length === 0 || Math.min(fAxes, 1) + order <= 2;
}

/**
 * The derivative by a symmetric matrix from the derivative T by it as a general matrix: the mean of
 * T over the 2^order swaps of each order's pair of axes (the last 2·order axes, two per order).
 */
function symmetrizeOrders(t: Node, order: number): Node {
  const rank = t.shape.length;
  const first = rank - 2 * order;
  // Axis a of order k's pair (a = first + 2k or first + 2k + 1) swaps with first + ((a - first) ^ 1).
  const swapped = (a: number, mask: number): number => (a >= first && mask & (1 << ((a - first) >> 1)) ? first + ((a - first) ^ 1) : a);
  const terms = Array.from({ length: 1 << order }, (_, mask) => ({
    coef: 1 / (1 << order),
    node: makeMul([{ node: t, labels: Array.from({ length: rank }, (_, a) => swapped(a, mask)) }], rank),
  }));
  return makeAdd(terms, t.shape);
}

/**
 * The size symbol of the expression's own product of these two sizes, in this order (vec(X)'s
 * rows(X)·cols(X)), which the vec layout's merge of that pair then shares: ∂vec(X)/∂X merged is
 * the identity of that one size, which products cancel (vec(X)'*B*vec(X) by X is B + B').
 */
function productOf(checked: Checked, pair: readonly Dim[]): Dim | undefined {
  const find = (d: Dim): Dim => checked.sizes.find(d);
  const hit = checked.products.find((r) => r.parts.length === 2 && r.parts.every((p, k) => find(p) === find(pair[k]!)));
  return hit && find(hit.total);
}

/**
 * The vec layout: every matrix axis pair of the result (the expression's, then wrt's once per
 * order) merged column-major into one axis of size m*n, the same size symbol for every pair of
 * the same two sizes.
 */
function vecLayout(analysis: Analysis, wrtNode: VarNode, order: number): { groups: number[]; shape: Dim[]; analysis: Analysis } | undefined {
  const exprShape = analysis.lowered.root.shape;
  const pairs = [exprShape, ...Array.from({ length: order }, () => wrtNode.shape)];
  if (!pairs.some((s) => s.length === 2)) return undefined;
  const names = new Map(analysis.lowered.sizeNames);
  const nameOf = (d: Dim): string => names.get(d) ?? analysis.checked.sizeName(d);
  const merged = new Map<string, Dim>();
  const witnesses: Node[] = [...analysis.lowered.sizeWitnesses];
  const groups: number[] = [];
  const shape: Dim[] = [];
  for (const s of pairs) {
    if (s.length < 2) {
      for (const d of s) {
        groups.push(1);
        shape.push(d);
      }
      continue;
    }
    const key = s.join('x');
    let d = merged.get(key) ?? productOf(analysis.checked, s);
    if (d !== undefined) merged.set(key, d);
    else {
      d = analysis.checked.sizes.fresh();
      merged.set(key, d);
      names.set(d, s.map(nameOf).join('*'));
      // Its product of sizes, for the evaluators where the layout's merge is absorbed (vec(X) by X is eye).
      witnesses.push(makeMerge(zeros(s), [2], [d]));
    }
    groups.push(2);
    shape.push(d);
  }
  const lowered = { ...analysis.lowered, sizeNames: names, sizeWitnesses: witnesses };
  return { groups, shape, analysis: { ...analysis, lowered } };
}

/** The input's sums of matrices (at most MAX_INPUT_SUMS, each of at most 8 terms), which printed sums are divided by. */
function inputSums(root: Node): Node[] {
  const out: Node[] = [];
  for (const n of topoOrder([root])) {
    if (n.kind === 'add' && n.shape.length === 2 && n.terms.length <= 8) out.push(n);
    if (out.length === MAX_INPUT_SUMS) break;
  }
  return out;
}
const MAX_INPUT_SUMS = 16;

export function present(
  node: Node,
  analysis: Analysis,
  text: string,
  wrt: string,
  order: number,
  wrtNode: VarNode,
  layout: Layout = 'default',
  evalNode: Node = node,
  singularNode?: Node,
  unsymmetrized?: () => Node,
): Result {
  const written = writtenSums(analysis.checked.ast);
  const factors = writtenFactors(analysis.checked.ast);
  const sums = inputSums(analysis.lowered.root);
  const context = (n: Node): PrintContext => ({
    vars: [...analysis.lowered.vars.values()],
    written,
    factors,
    sums,
    products: productSizes([...analysis.lowered.sizeWitnesses, n]),
  });
  const p = symmetrizedIfShorter(printResult(node, context(node)), node.shape.length - order * 2, order, unsymmetrized, context);
  const names = analysis.lowered.sizeNames;
  const shape = node.shape.map((d) => names.get(d) ?? analysis.checked.sizeName(d));
  return {
    expr: text,
    wrt,
    order,
    node,
    evalNode,
    ...(singularNode ? { singularNode } : {}),
    matrix: p.matrix,
    matrixAst: p.matrixAst,
    index: p.index,
    latex: p.latex,
    indexLatex: p.indexLatex,
    temporaries: p.temporaries,
    body: p.body,
    indexForms: p.indexForms,
    shape,
    layout,
    analysis,
    wrtNode,
  };
}

/**
 * By a symmetric matrix S, where the derivative has no matrix form: its index form as the
 * symmetrization of the derivative by S taken as a general matrix (sym_{(kl)(mn)}[…]: the mean
 * over swapping each order's pair of axes), where that is shorter. Every order of the derivative
 * by S is that mean: the symmetrized identity ½(δδ + δδ) of each order factors out of the chain
 * rule. The matrix form (none here) and the value are the symmetric derivative's own.
 */
function symmetrizedIfShorter(p: Printed, exprRank: number, order: number, unsymmetrized: (() => Node) | undefined, context: (n: Node) => PrintContext): Printed {
  if (!unsymmetrized || p.matrix !== null) return p;
  const u = unsymmetrized();
  const pairs = Array.from({ length: order }, (_, k) => [exprRank + 2 * k, exprRank + 2 * k + 1] as const);
  const q = printResult(u, { ...context(u), symmetrized: pairs });
  if (q.index.length >= p.index.length) return p;
  return { ...q, matrix: null, matrixAst: null, latex: q.indexLatex, body: { ...q.body, matrix: null, latex: q.body.indexLatex } };
}

/**
 * An evaluation of results' evalNodes (`first`), and where that meets a singular matrix — an
 * error, or NaN entries where a form with A⁻¹ met a zero pivot as 1/0 (inv(diag(v)) is
 * diag(v.^-1)) — the same with their singularNodes (`second`, adj3 in place of the third
 * derivative of det written with A⁻¹), kept where it has no NaN. Both are the same function
 * where A is invertible; the second is defined at every A, and costs an n⁶ tensor. Where the
 * second fails too, the first's error stands.
 */
export function withSingularFallback<T>(results: readonly Result[], first: () => T, second: () => T, tensors: (t: T) => readonly Tensor[]): T {
  if (!results.some((r) => r.singularNode)) return first();
  const hasNaN = (t: T): boolean => tensors(t).some((x) => x.data.some(Number.isNaN));
  let t: T;
  try {
    t = first();
  } catch (e) {
    if (!(e instanceof SingularMatrixError)) throw e;
    try {
      return second();
    } catch {
      throw e;
    }
  }
  if (!hasNaN(t)) return t;
  try {
    const u = second();
    return hasNaN(u) ? t : u;
  } catch {
    return t;
  }
}

/** The nodes the fallback evaluates (withSingularFallback): singularNode where a result has one. */
export const singularRoots = (results: readonly Result[]): Node[] => results.map((r) => r.singularNode ?? r.evalNode);

/**
 * Nodes that fix a result's sizes besides its own: the expression, and the products of sizes its
 * vec and kron make (which may have cancelled from both: kron(y', B)./kron(y', B)).
 */
export function sizeRootsOf(r: Result): Node[] {
  return [r.analysis.lowered.root, ...r.analysis.lowered.sizeWitnesses];
}

/** Sizes of every symbol for evaluating a result at the given values (all variables must have one). */
export function resultSizes(r: Result, values: ReadonlyMap<string, Tensor>, known?: ReadonlyMap<Dim, number>): Map<Dim, number> {
  return bindSizes([...r.analysis.lowered.vars.values(), ...sizeRootsOf(r), r.evalNode], values, sizeNamesOf(r), known);
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
    return matrixText(n, [...r.analysis.lowered.vars.values()]) ?? 'a matrix of the result';
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
  let usedAdj = false;
  // As in deriveNode: printed with adj's derivative written with A⁻¹, evaluated with adj2 where it occurs.
  const product = (singularSafe: boolean): Node => {
    const trace = singularSafe ? undefined : opts.trace;
    const d = (n: Node): Node => differentiate(n, wrtNode, { singularSafe, onAdj: () => (usedAdj = true) });
    let node: Node;
    if (kind === 'hvp') {
      const h = d(simplify(d(root), trace));
      node = makeMul([{ node: h, labels: [...range(0, w), ...range(w, w)] }, { node: dir, labels: range(w, w) }], w);
    } else if (kind === 'jvp') {
      node = makeMul([{ node: d(root), labels: range(0, r + w) }, { node: dir, labels: range(r, w) }], r);
    } else {
      node = makeMul([{ node: dir, labels: range(w, r) }, { node: d(root), labels: [...range(w, r), ...range(0, w)] }], w);
    }
    return opts.simplify !== false ? simplify(node, trace) : node;
  };
  const node = product(false);
  const evalNode = usedAdj ? product(true) : node;
  const lowered = { ...analysis.lowered, vars: new Map([...analysis.lowered.vars, [direction, dir]]) };
  const res = present(node, { ...analysis, lowered }, text, wrt, kind === 'hvp' ? 2 : 1, wrtNode, 'default', evalNode);
  return { ...res, direction };
}

/** A result as plain data (the CLI's --format json, the page): every notation and the temporaries. */
export function resultJson(r: Result): {
  matrix: string | null;
  index: string;
  latex: string;
  shape: readonly string[];
  layout: Layout;
  body: Body;
  temporaries: { name: string; matrix: string | null; index: string; indexName: string; latex: string }[];
} {
  return {
    matrix: r.matrix,
    index: r.index,
    latex: r.latex,
    shape: r.shape,
    layout: r.layout,
    body: r.body,
    temporaries: r.temporaries.map((t) => ({ name: t.name, matrix: t.matrix, index: t.index, indexName: t.indexName, latex: t.latex })),
  };
}

/**
 * The vec layout's matrix form of a derivative that has none in the default layout (a matrix by a
 * matrix, a Hessian by a matrix), or null where the vec layout has none either or does not apply.
 */
export function vecMatrixForm(text: string, wrt: string, opts: Omit<DeriveOptions, 'layout'> = {}): string | null {
  try {
    const r = derive(text, wrt, { ...opts, layout: 'vec' });
    return r.layout === 'vec' && r.shape.length <= 2 ? r.matrix : null;
  } catch {
    // The form is a hint beside a result that exists: whatever stops it leaves the hint out.
    return null;
  }
}

/** Why a result has no matrix form, in one line: "no matrix form: the result is a tensor of order 3 (shape n×n×n)". */
export function noMatrixReason(shape: readonly string[], layout: Layout = 'default'): string {
  if (shape.length > 2) return `no matrix form: the result is a tensor of order ${shape.length} (shape ${shape.join('×')})`;
  if (layout === 'vec')
    return "no Kronecker form: a term joins the expression's axes to the variable's in a pattern that kron, commutation, diag(vec(…)) and vec(…)*vec(…)' do not write; index notation shows its unmerged tensor";
  return 'no matrix form: the index pattern of the result has no matrix-notation equivalent';
}
