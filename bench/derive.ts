/**
 * Symbolic derivation time (not a unit test).
 *
 *   npx tsx bench/derive.ts          # or: npm run bench (all benchmarks)
 *
 * 1. Every corpus case: the first derivation (cold: JIT and caches empty for that expression) and
 *    the median of the following runs, parse to printed forms included. Target: < 5 ms warm.
 * 2. Families at growing sizes, each derived once in a fresh process (no caches from earlier sizes),
 *    with the growth exponent between the last two sizes: time ∝ size^exponent. Derivation must grow
 *    about linearly with the size of the input's DAG, per order. Targets: a 100-deep tanh chain's
 *    Hessian < 100 ms; no input of ≤ 100 characters above 1 s. Matrix powers at growing exponents
 *    (tr(A^k) by A, x'*A^k*y by A, orders 1–2): target tr(A^1000000) < 10 ms.
 * 3. The compiled evaluation of the matrix-power results at k = 10^6 (A scaled to spectral radius
 *    < 1), at n = 64 for gradients and n = 8 for the n×n×n×n Hessians (whose Fréchet derivative is
 *    evaluated per entry of its batch axes: n^5·log k).
 * Writes bench/results/derive.json. Times are CPU time of the deriving thread where available
 * (the machine is shared; wall time is reported too).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { derive, deriveNode } from '../src/derive.js';
import { derivative } from '../src/index.js';
import { mulberry32 } from '../src/random.js';

interface Case {
  id: string;
  expr: string;
  wrt: string;
  order: number;
  symmetric?: string[];
}

/** A family of inputs indexed by a size parameter. */
interface Family {
  readonly name: string;
  readonly sizes: readonly number[];
  readonly wrt: string;
  readonly order: number;
  expr(size: number): string;
}

const nest = (depth: number, wrap: (inner: string) => string, leaf: string): string => {
  let e = leaf;
  for (let i = 0; i < depth; i++) e = wrap(e);
  return e;
};

export const FAMILIES: readonly Family[] = [
  { name: 'tanh chain, gradient', sizes: [10, 25, 50, 100], wrt: 'x', order: 1, expr: (d) => `sum(${nest(d, (e) => `tanh(A*${e})`, 'x')})` },
  { name: 'tanh chain, Hessian', sizes: [10, 25, 50, 100, 200], wrt: 'x', order: 2, expr: (d) => `sum(${nest(d, (e) => `tanh(A*${e})`, 'x')})` },
  { name: 'sigmoid chain, Hessian', sizes: [10, 25, 50, 100], wrt: 'x', order: 2, expr: (d) => `sum(${nest(d, (e) => `sigmoid(A*${e})`, 'x')})` },
  { name: 'exp chain around x\'*x, gradient', sizes: [10, 50, 100, 200], wrt: 'x', order: 1, expr: (d) => nest(d, (e) => `exp(${e})`, "x'*x") },
  { name: 'sum of k quadratic forms, Hessian', sizes: [5, 10, 20, 40], wrt: 'x', order: 2, expr: (k) => Array.from({ length: k }, (_, i) => `x'*A${i}*x`).join(' + ') },
  { name: 'tr(A^k) by A, gradient', sizes: [10, 100, 10_000, 1_000_000], wrt: 'A', order: 1, expr: (k) => `tr(A^${k})` },
  { name: "x'*A^k*y by A, gradient", sizes: [10, 100, 10_000, 1_000_000], wrt: 'A', order: 1, expr: (k) => `x'*A^${k}*y` },
  { name: "x'*A^k*y by A, Hessian", sizes: [10, 100, 10_000, 1_000_000], wrt: 'A', order: 2, expr: (k) => `x'*A^${k}*y` },
  { name: 'long tail (random, 84 chars), order 1–3', sizes: [1, 2, 3], wrt: 'x', order: 0, expr: () => "logdet(diag(softplus((sqrt(sigmoid(x)) - x)*(X'*y + 0.5*w)'*(y*x'*x)*w'*y)) + eye)" },
];

interface Timing {
  wallMs: number;
  cpuMs: number;
  /** CPU time of the derivation alone, without the printers. */
  coreCpuMs: number;
  printed: number;
}

function cpuMsOf(f: () => void): number {
  const c0 = process.cpuUsage();
  f();
  const c = process.cpuUsage(c0);
  return (c.user + c.system) / 1000;
}

function timeOnce(expr: string, wrt: string, order: number, decls: Record<string, string> = {}): Timing {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const r = derive(expr, wrt, { order, let: decls });
  const wallMs = performance.now() - t0;
  const c = process.cpuUsage(c0);
  return { wallMs, cpuMs: (c.user + c.system) / 1000, coreCpuMs: NaN, printed: (r.matrix ?? r.index).length };
}

/** A family member: the derivation alone first (cold), then derive() with printing. */
function timeFamilyMember(expr: string, wrt: string, order: number): Timing {
  const coreCpuMs = cpuMsOf(() => deriveNode(expr, wrt, { order }));
  return { ...timeOnce(expr, wrt, order), coreCpuMs };
}

/** One family member, derived in a fresh process so that no cache of a smaller size helps it. */
function inFreshProcess(expr: string, wrt: string, order: number): Promise<Timing> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), '--one', JSON.stringify({ expr, wrt, order })], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.once('error', reject);
    p.once('close', (code) => (code === 0 ? resolve(JSON.parse(out) as Timing) : reject(new Error(`derivation of ${expr} failed (${code})`))));
  });
}

