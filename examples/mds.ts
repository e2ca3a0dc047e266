/**
 * Multidimensional scaling: recover 2-D coordinates W (one point per row) from the matrix of
 * pairwise distances, by minimising the squared mismatch of squared distances
 *
 *   f(W) = ‖ diag(WW')·1' + 1·diag(WW')' - 2WW' - D ‖²,   D_ij = (distance from i to j)²
 *
 * with damped Newton steps (Levenberg-Marquardt: (H + μI)Δ = -∇f) on the gradient and the
 * Hessian (an n×2×n×2 tensor) that ricci derives and compiles. The answer is unique only up to a
 * rotation, a reflection and a translation, so the check compares distance matrices. A start
 * that ends in a local minimum is followed by a fresh random start.
 *
 *   npx tsx examples/mds.ts
 */
import { derivative, valueGradHessian } from '../src/index.js';
import { type Log, axpy, norm, rng, runIfMain, sci, seconds, solveSpd } from './util.js';

export const EXPR = "norm2(diag(W*W')*vector(1)' + vector(1)*diag(W*W')' - 2*W*W' - D)^2";

export interface MdsOptions {
  readonly points?: number;
  readonly seed?: number;
  /** Newton iterations per start. */
  readonly maxIterations?: number;
  readonly maxStarts?: number;
  readonly log?: Log;
}

export interface MdsResult {
  readonly converged: boolean;
  readonly starts: number;
  readonly iterations: number;
  readonly seconds: number;
  /** The recovered coordinates (n×2, row-major) and the true ones. */
  readonly W: Float64Array;
  readonly truth: Float64Array;
  /** Largest difference between recovered and given distances. */
  readonly maxDistanceError: number;
}

/** The n×n matrix of distances between the rows of an n×2 coordinate matrix. */
export function distances(P: Float64Array, n: number): Float64Array {
  const d = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) d[i * n + j] = Math.hypot(P[2 * i]! - P[2 * j]!, P[2 * i + 1]! - P[2 * j + 1]!);
  return d;
}

export function mds(opts: MdsOptions = {}): MdsResult {
  const n = opts.points ?? 12;
  const maxIterations = opts.maxIterations ?? 60;
  const maxStarts = opts.maxStarts ?? 5;
  const log = opts.log ?? console.log;
  const rand = rng(opts.seed ?? 1);

  // The truth: n points in the unit square. The algorithm only sees their distances.
  const truth = Float64Array.from({ length: 2 * n }, rand);
  const dist = distances(truth, n);
  const D = dist.map((x) => x * x);
  const scale = norm(D);

  const vgh = valueGradHessian(EXPR, 'W', { let: { D: 'symmetric matrix' } });
  const value = derivative(EXPR, 'W', { order: 0, let: { D: 'symmetric matrix' } }).compile();
  log(`f(W)  = ${EXPR}`);
  log(`∇f(W) = ${vgh.gradient.matrix}`);
  log(`∇²f(W): a tensor of shape ${vgh.hessian.shape.join('×')} (here ${n}×2×${n}×2; no matrix form), used as a ${2 * n}×${2 * n} matrix`);
  log(`${n} points; stop when f < 1e-24·‖D‖² (exact distances) or ‖∇f‖ < 1e-12·‖D‖ (a stationary point)`);

  const f = (W: Float64Array): number => value({ W: { shape: [n, 2], data: W }, D: { shape: [n, n], data: D } }).data[0]!;
  const start = performance.now();
  let iterations = 0;
  let W: Float64Array = new Float64Array(2 * n);
  let converged = false;
  let starts = 0;
  while (!converged && starts < maxStarts) {
    starts++;
    W = Float64Array.from({ length: 2 * n }, () => rand() - 0.5);
    let mu = 1e-3 * scale;
    for (let it = 0; it <= maxIterations; it++) {
      const r = vgh({ W: { shape: [n, 2], data: W }, D: { shape: [n, n], data: D } });
      const fw = r.value.data[0]!;
      const g = r.gradient.data;
      log(`start ${starts} iteration ${String(it).padStart(3)}  f = ${sci(fw)}  ‖∇f‖ = ${sci(norm(g))}  μ = ${sci(mu, 1)}`);
      if (fw < 1e-24 * scale * scale) {
        converged = true;
        break;
      }
      if (norm(g) < 1e-12 * scale || it === maxIterations) {
        log(`start ${starts} ended at a stationary point that is not a solution; starting again`);
        break;
      }
      iterations++;
      // Levenberg-Marquardt: the damped Newton step, with μ raised until it lowers f.
      const H = r.hessian.data;
      let stalled = false;
      for (;;) {
        const damped = Float64Array.from(H);
        for (let i = 0; i < 2 * n; i++) damped[i * 2 * n + i] += mu;
        const step = solveSpd(damped, g.map((x) => -x), 2 * n);
        const next = step && axpy(W, 1, step);
        if (next && f(next) < fw) {
          W = next;
          mu = Math.max(mu / 4, 1e-15 * scale);
          break;
        }
        mu *= 4;
        if (mu > 1e20 * scale) {
          stalled = true;
          break;
        }
      }
      if (stalled) {
        log(`start ${starts}: no step lowers f; starting again`);
        break;
      }
    }
  }

  const got = distances(W, n);
  let maxDistanceError = 0;
  for (let i = 0; i < n * n; i++) maxDistanceError = Math.max(maxDistanceError, Math.abs(got[i]! - dist[i]!));
  const result = { converged, starts, iterations, seconds: seconds(start), W, truth, maxDistanceError };
  log(`${converged ? 'converged' : 'did not converge'}: ${starts} start(s), ${iterations} Newton steps, ${(result.seconds * 1000).toFixed(0)} ms`);
  log(`largest difference between recovered and given distances: ${sci(maxDistanceError)}`);
  return result;
}

runIfMain(import.meta.url, () => {
  const r = mds();
  return r.converged && r.maxDistanceError < 1e-6;
});
