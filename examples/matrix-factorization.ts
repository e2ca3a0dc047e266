/**
 * Matrix factorization T ≈ U*V' by alternating Newton steps on
 *
 *   f(U, V) = ‖T - U*V'‖²
 *
 * f is quadratic in U for a fixed V (and in V for a fixed U), so each Newton step, with the
 * gradient -2(T - UV')V and the Hessian 2 δ^i_k (V'V)_jl (an m×k×m×k tensor, used as an
 * mk×mk matrix) that ricci derives, is the exact minimiser over that block: the objective never
 * increases. T is built with a known rank k, so the factorization is exact: the residual
 * ‖T - UV'‖ falls below 1e-8. With every entry known this takes one round (the U step puts U in
 * the column space of T). With only some entries known (--observed 0.7: matrix completion,
 * f = ‖M.*(T - U*V')‖² for a 0/1 mask M) it takes many rounds, and the missing entries of T are
 * recovered too.
 *
 *   npx tsx examples/matrix-factorization.ts [--observed FRACTION]
 */
import { valueGradHessian } from '../src/index.js';
import { type Log, axpy, gaussian, matmul, randomArray, rng, runIfMain, sci, seconds, solveSpd, transpose } from './util.js';

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

  const byU = valueGradHessian(expr, 'U');
  const byV = valueGradHessian(expr, 'V');
  log(`f(U, V) = ${expr}`);
  log(`∇_U f   = ${byU.gradient.matrix}       ∇²_U f = ${byU.hessian.index}`);
  log(`∇_V f   = ${byV.gradient.matrix}      ∇²_V f = ${byV.hessian.index}`);
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
  /** One Newton step on a block of `size` entries; returns the new block. */
  const newton = (r: { gradient: { data: Float64Array }; hessian: { data: Float64Array } }, x: Float64Array, size: number): Float64Array => {
    const step = solveSpd(r.hessian.data, r.gradient.data.map((v) => -v), size);
    if (!step) throw new Error('the Hessian is singular: a factor lost rank');
    return axpy(x, 1, step);
  };

  const start = performance.now();
  const objective: number[] = [];
  let iterations = 0;
  let residual = Infinity;
  for (;;) {
    const rU = byU(point());
    const f = rU.value.data[0]!;
    if (objective.length === 0) objective.push(f);
    residual = Math.sqrt(Math.max(f, 0));
    log(`iteration ${String(iterations).padStart(3)}  f = ${sci(f)}  ‖T - UV'‖ = ${sci(residual)}`);
    if (residual < tol || iterations === maxIterations) break;
    iterations++;
    U = newton(rU, U, m * k);
    const rV = byV(point());
    objective.push(rV.value.data[0]!);
    V = newton(rV, V, n * k);
    objective.push(byU(point()).value.data[0]!);
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
