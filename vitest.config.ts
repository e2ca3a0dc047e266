import { configDefaults, defineConfig } from 'vitest/config';

// Relaxed SIMD (the FMA gemm kernel) is behind a V8 flag on Node 20, and NODE_OPTIONS refuses
// that flag: pass it to the test processes where this Node does not validate relaxed SIMD already.
const RELAXED_MADD_PROBE = Uint8Array.from([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x01, 0x60, 0x03, 0x7b, 0x7b, 0x7b, 0x01, 0x7b, 0x03, 0x02, 0x01, 0x00,
  0x0a, 0x0d, 0x01, 0x0b, 0x00, 0x20, 0x00, 0x20, 0x01, 0x20, 0x02, 0xfd, 0x87, 0x02, 0x0b,
]);
const execArgv = WebAssembly.validate(RELAXED_MADD_PROBE) ? [] : ['--experimental-wasm-relaxed-simd'];

// The page's end-to-end tests time its frames while a person types (test/web/e2e.test.ts): they
// run as a second group, after the rest, so that the other files' CPU work on this 2-core machine
// does not take the page's main thread off its core. Run alone, the 5,000-character expression's
// longest frame gap measured 33–100 ms; amid the other files, 183–283 ms in all three tries.
const PAGE_TIMING = 'test/web/e2e.test.ts';

export default defineConfig({
  test: {
    testTimeout: 120_000,
    hookTimeout: 120_000,
    execArgv,
    projects: [
      { extends: true, test: { name: 'engine', include: ['test/**/*.test.ts'], exclude: [...configDefaults.exclude, PAGE_TIMING], sequence: { groupOrder: 0 } } },
      { extends: true, test: { name: 'page', include: [PAGE_TIMING], sequence: { groupOrder: 1 } } },
    ],
  },
});
