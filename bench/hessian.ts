/**
 * Hessian evaluation: ricci's compiled closed form against peers measured in the same run, on the
 * same inputs (not a unit test).
 *
 *   npm run bench            (all benchmarks; this one alone: npx tsx bench/run.ts hessian.ts)
 *
 * The inputs of each problem and size are written once to bench/results/inputs/ (raw float64 and
 * a manifest) and every engine reads them there. Peers:
 * - NumPy: the Hessian's closed form written by hand (A + A.T, X.T @ (s[:, None] * X), …), and
 *   PyTorch torch.autograd.functional.hessian(vectorize=True), both from bench/peers.py under
 *   /usr/bin/python3 when it has them (never installed here: "skipped" otherwise), with
 *   OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE removed from that child's environment and every core
 *   allowed; the BLAS, kernel and thread count that ran are printed first;
 * - TensorFlow.js (CPU backend, float32 — its only precision) building the Hessian row by row from
 *   gradients (one second-order pass per row), and jax-js `jit(hessian(f))` on its wasm backend
 *   (float64).
 * Every measurement runs in its own child process with a time limit; times are the best after a
 * warm-up call (ricci, whose plan steps V8 optimises as they run: up to 200 calls or 300 ms).
 * Where a full row-by-row Hessian would take more than 20 s, the time of the rows measured is
 * extrapolated and marked "est". Node children run in this process's environment (run.ts asks
 * glibc for transparent huge pages, bench/pages.ts); ricci's fresh result is also timed in a child
 * on 4 KB pages ("4 KB pages"). ricci is also timed writing into a caller's buffer (out), into
 * out with every input but the variable in a resident array (residentArray), and as a structured
 * result (evaluation plus one matvec: the Hessian never formed; its fixed inputs resident too, as
 * a Newton loop over fixed data keeps them).
 * Hessian-vector products in closed form are compared with forming the Hessian and multiplying.
 * Writes bench/results/hessian.json. RICCI_BENCH_MAX_N=300 leaves out the larger sizes, and
 * RICCI_BENCH_PROBLEMS=logistic,mds the other problems (quick runs).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { PROBLEMS, rng, type Problem, type Inputs } from './problems.js';
import { measurePageFault } from './ceiling.js';
import { asksHugePages, withoutHugePages } from './pages.js';

type Engine = 'ricci' | 'structured' | 'tfjs' | 'jax';

interface Measurement {
  ms: number | null;
  estimated?: boolean;
  firstMs?: number;
  note?: string;
  /** The first entries of the Hessian (row 0), to check that the engines agree. */
  row?: number[];
  /** ricci: the same call writing into a caller's buffer; and so with the inputs other than the variable resident. */
  outMs?: number;
  residentMs?: number;
  /** structured: kind, evaluation and one matvec. */
  kind?: string;
  evalMs?: number;
  matvecMs?: number;
  /** Which kernels ran (ricci). */
  kernel?: unknown;
}

const SELF = fileURLToPath(import.meta.url);
const PEERS = fileURLToPath(new URL('./peers.py', import.meta.url));
const INPUTS = fileURLToPath(new URL('./results/inputs/', import.meta.url));
const PYTHON = '/usr/bin/python3';
const CHILD_TIMEOUT_MS = 240_000;
const ROW_BUDGET_MS = 20_000;
/** jax-js jit(hessian) batches one pass per entry of wrt: skipped where that needs more than this many doubles. */
const JAX_MAX_BATCH = 5e8;

// ---------------------------------------------------------------- inputs shared by all engines

const dirOf = (p: Problem, n: number): string => `${INPUTS}${p.id}-${n}/`;

/**
 * Entries of the largest tensor one backward pass forms: the batched autodiff peers (PyTorch
 * vectorize=True, jax-js jit(hessian)) hold one per entry of wrt at once, so this decides whether
 * they fit in memory.
 */
