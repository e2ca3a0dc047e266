/**
 * examples/logistic-torch: Newton on shards with the Hessian exported to PyTorch converges, the
 * summed shards equal one call, and the closed forms equal torch.autograd — where torch is
 * importable; without it the example says "skipped: no torch" and exits 0.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect, test } from 'vitest';

const RUN = fileURLToPath(new URL('../examples/logistic-torch/run.ts', import.meta.url));
const hasTorch = ['python3', '/usr/bin/python3'].some((p) => spawnSync(p, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0);

function run(args: string[], env: Record<string, string> = {}): { code: number | null; out: string; err: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', RUN, ...args], { encoding: 'utf8', env: { ...process.env, ...env } });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

test(`logistic-torch: ${hasTorch ? 'converges on 3 shards in float64 and float32' : 'skipped: no torch'}`, () => {
  if (!hasTorch) {
    expect(run([])).toEqual({ code: 0, out: expect.stringMatching(/^skipped: no torch/), err: '' });
    return;
  }
  for (const dtype of ['float64', 'float32']) {
    const r = run(['--samples', '600', '--features', '8', '--shards', '3', '--dtype', dtype]);
    expect(r.err).toBe('');
    expect(r.code, r.out).toBe(0);
    expect(r.out).toMatch(/^logistic regression: 600 samples, 8 features, 3 shards of up to 200 rows/);
    const steps = Number(/converged in (\d+) Newton steps/.exec(r.out)?.[1]);
    expect(steps).toBeGreaterThan(2);
    expect(steps).toBeLessThanOrEqual(25);
    const [shards, autograd] = /shards vs one call: (\S+) +closed form vs autograd: (\S+)/.exec(r.out)!.slice(1).map(Number);
    expect(shards).toBeLessThan(dtype === 'float64' ? 1e-10 : 1e-3);
    expect(autograd).toBeLessThan(dtype === 'float64' ? 1e-10 : 1e-3);
  }
});

test('logistic-torch: an interpreter without torch gives "skipped: no torch" and exit code 0', () => {
  expect(run([], { RICCI_PYTHON: '/nonexistent/python3' })).toEqual({ code: 0, out: expect.stringMatching(/^skipped: no torch/), err: '' });
});

test('logistic-torch: a budget too small to converge is exit code 1', () => {
  if (!hasTorch) return void expect(hasTorch).toBe(false);
  const r = run(['--samples', '600', '--features', '8', '--budget', '1']);
  expect(r.code).toBe(1);
  expect(r.out).toMatch(/not converged: \|grad f\| = \S+ after 1 Newton steps/);
});
