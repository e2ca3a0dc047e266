/**
 * A reader that closes the pipe early (ricci … | head -c 100) ends ricci quietly: the command's
 * own exit code, nothing on stderr, no stack trace. Both when the reader is gone before ricci
 * writes anything and when it closes in the middle of a large output.
 */
import { describe, expect, test } from 'vitest';
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const BIN = fileURLToPath(new URL('../../bin/ricci.js', import.meta.url));

interface Ended {
  readonly code: number | null;
  readonly stderr: string;
  readonly read: number;
}

/** Runs ricci with a reader that takes `keep` bytes of stdout (0: none) and then closes its end. */
function runClosingEarly(args: readonly string[], keep: number): Promise<Ended> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    let read = 0;
    p.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    if (keep === 0) p.stdout.destroy();
    else
      p.stdout.on('data', (b: Buffer) => {
        read += b.length;
        if (read >= keep) p.stdout.destroy();
      });
    p.on('error', reject);
    p.on('close', (code) => resolve({ code, stderr, read }));
  });
}

describe('a closed pipe', () => {
  test.each([
    ['derive', ['derive', "x'*A*x", '--wrt', 'x']],
    ['derive --format json', ['derive', "x'*A*x", '--wrt', 'x', '--order', '2', '--format', 'json']],
    ['code', ['code', "x'*A*x", '--wrt', 'x', '--order', '2', '--lang', 'python']],
    ['help', ['--help']],
  ])('%s: reader gone before the first write', async (_name, args) => {
    const r = await runClosingEarly(args, 0);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
  });

  test('eval with a large output (a 300×300 Hessian) closed after its first bytes', async () => {
    const n = 300;
    const dir = mkdtempSync(join(tmpdir(), 'ricci-pipe-'));
    const point = join(dir, 'p.json');
    const A = Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => Math.sin(i + 2 * j) / 3));
    writeFileSync(point, JSON.stringify({ A, x: Array.from({ length: n }, (_, i) => i / n - 0.5) }));
    const r = await runClosingEarly(['eval', "x'*A*x", '--wrt', 'x', '--order', '2', '--at', point], 100);
    expect(r.read).toBeGreaterThanOrEqual(100);
    expect(r.read).toBeLessThan(n * n * 5); // it stopped long before the whole Hessian
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
  });

  test('an error message to a closed stderr keeps the exit code of the error', async () => {
    const p = spawn(process.execPath, [BIN, 'derive', 'x*A', '--wrt', 'x'], { stdio: ['ignore', 'ignore', 'pipe'] });
    p.stderr.destroy();
    const code = await new Promise<number | null>((resolve) => p.on('close', resolve));
    expect(code).toBe(2);
  });
});
