/**
 * gemm throughput benchmark (not a unit test).
 *
 *   npm run bench:gemm        (or: npm run bench, all benchmarks)
 *
 * GFLOP/s = 2mnk / time, best of several timed runs after warm-up, for square n = 256, 512, 1000
 * and 1024 (all four transpose flags at 512), and the symmetric product X'·diag(d)·X with X of
 * 2n×n (the logistic-regression Hessian's shape; counted by the n·n·2n multiply-adds of its
 * triangle, the half it computes). Every case runs on each path: 'js' (the plain TypeScript
 * blocked kernel), 'simd' (WebAssembly f64x2, one thread), 'fma' (relaxed-SIMD FMA, one thread)
 * and 'fma×T' (FMA on every core: T threads, workers sharing the memory), plus a naive i-k-j
 * loop at n = 256 as the in-run reference. NumPy's A @ B and X.T @ (d[:, None] * X) at n = 1000
 * run in the same benchmark (bench/peers.py, with OpenBLAS free to pick its kernel and every
 * core), when /usr/bin/python3 has NumPy. Last, the ceiling (bench/ceiling.ts): the clock, the
 * 128-bit FMA peak it gives, and the micro-kernel alone. The host is noisy: timed rounds are
 * interleaved across cases, and ratios taken in one run are what to compare. Writes
 * bench/results/gemm.json.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gemm, kernelInfo, xtdx } from '../src/compile/kernels/index.js';
import { setGemmBackend } from '../src/compile/kernels/gemm.js';
import { availableVariants, setWasmVariant, sharedPool } from '../src/compile/kernels/wasm/runtime.js';
import { setParallel, wantedThreads } from '../src/compile/kernels/parallel/config.js';
import { measureCeiling } from './ceiling.js';

interface Row {
  kernel: string;
  backend: string;
  n: number;
  gflops: number;
  bestMs: number;
  runs: number;
}

function randomMatrix(n: number, seed: number): Float64Array {
  return randomArray(n * n, seed);
}

function randomArray(len: number, seed: number): Float64Array {
  const a = new Float64Array(len);
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
  /** Multiply-adds per call (GFLOP/s = 2 * work / time). */
  work: number;
  /** Timed calls per round. */
  reps: number;
  run: () => void;
  bestMs: number;
  runs: number;
}

type Path = 'js' | 'simd' | 'fma' | 'fma×T';
const THREADS = Math.max(1, wantedThreads());
const variants = availableVariants();
const paths: Path[] = ['js', ...(variants.includes('simd') ? (['simd'] as const) : []), ...(variants.includes('fma') ? (['fma'] as const) : [])];
if (variants.length > 0 && THREADS > 1 && sharedPool()) paths.push('fma×T');
if (!variants.includes('fma')) console.log('relaxed-SIMD FMA unavailable: no fma rows');
if (variants.length === 0) console.log('WebAssembly SIMD unavailable: js rows only');

function select(path: Path): void {
  setGemmBackend(path === 'js' ? 'js' : 'wasm');
  if (path !== 'js') setWasmVariant(path === 'simd' ? 'simd' : variants.includes('fma') ? 'fma' : 'simd');
  setParallel({ threads: path === 'fma×T' ? THREADS : 1 });
}

const cases: Case[] = [];
function add(kernel: string, path: Path | '-', n: number, work: number, reps: number, run: () => void): void {
  const timed = path === '-' ? run : () => {
    select(path);
    run();
  };
  cases.push({ kernel, backend: path === 'fma×T' ? `fma×${THREADS}` : path, n, work, reps, run: timed, bestMs: Infinity, runs: 0 });
}

