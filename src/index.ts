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
import { derive, deriveDirectional, matrixNamesOf, resultSizes, singularRoots, sizeNamesOf, sizeRootsOf, withSingularFallback, type Layout, type Result, type DirectionalResult } from './derive.js';
import type { Body, Temporary } from './print/present.js';
import { evaluateReference } from './compile/reference.js';
import { compileNodes, type Evaluator } from './compile/compile.js';
import { type Tensor } from './tensor.js';
import { type Values, toTensors } from './values.js';
import { inputError, typeError } from './errors.js';
import type { Declarations } from './syntax/check.js';
import type { Node, VarNode } from './ir/node.js';
import { compileStructured, type StructuredHessian, type StructuredKind } from './structured.js';

export { parse } from './syntax/parse.js';
export { RicciError, markSpan } from './errors.js';
export { SingularMatrixError } from './compile/kernels/lu.js';
export type { ErrorCategory } from './errors.js';
export type { Tensor } from './tensor.js';
export type { Value, Values } from './values.js';
export type { Ast, Span } from './syntax/ast.js';
export { toText as printMatrix } from './print/text.js';
export { toLatex as printLatex } from './print/latex.js';
export { generateCode, type CodeLang, type CodeOptions } from './codegen/index.js';
export { matrixFormExpected, matrixFormOfVecOrKron } from './print/coverage.js';
export type { Layout } from './derive.js';
export type { Body, Temporary } from './print/present.js';
export { variablesOf, absentVariableError } from './derive.js';
export { kernelInfo, type KernelInfo, enableRelaxedSimd, residentArray, releaseResident } from './compile/kernels/index.js';
export type {
  StructuredHessian,
  StructuredKind,
  StructuredPart,
  DiagHessian,
  KronHessian,
  BlockDiagHessian,
  DenseHessian,
  SumHessian,
} from './structured.js';

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
  /** Symbolic sizes of the axes: shape(expr) ++ shape(wrt) for each order (m*n for a vec axis). */
  readonly shape: readonly string[];
  /** 'default' (shape(f) ++ shape(X)) or 'vec' (matrices vectorized column-major; kron forms). */
  readonly layout: Layout;
  /** Shared sub-expressions named once (t1, t2, …), as the where clauses of the printed forms define them. */
  readonly temporaries: readonly Temporary[];
  /** Each notation without its where clause (the page shows the temporaries apart). */
  readonly body: Body;
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
    this.layout = r.layout;
    this.temporaries = r.temporaries;
    this.body = r.body;
  }

  /** Evaluates the derivative at a point with the reference evaluator (slow, plain loops). */
  evaluate(values: Values): Tensor {
    const r = this.result;
    const vals = toTensors(values);
    const sizes = resultSizes(r, vals);
    const at = (n: Node): Tensor => evaluateReference(n, vals, sizes, matrixNamesOf(r));
    return withSingularFallback([r], () => at(r.evalNode), () => at(r.singularNode!), (t) => [t]);
  }

  /**
   * A fast evaluator over Float64Array kernels: h({ A, x }) → { shape, data }. With
   * { structured: true } (Hessians only): h(values) → a structured Hessian (diag, kron, blockdiag,
   * dense or a sum of those) with matvec, toDense and, where cheap, solve — never the dense matrix
   * unless asked for; h.kind tells the kind before any call.
   */
  compile(opts?: { readonly structured?: false }): CompiledFunction;
  compile(opts: { readonly structured: true }): StructuredCompiledFunction;
  compile(opts: CompileOptions = {}): CompiledFunction | StructuredCompiledFunction {
    if (opts.structured) {
      const r = this.result;
      const s = compileStructured(r, varsOf([r]));
      return Object.assign((values: Values) => s(toTensors(values)), { kind: s.kind });
    }
    return compileResults([this.result], (ts) => ts[0]!, (o?: Out) => [outBuffer(o)]);
  }
}

export interface CompileOptions {
  /** Keep the Hessian's delta structure (see StructuredHessian); default false: the dense result. */
  readonly structured?: boolean;
}

/** A compiled structured Hessian: values → the structured result; kind is known before any call. */
export type StructuredCompiledFunction = ((values: Values) => StructuredHessian) & { readonly kind: StructuredKind };

function varsOf(results: readonly Result[]): VarNode[] {
  const vars = [...results[0]!.analysis.lowered.vars.values()];
  for (const r of results.slice(1)) for (const v of r.analysis.lowered.vars.values()) if (!vars.includes(v)) vars.push(v);
  return vars;
}

/** Where a compiled function writes its result: a Float64Array, or a { data } tensor, of the result's size. */
export type Out = Float64Array | { readonly data: Float64Array };

export interface EvalOptions {
  /**
   * Write the result into this buffer (which the returned tensor's data then is) instead of a new
   * one: repeated calls then allocate nothing sizeable. It must not share memory with an input.
   */
  readonly out?: Out;
}

/** A compiled derivative: values by variable name → the result (a new buffer on every call, or opts.out). */
export type CompiledFunction = (values: Values, opts?: EvalOptions) => Tensor;

function outBuffer(o: Out | undefined): Float64Array | undefined {
  if (o === undefined || o instanceof Float64Array) return o;
  if (typeof o === 'object' && o !== null && o.data instanceof Float64Array) return o.data;
  throw inputError('out: expected a Float64Array or { data: Float64Array }');
}