function intermediate(p: Problem, inp: Inputs): number {
  const v = inp.values;
  switch (p.id) {
    case 'quadratic':
      return v.x!.data.length;
    case 'logistic':
      return v.y!.data.length;
    case 'factorization':
      return v.T!.data.length;
    default:
      return v.D!.data.length;
  }
}

function writeInputs(p: Problem, n: number): void {
  const inp = p.inputs(n, rng(n * 7919 + p.id.length));
  const dir = dirOf(p, n);
  mkdirSync(dir, { recursive: true });
  const shapes: Record<string, number[]> = {};
  for (const [name, v] of Object.entries(inp.values)) {
    shapes[name] = v.shape;
    writeFileSync(`${dir}${name}.f64`, new Uint8Array(v.data.buffer, v.data.byteOffset, v.data.byteLength));
  }
  writeFileSync(`${dir}manifest.json`, JSON.stringify({ wrt: inp.wrt, shapes, intermediate: intermediate(p, inp) }));
}

function readInputs(p: Problem, n: number): Inputs {
  const dir = dirOf(p, n);
  const m = JSON.parse(readFileSync(`${dir}manifest.json`, 'utf8')) as { wrt: string; shapes: Record<string, number[]> };
  const values: Inputs['values'] = {};
  for (const [name, shape] of Object.entries(m.shapes)) {
    const b = readFileSync(`${dir}${name}.f64`);
    const data = new Float64Array(b.byteLength / 8);
    new Uint8Array(data.buffer).set(b);
    (values as Record<string, { shape: number[]; data: Float64Array }>)[name] = { shape, data };
  }
  return { wrt: m.wrt, values };
}

function numel(inp: Inputs): number {
  return inp.values[inp.wrt]!.data.length;
}

// ---------------------------------------------------------------- engines (each in a child)

/**
 * The best time of each of `fs`, timed in interleaved rounds of `block` calls each until every one
 * has `maxRuns` calls or the budget (`budgetMs` per function) is spent. Interleaving spreads each
 * function's calls over the whole measurement, so that a burst of another process's work on this
 * shared machine (which can take a core for a second) slows some calls of each rather than every
 * call of one.
 */
function bestEach(fs: (() => unknown)[], budgetMs = 1000, maxRuns = 200, block = 5): number[] {
  const bestMs = fs.map(() => Infinity);
  const runs = fs.map(() => 0);
  const start = performance.now();
  for (let active = true; active; ) {
    active = false;
    for (let i = 0; i < fs.length; i++) {
      if (runs[i]! >= maxRuns || (runs[i]! >= 3 && performance.now() - start >= budgetMs * fs.length)) continue;
      active = true;
      for (let b = 0; b < block && runs[i]! < maxRuns; b++, runs[i]!++) {
        const t = performance.now();
        fs[i]!();
        bestMs[i] = Math.min(bestMs[i]!, performance.now() - t);
      }
    }
  }
  return bestMs;
}

/** The best time of f: at least 3 calls, then more until `budgetMs` is spent or `maxRuns` made. */
function best(f: () => unknown, budgetMs = 1000, maxRuns = 50): number {
  return bestEach([f], budgetMs, maxRuns, 1)[0]!;
}

/** Calls f for up to `budgetMs` or `calls` calls (JIT warm-up before a timing). */
function warmUp(f: () => unknown, budgetMs = 300, calls = 200): void {
  const start = performance.now();
  for (let r = 0; r < calls && performance.now() - start < budgetMs; r++) f();
}

