/**
 * The WebAssembly kernels' runtime: which micro-kernel variant runs, the memory the packed
 * panels live in, and the workers that share it.
 *
 * Variants (chosen when the first product runs, by WebAssembly.validate):
 *   'fma'  — f64x2.relaxed_madd (relaxed SIMD): Chrome ≥ 114, Node ≥ 22, Node 20 with
 *            --experimental-wasm-relaxed-simd (or enableRelaxedSimd(), flags.ts);
 *   'simd' — f64x2.mul + f64x2.add, the fallback wherever SIMD validates.
 *
 * Memory: a shared WebAssembly.Memory (a SharedArrayBuffer) where the host allows one — Node,
 * and cross-origin-isolated pages — so that workers run the same kernels on the same panels;
 * it grows in place (a shared buffer is never detached). Elsewhere a plain memory, replaced by a
 * larger one when a call needs more room (never grown: see ensurePlain).
 *
 * Resident arrays (residentArray) lie at the top of the shared memory, above all kernel scratch:
 * inputs held in them are read in place.
 *
 * setWasmVariant / setSharedMemory force a choice (tests, benchmarks); kernelInfo() tells
 * what is available and what the last product ran on.
 */
import { compileGemmKernel, instantiateGemmKernel, type KernelFn } from './gemmKernel.js';
import { symsumKernelBytes, type MirrorFn, type SymsumFn } from './symsumKernel.js';
import { thinKernelBytes, THIN_MAX_COLUMNS, type ThinFn } from './thinKernel.js';
import { packKernelBytes, type PackKernels } from './packKernel.js';
import { symeqKernelBytes, type SymeqFn } from './symeqKernel.js';
import { WorkerPool, parallelHost } from '../parallel/pool.js';

/** Register tile of every variant (4×2 f64x2 accumulators: the fastest measured, with and without FMA). */
export const TILE = { mr: 4, nv: 2 } as const;
/** Maximum size of the shared memory (it is reserved, not committed): 1 GiB. */
const SHARED_MAX_PAGES = 16384;
const PAGE = 65536;

export type WasmVariant = 'fma' | 'simd';
/** Variant order: index 0 and 1 are what a worker job names. */
export const VARIANTS: readonly WasmVariant[] = ['fma', 'simd'];

let forcedVariant: WasmVariant | 'auto' = 'auto';
let forcedShared: boolean | 'auto' = 'auto';

const modules = new Map<string, WebAssembly.Module | null>();
function moduleFor(variant: WasmVariant, shared: boolean): WebAssembly.Module | null {
  const key = `${variant}/${shared ? 'shared' : 'plain'}`;
  if (!modules.has(key)) {
    modules.set(key, compileGemmKernel({ ...TILE, fma: variant === 'fma', ...(shared ? { sharedMaxPages: SHARED_MAX_PAGES } : {}) }));
  }
  return modules.get(key)!;
}

/**
 * A plain-SIMD kernel module (validates wherever gemm's 'simd' variant does), compiled once per
 * memory kind on first use; null where it does not validate.
 */
function plainModule(bytesFor: (sharedMaxPages?: number) => Uint8Array<ArrayBuffer>): (shared: boolean) => WebAssembly.Module | null {
  const cache = new Map<boolean, WebAssembly.Module | null>();
  return (shared) => {
    if (!cache.has(shared)) {
      let m: WebAssembly.Module | null = null;
      try {
        const bytes = bytesFor(shared ? SHARED_MAX_PAGES : undefined);
        if (typeof WebAssembly === 'object' && WebAssembly.validate(bytes)) m = new WebAssembly.Module(bytes);
      } catch {
        m = null;
      }
      cache.set(shared, m);
    }
    return cache.get(shared)!;
  };
}

/**
 * The exports of a plain module instantiated on a context's memory (once per memory), as `pick`
 * reads them; null where the module does not validate.
 */
