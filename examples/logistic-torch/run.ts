/**
 * Runs newton.py with the loss exported by ricci to PyTorch: writes the module
 * (`ricci code LOSS --wrt w --order 2 --lang torch`) to a temporary directory and runs newton.py
 * with $RICCI_PYTHON if it is set, else the first of python3, /usr/bin/python3 that imports torch.
 * Without one it prints "skipped: no torch" and exits 0. Arguments go to newton.py:
 *
 *   npx tsx examples/logistic-torch/run.ts -- --samples 20000 --features 100 --shards 8
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateCode } from '../../src/index.js';

/** The data term of the loss; the regulariser is added once, after the shards are summed. */
export const LOSS = 'sum(softplus(-y.*(X*w)))';

function findTorchPython(): string | undefined {
  const env = process.env['RICCI_PYTHON'];
  return (env ? [env] : ['python3', '/usr/bin/python3']).find((p) => spawnSync(p, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0);
}

function main(args: readonly string[]): number {
  const py = findTorchPython();
  if (!py) {
    console.log('skipped: no torch (install PyTorch, e.g. apt install python3-torch, or set RICCI_PYTHON)');
    return 0;
  }
  const dir = mkdtempSync(join(tmpdir(), 'ricci-logistic-torch-'));
  try {
    const module = join(dir, 'logistic_loss.py');
    writeFileSync(module, generateCode(LOSS, 'w', { order: 2, lang: 'torch' }));
    const newton = fileURLToPath(new URL('./newton.py', import.meta.url));
    const r = spawnSync(py, [newton, '--module', module, ...args], { stdio: 'inherit' });
    return r.status ?? 1;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

process.exitCode = main(process.argv.slice(2).filter((a) => a !== '--'));