const corpusFile = (f: string): Case[] => (JSON.parse(readFileSync(new URL(`../test/corpus/${f}`, import.meta.url), 'utf8')) as { cases: Case[] }).cases;
const corpus = { cases: [...corpusFile('derivatives.json'), ...corpusFile('powers.json')] };

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

export function benchCorpus(runs = 15): { rows: { id: string; firstMs: number; medianMs: number; maxMs: number }[]; totalFirstMs: number; totalMedianMs: number } {
  const rows = [];
  for (const c of corpus.cases) {
    const decls: Record<string, string> = {};
    for (const s of c.symmetric ?? []) decls[s] = 'symmetric matrix';
    const once = (): number => timeOnce(c.expr, c.wrt, c.order, decls).wallMs;
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

async function benchFamilies(): Promise<({ family: string; size: number; order: number; chars: number } & Timing)[]> {
  const rows = [];
  for (const f of FAMILIES) {
    const points: { size: number; coreCpuMs: number }[] = [];
    for (const size of f.sizes) {
      // The long-tail family varies the order, the others the size of the input.
      const order = f.order === 0 ? size : f.order;
      const expr = f.expr(size);
      const t = await inFreshProcess(expr, f.wrt, order);
      rows.push({ family: f.name, size, order, chars: expr.length, ...t });
      points.push({ size, coreCpuMs: t.coreCpuMs });
      const prev = points[points.length - 2];
      const growth = prev && f.order !== 0 ? Math.log(t.coreCpuMs / prev.coreCpuMs) / Math.log(size / prev.size) : NaN;
      console.log(
        `${f.name.padEnd(36)} ${String(size).padStart(5)} ${String(expr.length).padStart(5)} chars  order ${order}  derivation ${t.coreCpuMs.toFixed(1).padStart(7)} ms${Number.isFinite(growth) ? ` (×size^${growth.toFixed(2)})` : '           '}  with printing ${t.cpuMs.toFixed(1).padStart(8)} ms cpu ${t.wallMs.toFixed(1).padStart(8)} ms wall  printed ${String(t.printed).padStart(7)} chars`,
      );
    }
  }
  return rows;
}

/** A random point at size n, A with spectral radius below 1 (its powers stay finite). */
function powerPoint(n: number): { A: { shape: number[]; data: Float64Array }; x: Float64Array; y: Float64Array } {
  const rand = mulberry32(n);
  const A = new Float64Array(n * n).map(() => (2 * rand() - 1) / n);
  const x = new Float64Array(n).map(() => 2 * rand() - 1);
  const y = new Float64Array(n).map(() => 2 * rand() - 1);
  return { A: { shape: [n, n], data: A }, x, y };
}

/** The compiled evaluation of the matrix-power results at k = 10^6 (median of 5 after one call). */
function benchPowerEvaluation(): { expr: string; order: number; n: number; evalMs: number; printed: string }[] {
  const rows = [];
  for (const [expr, order] of [
    ['tr(A^1000000)', 1],
    ["x'*A^1000000*y", 1],
    ["x'*A^1000000*y", 2],
  ] as const) {
    const d = derivative(expr, 'A', { order });
    const n = order === 1 ? 64 : 8;
    const point = powerPoint(n);
    const run = d.compile();
    run(point);
    const evalMs = median(
      Array.from({ length: 5 }, () => {
        const t = performance.now();
        run(point);
        return performance.now() - t;
      }),
    );
    const printed = d.matrix ?? d.index;
    rows.push({ expr, order, n, evalMs, printed });
    console.log(`${expr.padEnd(16)} order ${order}  n = ${String(n).padStart(2)}  evaluation ${evalMs.toFixed(2).padStart(7)} ms  ${printed}`);
  }
  return rows;
}

async function main(): Promise<void> {
  const r = benchCorpus();
  console.log('Symbolic derivation per corpus case (ms): first run, median after warm-up, max after warm-up');
  console.log(`${'case'.padEnd(18)} ${'first'.padStart(8)} ${'median'.padStart(8)} ${'max'.padStart(8)}`);
  for (const row of r.rows)
    console.log(`${row.id.padEnd(18)} ${row.firstMs.toFixed(2).padStart(8)} ${row.medianMs.toFixed(2).padStart(8)} ${row.maxMs.toFixed(2).padStart(8)}${row.medianMs > 5 ? '  over 5 ms' : ''}`);
  console.log(`whole corpus: first runs ${r.totalFirstMs.toFixed(1)} ms, after warm-up ${r.totalMedianMs.toFixed(1)} ms`);
  const slowest = r.rows.reduce((a, b) => (b.medianMs > a.medianMs ? b : a));
  console.log(`slowest after warm-up: ${slowest.id} ${slowest.medianMs.toFixed(2)} ms`);
  console.log('\nFamilies (each size derived cold, in a fresh process):');
  const families = await benchFamilies();
  console.log('\nMatrix powers, compiled evaluation of the derivative:');
  const powers = benchPowerEvaluation();
  mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
  writeFileSync(new URL('./results/derive.json', import.meta.url), JSON.stringify({ date: new Date().toISOString(), node: process.version, ...r, families, powers }, null, 2));
}

const one = process.argv.indexOf('--one');
if (one >= 0) {
  const { expr, wrt, order } = JSON.parse(process.argv[one + 1]!) as { expr: string; wrt: string; order: number };
  process.stdout.write(JSON.stringify(timeFamilyMember(expr, wrt, order)));
} else if (import.meta.url === `file://${process.argv[1]}`) {
  await main();
}
