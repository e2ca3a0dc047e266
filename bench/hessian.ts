/**
 * Hessian evaluation: ricci's compiled closed form against autodiff peers measured in the same run,
 * on the same inputs (not a unit test).
 *
 *   npx tsx bench/hessian.ts            # or: npm run bench (all benchmarks)
 *
 * Peers: TensorFlow.js (CPU backend, float32 — its only precision) building the Hessian row by
 * row from gradients (one second-order pass per row), and jax-js `jit(hessian(f))` on its wasm
 * backend (float64). Every measurement runs in its own child process with a time limit; peer
 * times are after a warm-up call. Where a full row-by-row Hessian would take more than 20 s, the
 * time of the rows measured is extrapolated and marked "est". Also: Hessian-vector products in
 * closed form against forming the Hessian and multiplying. Writes bench/results/hessian.json.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { PROBLEMS, rng, type Problem, type Inputs } from './problems.js';

type Engine = 'ricci' | 'tfjs' | 'jax';

interface Measurement {
  ms: number | null;
  estimated?: boolean;
  firstMs?: number;
  note?: string;
  /** The first row of the Hessian (a few entries), to check that the engines agree. */
  row?: number[];
}

const SELF = fileURLToPath(import.meta.url);
const CHILD_TIMEOUT_MS = 240_000;
const ROW_BUDGET_MS = 20_000;

function numel(inp: Inputs): number {
  return inp.values[inp.wrt]!.data.length;
}

async function measureRicci(p: Problem, inp: Inputs): Promise<Measurement> {
  const { hessian } = await import('../src/index.js');
  const h = hessian(p.expr, p.wrt, { let: p.let ?? {} }).compile();
  const t0 = performance.now();
  let out = h(inp.values);
  const firstMs = performance.now() - t0;
  let best = Infinity;
  const start = performance.now();
  for (let r = 0; r < 50 && (r < 3 || performance.now() - start < 1000); r++) {
    const t = performance.now();
    out = h(inp.values);
    best = Math.min(best, performance.now() - t);
  }
  return { ms: best, firstMs, row: Array.from(out.data.subarray(0, 6)) };
}

async function measureTf(p: Problem, inp: Inputs): Promise<Measurement> {
  const tf = await import('@tensorflow/tfjs');
  await tf.setBackend('cpu');
  const f = p.tf(tf, inp);
  const N = numel(inp);
  const x = tf.tensor1d(Float32Array.from(inp.values[inp.wrt]!.data));
  const g = tf.grad(f as (x: import('@tensorflow/tfjs').Tensor) => import('@tensorflow/tfjs').Tensor);
  const row = (i: number): Float32Array =>
    tf.tidy(() => tf.grad((z: import('@tensorflow/tfjs').Tensor) => tf.sum(tf.gather(g(z).reshape([-1]), [i])))(x).dataSync() as Float32Array);
  // Warm-up.
  const first = row(0);
  row(Math.min(1, N - 1));
  const t0 = performance.now();
  let done = 0;
  for (let i = 0; i < N; i++) {
    row(i);
    done++;
    const elapsed = performance.now() - t0;
    if (done >= 10 && (elapsed / done) * N > ROW_BUDGET_MS) {
      return { ms: (elapsed / done) * N, estimated: true, note: `${done} of ${N} rows timed`, row: Array.from(first.subarray(0, 6)) };
    }
  }
  return { ms: performance.now() - t0, row: Array.from(first.subarray(0, 6)) };
}

async function measureJax(p: Problem, inp: Inputs): Promise<Measurement> {
  // jax-js tests `instanceof Float16Array`, which Node 20 does not have; no float16 data is used here.
  (globalThis as Record<string, unknown>).Float16Array ??= class Float16ArrayUnavailable {};
  const jax = await import('@jax-js/jax');
  await jax.init('wasm');
  const f = p.jax(jax, inp);
  const h = jax.jit(jax.hessian(f));
  const v = inp.values[inp.wrt]!;
  const arg = () => jax.numpy.array(v.data, { dtype: jax.numpy.float64 });
  const t0 = performance.now();
  // dataSync() takes ownership of the array (jax-js reference counting) and frees it.
  const data = h(arg()).dataSync() as Float64Array;
  const firstMs = performance.now() - t0;
  const row = Array.from(data.subarray(0, 6));
  let best = Infinity;
  const start = performance.now();
  for (let r = 0; r < 10 && (r < 1 || performance.now() - start < 3000); r++) {
    const t = performance.now();
    h(arg()).dataSync();
    best = Math.min(best, performance.now() - t);
  }
  return { ms: best, firstMs, row };
}

async function child(engine: Engine, problemId: string, n: number): Promise<void> {
  const p = PROBLEMS.find((q) => q.id === problemId)!;
  const inp = p.inputs(n, rng(n * 7919 + problemId.length));
  const m = engine === 'ricci' ? await measureRicci(p, inp) : engine === 'tfjs' ? await measureTf(p, inp) : await measureJax(p, inp);
  process.stdout.write(`RESULT ${JSON.stringify(m)}\n`);
}

