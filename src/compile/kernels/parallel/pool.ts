/**
 * Workers that run the gemm macro-kernel on a shared WebAssembly.Memory, so that a large product
 * uses every core while the compiled function's API stays synchronous.
 *
 * The calling thread packs the panels into the shared memory (it alone can read the caller's
 * arrays), then every thread — the caller and each worker — claims chunks of C's row panels from
 * a shared counter until none are left (a thread slowed by another process on its core takes
 * fewer), and the caller waits on an Atomics barrier until every thread is done. Workers run
 * only fixed code (the WORKER_MAIN source below and the kernel modules emitted by this library);
 * a job is numbers.
 *
 * Hosts: Node's worker_threads (unref'd, so they never keep a process alive), and Web Workers
 * in browsers that are cross-origin isolated (SharedArrayBuffer) — from a worker only: a
 * browser's main thread may not block in Atomics.wait, so there products stay on one thread.
 * Workers start lazily, on the first product large enough to split, and without waiting: until
 * one reports ready, products run on the calling thread alone.
 */

// Control block (Int32Array over a SharedArrayBuffer).
const GEN = 0; // job generation: the caller increments it to post a job
const DONE = 1; // workers that finished the current job
const READY = 2; // workers that are running and waiting for jobs
const FAILED = 3; // set by a worker whose kernel threw
const NEXT = 4; // gemm: the next unclaimed row panel, relative to the job's first
const FLAG = 5; // symeq: set by a thread that found an unequal pair
const RANGE = 6; // symeq: the unclaimed tiles [lo, hi), as lo | hi << 16
const PROGRESS = 7; // symeq: tiles from this one on are in the memory (the caller copies them)
const READY_FLAGS = 8; // ctl[READY_FLAGS + w] = 1 once worker w runs (they start in any order)
/** Most workers a pool starts. */
export const MAX_WORKERS = 7;
const CTL_INTS = READY_FLAGS + MAX_WORKERS;
/** Job arguments per worker (Float64Array slots): kind, from, to, up to 12 arguments, active. */
const SLOT = 16;
const MAX_ARGS = 12;
const ACTIVE = 15;
/**
 * Polls of a shared counter before Atomics.wait, by a worker between jobs and by the caller at
 * the barrier: ≈ 0.7 ms here. Waking from Atomics.wait costs tens of microseconds, and up to
 * ≈ 0.15 ms on this shared machine: 20 000 polls (≈ 0.14 ms) covered the gap between two k
 * blocks of a mid-sized product (logistic Hessian at n = 300, three k blocks: 1.95 → 1.85 ms
 * against no polling) but not the ≈ 0.2 ms of JS work between the symmetric check of the MDS
 * Hessian's evaluation and the thin product of its matvec, which then waited for the worker to
 * wake (evaluation + matvec at n = 1000, 600 calls interleaved: best 1.107 → 0.955 ms, median
 * 1.72 → 1.23 with 100 000 polls). A worker polls for at most this long after its last job.
 */
const SPIN = 100000;

/**
 * The worker's whole program. A job names its kind and a range of the work:
 *   kind 0, gemm: MR-row panels [from, to) of the packed A block, shared by every thread: each
 *     claims `chunk` panels at a time from ctl[NEXT] (as runPanelsShared does on the calling thread);
 *   kind 1, symsum: block rows [from, to) of C = c·(A + A') (wasm/symsumKernel.ts);
 *   kind 2, thin: rows [from, to) of C = A·Bt' on rowblock{nc} (wasm/thinKernel.ts);
 *   kind 3, mirror: block rows [from, to) of the upper triangle copied onto the lower one
 *     (symsum's module);
 *   kind 4, symeq: tiles of the symmetric test (wasm/symeqKernel.ts), claimed from the bottom
 *     (RANGE's hi) while the caller copies the matrix in from the bottom up (a tile's pairs lie
 *     in its rows and those below: it can run once PROGRESS reaches it) and then claims from
 *     the top; a thread that finds an unequal pair sets FLAG. Each thread adds row sums into
 *     its own n doubles (args: a, ld, nb, tb, first row sums, bytes between two threads' sums).
 * Errors are reported through FAILED, never thrown past the barrier (the caller would wait for
 * ever).
 */
