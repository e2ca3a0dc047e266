/**
 * `npm run bench`: every benchmark in one process, one after the other (or those named:
 * `tsx bench/run.ts gemm.ts`). Each prints a table and writes JSON under bench/results/. Ratios
 * against peers are measured in the same run.
 *
 * Each benchmark runs in a child node with --experimental-wasm-relaxed-simd where this Node needs
 * it for relaxed SIMD (Node 20; NODE_OPTIONS refuses that flag), so the FMA kernel is measured,
 * and with glibc's malloc asking for transparent huge pages (bench/pages.ts), as NumPy does for its
 * arrays by itself.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { relaxedSimdValidates } from '../src/compile/kernels/wasm/flags.js';
import { asksHugePages, withHugePages } from './pages.js';

const BENCHES = ['derive.ts', 'gemm.ts', 'hessian.ts'];
const chosen = process.argv.slice(2);
const flags = relaxedSimdValidates() ? [] : ['--experimental-wasm-relaxed-simd'];
const env = withHugePages(process.env);
console.log(`node children: ${[...flags, asksHugePages(env) ? `GLIBC_TUNABLES=${env.GLIBC_TUNABLES}` : '4 KB pages'].join(' ')}`);

let failed = false;
for (const b of chosen.length > 0 ? chosen : BENCHES) {
  console.log(`\n=== bench/${b} ===`);
  const p = spawnSync(process.execPath, [...flags, '--import', 'tsx', fileURLToPath(new URL(`./${b}`, import.meta.url))], { stdio: 'inherit', env });
  if (p.status !== 0) failed = true;
}
process.exitCode = failed ? 1 : 0;