function instancesOn<T>(
  module: (shared: boolean) => WebAssembly.Module | null,
  pick: (exports: WebAssembly.Exports) => T,
): (ctx: WasmContext) => T | null {
  const instances = new WeakMap<WebAssembly.Memory, T>();
  return (ctx) => {
    let k = instances.get(ctx.memory);
    if (k === undefined) {
      const m = module(ctx.shared);
      if (m === null) return null;
      k = pick(new WebAssembly.Instance(m, { env: { memory: ctx.memory } }).exports);
      instances.set(ctx.memory, k);
    }
    return k;
  };
}

const symsumModule = plainModule(symsumKernelBytes);
const thinModule = plainModule(thinKernelBytes);
const packModule = plainModule(packKernelBytes);
const symeqModule = plainModule(symeqKernelBytes);

/** Forget the variants that did not validate (enableRelaxedSimd turned a feature on). */
export function resetUnavailableVariants(): void {
  for (const [key, m] of modules) if (m === null) modules.delete(key);
  sharedOk = undefined;
  current = null;
}

/** The variants this host validates, best first. */
export function availableVariants(): WasmVariant[] {
  return VARIANTS.filter((v) => moduleFor(v, false) !== null);
}

/** The variant products run on: the forced one, else the best available; null without SIMD. */
export function activeVariant(): WasmVariant | null {
  if (forcedVariant !== 'auto') return forcedVariant;
  return availableVariants()[0] ?? null;
}

/** Force a variant ('auto': the best available). Throws when the host cannot run it. */
export function setWasmVariant(v: WasmVariant | 'auto'): void {
  if (v !== 'auto' && moduleFor(v, false) === null) throw new Error(`setWasmVariant: the '${v}' kernel does not validate on this host`);
  forcedVariant = v;
  current = null;
}

/** Whether shared memory (and so workers) is possible here. */
let sharedOk: boolean | undefined;
export function sharedMemorySupported(): boolean {
  if (sharedOk === undefined) {
    sharedOk = false;
    try {
      if (typeof SharedArrayBuffer === 'function' && typeof Atomics === 'object' && moduleFor('simd', true) !== null) {
        new WebAssembly.Memory({ initial: 1, maximum: SHARED_MAX_PAGES, shared: true });
        sharedOk = true;
      }
    } catch {
      sharedOk = false; // e.g. a page that is not cross-origin isolated
    }
  }
  return sharedOk;
}

/** Force the memory kind ('auto': shared where supported). */
export function setSharedMemory(s: boolean | 'auto'): void {
  if (s === true && !sharedMemorySupported()) throw new Error('setSharedMemory: shared WebAssembly memory is not available on this host');
  forcedShared = s;
  current = null;
}

/** Whether products use the shared memory (forced, or 'auto': where supported). */
export function useShared(): boolean {
  return forcedShared === 'auto' ? sharedMemorySupported() : forcedShared;
}

/** What a driver needs for one call: a view of the memory and the kernel instance on it. */
export interface WasmContext {
  readonly heap: Float64Array;
  readonly kernel: KernelFn;
  readonly variant: WasmVariant;
  /** Index of the variant in VARIANTS (what a worker job names). */
  readonly variantIndex: number;
  /** The memory is shared (a SharedArrayBuffer). */
  readonly shared: boolean;
  readonly memory: WebAssembly.Memory;
  /** The pool of workers on this memory, or null (plain memory, or no workers on this thread). */
  readonly pool: WorkerPool | null;
}

let current: WasmContext | null = null;

// Plain memory: the current instance per variant, dropped when the memory is replaced.
let plainHeap = new Float64Array(0);
const plainKernels = new Map<WasmVariant, KernelFn>();
let plainMemory: WebAssembly.Memory | null = null;

// Shared memory: created once, grown in place; one pool of workers on it.
let sharedMemory: WebAssembly.Memory | null = null;
const sharedKernels = new Map<WasmVariant, KernelFn>();
let pool: WorkerPool | null = null;

function pagesFor(doubles: number): number {
  // Powers of two pages: a handful of replacements (plain) or grows (shared) in all.
  let pages = 16;
  while (pages * PAGE < doubles * 8) pages *= 2;
  return pages;
}

