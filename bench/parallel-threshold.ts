/**
 * Where splitting a product across threads starts to pay (the threshold in
 * src/compile/kernels/parallel/config.ts). Not a unit test.
 *
 *   npm run bench:threshold
 *
 * For square gemm, X'·diag(d)·X (m = n), A + A', the thin product D·V (V of n×2; copying D,
 * and reading it in place where a symmetric check staged it) and the symmetric check (run behind
 * the copy of the matrix; and of a resident matrix, read where it lies) of growing size: one
 * thread against every thread of the machine (workers forced on, threshold 0), the same inputs,
 * timed rounds interleaved so that a busy spell of the shared host hits both alike; the best of
 * each is kept (on a shared, loaded host the best is what the machine can do; medians are printed
 * too). Prints the ratio one/all threads and the smallest size from which the split wins at every
 * larger size.
 * Writes bench/results/parallel-threshold.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { gemm, symmetricSum, xtdx } from '../src/compile/kernels/index.js';
import { kernelInfo } from '../src/compile/kernels/info.js';
import { setParallel, wantedThreads } from '../src/compile/kernels/parallel/config.js';
import { releaseResident, residentArray, sharedPool, withinEvaluation } from '../src/compile/kernels/wasm/runtime.js';
import { thinWasm } from '../src/compile/kernels/wasm/thinWasm.js';
import { isSymmetric } from '../src/compile/kernels/symmetric.js';

const SIZES = [16, 24, 32, 40, 48, 64, 80, 96, 128, 192, 256];
const SYMSUM_SIZES = [128, 192, 256, 384, 512, 768, 1000];
const ROUNDS = 25;

function rand(n: number, seed: number): Float64Array {
  let s = seed >>> 0;
  return Float64Array.from({ length: n }, () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32) - 0.5);
}
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
const min = (xs: number[]): number => Math.min(...xs);

const threads = Math.max(2, wantedThreads());
setParallel({ threads, minWork: 0 });
{
  // Start the workers and wait until they run.
  const A = rand(64 * 64, 1);
  gemm(false, false, 64, 64, 64, 1, A, 0, 64, A, 0, 64, 0, new Float64Array(64 * 64), 0, 64);
  if (!sharedPool()?.waitReady(threads - 1, 30_000)) throw new Error('workers did not start');
}

interface Row {
  kernel: string;
  n: number;
  work: number;
  oneMs: number;
  splitMs: number;
  speedup: number;
  medianSpeedup: number;
}
const rows: Row[] = [];
/** Kernels whose work is n·n (one pass over a matrix), not n³. */
const squareWork = (k: string): boolean => k === 'symsum' || k.startsWith('thin') || k.startsWith('symeq');
for (const kernel of ['gemm', 'syrk', 'symsum', 'thin', 'thin-in-place', 'symeq', 'symeq-resident'] as const) {
  for (const n of squareWork(kernel) ? SYMSUM_SIZES : SIZES) {
    const A = rand(n * n, n);
    // Symmetric: the check stages it for thin-in-place.
    for (let i = 0; i < n; i++) for (let j = 0; j < i; j++) A[j * n + i] = A[i * n + j]!;
    // A resident copy (residentArray): the check reads it where it lies, with no copy to overlap.
    const R = kernel === 'symeq-resident' ? residentArray(n * n) : null;
    R?.set(A);
    const B = rand(n * n, n + 1);
    const d = rand(n, n + 2);
    const C = new Float64Array(n * n);
    const run =
      kernel === 'gemm'
        ? () => gemm(false, false, n, n, n, 1, A, 0, n, B, 0, n, 0, C, 0, n)
        : kernel === 'syrk'
          ? () => xtdx(n, n, A, 0, n, d, 0, 1, 0, C, 0, n)
          : kernel === 'symsum'
            ? () => symmetricSum(n, 1, A, 0, n, C, 0, n)
            : kernel.startsWith('symeq')
              ? () => {
                  if (!isSymmetric(n, R ?? A)) throw new Error('not symmetric');
                }
              : () => thinWasm(false, n, n, 2, 1, A, 0, n, B, 0, 2, 1, 0, C, 0, 2, 1);
    // Enough calls per timing that the clock's resolution does not matter (≥ ~2 ms).
    const reps = Math.max(1, Math.ceil((squareWork(kernel) ? 2e6 : 4e6) / (squareWork(kernel) ? n * n : n * n * n)));
    const timed = (): number => {
      const t0 = performance.now();
      for (let r = 0; r < reps; r++) run();
      return (performance.now() - t0) / reps;
    };
    const time = (t: number): number => {
      setParallel({ threads: t });
      // In place: within one evaluation, after the check that stages A (not timed).
      if (kernel !== 'thin-in-place') return timed();
      return withinEvaluation(() => {
        if (!isSymmetric(n, A)) throw new Error('not symmetric');
        return timed();
      });
    };
    for (let w = 0; w < 3; w++) (time(1), time(threads));
    const one: number[] = [];
    const split: number[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      one.push(time(1));
      split.push(time(threads));
    }
    const last = kernelInfo().lastProduct;
    const check = kernelInfo().lastCheck;
    const ran = kernel.startsWith('symeq') ? check?.threads : last?.threads;
    if (ran !== threads || (kernel === 'thin-in-place' && !last?.inPlace) || (R !== null && !check?.inPlace)) throw new Error(`${kernel} ${n}: the split did not run`);
    if (R !== null) releaseResident(R);
    const row = {
      kernel,
      n,
      work: kernel === 'gemm' ? n ** 3 : kernel === 'syrk' ? n ** 3 / 2 : n * n,
      oneMs: min(one),
      splitMs: min(split),
      speedup: min(one) / min(split),
      medianSpeedup: median(one) / median(split),
    };
    rows.push(row);
  }
}