async function measureRicci(p: Problem, inp: Inputs): Promise<Measurement> {
  const { hessian, kernelInfo } = await import('../src/index.js');
  const h = hessian(p.expr, p.wrt, { let: p.let ?? {} }).compile();
  const t0 = performance.now();
  const out = h(inp.values);
  const firstMs = performance.now() - t0;
  // Both ways warmed alike before timing: V8 optimises a compiled function's JS steps over its
  // first calls, and a Newton loop runs it warm. Timed after a single call, the logistic Hessian
  // at n = 100 measured 0.201 ms with a fresh buffer (0.137 into out, timed after it); warm, 0.136.
  const buf = new Float64Array(out.data.length);
  // The third way: into out, with the fixed inputs resident, as a loop that holds its data there.
  // The fresh buffer of the first way pays the first touch of its pages (see measurePageFault),
  // which on these virtual machines differs between processes with where the allocator puts it.
  const res = (await residentInputs(inp)).values;
  warmUp(() => (h(inp.values), h(inp.values, { out: buf }), h(res, { out: buf })));
  const [ms, outMs, residentMs] = bestEach([() => h(inp.values), () => h(inp.values, { out: buf }), () => h(res, { out: buf })]);
  h(inp.values);
  const kernel = kernelInfo();
  return { ms, outMs, residentMs, firstMs, row: Array.from(out.data.subarray(0, 6)), kernel };
}

/**
 * The inputs with every one but the variable copied into resident arrays: the data a Newton loop
 * keeps fixed (X, D, T) lies where the kernels read it, as a user who calls residentArray has it.
 */
async function residentInputs(inp: Inputs): Promise<Inputs> {
  const { residentArray } = await import('../src/index.js');
  const resident = (data: Float64Array): Float64Array => {
    const r = residentArray(data.length);
    r.set(data);
    return r;
  };
  return { ...inp, values: Object.fromEntries(Object.entries(inp.values).map(([name, t]) => [name, name === inp.wrt ? t : { shape: t.shape, data: resident(t.data) }])) };
}

async function measureStructured(p: Problem, inp0: Inputs): Promise<Measurement> {
  const { hessian } = await import('../src/index.js');
  const inp = await residentInputs(inp0);
  const f = hessian(p.expr, p.wrt, { let: p.let ?? {} }).compile({ structured: true });
  const s = f(inp.values);
  const v = Float64Array.from({ length: s.size }, (_, i) => Math.sin(i));
  const y = new Float64Array(s.size);
  warmUp(() => f(inp.values).matvec(v, y));
  // Microseconds each: 50 runs are over in a few ms, which one burst of another process's work
  // on this shared machine can cover (a 0.02 ms matvec once measured 0.12); take more.
  // The matvecs of the latest result, as a Newton-CG step runs them (the first matvec after an
  // evaluation may read what the evaluation left in the kernels' memory), and the two together.
  let latest = f(inp.values);
  const [evalMs, matvecMs, ms] = bestEach(
    [() => (latest = f(inp.values)), () => latest.matvec(v, y), () => (latest = f(inp.values)).matvec(v, y)],
    1000,
    1000,
  );
  return { ms, evalMs, matvecMs, kind: s.kind };
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
  const batch = numel(inp) * intermediate(p, inp);
  if (batch > JAX_MAX_BATCH) return { ms: null, note: `skipped: jit(hessian) batches ${numel(inp)} passes over ${intermediate(p, inp)}-entry tensors` };
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
  const ms = best(() => h(arg()).dataSync(), 3000, 10);
  return { ms, firstMs, row };
}

async function child(engine: Engine, problemId: string, n: number): Promise<void> {
  const p = PROBLEMS.find((q) => q.id === problemId)!;
  const inp = readInputs(p, n);
  const run = { ricci: measureRicci, structured: measureStructured, tfjs: measureTf, jax: measureJax }[engine];
  process.stdout.write(`RESULT ${JSON.stringify(await run(p, inp))}\n`);
}

function parseResult(stdout: string | undefined): Record<string, unknown> | undefined {
  const line = stdout?.split('\n').find((l) => l.startsWith('RESULT '));
  return line ? (JSON.parse(line.slice(7)) as Record<string, unknown>) : undefined;
}

function failure(r: ReturnType<typeof spawnSync>): Measurement {
  if (r.error && (r.error as NodeJS.ErrnoException).code === 'ETIMEDOUT') return { ms: null, note: `over ${CHILD_TIMEOUT_MS / 1000} s` };
  const err = String(r.stderr ?? '')
    .split('\n')
    .filter((l) => /Error|memory/i.test(l))[0];
  return { ms: null, note: (err ?? `exit ${r.status}`).trim().slice(0, 120) };
}

