/**
 * gemm throughput benchmark (not a unit test).
 *
 *   npx tsx bench/gemm.ts            # or: npm run bench:gemm
 *
 * GFLOP/s = 2mnk / time, best of several timed runs after warm-up, for square
 * n = 256, 512, 1024 (all four transpose flags at 512), the symmetric product
 * xtdx (X'X and X'DX, counted as the 2n³ flops of the equivalent gemm though
 * it does about half of them) and, as the in-run reference, a naive i-k-j
 * triple loop at n = 256. Every gemm / xtdx case runs on both backends
 * (setGemmBackend): 'js', the plain TypeScript blocked kernel (the in-run
 * reference), and 'wasm', the WebAssembly SIMD kernel that 'auto' picks for
 * these sizes. The host is noisy: timed rounds are interleaved across cases,
 * and ratios taken in one run are what to compare.
 * Writes bench/results/gemm.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gemm, xtdx } from '../src/compile/kernels/index.js';
import { setGemmBackend, wasmGemmAvailable, type GemmBackend } from '../src/compile/kernels/gemm.js';

interface Row {
  kernel: string;
  backend: string;
  n: number;
  gflops: number;
  bestMs: number;
  runs: number;
}

function randomMatrix(n: number, seed: number): Float64Array {
  const a = new Float64Array(n * n);
  let s = seed >>> 0;
  for (let i = 0; i < a.length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    a[i] = s / 4294967296 - 0.5;
  }
  return a;
}

function naiveIKJ(n: number, A: Float64Array, B: Float64Array, C: Float64Array): void {
  C.fill(0);
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < n; k++) {
      const a = A[i * n + k];
      const bo = k * n;
      const co = i * n;
      for (let j = 0; j < n; j++) C[co + j] += a * B[bo + j];
    }
  }
}

interface Case {
  kernel: string;
  backend: string;
  n: number;
  /** Timed calls per round. */
  reps: number;
  run: () => void;
  bestMs: number;
  runs: number;
}

const cases: Case[] = [];
function add(kernel: string, backend: GemmBackend | '-', n: number, reps: number, run: () => void): void {
  const timed = backend === '-' ? run : () => {
    setGemmBackend(backend);
    run();
  };
  cases.push({ kernel, backend, n, reps, run: timed, bestMs: Infinity, runs: 0 });
}

const backends: GemmBackend[] = wasmGemmAvailable() ? ['js', 'wasm'] : ['js'];
if (backends.length === 1) console.log('WebAssembly SIMD unavailable: js rows only');
for (const n of [256, 512, 1024]) {
  const A = randomMatrix(n, 11);
  const B = randomMatrix(n, 22);
  const C = new Float64Array(n * n);
  for (const b of backends) {
    add('gemm NN', b, n, n === 1024 ? 1 : n === 512 ? 3 : 10, () => gemm(false, false, n, n, n, 1, A, 0, n, B, 0, n, 0, C, 0, n));
  }
  if (n === 512) {
    for (const b of backends) add('gemm NT', b, n, 2, () => gemm(false, true, n, n, n, 1, A, 0, n, B, 0, n, 0, C, 0, n));
    for (const b of backends) add('gemm TN', b, n, 2, () => gemm(true, false, n, n, n, 1, A, 0, n, B, 0, n, 0, C, 0, n));
    for (const b of backends) add('gemm TT', b, n, 2, () => gemm(true, true, n, n, n, 1, A, 0, n, B, 0, n, 0, C, 0, n));
    for (const b of backends) add("xtdx X'X", b, n, 2, () => xtdx(n, n, A, 0, n, null, 0, 1, 0, C, 0, n));
    for (const b of backends) add("xtdx X'DX", b, n, 2, () => xtdx(n, n, A, 0, n, B, 0, 1, 0, C, 0, n));
  }
}
{
  const n = 256;
  const A = randomMatrix(n, 11);
  const B = randomMatrix(n, 22);
  const C = new Float64Array(n * n);
  add('naive i-k-j', '-', n, 2, () => naiveIKJ(n, A, B, C));
}

// Warm-up: every case a few times (JIT tiers up), untimed.
for (const c of cases) for (let i = 0; i < 3; i++) c.run();
// Timed rounds, interleaved so that a slow spell of the (noisy, shared) host
// does not hit one case only; keep the best time of each case.
const ROUNDS = 6;
for (let r = 0; r < ROUNDS; r++) {
  for (const c of cases) {
    for (let i = 0; i < c.reps; i++) {
      const t = performance.now();
      c.run();
      c.bestMs = Math.min(c.bestMs, performance.now() - t);
      c.runs++;
    }
  }
}
setGemmBackend('auto');
const rows: Row[] = cases.map((c) => ({
  kernel: c.kernel,
  backend: c.backend,
  n: c.n,
  gflops: (2 * c.n * c.n * c.n) / (c.bestMs * 1e6),
  bestMs: c.bestMs,
  runs: c.runs,
}));

const pad = (s: string, w: number) => s.padEnd(w);
/** Speed relative to the js row of the same kernel and n (in this run). */
const vsJs = (r: Row): string => {
  const ref = rows.find((q) => q.kernel === r.kernel && q.n === r.n && q.backend === 'js');
  return ref && r.backend !== 'js' && r.backend !== '-' ? `${(r.gflops / ref.gflops).toFixed(2)}×` : '';
};
console.log(`${pad('kernel', 14)}${pad('backend', 9)}${pad('n', 6)}${pad('GFLOP/s', 10)}${pad('best ms', 10)}${pad('runs', 6)}vs js`);
for (const r of rows) {
  console.log(
    `${pad(r.kernel, 14)}${pad(r.backend, 9)}${pad(String(r.n), 6)}${pad(r.gflops.toFixed(2), 10)}${pad(r.bestMs.toFixed(2), 10)}${pad(String(r.runs), 6)}${vsJs(r)}`,
  );
}

const outDir = join(dirname(fileURLToPath(import.meta.url)), 'results');
mkdirSync(outDir, { recursive: true });
const result = {
  date: new Date().toISOString(),
  node: process.version,
  command: 'npx tsx bench/gemm.ts',
  note: 'GFLOP/s = 2n^3 / best time; xtdx counted as the equivalent full gemm (it does about half the flops)',
  rows,
};
writeFileSync(join(outDir, 'gemm.json'), JSON.stringify(result, null, 2) + '\n');
console.log(`wrote ${join('bench', 'results', 'gemm.json')}`);