console.log(`threads: 1 against ${threads} (${kernelInfo().kernel} kernel), best of ${ROUNDS} interleaved rounds (speedup of the medians too)`);
console.log(`${'kernel'.padEnd(14)}${'n'.padStart(5)}${'work'.padStart(12)}${'1 thread ms'.padStart(13)}${`${threads} threads ms`.padStart(14)}${'speedup'.padStart(9)}${'median'.padStart(9)}`);
for (const r of rows)
  console.log(
    `${r.kernel.padEnd(14)}${String(r.n).padStart(5)}${r.work.toExponential(2).padStart(12)}${r.oneMs.toFixed(4).padStart(13)}${r.splitMs.toFixed(4).padStart(14)}${(r.speedup.toFixed(2) + '×').padStart(9)}${(r.medianSpeedup.toFixed(2) + '×').padStart(9)}`,
  );
/** Smallest work from which the split wins at this and every larger size of the kernel. */
const from = (k: string): number | null => {
  const rs = rows.filter((r) => r.kernel === k);
  let i = rs.length;
  while (i > 0 && rs[i - 1]!.speedup > 1.05) i--;
  return i < rs.length ? rs[i]!.work : null;
};
console.log(`split wins (> 1.05×) from work ${from('gemm')?.toExponential(2) ?? '—'} (gemm), ${from('syrk')?.toExponential(2) ?? '—'} (syrk) multiply-adds; from n·n = ${from('symsum')?.toExponential(2) ?? '—'} (symsum), ${from('thin')?.toExponential(2) ?? '—'} (thin), ${from('thin-in-place')?.toExponential(2) ?? '—'} (thin in place), ${from('symeq')?.toExponential(2) ?? '—'} (symmetric check), ${from('symeq-resident')?.toExponential(2) ?? '—'} (check of a resident matrix)`);
mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
writeFileSync(new URL('./results/parallel-threshold.json', import.meta.url), JSON.stringify({ date: new Date().toISOString(), node: process.version, threads, rows }, null, 2));
