/**
 * `npm run bench`: every benchmark in one process, one after the other. Each prints a table and
 * writes JSON under bench/results/. Ratios against peers are measured in the same run.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const BENCHES = ['derive.ts', 'gemm.ts', 'hessian.ts'];

let failed = false;
for (const b of BENCHES) {
  console.log(`\n=== bench/${b} ===`);
  const p = spawnSync(process.execPath, ['--import', 'tsx', fileURLToPath(new URL(`./${b}`, import.meta.url))], { stdio: 'inherit' });
  if (p.status !== 0) failed = true;
}
process.exitCode = failed ? 1 : 0;
