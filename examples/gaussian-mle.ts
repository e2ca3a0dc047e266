/**
 * Maximum-likelihood fit of a Gaussian's mean m and covariance S to samples (the rows of X):
 * minimise twice the negative log-likelihood (up to a constant)
 *
 *   f(m, S) = N logdet(S) + tr((X - 1m') inv(S) (X - 1m')')
 *
 * by Newton steps on m (f is quadratic in m: one step lands on the sample mean) and damped Newton
 * steps on S with the gradient N S⁻ᵀ - S⁻ᵀ(X - 1m')'(X - 1m')S⁻ᵀ and the Hessian (a d×d×d×d
 * tensor) that ricci derives through logdet and inv. The steps on S are restricted to symmetric
 * directions (Δ = Pδ over the d(d+1)/2 free entries: gradient P'∇f, Hessian P'∇²f P; along
 * antisymmetric directions f curves downwards) and damped (Levenberg-Marquardt: μ adapted so that
 * S stays positive definite and f decreases; μ → 0 near the solution, where the steps are
 * Newton's). The answer is known in closed form: the sample mean and the biased sample
 * covariance (1/N)Σ(xᵢ - m)(xᵢ - m)'.
 *
 *   npx tsx examples/gaussian-mle.ts
 */
import { valueGradHessian } from '../src/index.js';
import { type Log, axpy, cholesky, dot, gaussian, matmul, norm, randomArray, rng, runIfMain, sci, seconds, solve, solveSpd, transpose } from './util.js';

export const EXPR = "N*logdet(S) + tr((X - vector(1)*m')*inv(S)*(X - vector(1)*m')')";
const DECLS = { N: 'scalar' };

export interface GaussianOptions {
  readonly samples?: number;
  readonly dim?: number;
  readonly seed?: number;
  /** Stop when ‖∇f‖ (for m and S together) falls below tol·N. */
  readonly tol?: number;
  readonly maxIterations?: number;
  readonly log?: Log;
}

export interface GaussianResult {
  readonly converged: boolean;
  readonly iterations: number;
  readonly seconds: number;
  readonly mean: Float64Array;
  readonly cov: Float64Array;
  readonly sampleMean: Float64Array;
  readonly sampleCov: Float64Array;
  /** Largest entry-wise differences from the closed forms. */
  readonly meanError: number;
  readonly covError: number;
}