/**
 * A plain memory is never grown: WebAssembly.Memory.grow detaches the old ArrayBuffer, and the
 * first detach of any ArrayBuffer in a V8 isolate invalidates a protector, after which optimised
 * code checks for detachment on every typed-array access: measured, plain JS typed-array loops of
 * the whole process (not only gemm) then run ≈ 30 % slower for good. When a call needs more room,
 * a larger memory and new instances of the same modules replace the old ones.
 */
function ensurePlain(doubles: number, variant: WasmVariant): WasmContext {
  if (plainMemory === null || plainHeap.length < doubles) {
    plainMemory = new WebAssembly.Memory({ initial: Math.max(pagesFor(doubles), plainMemory ? plainMemory.buffer.byteLength / PAGE : 0) });
    plainHeap = new Float64Array(plainMemory.buffer);
    plainKernels.clear();
    current = null;
  }
  let kernel = plainKernels.get(variant);
  if (!kernel) {
    kernel = instantiateGemmKernel(moduleFor(variant, false)!, plainMemory);
    plainKernels.set(variant, kernel);
    current = null;
  }
  if (current === null) current = { heap: plainHeap, kernel, variant, variantIndex: VARIANTS.indexOf(variant), shared: false, memory: plainMemory, pool: null };
  return current;
}

function ensureShared(doubles: number, variant: WasmVariant): WasmContext {
  if (sharedMemory === null) {
    sharedMemory = new WebAssembly.Memory({ initial: pagesFor(doubles), maximum: SHARED_MAX_PAGES, shared: true });
    current = null;
  }
  const have = sharedMemory.buffer.byteLength;
  if (have < doubles * 8) {
    sharedMemory.grow(pagesFor(doubles) - have / PAGE);
    current = null;
  }
  let kernel = sharedKernels.get(variant);
  if (!kernel) {
    kernel = instantiateGemmKernel(moduleFor(variant, true)!, sharedMemory);
    sharedKernels.set(variant, kernel);
    current = null;
  }
  if (pool === null && parallelHost() !== null) {
    const modules = { gemm: VARIANTS.map((v) => moduleFor(v, true)), symsum: symsumModule(true), thin: thinModule(true), symeq: symeqModule(true) };
    pool = new WorkerPool(sharedMemory, modules, TILE.mr);
  }
  if (current === null) {
    current = { heap: new Float64Array(sharedMemory.buffer), kernel, variant, variantIndex: VARIANTS.indexOf(variant), shared: true, memory: sharedMemory, pool };
  }
  return current;
}

/**
 * Resident arrays: Float64Arrays that lie in the shared kernel memory itself, so that a kernel
 * that reads a large input (the symmetric check, the thin products) reads it where it is instead
 * of copying it in on every call. They are carved from the top of the memory downwards (the
 * memory is grown to its maximum at the first one: reserved address space, not committed
 * pages), and kernel scratch, which starts at heap[0], stays below the lowest of them
 * (residentFloor; acquire refuses more, and the caller then runs its JS path). Released space
 * is reused by later resident arrays only: the floor never rises, so an array used after its
 * release can never overlap scratch. At most half of the memory is resident.
 */
const RESIDENT_MAX_DOUBLES = (SHARED_MAX_PAGES * PAGE) / 16;
/** Regions are 64-byte aligned (a cache line; f64x2 loads of rows a multiple of four doubles long stay aligned). */
const RESIDENT_ALIGN = 8;
let residentFloor = Infinity;
interface Region {
  readonly start: number;
  readonly length: number;
  live: boolean;
}
const regions: Region[] = [];
const regionOf = new WeakMap<Float64Array, Region>();

/**
 * A Float64Array of `length` zeros in the kernels' shared memory, where the kernels can share
 * memory (else an ordinary Float64Array: results are the same, only the copy is not saved).
 */
