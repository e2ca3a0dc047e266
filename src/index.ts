/**
 * ricci's library API.
 *
 *   import { gradient, hessian, jacobian, derivative } from 'ricci';
 *   const H = hessian("x'*A*x", 'x', { let: { A: 'symmetric matrix' } });
 *   H.matrix  // "2*A"
 *   H.index   // Ricci form
 *   H.latex   // LaTeX
 *   H.shape   // ['n', 'n']
 *   H.evaluate({ A, x })  // { shape, data }
 */
import { derive, resultSizes, type Result } from './derive.js';
import { evaluateReference } from './compile/reference.js';
import { type Tensor } from './tensor.js';
import { type Values, toTensors } from './values.js';
import { typeError } from './errors.js';
import type { Declarations } from './syntax/check.js';

export { parse } from './syntax/parse.js';
export { RicciError, markSpan } from './errors.js';
export type { ErrorCategory } from './errors.js';
export type { Tensor } from './tensor.js';
export type { Value, Values } from './values.js';
export type { Ast, Span } from './syntax/ast.js';
export { toText as printMatrix } from './print/text.js';
export { toLatex as printLatex } from './print/latex.js';

export interface Options {
  /** Types that override the naming convention: { A: 'symmetric matrix', c: 'scalar' }. */
  readonly let?: Declarations;
}

export class Derivative {
  /** The expression differentiated. */
  readonly expr: string;
  /** The variable it is differentiated by. */
  readonly wrt: string;
  readonly order: number;
  /** Closed form in the input language, or null where none exists (order ≥ 3, …). */
  readonly matrix: string | null;
  /** Index (Ricci) notation; free indices i, j, k, … follow the axes of `shape`. */
  readonly index: string;
  /** LaTeX of the matrix form, or of the index form where there is no matrix form. */
  readonly latex: string;
  /** Symbolic sizes of the axes: shape(expr) ++ shape(wrt) for each order. */
  readonly shape: readonly string[];
  /** @internal the pipeline result behind this object. */
  readonly result: Result;

  constructor(r: Result) {
    this.result = r;
    this.expr = r.expr;
    this.wrt = r.wrt;
    this.order = r.order;
    this.matrix = r.matrix;
    this.index = r.index;
    this.latex = r.latex;
    this.shape = r.shape;
  }

  /** Evaluates the derivative at a point with the reference evaluator. */
  evaluate(values: Values): Tensor {
    const r = this.result;
    const vals = toTensors(values);
    const sizes = resultSizes(r, vals);
    return evaluateReference(r.node, vals, sizes);
  }
}

export interface DerivativeOptions extends Options {
  /** 0 = the expression itself; default 1. */
  readonly order?: number;
}

/** The order-k derivative of expr with respect to wrt (layout: shape(expr) ++ shape(wrt) per order). */
export function derivative(expr: string, wrt: string, opts: DerivativeOptions = {}): Derivative {
  return new Derivative(derive(expr, wrt, { order: opts.order ?? 1, ...(opts.let ? { let: opts.let } : {}) }));
}

function requireRank(d: Derivative, what: string, want: number, needs: string): Derivative {
  const r = d.result.analysis.lowered.root.shape.length;
  if (r !== want) throw typeError(`${what} needs ${needs}, but ${d.expr} has ${r === 0 ? 'no axes (a scalar)' : `${r} axis${r === 1 ? '' : 'es'}`}`);
  return d;
}

/** The gradient of a scalar expression: same shape as wrt. */
export function gradient(expr: string, wrt: string, opts: Options = {}): Derivative {
  return requireRank(derivative(expr, wrt, { ...opts, order: 1 }), 'gradient', 0, 'a scalar expression');
}

/** The Hessian of a scalar expression: shape(wrt) ++ shape(wrt). */
export function hessian(expr: string, wrt: string, opts: Options = {}): Derivative {
  return requireRank(derivative(expr, wrt, { ...opts, order: 2 }), 'hessian', 0, 'a scalar expression');
}

/** The Jacobian of a vector expression: J[i][j] = ∂f_i/∂x_j. */
export function jacobian(expr: string, wrt: string, opts: Options = {}): Derivative {
  return requireRank(derivative(expr, wrt, { ...opts, order: 1 }), 'jacobian', 1, 'a vector expression');
}
