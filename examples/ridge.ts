/**
 * Ridge least squares in one Newton step: f(x) = ‖Ax - y‖² + λ‖x‖² is quadratic, so one Newton
 * step from any point lands on the minimiser. ricci derives
 *
 *   ∇f  = 2(A'(Ax - y) + λx)
 *   ∇²f = 2(A'A + λI)
 *
 * and the step x₁ = x₀ - (∇²f)⁻¹∇f(x₀) is checked against the solution of the normal equations
 * (A'A + λI)x = A'y, formed and solved here by hand.
 *
 *   npx tsx examples/ridge.ts
 */
import { gradient, hessian } from '../src/index.js';
import { type Log, axpy, gaussian, matmul, norm, randomArray, rng, runIfMain, sci, solveSpd, transpose } from './util.js';

export const EXPR = "norm2(A*x - y)^2 + lambda*x'*x";

export interface RidgeOptions {
  readonly rows?: number;
  readonly cols?: number;
  readonly lambda?: number;
  readonly seed?: number;
  readonly log?: Log;
}

export interface RidgeResult {
  /** After the single Newton step. */
  readonly x: Float64Array;
  /** The solution of the normal equations. */
  readonly normal: Float64Array;
  /** ‖x - normal‖ / ‖normal‖. */
  readonly relativeError: number;
  readonly gradNormBefore: number;
  readonly gradNormAfter: number;
}

export function ridge(opts: RidgeOptions = {}): RidgeResult {
  const m = opts.rows ?? 40;
  const n = opts.cols ?? 8;
  const lambda = opts.lambda ?? 0.5;
  const log = opts.log ?? console.log;
  const randn = gaussian(rng(opts.seed ?? 1));
  const A = randomArray(randn, m, n);
  const y = randomArray(randn, m);
  const data = { A: { shape: [m, n], data: A }, y, lambda };

  const g = gradient(EXPR, 'x');
  const H = hessian(EXPR, 'x');
  log(`f(x)   = ${EXPR}`);
  log(`∇f(x)  = ${g.matrix}`);
  log(`∇²f(x) = ${H.matrix}`);
  log(`A is ${m}×${n}, λ = ${lambda}; one Newton step from a random x₀`);
  const grad = g.compile();
  const hess = H.compile();

  const x0 = randomArray(randn, n);
  const g0 = grad({ ...data, x: x0 }).data;
  const step = solveSpd(hess({ ...data, x: x0 }).data, g0.map((v) => -v), n);
  if (!step) throw new Error('the Hessian is not positive definite');
  const x = axpy(x0, 1, step);
  const g1 = grad({ ...data, x }).data;
  log(`step 0  ‖∇f‖ = ${sci(norm(g0))}`);
  log(`step 1  ‖∇f‖ = ${sci(norm(g1))}`);

  // The normal equations (A'A + λI)x = A'y, by hand.
  const At = transpose(A, m, n);
  const M = matmul(At, A, n, m, n);
  for (let i = 0; i < n; i++) M[i * n + i] += lambda;
  const normal = solveSpd(M, matmul(At, y, n, m, 1), n)!;
  const relativeError = norm(axpy(x, -1, normal)) / norm(normal);
  log(`‖x₁ - x_normal‖ / ‖x_normal‖ = ${sci(relativeError)}`);
  return { x, normal, relativeError, gradNormBefore: norm(g0), gradNormAfter: norm(g1) };
}

runIfMain(import.meta.url, () => ridge().relativeError < 1e-8);