if (paths.includes('fma×T')) {
  // Start the workers and wait for them, so the timed runs use them.
  select('fma×T');
  const A = randomMatrix(128, 1);
  gemm(false, false, 128, 128, 128, 1, A, 0, 128, A, 0, 128, 0, new Float64Array(128 * 128), 0, 128);
  if (!sharedPool()!.waitReady(THREADS - 1, 30_000)) throw new Error('the workers did not start');
}
for (const n of [256, 512, 1000, 1024]) {
  const A = randomMatrix(n, 11);
  const B = randomMatrix(n, 22);
  const C = new Float64Array(n * n);
  const reps = n >= 1000 ? 1 : n === 512 ? 3 : 10;
  for (const b of paths) add('gemm NN', b, n, n ** 3, reps, () => gemm(false, false, n, n, n, 1, A, 0, n, B, 0, n, 0, C, 0, n));
  if (n === 512) {
    for (const b of paths) add('gemm NT', b, n, n ** 3, 2, () => gemm(false, true, n, n, n, 1, A, 0, n, B, 0, n, 0, C, 0, n));
    for (const b of paths) add('gemm TN', b, n, n ** 3, 2, () => gemm(true, false, n, n, n, 1, A, 0, n, B, 0, n, 0, C, 0, n));
    for (const b of paths) add('gemm TT', b, n, n ** 3, 2, () => gemm(true, true, n, n, n, 1, A, 0, n, B, 0, n, 0, C, 0, n));
  }
  if (n === 512 || n === 1000) {
    // X'·diag(d)·X, X 2n×n: the triangle's n·n·2n/2 multiply-adds.
    const X = randomArray(2 * n * n, 33);
    const d = randomArray(2 * n, 44);
    for (const b of paths) add("xtdx X'DX", b, n, n * n * n, reps, () => xtdx(2 * n, n, X, 0, n, d, 0, 1, 0, C, 0, n));
  }
}
{
  const n = 256;
  const A = randomMatrix(n, 11);
  const B = randomMatrix(n, 22);
  const C = new Float64Array(n * n);
  add('naive i-k-j', '-', n, n ** 3, 2, () => naiveIKJ(n, A, B, C));
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
setWasmVariant('auto');
setParallel({ threads: 'auto' });
const rows: Row[] = cases.map((c) => ({
  kernel: c.kernel,
  backend: c.backend,
  n: c.n,
  gflops: (2 * c.work) / (c.bestMs * 1e6),
  bestMs: c.bestMs,
  runs: c.runs,
}));

/** NumPy at n = 1000 in the same run (OpenBLAS free to pick its kernel and threads), or why not. */
function numpyPeer(): { gemmGflops: number; xtdxGflops: number; gemmMs: number; xtdxMs: number } | string {
  const python = '/usr/bin/python3';
  if (!existsSync(python)) return `skipped: no ${python}`;
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const k of ['OPENBLAS_CORETYPE', 'OPENBLAS_L2_SIZE', 'OPENBLAS_NUM_THREADS', 'OMP_NUM_THREADS']) delete env[k];
  const r = spawnSync(python, [fileURLToPath(new URL('./peers.py', import.meta.url)), 'gemm', '1000'], { encoding: 'utf8', env, timeout: 300_000 });
  const line = r.stdout?.split('\n').find((l) => l.startsWith('RESULT '));
  if (!line) return `failed: ${(r.stderr ?? '').trim().slice(0, 120)}`;
  const res = JSON.parse(line.slice(7)) as Record<string, unknown>;
  return typeof res.skipped === 'string' ? `skipped: ${res.skipped}` : (res as { gemmGflops: number; xtdxGflops: number; gemmMs: number; xtdxMs: number });
}
const numpy = numpyPeer();
const ceiling = measureCeiling();

const pad = (s: string, w: number) => s.padEnd(w);
/** Speed relative to the js row of the same kernel and n (in this run). */
const vsJs = (r: Row): string => {
  const ref = rows.find((q) => q.kernel === r.kernel && q.n === r.n && q.backend === 'js');
  return ref && r.backend !== 'js' && r.backend !== '-' ? `${(r.gflops / ref.gflops).toFixed(2)}×` : '';
};
/** Speed relative to NumPy's same product at n = 1000. */
const vsNumpy = (r: Row): string => {
  if (typeof numpy === 'string' || r.n !== 1000) return '';
  const ref = r.kernel === 'gemm NN' ? numpy.gemmGflops : r.kernel === "xtdx X'DX" ? numpy.xtdxGflops : undefined;
  return ref ? `${(r.gflops / ref).toFixed(2)}×` : '';
};
console.log(`threads for large products: ${THREADS}; ${JSON.stringify(kernelInfo())}`);
console.log(`${pad('kernel', 14)}${pad('backend', 9)}${pad('n', 6)}${pad('GFLOP/s', 10)}${pad('best ms', 10)}${pad('runs', 6)}${pad('vs js', 8)}vs NumPy`);
for (const r of rows) {
  console.log(
    `${pad(r.kernel, 14)}${pad(r.backend, 9)}${pad(String(r.n), 6)}${pad(r.gflops.toFixed(2), 10)}${pad(r.bestMs.toFixed(2), 10)}${pad(String(r.runs), 6)}${pad(vsJs(r), 8)}${vsNumpy(r)}`,
  );
}
if (typeof numpy === 'string') console.log(`NumPy: ${numpy}`);
else console.log(`NumPy at n = 1000: gemm ${numpy.gemmGflops.toFixed(2)} GFLOP/s (${numpy.gemmMs.toFixed(1)} ms), X.T @ (d[:, None] * X) ${numpy.xtdxGflops.toFixed(2)} GFLOP/s counted by its triangle (${numpy.xtdxMs.toFixed(1)} ms)`);
const kernels = Object.entries(ceiling.kernel)
  .map(([v, g]) => `${v} ${g.toFixed(2)} GFLOP/s (${((100 * g) / ceiling.peakPerCore).toFixed(0)} %)`)
  .join(', ');
console.log(
  `Ceiling: clock ${ceiling.ghz.toFixed(2)} GHz (dependent adds); two f64x2 FMAs a cycle: ${ceiling.peakPerCore.toFixed(1)} GFLOP/s per core, ${(THREADS * ceiling.peakPerCore).toFixed(1)} on ${THREADS}; the micro-kernel alone on one thread: ${kernels}`,
);

const outDir = join(dirname(fileURLToPath(import.meta.url)), 'results');
mkdirSync(outDir, { recursive: true });
const result = {
  date: new Date().toISOString(),
  node: process.version,
  command: 'npm run bench:gemm',
  note: "GFLOP/s = 2 * multiply-adds / best time; xtdx counted by its triangle's multiply-adds (the half it computes)",
  threads: THREADS,
  kernel: kernelInfo(),
  numpy,
  ceiling,
  rows,
};
writeFileSync(join(outDir, 'gemm.json'), JSON.stringify(result, null, 2) + '\n');
console.log(`wrote ${join('bench', 'results', 'gemm.json')}`);