const WORKER_MAIN = `function ricciKernelWorker(init) {
  const ctl = init.ctl, args = init.args, index = init.index, MR = init.mr;
  const instance = (m) => (m ? new WebAssembly.Instance(m, { env: { memory: init.memory } }).exports : null);
  const gemm = init.gemm.map((m) => instance(m)?.kernel ?? null);
  const sym = instance(init.symsum);
  const symsum = sym?.symsum ?? null, mirror = sym?.mirror ?? null;
  const thin = instance(init.thin);
  const symeq = instance(init.symeq)?.symeq ?? null;
  // Read the generation before saying ready: a job posted after the caller saw this worker
  // ready changes it, so the wait below cannot miss it.
  let gen = Atomics.load(ctl, ${GEN});
  Atomics.store(ctl, ${READY_FLAGS} + index, 1);
  Atomics.add(ctl, ${READY}, 1);
  Atomics.notify(ctl, ${READY});
  for (;;) {
    // A product posts its k blocks back to back: poll a while before sleeping (waking from
    // Atomics.wait takes tens of microseconds, a k block of a mid-sized product a few hundred).
    for (let s = 0; s < ${SPIN} && Atomics.load(ctl, ${GEN}) === gen; s++);
    Atomics.wait(ctl, ${GEN}, gen);
    gen = Atomics.load(ctl, ${GEN});
    const o = index * ${SLOT};
    if (args[o + ${ACTIVE}] !== 1) continue;
    try {
      const from = args[o + 1], to = args[o + 2], x = o + 3;
      if (args[o] === 0) {
        const kern = gemm[args[x]];
        const a = args[x + 1], b = args[x + 2], c = args[x + 3], ldc = args[x + 4], kc = args[x + 5], nt = args[x + 6];
        const mode = args[x + 7], tri = args[x + 8], alpha = args[x + 9], beta = args[x + 10], chunk = args[x + 11];
        for (;;) {
          const i = from + Atomics.add(ctl, ${NEXT}, chunk);
          if (i >= to) break;
          const cnt = to - i < chunk ? to - i : chunk;
          kern(a + i * MR * kc * 8, b, c + i * MR * ldc, ldc, cnt, nt, kc, mode, tri - i * MR, alpha, beta);
        }
      } else if (args[o] === 1) {
        symsum(args[x], args[x + 1], args[x + 2], args[x + 3], args[x + 4], args[x + 5], from, to);
      } else if (args[o] === 2) {
        const nc = args[x], lda = args[x + 2];
        thin['rowblock' + nc](args[x + 1] + from * lda, lda, to - from, args[x + 3], args[x + 4], args[x + 5] + from * nc * 8);
      } else if (args[o] === 3) {
        mirror(args[x], args[x + 1], args[x + 2], args[x + 3], from, to);
      } else {
        const nb = args[x + 2], tb = args[x + 3], rs = args[x + 4] + (index + 1) * args[x + 5];
        for (;;) {
          const c = Atomics.load(ctl, ${RANGE});
          const lo = c & 0xffff, hi = c >>> 16;
          if (lo >= hi) break;
          if (Atomics.compareExchange(ctl, ${RANGE}, c, lo | ((hi - 1) << 16)) !== c) continue;
          const t = hi - 1;
          while (Atomics.load(ctl, ${PROGRESS}) > t);
          if (symeq(args[x], args[x + 1], nb, tb, rs, t * tb, Math.min(nb, (t + 1) * tb)) !== 1) Atomics.store(ctl, ${FLAG}, 1);
        }
      }
    } catch (e) {
      Atomics.store(ctl, ${FAILED}, 1);
    }
    Atomics.add(ctl, ${DONE}, 1);
    Atomics.notify(ctl, ${DONE});
  }
}`;

/** Job kinds (what a worker runs; see WORKER_MAIN). */
export const JOB_GEMM = 0;
export const JOB_SYMSUM = 1;
export const JOB_THIN = 2;
export const JOB_MIRROR = 3;
export const JOB_SYMEQ = 4;

