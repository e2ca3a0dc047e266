/**
 * Matrix-function kernels benchmark (not a unit test):
 *
 *   npx tsx bench/lu.ts
 *
 * Time per call (best of several timed rounds after warm-up, rounds interleaved across cases) of
 * inverse, det, logAbsDet and adjugate at n = 4, 16, 64, 256, on a random matrix plus n·I. The
 * in-run references: gemm at the same n (2n³ flops), since an inverse costs about as much as one
 * product of that size, and det·inverse, which adjugate computes without dividing by det.
 * Writes bench/results/lu.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { adjugate, det, gemm, inverse, logAbsDet } from '../src/compile/kernels/index.js';

function wellConditioned(n: number, seed: number): Float64Array {
  const a = new Float64Array(n * n);
  let s = seed >>> 0;
  for (let i = 0; i < a.length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    a[i] = s / 4294967296 - 0.5;
  }
  for (let i = 0; i < n; i++) a[i * n + i] += n;
  return a;
}

interface Case {
  readonly kernel: string;
  readonly n: number;
  readonly reps: number;
  readonly run: () => void;
  best: number;
}

const cases: Case[] = [];
for (const n of [4, 16, 64, 256]) {
  const a = wellConditioned(n, n);
  const out = new Float64Array(n * n);
  const reps = Math.max(1, Math.round(2e6 / (n * n * n)));
  let sink = 0;
  const add = (kernel: string, run: () => void): void => {
    cases.push({ kernel, n, reps, run, best: Infinity });
  };
  add('inverse', () => inverse(n, a, 0, n, out, 0, n));
  add('det', () => {
    sink += det(n, a, 0, n);
  });
  add('logAbsDet', () => {
    sink += logAbsDet(n, a, 0, n).logAbs;
  });
  add('adjugate', () => adjugate(n, a, 0, n, out, 0, n));
  add('det·inverse', () => {
    inverse(n, a, 0, n, out, 0, n);
    sink += det(n, a, 0, n);
  });
  add('gemm', () => gemm(false, false, n, n, n, 1, a, 0, n, a, 0, n, 0, out, 0, n));
  if (sink === 42) console.log('');
}

for (const c of cases) for (let r = 0; r < c.reps; r++) c.run(); // warm-up
for (let round = 0; round < 7; round++)
  for (const c of cases) {
    const t = performance.now();
    for (let r = 0; r < c.reps; r++) c.run();
    c.best = Math.min(c.best, (performance.now() - t) / c.reps);
  }

console.log('kernel        n      µs per call');
for (const c of cases) console.log(`${c.kernel.padEnd(12)} ${String(c.n).padStart(4)}  ${(c.best * 1000).toFixed(2).padStart(12)}`);
const out = join(dirname(fileURLToPath(import.meta.url)), 'results', 'lu.json');
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, JSON.stringify(cases.map(({ kernel, n, best }) => ({ kernel, n, microseconds: best * 1000 })), null, 2) + '\n');