export function residentArray(length: number): Float64Array {
  if (!Number.isSafeInteger(length) || length < 0) throw new RangeError(`residentArray: length must be a non-negative integer, got ${length}`);
  if (!useShared() || activeVariant() === null) return new Float64Array(length);
  const ctx = acquire(0, true)!;
  const memory = ctx.memory;
  const pages = memory.buffer.byteLength / PAGE;
  if (pages < SHARED_MAX_PAGES) {
    try {
      memory.grow(SHARED_MAX_PAGES - pages);
    } catch {
      return new Float64Array(length); // the address space is not there: an ordinary array
    }
    current = null;
  }
  const size = Math.max(RESIDENT_ALIGN, Math.ceil(length / RESIDENT_ALIGN) * RESIDENT_ALIGN);
  let region = regions.find((r) => !r.live && r.length >= size);
  if (region === undefined) {
    const top = (SHARED_MAX_PAGES * PAGE) / 8;
    const floor = Math.min(residentFloor, top) - size;
    if (top - floor > RESIDENT_MAX_DOUBLES) {
      throw new RangeError(`residentArray: ${length} doubles would exceed the ${RESIDENT_MAX_DOUBLES * 8 / 2 ** 20} MiB that resident arrays may take in all`);
    }
    region = { start: floor, length: size, live: true };
    regions.push(region);
    residentFloor = floor;
  }
  region.live = true;
  const a = new Float64Array(memory.buffer, region.start * 8, length);
  a.fill(0);
  regionOf.set(a, region);
  return a;
}

/** Give a resident array's space back for later resident arrays (a no-op for any other array). */
export function releaseResident(a: Float64Array): void {
  const region = regionOf.get(a);
  if (region === undefined) return;
  region.live = false;
  regionOf.delete(a);
}

/** Bytes held by live resident arrays. */
export function residentBytes(): number {
  return regions.reduce((s, r) => s + (r.live ? r.length * 8 : 0), 0);
}

/** Where a[off] lies in the heap of the shared memory's context (doubles), where `a` is resident (isResident); else -1. */
export function residentAt(a: Float64Array, off: number): number {
  return isResident(a) ? a.byteOffset / 8 + off : -1;
}

/**
 * Whether `a` is a view of the shared kernel memory above the resident floor while products use
 * that memory (before a context is acquired; with plain memory forced it is an ordinary array).
 */
function isResident(a: Float64Array): boolean {
  return sharedMemory !== null && a.buffer === sharedMemory.buffer && a.byteOffset >= residentFloor * 8 && useShared();
}

/**
 * A caller's matrix that a kernel left in the memory, at heap[offset..offset + rows·stride) with
 * rows `stride` doubles apart and zeros past `cols` (the symmetric check copies a
 * declared-symmetric input to offset 0, or reads a resident one where it lies), and the
 * evaluation it belongs to: a thin product later in the same evaluation reads it
 * there instead of copying it again. Any other kernel's use of the memory (acquire) and the end of
 * the evaluation forget it: the caller's arrays cannot change within one evaluation (a
 * synchronous call), but may between two.
 */
interface Staged {
  readonly src: Float64Array;
  /** Where in the heap (doubles) its row 0 lies: 0 for a copy, the array's own place for a resident array. */
  readonly offset: number;
  readonly rows: number;
  readonly cols: number;
  readonly stride: number;
  readonly memory: WebAssembly.Memory;
  readonly evaluation: number;
  readonly sums?: StagedSums;
}

/** What the symmetric check learnt as it read a staged matrix: its row sums, and whether it is exactly symmetric. */
export interface StagedSums {
  readonly rowSums: Float64Array;
  readonly exact: boolean;
}
let staged: Staged | null = null;
let evaluation = 0;
let evaluating = false;
/** Bumped whenever a kernel may write the memory (acquire): a carried staging is valid while it stands. */
let memoryEpoch = 0;
/** What the last evaluation left staged, and the epoch at its end. */
let ended: StagedToken | null = null;

/**
 * What an evaluation left staged in the kernels' memory, for a later evaluation over the same
 * values (a structured Hessian's matvec after its evaluation): valid while no kernel has used the
 * memory since (the copy is then still there, byte for byte).
 */
export interface StagedToken {
  readonly staged: Staged;
  readonly epoch: number;
}

/** Run one evaluation of a compiled function (nested calls belong to the outer one). */
export function withinEvaluation<T>(f: () => T, resume?: StagedToken | null): T {
  if (evaluating) return f();
  evaluating = true;
  evaluation++;
  // A resident array is never written by a kernel: what was staged of it stays valid.
  staged = resume && (resume.epoch === memoryEpoch || resume.staged.offset > 0) ? { ...resume.staged, evaluation } : null;
  try {
    return f();
  } finally {
    evaluating = false;
    ended = staged ? { staged, epoch: memoryEpoch } : null;
    staged = null;
  }
}