/** The product every thread runs a range of (see the kernel's arguments in gemmKernel.ts). */
export interface PanelJob {
  /** Index of the kernel variant (runtime.VARIANTS). */
  readonly variant: number;
  /** Byte addresses of the packed A block (panel 0), packed B block and the C buffer (row 0). */
  readonly a: number;
  readonly b: number;
  readonly c: number;
  /** Row stride of the C buffer in bytes. */
  readonly ldc: number;
  readonly kc: number;
  readonly nt: number;
  readonly mode: number;
  /** Triangle offset for panel 0 (TRI_ALL: every tile). */
  readonly tri: number;
  readonly alpha: number;
  readonly beta: number;
  /** Row panels per kernel call: per claim when threads share the job, else an L2-sized block of packed A. */
  readonly chunk: number;
}

/** A gemm job's arguments in the order WORKER_MAIN reads them. */
export function panelArgs(j: PanelJob): number[] {
  return [j.variant, j.a, j.b, j.c, j.ldc, j.kc, j.nt, j.mode, j.tri, j.alpha, j.beta, j.chunk];
}

type KernelFn = (a: number, b: number, c: number, ldc: number, mt: number, nt: number, kc: number, mode: number, tri: number, alpha: number, beta: number) => void;

/** Row panels [from, to) of a job on the calling thread alone, `chunk` panels per kernel call. */
export function runPanels(kern: KernelFn, job: PanelJob, from: number, to: number, mr: number): void {
  for (let i = from; i < to; i += job.chunk) runChunk(kern, job, i, to - i < job.chunk ? to - i : job.chunk, mr);
}

function runChunk(kern: KernelFn, job: PanelJob, i: number, cnt: number, mr: number): void {
  kern(job.a + i * mr * job.kc * 8, job.b, job.c + i * mr * job.ldc, job.ldc, cnt, job.nt, job.kc, job.mode, job.tri - i * mr, job.alpha, job.beta);
}

/** The modules a worker instantiates on the shared memory. */
export interface WorkerModules {
  /** The gemm kernel per variant (runtime.VARIANTS order); null where it does not validate. */
  readonly gemm: readonly (WebAssembly.Module | null)[];
  readonly symsum: WebAssembly.Module | null;
  readonly thin: WebAssembly.Module | null;
  readonly symeq: WebAssembly.Module | null;
}

interface Host {
  /** Start a worker running WORKER_MAIN with `init`; `failed` is called if it cannot start or dies. */
  spawn(init: Record<string, unknown>, failed: (e: unknown) => void): void;
  /** Cores of the machine. */
  cores: number;
}

let hostCache: Host | null | undefined;

/** The worker host of this environment, or null where workers cannot share memory with this thread. */
export function parallelHost(): Host | null {
  if (hostCache === undefined) hostCache = detectHost();
  return hostCache;
}

function canBlock(): boolean {
  try {
    // Throws on a browser's main thread; returns 'not-equal' at once elsewhere.
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 1, 0);
    return true;
  } catch {
    return false;
  }
}

interface NodeWorker {
  unref(): void;
  on(event: 'error', f: (e: unknown) => void): void;
}
interface NodeProcess {
  getBuiltinModule?: (id: string) => unknown;
  versions?: { node?: string };
}

function detectHost(): Host | null {
  if (typeof SharedArrayBuffer !== 'function' || typeof Atomics !== 'object' || !canBlock()) return null;
  const proc = (globalThis as { process?: NodeProcess }).process;
  if (proc?.versions?.node && typeof proc.getBuiltinModule === 'function') {
    const wt = proc.getBuiltinModule('node:worker_threads') as
      | { Worker: new (src: string, opts: { eval: true; workerData: unknown }) => NodeWorker }
      | undefined;
    const os = proc.getBuiltinModule('node:os') as { availableParallelism?: () => number; cpus(): unknown[] } | undefined;
    if (!wt) return null;
    // getBuiltinModule, not require: the worker inherits the parent's options, and under
    // --input-type=module its eval'd source is a module, where require is not defined.
    const source = `${WORKER_MAIN}\nricciKernelWorker(process.getBuiltinModule('node:worker_threads').workerData);`;
    return {
      cores: os?.availableParallelism?.() ?? os?.cpus().length ?? 1,
      spawn(init, failed) {
        const w = new wt.Worker(source, { eval: true, workerData: init });
        // Never keep the process alive; a worker that fails to start simply never reports ready.
        w.unref();
        w.on('error', failed);
      },
    };
  }
  const g = globalThis as {
    Worker?: new (url: string) => { postMessage(m: unknown): void; onerror: ((e: unknown) => void) | null };
    Blob?: typeof Blob;
    URL?: typeof URL;
    navigator?: { hardwareConcurrency?: number };
  };
  if (typeof g.Worker === 'function' && typeof g.Blob === 'function' && typeof g.URL?.createObjectURL === 'function') {
    const source = `${WORKER_MAIN}\nself.onmessage = (e) => { self.onmessage = null; ricciKernelWorker(e.data); };`;
    let url: string | null = null;
    return {
      cores: g.navigator?.hardwareConcurrency ?? 1,
      spawn(init, failed) {
        url ??= g.URL!.createObjectURL(new g.Blob!([source], { type: 'text/javascript' }));
        const w = new g.Worker!(url);
        w.onerror = failed;
        w.postMessage(init);
      },
    };
  }
  return null;
}