function runChild(args: string[], env: NodeJS.ProcessEnv = process.env): Measurement {
  // The same node flags as this process (--experimental-wasm-relaxed-simd where run.ts passed it).
  const r = spawnSync(process.execPath, [...process.execArgv, SELF, '--child', ...args], {
    encoding: 'utf8',
    env,
    timeout: CHILD_TIMEOUT_MS,
    maxBuffer: 64 * 1024 * 1024,
  });
  return (parseResult(r.stdout) as Measurement | undefined) ?? failure(r);
}

// ---------------------------------------------------------------- Python peers

/** The Python child's environment: OpenBLAS picks its own kernel and uses every core. */
function pythonEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, OPENBLAS_VERBOSE: '2' };
  delete env.OPENBLAS_CORETYPE;
  delete env.OPENBLAS_L2_SIZE;
  for (const k of ['OPENBLAS_NUM_THREADS', 'OMP_NUM_THREADS', 'MKL_NUM_THREADS']) delete env[k];
  return env;
}

let pythonMissing: string | null | undefined;
/** Why the Python peers cannot run, or null when they can. */
function pythonSkipReason(): string | null {
  if (pythonMissing !== undefined) return pythonMissing;
  if (!existsSync(PYTHON)) return (pythonMissing = `skipped: no ${PYTHON}`);
  const r = runPython(['info']);
  pythonMissing = r.skipped ? `skipped: ${String(r.skipped).replace(/^skipped: /, '')}` : null;
  return pythonMissing;
}

function runPython(args: string[]): Record<string, unknown> {
  const r = spawnSync(PYTHON, [PEERS, ...args], { encoding: 'utf8', timeout: CHILD_TIMEOUT_MS, env: pythonEnv(), maxBuffer: 64 * 1024 * 1024 });
  const res = parseResult(r.stdout);
  if (!res) return failure(r) as unknown as Record<string, unknown>;
  // OPENBLAS_VERBOSE=2: OpenBLAS names the kernel it picked ("Core: SkylakeX") on stderr.
  const core = /Core:\s*(\S+)/.exec(String(r.stderr ?? ''));
  if (core) res.openblasCore = core[1];
  return res;
}

function python(engine: 'numpy' | 'torch', p: Problem, n: number): Measurement {
  const skip = pythonSkipReason();
  if (skip) return { ms: null, note: skip };
  return runPython([engine, p.id, dirOf(p, n)]) as unknown as Measurement;
}

// ---------------------------------------------------------------- report

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
const ratio = (a: number | null | undefined, b: number | null | undefined, digits = 1): string => (a && b ? `${(a / b).toFixed(digits)}×` : '—');
const ex = (x: number | null): string => (x === null ? '—' : x.toExponential(0));

async function hvpRows(): Promise<unknown[]> {
  const { hessian, hvp } = await import('../src/index.js');
  const rows: unknown[] = [];
  for (const id of ['quadratic', 'logistic']) {
    const p = PROBLEMS.find((q) => q.id === id)!;
    const hv = hvp(p.expr, p.wrt).compile();
    const H = hessian(p.expr, p.wrt).compile();
    for (const n of sizesOf(p)) {
      const inp = readInputs(p, n);
      const v = Float64Array.from({ length: n }, (_, i) => Math.sin(i));
      const vals = { ...inp.values, v };
      hv(vals);
      const closed = best(() => hv(vals), 500, 200);
      const formed = best(() => {
        const h = H(inp.values);
        const out = new Float64Array(n);
        for (let i = 0; i < n; i++) {
          let s = 0;
          for (let j = 0; j < n; j++) s += h.data[i * n + j]! * v[j]!;
          out[i] = s;
        }
        return out;
      }, 500, 200);
      rows.push({ problem: id, n, closedFormMs: closed, formHessianThenMultiplyMs: formed, ratio: formed / closed });
    }
  }
  return rows;
}