export function gaussianMle(opts: GaussianOptions = {}): GaussianResult {
  const N = opts.samples ?? 200;
  const d = opts.dim ?? 3;
  const tol = opts.tol ?? 1e-10;
  const maxIterations = opts.maxIterations ?? 30;
  const log = opts.log ?? console.log;
  const randn = gaussian(rng(opts.seed ?? 1));

  // Samples x = μ + Lz with a random lower-triangular L (diagonal away from 0).
  const mu = randomArray(randn, d);
  const L = randomArray(randn, d, d).map((v, i) => (i % d > Math.floor(i / d) ? 0 : i % d === Math.floor(i / d) ? 1 + Math.abs(v) : 0.5 * v));
  const X = new Float64Array(N * d);
  for (let s = 0; s < N; s++) {
    const z = randomArray(randn, d);
    for (let i = 0; i < d; i++) X[s * d + i] = mu[i]! + dot(L.subarray(i * d, i * d + d), z);
  }

  // The closed forms.
  const sampleMean = new Float64Array(d);
  for (let s = 0; s < N; s++) for (let i = 0; i < d; i++) sampleMean[i] += X[s * d + i]! / N;
  const sampleCov = new Float64Array(d * d);
  for (let s = 0; s < N; s++)
    for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) sampleCov[i * d + j] += ((X[s * d + i]! - sampleMean[i]!) * (X[s * d + j]! - sampleMean[j]!)) / N;

  const byM = valueGradHessian(EXPR, 'm', { let: DECLS });
  const byS = valueGradHessian(EXPR, 'S', { let: DECLS });
  log(`f(m, S) = ${EXPR}`);
  log(`∇_m f   = ${byM.gradient.matrix}`);
  log(`∇²_m f  = ${byM.hessian.matrix}`);
  log(`∇_S f   = ${byS.gradient.matrix}`);
  log(`∇²_S f: a tensor of shape ${byS.hessian.shape.join("×")} (no matrix form), used as a ${d * d}×${d * d} matrix`);
  log(`${N} samples in ${d} dimensions; start from m = 0, S = I`);

  let m: Float64Array = new Float64Array(d);
  let S: Float64Array = new Float64Array(d * d);
  for (let i = 0; i < d; i++) S[i * d + i] = 1;
  const point = () => ({ N, X: { shape: [N, d], data: X }, m, S: { shape: [d, d], data: S } });
  const f = (Sx: Float64Array): number => byS({ ...point(), S: { shape: [d, d], data: Sx } }).value.data[0]!;

  // P: symmetric directions. Column c of P (d²×p) is the symmetric matrix with ones at (i,j) and (j,i).
  const p = (d * (d + 1)) / 2;
  const P = new Float64Array(d * d * p);
  for (let i = 0, c = 0; i < d; i++)
    for (let j = i; j < d; j++, c++) {
      P[(i * d + j) * p + c] = 1;
      P[(j * d + i) * p + c] = 1;
    }
  const Pt = transpose(P, d * d, p);

  const start = performance.now();
  let damping = 0;
  let iterations = 0;
  let converged = false;
  let stalled = false;
  while (!stalled) {
    // m: one Newton step on the quadratic in m.
    const rm = byM(point());
    const step = solve(rm.hessian.data, rm.gradient.data.map((v) => -v), d);
    m = axpy(m, 1, step);
    // S: a Newton step, damped so that S stays positive definite and f decreases.
    const rs = byS(point());
    const fs = rs.value.data[0]!;
    const g = rs.gradient.data;
    const gm = byM(point()).gradient.data;
    const gn = Math.hypot(norm(gm), norm(g));
    log(`iteration ${String(iterations).padStart(3)}  f = ${fs.toFixed(10)}  ‖∇f‖ = ${sci(gn)}  μ = ${sci(damping, 1)}`);
    if (gn < tol * N) {
      converged = true;
      break;
    }
    if (iterations === maxIterations) break;
    iterations++;
    const gr = matmul(Pt, g, p, d * d, 1);
    const Hr = matmul(Pt, matmul(rs.hessian.data, P, d * d, d * d, p), p, d * d, p);
    for (;;) {
      const damped = Float64Array.from(Hr);
      for (let i = 0; i < p; i++) damped[i * p + i] += damping;
      const dir = solveSpd(damped, gr.map((v) => -v), p);
      const next = dir && axpy(S, 1, matmul(P, dir, d * d, p, 1));
      // Accept a step that lowers f, or keeps it within rounding (near the solution).
      if (next && cholesky(next, d) && f(next) <= fs + 1e-14 * Math.abs(fs)) {
        S = next;
        damping /= 4;
        break;
      }
      damping = Math.max(4 * damping, 1e-12 * N);
      if (damping > 1e20 * N) {
        log('no step lowers f: stalled');
        stalled = true;
        break;
      }
    }
  }

  const maxDiff = (a: Float64Array, b: Float64Array): number => a.reduce((acc, v, i) => Math.max(acc, Math.abs(v - b[i]!)), 0);
  const result = {
    converged,
    iterations,
    seconds: seconds(start),
    mean: m,
    cov: S,
    sampleMean,
    sampleCov,
    meanError: maxDiff(m, sampleMean),
    covError: maxDiff(S, sampleCov),
  };
  log(`${converged ? 'converged' : 'did not converge'} in ${iterations} iterations (${(result.seconds * 1000).toFixed(0)} ms)`);
  log(`largest difference from the sample mean: ${sci(result.meanError)}, from the sample covariance: ${sci(result.covError)}`);
  return result;
}

runIfMain(import.meta.url, () => {
  const r = gaussianMle();
  return r.converged && r.meanError < 1e-6 && r.covError < 1e-6;
});
