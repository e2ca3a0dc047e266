/**
 * Relaxed SIMD on Node 20 (where V8 keeps it behind --experimental-wasm-relaxed-simd, a flag
 * NODE_OPTIONS refuses): the CLI turns it on for itself, a node started with the flag works the
 * same, and a library user gets it from enableRelaxedSimd(). Large products start workers that
 * never keep the process alive. Runs the built bin and dist/ (npm test builds first).
 */
import { describe, expect, test } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));
const bin = join(root, 'bin/ricci.js');
const dir = mkdtempSync(join(tmpdir(), 'ricci-flags-'));
const small = join(dir, 'small.json');
writeFileSync(small, JSON.stringify({ A: [[2, 1], [0, 3]], x: [1, 2] }));

/** Runs node with the given arguments; the kernel diagnostic is on stderr's last line. */
function node(args: string[], env: Record<string, string> = {}) {
  const t0 = Date.now();
  const r = spawnSync(process.execPath, args, { encoding: 'utf8', cwd: root, maxBuffer: 64 << 20, env: { ...process.env, RICCI_KERNEL_INFO: '1', ...env } });
  const lines = r.stderr.trim().split('\n');
  if (r.status !== 0) throw new Error(`node ${args.join(' ')} failed (${r.status}): ${r.stderr}`);
  return { code: r.status, out: r.stdout, info: JSON.parse(lines[lines.length - 1]!), ms: Date.now() - t0 };
}

/** Whether this Node validates relaxed SIMD without the flag (Node ≥ 22). */
const onByDefault = spawnSync(process.execPath, ['--input-type=module', '-e', `import { kernelInfo } from './dist/index.js'; process.stdout.write(String(kernelInfo().relaxedSimd));`], {
  encoding: 'utf8',
  cwd: root,
}).stdout === 'true';

describe('relaxed SIMD for the CLI and the library', () => {
  test('ricci turns relaxed SIMD on for itself, and works the same when node has the flag already', () => {
    const plain = node([bin, 'eval', "x'*A*x", '--wrt', 'x', '--order', '2', '--at', small]);
    const flagged = node(['--experimental-wasm-relaxed-simd', bin, 'eval', "x'*A*x", '--wrt', 'x', '--order', '2', '--at', small]);
    for (const r of [plain, flagged]) {
      expect(r.code).toBe(0);
      expect(JSON.parse(r.out)).toEqual({ shape: [2, 2], value: [[4, 1], [1, 6]] });
      expect(r.info).toMatchObject({ kernel: 'fma', relaxedSimd: true });
    }
  });

  test('the bin runs by its shebang too', () => {
    const r = spawnSync(bin, ['derive', "x'*A*x", '--wrt', 'x'], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(r.stdout).toBe("(A + A')*x\n");
  });

  test('a library user on Node 20: plain SIMD without the flag, FMA after enableRelaxedSimd()', () => {
    const script = (enable: boolean) =>
      `import { enableRelaxedSimd, kernelInfo, hessian } from './dist/index.js';
       ${enable ? 'if (!enableRelaxedSimd()) process.exit(5);' : ''}
       const n = 40, X = Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => Math.sin(i * n + j)));
       const h = hessian('norm2(X*w - y)^2', 'w').compile()({ X, y: new Array(n).fill(1), w: new Array(n).fill(0) });
       process.stderr.write(JSON.stringify(kernelInfo()) + '\\n');
       process.stdout.write(String(h.data[0]));`;
    const without = node(['--input-type=module', '-e', script(false)]);
    const withIt = node(['--input-type=module', '-e', script(true)]);
    expect(withIt.code).toBe(0);
    expect(withIt.info.kernel).toBe('fma');
    expect(withIt.info.lastProduct).toMatchObject({ kernel: 'syrk', variant: 'fma' });
    expect(without.info.kernel).toBe(onByDefault ? 'fma' : 'simd');
    expect(without.info.lastProduct.variant).toBe(without.info.kernel);
    expect(Math.abs(Number(withIt.out) - Number(without.out))).toBeLessThan(1e-9 * Math.abs(Number(without.out)));
  });

  test('a large product starts a worker that does not keep the process alive', () => {
    const n = 260;
    const rnd = (i: number) => Math.sin(i * 12.9898) * 0.5;
    const X = Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => rnd(i * n + j)));
    const big = join(dir, 'big.json');
    writeFileSync(big, JSON.stringify({ X, y: new Array(n).fill(1), w: new Array(n).fill(0.1) }));
    const r = node([bin, 'eval', 'norm2(X*w - y)^2', '--wrt', 'w', '--order', '2', '--at', big]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out).shape).toEqual([n, n]);
    expect(r.info.workersStarted).toBeGreaterThanOrEqual(1);
    expect(r.info.workerError).toBeNull();
    // The worker was started (and is still starting or idle) when main finished: exit at once.
    expect(r.ms).toBeLessThan(5000);
  });

  test('a process whose worker is ready and idle (blocked on the barrier) exits at once', () => {
    const script = `import { enableRelaxedSimd, kernelInfo, hessian } from './dist/index.js';
      enableRelaxedSimd();
      const n = 200, X = Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => Math.sin(i * n + j)));
      const f = hessian('norm2(X*w - y)^2', 'w').compile();
      const v = { X, y: new Array(n).fill(1), w: new Array(n).fill(0) };
      f(v);
      const until = Date.now() + 10000;
      while (kernelInfo().workersReady < 1 && Date.now() < until) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10);
      f(v);
      process.stderr.write(JSON.stringify(kernelInfo()) + '\\n');
      process.on('exit', () => process.stdout.write(String(Date.now())));`;
    const t0 = Date.now();
    const r = node(['--input-type=module', '-e', script]);
    expect(r.code).toBe(0);
    expect(r.info.workersReady).toBeGreaterThanOrEqual(1);
    expect(r.info.workerError).toBeNull();
    expect(r.info.lastProduct.threads).toBe(2);
    // From the 'exit' event to the parent seeing the child gone.
    expect(Date.now() - Number(r.out)).toBeLessThan(2000);
    expect(Date.now() - t0).toBeLessThan(15000);
  });
});