const MAX_N = Number(process.env.RICCI_BENCH_MAX_N ?? Infinity);
const ONLY = process.env.RICCI_BENCH_PROBLEMS?.split(',').map((s) => s.trim());
const sizesOf = (p: Problem): readonly number[] => (ONLY && !ONLY.includes(p.id) ? [] : p.sizes.filter((n) => n <= MAX_N));

async function main(): Promise<void> {
  for (const p of PROBLEMS) for (const n of sizesOf(p)) writeInputs(p, n);
  const skip = pythonSkipReason();
  const info = skip ? null : runPython(['info']);
  if (skip) console.log(`NumPy / PyTorch peers: ${skip}`);
  else {
    const i = info as { numpy: string; libraries: string[]; kernel: string | null; threads: number | null; openblasCore?: string; torch: string | null; torchThreads: number };
    console.log(`NumPy ${i.numpy}: ${i.libraries.join(', ') || 'BLAS library not found'}; kernel ${i.openblasCore ?? i.kernel ?? 'unknown'}; ${i.threads ?? '?'} thread(s)`);
    console.log(i.torch ? `PyTorch ${i.torch}: ${i.torchThreads} thread(s)` : 'PyTorch: skipped: no torch');
  }
  const pageFaultUs = measurePageFault();
  const hugePages = asksHugePages(process.env);
  console.log(
    `A fresh buffer's pages: ${pageFaultUs.toFixed(2)} µs per 4 KB of a new 64 MB Float64Array at first touch, ${hugePages ? `on transparent huge pages (GLIBC_TUNABLES=${process.env.GLIBC_TUNABLES}); "4 KB pages" times ricci's fresh result without them` : 'on 4 KB pages'} (the "ricci" column pays it, "ricci out" does not)`,
  );
  const results: Record<string, unknown>[] = [];
  console.log('\nHessian evaluation, ms (best after warm-up; peers in the same run, same inputs)');
  console.log(
    `${'problem'.padEnd(14)} ${'n'.padStart(5)} ${'ricci'.padStart(9)} ${'4 KB pages'.padStart(10)} ${'ricci out'.padStart(9)} ${'resident'.padStart(9)} ${'NumPy'.padStart(9)} ${'ricci/NumPy'.padStart(11)} ${'PyTorch'.padStart(9)} ${'Torch/ricci'.padStart(11)} ${'TF.js rows'.padStart(12)} ${'TF/ricci'.padStart(9)} ${'jax-js'.padStart(9)} ${'jax/ricci'.padStart(9)}  agree(np, torch, tf, jax)`,
  );
  for (const p of PROBLEMS) {
    for (const n of sizesOf(p)) {
      const r = runChild(['ricci', p.id, String(n)]);
      const small = hugePages ? runChild(['ricci', p.id, String(n)], withoutHugePages(process.env)) : null;
      const np = python('numpy', p, n);
      const th = python('torch', p, n);
      const t = runChild(['tfjs', p.id, String(n)]);
      const j = runChild(['jax', p.id, String(n)]);
      const s = runChild(['structured', p.id, String(n)]);
      const row = { problem: p.id, title: p.title, n, ricci: r, ricciSmallPagesMs: small?.ms ?? null, structured: s, numpy: np, torch: th, tfjs: t, jax: j };
      results.push(row);
      const notes = [np.note && `NumPy: ${np.note}`, th.note && `PyTorch: ${th.note}`, t.note && `TF.js: ${t.note}`, j.note && `jax: ${j.note}`].filter(Boolean);
      console.log(
        `${p.id.padEnd(14)} ${String(n).padStart(5)} ${fmt(r.ms).padStart(9)} ${fmt(small?.ms).padStart(10)} ${fmt(r.outMs).padStart(9)} ${fmt(r.residentMs).padStart(9)} ${fmt(np.ms).padStart(9)} ${ratio(r.ms, np.ms, 2).padStart(11)} ${fmt(th.ms).padStart(9)} ${ratio(th.ms, r.ms).padStart(11)} ${(fmt(t.ms) + (t.estimated ? ' est' : '')).padStart(12)} ${ratio(t.ms, r.ms, 0).padStart(9)} ${fmt(j.ms).padStart(9)} ${ratio(j.ms, r.ms, 0).padStart(9)}  ${ex(agree(np.row, r.row))}, ${ex(agree(th.row, r.row))}, ${ex(agree(t.row, r.row))}, ${ex(agree(j.row, r.row))}${notes.length ? `  [${notes.join('; ')}]` : ''}`,
      );
    }
  }
  console.log('\nResident inputs (ricci into out, every input but the variable in a resident array), against the peers above');
  console.log(`${'problem'.padEnd(14)} ${'n'.padStart(5)} ${'resident'.padStart(9)} ${'ricci/NumPy'.padStart(11)} ${'Torch/ricci'.padStart(11)} ${'TF/ricci'.padStart(9)}`);
  for (const row of results as { problem: string; n: number; ricci: Measurement; numpy: Measurement; torch: Measurement; tfjs: Measurement }[]) {
    const ms = row.ricci.residentMs ?? null;
    console.log(
      `${row.problem.padEnd(14)} ${String(row.n).padStart(5)} ${fmt(ms).padStart(9)} ${ratio(ms, row.numpy.ms, 2).padStart(11)} ${ratio(row.torch.ms, ms).padStart(11)} ${ratio(row.tfjs.ms, ms, 0).padStart(9)}`,
    );
  }
  console.log('\nStructured Hessians: evaluation + one matvec, never the dense matrix (ms; fixed inputs resident), against forming it');
  console.log(`${'problem'.padEnd(14)} ${'n'.padStart(5)} ${'kind'.padStart(9)} ${'eval'.padStart(9)} ${'matvec'.padStart(9)} ${'eval+matvec'.padStart(11)} ${'ricci dense'.padStart(11)} ${'NumPy dense'.padStart(11)} ${'NumPy/struct'.padStart(12)} ${'dense/NumPy'.padStart(11)}`);
  for (const row of results as { problem: string; n: number; structured: Measurement; ricci: Measurement; numpy: Measurement }[]) {
    const s = row.structured;
    console.log(
      `${row.problem.padEnd(14)} ${String(row.n).padStart(5)} ${(s.kind ?? '—').padStart(9)} ${fmt(s.evalMs).padStart(9)} ${fmt(s.matvecMs).padStart(9)} ${fmt(s.ms).padStart(11)} ${fmt(row.ricci.ms).padStart(11)} ${fmt(row.numpy.ms).padStart(11)} ${ratio(row.numpy.ms, s.ms, 0).padStart(12)} ${ratio(row.ricci.ms, row.numpy.ms, 2).padStart(11)}${s.note ? `  [${s.note}]` : ''}`,
    );
  }
  console.log('\nHessian-vector products: closed-form hvp vs forming the Hessian and multiplying (ms)');
  const hv = await hvpRows();
  for (const row of hv as { problem: string; n: number; closedFormMs: number; formHessianThenMultiplyMs: number; ratio: number }[])
    console.log(`${row.problem.padEnd(14)} ${String(row.n).padStart(5)}  hvp ${fmt(row.closedFormMs).padStart(8)}   H then H*v ${fmt(row.formHessianThenMultiplyMs).padStart(8)}   ${row.ratio.toFixed(1)}×`);
  mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
  writeFileSync(
    new URL('./results/hessian.json', import.meta.url),
    JSON.stringify({ date: new Date().toISOString(), node: process.version, execArgv: process.execArgv, glibcTunables: process.env.GLIBC_TUNABLES ?? null, python: info, pageFaultUs, hessian: results, hvp: hv }, null, 2),
  );
  rmSync(INPUTS, { recursive: true, force: true });
}

const argv = process.argv.slice(2);
if (argv[0] === '--child') await child(argv[1] as Engine, argv[2]!, Number(argv[3]));
else await main();
