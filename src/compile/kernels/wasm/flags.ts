/**
 * Relaxed SIMD (f64x2.relaxed_madd, the FMA variant of the gemm kernel) on Node 20, where V8
 * has it behind --experimental-wasm-relaxed-simd. Node refuses that flag in NODE_OPTIONS, so
 * either run `node --experimental-wasm-relaxed-simd …` or call enableRelaxedSimd() before the
 * first product: it sets the V8 flag at run time (v8.setFlagsFromString), which V8 reads when
 * it validates and compiles a module. Elsewhere (Node ≥ 22, browsers of the last years) relaxed
 * SIMD is on by default and this does nothing; where it cannot be had, kernels use plain SIMD.
 */
import { resetUnavailableVariants } from './runtime.js';

/** (func (param v128 v128 v128) (result v128) local.get 0 local.get 1 local.get 2 f64x2.relaxed_madd) */
const PROBE = Uint8Array.from([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x01, 0x60, 0x03, 0x7b, 0x7b, 0x7b, 0x01, 0x7b, 0x03, 0x02, 0x01, 0x00,
  0x0a, 0x0d, 0x01, 0x0b, 0x00, 0x20, 0x00, 0x20, 0x01, 0x20, 0x02, 0xfd, 0x87, 0x02, 0x0b,
]);

/** Whether this host validates relaxed-SIMD code now. */
export function relaxedSimdValidates(): boolean {
  try {
    return typeof WebAssembly === 'object' && WebAssembly.validate(PROBE);
  } catch {
    return false;
  }
}

/**
 * Turn relaxed SIMD on where a V8 flag is all it takes (Node 20); true when it validates
 * afterwards. Call it before the first product: the kernel variant is chosen when the first one
 * runs (products already run on plain SIMD switch to FMA from the next call on).
 */
export function enableRelaxedSimd(): boolean {
  if (relaxedSimdValidates()) return true;
  const proc = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process;
  const v8 = proc?.getBuiltinModule?.('node:v8') as { setFlagsFromString(flags: string): void } | undefined;
  if (!v8) return false;
  v8.setFlagsFromString('--experimental-wasm-relaxed-simd');
  if (!relaxedSimdValidates()) return false;
  resetUnavailableVariants();
  return true;
}