/**
 * The staging the evaluation that just ended left (null where none): the caller that evaluated
 * values and will evaluate again over the same arrays passes it to withinEvaluation, which
 * takes it up only if the memory is untouched since. The arrays must not change in between
 * (a structured Hessian's contract: it refers to the arrays it was evaluated at).
 */
export function carryStaged(): StagedToken | null {
  return ended;
}

/** Record that heap[offset..) of ctx holds `src` (rows×cols, rows `stride` apart, zero-padded); only within an evaluation. */
export function setStaged(src: Float64Array, rows: number, cols: number, stride: number, ctx: WasmContext, sums?: StagedSums, offset = 0): void {
  staged = evaluating ? { src, offset, rows, cols, stride, memory: ctx.memory, evaluation, ...(sums ? { sums } : {}) } : null;
}

/** The row sums (and exactness) the symmetric check took of `src` (rows×cols) in this evaluation, where it is staged. */
export function stagedSums(src: Float64Array, rows: number, cols: number): StagedSums | undefined {
  const s = staged;
  return s !== null && evaluating && s.evaluation === evaluation && s.src === src && s.rows === rows && s.cols === cols && src.length === rows * cols ? s.sums : undefined;
}

/** Whether the whole of `src` (rows×cols, row-major) is staged at heap[0..) with this stride in this evaluation (on ctx's memory, when given). */
export function isStaged(src: Float64Array, rows: number, cols: number, stride: number, ctx?: WasmContext): boolean {
  const s = staged;
  return (
    s !== null &&
    s.offset === 0 &&
    evaluating &&
    s.evaluation === evaluation &&
    s.src === src &&
    src.length === rows * cols &&
    s.rows === rows &&
    s.cols === cols &&
    s.stride === stride &&
    (ctx === undefined || s.memory === ctx.memory)
  );
}

/**
 * The context for a call that needs `doubles` doubles of kernel memory; null without SIMD. The
 * caller will write the memory, which forgets a staged matrix unless `keepStaged` (a caller that
 * reads it).
 */
export function acquire(doubles: number, keepStaged = false): WasmContext | null {
  if (!keepStaged) {
    // What is staged of a resident array lies where no kernel writes.
    if (staged !== null && staged.offset === 0) staged = null;
    memoryEpoch++;
  }
  const variant = activeVariant();
  if (variant === null) return null;
  // Resident arrays lie above residentFloor: scratch that does not fit below it is refused (the caller runs its JS path).
  if (doubles > residentFloor && useShared()) return null;
  if (current !== null && current.heap.length >= doubles && current.variant === variant) return current;
  return useShared() ? ensureShared(doubles, variant) : ensurePlain(doubles, variant);
}

// A plain memory beside the shared one, for kernels that copy their operand in and their result out
// on the calling thread alone (copyThrough).
let throughMemory: WebAssembly.Memory | null = null;
let through: WasmContext | null = null;

/**
 * The context for a kernel that copies its operand in and its result out on the calling thread:
 * where the kernels' memory is shared, a plain memory of its own. V8 copies into and out of a
 * SharedArrayBuffer word by word (relaxed atomics, as the memory model asks), half memcpy's speed
 * here: 8 MB took 0.25 ms into or out of the shared memory and 0.13 ms into or out of a plain one
 * (best of 60, n = 1000 doubles squared). Like the plain memory above, it is replaced, never
 * grown, where a call needs more room. Writing it forgets nothing staged in the shared memory.
 */
