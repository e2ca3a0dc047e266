/**
 * What this host's WebAssembly can reach at most on a dense product (bench/gemm.ts prints it):
 *
 * - the core clock while busy, from a chain of dependent i32 adds in WebAssembly (one add per
 *   cycle: each needs the one before it);
 * - the 128-bit FMA peak that clock gives: two f64x2 multiply-adds per cycle (the x86 cores
 *   these machines have, Zen 4 and Zen 5, issue two FMAs a cycle), 8 flops per cycle per core;
 * - the gemm micro-kernel alone (gemmKernel.ts, one thread, every variant): a 128-row packed A
 *   block (L2) times a 1024-column packed B block, k = 256, written into a C buffer, with no
 *   packing, copying or threads around it. Its rate over the peak is how far the kernel is from
 *   the hardware; the product's rate over the kernel's is what packing and threads cost.
 *
 * And what a fresh result buffer costs here (bench/hessian.ts prints it): the first touch of each
 * 4 KB page of a new 64 MB Float64Array. On these virtual machines a page fault has cost 11 µs
 * (72 MB allocated and written: 205 ms), so a fresh 8 MB Hessian can cost more than computing it.
 */
import { Code, Op, ValType, encodeModule } from '../src/compile/kernels/wasm/encoder.js';
import { gemmKernelBytes, TRI_ALL, type KernelFn } from '../src/compile/kernels/wasm/gemmKernel.js';
import { availableVariants, TILE } from '../src/compile/kernels/wasm/runtime.js';

export interface Ceiling {
  /** Core clock while busy, GHz (dependent adds). */
  ghz: number;
  /** Two f64x2 FMAs a cycle at that clock, GFLOP/s per core. */
  peakPerCore: number;
  /** The micro-kernel alone on one thread, GFLOP/s, per variant. */
  kernel: Record<string, number>;
}

const CHAIN = 16;

/** (func (param n y) (result i32)): n rounds of CHAIN dependent adds x += y. */
function clockModule(): WebAssembly.Module {
  const N = 0;
  const Y = 1;
  const X = 2;
  const c = new Code();
  c.loop();
  for (let i = 0; i < CHAIN; i++) c.get(X).get(Y).op(Op.i32_add).set(X);
  c.get(N).i32(1).op(Op.i32_sub).tee(N).brIf(0);
  c.end();
  c.get(X);
  const bytes = encodeModule({
    memory: { module: 'env', field: 'memory', minPages: 1 },
    funcs: [{ name: 'chain', params: [ValType.i32, ValType.i32], results: [ValType.i32], locals: [ValType.i32], body: c }],
  });
  return new WebAssembly.Module(bytes);
}

function bestOf(runs: number, f: () => void): number {
  let best = Infinity;
  for (let r = 0; r < runs; r++) {
    const t = performance.now();
    f();
    best = Math.min(best, performance.now() - t);
  }
  return best;
}

function measureClock(): number {
  const memory = new WebAssembly.Memory({ initial: 1 });
  const chain = new WebAssembly.Instance(clockModule(), { env: { memory } }).exports.chain as (n: number, y: number) => number;
  const rounds = 5_000_000;
  for (let w = 0; w < 20; w++) chain(100_000, w); // tier up to optimised code
  const ms = bestOf(15, () => chain(rounds, 3));
  return (rounds * CHAIN) / ms / 1e6;
}

function measureKernel(fma: boolean): number {
  const mr = TILE.mr;
  const nr = 2 * TILE.nv;
  const kc = 256;
  const mt = 128 / mr;
  const nt = 1024 / nr;
  const aBytes = mt * mr * kc * 8;
  const bBytes = nt * nr * kc * 8;
  const memory = new WebAssembly.Memory({ initial: Math.ceil((aBytes + bBytes + mt * mr * nt * nr * 8) / 65536) });
  const heap = new Float64Array(memory.buffer);
  for (let i = 0; i < (aBytes + bBytes) / 8; i++) heap[i] = Math.sin(i);
  const instance = new WebAssembly.Instance(new WebAssembly.Module(gemmKernelBytes({ mr: TILE.mr, nv: TILE.nv, fma })), { env: { memory } });
  const kernel = instance.exports.kernel as KernelFn;
  const run = (): void => kernel(0, aBytes, aBytes + bBytes, nt * nr * 8, mt, nt, kc, 1, TRI_ALL, 1, 0);
  for (let w = 0; w < 40; w++) run(); // tier up
  const ms = bestOf(60, run);
  return (2 * mt * mr * nt * nr * kc) / ms / 1e6;
}

/** Microseconds per 4 KB page to allocate a new 64 MB Float64Array and write one double per page. */
export function measurePageFault(): number {
  const bytes = 64 * 1024 * 1024;
  let best = Infinity;
  for (let r = 0; r < 3; r++) {
    const t = performance.now();
    const a = new Float64Array(bytes / 8);
    for (let i = 0; i < a.length; i += 512) a[i] = 1;
    best = Math.min(best, performance.now() - t);
  }
  return (best * 1000) / (bytes / 4096);
}

export function measureCeiling(): Ceiling {
  const kernel: Record<string, number> = {};
  for (const v of availableVariants()) kernel[v] = measureKernel(v === 'fma');
  const ghz = measureClock();
  return { ghz, peakPerCore: 8 * ghz, kernel };
}