function compileResults<T, O>(results: readonly Result[], shape: (ts: Tensor[]) => T, outs: (o?: O) => (Float64Array | undefined)[]): (values: Values, opts?: { readonly out?: O }) => T {
  const r0 = results[0]!;
  const vars = varsOf(results);
  // (All results come from one expression: its matrices have the same names in each.)
  const compileRoots = (roots: Node[]): Evaluator =>
    compileNodes({ roots, vars, sizeRoots: results.flatMap(sizeRootsOf), sizeNames: sizeNamesOf(r0), matrixName: matrixNamesOf(r0) });
  const run = compileRoots(results.map((r) => r.evalNode));
  // Compiled on first use: where a third derivative of det meets a singular matrix (adj3, n⁶).
  let singular: Evaluator | undefined;
  return (values, opts) => {
    const vals = toTensors(values);
    const out = opts?.out === undefined ? undefined : outs(opts.out);
    const first = (): Tensor[] => run(vals, out);
    const second = (): Tensor[] => (singular ??= compileRoots(singularRoots(results)))(vals, out);
    return shape(withSingularFallback(results, first, second, (ts) => ts));
  };
}

/** compile(H) is H.compile(); compile(H, { structured: true }) is H.compile({ structured: true }). */
export function compile(d: Derivative, opts?: { readonly structured?: false }): CompiledFunction;
export function compile(d: Derivative, opts: { readonly structured: true }): StructuredCompiledFunction;
export function compile(d: Derivative, opts: CompileOptions = {}): CompiledFunction | StructuredCompiledFunction {
  return opts.structured ? d.compile({ structured: true }) : d.compile();
}

export interface DerivativeOptions extends Options {
  /** 0 = the expression itself; default 1. */
  readonly order?: number;
  /** 'vec': the derivative of vec(f) by vec(X), column-major (Magnus–Neudecker); default 'default'. */
  readonly layout?: Layout;
}

/** The order-k derivative of expr with respect to wrt (layout: shape(expr) ++ shape(wrt) per order). */
export function derivative(expr: string, wrt: string, opts: DerivativeOptions = {}): Derivative {
  return new Derivative(derive(expr, wrt, { order: opts.order ?? 1, ...(opts.let ? { let: opts.let } : {}), ...(opts.layout ? { layout: opts.layout } : {}) }));
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

/** A derivative product: hvp, jvp or vjp, with the name of its direction variable. */
export class DirectionalDerivative extends Derivative {
  /** The variable that holds the direction (v for hvp/jvp) or cotangent (u for vjp). */
  readonly direction: string;
  constructor(r: DirectionalResult) {
    super(r);
    this.direction = r.direction;
  }
}

export interface DirectionalOptions extends Options {
  /** Name of the direction variable (default v for vectors, V for matrices, d for scalars; u for vjp). */
  readonly direction?: string;
}

function directionalOpts(opts: DirectionalOptions): { let?: Declarations; direction?: string } {
  return { ...(opts.let ? { let: opts.let } : {}), ...(opts.direction ? { direction: opts.direction } : {}) };
}

/**
 * The Hessian-vector product of a scalar expression as a closed form in a new variable v (for
 * x'*A*x: (A + A')*v). The Hessian is never formed, neither symbolically nor when evaluated.
 */
export function hvp(expr: string, wrt: string, opts: DirectionalOptions = {}): DirectionalDerivative {
  return new DirectionalDerivative(deriveDirectional(expr, wrt, 'hvp', directionalOpts(opts)));
}

/** The Jacobian-vector product J·v (v has the shape of wrt), as a closed form. */
export function jvp(expr: string, wrt: string, opts: DirectionalOptions = {}): DirectionalDerivative {
  return new DirectionalDerivative(deriveDirectional(expr, wrt, 'jvp', directionalOpts(opts)));
}

/** The vector-Jacobian product uᵀ·J (u has the shape of the expression), as a closed form. */
export function vjp(expr: string, wrt: string, opts: DirectionalOptions = {}): DirectionalDerivative {
  return new DirectionalDerivative(deriveDirectional(expr, wrt, 'vjp', directionalOpts(opts)));
}

export interface ValueGradHessian {
  readonly value: Tensor;
  readonly gradient: Tensor;
  readonly hessian: Tensor;
}

/**
 * Value, gradient and Hessian of a scalar expression in one compiled function that computes every
 * common sub-expression once. The three symbolic results are attached as .value, .gradient, .hessian.
 */
/** Caller buffers for valueGradHessian's results (any of them). */
export interface ValueGradHessianOut {
  readonly value?: Out;
  readonly gradient?: Out;
  readonly hessian?: Out;
}

export function valueGradHessian(
  expr: string,
  wrt: string,
  opts: Options = {},
): ((values: Values, opts?: { readonly out?: ValueGradHessianOut }) => ValueGradHessian) & { value: Derivative; gradient: Derivative; hessian: Derivative } {
  const value = requireRank(derivative(expr, wrt, { ...opts, order: 0 }), 'valueGradHessian', 0, 'a scalar expression');
  const g = derivative(expr, wrt, { ...opts, order: 1 });
  const h = derivative(expr, wrt, { ...opts, order: 2 });
  const run = compileResults(
    [value.result, g.result, h.result],
    (ts) => ({ value: ts[0]!, gradient: ts[1]!, hessian: ts[2]! }),
    (o?: ValueGradHessianOut) => [outBuffer(o?.value), outBuffer(o?.gradient), outBuffer(o?.hessian)],
  );
  return Object.assign(run, { value, gradient: g, hessian: h });
}

/** The Jacobian of a vector expression: J[i][j] = ∂f_i/∂x_j. */
export function jacobian(expr: string, wrt: string, opts: Options = {}): Derivative {
  return requireRank(derivative(expr, wrt, { ...opts, order: 1 }), 'jacobian', 1, 'a vector expression');
}
