/**
 * Symbolic derivation time for every corpus case (not a unit test).
 *
 *   npx tsx bench/derive.ts          # or: npm run bench (all benchmarks)
 *
 * For each case: the first derivation (cold: JIT and caches empty for that expression) and the
 * median of the following runs (after warm-up), parse to printed forms included. Target: every case
 * under 20 ms after warm-up, the whole corpus under 1 s. Writes bench/results/derive.json.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { derive } from '../src/derive.js';

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

function main(): void {
  const r = benchDerive();
  console.log('Symbolic derivation per corpus case (ms): first run, median after warm-up, max after warm-up');
  console.log(`${'case'.padEnd(18)} ${'first'.padStart(8)} ${'median'.padStart(8)} ${'max'.padStart(8)}`);
  for (const row of r.rows)
    console.log(`${row.id.padEnd(18)} ${row.firstMs.toFixed(2).padStart(8)} ${row.medianMs.toFixed(2).padStart(8)} ${row.maxMs.toFixed(2).padStart(8)}${row.medianMs > 20 ? '  over 20 ms' : ''}`);
  console.log(`whole corpus: first runs ${r.totalFirstMs.toFixed(1)} ms, after warm-up ${r.totalMedianMs.toFixed(1)} ms`);
  const slowest = r.rows.reduce((a, b) => (b.medianMs > a.medianMs ? b : a));
  console.log(`slowest after warm-up: ${slowest.id} ${slowest.medianMs.toFixed(2)} ms`);
  mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
  writeFileSync(new URL('./results/derive.json', import.meta.url), JSON.stringify({ date: new Date().toISOString(), node: process.version, ...r }, null, 2));
}

if (import.meta.url === `file://${process.argv[1]}`) main();