export function acquireCopyThrough(doubles: number): WasmContext | null {
  if (!useShared()) return acquire(doubles);
  const variant = activeVariant();
  if (variant === null) return null;
  if (throughMemory === null || through === null || through.heap.length < doubles || through.variant !== variant) {
    if (throughMemory === null || throughMemory.buffer.byteLength < doubles * 8) throughMemory = new WebAssembly.Memory({ initial: pagesFor(doubles) });
    const module = moduleFor(variant, false);
    if (module === null) return null;
    const kernel = instantiateGemmKernel(module, throughMemory);
    through = { heap: new Float64Array(throughMemory.buffer), kernel, variant, variantIndex: VARIANTS.indexOf(variant), shared: false, memory: throughMemory, pool: null };
  }
  return through;
}

/** symsum's module on the memory of `ctx` (instantiated once per memory): its two walks. */
const symsumModuleOn = instancesOn(symsumModule, (e) => ({ symsum: e.symsum as SymsumFn, mirror: e.mirror as MirrorFn }));

/** The symsum kernel on the memory of `ctx`, or null. */
export const symsumOn = (ctx: WasmContext): SymsumFn | null => symsumModuleOn(ctx)?.symsum ?? null;

/** The in-place mirror kernel (upper triangle onto the lower; symsum's module) on the memory of `ctx`, or null. */
export const mirrorOn = (ctx: WasmContext): MirrorFn | null => symsumModuleOn(ctx)?.mirror ?? null;

/** The thin-product kernels on the memory of `ctx`: rowdot[nc], rowblock[nc] and colacc[nc] for nc = 1…4 (index nc), or null. */
export interface ThinKernels {
  readonly rowdot: readonly ThinFn[];
  readonly rowblock: readonly ThinFn[];
  readonly colacc: readonly ThinFn[];
}
export const thinOn = instancesOn(thinModule, (e): ThinKernels => {
  const pick = (name: string) => Array.from({ length: THIN_MAX_COLUMNS + 1 }, (_, nc) => (nc === 0 ? () => {} : (e[`${name}${nc}`] as ThinFn)));
  return { rowdot: pick('rowdot'), rowblock: pick('rowblock'), colacc: pick('colacc') };
});

/** The packing kernels on the memory of `ctx`, or null. */
export const packOn = instancesOn(packModule, (e) => e as unknown as PackKernels);

/** The symmetric-equality kernel on the memory of `ctx`, or null. */
export const symeqOn = instancesOn(symeqModule, (e) => e.symeq as SymeqFn);

/** Whether some SIMD variant runs here (compiles the modules on first call). */
export function wasmAvailable(): boolean {
  return activeVariant() !== null;
}

/** The worker pool on the shared memory (created on first use of the shared memory), or null. */
export function sharedPool(): WorkerPool | null {
  if (!useShared() || !wasmAvailable()) return null;
  // Asking for the pool writes nothing: a staged matrix stays.
  return acquire(0, true)?.pool ?? null;
}

/** What the last WebAssembly product ran on (kernelInfo). */
export interface ProductRun {
  /** 'check-sums': a product with ones answered by the row sums the symmetric check took (thinWasm.ts). */
  readonly kernel: 'gemm' | 'syrk' | 'symsum' | 'thin' | 'check-sums';
  readonly variant: WasmVariant;
  readonly threads: number;
  readonly sharedMemory: boolean;
  /** thin: the large operand was read where the symmetric check had copied it or where it lies (resident), with no copy of its own; symsum: A was resident. */
  readonly inPlace?: boolean;
  /** syrk: the lower triangle was mirrored in the kernels' memory and the whole result copied out (a result of one block). */
  readonly mirrored?: boolean;
}
let lastRun: ProductRun | null = null;
export function recordRun(run: ProductRun): void {
  lastRun = run;
}
export function lastProductRun(): ProductRun | null {
  return lastRun;
}

/** What the last symmetric check on the WebAssembly kernel ran on (kernelInfo). */
export interface CheckRun {
  readonly kernel: 'symeq';
  /** 1, or the threads that checked tiles while the calling thread copied the matrix in (or, resident, from the start). */
  readonly threads: number;
  readonly sharedMemory: boolean;
  /** The matrix was read where it lies (a resident array), not copied in. */
  readonly inPlace: boolean;
}
let lastCheck: CheckRun | null = null;
export function recordCheck(run: CheckRun): void {
  lastCheck = run;
}
export function lastCheckRun(): CheckRun | null {
  return lastCheck;
}
