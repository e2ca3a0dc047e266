/**
 * Symbolic derivation time for every corpus case (not a unit test).
 *
 *   npx tsx bench/derive.ts          # or: npm run bench (all benchmarks)
 *
 * For each case: the first derivation (cold: JIT and caches empty for that expression) and the
 * median of the following runs (after warm-up), parse to printed forms included. Target: every case
 * under 20 ms after warm-up, the whole corpus under 1 s. Then the matrix-power family at growing
 * exponents (tr(A^k) by A, x'*A^k*y by A, orders 1–2; target tr(A^1000000) under 10 ms), with the
 * compiled evaluation of each result (A scaled to spectral radius < 1) at n = 64 for gradients and
 * n = 8 for the n×n×n×n Hessians (whose Fréchet term is evaluated per batch entry: n^5·log k).
 * Writes bench/results/derive.json.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { derive } from '../src/derive.js';
import { derivative } from '../src/index.js';
import { mulberry32 } from '../src/random.js';

interface Case {
  id: string;
  expr: string;
  wrt: string;
  order: number;
  symmetric?: string[];
}

const corpus = JSON.parse(readFileSync(new URL('../test/corpus/derivatives.json', import.meta.url), 'utf8')) as { cases: Case[] };

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

export function benchDerive(runs = 15): { rows: { id: string; firstMs: number; medianMs: number; maxMs: number }[]; totalFirstMs: number; totalMedianMs: number } {
  const rows = [];
  for (const c of corpus.cases) {
    const decls: Record<string, string> = {};
    for (const s of c.symmetric ?? []) decls[s] = 'symmetric matrix';
    const once = (): number => {
      const t = performance.now();
      derive(c.expr, c.wrt, { order: c.order, let: decls });
      return performance.now() - t;
    };
    const firstMs = once();
    const times = Array.from({ length: runs }, once);
    rows.push({ id: c.id, firstMs, medianMs: median(times), maxMs: Math.max(...times) });
  }
  return {
    rows,
    totalFirstMs: rows.reduce((s, r) => s + r.firstMs, 0),
    totalMedianMs: rows.reduce((s, r) => s + r.medianMs, 0),
  };
}

const POWER_EXPONENTS = [10, 100, 10_000, 1_000_000];
const POWER_FAMILY: readonly { expr: (k: number | string) => string; order: number }[] = [
  { expr: (k) => `tr(A^${k})`, order: 1 },
  { expr: (k) => `x'*A^${k}*y`, order: 1 },
  { expr: (k) => `x'*A^${k}*y`, order: 2 },
];

export interface PowerRow {
  expr: string;
  order: number;
  k: number;
  firstMs: number;
  medianMs: number;
  printed: string;
  evalN: number;
  evalMs: number;
}

/** A random point for the family at size n, A with spectral radius below 1. */
function powerPoint(n: number): { A: { shape: number[]; data: Float64Array }; x: Float64Array; y: Float64Array } {
  const rand = mulberry32(n);
  const A = new Float64Array(n * n).map(() => (2 * rand() - 1) / n);
  const x = new Float64Array(n).map(() => 2 * rand() - 1);
  const y = new Float64Array(n).map(() => 2 * rand() - 1);
  return { A: { shape: [n, n], data: A }, x, y };
}

/** Derivation time of the matrix-power family, and the compiled evaluation of each result. */
export function benchPowers(runs = 15): PowerRow[] {
  const rows: PowerRow[] = [];
  for (const f of POWER_FAMILY)
    for (const k of POWER_EXPONENTS) {
      const expr = f.expr(k);
      const once = (): number => {
        const t = performance.now();
        derive(expr, 'A', { order: f.order });
        return performance.now() - t;
      };
      const firstMs = once();
      const medianMs = median(Array.from({ length: runs }, once));
      const d = derivative(expr, 'A', { order: f.order });
      const evalN = f.order === 1 ? 64 : 8;
      const point = powerPoint(evalN);
      const run = d.compile();
      run(point);
      const evals = Array.from({ length: 5 }, () => {
        const t = performance.now();
        run(point);
        return performance.now() - t;
      });
      rows.push({ expr, order: f.order, k, firstMs, medianMs, printed: d.matrix ?? d.index, evalN, evalMs: median(evals) });
    }
  return rows;
}

function main(): void {
  const r = benchDerive();
  console.log('Symbolic derivation per corpus case (ms): first run, median after warm-up, max after warm-up');
  console.log(`${'case'.padEnd(18)} ${'first'.padStart(8)} ${'median'.padStart(8)} ${'max'.padStart(8)}`);
  for (const row of r.rows)
    console.log(`${row.id.padEnd(18)} ${row.firstMs.toFixed(2).padStart(8)} ${row.medianMs.toFixed(2).padStart(8)} ${row.maxMs.toFixed(2).padStart(8)}${row.medianMs > 20 ? '  over 20 ms' : ''}`);
  console.log(`whole corpus: first runs ${r.totalFirstMs.toFixed(1)} ms, after warm-up ${r.totalMedianMs.toFixed(1)} ms`);
  const slowest = r.rows.reduce((a, b) => (b.medianMs > a.medianMs ? b : a));
  console.log(`slowest after warm-up: ${slowest.id} ${slowest.medianMs.toFixed(2)} ms`);
  const powers = benchPowers();
  console.log('\nMatrix powers: derivation (ms, first run and median after warm-up) and compiled evaluation (ms, at size n)');
  console.log(`${'expression'.padEnd(22)} ${'order'.padStart(5)} ${'first'.padStart(8)} ${'median'.padStart(8)} ${'n'.padStart(4)} ${'eval'.padStart(8)}  result`);
  for (const p of powers) {
    const over = p.expr === 'tr(A^1000000)' && p.medianMs >= 10 ? '  over 10 ms' : '';
    console.log(
      `${p.expr.padEnd(22)} ${String(p.order).padStart(5)} ${p.firstMs.toFixed(2).padStart(8)} ${p.medianMs.toFixed(2).padStart(8)} ${String(p.evalN).padStart(4)} ${p.evalMs.toFixed(2).padStart(8)}  ${p.printed.length > 60 ? `${p.printed.slice(0, 57)}...` : p.printed}${over}`,
    );
  }
  for (const f of POWER_FAMILY) {
    const own = powers.filter((p) => p.order === f.order && p.expr === f.expr(p.k));
    const growth = own[own.length - 1]!.medianMs / own[0]!.medianMs;
    console.log(`${f.expr('k')} order ${f.order}: median at k = ${POWER_EXPONENTS.at(-1)} is ${growth.toFixed(2)}× that at k = ${POWER_EXPONENTS[0]}`);
  }
  mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
  writeFileSync(new URL('./results/derive.json', import.meta.url), JSON.stringify({ date: new Date().toISOString(), node: process.version, ...r, powers }, null, 2));
}

if (import.meta.url === `file://${process.argv[1]}`) main();