function runChild(args: string[]): Measurement {
  const r = spawnSync(process.execPath, ['--import', 'tsx', SELF, '--child', ...args], {
    encoding: 'utf8',
    timeout: CHILD_TIMEOUT_MS,
    maxBuffer: 64 * 1024 * 1024,
  });
  const line = r.stdout?.split('\n').find((l) => l.startsWith('RESULT '));
  if (line) return JSON.parse(line.slice(7)) as Measurement;
  if (r.error && (r.error as NodeJS.ErrnoException).code === 'ETIMEDOUT') return { ms: null, note: `over ${CHILD_TIMEOUT_MS / 1000} s` };
  const err = (r.stderr ?? '').split('\n').filter((l) => /Error|memory/i.test(l))[0] ?? `exit ${r.status}`;
  return { ms: null, note: err.trim().slice(0, 120) };
}

function agree(a?: number[], b?: number[]): number | null {
  if (!a || !b || a.length === 0 || b.length === 0) return null;
  let d = 0;
  let s = 0;
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    d = Math.max(d, Math.abs(a[i]! - b[i]!));
    s = Math.max(s, Math.abs(b[i]!));
  }
  return d / Math.max(s, 1e-30);
}

const fmt = (ms: number | null | undefined): string => (ms === null || ms === undefined ? '—' : ms < 1 ? ms.toFixed(3) : ms < 100 ? ms.toFixed(2) : ms.toFixed(0));

async function hvpRows(): Promise<unknown[]> {
  const { hessian, hvp } = await import('../src/index.js');
  const rows: unknown[] = [];
  const time = (f: () => unknown): number => {
    f();
    let best = Infinity;
    const start = performance.now();
    for (let r = 0; r < 200 && (r < 3 || performance.now() - start < 500); r++) {
      const t = performance.now();
      f();
      best = Math.min(best, performance.now() - t);
    }
    return best;
  };
  for (const id of ['quadratic', 'logistic']) {
    const p = PROBLEMS.find((q) => q.id === id)!;
    const hv = hvp(p.expr, p.wrt).compile();
    const H = hessian(p.expr, p.wrt).compile();
    for (const n of p.sizes) {
      const inp = p.inputs(n, rng(n));
      const v = Float64Array.from({ length: n }, (_, i) => Math.sin(i));
      const vals = { ...inp.values, v };
      const closed = time(() => hv(vals));
      const formed = time(() => {
        const h = H(inp.values);
        const out = new Float64Array(n);
        for (let i = 0; i < n; i++) {
          let s = 0;
          for (let j = 0; j < n; j++) s += h.data[i * n + j]! * v[j]!;
          out[i] = s;
        }
        return out;
      });
      rows.push({ problem: id, n, closedFormMs: closed, formHessianThenMultiplyMs: formed, ratio: formed / closed });
    }
  }
  return rows;
}

async function main(): Promise<void> {
  const results: Record<string, unknown>[] = [];
  console.log('Hessian evaluation, ms (best after warm-up; peers in the same run, same inputs)');
  console.log(`${'problem'.padEnd(14)} ${'n'.padStart(5)} ${'ricci'.padStart(9)} ${'TF.js rows'.padStart(12)} ${'jax-js jit'.padStart(11)} ${'TF.js/ricci'.padStart(12)} ${'jax/ricci'.padStart(10)}  agree(tf, jax)`);
  for (const p of PROBLEMS) {
    for (const n of p.sizes) {
      const r = runChild(['ricci', p.id, String(n)]);
      const t = runChild(['tfjs', p.id, String(n)]);
      const j = runChild(['jax', p.id, String(n)]);
      const ratio = (peer: Measurement): number | null => (peer.ms !== null && r.ms ? peer.ms / r.ms : null);
      const rt = ratio(t);
      const rj = ratio(j);
      const at = agree(t.row, r.row);
      const aj = agree(j.row, r.row);
      results.push({ problem: p.id, title: p.title, n, ricci: r, tfjs: t, jax: j, tfjsOverRicci: rt, jaxOverRicci: rj, agreeTf: at, agreeJax: aj });
      console.log(
        `${p.id.padEnd(14)} ${String(n).padStart(5)} ${fmt(r.ms).padStart(9)} ${(fmt(t.ms) + (t.estimated ? ' est' : '')).padStart(12)} ${fmt(j.ms).padStart(11)} ${(rt ? rt.toFixed(0) + '×' : '—').padStart(12)} ${(rj ? rj.toFixed(1) + '×' : '—').padStart(10)}  ${at === null ? '—' : at.toExponential(0)}, ${aj === null ? '—' : aj.toExponential(0)}${t.note ? `  [TF.js: ${t.note}]` : ''}${j.note ? `  [jax: ${j.note}]` : ''}`,
      );
    }
  }
  console.log('\nHessian-vector products: closed-form hvp vs forming the Hessian and multiplying (ms)');
  const hv = await hvpRows();
  for (const row of hv as { problem: string; n: number; closedFormMs: number; formHessianThenMultiplyMs: number; ratio: number }[])
    console.log(`${row.problem.padEnd(14)} ${String(row.n).padStart(5)}  hvp ${fmt(row.closedFormMs).padStart(8)}   H then H*v ${fmt(row.formHessianThenMultiplyMs).padStart(8)}   ${row.ratio.toFixed(1)}×`);
  mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
  writeFileSync(new URL('./results/hessian.json', import.meta.url), JSON.stringify({ date: new Date().toISOString(), node: process.version, hessian: results, hvp: hv }, null, 2));
}

const argv = process.argv.slice(2);
if (argv[0] === '--child') await child(argv[1] as Engine, argv[2]!, Number(argv[3]));
else await main();