function describe(e: unknown): string {
  const m = (e as { message?: unknown } | null)?.message;
  return typeof m === 'string' ? m : String(e);
}

/** Workers sharing one memory, started lazily, and the barrier that runs a job on all of them. */
export class WorkerPool {
  private readonly ctl = new Int32Array(new SharedArrayBuffer(CTL_INTS * 4));
  private readonly args = new Float64Array(new SharedArrayBuffer(MAX_WORKERS * SLOT * 8));
  private started = 0;
  /** Why a worker could not start or died, for kernelInfo (products then stay on fewer threads). */
  error: string | null = null;

  constructor(
    private readonly memory: WebAssembly.Memory,
    private readonly modules: WorkerModules,
    private readonly mr: number,
  ) {}

  /** Whether the workers can run gemm kernel variant `v` (its shared module compiled when the pool started). */
  supports(v: number): boolean {
    return this.modules.gemm[v] != null;
  }

  /** Whether the workers can run the kernel of a job kind other than gemm (JOB_SYMSUM, JOB_MIRROR, JOB_THIN, JOB_SYMEQ). */
  supportsJob(kind: number): boolean {
    const m = kind === JOB_SYMSUM || kind === JOB_MIRROR ? this.modules.symsum : kind === JOB_THIN ? this.modules.thin : kind === JOB_SYMEQ ? this.modules.symeq : null;
    return m !== null;
  }

  /** Workers running and waiting for jobs. */
  ready(): number {
    return Atomics.load(this.ctl, READY);
  }

  /** Workers started so far (ready or still starting). */
  startedCount(): number {
    return this.started;
  }

  /** Start workers up to `n` (at most MAX_WORKERS); does not wait for them. */
  start(n: number): void {
    const host = parallelHost();
    if (host === null) return;
    const want = Math.min(n, MAX_WORKERS);
    while (this.started < want) {
      const index = this.started++;
      try {
        host.spawn({ ctl: this.ctl, args: this.args, memory: this.memory, ...this.modules, index, mr: this.mr }, (e) => {
          this.error = describe(e);
        });
      } catch (e) {
        this.error = describe(e);
        this.started = MAX_WORKERS; // the host refuses workers (e.g. a content security policy): stop trying
        return;
      }
    }
  }

