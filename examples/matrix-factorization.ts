/**
 * Matrix factorization T ≈ U*V' by alternating Newton steps on
 *
 *   f(U, V) = ‖T - U*V'‖²
 *
 * f is quadratic in U for a fixed V (and in V for a fixed U), so each Newton step, with the
 * gradient -2(T - UV')V and the Hessian 2 δ^i_k (V'V)_jl that ricci derives, is the exact
 * minimiser over that block: the objective never increases. The Hessian is never formed: as a
 * structured result (compile({ structured: true })) it is I ⊗ 2V'V, and a Newton step solves with
 * the k×k factor; with a mask it is block diagonal (a k×k block per row of U), solved block by
 * block. An m×k×m×k dense Hessian would have (mk)² entries. T is built with a known rank k, so the factorization is exact: the residual
 * ‖T - UV'‖ falls below 1e-8. With every entry known this takes one round (the U step puts U in
 * the column space of T). With only some entries known (--observed 0.7: matrix completion,
 * f = ‖M.*(T - U*V')‖² for a 0/1 mask M) it takes many rounds, and the missing entries of T are
 * recovered too.
 *
 *   npx tsx examples/matrix-factorization.ts [--observed FRACTION]
 */
import { derivative, gradient, hessian, SingularMatrixError, type StructuredHessian } from '../src/index.js';
import { type Log, axpy, gaussian, matmul, randomArray, rng, runIfMain, sci, seconds, transpose } from './util.js';

export const EXPR = "norm2(T - U*V')^2";
export const MASKED_EXPR = "norm2(M.*(T - U*V'))^2";

export interface FactorizationOptions {
  readonly rows?: number;
  readonly cols?: number;
  readonly rank?: number;
  /** Fraction of the entries of T that are known (1: all; less: matrix completion). */
  readonly observed?: number;
  readonly seed?: number;
  /** Stop when ‖T - UV'‖ falls below this. */
  readonly tol?: number;
  /** Rounds of one U step and one V step. */
  readonly maxIterations?: number;
  readonly log?: Log;
}

export interface FactorizationResult {
  readonly converged: boolean;
  readonly iterations: number;
  readonly seconds: number;
  /** ‖T - UV'‖ over the known entries (all entries when every one is known). */
  readonly residual: number;
  /** ‖T - UV'‖ over all entries. */
  readonly fullResidual: number;
  /** f after every half step (U, then V), starting with the initial value. */
  readonly objective: readonly number[];
  readonly U: Float64Array;
  readonly V: Float64Array;
}

export function matrixFactorization(opts: FactorizationOptions = {}): FactorizationResult {
  const m = opts.rows ?? 12;
  const n = opts.cols ?? 10;
  const k = opts.rank ?? 2;
  const tol = opts.tol ?? 1e-8;
  const maxIterations = opts.maxIterations ?? 200;
  const log = opts.log ?? console.log;
  const randn = gaussian(rng(opts.seed ?? 1));
  const observed = opts.observed ?? 1;
  const T = matmul(randomArray(randn, m, k), transpose(randomArray(randn, n, k), n, k), m, k, n);
  const rand = rng((opts.seed ?? 1) + 1000);
  const M = Float64Array.from({ length: m * n }, () => (observed >= 1 || rand() < observed ? 1 : 0));
  const expr = observed >= 1 ? EXPR : MASKED_EXPR;

  const value = derivative(expr, 'U', { order: 0 }).compile();
  const block = (wrt: 'U' | 'V') => {
    const g = gradient(expr, wrt);
    const h = hessian(expr, wrt);
    return { g, h, grad: g.compile(), hess: h.compile({ structured: true }) };
  };
  const byU = block('U');
  const byV = block('V');
  log(`f(U, V) = ${expr}`);
  log(`∇_U f   = ${byU.g.matrix}       ∇²_U f = ${byU.h.index}  (${byU.hess.kind})`);
  log(`∇_V f   = ${byV.g.matrix}      ∇²_V f = ${byV.h.index}  (${byV.hess.kind})`);
  const known = M.reduce((a, b) => a + b, 0);
  log(`T is ${m}×${n} of rank ${k}, ${known} of ${m * n} entries known; stop at ‖T - UV'‖ < ${tol} (known entries)`);

  let U: Float64Array = randomArray(randn, m, k);
  let V: Float64Array = randomArray(randn, n, k);
  const point = () => ({
    T: { shape: [m, n], data: T },
    U: { shape: [m, k], data: U },
    V: { shape: [n, k], data: V },
    ...(observed >= 1 ? {} : { M: { shape: [m, n], data: M } }),
  });
  const f = (): number => value(point()).data[0]!;
  /** One Newton step on a block: x - H⁻¹∇f with the structured Hessian's solve (the dense one is never formed). */
  const newton = (b: ReturnType<typeof block>, x: Float64Array): Float64Array => {
    const p = point();
    const H: StructuredHessian = b.hess(p);
    if (!('solve' in H)) throw new Error(`a ${H.kind} Hessian has no solve`);
    try {
      return axpy(x, -1, H.solve(b.grad(p).data));
    } catch (e) {
      if (e instanceof SingularMatrixError) throw new Error('the Hessian is singular: a factor lost rank');
      throw e;
    }
  };

  const start = performance.now();
  const objective: number[] = [];
  let iterations = 0;
  let residual = Infinity;
  for (;;) {
    const fu = f();
    if (objective.length === 0) objective.push(fu);
    residual = Math.sqrt(Math.max(fu, 0));
    log(`iteration ${String(iterations).padStart(3)}  f = ${sci(fu)}  ‖T - UV'‖ = ${sci(residual)}`);
    if (residual < tol || iterations === maxIterations) break;
    iterations++;
    U = newton(byU, U);
    objective.push(f());
    V = newton(byV, V);
    objective.push(f());
  }
  const converged = residual < tol;
  const fullResidual = Math.sqrt(axpy(T, -1, matmul(U, transpose(V, n, k), m, k, n)).reduce((a, b) => a + b * b, 0));
  const result = { converged, iterations, seconds: seconds(start), residual, fullResidual, objective, U, V };
  log(`${converged ? 'converged' : 'did not converge'} in ${iterations} rounds (${(result.seconds * 1000).toFixed(0)} ms)`);
  if (observed < 1) log(`‖T - UV'‖ over all entries, the unknown ones included: ${sci(fullResidual)}`);
  return result;
}

runIfMain(import.meta.url, () => {
  const i = process.argv.indexOf('--observed');
  return matrixFactorization(i > 0 ? { observed: Number(process.argv[i + 1]) } : {}).converged;
});
