/**
 * The examples in examples/: each converges to the known answer within the iteration count it
 * states (at moderate sizes here), prints its progress, and runs as a script with exit code 0.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';
import { logisticRegression } from '../examples/logistic-regression.js';
import { mds, distances } from '../examples/mds.js';
import { ridge } from '../examples/ridge.js';
import { matrixFactorization } from '../examples/matrix-factorization.js';
import { gaussianMle } from '../examples/gaussian-mle.js';
import { norm } from '../examples/util.js';

function collect(): { log: (s: string) => void; lines: string[] } {
  const lines: string[] = [];
  return { log: (s) => lines.push(s), lines };
}

describe('examples', () => {
  test('logistic regression: Newton reaches ‖∇f‖ < 1e-8 in far fewer iterations than gradient descent', () => {
    for (const seed of [1, 2]) {
      const { log, lines } = collect();
      const r = logisticRegression({ samples: 80, features: 5, seed, log });
      expect(r.newton.converged).toBe(true);
      expect(r.newton.gradNorm).toBeLessThan(1e-8);
      expect(r.newton.iterations).toBeLessThanOrEqual(25);
      expect(r.gradientDescent.converged).toBe(true);
      expect(r.gradientDescent.iterations).toBeGreaterThan(50 * r.newton.iterations);
      // Both find the same minimiser.
      expect(norm(r.newton.w.map((v, i) => v - r.gradientDescent.w[i]!))).toBeLessThan(1e-6);
      expect(lines.filter((l) => l.startsWith('newton ')).length).toBe(r.newton.iterations + 1);
    }
  });

  test('multidimensional scaling: recovered distances match the given ones (up to rotation, reflection, translation)', () => {
    for (const seed of [1, 2, 3]) {
      const { log, lines } = collect();
      const r = mds({ points: 8, seed, log });
      expect(r.converged).toBe(true);
      expect(r.iterations).toBeLessThanOrEqual(60 * r.starts);
      const got = distances(r.W, 8);
      const want = distances(r.truth, 8);
      for (let i = 0; i < 64; i++) expect(Math.abs(got[i]! - want[i]!)).toBeLessThan(1e-6);
      // The coordinates themselves differ from the truth (the answer is unique only up to a rigid motion).
      expect(lines.some((l) => /iteration +\d+ +f = /.test(l))).toBe(true);
    }
  });

  test('ridge: one Newton step solves the normal equations (A\'A + λI)x = A\'y', () => {
    for (const [rows, cols, lambda] of [
      [20, 4, 0.1],
      [12, 12, 2],
      [5, 8, 0.5], // more unknowns than equations: λ makes it well posed
    ] as const) {
      const r = ridge({ rows, cols, lambda, seed: rows, log: () => {} });
      expect(r.relativeError).toBeLessThan(1e-8);
      expect(r.gradNormAfter).toBeLessThan(1e-8 * r.gradNormBefore);
    }
  });

  test('matrix factorization: alternating Newton steps decrease f monotonically to an exact factorization', () => {
    const monotone = (f: readonly number[]): boolean => f.every((v, i) => i === 0 || v <= f[i - 1]! * (1 + 1e-12) + 1e-24);
    const full = matrixFactorization({ rows: 8, cols: 6, rank: 2, seed: 3, log: () => {} });
    expect(full.converged).toBe(true);
    expect(full.residual).toBeLessThan(1e-8);
    expect(full.iterations).toBeLessThanOrEqual(2);
    expect(monotone(full.objective)).toBe(true);

    const { log, lines } = collect();
    const completion = matrixFactorization({ observed: 0.7, seed: 2, log });
    expect(completion.converged).toBe(true);
    expect(completion.iterations).toBeLessThanOrEqual(200);
    expect(completion.iterations).toBeGreaterThan(5);
    expect(completion.residual).toBeLessThan(1e-8);
    expect(completion.fullResidual).toBeLessThan(1e-6); // the unknown entries are recovered too
    expect(monotone(completion.objective)).toBe(true);
    expect(lines.filter((l) => l.startsWith('iteration')).length).toBe(completion.iterations + 1);
  });

  test('Gaussian maximum likelihood: the sample mean and the biased sample covariance', () => {
    for (const [samples, dim, seed] of [
      [100, 2, 1],
      [120, 3, 4],
    ] as const) {
      const r = gaussianMle({ samples, dim, seed, log: () => {} });
      expect(r.converged).toBe(true);
      expect(r.iterations).toBeLessThanOrEqual(30);
      expect(r.meanError).toBeLessThan(1e-6);
      expect(r.covError).toBeLessThan(1e-6);
    }
  });

  test.each(['logistic-regression', 'mds', 'ridge', 'matrix-factorization', 'gaussian-mle'])('npx tsx examples/%s.ts exits 0', (name) => {
    const file = fileURLToPath(new URL(`../examples/${name}.ts`, import.meta.url));
    const r = spawnSync(process.execPath, ['--import', 'tsx', file], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout.split('\n').length).toBeGreaterThan(5);
  });
});