  /** Block until `n` workers are ready or `timeoutMs` passed; true when they are. */
  waitReady(n: number, timeoutMs: number): boolean {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const r = Atomics.load(this.ctl, READY);
      if (r >= n) return true;
      const left = until - Date.now();
      if (left <= 0) return false;
      Atomics.wait(this.ctl, READY, r, Math.min(left, 50));
    }
  }

  /**
   * Run a job of `kind` with `args` split into ranges: ranges[0] on the calling thread (by
   * `self`), each further range on a ready worker; returns when all are done. Needs
   * ranges.length - 1 ≤ ready().
   */
  run(kind: number, args: readonly number[], ranges: readonly (readonly [number, number])[], self: (from: number, to: number) => void): void {
    if (args.length > MAX_ARGS) throw new Error('internal: too many job arguments');
    const ctl = this.ctl;
    const slots = this.args;
    let workers = 0;
    for (let w = 0; w < MAX_WORKERS; w++) {
      const o = w * SLOT;
      const take = workers < ranges.length - 1 && Atomics.load(ctl, READY_FLAGS + w) === 1;
      slots[o + ACTIVE] = take ? 1 : 0;
      if (!take) continue;
      const [from, to] = ranges[++workers]!;
      slots[o] = kind;
      slots[o + 1] = from;
      slots[o + 2] = to;
      for (let k = 0; k < args.length; k++) slots[o + 3 + k] = args[k]!;
    }
    if (workers !== ranges.length - 1) throw new Error('internal: a job for more workers than are ready');
    Atomics.store(ctl, DONE, 0);
    Atomics.store(ctl, NEXT, 0);
    Atomics.add(ctl, GEN, 1);
    Atomics.notify(ctl, GEN);
    let failed: unknown = null;
    try {
      self(ranges[0]![0], ranges[0]![1]);
    } catch (e) {
      failed = e;
    }
    // The barrier: wait for every worker even when this thread's part failed.
    for (let s = 0; s < SPIN && Atomics.load(ctl, DONE) < workers; s++);
    for (;;) {
      const d = Atomics.load(ctl, DONE);
      if (d >= workers) break;
      Atomics.wait(ctl, DONE, d);
    }
    if (failed !== null) throw failed;
    if (Atomics.exchange(ctl, FAILED, 0) !== 0) throw new Error('internal: a kernel worker failed');
  }

  /**
   * The symmetric test of a matrix the calling thread copies in, on `threads` threads (the caller
   * and threads - 1 ready workers): `copy(t)` puts tile t (its rows) in the memory, from the last
   * tile to the first, while the workers check the tiles already there from the bottom; then the
   * caller checks tiles from the top with `check(t)` (false: an unequal pair) until the two meet.
   * Worker w adds row sums at args[4] + (w + 1)·args[5]. True when every tile is equal.
   */
  runSymeq(args: readonly number[], tiles: number, threads: number, copy: (t: number) => void, check: (t: number) => boolean): boolean {
    if (tiles > 0xffff) throw new Error('internal: too many tiles');
    const ctl = this.ctl;
    Atomics.store(ctl, RANGE, tiles << 16);
    Atomics.store(ctl, PROGRESS, tiles);
    Atomics.store(ctl, FLAG, 0);
    let equal = true;
    const self = (): void => {
      try {
        for (let t = tiles - 1; t >= 0; t--) {
          copy(t);
          Atomics.store(ctl, PROGRESS, t);
        }
      } finally {
        // Never leave a worker waiting for a tile (the result is not used if the copy threw).
        Atomics.store(ctl, PROGRESS, 0);
      }
      for (;;) {
        const c = Atomics.load(ctl, RANGE);
        const lo = c & 0xffff;
        const hi = c >>> 16;
        if (lo >= hi) return;
        if (Atomics.compareExchange(ctl, RANGE, c, (lo + 1) | (hi << 16)) !== c) continue;
        if (!check(lo)) equal = false;
      }
    };
    this.run(JOB_SYMEQ, args, Array.from({ length: threads }, () => [0, tiles] as const), self);
    return equal && Atomics.load(ctl, FLAG) === 0;
  }

  /**
   * Row panels [0, mt) of a gemm job on `threads` threads (the caller and threads - 1 ready
   * workers), each claiming `job.chunk` panels at a time until none are left. `before`, where
   * given, runs on the calling thread once the workers have the job, before it claims panels
   * itself (gemmWasm packs the next k block there: the workers take more panels meanwhile).
   */
  runPanelsShared(kern: KernelFn, job: PanelJob, mt: number, threads: number, mr: number, before: (() => void) | null = null): void {
    const ctl = this.ctl;
    const claim = (): void => {
      before?.();
      for (;;) {
        const i = Atomics.add(ctl, NEXT, job.chunk);
        if (i >= mt) return;
        runChunk(kern, job, i, mt - i < job.chunk ? mt - i : job.chunk, mr);
      }
    };
    this.run(JOB_GEMM, panelArgs(job), Array.from({ length: threads }, () => [0, mt] as const), claim);
  }
}
